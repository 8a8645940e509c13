"""Validate and normalize the execution input into the query a run executes (docs/contracts.md §2).

This is the first thing ``submit_query`` does, so every refusal is an ``InvalidInput`` naming the
field, the offending value and what is allowed: the operator reads it in the Step Functions console
and must be able to fix the input from the message alone. Nothing else escapes for bad input.

The module never reads the clock or the environment: ``today`` (the UTC date) is a parameter, so a
retried execution can pass the same date and normalize to the same query.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from usage_pipeline import constants as c
from usage_pipeline.constants import grouping_token
from usage_pipeline.errors import InvalidInput

DEFAULT_INTERVAL_DESCRIPTION = "no interval given: the previous UTC day"
# The longest accepted form (two date-times with nanosecond fractions and offsets) is 71 characters.
MAX_INTERVAL_LENGTH = 100
# Error messages end up in a Step Functions cause (at most 32 KiB); huge values are shown clipped.
MAX_SHOWN_LENGTH = 300

ALLOWED_FIELDS = ("api", "granularity", "groupBy", "interval", "metrics")
UNSUPPORTED_FIELDS_NOTE = (
    "filters and sortBy are deliberately not supported: a partition must hold the whole "
    "organization's usage"
)
INTERVAL_FORMS = (
    "an interval as YYYY-MM-DD (that day), YYYY-MM (that month), or START/END (end exclusive) "
    "where both are YYYY-MM-DD dates, both YYYY-MM months, or both ISO date-times at UTC midnight "
    "with Z or an offset (e.g. 2026-10-01T00:00:00Z/2026-11-01T00:00:00+00:00)"
)
WHOLE_DAYS_NOTE = "Genesys counts whole UTC days, so date-times must fall on UTC midnight"
_JSON_TYPE_NAMES: tuple[tuple[type | tuple[type, ...], str], ...] = (
    (type(None), "null"),
    (bool, "boolean"),
    ((int, float), "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)

# [0-9] rather than \d: \d also matches non-ASCII digits such as '٢'.
_DATE = r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
_DATE_RE = re.compile(_DATE)
_YEAR_MONTH_RE = re.compile(r"([0-9]{4})-([0-9]{2})")
_DATE_TIME_RE = re.compile(
    _DATE + r"T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?(Z|[+-][0-9]{2}:[0-9]{2})"
)


# --- The normalized query ----------------------------------------------------------------------


@dataclass(frozen=True)
class NormalizedQuery:
    """A validated query: the window [start, end) in whole periods, in the chosen API's spelling."""

    api: str
    start: date
    end: date
    granularity: str
    group_by: tuple[str, ...]
    metrics: tuple[str, ...]
    aligned_from: str | None
    # A dict cannot be hashed; leaving it out of the hash keeps the frozen dataclass hashable.
    requested: Mapping[str, Any] = field(default_factory=dict, hash=False)

    @property
    def interval(self) -> str:
        return format_interval(self.start, self.end)

    @property
    def grouping(self) -> str:
        return grouping_token(self.group_by)

    def periods(self) -> list[date]:
        return period_starts(self.start, self.end, self.granularity)

    def to_dict(self) -> dict[str, Any]:
        """The ``query`` member of the state document, keys in the documented order."""
        return {
            "api": self.api,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "interval": self.interval,
            "granularity": self.granularity,
            "groupBy": list(self.group_by),
            "metrics": list(self.metrics),
            "grouping": self.grouping,
            "periods": len(self.periods()),
            "alignedFrom": self.aligned_from,
            "requested": copy.deepcopy(dict(self.requested)),
        }

    @classmethod
    def from_dict(cls, query: Mapping[str, Any]) -> NormalizedQuery:
        """Read back ``to_dict()`` from the state document (trusted: this module wrote it)."""
        return cls(
            api=query["api"],
            start=date.fromisoformat(query["start"]),
            end=date.fromisoformat(query["end"]),
            granularity=query["granularity"],
            group_by=tuple(query["groupBy"]),
            metrics=tuple(query["metrics"]),
            aligned_from=query.get("alignedFrom"),
            requested=query.get("requested") or {},
        )


