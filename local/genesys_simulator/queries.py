"""Usage query validation and aggregation, for both Usage APIs, in each API's own spelling.

`parse_query` refuses what Genesys refuses with a 400 (`QueryError`, whose message names the
field, the value and what is allowed); `usage_rows` is the ground truth of a valid query: every row
of every page, in the order the pages serve them.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from local.genesys_simulator import wire
from local.genesys_simulator.organization import DailyUsage, Organization


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


def parse_query(api: str, body: object, today: date) -> UsageQuery:
    """Validate a query body as the given API would; raise QueryError naming what is wrong."""
    if api not in wire.APIS:
        raise QueryError(f"Unknown api '{api}'; allowed: {', '.join(wire.APIS)}")
    if not isinstance(body, Mapping):
        raise QueryError("The query body must be a JSON object")
    for field in body:
        if field not in _QUERY_FIELDS:
            raise QueryError(
                f"Unrecognized field '{field}'; allowed fields: {', '.join(_QUERY_FIELDS)}"
            )
    first_day, last_day = _parse_interval(api, body.get("interval"), today)
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


def _parse_interval(api: str, interval: object, today: date) -> tuple[date, date]:
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
    else:
        # End exclusive: the last day is the one holding the last instant before the end.
        if end <= start:
            raise QueryError(f"Invalid interval '{interval}': the end must be after the start")
        first_day, last_day = start.date(), (end - timedelta(microseconds=1)).date()
    earliest = today - timedelta(days=wire.MAX_LOOKBACK_DAYS)
    if first_day < earliest:
        raise QueryError(
            f"Invalid interval '{interval}': the start is more than {wire.MAX_LOOKBACK_DAYS} "
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
_DIMENSION_OF_GROUP = {
    "OauthClientId": "client",
    "OauthClientName": "client",
    "OAuthClientId": "client",
    "OrganizationId": "organization",
    "UserId": "user",
    "TemplateUri": "template",
    "HttpMethod": "method",
    "Platform": "platform",
}
# The attribute of a traffic stream each dimension groups on, in the order rows are sorted in after
# the date. Keys are plain strings so grouping and sorting stay cheap on 100k+ rows.
_DIMENSION_ATTRIBUTES = (
    ("client", "client.id"),
    ("user", "user.id"),
    ("template", "template_uri"),
    ("method", "http_method"),
    ("platform", "platform"),
)

_AGGREGATES_METRIC_KEYS = {
    "Requests": "requestCount",
    "Status200": "status200",
    "Status300": "status300",
    "Status400": "status400",
    "Status429": "status429",
    "Status500": "status500",
}
_LEGACY_METRIC_KEYS = {
    "Requests": "requests",
    "Status200": "status200",
    "Status300": "status300",
    "Status400": "status400",
    "Status429": "status429",
    "Status500": "status500",
}
_METRIC_INDEX = {metric: index for index, metric in enumerate(wire.METRICS)}


def usage_rows(organization: Organization, query: UsageQuery, today: date) -> list[dict[str, Any]]:
    """Every row the query returns across all pages, in page order, in the API's row shape."""
    grouped = {_DIMENSION_OF_GROUP[name] for name in query.group_by}
    dimensions = tuple(name for name, _ in _DIMENSION_ATTRIBUTES if name in grouped)
    periods: dict[date, dict[tuple[str, ...], list[int]]] = {}
    # Genesys computes a day once it is over: the current UTC day and later have nothing.
    last_day = min(query.last_day, today - timedelta(days=1))
    day = query.first_day
    while day <= last_day:
        totals = periods.setdefault(_period_start(day, query), {})
        for dimension_values, counts in _day_totals(organization, day, dimensions).items():
            period_counts = totals.get(dimension_values)
            if period_counts is None:
                totals[dimension_values] = list(counts)
            else:
                for index, count in enumerate(counts):
                    period_counts[index] += count
        day += timedelta(days=1)
    render = _RowRenderer(organization, query, dimensions)
    rows: list[dict[str, Any]] = []
    # Days are walked in order, so periods are too; sorting within a period is enough.
    for period, totals in periods.items():
        rows.extend(render(period, values, totals[values]) for values in sorted(totals))
    return rows


