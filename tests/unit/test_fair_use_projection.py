"""The month's projection and the clients' shares, against cases worked out by hand.

Calendars used (UTC): November 2026 starts on a Sunday (30 days: 21 weekdays, 9 weekend days);
December 2026 on a Tuesday (31 days: 23 weekdays, 8 weekend days); February 2026 on a Sunday
(28 days: 20 weekdays, 8 weekend days); February 2028 on a Tuesday (29 days: 21 weekdays, 8 weekend
days).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import pytest

from local.genesys_simulator import wire
from local.genesys_simulator.options import SimulatorSettings
from local.genesys_simulator.simulator import GenesysSimulator
from usage_pipeline.fair_use import Allowance
from usage_pipeline.fair_use_projection import (
    ClientRequests,
    DayStatus,
    RateBasis,
    client_shares,
    project_month,
)


def _month_days(first: date, last: date, requests: Callable[[date], int]) -> dict[date, int]:
    """Every day from first to last with ``requests(day)``."""
    return {
        first + timedelta(days=offset): requests(first + timedelta(days=offset))
        for offset in range((last - first).days + 1)
    }


def _weekday_weekend(weekday: int, weekend: int) -> Callable[[date], int]:
    return lambda day: weekend if day.weekday() >= 5 else weekday


def _allowance(requests: int) -> Allowance:
    return Allowance.from_mapping({"monthlyRequests": requests})


# --- the first days of a month -------------------------------------------------------------------


def test_the_first_day_of_a_month_projects_both_kinds_from_it_when_nothing_else_is_known() -> None:
    # GIVEN December 1st (a Tuesday) landed and nothing before the month
    projection = project_month(
        {date(2026, 12, 1): 1000},
        month=date(2026, 12, 1),
        through=date(2026, 12, 1),
        allowance=None,
    )

    # THEN the weekday rate is that day's, and weekends borrow it (no weekend day seen yet)
    assert projection.weekday_rate.requests_per_day == 1000
    assert projection.weekday_rate.basis is RateBasis.MONTH
    assert projection.weekend_rate.requests_per_day == 1000
    assert projection.weekend_rate.basis is RateBasis.OTHER_KIND
    # AND the month is 31 days of 1000, 30 of them projected
    assert projection.requests_so_far == 1000
    assert projection.future_estimate == 30_000
    assert projection.projected_requests == 31_000
    assert len(projection.days) == 31
    assert projection.landed_days == (date(2026, 12, 1),)
    assert projection.missing_days == ()
    assert len(projection.future_days) == 30


def test_the_first_days_take_the_missing_kind_from_the_days_before_the_month() -> None:
    # GIVEN December 1st landed, and the weekends before it (the 14th is older than the window)
    before = {
        date(2026, 11, 14): 9999,
        date(2026, 11, 21): 500,
        date(2026, 11, 22): 200,
        date(2026, 11, 28): 400,
        date(2026, 11, 29): 300,
        date(2026, 11, 30): 5000,  # a weekday: the month's own weekday wins
    }

    # WHEN the month is projected with them
    projection = project_month(
        {date(2026, 12, 1): 1000},
        month=date(2026, 12, 1),
        through=date(2026, 12, 1),
        allowance=None,
        before_month=before,
    )

    # THEN weekends run at the median of the last 4 weekend days: (300 + 400) / 2 = 350
    assert projection.weekend_rate.requests_per_day == 350
    assert projection.weekend_rate.basis is RateBasis.BEFORE_MONTH
    assert projection.weekend_rate.days == (
        date(2026, 11, 21),
        date(2026, 11, 22),
        date(2026, 11, 28),
        date(2026, 11, 29),
    )
    assert projection.weekday_rate.requests_per_day == 1000
    assert projection.weekday_rate.basis is RateBasis.MONTH
    # AND 23 weekdays of 1000 and 8 weekend days of 350
    assert projection.projected_requests == 23 * 1000 + 8 * 350


def test_a_month_starting_on_a_sunday_borrows_the_weekend_rate_until_a_weekday_lands() -> None:
    projection = project_month(
        {date(2026, 11, 1): 300}, month=date(2026, 11, 1), through=date(2026, 11, 1), allowance=None
    )

    assert projection.weekend_rate.basis is RateBasis.MONTH
    assert projection.weekday_rate.basis is RateBasis.OTHER_KIND
    assert projection.weekday_rate.requests_per_day == 300
    assert projection.projected_requests == 30 * 300


def test_nothing_landed_yet_still_gives_the_month_but_no_projection() -> None:
    # GIVEN December 1st over, but not landed, and an allowance
    projection = project_month(
        {}, month=date(2026, 12, 1), through=date(2026, 12, 1), allowance=_allowance(1000)
    )

    # THEN the month's numbers are there, the day is said to be missing, and nothing is projected
    assert projection.requests_so_far == 0
    assert projection.missing_days == (date(2026, 12, 1),)
    assert projection.weekday_rate.basis is RateBasis.NONE
    assert projection.weekday_rate.requests_per_day is None
    assert projection.projected_requests is None
    assert projection.missing_estimate is None
    assert projection.projected_overage is None
    assert projection.projected_percent is None
    assert projection.crossing is None
    assert projection.overage_so_far == 0
    assert projection.percent_so_far == 0.0


# --- missing days --------------------------------------------------------------------------------

# November 2026 through the 10th: the 4th (a Wednesday) and the 8th (a Sunday) did not land.
_NOVEMBER_WITH_GAPS = {
    date(2026, 11, 1): 200,
    date(2026, 11, 2): 1000,
    date(2026, 11, 3): 1100,
    date(2026, 11, 5): 900,
    date(2026, 11, 6): 1000,
    date(2026, 11, 7): 300,
    date(2026, 11, 9): 1200,
    date(2026, 11, 10): 1000,
}


def test_missing_days_are_said_and_counted_at_the_rate_never_as_landed() -> None:
    # WHEN November is projected through the 10th with an allowance of 20,000
    projection = project_month(
        _NOVEMBER_WITH_GAPS,
        month=date(2026, 11, 1),
        through=date(2026, 11, 10),
        allowance=_allowance(20_000),
    )

    # THEN the missing days are listed, and requests so far are the landed days only
    assert projection.missing_days == (date(2026, 11, 4), date(2026, 11, 8))
    assert projection.requests_so_far == 6700
    # AND the rates are medians: weekdays 900 1000 1000 1000 1100 1200 -> 1000; weekends 200 300
    assert projection.weekday_rate.requests_per_day == 1000
    assert projection.weekend_rate.requests_per_day == 250
    # AND the missing Wednesday and Sunday are estimated at those rates, apart from the future
    assert projection.missing_estimate == 1000 + 250
    missing = [each for each in projection.days if each.status is DayStatus.MISSING]
    assert [(each.requests, each.estimate) for each in missing] == [(None, 1000), (None, 250)]
    # AND 14 weekdays and 6 weekend days remain: 14,000 + 1,500
    assert projection.future_estimate == 15_500
    assert projection.projected_requests == 6700 + 1250 + 15_500
    # AND the running total passes 20,000 on the 26th (19,950 on the 25th), estimates included
    assert projection.crossing is not None
    assert projection.crossing.day == date(2026, 11, 26)
    assert not projection.crossing.already
    assert projection.crossing.estimated
    by_day = {each.day: each.running_total for each in projection.days}
    assert by_day[date(2026, 11, 10)] == 7950
    assert by_day[date(2026, 11, 25)] == 19_950
    assert by_day[date(2026, 11, 26)] == 20_950
    assert projection.projected_overage == 3450
    assert projection.overage_so_far == 0
    assert not projection.complete


def test_a_complete_month_with_a_missing_day_is_not_complete_and_projects_only_that_day() -> None:
    # GIVEN all of November landed but the 4th, viewed after the month
    november = _month_days(date(2026, 11, 1), date(2026, 11, 30), _weekday_weekend(1000, 100))
    del november[date(2026, 11, 4)]

    projection = project_month(
        november, month=date(2026, 11, 1), through=date(2026, 11, 30), allowance=None
    )

    assert projection.future_days == ()
    assert projection.missing_days == (date(2026, 11, 4),)
    assert projection.requests_so_far == 20 * 1000 + 9 * 100
    assert projection.projected_requests == 21 * 1000 + 9 * 100
    assert not projection.complete


# --- February ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("through", "weekday", "weekend", "so_far", "future", "last"),
    [
        # 2026 through Saturday the 14th: 10 weekdays and 4 weekend days each side of it
        (date(2026, 2, 14), 1000, 100, 10 * 1000 + 4 * 100, 10 * 1000 + 4 * 100, 28),
        # 2028 (leap) through Thursday the 10th: 8 weekdays and 2 weekend days, then 13 and 6
        (date(2028, 2, 10), 2000, 500, 8 * 2000 + 2 * 500, 13 * 2000 + 6 * 500, 29),
    ],
    ids=["28 days", "29 days"],
)
def test_february(
    through: date, weekday: int, weekend: int, so_far: int, future: int, last: int
) -> None:
    # GIVEN February landed from the 1st: the same requests every weekday, every weekend day
    first = through.replace(day=1)
    landed = _month_days(first, through, _weekday_weekend(weekday, weekend))

    projection = project_month(landed, month=first, through=through, allowance=None)

    # THEN the month ends on its last day, and the days after `through` are projected
    assert projection.requests_so_far == so_far
    assert projection.future_estimate == future
    assert projection.projected_requests == so_far + future
    assert projection.days[-1].day == first.replace(day=last)
    assert len(projection.days) == last


def test_february_of_28_days_complete() -> None:
    landed = _month_days(date(2026, 2, 1), date(2026, 2, 28), _weekday_weekend(1000, 100))

    projection = project_month(
        landed, month=date(2026, 2, 1), through=date(2026, 3, 5), allowance=_allowance(20_800)
    )

    assert projection.complete
    assert projection.projected_requests == projection.requests_so_far == 20_800
    assert projection.future_estimate == 0
    assert projection.missing_estimate == 0
    assert projection.crossing is None  # exactly the allowance is not over it
    assert projection.projected_overage == 0


# --- a holiday-like dip, a trend -----------------------------------------------------------------


def test_a_holiday_dip_does_not_pull_the_rate_down() -> None:
    # GIVEN December 2026 through Monday the 28th: weekdays 1000, Christmas Eve 600, Christmas 50
    landed = _month_days(date(2026, 12, 1), date(2026, 12, 28), _weekday_weekend(1000, 200))
    landed[date(2026, 12, 24)] = 600
    landed[date(2026, 12, 25)] = 50

    projection = project_month(
        landed, month=date(2026, 12, 1), through=date(2026, 12, 28), allowance=None
    )

    # THEN the weekday rate is the median of the last 10 weekdays (50 600 and eight 1000s): 1000,
    # where their mean would be 865
    assert projection.weekday_rate.requests_per_day == 1000
    assert projection.weekday_rate.days[0] == date(2026, 12, 15)
    assert projection.weekday_rate.days[-1] == date(2026, 12, 28)
    # AND the three weekdays left are projected at 1000 each
    assert projection.requests_so_far == 18 * 1000 + 600 + 50 + 8 * 200
    assert projection.projected_requests == projection.requests_so_far + 3 * 1000


def test_the_rate_follows_the_last_two_weeks() -> None:
    # GIVEN November's first two weeks at 1000 a weekday, the next two at 2000, weekends 100
    landed = _month_days(
        date(2026, 11, 1),
        date(2026, 11, 27),
        lambda day: 100 if day.weekday() >= 5 else (1000 if day.day < 16 else 2000),
    )

    projection = project_month(
        landed, month=date(2026, 11, 1), through=date(2026, 11, 27), allowance=None
    )

    # THEN weekdays are projected at 2000 (the last 10), not at the month's median of 1500
    assert projection.weekday_rate.requests_per_day == 2000
    assert len(projection.weekday_rate.days) == 10
    assert projection.weekend_rate.requests_per_day == 100
    assert len(projection.weekend_rate.days) == 4
    # AND Saturday, Sunday and Monday remain
    assert projection.projected_requests == 10 * 1000 + 10 * 2000 + 7 * 100 + 100 + 100 + 2000


# --- against the allowance -----------------------------------------------------------------------


def test_already_over_the_allowance() -> None:
    # GIVEN November through the 10th, weekdays 1000 and weekends 100, against 5,000 requests
    landed = _month_days(date(2026, 11, 1), date(2026, 11, 10), _weekday_weekend(1000, 100))

    projection = project_month(
        landed, month=date(2026, 11, 1), through=date(2026, 11, 10), allowance=_allowance(5000)
    )

    # THEN it crossed on Friday the 6th (100 + 5 x 1000), on landed days only
    assert projection.crossing is not None
    assert projection.crossing.day == date(2026, 11, 6)
    assert projection.crossing.already
    assert not projection.crossing.estimated
    # AND 7,300 so far is 2,300 over; the month, 21 x 1000 + 9 x 100 = 21,900, 16,900 over
    assert projection.requests_so_far == 7300
    assert projection.overage_so_far == 2300
    assert projection.percent_so_far == 146.0
    assert projection.projected_requests == 21_900
    assert projection.projected_overage == 16_900
    assert projection.projected_percent == 438.0


def test_without_an_allowance_the_month_is_still_computed() -> None:
    landed = _month_days(date(2026, 11, 1), date(2026, 11, 10), _weekday_weekend(1000, 100))

    projection = project_month(
        landed, month=date(2026, 11, 1), through=date(2026, 11, 10), allowance=None
    )

    assert projection.requests_so_far == 7300
    assert projection.projected_requests == 21_900
    assert projection.allowance is None
    assert projection.crossing is None
    assert projection.overage_so_far is None
    assert projection.projected_overage is None
    assert projection.percent_so_far is None
    assert projection.projected_percent is None


def test_a_crossing_on_a_missing_day_is_marked_estimated() -> None:
    # GIVEN the 3rd missing and the running total passing 2,000 on it
    landed = {date(2026, 11, 1): 100, date(2026, 11, 2): 1000, date(2026, 11, 4): 1000}

    projection = project_month(
        landed, month=date(2026, 11, 1), through=date(2026, 11, 4), allowance=_allowance(2000)
    )

    assert projection.crossing is not None
    assert projection.crossing.day == date(2026, 11, 3)
    assert projection.crossing.already
    assert projection.crossing.estimated


# --- refused input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("landed", "before", "named"),
    [
        ({date(2026, 11, 11): 5}, None, "2026-11-11"),  # after `through`
        ({date(2026, 10, 31): 5}, None, "2026-10-31"),  # before the month
        ({date(2026, 11, 2): -1}, None, "-1"),
        ({date(2026, 11, 2): 1.5}, None, "1.5"),
        ({}, {date(2026, 11, 1): 5}, "2026-11-01"),  # before_month inside the month
    ],
)
def test_days_outside_the_month_or_bad_counts_are_refused(
    landed: dict[date, object], before: dict[date, int] | None, named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        project_month(
            landed,  # type: ignore[arg-type]
            month=date(2026, 11, 1),
            through=date(2026, 11, 10),
            allowance=None,
            before_month=before,
        )


# --- who drives the month ------------------------------------------------------------------------


def test_client_shares_against_the_month_before() -> None:
    # GIVEN A 600, B 300 and new C 100 this month; A 500, B 500 and D 1000 the month before
    shares = client_shares(
        [
            ClientRequests("b", "Bravo", 300),
            ClientRequests("a", "Alpha", 600),
            ClientRequests("c", "Charlie", 100),
        ],
        [
            ClientRequests("a", "Alpha", 500),
            ClientRequests("b", "Bravo", 500),
            ClientRequests("d", "Delta", 1000),
        ],
    )

    # THEN the clients come most requests first with their share and its move in points
    assert shares.total == 1000
    assert shares.previous_total == 2000
    assert [(each.client_id, each.share, each.previous_share) for each in shares.clients] == [
        ("a", 0.6, 0.25),
        ("b", 0.3, 0.25),
        ("c", 0.1, None),
    ]
    assert [each.change_points for each in shares.clients] == pytest.approx([35.0, 5.0, None])
    assert [each.new for each in shares.clients] == [False, False, True]
    # AND D, gone this month, is listed apart with its old share
    assert [(each.client_id, each.previous_share, each.share) for each in shares.gone] == [
        ("d", 0.5, 0.0)
    ]
    assert [each.client_id for each in shares.top(2)] == ["a", "b"]


def test_one_client_on_several_rows_is_added_up_under_its_largest_rows_name() -> None:
    shares = client_shares(
        [
            ClientRequests("x", "Old name", 10),
            ClientRequests("x", "New name", 30),
            ClientRequests(None, None, 60),
        ],
        [],
    )

    assert [(each.client_id, each.client_name, each.requests) for each in shares.clients] == [
        (None, None, 60),
        ("x", "New name", 40),
    ]
    assert all(each.new for each in shares.clients)
    assert shares.previous_total == 0


def test_a_month_without_requests_has_no_shares_to_divide() -> None:
    shares = client_shares([ClientRequests("a", "A", 0)], [ClientRequests("a", "A", 10)])

    assert shares.total == 0
    assert shares.clients == ()
    assert [(each.client_id, each.previous_share) for each in shares.gone] == [("a", 1.0)]


def test_equal_clients_are_ordered_by_name_then_id() -> None:
    shares = client_shares(
        [
            ClientRequests("2", "Same", 5),
            ClientRequests("1", "Same", 5),
            ClientRequests("3", "A", 5),
        ],
        [],
    )

    assert [each.client_id for each in shares.clients] == ["3", "1", "2"]


def test_a_negative_client_total_is_refused() -> None:
    with pytest.raises(ValueError, match="-4"):
        client_shares([ClientRequests("a", "A", -4)], [])


def test_a_view_ending_before_the_month_is_refused() -> None:
    with pytest.raises(ValueError, match="through: 2026-10-31"):
        project_month({}, month=date(2026, 11, 1), through=date(2026, 10, 31), allowance=None)


# --- against the simulator's organization -------------------------------------------------------


def _simulated_november(growth: float) -> dict[date, int]:
    """The simulator's requests per day of November 2026, all clients (as a total query)."""
    simulator = GenesysSimulator(SimulatorSettings(today=date(2026, 12, 2), growth=growth), seed=42)
    query = {
        "interval": "2026-11-01T00:00:00Z/2026-11-30T23:59:59Z",
        "granularity": "Day",
        "groupBy": [],
    }
    rows = simulator.expected_rows(wire.API_AGGREGATES, query)
    return {date.fromisoformat(row["date"]): row["requestCount"] for row in rows}