def normalize_query(raw_input: object, *, today: date) -> dict[str, Any]:
    """Validate the execution input and return the normalized query dict (contracts §2)."""
    return parse_query(raw_input, today=today).to_dict()


def parse_query(raw_input: object, *, today: date) -> NormalizedQuery:
    """Validate the execution input (``today``: the UTC date); bad input raises InvalidInput."""
    # A datetime is a date subclass but compares badly with dates: a caller bug, not bad input.
    if isinstance(today, datetime) or not isinstance(today, date):
        raise TypeError(f"today must be a datetime.date (the UTC date), got {type(today).__name__}")
    fields = _input_object(raw_input)
    _refuse_unknown_fields(fields)
    api = _api(fields)
    granularity = _granularity(fields)
    group_by = _group_by(fields, api)
    metrics = _metrics(fields)
    start, end, shown = _interval(fields, today)
    _check_window(api, start, end, today, shown)
    aligned_start, aligned_end = align_to_periods(start, end, granularity)
    aligned_from = None
    if (aligned_start, aligned_end) != (start, end):
        aligned_from = format_interval(start, end)
        _check_aligned_window(
            api, granularity, aligned_start, aligned_end, today=today, shown=shown
        )
    return NormalizedQuery(
        api=api,
        start=aligned_start,
        end=aligned_end,
        granularity=granularity,
        group_by=group_by,
        metrics=metrics,
        aligned_from=aligned_from,
        requested=copy.deepcopy(fields),
    )


# --- Helpers the other handlers use ------------------------------------------------------------


def periods(query: NormalizedQuery | Mapping[str, Any]) -> list[date]:
    """The first day of each Day/Week/Month period in the query's [start, end)."""
    return _as_query(query).periods()


def partition_dates(query: NormalizedQuery | Mapping[str, Any]) -> list[str]:
    """The ``date=`` partition values (YYYY-MM-DD) the run covers, one per period, oldest first."""
    return [day.isoformat() for day in periods(query)]


def parse_interval(value: object) -> tuple[date, date]:
    """The [start, end) days of an ``interval`` in any form the execution input takes.

    Only the form is checked (InvalidInput otherwise), not the window limits: the report reads the
    landed table, which may hold more history than the API answers.
    """
    start, end, _shown_value = _interval({"interval": value}, date.min)
    return start, end


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
        return _first_of_next_month(day)
    return day + timedelta(days=1)


def align_to_periods(start: date, end: date, granularity: str) -> tuple[date, date]:
    """Widen [start, end) outward to whole periods, so a Week/Month row means the whole period."""
    aligned_start = period_start(start, granularity)
    last_period = period_start(end - timedelta(days=1), granularity)
    return aligned_start, next_period_start(last_period, granularity)


def period_starts(start: date, end: date, granularity: str) -> list[date]:
    """The first day of each period from ``start`` (a period start) up to ``end`` (exclusive)."""
    starts = []
    day = start
    while day < end:
        starts.append(day)
        day = next_period_start(day, granularity)
    return starts


def _as_query(query: NormalizedQuery | Mapping[str, Any]) -> NormalizedQuery:
    return query if isinstance(query, NormalizedQuery) else NormalizedQuery.from_dict(query)


def _first_of_next_month(day: date) -> date:
    if day.month == 12:
        return date(day.year + 1, 1, 1)
    return date(day.year, day.month + 1, 1)


# --- Refusals ----------------------------------------------------------------------------------


def _refuse(field: str, value: object, allowed: str) -> InvalidInput:
    """Build the error; values too long for a Step Functions cause are shown clipped."""
    return InvalidInput(_clip(field), _shown(value), allowed)


