"""The execution input's interval forms, parsed into a [start, end) window of whole UTC days.

``2026-10-05`` (that day), ``2026-10`` (that month), ``START/END`` with both ends dates, months or
ISO date-times at UTC midnight. Refusals name the field ``interval``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Final

from usage_pipeline.periods import first_of_next_month
from usage_pipeline.refusals import refuse, wrong_type

INTERVAL_FORMS: Final = (
    "an interval as YYYY-MM-DD (that day), YYYY-MM (that month), or START/END (end exclusive) "
    "where both are YYYY-MM-DD dates, both YYYY-MM months, or both ISO date-times at UTC midnight "
    "with Z or an offset (e.g. 2026-10-01T00:00:00Z/2026-11-01T00:00:00+00:00)"
)
WHOLE_DAYS_NOTE: Final = "Genesys counts whole UTC days, so date-times must fall on UTC midnight"
# The longest accepted form (two date-times with nanosecond fractions and offsets) is 71 characters.
MAX_INTERVAL_LENGTH: Final = 100

# [0-9] rather than \d: \d also matches non-ASCII digits such as '٢'.
_DATE = r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
_DATE_RE = re.compile(_DATE)
_YEAR_MONTH_RE = re.compile(r"([0-9]{4})-([0-9]{2})")
_DATE_TIME_RE = re.compile(
    _DATE + r"T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:[0-9]{2})"
)


def interval_days(value: object) -> tuple[date, date]:
    """The [start, end) UTC days of an ``interval`` value, in any form the execution input takes.

    Its type, length and form are checked, and that it ends after it starts (InvalidInput naming
    ``interval`` otherwise), not how far back or forward it reaches: the pipeline checks that
    against what Genesys answers (``query.py``), the report against what the table holds.
    """
    if not isinstance(value, str):
        raise wrong_type("interval", value, "a string", INTERVAL_FORMS)
    if len(value) > MAX_INTERVAL_LENGTH:
        raise refuse(
            "interval", value, f"at most {MAX_INTERVAL_LENGTH} characters; {INTERVAL_FORMS}"
        )
    start, end = parse_interval(value)
    if end <= start:
        raise refuse("interval", value, f"the end must be after the start; {INTERVAL_FORMS}")
    return start, end


def refuse_unless_complete(end: date, *, today: date, shown: str) -> None:
    """InvalidInput unless the days end by ``today`` (UTC, end exclusive): Genesys counts whole
    days, so the current UTC day has no data yet, and a window reaching it would be partial."""
    if end > today:
        raise refuse(
            "interval",
            shown,
            f"the end must be on or before {today.isoformat()} (today, UTC; end exclusive): "
            f"Genesys has no data for the current UTC day, so the last day that can be asked for "
            f"is {(today - timedelta(days=1)).isoformat()}",
        )


def parse_interval(value: str) -> tuple[date, date]:
    """The [start, end) of an interval in one of INTERVAL_FORMS (not checked: end after start)."""
    if value.count("/") == 0:
        return _parse_single(value)
    if value.count("/") > 1:
        raise refuse("interval", value, INTERVAL_FORMS)
    first, second = value.split("/")
    for parse in (_parse_date, _parse_year_month_start, _parse_midnight):
        start = parse(first, value)
        if start is not None:
            end = parse(second, value)
            if end is None:
                # Both ends must have the same form: mixing them would be read in different units.
                allowed = f"both ends must have the same form; {INTERVAL_FORMS}"
                raise refuse("interval", value, allowed)
            return start, end
    raise refuse("interval", value, INTERVAL_FORMS)


def _parse_single(value: str) -> tuple[date, date]:
    day = _parse_date(value, value)
    if day is not None:
        if day == date.max:
            raise refuse("interval", value, f"{value} is out of range; {INTERVAL_FORMS}")
        return day, day + timedelta(days=1)
    month = _parse_year_month_start(value, value)
    if month is not None:
        return month, first_of_next_month(month)
    raise refuse("interval", value, INTERVAL_FORMS)


def _parse_date(text: str, interval: str) -> date | None:
    """A YYYY-MM-DD date; None if ``text`` is another form; refused if not a calendar date."""
    match = _DATE_RE.fullmatch(text)
    if match is None:
        return None
    year, month, day = (int(part) for part in match.groups())
    return _calendar_date(year, month, day, text, interval)


def _parse_year_month_start(text: str, interval: str) -> date | None:
    """The 1st of a YYYY-MM month; None if ``text`` is another form."""
    match = _YEAR_MONTH_RE.fullmatch(text)
    if match is None:
        return None
    year, month = (int(part) for part in match.groups())
    start = _calendar_date(year, month, 1, text, interval)
    if year == date.max.year and month == 12:
        # The month's end (exclusive) would be in year 10000, which Python cannot represent.
        raise refuse("interval", interval, f"{text} is out of range; {INTERVAL_FORMS}")
    return start


def _parse_midnight(text: str, interval: str) -> date | None:
    """An ISO date-time with Z or an offset, converted to UTC; it must be exactly UTC midnight."""
    match = _DATE_TIME_RE.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    fraction, zone = match.group(7) or "0", match.group(8)
    day_part = _calendar_date(year, month, day, text, interval)
    try:
        moment = datetime(
            day_part.year,
            day_part.month,
            day_part.day,
            hour,
            minute,
            second,
            tzinfo=parse_utc_offset(zone),
        ).astimezone(UTC)
    except (ValueError, OverflowError) as error:
        allowed = f"{text} is not a valid date-time ({error}); {INTERVAL_FORMS}"
        raise refuse("interval", interval, allowed) from error
    if int(fraction) != 0 or moment.time() != datetime.min.time():
        in_utc = f"{moment:%Y-%m-%dT%H:%M:%S}Z"
        raise refuse("interval", interval, f"{text} is {in_utc} in UTC; {WHOLE_DAYS_NOTE}")
    return moment.date()


def parse_utc_offset(zone: str) -> timezone:
    """``Z``, ``+HH:MM`` or ``-HH:MM`` as a timezone; ValueError if out of range."""
    if zone == "Z":
        return UTC
    sign = 1 if zone[0] == "+" else -1
    hours, minutes = int(zone[1:3]), int(zone[4:6])
    if hours > 23 or minutes > 59:
        raise ValueError(f"the offset {zone} is out of range (-23:59 to +23:59)")
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _calendar_date(year: int, month: int, day: int, text: str, interval: str) -> date:
    try:
        return date(year, month, day)
    except ValueError as error:
        raise refuse(
            "interval", interval, f"{text} is not a calendar date ({error}); {INTERVAL_FORMS}"
        ) from error
