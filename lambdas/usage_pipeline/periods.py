"""Day, Week and Month periods: where one starts, the next begins, and windows of whole periods.

Weeks are ISO weeks (Monday) and months start on the 1st; intervals are end exclusive.
"""

from __future__ import annotations

from datetime import date, timedelta


def format_interval(start: date, end: date) -> str:
    """The normalized, end-exclusive interval string: ``<start>T00:00:00Z/<end>T00:00:00Z``."""
    return f"{start.isoformat()}T00:00:00Z/{end.isoformat()}T00:00:00Z"


def period_start(day: date, granularity: str) -> date:
    """The first day of the period holding ``day``: itself, its ISO week's Monday, or the 1st."""
    if granularity == "Week":
        return day - timedelta(days=day.weekday())
    if granularity == "Month":
        return day.replace(day=1)
    return day


def next_period_start(day: date, granularity: str) -> date:
    """The first day of the period after the one starting on ``day`` (a period start)."""
    if granularity == "Week":
        return day + timedelta(days=7)
    if granularity == "Month":
        return first_of_next_month(day)
    return day + timedelta(days=1)


def align_to_periods(start: date, end: date, granularity: str) -> tuple[date, date]:
    """Widen [start, end) outward to whole periods, so a Week/Month row means the whole period."""
    aligned_start = period_start(start, granularity)
    last_period = period_start(end - timedelta(days=1), granularity)
    return aligned_start, next_period_start(last_period, granularity)


def period_starts(start: date, end: date, granularity: str) -> list[date]:
    """The first day of every period that starts in [start, end), oldest first."""
    day = period_start(start, granularity)
    if day < start:
        day = next_period_start(day, granularity)
    starts = []
    while day < end:
        starts.append(day)
        day = next_period_start(day, granularity)
    return starts


def first_of_next_month(day: date) -> date:
    if day.month == 12:
        return date(day.year + 1, 1, 1)
    return date(day.year, day.month + 1, 1)
