"""Lambda's time rules in the local run: an invocation past its timeout fails the task."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import window

pytestmark = pytest.mark.integration


def test_an_invocation_past_its_timeout_fails_as_lambda_reports_it(make_pipeline: Any) -> None:
    # GIVEN functions limited to 2 s and a Genesys that answers status calls after 4 s
    pipeline = make_pipeline(lambda_timeout_seconds=2)
    pipeline.simulator.set_fault("slow", seconds=4, endpoint="results")

    # WHEN the pipeline runs
    report = pipeline.execute({"interval": window(1, 0)})

    # THEN PollStatus fails with Lambda's timeout, nothing is landed
    assert report.status == "FAILED"
    assert report.error == "Sandbox.Timedout"
    assert "Task timed out after 2.00 seconds" in (report.cause or "")
    assert "PollStatus" in report.states
    assert pipeline.keys("usage/") == []
