"""What the product does on the days whose shape is unusual, through the one pinned clock.

`LocalPipeline(today=...)` (`python -m local.run --today`) moves the whole process's clock: the
execution's start time that gives submit_query its UTC day, the handlers' clock and the
simulator's today agree. The schedule's input, the default window and the refusal of a window
that ends after today are run on the first day of a year, on 29 February and the day after it,
on a single-digit day, and on the last day of a 30-day month.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.integration.ground_truth import expected_rows, landed_rows

pytestmark = pytest.mark.integration

UNUSUAL_DAYS = (
    date(2027, 1, 1),
    date(2028, 2, 29),
    date(2028, 3, 1),
    date(2027, 3, 7),
    date(2027, 4, 30),
)


def _landed_dates(report: Any) -> list[str]:
    return sorted(key.split("date=")[1][:10] for key in report.rows_by_partition)


@pytest.mark.parametrize("today", UNUSUAL_DAYS, ids=str)
def test_the_windows_that_depend_on_today(make_pipeline: Any, today: date) -> None:
    # GIVEN a pipeline whose clock reads `today`
    pipeline = make_pipeline(today=today)
    tomorrow = today + timedelta(days=1)

    # WHEN the schedule's input, an empty input and a window that includes today run
    last_three = pipeline.execute({"lastDays": 3})
    default = pipeline.execute({})
    refused = pipeline.execute({"interval": f"{today.isoformat()}/{tomorrow.isoformat()}"})

    # THEN the schedule lands the three complete days before today, the empty input yesterday,
    # each equal to the ground truth of those days
    assert last_three.succeeded, (last_three.error, last_three.cause)
    assert default.succeeded, (default.error, default.cause)
    days = [(today - timedelta(days=n)).isoformat() for n in (3, 2, 1)]
    assert _landed_dates(last_three) == days
    assert _landed_dates(default) == days[-1:]
    three_days = {"interval": f"{days[0]}/{today.isoformat()}"}
    assert landed_rows(pipeline.usage_rows()) == expected_rows(
        pipeline.simulator, three_days, today
    )
    # AND a window that includes today is refused in the first state
    assert (refused.status, refused.error) == ("FAILED", "InvalidInput")
    assert refused.states[0] == "SubmitQuery"