def _day_totals(
    organization: Organization, day: date, dimensions: tuple[str, ...]
) -> dict[tuple[str, ...], tuple[int, ...]]:
    """One day's counts grouped by `dimensions`, cached: the API and the ground truth ask alike."""
    cache_key = (day, dimensions)
    cached = organization.grouped_cache.get(cache_key)
    if cached is not None:
        return cached
    attributes = dict(_DIMENSION_ATTRIBUTES)
    getters = [operator.attrgetter(attributes[name]) for name in dimensions]
    totals: dict[tuple[str, ...], list[int]] = {}
    for usage in organization.usage_on(day):
        stream = usage.stream
        key = tuple(get(stream) for get in getters)
        counts = totals.get(key)
        if counts is None:
            totals[key] = _counts(usage)
        else:
            counts[0] += usage.status200
            counts[1] += usage.status300
            counts[2] += usage.status400
            counts[3] += usage.status429
            counts[4] += usage.status500
    frozen = {key: tuple(counts) for key, counts in totals.items()}
    organization.grouped_cache.put(cache_key, frozen)
    return frozen


def _counts(usage: DailyUsage) -> list[int]:
    return [usage.status200, usage.status300, usage.status400, usage.status429, usage.status500]


def _period_start(day: date, query: UsageQuery) -> date:
    if query.granularity == "Day":
        return day
    if query.granularity == "Week":
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    if query.granularity == "Month":
        return day.replace(day=1)
    return query.first_day  # no granularity: the whole interval is one period


class _RowRenderer:
    """Turns (period, dimension values, counts) into one row of the query's API.

    Positions are worked out once per query because a 90-day query renders 100k+ rows.
    """

    def __init__(
        self, organization: Organization, query: UsageQuery, dimensions: tuple[str, ...]
    ) -> None:
        self._organization = organization
        self._legacy = query.api == wire.API_LEGACY
        self._position = {name: index for index, name in enumerate(dimensions)}
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

    def __call__(
        self, period: date, values: tuple[str, ...], counts: Sequence[int]
    ) -> dict[str, Any]:
        status200, status300, status400, status429, status500 = counts
        metric_values = (
            status200 + status300 + status400 + status500,
            status200,
            status300,
            status400,
            status429,
            status500,
        )
        if self._legacy:
            return self._legacy_row(period, values, metric_values)
        return self._aggregates_row(period, values, metric_values)

    def _aggregates_row(
        self, period: date, values: tuple[str, ...], metric_values: tuple[int, ...]
    ) -> dict[str, Any]:
        position = self._position
        row: dict[str, Any] = {"date": self._date(period, "")}
        if "platform" in position:
            row["platform"] = values[position["platform"]]
        if "method" in position:
            row["httpMethod"] = values[position["method"]]
        if "template" in position:
            row["templateUri"] = values[position["template"]]
        for key, index in self._metrics:
            row[key] = metric_values[index]
        if "client" in position:
            client = self._organization.client_by_id[values[position["client"]]]
            row["oauthClient"] = {"id": client.id, "name": client.name}
        if "user" in position:
            user = self._organization.user_by_id[values[position["user"]]]
            row["user"] = {"id": user.id, "name": user.name}
        return row

    def _legacy_row(
        self, period: date, values: tuple[str, ...], metric_values: tuple[int, ...]
    ) -> dict[str, Any]:
        position = self._position
        client = (
            self._organization.client_by_id[values[position["client"]]]
            if "client" in position
            else None
        )
        row: dict[str, Any] = {
            "clientId": client.id if client else "",
            "clientName": client.name if client else "",
            "organizationId": self._organization_id,
            "userId": values[position["user"]] if "user" in position else "",
            "templateUri": values[position["template"]] if "template" in position else "",
            "httpMethod": values[position["method"]] if "method" in position else "",
        }
        for key, index in self._metrics:
            row[key] = metric_values[index]
        row["date"] = self._date(period, "T00:00:00Z")
        return row

    def _date(self, period: date, suffix: str) -> str:
        text = self._date_text.get(period)
        if text is None:
            text = self._date_text[period] = period.isoformat() + suffix
        return text
