"""The simulator's synthetic organization and query semantics, without HTTP.

HTTP behaviour, faults and the CLI are in test_simulator.py; the settings in
test_simulator_options.py; the large organization in test_simulator_large.py.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

import pytest

from local.genesys_simulator import wire
from local.genesys_simulator.options import SimulatorSettings
from local.genesys_simulator.organization import CLIENT, METHOD, TEMPLATE, Organization
from local.genesys_simulator.queries import QueryError, parse_query
from local.genesys_simulator.simulator import GenesysSimulator

TODAY = date(2026, 11, 22)  # a Sunday
STATUS_KEYS = ("status200", "status300", "status400", "status500")


@pytest.fixture(scope="module")
def simulator() -> GenesysSimulator:
    return GenesysSimulator(SimulatorSettings(today=TODAY), seed=42)


def simulator_with(**settings: Any) -> GenesysSimulator:
    """A simulator of the same organization, read another way (organizations are shared)."""
    return GenesysSimulator(SimulatorSettings(today=TODAY).updated(settings), seed=42)


def aggregates_interval(first: date, last: date) -> str:
    return f"{first.isoformat()}T00:00:00Z/{last.isoformat()}T23:59:59Z"


def legacy_interval(first: date, end_exclusive: date) -> str:
    return f"{first.isoformat()}T00:00:00Z/{end_exclusive.isoformat()}T00:00:00Z"


def dimension_key(api: str, row: dict[str, Any]) -> tuple[Any, ...]:
    """Everything in a row but the date and the metrics (a hashable key)."""
    skip = {"date", "requestCount", "requests", "status200", "status300", "status400"}
    skip |= {"status429", "status500"}
    return tuple(sorted((k, str(v)) for k, v in row.items() if k not in skip))


def requests_of(api: str, row: dict[str, Any]) -> int:
    return int(row["requestCount" if api == wire.API_AGGREGATES else "requests"])


# --- the organization -----------------------------------------------------------------------------


def test_organization_is_a_pure_function_of_the_seed() -> None:
    # GIVEN two organizations from the same seed and one from another
    first, second, other = Organization(42), Organization(42), Organization(7)

    # WHEN / THEN they agree on everything drawn from the seed, and the other seed differs
    assert first.id == second.id
    assert first.clients == second.clients
    assert first.values == second.values
    assert first.streams == second.streams
    assert first.usage_on(date(2026, 3, 4)) == second.usage_on(date(2026, 3, 4))
    assert other.id != first.id
    assert [c.id for c in other.clients] != [c.id for c in first.clients]


def test_a_day_is_reproducible_on_its_own() -> None:
    # GIVEN one organization that has drawn and grouped many other days first, and a fresh one
    warmed, fresh = Organization(42), Organization(42)
    dimensions = (CLIENT, TEMPLATE, METHOD)
    for offset in range(10):
        warmed.day_totals(date(2026, 5, 1) + timedelta(days=offset), dimensions)

    # WHEN both draw the same day
    # THEN it is the same: a day depends on (seed, size, date) only
    assert warmed.usage_on(date(2026, 5, 7)) == fresh.usage_on(date(2026, 5, 7))
    assert warmed.day_totals(date(2026, 5, 7), dimensions) == fresh.day_totals(
        date(2026, 5, 7), dimensions
    )


def test_organization_has_the_awkward_realistic_vocabulary() -> None:
    # GIVEN the organization of the default seed
    organization = Organization(42)
    names = [client.name for client in organization.clients]
    templates = set(organization.templates)

    # THEN it has dozens of clients, some named with non-ASCII, quotes and commas
    assert len(organization.clients) >= 30
    assert 'Zürich "Ops", WFM' in names
    assert any(not name.isascii() for name in names)
    assert any("'" in name for name in names)
    assert len({client.id for client in organization.clients}) == len(names)
    # AND hundreds of realistic template URIs with placeholders
    assert len(templates) >= 300
    assert all(template.startswith("api/v2/") for template in templates)
    assert "api/v2/users/{userId}" in templates
    # AND streams of every HTTP method and several platforms, from dozens of people
    methods = {organization.values["method"][rank] for rank in organization.streams.ranks["method"]}
    assert methods == {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"}
    assert len(set(organization.streams.ranks["platform"])) >= 3
    assert len(organization.users) >= 50


def test_a_day_is_sparse_and_big_enough_to_page(simulator: GenesysSimulator) -> None:
    # GIVEN the default grouping on a weekday
    query = {
        "interval": aggregates_interval(date(2026, 11, 18), date(2026, 11, 18)),
        "granularity": "Day",
        "groupBy": ["OauthClientId", "TemplateUri", "HttpMethod"],
    }

    # WHEN the day's rows are computed
    rows = simulator.expected_rows(wire.API_AGGREGATES, query)

    # THEN there are a few hundred to ~2000: a few days need several pages of 1000
    assert 300 <= len(rows) <= 2000
    # AND not every combination had traffic that day
    ranks = simulator.organization.streams.ranks
    combinations = set(zip(ranks["client"], ranks["template"], ranks["method"], strict=True))
    assert len(rows) < len(combinations)


# --- semantics shared by both APIs ----------------------------------------------------------------


WEEKDAY_OF = {"monday": 0, "sunday": 6}


def expected_period_start(day: date, granularity: str, week_start: str) -> date:
    if granularity == "Month":
        return day.replace(day=1)
    return day - timedelta(days=(day.weekday() - WEEKDAY_OF[week_start]) % 7)


@pytest.mark.parametrize(
    ("api", "group_by"),
    [
        (wire.API_AGGREGATES, ["OauthClientId", "HttpMethod"]),
        (wire.API_LEGACY, ["OAuthClientId", "HttpMethod"]),
    ],
)
@pytest.mark.parametrize(
    ("granularity", "settings", "first", "end"),
    [
        pytest.param("Week", {}, date(2026, 10, 5), date(2026, 11, 2), id="4 weeks from Monday"),
        pytest.param(
            "Week",
            {"week_start": "sunday"},
            date(2026, 10, 4),
            date(2026, 11, 1),
            id="4 weeks from Sunday",
        ),
        pytest.param("Month", {}, date(2026, 9, 1), date(2026, 11, 1), id="2 months"),
        pytest.param(
            "Week",
            {"week_start": "sunday", "late_days": 4},
            date(2026, 11, 8),
            date(2026, 11, 22),
            id="last 2 weeks, late data",
        ),
        pytest.param(
            "Month", {"late_days": 4}, date(2026, 11, 1), date(2026, 12, 1), id="month, late data"
        ),
        pytest.param(
            "Month",
            {"growth": 7.5, "late_days": 2},
            date(2026, 10, 1),
            date(2026, 12, 1),
            id="months with a trend, late data",
        ),
    ],
)
def test_week_and_month_rows_are_the_sums_of_their_days(
    api: str,
    group_by: list[str],
    granularity: str,
    settings: dict[str, Any],
    first: date,
    end: date,
) -> None:
    # GIVEN the same window asked by Day and by the coarser granularity, under a reading
    simulator = simulator_with(**settings)
    week_start = settings.get("week_start", "monday")
    interval = (
        aggregates_interval(first, end - timedelta(days=1))
        if api == wire.API_AGGREGATES
        else legacy_interval(first, end)
    )
    day_rows = simulator.expected_rows(
        api, {"interval": interval, "granularity": "Day", "groupBy": group_by}
    )
    period_rows = simulator.expected_rows(
        api, {"interval": interval, "granularity": granularity, "groupBy": group_by}
    )

    # WHEN the day rows (as answered now) are summed per period start and dimensions
    summed: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in day_rows:
        start = expected_period_start(date.fromisoformat(row["date"][:10]), granularity, week_start)
        totals = summed[(start.isoformat(), dimension_key(api, row))]
        for key, value in row.items():
            if isinstance(value, int):
                totals[key] += value

    # THEN every period row is exactly that sum, and no period row is missing
    assert period_rows
    assert len(period_rows) == len(summed)
    for row in period_rows:
        totals = summed[(row["date"][:10], dimension_key(api, row))]
        assert {k: v for k, v in row.items() if isinstance(v, int)} == dict(totals)
    # AND a period's date is its first day (the week's first day by the reading / the 1st)
    starts = {date.fromisoformat(row["date"][:10]) for row in period_rows}
    if granularity == "Week":
        assert {start.weekday() for start in starts} == {WEEKDAY_OF[week_start]}
    else:
        assert {start.day for start in starts} == {1}


@pytest.mark.parametrize("api", wire.APIS)
def test_requests_are_the_sum_of_statuses_and_429s_are_a_subset_of_400s(
    simulator: GenesysSimulator, api: str
) -> None:
    # GIVEN a week of the finest grouping the API has
    group_by = list(wire.GROUP_BY_BY_API[api])
    interval = (
        aggregates_interval(date(2026, 11, 10), date(2026, 11, 16))
        if api == wire.API_AGGREGATES
        else legacy_interval(date(2026, 11, 10), date(2026, 11, 17))
    )

    # WHEN the rows are computed
    rows = simulator.expected_rows(
        api, {"interval": interval, "granularity": "Day", "groupBy": group_by}
    )

    # THEN every row adds up, and somebody did get throttled
    assert rows
    for row in rows:
        assert requests_of(api, row) == sum(row[key] for key in STATUS_KEYS)
        assert 0 <= row["status429"] <= row["status400"]
        assert requests_of(api, row) > 0
    assert sum(row["status429"] for row in rows) > 0


@pytest.mark.parametrize(
    ("api", "interval"),
    [
        (wire.API_AGGREGATES, "2026-11-20T00:00:00Z/2026-11-24T23:59:59Z"),
        (wire.API_LEGACY, "2026-11-20T00:00:00Z/2026-11-25T00:00:00Z"),
    ],
)
def test_nothing_exists_for_the_current_utc_day_or_later(
    simulator: GenesysSimulator, api: str, interval: str
) -> None:
    # GIVEN an interval from two days ago to two days ahead (future days are allowed: empty)
    query = {"interval": interval, "granularity": "Day"}

    # WHEN the rows are computed
    rows = simulator.expected_rows(api, query)

    # THEN only the days before today have rows
    assert {row["date"][:10] for row in rows} == {"2026-11-20", "2026-11-21"}


@pytest.mark.parametrize("api", wire.APIS)
def test_a_query_of_only_today_is_empty(simulator: GenesysSimulator, api: str) -> None:
    # GIVEN an interval that is exactly today
    interval = (
        aggregates_interval(TODAY, TODAY)
        if api == wire.API_AGGREGATES
        else legacy_interval(TODAY, TODAY + timedelta(days=1))
    )

    # WHEN / THEN nothing comes back
    assert simulator.expected_rows(api, {"interval": interval, "granularity": "Day"}) == []


def test_aggregates_interval_is_inclusive_and_legacy_end_exclusive(
    simulator: GenesysSimulator,
) -> None:
    # GIVEN the days 19 and 20 in each API's own convention
    aggregates = simulator.expected_rows(
        wire.API_AGGREGATES,
        {"interval": "2026-11-19T00:00:00Z/2026-11-20T23:59:59Z", "granularity": "Day"},
    )
    legacy = simulator.expected_rows(
        wire.API_LEGACY,
        {"interval": "2026-11-19T00:00:00Z/2026-11-21T00:00:00Z", "granularity": "Day"},
    )

    # THEN both cover exactly those two days, with the same totals
    assert [row["date"] for row in aggregates] == ["2026-11-19", "2026-11-20"]
    assert [row["date"] for row in legacy] == ["2026-11-19T00:00:00Z", "2026-11-20T00:00:00Z"]
    assert [row["requestCount"] for row in aggregates] == [row["requests"] for row in legacy]


@pytest.mark.parametrize(
    ("legacy_end", "interval", "days"),
    [
        ("exclusive", "2026-11-19T00:00:00Z/2026-11-21T00:00:00Z", ["19", "20"]),
        ("inclusive", "2026-11-19T00:00:00Z/2026-11-21T00:00:00Z", ["19", "20", "21"]),
        ("exclusive", "2026-11-19T00:00:00Z/2026-11-20T23:59:59Z", ["19", "20"]),
        ("inclusive", "2026-11-19T00:00:00Z/2026-11-20T23:59:59Z", ["19", "20"]),
        ("inclusive", "2026-11-20T00:00:00Z/2026-11-20T00:00:00Z", ["20"]),
        ("exclusive", "2026-11-19T12:00:00Z/2026-11-20T12:00:00Z", ["19", "20"]),
        ("inclusive", "2026-11-19T12:00:00Z/2026-11-20T12:00:00Z", ["19", "20"]),
    ],
)
def test_legacy_end_reading_decides_whether_a_day_starting_at_the_end_is_in(
    legacy_end: str, interval: str, days: list[str]
) -> None:
    # GIVEN the legacy API read with its end exclusive (the default) or inclusive
    simulator = simulator_with(legacy_end=legacy_end)

    # WHEN a Day query of the interval is answered
    rows = simulator.expected_rows(wire.API_LEGACY, {"interval": interval, "granularity": "Day"})

    # THEN it holds every day overlapping the interval; the end instant counts only if inclusive
    assert [row["date"] for row in rows] == [f"2026-11-{day}T00:00:00Z" for day in days]


def test_legacy_end_inclusive_changes_no_aggregates_answer() -> None:
    # GIVEN both readings of the legacy end
    query = {"interval": "2026-11-19T00:00:00Z/2026-11-21T00:00:00Z", "granularity": "Day"}
    answers = [
        simulator_with(legacy_end=reading).expected_rows(wire.API_AGGREGATES, query)
        for reading in ("exclusive", "inclusive")
    ]

    # THEN the aggregates API, documented inclusive, answers the same under both
    assert answers[0] == answers[1]
    assert [row["date"] for row in answers[0]] == ["2026-11-19", "2026-11-20", "2026-11-21"]


def test_an_empty_legacy_interval_is_refused_only_when_the_end_is_exclusive() -> None:
    # GIVEN an interval whose end is its start
    body = {"interval": "2026-11-20T00:00:00Z/2026-11-20T00:00:00Z"}

    # WHEN / THEN exclusive: nothing is in it (refused); inclusive: the one instant's day
    with pytest.raises(QueryError):
        parse_query(wire.API_LEGACY, body, TODAY, legacy_end="exclusive")
    inclusive = parse_query(wire.API_LEGACY, body, TODAY, legacy_end="inclusive")
    assert (inclusive.first_day, inclusive.last_day) == (date(2026, 11, 20), date(2026, 11, 20))


def test_legacy_accepts_the_blueprints_year_month_interval(simulator: GenesysSimulator) -> None:
    # GIVEN the blueprint's own example query, for October
    month = simulator.expected_rows(
        wire.API_LEGACY,
        {
            "interval": "2026-10/2026-11",
            "granularity": "Month",
            "groupBy": ["OAuthClientId"],
            "metrics": ["Status200", "Status429"],
        },
    )
    days = simulator.expected_rows(
        wire.API_LEGACY,
        {"interval": "2026-10-01/2026-11-01", "granularity": "Day", "groupBy": ["OAuthClientId"]},
    )

    # THEN it is one row per client dated the 1st, summing the 31 days
    assert {row["date"] for row in month} == {"2026-10-01T00:00:00Z"}
    assert {row["date"][:10] for row in days} <= {
        (date(2026, 10, 1) + timedelta(days=n)).isoformat() for n in range(31)
    }
    for row in month:
        assert row["status200"] == sum(
            d["status200"] for d in days if d["clientId"] == row["clientId"]
        )


def test_aggregates_entities_carry_only_grouped_dimensions_and_asked_metrics(
    simulator: GenesysSimulator,
) -> None:
    # GIVEN a query grouped by user and platform, asking two metrics (in non-canonical order)
    query = {
        "interval": aggregates_interval(date(2026, 11, 16), date(2026, 11, 17)),
        "granularity": "Day",
        "groupBy": ["UserId", "Platform"],
        "metrics": ["Status429", "Requests"],
    }

    # WHEN the rows are computed
    rows = simulator.expected_rows(wire.API_AGGREGATES, query)

    # THEN each entity has exactly those fields, in Genesys' order
    assert rows
    for row in rows:
        assert list(row) == ["date", "platform", "requestCount", "status429", "user"]


def test_aggregates_entity_of_the_default_grouping_has_the_documented_shape(
    simulator: GenesysSimulator,
) -> None:
    # GIVEN the full dimension set and all metrics
    query = {
        "interval": aggregates_interval(date(2026, 11, 16), date(2026, 11, 16)),
        "granularity": "Day",
        "groupBy": list(wire.GROUP_BY_AGGREGATES),
    }

    # WHEN the rows are computed
    row = simulator.expected_rows(wire.API_AGGREGATES, query)[0]

    # THEN the entity looks like docs/contracts.md section 1
    assert list(row) == [
        "date",
        "platform",
        "httpMethod",
        "templateUri",
        "requestCount",
        "status200",
        "status300",
        "status400",
        "status429",
        "status500",
        "oauthClient",
        "user",
    ]
    assert row["date"] == "2026-11-16"


def test_entity_references_carry_only_what_genesys_sends(simulator: GenesysSimulator) -> None:
    # GIVEN a day of every aggregates dimension
    query = {
        "interval": aggregates_interval(date(2026, 11, 16), date(2026, 11, 16)),
        "granularity": "Day",
        "groupBy": list(wire.GROUP_BY_AGGREGATES),
    }

    # WHEN the rows are computed
    rows = simulator.expected_rows(wire.API_AGGREGATES, query)

    # THEN a user is a UserReference: its id and selfUri, and no name
    assert rows
    for row in rows:
        user, client = row["user"], row["oauthClient"]
        assert user == {"id": user["id"], "selfUri": f"/api/v2/users/{user['id']}"}
        # AND a client is a DomainEntityRef: id, name and selfUri
        assert client == {
            "id": client["id"],
            "name": client["name"],
            "selfUri": f"/api/v2/oauth/clients/{client['id']}",
        }
    names = {client.name for client in simulator.organization.clients}
    assert {row["oauthClient"]["name"] for row in rows} <= names


def test_legacy_rows_keep_every_dimension_key_empty_when_not_grouped(
    simulator: GenesysSimulator,
) -> None:
    # GIVEN a legacy query grouped by organization only, asking one metric
    query = {
        "interval": legacy_interval(date(2026, 11, 16), date(2026, 11, 17)),
        "granularity": "Day",
        "groupBy": ["OrganizationId"],
        "metrics": ["Status200"],
    }

    # WHEN the rows are computed
    rows = simulator.expected_rows(wire.API_LEGACY, query)

    # THEN there is one row, shaped like the blueprint's, blanks where not grouped
    assert rows == [
        {
            "clientId": "",
            "clientName": "",
            "organizationId": simulator.organization.id,
            "userId": "",
            "templateUri": "",
            "httpMethod": "",
            "status200": rows[0]["status200"],
            "date": "2026-11-16T00:00:00Z",
        }
    ]


def test_legacy_row_of_all_metrics_keeps_the_blueprints_key_order(
    simulator: GenesysSimulator,
) -> None:
    # GIVEN the blueprint's grouping with every metric
    query = {
        "interval": legacy_interval(date(2026, 11, 16), date(2026, 11, 17)),
        "granularity": "Day",
        "groupBy": ["OAuthClientId"],
    }

    # WHEN / THEN the keys are the blueprint's, in its order
    row = simulator.expected_rows(wire.API_LEGACY, query)[0]
    assert list(row) == [
        "clientId",
        "clientName",
        "organizationId",
        "userId",
        "templateUri",
        "httpMethod",
        "status200",
        "status300",
        "status400",
        "status500",
        "status429",
        "requests",
        "date",
    ]


def test_rows_are_sorted_by_date_then_dimensions(simulator: GenesysSimulator) -> None:
    # GIVEN three days of the default grouping
    query = {
        "interval": aggregates_interval(date(2026, 11, 16), date(2026, 11, 18)),
        "granularity": "Day",
        "groupBy": ["OauthClientId", "TemplateUri", "HttpMethod"],
    }

    # WHEN the rows are computed twice
    rows = simulator.expected_rows(wire.API_AGGREGATES, query)

    # THEN they are in (date, client id, template, method) order, the same every time
    keys = [(r["date"], r["oauthClient"]["id"], r["templateUri"], r["httpMethod"]) for r in rows]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)
    assert simulator.expected_rows(wire.API_AGGREGATES, query) == rows


def test_a_query_without_granularity_is_one_period(simulator: GenesysSimulator) -> None:
    # GIVEN the blueprint's note: without granularity, the interval is one group
    query = {"interval": legacy_interval(date(2026, 11, 10), date(2026, 11, 13))}

    # WHEN / THEN one total row dated at the interval start
    rows = simulator.expected_rows(wire.API_LEGACY, query)
    assert [row["date"] for row in rows] == ["2026-11-10T00:00:00Z"]


# --- refused queries ------------------------------------------------------------------------------

GOOD = "2026-11-20T00:00:00Z/2026-11-21T23:59:59Z"


@pytest.mark.parametrize(
    ("api", "body", "named"),
    [
        (wire.API_AGGREGATES, ["not", "an", "object"], "JSON object"),
        (wire.API_AGGREGATES, {"granularity": "Day"}, "interval"),
        (wire.API_AGGREGATES, {"interval": "2026-11-20"}, "<start>/<end>"),
        (wire.API_AGGREGATES, {"interval": "yesterday/today"}, "ISO-8601"),
        (wire.API_AGGREGATES, {"interval": "2026-11-20T00:00:00/2026-11-21T00:00:00"}, "zone"),
        (wire.API_AGGREGATES, {"interval": "2026-10/2026-11"}, "ISO-8601"),
        (wire.API_AGGREGATES, {"interval": "2026-11-21T00:00:00Z/2026-11-20T00:00:00Z"}, "before"),
        (wire.API_LEGACY, {"interval": "2026-11-21T00:00:00Z/2026-11-21T00:00:00Z"}, "after"),
        (wire.API_AGGREGATES, {"interval": "2025-11-01T00:00:00Z/2025-11-30T23:59:59Z"}, "365"),
        (wire.API_LEGACY, {"interval": "2025-11-01/2025-12-01"}, "365"),
        (wire.API_AGGREGATES, {"interval": "2026-08-01T00:00:00Z/2026-10-30T23:59:59Z"}, "91 days"),
        (wire.API_AGGREGATES, {"interval": GOOD, "granularity": "Hour"}, "'Hour'"),
        (wire.API_AGGREGATES, {"interval": GOOD, "granularity": "day"}, "'day'"),
        (wire.API_AGGREGATES, {"interval": GOOD, "groupBy": ["OAuthClientId"]}, "OAuthClientId"),
        (wire.API_LEGACY, {"interval": GOOD, "groupBy": ["Platform"]}, "Platform"),
        (wire.API_AGGREGATES, {"interval": GOOD, "groupBy": ["UserId", "UserId"]}, "repeated"),
        (wire.API_AGGREGATES, {"interval": GOOD, "groupBy": "UserId"}, "list"),
        (wire.API_AGGREGATES, {"interval": GOOD, "metrics": ["Status404"]}, "Status404"),
        (wire.API_AGGREGATES, {"interval": GOOD, "filters": []}, "filters"),
        ("graphql", {"interval": GOOD}, "graphql"),
    ],
)
def test_invalid_queries_are_refused_naming_what_is_wrong(
    api: str, body: object, named: str
) -> None:
    # GIVEN an invalid query
    # WHEN it is parsed as the API would
    with pytest.raises(QueryError) as refused:
        parse_query(api, body, TODAY)

    # THEN the message names what is wrong
    assert named in str(refused.value)


def test_limits_are_inclusive_of_their_edges() -> None:
    # GIVEN a start exactly 365 days ago and an aggregates interval of exactly 90 days
    earliest = TODAY - timedelta(days=365)

    # WHEN / THEN both are accepted
    assert parse_query(wire.API_LEGACY, {"interval": f"{earliest}/{TODAY}"}, TODAY)
    interval = aggregates_interval(date(2026, 8, 1), date(2026, 8, 1) + timedelta(days=89))
    assert parse_query(wire.API_AGGREGATES, {"interval": interval}, TODAY).last_day == date(
        2026, 10, 29
    )


def test_wire_names_agree_with_the_pipeline_constants() -> None:
    # GIVEN the simulator's own copy of the wire names and the pipeline's constants
    from usage_pipeline import constants

    # THEN they have not drifted apart (docs/contracts.md is the source of both)
    assert wire.METRICS == constants.METRICS
    assert wire.GRANULARITIES == constants.GRANULARITIES
    assert wire.GROUP_BY_AGGREGATES == constants.GROUP_BY_AGGREGATES
    assert wire.GROUP_BY_LEGACY == constants.GROUP_BY_LEGACY
    assert wire.AGGREGATES_JOBS_PATH == constants.AGGREGATES_JOBS_PATH
    assert wire.LEGACY_QUERY_PATH == constants.LEGACY_QUERY_PATH
    assert wire.TOKEN_PATH == constants.TOKEN_PATH
    assert wire.USAGE_RETENTION_DAYS == constants.USAGE_RETENTION_DAYS
    assert wire.MAX_AGGREGATES_DAYS == constants.MAX_AGGREGATES_DAYS
    assert wire.MAX_PAGE_SIZE == constants.MAX_PAGE_SIZE


# --- late data ------------------------------------------------------------------------------------

DEFAULT_GROUPING = ["OauthClientId", "TemplateUri", "HttpMethod"]


def day_rows(simulator: GenesysSimulator, day: date) -> list[dict[str, Any]]:
    query = {
        "interval": aggregates_interval(day, day),
        "granularity": "Day",
        "groupBy": DEFAULT_GROUPING,
    }
    return simulator.expected_rows(wire.API_AGGREGATES, query)


def total_requests(rows: list[dict[str, Any]]) -> int:
    return sum(row["requestCount"] for row in rows)


def test_late_days_zero_answers_every_past_day_final() -> None:
    # GIVEN the default (late_days 0) and a simulator whose days are final after 2 days
    final, late = simulator_with(), simulator_with(late_days=2)
    three_days_ago = TODAY - timedelta(days=3)

    # WHEN / THEN a day older than late_days answers the same under both
    assert day_rows(late, three_days_ago) == day_rows(final, three_days_ago)


def test_a_day_younger_than_late_days_grows_each_day_until_final() -> None:
    # GIVEN days final 2 days after they end, and the same day seen on three successive days
    day = date(2026, 11, 19)
    seen = [
        day_rows(simulator_with(late_days=2, today=day + timedelta(days=age)), day)
        for age in (1, 2, 3)
    ]
    final = day_rows(simulator_with(today=day + timedelta(days=1)), day)

    # THEN each re-fetch a day later is larger, and the third is the final answer
    assert seen[2] == final
    totals = [total_requests(rows) for rows in seen]
    assert 0 < totals[0] < totals[1] < totals[2]
    # AND a partial day answers at most its share (age / (late_days + 1)) of every final count
    final_by_key = {dimension_key(wire.API_AGGREGATES, row): row for row in final}
    for age, rows in ((1, seen[0]), (2, seen[1])):
        assert total_requests(rows) <= total_requests(final) * age / 3
        for row in rows:
            full = final_by_key[dimension_key(wire.API_AGGREGATES, row)]
            for metric in ("status200", "status300", "status400", "status429", "status500"):
                assert row[metric] <= full[metric] * age / 3
            assert 0 <= row["status429"] <= row["status400"]
            assert row["requestCount"] == sum(row[key] for key in STATUS_KEYS) > 0
    # AND rows appear as the day fills in: none disappears
    keys = [{dimension_key(wire.API_AGGREGATES, row) for row in rows} for rows in seen]
    assert keys[0] <= keys[1] <= keys[2]


# --- a trend -------------------------------------------------------------------------------------


def test_growth_off_by_default_and_on_the_1st_changes_nothing() -> None:
    # GIVEN the default simulator and one whose months grow
    default, growing = simulator_with(), simulator_with(growth=10)

    # THEN the default has no growth, and the 1st of a month answers the same under both
    assert SimulatorSettings().growth == 0
    assert day_rows(growing, date(2026, 11, 1)) == day_rows(default, date(2026, 11, 1))
    assert day_rows(growing, date(2026, 11, 10)) != day_rows(default, date(2026, 11, 10))


@pytest.mark.parametrize(("growth", "day"), [(10.0, 16), (2.5, 21), (0.1, 11), (50.0, 30)])
def test_growth_adds_its_percent_of_the_1st_every_day_of_the_month(growth: float, day: int) -> None:
    # GIVEN a day of the month with and without growth
    when = date(2026, 10, day)
    flat = day_rows(simulator_with(), when)
    grown = day_rows(simulator_with(growth=growth), when)

    # THEN its total is 1 + growth/100 x (day - 1) times the flat one (rounding: within 0.5%)
    factor = 1 + growth / 100 * (day - 1)
    assert total_requests(grown) == pytest.approx(total_requests(flat) * factor, rel=0.005)
    # AND the same rows keep the rules: no group appears or vanishes, 429s within 400s
    flat_by_key = {dimension_key(wire.API_AGGREGATES, row): row for row in flat}
    assert set(flat_by_key) == {dimension_key(wire.API_AGGREGATES, row) for row in grown}
    for row in grown:
        before = flat_by_key[dimension_key(wire.API_AGGREGATES, row)]
        assert row["requestCount"] >= before["requestCount"]
        assert 0 <= row["status429"] <= row["status400"]
        assert row["requestCount"] == sum(row[key] for key in STATUS_KEYS)


def test_measure_reports_the_rows_and_pages_of_a_backfill(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # GIVEN the measuring tool run on three days of the default organization
    from local.genesys_simulator import measure

    measure.main(["--org", "default", "--days", "3", "--today", TODAY.isoformat()])
    output = capsys.readouterr().out

    # THEN it reports the backfill's rows and pages of 1000, as a job would page them
    rows = len(
        simulator_with().expected_result(
            wire.API_AGGREGATES,
            {
                "interval": aggregates_interval(date(2026, 11, 19), date(2026, 11, 21)),
                "granularity": "Day",
                "groupBy": DEFAULT_GROUPING,
            },
        )
    )
    assert f": {rows} rows;" in output
    assert f"{-(-rows // 1000)} pages of 1000" in output
    assert f"rendered every page ({rows} rows)" in output
    assert "peak memory" in output
