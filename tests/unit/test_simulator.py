"""The Genesys Cloud simulator over real HTTP on 127.0.0.1: login, both Usage APIs, rate limiting,
every fault, the control endpoints and the CLI. Data semantics are in test_simulator_data.py.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import requests

from local.genesys_simulator import SimulatorServer

TODAY = date(2026, 11, 22)
CLIENT_ID, CLIENT_SECRET = "test-client", "test-secret"
AGGREGATES_JOBS = "/api/v2/usage/aggregates/query/jobs"
LEGACY_QUERY = "/api/v2/usage/query"
GENESYS_ERROR_KEYS = {"message", "code", "status", "contextId", "details", "errors"}
AGGREGATES_QUERY = {
    "interval": "2026-11-18T00:00:00Z/2026-11-20T23:59:59Z",
    "granularity": "Day",
    "groupBy": ["OauthClientId", "TemplateUri", "HttpMethod"],
}
LEGACY_QUERY_BODY = {
    "interval": "2026-11-18T00:00:00Z/2026-11-21T00:00:00Z",
    "granularity": "Day",
    "groupBy": ["OAuthClientId", "TemplateUri", "HttpMethod"],
}
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server() -> Iterator[SimulatorServer]:
    with SimulatorServer(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, seed=42, today=TODAY
    ) as running:
        yield running


@pytest.fixture
def sim(server: SimulatorServer) -> Iterator[SimulatorServer]:
    """The shared server, with faults and settings put back after each test."""
    settings = server.configure()
    yield server
    server.clear_faults()
    server.configure(**settings)


def token_response(sim: SimulatorServer, auth: tuple[str, str] | None = None) -> requests.Response:
    return requests.post(
        sim.base_url + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=auth or (CLIENT_ID, CLIENT_SECRET),
        timeout=5,
    )


def session_for(sim: SimulatorServer) -> requests.Session:
    """A session with a fresh token (rate limits are per token, so tests do not share one)."""
    response = token_response(sim)
    assert response.status_code == 200, response.text
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {response.json()['access_token']}"
    return session


def token_of(session: requests.Session) -> str:
    return str(session.headers["Authorization"]).removeprefix("Bearer ")


def submit(sim: SimulatorServer, session: requests.Session, api: str, body: Any) -> dict[str, Any]:
    path = AGGREGATES_JOBS if api == "aggregates" else LEGACY_QUERY
    response = session.post(sim.base_url + path, json=body, timeout=5)
    assert response.status_code == 202, response.text
    return dict(response.json())


def poll_until_done(
    sim: SimulatorServer, session: requests.Session, results_uri: str, limit: int = 10
) -> list[str]:
    """Poll until the job leaves Queued/Running; return every status seen."""
    statuses: list[str] = []
    for _ in range(limit):
        status = session.get(sim.base_url + results_uri, timeout=5).json()["queryStatus"]
        statuses.append(status)
        if status not in ("Queued", "Running"):
            break
    return statuses


def aggregates_pages(
    sim: SimulatorServer, session: requests.Session, results_uri: str, page_size: int
) -> list[dict[str, Any]]:
    pages, url = [], f"{sim.base_url}{results_uri}?pageSize={page_size}"
    while url:
        page = session.get(url, timeout=5).json()
        pages.append(page)
        url = sim.base_url + page["nextUri"] if "nextUri" in page else ""
    return pages


def legacy_pages(
    sim: SimulatorServer, session: requests.Session, results_uri: str
) -> list[dict[str, Any]]:
    pages, params = [], {}
    while True:
        page = session.get(sim.base_url + results_uri, params=params, timeout=5).json()
        pages.append(page)
        if "cursors" not in page:
            return pages
        params = {"after": page["cursors"]["after"]}


def assert_genesys_error(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == GENESYS_ERROR_KEYS
    assert (body["status"], body["code"]) == (status, code)
    return dict(body)


# --- login ------------------------------------------------------------------------------------


def test_token_is_issued_for_the_client_credentials(sim: SimulatorServer) -> None:
    # GIVEN the configured client id and secret in a Basic header
    # WHEN a client-credentials token is asked for
    response = token_response(sim)

    # THEN a bearer token comes back with its lifetime
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert (body["token_type"], body["expires_in"]) == ("bearer", 86399)


@pytest.mark.parametrize(
    "auth", [(CLIENT_ID, "wrong-secret"), ("unknown-client", CLIENT_SECRET)], ids=["secret", "id"]
)
def test_wrong_credentials_are_rejected_with_invalid_client(
    sim: SimulatorServer, auth: tuple[str, str]
) -> None:
    # GIVEN a wrong secret or an unknown client id
    # WHEN a token is asked for
    response = token_response(sim, auth)

    # THEN 401 with the login host's OAuth error body
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"error", "description", "error_description"}
    assert body["error"] == "invalid_client"


def test_token_request_without_basic_auth_or_grant_type_is_refused(sim: SimulatorServer) -> None:
    # GIVEN no Authorization header, then a wrong grant type
    no_auth = requests.post(
        sim.base_url + "/oauth/token", data={"grant_type": "client_credentials"}, timeout=5
    )
    wrong_grant = requests.post(
        sim.base_url + "/oauth/token",
        data={"grant_type": "password"},
        auth=(CLIENT_ID, CLIENT_SECRET),
        timeout=5,
    )

    # THEN 401 invalid_client, and 400 unsupported_grant_type
    assert (no_auth.status_code, no_auth.json()["error"]) == (401, "invalid_client")
    assert (wrong_grant.status_code, wrong_grant.json()["error"]) == (400, "unsupported_grant_type")


def test_api_refuses_missing_unknown_and_expired_tokens(sim: SimulatorServer) -> None:
    # GIVEN no token, an unknown token and a token the simulator has expired
    url = sim.base_url + AGGREGATES_JOBS
    session = session_for(sim)
    assert session.post(url, json=AGGREGATES_QUERY, timeout=5).status_code == 202
    sim.expire_tokens()

    # WHEN each calls the API
    missing = requests.post(url, json=AGGREGATES_QUERY, timeout=5)
    unknown = requests.post(
        url, json=AGGREGATES_QUERY, headers={"Authorization": "Bearer nope"}, timeout=5
    )
    expired = session.post(url, json=AGGREGATES_QUERY, timeout=5)

    # THEN each gets 401 bad.credentials with Genesys' error body
    for response in (missing, unknown, expired):
        assert_genesys_error(response, 401, "bad.credentials")


def test_a_token_expires_after_expires_in_seconds(sim: SimulatorServer) -> None:
    # GIVEN tokens that live one second
    sim.configure(token_expires_in=1)
    session = session_for(sim)
    url = sim.base_url + AGGREGATES_JOBS
    assert session.post(url, json=AGGREGATES_QUERY, timeout=5).status_code == 202

    # WHEN the second has passed
    time.sleep(1.05)

    # THEN the token is refused
    assert_genesys_error(
        session.post(url, json=AGGREGATES_QUERY, timeout=5), 401, "bad.credentials"
    )


# --- aggregates API ---------------------------------------------------------------------------


def test_aggregates_status_polls_answer_202_while_running_or_failed(sim: SimulatorServer) -> None:
    # GIVEN a job that succeeds and one that fails, each after two polls
    session = session_for(sim)
    succeeding = submit(sim, session, "aggregates", AGGREGATES_QUERY)
    sim.set_fault("job-failed")
    failing = submit(sim, session, "aggregates", AGGREGATES_QUERY)

    # WHEN each is polled three times
    def codes(job: dict[str, Any]) -> list[tuple[int, str]]:
        answers = [session.get(sim.base_url + job["resultsUri"], timeout=5) for _ in range(3)]
        return [(answer.status_code, answer.json()["queryStatus"]) for answer in answers]

    # THEN 202 while Queued, Running or Failed (the spec's "still running or failed"), 200 with rows
    assert codes(succeeding) == [(202, "Queued"), (202, "Running"), (200, "Succeeded")]
    assert codes(failing) == [(202, "Queued"), (202, "Running"), (202, "Failed")]


def test_aggregates_job_runs_then_pages_through_all_expected_rows(sim: SimulatorServer) -> None:
    # GIVEN a submitted three-day job of the default grouping
    session = session_for(sim)
    job = submit(sim, session, "aggregates", AGGREGATES_QUERY)
    assert set(job) == {"id", "resultsUri", "selfUri"}
    assert job["resultsUri"] == f"{AGGREGATES_JOBS}/{job['id']}"

    # WHEN it is polled until done and every page is followed
    statuses = poll_until_done(sim, session, job["resultsUri"])
    pages = aggregates_pages(sim, session, job["resultsUri"], page_size=1000)

    # THEN it was Queued, Running, then Succeeded (polls_until_done=2)
    assert statuses == ["Queued", "Running", "Succeeded"]
    # AND the pages hold exactly the ground truth, in order, 1000 per page but the last
    rows = [entity for page in pages for entity in page["entities"]]
    assert rows == sim.expected_rows("aggregates", AGGREGATES_QUERY)
    assert len(pages) >= 3
    assert all(len(page["entities"]) == 1000 for page in pages[:-1])
    # AND each nextUri names the job, the page size and an opaque cursor; the last has none
    for page in pages[:-1]:
        assert page["queryStatus"] == "Succeeded"
        assert re.fullmatch(
            rf"{AGGREGATES_JOBS}/{job['id']}\?pageSize=1000&after=[A-Za-z0-9_-]+", page["nextUri"]
        )
    assert "nextUri" not in pages[-1]
    assert pages[0]["selfUri"] == f"{job['resultsUri']}?pageSize=1000"


def test_aggregates_page_size_defaults_to_100(sim: SimulatorServer) -> None:
    # GIVEN a finished job
    sim.configure(polls_until_done=0)
    session = session_for(sim)
    job = submit(sim, session, "aggregates", AGGREGATES_QUERY)

    # WHEN a page is read without pageSize
    page = session.get(sim.base_url + job["resultsUri"], timeout=5).json()

    # THEN it has 100 entities
    assert len(page["entities"]) == 100
    assert "pageSize=100&after=" in page["nextUri"]


@pytest.mark.parametrize("page_size", ["0", "1001", "ten"])
def test_aggregates_page_size_out_of_range_is_refused(sim: SimulatorServer, page_size: str) -> None:
    # GIVEN a job
    session = session_for(sim)
    job = submit(sim, session, "aggregates", AGGREGATES_QUERY)

    # WHEN a page size outside 1..1000 is asked for
    response = session.get(
        sim.base_url + job["resultsUri"], params={"pageSize": page_size}, timeout=5
    )

    # THEN 400 naming pageSize
    assert "pageSize" in assert_genesys_error(response, 400, "bad.request")["message"]


def test_unknown_job_cursor_and_method_are_refused(sim: SimulatorServer) -> None:
    # GIVEN a finished job
    sim.configure(polls_until_done=0)
    session = session_for(sim)
    job = submit(sim, session, "aggregates", AGGREGATES_QUERY)

    # WHEN an unknown job, a forged cursor, a legacy id on the aggregates path and a wrong
    # method are asked for
    unknown = session.get(f"{sim.base_url}{AGGREGATES_JOBS}/no-such-job", timeout=5)
    forged = session.get(
        sim.base_url + job["resultsUri"], params={"after": "bm90LWEtY3Vyc29y"}, timeout=5
    )
    legacy = submit(sim, session, "legacy", LEGACY_QUERY_BODY)
    crossed = session.get(f"{sim.base_url}{AGGREGATES_JOBS}/{legacy['executionId']}", timeout=5)
    wrong_method = session.get(sim.base_url + AGGREGATES_JOBS, timeout=5)

    # THEN 404, 400, 404 and 405, each with Genesys' error body
    assert_genesys_error(unknown, 404, "not.found")
    assert "cursor" in assert_genesys_error(forged, 400, "bad.request")["message"]
    assert_genesys_error(crossed, 404, "not.found")
    assert_genesys_error(wrong_method, 405, "method.not.allowed")


@pytest.mark.parametrize(
    ("api", "body", "named"),
    [
        ("aggregates", {**AGGREGATES_QUERY, "interval": "2026-11-20"}, "interval"),
        ("aggregates", {**AGGREGATES_QUERY, "groupBy": ["OAuthClientId"]}, "OAuthClientId"),
        ("aggregates", {**AGGREGATES_QUERY, "metrics": ["Status418"]}, "Status418"),
        ("aggregates", {**AGGREGATES_QUERY, "granularity": "Year"}, "Year"),
        ("legacy", {**LEGACY_QUERY_BODY, "interval": "2025-01-01/2025-02-01"}, "365"),
        ("aggregates", {**AGGREGATES_QUERY, "interval": "2026-06-01/2026-09-30"}, "days"),
    ],
)
def test_invalid_queries_get_400_naming_the_problem(
    sim: SimulatorServer, api: str, body: dict[str, Any], named: str
) -> None:
    # GIVEN an invalid query
    session = session_for(sim)
    path = AGGREGATES_JOBS if api == "aggregates" else LEGACY_QUERY

    # WHEN it is submitted
    response = session.post(sim.base_url + path, json=body, timeout=5)

    # THEN 400 bad.request whose message names the problem
    assert named in assert_genesys_error(response, 400, "bad.request")["message"]


def test_a_body_that_is_not_json_gets_400(sim: SimulatorServer) -> None:
    # GIVEN a body that is not JSON
    session = session_for(sim)

    # WHEN it is submitted
    response = session.post(sim.base_url + AGGREGATES_JOBS, data=b"{interval:", timeout=5)

    # THEN 400 bad.request
    assert_genesys_error(response, 400, "bad.request")


def test_names_travel_as_utf8_json(sim: SimulatorServer) -> None:
    # GIVEN a finished job grouped by client
    sim.configure(polls_until_done=0)
    session = session_for(sim)
    query = {**AGGREGATES_QUERY, "groupBy": ["OauthClientName"]}
    job = submit(sim, session, "aggregates", query)

    # WHEN its page is read
    response = session.get(sim.base_url + job["resultsUri"], params={"pageSize": 1000}, timeout=5)

    # THEN the awkward names arrive intact, sent as raw UTF-8 with a charset
    assert response.headers["Content-Type"] == "application/json; charset=UTF-8"
    assert 'Zürich \\"Ops\\", WFM'.encode() in response.content
    names = {entity["oauthClient"]["name"] for entity in response.json()["entities"]}
    assert 'Zürich "Ops", WFM' in names


# --- legacy API -------------------------------------------------------------------------------


def test_legacy_query_runs_then_pages_through_all_expected_rows(sim: SimulatorServer) -> None:
    # GIVEN a server page size of 700 and a submitted three-day query
    sim.configure(page_size=700)
    session = session_for(sim)
    job = submit(sim, session, "legacy", LEGACY_QUERY_BODY)
    assert set(job) == {"executionId", "resultsUri"}
    assert job["resultsUri"] == f"{LEGACY_QUERY}/{job['executionId']}/results"

    # WHEN it is polled until done and every cursor is followed
    statuses = poll_until_done(sim, session, job["resultsUri"])
    pages = legacy_pages(sim, session, job["resultsUri"])

    # THEN it was Running twice then Complete, and the pages hold exactly the ground truth
    assert statuses == ["Running", "Running", "Complete"]
    rows = [row for page in pages for row in page["results"]]
    assert rows == sim.expected_rows("legacy", LEGACY_QUERY_BODY)
    assert len(pages) >= 3
    assert all(len(page["results"]) == 700 for page in pages[:-1])
    assert all(page["queryStatus"] == "Complete" for page in pages)
    assert all(set(page["cursors"]) == {"after"} for page in pages[:-1])


def test_legacy_accepts_the_blueprints_query_over_http(sim: SimulatorServer) -> None:
    # GIVEN the blueprint's example query (year-month interval, Month, two metrics)
    sim.configure(polls_until_done=0)
    session = session_for(sim)
    body = {
        "interval": "2026-10/2026-11",
        "granularity": "Month",
        "groupBy": ["OAuthClientId"],
        "metrics": ["Status200", "Status429"],
    }

    # WHEN it runs
    job = submit(sim, session, "legacy", body)
    page = session.get(sim.base_url + job["resultsUri"], timeout=5).json()

    # THEN one row per client dated the 1st with just the asked metrics
    assert page["results"] == sim.expected_rows("legacy", body)
    assert {row["date"] for row in page["results"]} == {"2026-10-01T00:00:00Z"}
    assert "requests" not in page["results"][0]


# --- rate limiting ----------------------------------------------------------------------------


def test_over_the_rate_limit_a_token_gets_429_with_retry_after(sim: SimulatorServer) -> None:
    # GIVEN a limit of 5 requests per minute
    sim.configure(rate_limit_per_minute=5)
    session = session_for(sim)
    retry_after_before = len(sim.stats()["retryAfter"])

    # WHEN the token makes 6 requests at once
    responses = [
        session.post(sim.base_url + AGGREGATES_JOBS, json=AGGREGATES_QUERY, timeout=5)
        for _ in range(6)
    ]

    # THEN the first 5 pass and the 6th is told when to come back
    assert [r.status_code for r in responses] == [202] * 5 + [429]
    body = assert_genesys_error(responses[-1], 429, "too.many.requests")
    assert body["message"] == "Rate limit exceeded the maximum. [5] requests for [60] seconds"
    retry_after = int(responses[-1].headers["Retry-After"])
    assert 1 <= retry_after <= 60
    # AND the stats show the token went over, and the Retry-After it was sent
    stats = sim.stats()
    assert stats["maxRequestsPerWindowByToken"][token_of(session)] == 6
    assert stats["retryAfter"][retry_after_before:] == [retry_after]


def test_rate_limits_are_per_token_and_a_polite_client_stays_within(sim: SimulatorServer) -> None:
    # GIVEN a limit of 3 per minute and two tokens
    sim.configure(rate_limit_per_minute=3)
    first, second = session_for(sim), session_for(sim)

    # WHEN each makes 3 requests
    codes = [
        s.post(sim.base_url + AGGREGATES_JOBS, json=AGGREGATES_QUERY, timeout=5).status_code
        for s in (first, second, first, second, first, second)
    ]

    # THEN none is limited and the stats prove neither exceeded the limit
    assert codes == [202] * 6
    windows = sim.stats()["maxRequestsPerWindowByToken"]
    assert windows[token_of(first)] == windows[token_of(second)] == 3


def test_stats_count_answers_by_endpoint_and_status(sim: SimulatorServer) -> None:
    # GIVEN a clean slate
    sim.reset_stats()

    # WHEN a token is issued, a job submitted and polled, and a bad query sent
    session = session_for(sim)
    job = submit(sim, session, "aggregates", AGGREGATES_QUERY)
    session.get(sim.base_url + job["resultsUri"], timeout=5)
    session.post(sim.base_url + AGGREGATES_JOBS, json={}, timeout=5)
    requests.get(sim.base_url + "/api/v2/nowhere", timeout=5)

    # THEN each answer is counted under its endpoint and status
    stats = sim.stats()
    assert stats["requests"] == {
        "aggregates.results": {"202": 1},
        "aggregates.submit": {"202": 1, "400": 1},
        "other": {"404": 1},
        "token": {"200": 1},
    }
    assert stats["totalRequests"] == 5
    assert (stats["tokensIssued"], stats["jobsSubmitted"]) == (1, {"aggregates": 1})


# --- faults -----------------------------------------------------------------------------------


def test_rate_limit_fault_sends_a_429_storm_with_retry_after(sim: SimulatorServer) -> None:
    # GIVEN the next two API requests are rate limited with Retry-After 3
    session = session_for(sim)
    sim.set_fault("rate-limit", count=2, retry_after=3)
    retry_after_before = len(sim.stats()["retryAfter"])

    # WHEN three requests are made
    responses = [
        session.post(sim.base_url + AGGREGATES_JOBS, json=AGGREGATES_QUERY, timeout=5)
        for _ in range(3)
    ]

    # THEN two 429s with Retry-After 3, then the API answers again
    assert [r.status_code for r in responses] == [429, 429, 202]
    assert [r.headers.get("Retry-After") for r in responses[:2]] == ["3", "3"]
    assert_genesys_error(responses[0], 429, "too.many.requests")
    assert sim.stats()["retryAfter"][retry_after_before:] == [3, 3]


def test_rate_limit_fault_can_hit_the_token_endpoint(sim: SimulatorServer) -> None:
    # GIVEN the token endpoint is rate limited once
    sim.set_fault("rate-limit", endpoint="token", retry_after=2)

    # WHEN a token is asked for twice
    first, second = token_response(sim), token_response(sim)

    # THEN the first is told to wait, the second succeeds
    assert (first.status_code, first.headers["Retry-After"]) == (429, "2")
    assert second.status_code == 200


def test_server_error_fault_hits_the_token_endpoint_with_503(sim: SimulatorServer) -> None:
    # GIVEN the token endpoint fails once with 503
    sim.set_fault("server-error", endpoint="token", status=503)

    # WHEN a token is asked for twice
    first, second = token_response(sim), token_response(sim)

    # THEN 503 service.unavailable, then a token
    assert_genesys_error(first, 503, "service.unavailable")
    assert second.status_code == 200


def test_server_error_fault_hits_the_api_by_default(sim: SimulatorServer) -> None:
    # GIVEN the next two API requests fail
    session = session_for(sim)
    sim.set_fault("server-error", count=2)

    # WHEN three submissions are made
    responses = [
        session.post(sim.base_url + AGGREGATES_JOBS, json=AGGREGATES_QUERY, timeout=5)
        for _ in range(3)
    ]

    # THEN 500, 500, then 202
    assert [r.status_code for r in responses] == [500, 500, 202]
    assert_genesys_error(responses[0], 500, "internal.server.error")


def test_slow_fault_delays_the_answer(sim: SimulatorServer) -> None:
    # GIVEN the next answer is delayed by 0.5 s
    session = session_for(sim)
    sim.set_fault("slow", seconds=0.5, count=1)
    url = sim.base_url + AGGREGATES_JOBS

    # WHEN a client with a 0.2 s timeout asks, then asks again
    with pytest.raises(requests.exceptions.ReadTimeout):
        session.post(url, json=AGGREGATES_QUERY, timeout=0.2)
    started = time.monotonic()
    response = session.post(url, json=AGGREGATES_QUERY, timeout=5)

    # THEN the first times out and the next one is prompt
    assert response.status_code == 202
    assert time.monotonic() - started < 0.4


@pytest.mark.parametrize(("api", "body"), [("aggregates", AGGREGATES_QUERY)])
def test_job_failed_fault_ends_the_job_failed_with_genesys_error_body(
    sim: SimulatorServer, api: str, body: dict[str, Any]
) -> None:
    # GIVEN the next aggregates job fails
    session = session_for(sim)
    sim.set_fault("job-failed", api=api, message="boom")

    # WHEN it is submitted and polled
    job = submit(sim, session, api, body)
    statuses = poll_until_done(sim, session, job["resultsUri"])
    final = session.get(sim.base_url + job["resultsUri"], timeout=5).json()

    # THEN it runs, then reports Failed with Genesys' error body carrying the message
    assert statuses[-1] == "Failed"
    assert len(statuses) == 3
    assert set(final) == {"queryStatus", "errorBody"}
    assert set(final["errorBody"]) == GENESYS_ERROR_KEYS
    assert final["errorBody"]["message"] == "boom"


@pytest.mark.parametrize(
    ("api", "body", "options"),
    [
        ("aggregates", AGGREGATES_QUERY, {"error_body": False}),
        ("legacy", LEGACY_QUERY_BODY, {}),
    ],
    ids=["aggregates without errorBody", "legacy"],
)
def test_a_failed_job_may_say_nothing_but_failed(
    sim: SimulatorServer, api: str, body: dict[str, Any], options: dict[str, Any]
) -> None:
    # GIVEN a failing job whose API gives no reason: Genesys' errorBody "may not be included",
    # and the legacy result has no field for one
    sim.configure(polls_until_done=0)
    session = session_for(sim)
    sim.set_fault("job-failed", api=api, **options)

    # WHEN it is polled
    job = submit(sim, session, api, body)
    answer = session.get(sim.base_url + job["resultsUri"], timeout=5).json()

    # THEN the answer is the status alone
    assert answer == {"queryStatus": "Failed"}


def test_job_faults_are_scoped_to_their_api(sim: SimulatorServer) -> None:
    # GIVEN a job-failed fault for the legacy API only
    sim.configure(polls_until_done=0)
    session = session_for(sim)
    sim.set_fault("job-failed", api="legacy")

    # WHEN an aggregates job runs
    job = submit(sim, session, "aggregates", AGGREGATES_QUERY)

    # THEN it succeeds and the fault is still waiting for a legacy job
    assert poll_until_done(sim, session, job["resultsUri"]) == ["Succeeded"]
    assert [fault["kind"] for fault in sim.faults()] == ["job-failed"]


def test_job_cancelled_fault_ends_the_job_cancelled(sim: SimulatorServer) -> None:
    # GIVEN the next job is cancelled
    session = session_for(sim)
    sim.set_fault("job-cancelled")

    # WHEN it is submitted and polled
    job = submit(sim, session, "aggregates", AGGREGATES_QUERY)

    # THEN it ends Cancelled
    assert poll_until_done(sim, session, job["resultsUri"]) == ["Queued", "Running", "Cancelled"]


def test_job_stuck_fault_never_finishes(sim: SimulatorServer) -> None:
    # GIVEN the next job is stuck
    session = session_for(sim)
    sim.set_fault("job-stuck")

    # WHEN it is polled many times
    job = submit(sim, session, "aggregates", AGGREGATES_QUERY)
    statuses = poll_until_done(sim, session, job["resultsUri"], limit=12)

    # THEN it stays Queued, then Running, forever
    assert statuses == ["Queued"] + ["Running"] * 11


def test_malformed_page_fault_breaks_only_the_chosen_page(sim: SimulatorServer) -> None:
    # GIVEN a finished job whose 2nd page is served once as non-JSON
    sim.configure(polls_until_done=0)
    session = session_for(sim)
    job = submit(sim, session, "aggregates", AGGREGATES_QUERY)
    sim.set_fault("malformed-page", page=2)
    url = f"{sim.base_url}{job['resultsUri']}?pageSize=1000"

    # WHEN pages 1, 2 and 2 again are read
    first = session.get(url, timeout=5)
    second_url = sim.base_url + first.json()["nextUri"]
    broken, retried = session.get(second_url, timeout=5), session.get(second_url, timeout=5)

    # THEN page 2 is not JSON the first time, and fine the second
    assert broken.status_code == 200
    with pytest.raises(requests.exceptions.JSONDecodeError):
        broken.json()
    assert retried.json()["entities"]


def test_truncated_page_fault_drops_the_connection_mid_body(sim: SimulatorServer) -> None:
    # GIVEN a finished job whose next page is cut off under a full Content-Length
    sim.configure(polls_until_done=0)
    session = session_for(sim)
    job = submit(sim, session, "legacy", LEGACY_QUERY_BODY)
    sim.set_fault("truncated-page")

    # WHEN the page is read, then read again
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        session.get(sim.base_url + job["resultsUri"], timeout=5)
    again = session.get(sim.base_url + job["resultsUri"], timeout=5)

    # THEN requests reports the short read, and the retry gets the page
    assert again.json()["results"]


def test_truncated_page_fault_can_send_cut_json_with_an_honest_length(
    sim: SimulatorServer,
) -> None:
    # GIVEN a finished job whose next page is cut short, Content-Length matching the cut
    sim.configure(polls_until_done=0)
    session = session_for(sim)
    job = submit(sim, session, "aggregates", AGGREGATES_QUERY)
    sim.set_fault("truncated-page", mode="short")

    # WHEN the page is read
    response = session.get(sim.base_url + job["resultsUri"], timeout=5)

    # THEN the body is shorter JSON that does not parse
    assert len(response.content) == int(response.headers["Content-Length"])
    assert response.content.startswith(b'{"queryStatus": "Succeeded"')
    with pytest.raises(requests.exceptions.JSONDecodeError):
        response.json()


@pytest.mark.parametrize("api", ["aggregates", "legacy"])
def test_cursor_loop_fault_repeats_the_same_cursor_forever(sim: SimulatorServer, api: str) -> None:
    # GIVEN a finished job and a cursor loop
    sim.configure(polls_until_done=0)
    session = session_for(sim)
    job = submit(sim, session, api, AGGREGATES_QUERY if api == "aggregates" else LEGACY_QUERY_BODY)
    sim.set_fault("cursor-loop")

    # WHEN the cursor chain is followed five times
    cursors, params = [], {}
    for _ in range(5):
        page = session.get(sim.base_url + job["resultsUri"], params=params, timeout=5).json()
        cursor = (
            re.search(r"after=([^&]+)", page["nextUri"]).group(1)  # type: ignore[union-attr]
            if api == "aggregates"
            else page["cursors"]["after"]
        )
        cursors.append(cursor)
        params = {"after": cursor}

    # THEN the next cursor is always the same one
    assert len(set(cursors)) == 1


def test_bad_credentials_fault_rejects_every_credential_until_cleared(
    sim: SimulatorServer,
) -> None:
    # GIVEN the token endpoint rejects every credential
    sim.set_fault("bad-credentials")

    # WHEN the right credentials are tried twice, then the fault is cleared
    attempts = [token_response(sim), token_response(sim)]
    sim.clear_faults()

    # THEN both are 401 invalid_client, and afterwards a token is issued
    assert [(r.status_code, r.json()["error"]) for r in attempts] == [(401, "invalid_client")] * 2
    assert token_response(sim).status_code == 200


def test_fault_skip_and_probability_are_honoured_deterministically(sim: SimulatorServer) -> None:
    # GIVEN a 500 that lets one request through first, and a coin-flip 500 on the token endpoint
    session = session_for(sim)
    sim.set_fault("server-error", skip=1, count=1)
    url = sim.base_url + AGGREGATES_JOBS

    # WHEN requests are made
    skipped = [session.post(url, json=AGGREGATES_QUERY, timeout=5).status_code for _ in range(3)]
    sim.set_fault("server-error", endpoint="token", probability=0.5, count=None)
    flips = [token_response(sim).status_code for _ in range(20)]

    # THEN the skip let the first pass, and the coin sometimes fails and sometimes not
    assert skipped == [202, 500, 202]
    assert 0 < flips.count(500) < 20


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("earthquake", {}),
        ("rate-limit", {"retry_after": -1}),
        ("server-error", {"status": 404}),
        ("server-error", {"status": 408}),
        ("request-timeout", {"status": 500}),
        ("unknown-status", {"status": "Running"}),
        ("unknown-status", {"status": ""}),
        ("unknown-status", {"polls": 0}),
        ("job-failed", {"error_body": "no"}),
        ("slow", {"delay": 1}),
        ("truncated-page", {"mode": "half"}),
        ("malformed-page", {"page": 0}),
        ("job-failed", {"endpoint": "moon"}),
        ("cursor-loop", {"probability": 1.5}),
    ],
)
def test_unknown_fault_kinds_and_options_are_refused(
    sim: SimulatorServer, kind: str, options: dict[str, Any]
) -> None:
    # GIVEN / WHEN a bad fault is set through Python and over HTTP
    with pytest.raises(ValueError):
        sim.set_fault(kind, **options)
    response = requests.post(
        sim.base_url + "/_sim/faults", json={"kind": kind, **options}, timeout=5
    )

    # THEN both refuse it
    assert response.status_code == 400


# --- control endpoints over HTTP --------------------------------------------------------------


def test_control_endpoints_drive_the_simulator_over_http(sim: SimulatorServer) -> None:
    # GIVEN the control endpoints
    control = sim.base_url + "/_sim"

    # WHEN a fault is set, listed and cleared; the config changed; expected rows asked for
    created = requests.post(
        control + "/faults", json={"kind": "rate-limit", "retryAfter": 4, "count": 2}, timeout=5
    )
    listed = requests.get(control + "/faults", timeout=5).json()["faults"]
    cleared = requests.delete(control + "/faults", timeout=5)
    config = requests.post(
        control + "/config", json={"pollsUntilDone": 0, "pageSize": 10}, timeout=5
    ).json()
    expected = requests.post(
        control + "/expected", json={"api": "legacy", **LEGACY_QUERY_BODY}, timeout=5
    ).json()
    stats = requests.get(control + "/stats", timeout=5).json()
    organization = requests.get(control + "/organization", timeout=5).json()
    refused = requests.post(control + "/expected", json={"api": "legacy"}, timeout=5)

    # THEN each does what its Python twin does
    assert created.status_code == 201
    assert created.json()["fault"]["retryAfter"] == 4
    assert [(f["kind"], f["count"]) for f in listed] == [("rate-limit", 2)]
    assert cleared.status_code == 200 and sim.faults() == []
    assert (config["pollsUntilDone"], config["pageSize"]) == (0, 10)
    assert sim.configure()["page_size"] == 10
    assert expected["rows"] == sim.expected_rows("legacy", LEGACY_QUERY_BODY)
    assert {"requests", "maxRequestsPerWindowByToken", "retryAfter"} <= set(stats)
    assert organization["today"] == "2026-11-22"
    assert any(client["name"] == 'Zürich "Ops", WFM' for client in organization["clients"])
    assert_genesys_error(refused, 400, "bad.request")


# --- the command line -------------------------------------------------------------------------


def test_cli_on_port_0_prints_its_url_answers_and_stops_on_sigterm() -> None:
    # GIVEN the simulator started as a program on a free port
    process = subprocess.Popen(
        [sys.executable, "-m", "local.genesys_simulator", "--port", "0", "--seed", "7"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        # WHEN its one line of output is read and the URL it names is called
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        match = re.fullmatch(
            r"Genesys Cloud simulator listening on (http://127\.0\.0\.1:\d+)", line
        )
        assert match, line
        base_url = match.group(1)
        token = requests.post(
            base_url + "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=("local-client", "local-secret"),
            timeout=5,
        )
        organization = requests.get(base_url + "/_sim/organization", timeout=5).json()

        # THEN it answers with the documented default credentials and the given seed
        assert token.status_code == 200
        assert organization["seed"] == 7
    finally:
        process.send_signal(signal.SIGTERM)
        return_code = process.wait(timeout=10)
    # AND it stops cleanly on SIGTERM
    assert return_code == 0


def test_expected_rows_over_http_match_the_python_api_exactly(sim: SimulatorServer) -> None:
    # GIVEN an aggregates query through both surfaces
    via_http = requests.post(
        sim.base_url + "/_sim/expected", json={"api": "aggregates", **AGGREGATES_QUERY}, timeout=5
    )

    # THEN the JSON is the same rows
    assert json.loads(via_http.content) == {
        "rows": sim.expected_rows("aggregates", AGGREGATES_QUERY)
    }


def test_stats_count_requests_that_come_back_before_retry_after() -> None:
    # GIVEN a token told to wait 1 s by a 429
    with SimulatorServer(today=date(2026, 11, 22)) as sim:
        session = requests.Session()
        token = session.post(
            f"{sim.base_url}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=("local-client", "local-secret"),
            timeout=5,
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        body = {"interval": "2026-11-20T00:00:00Z/2026-11-20T23:59:59Z", "granularity": "Day"}
        sim.set_fault("rate-limit", count=1, retry_after=1)
        url = f"{sim.base_url}/api/v2/usage/aggregates/query/jobs"
        assert session.post(url, json=body, headers=headers, timeout=5).status_code == 429

        # WHEN it retries at once
        session.post(url, json=body, headers=headers, timeout=5)

        # THEN the early retry is counted
        assert sim.stats()["retriesBeforeRetryAfter"] == 1


# --- faults and options for the pipeline's tolerance ------------------------------------------


@pytest.mark.parametrize("endpoint", ["api", "token"])
def test_request_timeout_fault_answers_408_then_lets_the_retry_through(
    sim: SimulatorServer, endpoint: str
) -> None:
    # GIVEN the next request of the endpoint times out (Genesys lists 408 for these endpoints)
    session = session_for(sim)
    sim.set_fault("request-timeout", endpoint=endpoint)

    # WHEN it is made twice
    def call() -> requests.Response:
        if endpoint == "token":
            return token_response(sim)
        return session.post(sim.base_url + AGGREGATES_JOBS, json=AGGREGATES_QUERY, timeout=5)

    first, second = call(), call()

    # THEN 408 request.timeout with Genesys' error body, then the usual answer
    assert_genesys_error(first, 408, "request.timeout")
    assert second.status_code in (200, 202)
    assert sim.stats()["faultsFired"]["request-timeout"] >= 1


@pytest.mark.parametrize(("api", "body", "done"), [
    ("aggregates", AGGREGATES_QUERY, ["Queued", "Running", "Succeeded"]),
    ("legacy", LEGACY_QUERY_BODY, ["Running", "Running", "Complete"]),
])  # fmt: skip
def test_unknown_status_fault_answers_an_undocumented_status_then_finishes_normally(
    sim: SimulatorServer, api: str, body: dict[str, Any], done: list[str]
) -> None:
    # GIVEN the next job answers a queryStatus Genesys does not document for 3 polls
    session = session_for(sim)
    sim.set_fault("unknown-status", api=api, status="Pending", polls=3)

    # WHEN it is polled until it finishes
    job = submit(sim, session, api, body)
    statuses = []
    for _ in range(10):
        statuses.append(session.get(sim.base_url + job["resultsUri"], timeout=5).json())
        if statuses[-1]["queryStatus"] in ("Succeeded", "Complete"):
            break

    # THEN it says Pending three times (nothing else), then runs and ends as usual with its rows
    assert statuses[:3] == [{"queryStatus": "Pending"}] * 3
    assert [status["queryStatus"] for status in statuses[3:]] == done
    rows_member = "entities" if api == "aggregates" else "results"
    assert statuses[-1][rows_member]


def test_every_answer_of_genesys_carries_a_correlation_id_and_api_errors_a_context_id(
    sim: SimulatorServer,
) -> None:
    # GIVEN answers of both hosts: successes, OAuth errors and API errors of every kind
    session = session_for(sim)
    sim.set_fault("rate-limit", endpoint="token")
    answers = {
        "token 429": token_response(sim),
        "token 200": token_response(sim),
        "token 401": token_response(sim, (CLIENT_ID, "wrong")),
        "api 202": session.post(sim.base_url + AGGREGATES_JOBS, json=AGGREGATES_QUERY, timeout=5),
        "api 400": session.post(sim.base_url + AGGREGATES_JOBS, json={}, timeout=5),
        "api 401": requests.post(sim.base_url + AGGREGATES_JOBS, json={}, timeout=5),
        "api 404": session.get(f"{sim.base_url}{AGGREGATES_JOBS}/nope", timeout=5),
        "api 405": session.get(sim.base_url + AGGREGATES_JOBS, timeout=5),
        "unknown path 404": session.get(sim.base_url + "/api/v2/nowhere", timeout=5),
    }
    for kind in ("server-error", "request-timeout"):
        sim.set_fault(kind)
        answers[kind] = session.post(sim.base_url + AGGREGATES_JOBS, json={}, timeout=5)

    # THEN each carries an ININ-Correlation-Id, a fresh one each time
    correlation_ids = {name: r.headers.get("ININ-Correlation-Id") for name, r in answers.items()}
    assert all(correlation_ids.values()), correlation_ids
    assert len(set(correlation_ids.values())) == len(answers)
    # AND every error of the API host has Genesys' body with a contextId; the login host's own
    # refusal is OAuth's body (its correlation id is the header)
    for name, response in answers.items():
        if response.status_code >= 400 and name != "token 401":
            assert response.json()["contextId"], name
    assert "contextId" not in answers["token 401"].json()


def test_latency_delays_every_answer_of_genesys(sim: SimulatorServer) -> None:
    # GIVEN a latency of half a second
    session = session_for(sim)
    sim.configure(latency=0.5)

    # WHEN a client that waits 0.2 s asks both hosts, then the latency is taken away
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.post(
            sim.base_url + "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(CLIENT_ID, CLIENT_SECRET),
            timeout=0.2,
        )
    with pytest.raises(requests.exceptions.ReadTimeout):
        session.post(sim.base_url + AGGREGATES_JOBS, json=AGGREGATES_QUERY, timeout=0.2)
    sim.configure(latency=0)

    # THEN both timed out, and without latency the same client is answered
    response = session.post(sim.base_url + AGGREGATES_JOBS, json=AGGREGATES_QUERY, timeout=0.2)
    assert response.status_code == 202


def test_week_rows_are_dated_on_sundays_when_weeks_start_on_sunday(sim: SimulatorServer) -> None:
    # GIVEN weeks that start on Sunday and a Week job of two whole such weeks
    sim.configure(week_start="sunday", polls_until_done=0)
    session = session_for(sim)
    body = {**AGGREGATES_QUERY, "interval": "2026-11-01T00:00:00Z/2026-11-14T23:59:59Z"}
    body["granularity"] = "Week"

    # WHEN its pages are read
    job = submit(sim, session, "aggregates", body)
    rows = [
        e
        for page in aggregates_pages(sim, session, job["resultsUri"], 1000)
        for e in page["entities"]
    ]

    # THEN its rows are the ground truth, dated on the two Sundays
    assert rows == sim.expected_rows("aggregates", body)
    assert {row["date"] for row in rows} == {"2026-11-01", "2026-11-08"}


def test_legacy_end_inclusive_answers_the_day_starting_at_the_end_over_http(
    sim: SimulatorServer,
) -> None:
    # GIVEN the same legacy query answered with the end exclusive, then inclusive
    sim.configure(polls_until_done=0)
    session = session_for(sim)
    body = {**LEGACY_QUERY_BODY, "groupBy": ["OrganizationId"]}
    answers = {}
    for reading in ("exclusive", "inclusive"):
        sim.configure(legacy_end=reading)
        job = submit(sim, session, "legacy", body)
        answers[reading] = legacy_pages(sim, session, job["resultsUri"])[0]["results"]

    # THEN inclusive has one more day: the one starting at the end instant
    assert [row["date"][:10] for row in answers["exclusive"]] == [
        "2026-11-18",
        "2026-11-19",
        "2026-11-20",
    ]
    assert [row["date"][:10] for row in answers["inclusive"]] == [
        "2026-11-18",
        "2026-11-19",
        "2026-11-20",
        "2026-11-21",
    ]


def test_a_job_keeps_the_readings_it_was_submitted_under(sim: SimulatorServer) -> None:
    # GIVEN a finished job submitted with late data, then the late data taken away
    sim.configure(polls_until_done=0, late_days=2)
    session = session_for(sim)
    job = submit(sim, session, "aggregates", AGGREGATES_QUERY)
    partial = sim.expected_rows("aggregates", AGGREGATES_QUERY)
    sim.configure(late_days=0)

    # WHEN its pages are read
    rows = [
        e
        for page in aggregates_pages(sim, session, job["resultsUri"], 1000)
        for e in page["entities"]
    ]

    # THEN they are what the job was submitted under, not what a new job would answer
    assert rows == partial
    assert rows != sim.expected_rows("aggregates", AGGREGATES_QUERY)


def test_options_are_set_and_refused_over_http(sim: SimulatorServer) -> None:
    # GIVEN the config endpoint
    url = sim.base_url + "/_sim/config"

    # WHEN every new option is set in camelCase and kebab-case, and bad values are sent
    changed = requests.post(
        url,
        json={
            "weekStart": "sunday",
            "legacy-end": "inclusive",
            "lateDays": 2,
            "latency": 0.01,
            "today": "2026-11-23",
        },
        timeout=5,
    )
    read_back = requests.get(url, timeout=5).json()
    refused = [
        requests.post(url, json=body, timeout=5)
        for body in ({"weekStart": "friday"}, {"lateDays": -1}, {"org": "huge"}, {"colour": 1})
    ]

    # THEN the settings are changed (and read back the same), the bad ones refused by name
    assert changed.status_code == 200
    for body in (changed.json(), read_back):
        assert (body["weekStart"], body["legacyEnd"], body["lateDays"]) == (
            "sunday",
            "inclusive",
            2,
        )
        assert (body["latency"], body["today"]) == (0.01, "2026-11-23")
    assert sim.today == date(2026, 11, 23)
    for response, named in zip(refused, ("week-start", "late-days", "org", "colour"), strict=True):
        assert named in assert_genesys_error(response, 400, "bad.request")["message"]


def test_cli_takes_every_option_as_a_flag_and_refuses_bad_values() -> None:
    # GIVEN the simulator started with readings on the command line, and with a bad one
    refused = subprocess.run(
        [sys.executable, "-m", "local.genesys_simulator", "--week-start", "friday"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "local.genesys_simulator", "--port", "0", "--week-start",
         "sunday", "--legacy-end", "inclusive", "--late-days", "3", "--latency", "0.01"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        # WHEN its configuration is read
        assert process.stdout is not None
        base_url = process.stdout.readline().strip().rsplit(" ", 1)[-1]
        config = requests.get(base_url + "/_sim/config", timeout=5).json()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)

    # THEN the flags took effect, and the bad value was refused naming option, value, choices
    assert (config["weekStart"], config["legacyEnd"]) == ("sunday", "inclusive")
    assert (config["lateDays"], config["latency"]) == (3, 0.01)
    assert refused.returncode == 2
    assert "week-start" in refused.stderr and "friday" in refused.stderr
    assert "monday | sunday" in refused.stderr
