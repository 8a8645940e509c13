"""Everything that depends on "today", on the days whose shape is unusual.

The first day of a year, 29 February and the day after it, a single-digit day and the last day of
a 30-day month: each rule that reads today (the default window, lastDays, "ends no later than
today", the report's default range, a backfill's windows) is checked on each, with expectations
worked out here by calendar arithmetic, never by the code under test.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from ops.backfill import execution_inputs, split_windows
from ops.report.cli import range_of
from usage_pipeline.errors import InvalidInput
from usage_pipeline.query import parse_query
from usage_report.errors import ReportError
from usage_report.model import DateRange

UNUSUAL_DAYS = (
    date(2027, 1, 1),
    date(2028, 2, 29),
    date(2028, 3, 1),
    date(2027, 3, 7),
    date(2027, 4, 30),
)
# What each day's "yesterday" and "a week ago" are, written out by hand.
YESTERDAY = {
    date(2027, 1, 1): date(2026, 12, 31),
    date(2028, 2, 29): date(2028, 2, 28),
    date(2028, 3, 1): date(2028, 2, 29),
    date(2027, 3, 7): date(2027, 3, 6),
    date(2027, 4, 30): date(2027, 4, 29),
}
SEVEN_DAYS_BEFORE = {
    date(2027, 1, 1): date(2026, 12, 25),
    date(2028, 2, 29): date(2028, 2, 22),
    date(2028, 3, 1): date(2028, 2, 23),
    date(2027, 3, 7): date(2027, 2, 28),
    date(2027, 4, 30): date(2027, 4, 23),
}
days = pytest.mark.parametrize("today", UNUSUAL_DAYS, ids=str)


@days
def test_no_interval_is_yesterday(today: date) -> None:
    query = parse_query({}, today=today)
    assert (query.start, query.end) == (YESTERDAY[today], today)
    assert query.periods() == [YESTERDAY[today]]


@days
def test_last_days_ends_yesterday_and_counts_back_over_month_and_year_ends(today: date) -> None:
    query = parse_query({"lastDays": 7}, today=today)
    assert (query.start, query.end) == (SEVEN_DAYS_BEFORE[today], today)
    assert len(query.periods()) == 7
    assert query.periods()[-1] == YESTERDAY[today]


@days
def test_a_window_that_reaches_today_is_refused_and_one_ending_today_is_not(today: date) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_query({"interval": today.isoformat()}, today=today)
    assert raised.value.field == "interval"
    accepted = parse_query({"interval": YESTERDAY[today].isoformat()}, today=today)
    assert accepted.periods() == [YESTERDAY[today]]


@days
def test_the_month_of_yesterday_is_refused_until_it_is_complete(today: date) -> None:
    # The month that yesterday belongs to is complete only when today is the 1st.
    month = f"{YESTERDAY[today]:%Y-%m}"
    if today.day == 1:
        query = parse_query({"interval": month, "granularity": "Month"}, today=today)
        assert (query.start, query.end) == (YESTERDAY[today].replace(day=1), today)
    else:
        with pytest.raises(InvalidInput):
            parse_query({"interval": month, "granularity": "Month"}, today=today)


@days
def test_the_reports_default_range_is_the_seven_days_before_today(today: date) -> None:
    assert range_of(None, today) == DateRange(SEVEN_DAYS_BEFORE[today], YESTERDAY[today])


@days
def test_the_report_refuses_a_range_that_reaches_today(today: date) -> None:
    with pytest.raises(ReportError):
        range_of(f"{YESTERDAY[today].isoformat()}/{(today + timedelta(days=1)).isoformat()}", today)
    assert range_of(YESTERDAY[today].isoformat(), today) == DateRange(
        YESTERDAY[today], YESTERDAY[today]
    )


# A backfill from the 1st of the month 45 days back up to today, as calendar months.
BACKFILL_MONTHS = {
    date(2027, 1, 1): ["2026-11-01/2026-12-01", "2026-12-01/2027-01-01"],
    date(2028, 2, 29): ["2028-01-01/2028-02-01", "2028-02-01/2028-02-29"],
    date(2028, 3, 1): ["2028-01-01/2028-02-01", "2028-02-01/2028-03-01"],
    date(2027, 3, 7): ["2027-01-01/2027-02-01", "2027-02-01/2027-03-01", "2027-03-01/2027-03-07"],
    date(2027, 4, 30): ["2027-03-01/2027-04-01", "2027-04-01/2027-04-30"],
}


@days
def test_a_backfill_up_to_today_splits_into_calendar_months_the_pipeline_accepts(
    today: date,
) -> None:
    start = (today - timedelta(days=45)).replace(day=1)
    windows = split_windows(start, today, "Day")
    inputs = execution_inputs(windows, {"granularity": "Day"}, today)  # each validated
    assert [input_["interval"] for input_ in inputs] == BACKFILL_MONTHS[today]