def _shown(value: object) -> object:
    if isinstance(value, str):
        if len(value) <= MAX_SHOWN_LENGTH:
            return value
        return f"{value[:MAX_SHOWN_LENGTH]}... ({len(value)} characters)"
    text = repr(value)
    if len(text) <= MAX_SHOWN_LENGTH:
        return value
    return f"{text[:MAX_SHOWN_LENGTH]}... ({len(text)} characters)"


def _clip(text: str) -> str:
    return text if len(text) <= MAX_SHOWN_LENGTH else f"{text[:MAX_SHOWN_LENGTH]}..."


def json_type_name(value: object) -> str:
    """The JSON name of a value's type, as the operator wrote it in the execution input."""
    # bool is checked before int: True is an int in Python but a boolean in JSON.
    for python_type, json_name in _JSON_TYPE_NAMES:
        if isinstance(value, python_type):
            return json_name
    return type(value).__name__


def _wrong_type(field: str, value: object, expected: str, allowed: str) -> InvalidInput:
    return _refuse(field, value, f"expected {expected}, got {json_type_name(value)}; {allowed}")


# --- Top level ---------------------------------------------------------------------------------


def _input_object(raw_input: object) -> dict[str, Any]:
    if raw_input is None:
        return {}
    if not isinstance(raw_input, dict):
        raise _wrong_type(
            "input",
            raw_input,
            "a JSON object",
            f"the execution input is an object with the optional fields {', '.join(ALLOWED_FIELDS)}"
            " (or empty for all defaults)",
        )
    return raw_input


def _refuse_unknown_fields(fields: Mapping[Any, Any]) -> None:
    for key in fields:
        if key in ALLOWED_FIELDS:
            continue
        field = key if isinstance(key, str) else repr(key)
        hint = _case_hint(key, ALLOWED_FIELDS)
        raise _refuse(
            field,
            fields[key],
            f"unknown field{hint}; allowed fields: {', '.join(ALLOWED_FIELDS)}; "
            f"{UNSUPPORTED_FIELDS_NOTE}",
        )


def _case_hint(key: object, allowed: tuple[str, ...]) -> str:
    if isinstance(key, str):
        for name in allowed:
            if key.lower() == name.lower():
                return f" (did you mean {name!r}? field names are case-sensitive)"
    return ""


# --- api, granularity --------------------------------------------------------------------------


def _choice(fields: Mapping[str, Any], field: str, choices: tuple[str, ...], default: str) -> str:
    """A string field matched case-insensitively against ``choices``, returned in their spelling."""
    allowed = f"one of {', '.join(choices)} (default {default})"
    if field not in fields:
        return default
    value = fields[field]
    if not isinstance(value, str):
        raise _wrong_type(field, value, "a string", allowed)
    match = _match_name(value, choices)
    if match is None:
        raise _refuse(field, value, allowed)
    return match


def _match_name(value: str, names: tuple[str, ...]) -> str | None:
    # ASCII only: some non-ASCII letters lower-case to ASCII ones (the Kelvin sign to 'k').
    if not value.isascii():
        return None
    lowered = value.lower()
    return next((name for name in names if name.lower() == lowered), None)


def _api(fields: Mapping[str, Any]) -> str:
    return _choice(fields, "api", c.APIS, c.DEFAULT_API)


def _granularity(fields: Mapping[str, Any]) -> str:
    return _choice(fields, "granularity", c.GRANULARITIES, c.DEFAULT_GRANULARITY)


# --- groupBy, metrics --------------------------------------------------------------------------


