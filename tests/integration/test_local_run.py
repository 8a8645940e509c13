"""`python -m local.run`, as `make demo` runs it: what it prints and what it exits with."""

from __future__ import annotations

import json
import re

import pytest

from tests.integration.conftest import window
from tests.integration.local_runs import LocalRun

pytestmark = pytest.mark.integration


FIRST, SECOND = json.dumps({"interval": window(3, 0)}), json.dumps({"interval": window(2, 0)})


@pytest.mark.local_run(
    "--input", FIRST, "--input", SECOND, "--keep", "{folder}", "--log-file", "{folder}/lambda.log"
)
def test_a_run_prints_its_progress_outcome_and_the_top_429_clients(local_run: LocalRun) -> None:
    # GIVEN two executions, the second overlapping the first, and a folder to keep the bucket in
    # WHEN the local run executes them (the marker's arguments)
    completed = local_run.outcome()
    tmp_path, log_file = local_run.folder, local_run.folder / "lambda.log"

    # THEN it exits 0 and prints states, status, transitions, rows per partition and the table
    out = completed.stdout.decode()
    assert completed.returncode == 0, out + completed.stderr.decode()
    assert "  -> SubmitQuery" in out
    assert "  -> Land" in out
    assert len(re.findall(r"SUCCEEDED in [\d.]+ s; states visited: SubmitQuery > ", out)) == 2
    assert re.search(r"; \d+ state transitions", out)
    assert "rows landed per partition (3):" in out
    assert "rows landed per partition (2):" in out
    assert "Top 10 OAuth clients by 429" in out
    table = out.split("Top 10 OAuth clients by 429")[1].strip().split("\n\n")[0].splitlines()
    assert table[1].startswith("oauth_client_id")
    assert len(table) == 1 + 2 + 10  # title, header, rule, ten clients
    assert f"source bucket copied to {tmp_path}" in out
    # AND the bucket was copied: three day partitions, each one object
    partitions = sorted((tmp_path / "usage").rglob("usage.parquet"))
    assert len(partitions) == 3
    assert len(list((tmp_path / "manifests").iterdir())) == 2
    # AND land published its metrics (CloudWatch embedded metric format) once per run
    metrics = [
        json.loads(line)
        for line in log_file.read_text(encoding="utf-8").splitlines()
        if line.startswith('{"_aws"')
    ]
    assert len(metrics) == 2
    for document in metrics:
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "GenesysApiUsage"
        assert {m["Name"] for m in directive["Metrics"]} == {"RowsLanded", "RateLimitedPercent"}
        assert document["service"] == "genesys-api-usage"
        assert document["RowsLanded"][0] > 0
        assert 0 < document["RateLimitedPercent"][0] < 100


@pytest.mark.local_run("--quiet", "--fault", "job-cancelled")
def test_a_failed_run_exits_non_zero_with_the_error_and_cause(local_run: LocalRun) -> None:
    # WHEN the Genesys job fails (the marker's arguments)
    completed = local_run.outcome()

    # THEN the exit status says so, with the Fail state's error and cause
    out = completed.stdout.decode()
    assert completed.returncode == 1
    assert "FAILED in" in out
    assert "error: GenesysJobCancelled" in out
    assert "cause: " in out
    assert "Top 10" not in out
