"""Results of any size: page fetching resumes across invocations, never from page 1."""

from __future__ import annotations

from typing import Any

import pytest

from tests.integration.conftest import utc_today, window
from tests.integration.ground_truth import expected_rows, landed_rows

pytestmark = pytest.mark.integration


def test_a_30_day_run_under_a_5_second_timeout_resumes_and_lands_the_same_rows(
    make_pipeline: Any,
) -> None:
    # GIVEN 5 s functions, pages of 100 rows, and 30 days (hundreds of pages); the rate limit is
    # raised so the test measures resumption, not waiting (test_faults covers the limit)
    pipeline = make_pipeline(lambda_timeout_seconds=5, env_overrides={"PAGE_SIZE": "100"})
    pipeline.simulator.configure(rate_limit_per_minute=100_000)
    execution_input = {"interval": window(30, 0)}
    pipeline.simulator.reset_stats()

    # WHEN the pipeline runs
    report = pipeline.execute(execution_input)

    # THEN it succeeds after several page-fetching invocations, each page fetched once
    assert report.status == "SUCCEEDED", (report.error, report.cause)
    assert report.output is not None
    pages = report.output["raw"]["pages"]
    assert pages > 300
    assert report.states.count("FetchPages") >= 2
    results = sum(pipeline.simulator.stats()["requests"]["aggregates.results"].values())
    assert results == report.output["job"]["polls"] + pages - 1

    # AND it landed exactly the simulator's ground truth: what the same run without those limits
    # lands (test_pipeline proves a plain run lands the ground truth)
    resumed = landed_rows(pipeline.usage_rows())
    assert resumed == expected_rows(pipeline.simulator, execution_input, utc_today())
