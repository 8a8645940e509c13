"""What Genesys leaves undocumented, read every way the simulator can: the right rows land."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from local.harness import LocalPipeline
from tests.integration.conftest import TODAY, window
from tests.integration.ground_truth import expected_rows, landed_rows

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("week_start", ["monday", "sunday"])
def test_a_week_run_lands_the_weeks_as_genesys_dates_them(
    pipeline: LocalPipeline, week_start: str
) -> None:
    # GIVEN a Genesys whose weeks start on `week_start` (undocumented)
    pipeline.simulator.configure(week_start=week_start)
    execution_input: dict[str, Any] = {"granularity": "Week", "interval": window(22, 8)}

    # WHEN a Week run executes
    report = pipeline.execute(execution_input)

    # THEN it succeeds, every row keeps the date Genesys gave, and the table is the ground truth
    assert report.status == "SUCCEEDED", (report.error, report.cause)
    rows = pipeline.usage_rows()
    dates = {date.fromisoformat(row["date"]) for row in rows}
    assert dates and {day.strftime("%A") for day in dates} == {week_start.capitalize()}
    assert landed_rows(rows) == expected_rows(pipeline.simulator, execution_input, TODAY)


@pytest.mark.parametrize("legacy_end", ["exclusive", "inclusive"])
def test_a_legacy_run_lands_the_same_days_whatever_the_interval_end_means(
    pipeline: LocalPipeline, legacy_end: str
) -> None:
    # GIVEN a legacy API reading its interval's end `legacy_end` (undocumented)
    pipeline.simulator.configure(legacy_end=legacy_end)
    execution_input = {"api": "legacy", "interval": window(3, 1)}

    # WHEN a legacy run executes
    report = pipeline.execute(execution_input)

    # THEN exactly the two asked days land, equal to the ground truth
    assert report.status == "SUCCEEDED", (report.error, report.cause)
    assert len(report.rows_by_partition) == 2
    assert landed_rows(pipeline.usage_rows()) == expected_rows(
        pipeline.simulator, execution_input, TODAY
    )
