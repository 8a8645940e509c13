"""`python -m local.run`, as `make demo` runs it: what it prints and what it exits with."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from local.pipeline import ROOT
from tests.integration.conftest import window

pytestmark = pytest.mark.integration


def _run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "local.run", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_a_run_prints_its_progress_outcome_and_the_top_429_clients(tmp_path: Path) -> None:
    # GIVEN two executions, the second overlapping the first, and a folder to keep the bucket in
    first, second = json.dumps({"interval": window(3, 0)}), json.dumps({"interval": window(2, 0)})

    # WHEN the local run executes them
    log_file = tmp_path / "lambda.log"
    completed = _run(
        "--input", first, "--input", second, "--keep", str(tmp_path), "--log-file", str(log_file)
    )

    # THEN it exits 0 and prints states, status, transitions, rows per partition and the table
    out = completed.stdout
    assert completed.returncode == 0, out + completed.stderr
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


def test_a_failed_run_exits_non_zero_with_the_error_and_cause() -> None:
    # WHEN the Genesys job fails
    completed = _run("--quiet", "--fault", "job-cancelled")

    # THEN the exit status says so, with the Fail state's error and cause
    assert completed.returncode == 1
    assert "FAILED in" in completed.stdout
    assert "error: GenesysJobCancelled" in completed.stdout
    assert "cause: " in completed.stdout
    assert "Top 10" not in completed.stdout
