"""`ops.backfill` against the synthesized state machine: months in, failed windows re-run."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from local.harness import LocalPipeline
from ops.backfill import execution_inputs, run_backfill, split_windows
from tests.integration.ground_truth import expected_rows, landed_rows

pytestmark = pytest.mark.integration


def test_a_backfill_lands_every_window_and_a_rerun_repeats_only_failures(
    make_pipeline: Any,
) -> None:
    # GIVEN a range that spans the turn of a year, so it splits into two executions
    today = date(2027, 1, 4)
    pipeline: LocalPipeline = make_pipeline(today=today)
    start, end = date(2026, 12, 30), date(2027, 1, 3)
    windows = split_windows(start, end, "Day")
    assert len(windows) == 2
    inputs = execution_inputs(windows, {"granularity": "Day"}, today)
    sfn = pipeline.client("stepfunctions")
    arn = pipeline.resources.state_machine_arn  # type: ignore[union-attr]
    said: list[str] = []

    # AND the first window's Genesys job fails
    pipeline.simulator.set_fault("job-failed", count=1)

    # WHEN the backfill runs
    first = run_backfill(sfn, arn, inputs, wait=True, say=said.append, poll_seconds=0.2)

    # THEN the first window failed and the second landed
    assert [status for _, status in first] == ["FAILED", "SUCCEEDED"]

    # AND WHEN it runs again, only the failed window runs (under a new name) and lands
    second = run_backfill(sfn, arn, inputs, wait=True, say=said.append, poll_seconds=0.2)
    assert [status for _, status in second] == ["SUCCEEDED", "SKIPPED"]
    assert second[0][0] == f"{first[0][0]}-2"
    whole: dict[str, Any] = {"interval": f"{start.isoformat()}/{end.isoformat()}"}
    assert landed_rows(pipeline.usage_rows()) == expected_rows(pipeline.simulator, whole, today)
