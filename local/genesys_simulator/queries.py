"""Usage query validation and aggregation, for both Usage APIs, in each API's own spelling.

`parse_query` refuses what Genesys refuses with a 400 (`QueryError`, whose message names the
field, the value and what is allowed); `usage_result` is the ground truth of a valid query: every
row of every page, in the order the pages serve them, kept compact and rendered a page at a time
(a 30-day query of the large organization has a million rows).
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from local.genesys_simulator import options, wire
from local.genesys_simulator.organization import (
    CLIENT,
    DIMENSIONS,
    METHOD,
    PLATFORM,
    TEMPLATE,
    USER,
    GroupedCounts,
    OAuthClient,
    Organization,
)


class QueryError(ValueError):
    """A query Genesys would refuse with 400 bad.request; the message says why."""


@dataclass(frozen=True)
class UsageQuery:
    api: str
    first_day: date
    last_day: date  # inclusive, whatever the API's interval convention
    granularity: str | None  # None: one row per group for the whole interval
    group_by: tuple[str, ...]  # as given, in the API's spelling
    metrics: tuple[str, ...]  # canonical order


_QUERY_FIELDS = ("interval", "granularity", "groupBy", "metrics")
_YEAR_MONTH = re.compile(r"\d{4}-\d{2}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_query(
    api: str, body: object, today: date, legacy_end: str = options.LEGACY_ENDS[0]
) -> UsageQuery:
    """Validate a query body as the given API would; raise QueryError naming what is wrong.

    `legacy_end` is the reading of the legacy interval's end (`exclusive` or `inclusive`).
    """
    if api not in wire.APIS:
        raise QueryError(f"Unknown api '{api}'; allowed: {', '.join(wire.APIS)}")
    if not isinstance(body, Mapping):
        raise QueryError("The query body must be a JSON object")
    for field in body:
        if field not in _QUERY_FIELDS:
            raise QueryError(
                f"Unrecognized field '{field}'; allowed fields: {', '.join(_QUERY_FIELDS)}"
            )
    first_day, last_day = _parse_interval(api, body.get("interval"), today, legacy_end)
    granularity = body.get("granularity")
    if granularity is not None and granularity not in wire.GRANULARITIES:
        raise QueryError(
            f"Invalid granularity {granularity!r}; allowed: {', '.join(wire.GRANULARITIES)}"
        )
    group_by = _names(body.get("groupBy"), "groupBy", wire.GROUP_BY_BY_API[api])
    metrics = _names(body.get("metrics"), "metrics", wire.METRICS)
    return UsageQuery(
        api=api,
        first_day=first_day,
        last_day=last_day,
        granularity=granularity,
        group_by=group_by,
        metrics=tuple(m for m in wire.METRICS if m in metrics) if metrics else wire.METRICS,
    )


def _parse_interval(api: str, interval: object, today: date, legacy_end: str) -> tuple[date, date]:
    """The first and last UTC day the interval covers: every day that overlaps it."""
    if not isinstance(interval, str) or interval.count("/") != 1:
        raise QueryError(
            f"Invalid interval {interval!r}; expected '<start>/<end>' in ISO-8601, "
            "e.g. 2026-11-20T00:00:00Z/2026-11-21T23:59:59Z"
        )
    start_text, end_text = interval.split("/")
    # The legacy API takes the blueprint's year-month form (2021-01/2021-02); aggregates does not.
    start = _parse_instant(start_text, interval, allow_year_month=api == wire.API_LEGACY)
    end = _parse_instant(end_text, interval, allow_year_month=api == wire.API_LEGACY)
    if api == wire.API_AGGREGATES:
        # "Start and end are inclusive": the end's day is part of the interval.
        if end < start:
            raise QueryError(f"Invalid interval '{interval}': the end is before the start")
        first_day, last_day = start.date(), end.date()
        days = (last_day - first_day).days + 1
        if days > wire.MAX_AGGREGATES_DAYS:
            raise QueryError(
                f"Invalid interval '{interval}': it spans {days} days; "
                f"the maximum is {wire.MAX_AGGREGATES_DAYS} days"
            )
    elif legacy_end == "inclusive":
        # The end instant is part of the interval: a day starting exactly at the end is in it
        # (".../2026-11-22T00:00:00Z" reaches the 22nd); a "T23:59:59Z" end means its own day.
        if end < start:
            raise QueryError(f"Invalid interval '{interval}': the end is before the start")
        first_day, last_day = start.date(), end.date()
    else:
        # End exclusive: the last day is the one holding the last instant before the end
        # (".../2026-11-22T00:00:00Z" stops at the 21st; "T23:59:59Z" still means its own day).
        if end <= start:
            raise QueryError(f"Invalid interval '{interval}': the end must be after the start")
        first_day, last_day = start.date(), (end - timedelta(microseconds=1)).date()
    earliest = today - timedelta(days=wire.USAGE_RETENTION_DAYS)
    if first_day < earliest:
        raise QueryError(
            f"Invalid interval '{interval}': the start is more than {wire.USAGE_RETENTION_DAYS} "
            f"days ago; the earliest allowed start is {earliest.isoformat()}"
        )
    return first_day, last_day


def _parse_instant(text: str, interval: str, *, allow_year_month: bool) -> datetime:
    try:
        if allow_year_month and _YEAR_MONTH.fullmatch(text):
            year, month = (int(part) for part in text.split("-"))
            return datetime(year, month, 1, tzinfo=UTC)
        if _DATE.fullmatch(text):
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), tzinfo=UTC)
        instant = datetime.fromisoformat(text)
    except ValueError as error:
        raise QueryError(f"Invalid interval '{interval}': '{text}' is not ISO-8601") from error
    if instant.tzinfo is None:
        raise QueryError(f"Invalid interval '{interval}': '{text}' has no time zone (add Z)")
    return instant.astimezone(UTC)


def _names(value: object, field: str, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise QueryError(f"Invalid {field} {value!r}; expected a list of names")
    for name in value:
        if name not in allowed:
            raise QueryError(f"Invalid {field} value '{name}'; allowed: {', '.join(allowed)}")
    if len(set(value)) != len(value):
        raise QueryError(f"Invalid {field} {value!r}: a name is repeated")
    return tuple(value)


# --- aggregation ------------------------------------------------------------------------------

# What each groupBy name groups on. OauthClientId and OauthClientName are the same grouping
# (client names are unique in the simulated organization); OrganizationId is constant.
_DIMENSION_OF_GROUP: Final = {
    "OauthClientId": CLIENT,
    "OauthClientName": CLIENT,
    "OAuthClientId": CLIENT,
    "OrganizationId": None,
    "UserId": USER,
    "TemplateUri": TEMPLATE,
    "HttpMethod": METHOD,
    "Platform": PLATFORM,
}

_AGGREGATES_METRIC_KEYS: Final = {
    "Requests": "requestCount",
    "Status200": "status200",
    "Status300": "status300",
    "Status400": "status400",
    "Status429": "status429",
    "Status500": "status500",
}
_LEGACY_METRIC_KEYS: Final = {
    "Requests": "requests",
    "Status200": "status200",
    "Status300": "status300",
    "Status400": "status400",
    "Status429": "status429",
    "Status500": "status500",
}
_METRIC_INDEX: Final = {metric: index for index, metric in enumerate(wire.METRICS)}
_WEEKDAY_OF_WEEK_START: Final = {"monday": 0, "sunday": 6}
_TREND_SCALE: Final = 100_000  # 100 percent in thousandths


@dataclass(frozen=True)
class Readings:
    """What a query's rows depend on besides the query itself; fixed when a job is submitted."""

    today: date
    week_start: str = options.WEEK_STARTS[0]
    late_days: int = 0  # a day's numbers grow until this many days after it (0: final at once)
    growth: float = 0.0  # percent of the 1st's traffic each later day of a month adds

    def share(self, day: date) -> tuple[int, int]:
        """The share of its final counts `day` answers now, as (numerator, denominator).

        With late_days N, a day of age a (1 = yesterday) answers a/(N+1) until a > N.
        """
        age = (self.today - day).days
        if age > self.late_days:
            return (1, 1)
        return (age, self.late_days + 1)

    def trend(self, day: date) -> tuple[int, int]:
        """The factor `growth` puts on `day`'s counts, 1 + growth/100 x (day of month - 1), as
        (numerator, denominator) in lowest terms ((1, 1) without growth)."""
        # Thousandths of a percent: a growth given with up to three decimals is exact.
        numerator = _TREND_SCALE + round(self.growth * 1000) * (day.day - 1)
        divisor = math.gcd(numerator, _TREND_SCALE)
        return (numerator // divisor, _TREND_SCALE // divisor)

    def period_start(self, day: date, query: UsageQuery) -> date:
        if query.granularity == "Day":
            return day
        if query.granularity == "Week":
            first_weekday = _WEEKDAY_OF_WEEK_START[self.week_start]
            return day - timedelta(days=(day.weekday() - first_weekday) % 7)
        if query.granularity == "Month":
            return day.replace(day=1)
        return query.first_day  # no granularity: the whole interval is one period


class UsageResult:
    """Every row of a query in page order, kept as counts per period and rendered on demand."""

    def __init__(self, periods: list[tuple[date, GroupedCounts]], render: _RowRenderer) -> None:
        self._periods = periods
        self._render = render
        # Row offset at which each period starts, to find a page's first period by bisection.
        self._starts: list[int] = []
        total = 0
        for _, grouped in periods:
            self._starts.append(total)
            total += len(grouped)
        self._total = total

    def __len__(self) -> int:
        return self._total

    def rows_per_period(self) -> list[tuple[date, int]]:
        return [(period, len(grouped)) for period, grouped in self._periods]

    def rows(self, start: int = 0, stop: int | None = None) -> list[dict[str, Any]]:
        """Rows start..stop-1 (all by default), in the API's own shape."""
        stop = self._total if stop is None else min(stop, self._total)
        rows: list[dict[str, Any]] = []
        position = max(0, bisect.bisect_right(self._starts, start) - 1)
        while start < stop and position < len(self._periods):
            period, grouped = self._periods[position]
            offset = self._starts[position]
            for index in range(start - offset, min(stop - offset, len(grouped))):
                key, counts = grouped.row(index)
                rows.append(self._render(period, key, counts))
            start = offset + len(grouped)
            position += 1
        return rows


def usage_result(organization: Organization, query: UsageQuery, readings: Readings) -> UsageResult:
    """Every row the query returns across all pages, in page order."""
    grouped = {_DIMENSION_OF_GROUP[name] for name in query.group_by}
    dimensions = tuple(dimension for dimension in DIMENSIONS if dimension in grouped)
    parts: dict[date, list[GroupedCounts]] = {}
    # Genesys computes a day once it is over: the current UTC day and later have nothing.
    last_day = min(query.last_day, readings.today - timedelta(days=1))
    day = query.first_day
    while day <= last_day:
        totals = organization.day_totals(day, dimensions, readings.share(day), readings.trend(day))
        parts.setdefault(readings.period_start(day, query), []).append(totals)
        day += timedelta(days=1)
    # Days are walked in order, so periods are too; a period's groups are sorted by their key.
    periods = [(period, GroupedCounts.total(days)) for period, days in parts.items()]
    return UsageResult(periods, _RowRenderer(organization, query, dimensions))


class _RowRenderer:
    """Turns (period, group key, counts) into one row of the query's API.

    Only what Genesys sends: an aggregates `oauthClient` is a DomainEntityRef {id, name,
    selfUri} and `user` a UserReference {id, selfUri} (no name); see ../shared/genesys-api.md.
    """

    def __init__(
        self, organization: Organization, query: UsageQuery, dimensions: tuple[str, ...]
    ) -> None:
        self._organization = organization
        self._codec = organization.codec(dimensions)
        self._legacy = query.api == wire.API_LEGACY
        self._organization_id = organization.id if "OrganizationId" in query.group_by else ""
        if self._legacy:
            # The legacy rows keep the blueprint's key order: status500 before status429.
            order = ("Status200", "Status300", "Status400", "Status500", "Status429", "Requests")
            self._metrics = [
                (_LEGACY_METRIC_KEYS[m], _METRIC_INDEX[m]) for m in order if m in query.metrics
            ]
        else:
            self._metrics = [(_AGGREGATES_METRIC_KEYS[m], _METRIC_INDEX[m]) for m in query.metrics]
        self._date_text: dict[date, str] = {}

    def __call__(self, period: date, key: int, counts: Sequence[int]) -> dict[str, Any]:
        status200, status300, status400, status429, status500 = counts
        metric_values = (
            status200 + status300 + status400 + status500,
            status200,
            status300,
            status400,
            status429,
            status500,
        )
        ranks = self._codec.decode(key)
        tables = self._organization.values
        values = {dimension: tables[dimension][rank] for dimension, rank in ranks.items()}
        client = self._organization.clients[ranks[CLIENT]] if CLIENT in ranks else None
        if self._legacy:
            return self._legacy_row(period, values, client, metric_values)
        return self._aggregates_row(period, values, client, metric_values)

    def _aggregates_row(
        self,
        period: date,
        values: dict[str, str],
        client: OAuthClient | None,
        metric_values: tuple[int, ...],
    ) -> dict[str, Any]:
        row: dict[str, Any] = {"date": self._date(period, "")}
        if PLATFORM in values:
            row["platform"] = values[PLATFORM]
        if METHOD in values:
            row["httpMethod"] = values[METHOD]
        if TEMPLATE in values:
            row["templateUri"] = values[TEMPLATE]
        for name, index in self._metrics:
            row[name] = metric_values[index]
        if client is not None:
            row["oauthClient"] = {
                "id": client.id,
                "name": client.name,
                "selfUri": f"{wire.OAUTH_CLIENTS_PATH}/{client.id}",
            }
        if USER in values:
            row["user"] = {"id": values[USER], "selfUri": f"{wire.USERS_PATH}/{values[USER]}"}
        return row

    def _legacy_row(
        self,
        period: date,
        values: dict[str, str],
        client: OAuthClient | None,
        metric_values: tuple[int, ...],
    ) -> dict[str, Any]:
        row: dict[str, Any] = {
            "clientId": client.id if client else "",
            "clientName": client.name if client else "",
            "organizationId": self._organization_id,
            "userId": values.get(USER, ""),
            "templateUri": values.get(TEMPLATE, ""),
            "httpMethod": values.get(METHOD, ""),
        }
        for name, index in self._metrics:
            row[name] = metric_values[index]
        row["date"] = self._date(period, "T00:00:00Z")
        return row

    def _date(self, period: date, suffix: str) -> str:
        text = self._date_text.get(period)
        if text is None:
            text = self._date_text[period] = period.isoformat() + suffix
        return text