def _group_by(fields: Mapping[str, Any], api: str) -> tuple[str, ...]:
    dimensions = c.GROUP_BY_BY_API[api]
    allowed = (
        f"a list of at most {c.MAX_ARRAY_ENTRIES} distinct dimensions of the {api} API: "
        f"{', '.join(dimensions)} (case-insensitive; [] for the organization's total)"
    )
    if "groupBy" not in fields:
        # The default is in the legacy spelling; every default dimension exists in both APIs.
        requested = list(c.DEFAULT_GROUP_BY)
    else:
        requested = _string_list(fields["groupBy"], "groupBy", allowed)

    def refuse_missing(entry_field: str, entry: str) -> InvalidInput:
        elsewhere = [other for other in c.APIS if other != api and _in_api(entry, other)]
        if elsewhere:
            reason = f"{entry} is a dimension of the {elsewhere[0]} API, not of the {api} API; "
            return _refuse(entry_field, entry, reason + allowed)
        return _refuse(entry_field, entry, allowed)

    return _canonical_names(requested, "groupBy", dimensions, allowed, refuse_missing)


def _in_api(name: str, api: str) -> bool:
    return _match_name(name, c.GROUP_BY_BY_API[api]) is not None


def _metrics(fields: Mapping[str, Any]) -> tuple[str, ...]:
    allowed = (
        f"a non-empty list of at most {c.MAX_ARRAY_ENTRIES} distinct metrics: "
        f"{', '.join(c.METRICS)} (case-insensitive; omit for all)"
    )
    if "metrics" not in fields:
        return c.METRICS
    requested = _string_list(fields["metrics"], "metrics", allowed)
    if not requested:
        # An empty list would ask for rows without counts; omitting the field asks for all of them.
        raise _refuse("metrics", requested, allowed)
    return _canonical_names(
        requested,
        "metrics",
        c.METRICS,
        allowed,
        lambda field, entry: _refuse(field, entry, allowed),
    )


def _string_list(value: object, field: str, allowed: str) -> list[str]:
    if not isinstance(value, list):
        raise _wrong_type(field, value, "an array of strings", allowed)
    if len(value) > c.MAX_ARRAY_ENTRIES:
        raise _refuse(field, value, f"{len(value)} entries is too many; {allowed}")
    for index, entry in enumerate(value):
        if not isinstance(entry, str):
            raise _wrong_type(f"{field}[{index}]", entry, "a string", allowed)
    return value


def _canonical_names(
    requested: list[str],
    field: str,
    names: tuple[str, ...],
    allowed: str,
    refuse_unknown: Callable[[str, str], InvalidInput],
) -> tuple[str, ...]:
    """Match each entry case-insensitively, refuse unknowns and duplicates, sort canonically."""
    seen: dict[str, int] = {}
    for index, entry in enumerate(requested):
        entry_field = f"{field}[{index}]"
        name = _match_name(entry, names)
        if name is None:
            raise refuse_unknown(entry_field, entry)
        if name in seen:
            raise _refuse(
                entry_field, entry, f"duplicate of {field}[{seen[name]}] ({name}); {allowed}"
            )
        seen[name] = index
    # `names` is in canonical order, so filtering it sorts the request canonically.
    return tuple(name for name in names if name in seen)


# --- interval ----------------------------------------------------------------------------------


def _interval(fields: Mapping[str, Any], today: date) -> tuple[date, date, str]:
    """The requested [start, end) and the value to show in refusals (the interval as given)."""
    if "interval" not in fields:
        yesterday = today - timedelta(days=1)
        shown = f"{format_interval(yesterday, today)} ({DEFAULT_INTERVAL_DESCRIPTION})"
        return yesterday, today, shown
    value = fields["interval"]
    if not isinstance(value, str):
        raise _wrong_type("interval", value, "a string", INTERVAL_FORMS)
    if len(value) > MAX_INTERVAL_LENGTH:
        raise _refuse(
            "interval", value, f"at most {MAX_INTERVAL_LENGTH} characters; {INTERVAL_FORMS}"
        )
    start, end = _parse_interval(value)
    if end <= start:
        raise _refuse("interval", value, f"the end must be after the start; {INTERVAL_FORMS}")
    return start, end, value


