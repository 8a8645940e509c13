"""Validate and normalize the execution input into the query a run executes (docs/contracts.md §2).

This is the first thing ``submit_query`` does, so every refusal is an ``InvalidInput`` naming the
field, the offending value and what is allowed: the operator reads it in the Step Functions console
and must be able to fix the input from the message alone. Nothing else escapes for bad input.

The module never reads the clock or the environment: ``today`` (the UTC date) is a parameter, so a
retried execution can pass the same date and normalize to the same query.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from usage_pipeline import constants as c
from usage_pipeline.constants import grouping_token
from usage_pipeline.errors import InvalidInput
from usage_pipeline.intervals import interval_days, refuse_unless_complete
from usage_pipeline.periods import align_to_periods, format_interval, period_start, period_starts
from usage_pipeline.refusals import refuse, wrong_type

DEFAULT_INTERVAL_DESCRIPTION = "no interval given: the previous UTC day"
ALLOWED_FIELDS = ("api", "granularity", "groupBy", "interval", "lastDays", "metrics")
UNSUPPORTED_FIELDS_NOTE = (
    "filters and sortBy are deliberately not supported: a partition must hold the whole "
    "organization's usage"
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
        """The first day of each Day/Week/Month period of the window (its partitions' dates)."""
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
    start, end, shown = _interval(fields, api, today)
    aligned_start, aligned_end = align_to_periods(start, end, granularity)
    aligned_from = None
    try:
        _check_window(api, start, end, today, shown)
        if (aligned_start, aligned_end) != (start, end):
            aligned_from = format_interval(start, end)
            _check_aligned_window(
                api, granularity, aligned_start, aligned_end, today=today, shown=shown
            )
    except InvalidInput as error:
        if "lastDays" not in fields:
            raise
        # The window came from lastDays: name the field the operator wrote.
        raise InvalidInput("lastDays", fields["lastDays"], f"{shown}: {error.allowed}") from None
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


# --- Top level ---------------------------------------------------------------------------------


def _input_object(raw_input: object) -> dict[str, Any]:
    if raw_input is None:
        return {}
    if not isinstance(raw_input, dict):
        raise wrong_type(
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
        raise refuse(
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
        raise wrong_type(field, value, "a string", allowed)
    match = _match_name(value, choices)
    if match is None:
        raise refuse(field, value, allowed)
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
            return refuse(entry_field, entry, reason + allowed)
        return refuse(entry_field, entry, allowed)

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
        raise refuse("metrics", requested, allowed)
    return _canonical_names(
        requested,
        "metrics",
        c.METRICS,
        allowed,
        lambda field, entry: refuse(field, entry, allowed),
    )


def _string_list(value: object, field: str, allowed: str) -> list[str]:
    if not isinstance(value, list):
        raise wrong_type(field, value, "an array of strings", allowed)
    if len(value) > c.MAX_ARRAY_ENTRIES:
        raise refuse(field, value, f"{len(value)} entries is too many; {allowed}")
    for index, entry in enumerate(value):
        if not isinstance(entry, str):
            raise wrong_type(f"{field}[{index}]", entry, "a string", allowed)
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
            raise refuse(
                entry_field, entry, f"duplicate of {field}[{seen[name]}] ({name}); {allowed}"
            )
        seen[name] = index
    # `names` is in canonical order, so filtering it sorts the request canonically.
    return tuple(name for name in names if name in seen)


# --- interval ----------------------------------------------------------------------------------


def _last_days(fields: Mapping[str, Any], api: str, today: date) -> tuple[date, date, str]:
    """``lastDays: N``: the last N complete UTC days, [today - N, today)."""
    value = fields["lastDays"]
    longest = c.MAX_AGGREGATES_DAYS if api == c.API_AGGREGATES else c.USAGE_RETENTION_DAYS
    allowed = (
        f"a whole number of days from 1 to {longest} with the {api} API: the last N complete "
        "UTC days, ending yesterday (give either interval or lastDays, not both)"
    )
    if "interval" in fields:
        raise refuse("lastDays", value, allowed)
    if isinstance(value, bool) or not isinstance(value, int):
        raise wrong_type("lastDays", value, "a whole number", allowed)
    if not 1 <= value <= longest:
        raise refuse("lastDays", value, allowed)
    start = today - timedelta(days=value)
    return start, today, f"lastDays {value} = {format_interval(start, today)}"


def _interval(fields: Mapping[str, Any], api: str, today: date) -> tuple[date, date, str]:
    """The requested [start, end) and the value to show in refusals (the interval as given)."""
    if "lastDays" in fields:
        return _last_days(fields, api, today)
    if "interval" not in fields:
        yesterday = today - timedelta(days=1)
        shown = f"{format_interval(yesterday, today)} ({DEFAULT_INTERVAL_DESCRIPTION})"
        return yesterday, today, shown
    value = fields["interval"]
    start, end = interval_days(value)
    return start, end, value


# --- Window limits -----------------------------------------------------------------------------


def _check_window(api: str, start: date, end: date, today: date, shown: str) -> None:
    """Refuse a requested [start, end) that Genesys cannot answer completely."""
    # end > start, so this also refuses a start on or after today.
    refuse_unless_complete(end, today=today, shown=shown)
    oldest = today - timedelta(days=c.USAGE_RETENTION_DAYS)
    if start < oldest:
        raise refuse(
            "interval",
            shown,
            f"the start must be on or after {oldest.isoformat()}: Genesys keeps usage for "
            f"{c.USAGE_RETENTION_DAYS} days",
        )
    days = (end - start).days
    if api == c.API_AGGREGATES and days > c.MAX_AGGREGATES_DAYS:
        raise refuse(
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
        raise refuse(
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