def _projections(november: dict[date, int], throughs: range) -> list[int]:
    projected = []
    for day in throughs:
        through = date(2026, 11, day)
        landed = {each: requests for each, requests in november.items() if each <= through}
        projection = project_month(landed, month=through, through=through, allowance=None)
        assert projection.projected_requests is not None
        projected.append(projection.projected_requests)
    return projected


def test_a_flat_simulated_month_is_projected_within_a_few_percent_from_its_5th_day() -> None:
    november = _simulated_november(growth=0)
    actual = sum(november.values())

    for projected in _projections(november, range(5, 31)):
        assert projected == pytest.approx(actual, rel=0.03)


def test_a_growing_simulated_month_is_projected_closer_each_week_and_exactly_at_its_end() -> None:
    # GIVEN a month whose traffic grows 3% of the 1st's every day (the 30th: 1.87 times the 1st)
    november = _simulated_november(growth=3)
    actual = sum(november.values())

    # WHEN it is projected on the 6th, 13th, 20th, 27th and 30th
    projected = _projections(november, range(6, 31, 7)) + _projections(november, range(30, 31))

    # THEN the rate, a median of the last two weeks, lags the trend: each week is closer, and the
    # month is exact once every day landed
    errors = [abs(actual - each) for each in projected]
    assert errors == sorted(errors, reverse=True)
    assert projected[-1] == actual
