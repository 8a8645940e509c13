"""Results of any size: page fetching resumes across invocations, never from page 1."""

from __future__ import annotations

import math
from typing import Any

import pytest

from handlers.poll_status import STOP_FETCHING_AT_SHARE_LEFT
from tests.integration.conftest import TODAY, window
from tests.integration.ground_truth import expected_rows, landed_rows

pytestmark = pytest.mark.integration

# Long enough for Transform and Land on a loaded machine; short enough to need several invocations.
LAMBDA_TIMEOUT_SECONDS = 10.0
# Every request to Genesys takes at least this long, on any machine: an invocation can spend only
# (1 - STOP_FETCHING_AT_SHARE_LEFT) of its time asking for pages, so it can store at most this
# many before it must hand over to the next one, however fast the machine is.
LATENCY_SECONDS = 0.2
MOST_PAGES_PER_INVOCATION = (
    math.floor((1 - STOP_FETCHING_AT_SHARE_LEFT) * LAMBDA_TIMEOUT_SECONDS / LATENCY_SECONDS) + 1
)


def test_a_run_under_a_10_second_timeout_resumes_and_lands_the_same_rows(
    make_pipeline: Any,
) -> None:
    # GIVEN 10 s functions, pages of 50 rows, four days (about 100 pages) and a Genesys whose
    # every answer takes 0.2 s; the rate limit is raised so the test measures resumption, not
    # waiting (test_faults covers the limit)
    pipeline = make_pipeline(
        lambda_timeout_seconds=LAMBDA_TIMEOUT_SECONDS, env_overrides={"PAGE_SIZE": "50"}
    )
    pipeline.simulator.configure(rate_limit_per_minute=100_000, latency=LATENCY_SECONDS)
    execution_input = {"interval": window(4, 0)}
    pipeline.simulator.reset_stats()

    # WHEN the pipeline runs
    report = pipeline.execute(execution_input)

    # THEN it succeeds after as many page-storing invocations as the pages need, each page
    # fetched once
    assert report.status == "SUCCEEDED", (report.error, report.cause)
    assert report.output is not None
    pages = report.output["raw"]["pages"]
    assert pages > 2 * MOST_PAGES_PER_INVOCATION
    # PollStatus stores the first pages, FetchPages the rest
    least_invocations = math.ceil(pages / MOST_PAGES_PER_INVOCATION)
    assert report.states.count("FetchPages") >= least_invocations - 1 >= 2
    results = sum(pipeline.simulator.stats()["requests"]["aggregates.results"].values())
    assert results == report.output["job"]["polls"] + pages - 1

    # AND it landed exactly the simulator's ground truth: what the same run without those limits
    # lands (test_pipeline proves a plain run lands the ground truth)
    resumed = landed_rows(pipeline.usage_rows())
    assert resumed == expected_rows(pipeline.simulator, execution_input, TODAY)
