"""Each result page crosses the wire once: the status answer that finds the job done is page 1."""

from __future__ import annotations

import pytest

from local.harness import LocalPipeline
from tests.integration.conftest import window

pytestmark = pytest.mark.integration


def test_every_result_page_is_fetched_exactly_once(make_pipeline: object) -> None:
    # GIVEN a result of several pages (100 rows a page)
    pipeline: LocalPipeline = make_pipeline(env_overrides={"PAGE_SIZE": "100"})  # type: ignore[operator]
    pipeline.simulator.reset_stats()

    # WHEN the pipeline runs
    report = pipeline.execute({"interval": window(2, 0)})

    # THEN the results endpoint saw one request per status poll plus one per further page
    assert report.status == "SUCCEEDED", (report.error, report.cause)
    assert report.output is not None
    polls, pages = report.output["job"]["polls"], report.output["raw"]["pages"]
    assert pages > 3
    results_requests = pipeline.simulator.stats()["requests"]["aggregates.results"]
    assert sum(results_requests.values()) == polls + pages - 1
