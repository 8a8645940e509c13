"""The OAuth client secret appears nowhere but in Secrets Manager.

`python -m local.run` is run with a distinctive secret; then every place a secret could leak is
searched: the console, the handlers' logs, every execution's history (which holds each state's
input and output, i.e. the state payloads), every object in the source bucket (raw pages, staged
files, the table's data, manifests) and the synthesized template with its outputs.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from local.harness import DEFAULT_TEMPLATE
from tests.integration.local_runs import LocalRun

pytestmark = pytest.mark.integration

CLIENT_ID = "secret-audit-client"
CLIENT_SECRET = "Zq7-DISTINCTIVE-s3cret-0b5e9d"


def _needles() -> list[bytes]:
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    return [CLIENT_SECRET.encode(), basic.encode(), CLIENT_SECRET[4:20].encode()]


def _files_under(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file())


LOGS = ("--log-file", "{folder}/lambda.log", "--history", "{folder}/history.json")


@pytest.mark.local_run(
    *("--client-id", CLIENT_ID, "--client-secret", CLIENT_SECRET, *LOGS),
    *("--input", json.dumps({"api": "legacy"}), "--input", "{}", "--keep", "{folder}/bucket"),
)
def test_the_client_secret_appears_nowhere(local_run: LocalRun) -> None:
    # GIVEN a run with a distinctive client secret, keeping the bucket, logs and histories
    completed = local_run.outcome()
    keep, logs = local_run.folder / "bucket", local_run.folder / "lambda.log"
    history = local_run.folder / "history.json"
    assert completed.returncode == 0, completed.stdout.decode() + completed.stderr.decode()

    # WHEN every place the secret could have reached is read
    places: dict[str, bytes] = {
        "console (stdout)": completed.stdout,
        "console (stderr)": completed.stderr,
        "handler logs": logs.read_bytes(),
        "execution history and state payloads": history.read_bytes(),
        "synthesized template and outputs": DEFAULT_TEMPLATE.read_bytes(),
    }
    objects = _files_under(keep)
    for path in objects:
        places[f"s3 object {path.relative_to(keep)}"] = path.read_bytes()

    # THEN the run really happened there, and the secret is in none of them
    assert any("manifests/" in name for name in places)
    assert any("raw/" in name for name in places)
    assert any("usage/" in name for name in places)
    assert b"SubmitQuery" in places["execution history and state payloads"]
    assert b"job submitted" in places["handler logs"]
    leaks = [name for name, data in places.items() for needle in _needles() if needle in data]
    assert leaks == []


@pytest.mark.local_run("--client-secret", CLIENT_SECRET, "--fault", "bad-credentials", *LOGS)
def test_a_rejected_secret_is_not_echoed_in_the_failure(local_run: LocalRun) -> None:
    # GIVEN the Genesys side rejects the credentials (the marker's arguments)
    completed = local_run.outcome()
    history, logs = local_run.folder / "history.json", local_run.folder / "lambda.log"

    # THEN the run fails with the named error and neither the error nor its cause holds it
    assert completed.returncode == 1
    assert b"GenesysAuthError" in completed.stdout
    for data in (completed.stdout, completed.stderr, history.read_bytes()):
        assert not any(needle in data for needle in _needles())
    assert not any(needle in logs.read_bytes() for needle in _needles())
