"""GenesysClient end to end over real HTTP against the team's Genesys simulator (local/)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from local.genesys_simulator import SimulatorServer
from tests.unit.fake_genesys import FakeClock, make_client
from usage_pipeline.errors import (
    CursorLoop,
    GenesysAuthError,
    GenesysRateLimited,
    PageMalformed,
    PageTruncated,
)
from usage_pipeline.genesys import GenesysClient, build_query_body
from usage_pipeline.query import NormalizedQuery, parse_query
from usage_pipeline.secrets import ClientCredentials
from usage_pipeline.warm_container import forget_all

TODAY = date(2026, 11, 22)
SIM_CREDENTIALS = ClientCredentials("sim-client", "sim-secret")
ROWS_MEMBER = {"aggregates": "entities", "legacy": "results"}


# One day of three dimensions is ~1,600 rows: two pages of 1,000, enough to exercise the cursor.
def query(
    api: str, start: str = "2026-11-20", end: str = "2026-11-21", **extra: Any
) -> NormalizedQuery:
    return parse_query({"api": api, "interval": f"{start}/{end}", **extra}, today=TODAY)


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    forget_all()
    yield
    forget_all()


@pytest.fixture
def sim() -> Iterator[SimulatorServer]:
    with SimulatorServer(
        client_id=SIM_CREDENTIALS.client_id,
        client_secret=SIM_CREDENTIALS.client_secret,
        seed=11,
        polls_until_done=1,
        page_size=1000,
        today=TODAY,
    ) as server:
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def sim_client(sim: SimulatorServer, clock: FakeClock, **overrides: Any) -> GenesysClient:
    return make_client(sim.base_url, clock, SIM_CREDENTIALS, **overrides)


def run_job(
    client: GenesysClient, api: str, the_query: NormalizedQuery, page_size: int = 1000
) -> list[dict]:
    """Submit, poll until complete, return every row of every page."""
    job_id = client.submit(the_query)
    for _ in range(10):
        status = client.status(api, job_id)
        if status.state != "running":
            break
    assert status.state == "complete", status
    pages = client.iter_pages(api, job_id, page_size)
    return [row for page in pages for row in page.document.get(ROWS_MEMBER[api], [])]


@pytest.mark.parametrize("api", ["aggregates", "legacy"])
def test_both_apis_return_exactly_the_expected_rows(
    api: str, sim: SimulatorServer, clock: FakeClock
) -> None:
    # GIVEN
    the_query = query(api)
    client = sim_client(sim, clock)

    # WHEN
    rows = run_job(client, api, the_query)

    # THEN
    expected = sim.expected_rows(api, build_query_body(the_query))
    assert len(expected) > 1000  # more than one page
    assert rows == expected
    assert clock.sleeps == []


def test_a_week_query_on_the_aggregates_api_matches(sim: SimulatorServer, clock: FakeClock) -> None:
    # GIVEN two whole ISO weeks
    the_query = query("aggregates", "2026-11-02", "2026-11-16", granularity="Week")

    # WHEN
    rows = run_job(sim_client(sim, clock), "aggregates", the_query)

    # THEN
    assert rows == sim.expected_rows("aggregates", build_query_body(the_query))
    assert {row["date"] for row in rows} <= {"2026-11-02", "2026-11-09"}


def test_rate_limits_are_waited_out_with_retry_after(
    sim: SimulatorServer, clock: FakeClock
) -> None:
    # GIVEN page 2 is rate limited twice
    sim.set_fault("rate-limit", endpoint="results", page=2, count=2, retry_after=3)
    the_query = query("aggregates")

    # WHEN
    rows = run_job(sim_client(sim, clock), "aggregates", the_query)

    # THEN
    assert rows == sim.expected_rows("aggregates", build_query_body(the_query))
    assert clock.sleeps == [3.0, 3.0]


def test_endless_rate_limits_raise_rate_limited(sim: SimulatorServer, clock: FakeClock) -> None:
    sim.set_fault("rate-limit", endpoint="submit", count=None, retry_after=2)
    with pytest.raises(GenesysRateLimited):
        sim_client(sim, clock, max_attempts=3).submit(query("legacy"))


def test_server_errors_are_retried(sim: SimulatorServer, clock: FakeClock) -> None:
    sim.set_fault("server-error", endpoint="api", count=2, status=503)
    the_query = query("legacy")
    assert run_job(sim_client(sim, clock), "legacy", the_query) == sim.expected_rows(
        "legacy", build_query_body(the_query)
    )


def test_expired_tokens_are_refreshed(sim: SimulatorServer, clock: FakeClock) -> None:
    # GIVEN a cached token that the simulator has since expired
    client = sim_client(sim, clock)
    job_id = client.submit(query("aggregates"))
    sim.expire_tokens()

    # WHEN
    status = client.status("aggregates", job_id)

    # THEN
    assert status.state in ("running", "complete")
    assert sim.stats()["tokensIssued"] == 2


def test_bad_credentials_fail_fast(sim: SimulatorServer, clock: FakeClock) -> None:
    sim.set_fault("bad-credentials")
    with pytest.raises(GenesysAuthError):
        sim_client(sim, clock).submit(query("aggregates"))
    assert sim.stats()["requests"]["token"] == {"401": 1}


@pytest.mark.parametrize(
    ("kind", "options", "error"),
    [
        ("malformed-page", {"page": 2}, PageMalformed),
        ("truncated-page", {"page": 2, "count": None}, PageTruncated),
        ("truncated-page", {"page": 2, "count": None, "mode": "short"}, PageTruncated),
        ("cursor-loop", {}, CursorLoop),
    ],
)
@pytest.mark.parametrize("api", ["aggregates", "legacy"])
def test_broken_pages_raise_their_named_error(
    api: str,
    kind: str,
    options: dict,
    error: type[Exception],
    sim: SimulatorServer,
    clock: FakeClock,
) -> None:
    # GIVEN
    sim.set_fault(kind, **options)

    # WHEN / THEN
    with pytest.raises(error):
        run_job(sim_client(sim, clock, max_attempts=3), api, query(api))


def test_a_truncated_page_once_is_retried_and_recovers(
    sim: SimulatorServer, clock: FakeClock
) -> None:
    sim.set_fault("truncated-page", page=2, count=1)
    the_query = query("aggregates")
    rows = run_job(sim_client(sim, clock), "aggregates", the_query)
    assert rows == sim.expected_rows("aggregates", build_query_body(the_query))


@pytest.mark.parametrize(
    ("kind", "state"), [("job-failed", "failed"), ("job-cancelled", "cancelled")]
)
def test_failed_and_cancelled_jobs_are_reported(
    kind: str, state: str, sim: SimulatorServer, clock: FakeClock
) -> None:
    # GIVEN
    sim.set_fault(kind)
    client = sim_client(sim, clock)
    job_id = client.submit(query("aggregates"))

    # WHEN
    for _ in range(5):
        status = client.status("aggregates", job_id)
        if status.state != "running":
            break

    # THEN
    assert status.state == state
    if state == "failed":
        assert status.message == "The query failed: simulated failure of the usage job"