def _parse_interval(value: str) -> tuple[date, date]:
    if value.count("/") == 0:
        return _parse_single(value)
    if value.count("/") > 1:
        raise _refuse("interval", value, INTERVAL_FORMS)
    first, second = value.split("/")
    for parse in (_parse_date, _parse_year_month_start, _parse_midnight):
        start = parse(first, value)
        if start is not None:
            end = parse(second, value)
            if end is None:
                # Both ends must have the same form: mixing them would be read in different units.
                allowed = f"both ends must have the same form; {INTERVAL_FORMS}"
                raise _refuse("interval", value, allowed)
            return start, end
    raise _refuse("interval", value, INTERVAL_FORMS)


def _parse_single(value: str) -> tuple[date, date]:
    day = _parse_date(value, value)
    if day is not None:
        if day == date.max:
            raise _refuse("interval", value, f"{value} is out of range; {INTERVAL_FORMS}")
        return day, day + timedelta(days=1)
    month = _parse_year_month_start(value, value)
    if month is not None:
        return month, _first_of_next_month(month)
    raise _refuse("interval", value, INTERVAL_FORMS)


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
        raise _refuse("interval", interval, f"{text} is out of range; {INTERVAL_FORMS}")
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
        raise _refuse("interval", interval, allowed) from error
    if int(fraction) != 0 or moment.time() != datetime.min.time():
        in_utc = f"{moment:%Y-%m-%dT%H:%M:%S}Z"
        raise _refuse("interval", interval, f"{text} is {in_utc} in UTC; {WHOLE_DAYS_NOTE}")
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
        raise _refuse(
            "interval", interval, f"{text} is not a calendar date ({error}); {INTERVAL_FORMS}"
        ) from error


# --- Window limits -----------------------------------------------------------------------------


def _check_window(api: str, start: date, end: date, today: date, shown: str) -> None:
    """Refuse a requested [start, end) that Genesys cannot answer completely."""
    # end > start, so this also refuses a start on or after today.
    if end > today:
        raise _refuse(
            "interval",
            shown,
            f"the end must be on or before {today.isoformat()} (today, UTC; end exclusive): "
            f"Genesys has no data for the current UTC day, so the last day that can be asked for "
            f"is {(today - timedelta(days=1)).isoformat()}",
        )
    oldest = today - timedelta(days=c.MAX_LOOKBACK_DAYS)
    if start < oldest:
        raise _refuse(
            "interval",
            shown,
            f"the start must be on or after {oldest.isoformat()}: Genesys keeps usage for "
            f"{c.MAX_LOOKBACK_DAYS} days",
        )
    days = (end - start).days
    if api == c.API_AGGREGATES and days > c.MAX_AGGREGATES_DAYS:
        raise _refuse(
            "interval",
            shown,
            f"{days} days is too long: the aggregates API answers at most {c.MAX_AGGREGATES_DAYS} "
            "days per query; split longer backfills into several runs (e.g. one per month)",
        )


def _check_aligned_window(
    api: str, granularity: str, start: date, end: date, *, today: date, shown: str
) -> None:
    """Re-check the limits after widening to whole periods; say why the window grew."""
    unit = granularity.lower()
    aligned = f"aligned to whole {unit}s the interval is {start}/{end} (end exclusive)"
    if end > today:
        last_period = period_start(end - timedelta(days=1), granularity)
        raise _refuse(
            "interval",
            shown,
            f"{aligned}, but the {unit} starting {last_period.isoformat()} is not complete until "
            f"{end.isoformat()} (Genesys has no data for the current UTC day); ask for complete "
            f"{unit}s only",
        )
    try:
        _check_window(api, start, end, today, shown)
    except InvalidInput as error:
        # Same field and value; the message says the window grew before it broke the limit.
        raise InvalidInput(error.field, error.value, f"{aligned}; {error.allowed}") from None
