"""The two Usage APIs count different traffic: their rows never share a partition."""

from __future__ import annotations

import pytest

from local.harness import LocalPipeline
from tests.integration.conftest import TODAY, window
from tests.integration.ground_truth import expected_rows, landed_rows

pytestmark = pytest.mark.integration


def test_a_legacy_run_never_replaces_the_aggregates_partition_of_the_same_day(
    pipeline: LocalPipeline,
) -> None:
    # GIVEN yesterday landed from the aggregates API
    aggregates = {"interval": window(1, 0)}
    legacy = {"interval": window(1, 0), "api": "legacy"}
    assert pipeline.execute(aggregates).status == "SUCCEEDED"

    # WHEN the same day and grouping is landed from the legacy API
    report = pipeline.execute(legacy)

    # THEN each API has its own partition, and the aggregates one still holds its own rows
    assert report.status == "SUCCEEDED", (report.error, report.cause)
    rows = pipeline.usage_rows()
    by_api = {api: [row for row in rows if row["api"] == api] for api in ("aggregates", "legacy")}
    today = TODAY
    assert landed_rows(by_api["aggregates"]) == expected_rows(pipeline.simulator, aggregates, today)
    assert landed_rows(by_api["legacy"]) == expected_rows(pipeline.simulator, legacy, today)
    keys = pipeline.keys("usage/")
    assert {key.split("/")[1] for key in keys} == {"api=aggregates", "api=legacy"}
