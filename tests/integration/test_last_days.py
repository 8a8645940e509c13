"""`{"lastDays": N}`, as the schedule sends it: the last N complete UTC days, one partition each."""

from __future__ import annotations

import pytest

from local.harness import LocalPipeline
from tests.integration.conftest import TODAY, days_ago, window
from tests.integration.ground_truth import expected_rows, landed_rows

pytestmark = pytest.mark.integration


def test_last_days_3_lands_the_three_days_before_today(pipeline: LocalPipeline) -> None:
    # WHEN the schedule's input runs
    report = pipeline.execute({"lastDays": 3})

    # THEN three day partitions land, yesterday and the two days before, equal to the ground truth
    assert report.status == "SUCCEEDED", (report.error, report.cause)
    landed_dates = sorted(key.split("date=")[1][:10] for key in report.rows_by_partition)
    assert landed_dates == [days_ago(n).isoformat() for n in (3, 2, 1)]
    expected = expected_rows(pipeline.simulator, {"interval": window(3, 0)}, TODAY)
    assert landed_rows(pipeline.usage_rows()) == expected
