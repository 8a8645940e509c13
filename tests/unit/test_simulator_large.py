"""The large organization (`org=large`): its size, determinism, sums and paging.

One or two days per test; the organization is drawn once per process (a second or two) and
shared. How fast and how big it is, is measured by `python -m local.genesys_simulator.measure`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import requests

from local.genesys_simulator import SimulatorServer, wire
from local.genesys_simulator.options import SimulatorSettings
from local.genesys_simulator.organization import CLIENT, METHOD, TEMPLATE, Organization
from local.genesys_simulator.simulator import GenesysSimulator, organization_of

TODAY = date(2026, 11, 22)  # a Sunday
WEEKDAY, SATURDAY = date(2026, 11, 18), date(2026, 11, 21)
DEFAULT_GROUPING = ["OauthClientId", "TemplateUri", "HttpMethod"]
COUNT_KEYS = ("requestCount", "status200", "status300", "status400", "status429", "status500")


@pytest.fixture(scope="module")
def large() -> Organization:
    return organization_of(42, "large")


def simulator(**settings: Any) -> GenesysSimulator:
    return GenesysSimulator(SimulatorSettings(today=TODAY, org="large").updated(settings), seed=42)


def day_query(first: date, last: date, granularity: str = "Day", **extra: Any) -> dict[str, Any]:
    return {
        "interval": f"{first}T00:00:00Z/{last}T23:59:59Z",
        "granularity": granularity,
        "groupBy": DEFAULT_GROUPING,
        **extra,
    }


def client_template_method(row: dict[str, Any]) -> tuple[str, str, str]:
    return (row["oauthClient"]["id"], row["templateUri"], row["httpMethod"])


def test_the_large_organization_has_thousands_of_clients_and_template_uris(
    large: Organization,
) -> None:
    # THEN it has thousands of uniquely named clients with the awkward names, and of templates
    names = [client.name for client in large.clients]
    assert len(large.clients) >= 2000
    assert len(set(names)) == len(names)
    assert len({client.id for client in large.clients}) == len(names)
    assert 'Zürich "Ops", WFM' in names
    assert any(not name.isascii() for name in names)
    assert any('"' in name for name in names[100:]) and any("," in name for name in names[100:])
    assert len(large.templates) >= 2000
    assert all(template.startswith("api/v2/") for template in large.templates)
    assert len(large.users) >= 1000


def test_a_day_of_the_default_grouping_has_tens_of_thousands_of_rows() -> None:
    # GIVEN the large organization
    sim = simulator()

    # WHEN a weekday and a Saturday of the default grouping are counted
    rows = {
        day: sim.expected_result(wire.API_AGGREGATES, day_query(day, day))
        for day in (WEEKDAY, SATURDAY)
    }

    # THEN each has tens of thousands of rows (tens of pages of 1000), fewer at the weekend
    assert len(rows[WEEKDAY]) >= 20_000
    assert 10_000 <= len(rows[SATURDAY]) < len(rows[WEEKDAY])


def test_the_large_organization_is_a_pure_function_of_the_seed(large: Organization) -> None:
    # GIVEN a second large organization of the same seed, drawn afresh (not the shared one)
    fresh = Organization(42, "large")
    dimensions = (CLIENT, TEMPLATE, METHOD)

    # WHEN / THEN it is the same organization with the same day
    assert fresh.clients == large.clients
    assert fresh.values == large.values
    assert fresh.day_totals(WEEKDAY, dimensions) == large.day_totals(WEEKDAY, dimensions)


def test_the_default_grouping_sums_the_finest_one(large: Organization) -> None:
    # GIVEN one day grouped by every dimension and by the default grouping
    sim = simulator()
    finest = sim.expected_rows(
        wire.API_AGGREGATES, day_query(WEEKDAY, WEEKDAY, groupBy=list(wire.GROUP_BY_AGGREGATES))
    )
    coarse = sim.expected_rows(wire.API_AGGREGATES, day_query(WEEKDAY, WEEKDAY))

    # WHEN the finest rows are summed per client, template and method
    summed: dict[tuple[str, str, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in finest:
        for key in COUNT_KEYS:
            summed[client_template_method(row)][key] += row[key]

    # THEN the default grouping's rows are exactly those sums, in the same order
    assert [client_template_method(row) for row in coarse] == sorted(summed)
    for row in coarse:
        assert {key: row[key] for key in COUNT_KEYS} == dict(summed[client_template_method(row)])


@pytest.mark.parametrize(
    ("week_start", "week_dates"),
    [("monday", ["2026-11-16"]), ("sunday", ["2026-11-15", "2026-11-22"])],
)
def test_week_rows_of_the_large_organization_are_the_sums_of_their_days(
    week_start: str, week_dates: list[str]
) -> None:
    # GIVEN a Saturday and a Sunday (one week from Monday, two from Sunday), today the Monday after
    sim = simulator(week_start=week_start, today=date(2026, 11, 23))
    first, last = SATURDAY, SATURDAY + timedelta(days=1)
    days = sim.expected_rows(wire.API_AGGREGATES, day_query(first, last))
    weeks = sim.expected_rows(wire.API_AGGREGATES, day_query(first, last, "Week"))

    # WHEN the day rows are summed per week start and group
    weekday_of_start = {"monday": 0, "sunday": 6}[week_start]
    summed: dict[tuple[Any, ...], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in days:
        day = date.fromisoformat(row["date"])
        start = day - timedelta(days=(day.weekday() - weekday_of_start) % 7)
        for key in COUNT_KEYS:
            summed[(start.isoformat(), *client_template_method(row))][key] += row[key]

    # THEN the Week rows are exactly those sums, dated on the reading's week starts
    assert sorted({row["date"] for row in weeks}) == week_dates
    assert len(weeks) == len(summed)
    for row in weeks:
        totals = summed[(row["date"], *client_template_method(row))]
        assert {key: row[key] for key in COUNT_KEYS} == dict(totals)


@pytest.fixture
def large_server(large: Organization) -> Iterator[SimulatorServer]:
    with SimulatorServer(today=TODAY, org="large", polls_until_done=0) as server:
        yield server


def test_a_day_of_the_large_organization_pages_in_thousands(large_server: SimulatorServer) -> None:
    # GIVEN a token and one weekday of the default grouping
    sim = large_server
    token = requests.post(
        sim.base_url + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("local-client", "local-secret"),
        timeout=5,
    ).json()["access_token"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    query = day_query(WEEKDAY, WEEKDAY)
    job = session.post(sim.base_url + wire.AGGREGATES_JOBS_PATH, json=query, timeout=5).json()

    # WHEN every page of 1000 is read
    pages, url = [], f"{sim.base_url}{job['resultsUri']}?pageSize=1000"
    while url:
        page = session.get(url, timeout=30).json()
        pages.append(page)
        url = sim.base_url + page["nextUri"] if "nextUri" in page else ""

    # THEN the pages hold the ground truth, 1000 a page but the last
    rows = [entity for page in pages for entity in page["entities"]]
    assert len(rows) == sim.expected_row_count("aggregates", query) >= 20_000
    assert rows == sim.expected_rows("aggregates", query)
    assert len(pages) == -(-len(rows) // 1000)
    assert all(len(page["entities"]) == 1000 for page in pages[:-1])
