"""The handlers' log, as CloudWatch would hold it: JSON lines, each carrying the run id."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from local.harness import ROOT

pytestmark = pytest.mark.integration


def test_every_handler_log_line_is_json_with_the_run_id_retry_warnings_included(
    tmp_path: Path,
) -> None:
    # GIVEN Genesys answers the first calls with 429
    log_file = tmp_path / "handlers.log"

    # WHEN the local run executes the pipeline
    arguments = ["--quiet", "--fault", "rate-limit:count=2", "--log-file", str(log_file)]
    completed = subprocess.run(
        [sys.executable, "-m", "local.run", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    # THEN every line of the handler log is a JSON object naming the execution's run id, and
    # the Genesys client's retry warnings are among them
    assert completed.returncode == 0, completed.stdout + completed.stderr
    lines = log_file.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert records and all(isinstance(record, dict) for record in records)
    run_ids = {record.get("run_id") for record in records}
    assert len(run_ids) == 1 and None not in run_ids
    retries = [r for r in records if r.get("level") == "WARNING" and "retry_in_seconds" in r]
    assert len(retries) == 2
    assert all(record.get("correlation_id") == record["run_id"] for record in retries)
