"""GenesysClient against a scripted HTTP server on 127.0.0.1: auth, retries, bodies, pages."""

from __future__ import annotations

import base64
import logging
import urllib.parse
from collections.abc import Iterator
from datetime import date

import pytest

from tests.unit.fake_genesys import (
    CLIENT_ID,
    CLIENT_SECRET,
    CREDENTIALS,
    FakeClock,
    FakeGenesys,
    FakeSecret,
    Reply,
    UpperBoundRandom,
    error_reply,
    json_reply,
    make_client,
    token_reply,
)
from usage_pipeline.constants import AGGREGATES_JOBS_PATH, LEGACY_QUERY_PATH, TOKEN_PATH
from usage_pipeline.errors import (
    ConfigurationError,
    CursorLoop,
    GenesysAuthError,
    GenesysRateLimited,
    GenesysRequestRejected,
    GenesysUnavailable,
    PageMalformed,
    PageTruncated,
    PipelineError,
)
from usage_pipeline.genesys import GenesysClient, auth, build_query_body, paging
from usage_pipeline.query import parse_query
from usage_pipeline.secrets import ClientCredentials
from usage_pipeline.warm_container import forget_all

JOB_ID = "8f1c2b44-0c6e-4b7e-9d55-1d2f0a3b4c5d"
AGG_JOB_PATH = f"{AGGREGATES_JOBS_PATH}/{JOB_ID}"
LEGACY_RESULTS_PATH = f"{LEGACY_QUERY_PATH}/{JOB_ID}/results"

TODAY = date(2026, 11, 23)
QUERY_INPUT = {
    "interval": "2026-11-20/2026-11-22",
    "metrics": ["Requests", "Status200", "Status429"],
}
AGG_QUERY = parse_query(QUERY_INPUT, today=TODAY)
LEGACY_QUERY = parse_query({**QUERY_INPUT, "api": "legacy"}, today=TODAY)


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    forget_all()
    yield
    forget_all()


@pytest.fixture
def fake() -> Iterator[FakeGenesys]:
    with FakeGenesys() as server:
        server.add("POST", TOKEN_PATH, token_reply("token-1"))
        yield server


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def agg_page(entities: list[dict], after: str | None = None) -> Reply:
    document: dict = {"queryStatus": "Succeeded", "entities": entities, "selfUri": AGG_JOB_PATH}
    if after is not None:
        document["nextUri"] = f"{AGG_JOB_PATH}?pageSize=1000&after={after}"
    return json_reply(200, document)


def legacy_page(results: list[dict], after: str | None = None) -> Reply:
    document: dict = {"queryStatus": "Complete", "results": results}
    if after is not None:
        document["cursors"] = {"after": after}
    return json_reply(200, document)


def rows(count: int, start: int = 0) -> list[dict]:
    return [
        {"date": "2026-11-20", "httpMethod": "GET", "requestCount": i}
        for i in range(start, start + count)
    ]


# --- Configuration ----------------------------------------------------------------------------


def test_base_urls_come_from_the_environment() -> None:
    # GIVEN / WHEN
    client = GenesysClient("usw2.pure.cloud", FakeSecret())

    # THEN
    assert client.login_url == "https://login.usw2.pure.cloud"
    assert client.api_url == "https://api.usw2.pure.cloud"


@pytest.mark.parametrize(
    "environment",
    [
        "https://mypurecloud.com",
        "mypurecloud.com/api",
        "",
        "localhost",
        "my purecloud.com",
        "-bad.com",
    ],
)
def test_an_environment_that_is_not_a_host_name_is_refused(environment: str) -> None:
    with pytest.raises(ConfigurationError, match="Genesys environment"):
        GenesysClient(environment, FakeSecret())


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8787",
        "http://localhost:1",
        "http://[::1]:9000/",
        "https://sim.example.com",
    ],
)
def test_overrides_accept_https_anywhere_and_http_on_loopback(url: str) -> None:
    # WHEN
    client = GenesysClient("mypurecloud.com", FakeSecret(), login_url=url, api_url=url)

    # THEN
    assert client.api_url == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "http://api.mypurecloud.com",
        "http://10.0.0.5:8787",
        "ftp://127.0.0.1",
        "https://u:p@host.example",
    ],
)
def test_overrides_refuse_plain_http_off_loopback_and_odd_urls(url: str) -> None:
    with pytest.raises(ConfigurationError, match="not allowed"):
        GenesysClient("mypurecloud.com", FakeSecret(), api_url=url)


# --- Token ------------------------------------------------------------------------------------


def test_token_request_is_client_credentials_with_basic_auth(
    fake: FakeGenesys, clock: FakeClock
) -> None:
    # GIVEN
    fake.add("POST", AGGREGATES_JOBS_PATH, json_reply(202, {"id": JOB_ID}))
    client = make_client(fake.base_url, clock)

    # WHEN
    client.submit(AGG_QUERY)

    # THEN
    [token_call] = fake.calls("POST", TOKEN_PATH)
    scheme, encoded = token_call.headers["Authorization"].split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == f"{CLIENT_ID}:{CLIENT_SECRET}"
    assert urllib.parse.parse_qs(token_call.body.decode()) == {"grant_type": ["client_credentials"]}
    [api_call] = fake.calls("POST", AGGREGATES_JOBS_PATH)
    assert api_call.headers["Authorization"] == "Bearer token-1"


def test_token_is_cached_across_clients_of_a_warm_container(
    fake: FakeGenesys, clock: FakeClock
) -> None:
    # GIVEN two invocations, each building its own client
    fake.add("POST", AGGREGATES_JOBS_PATH, json_reply(202, {"id": JOB_ID}))

    # WHEN
    make_client(fake.base_url, clock).submit(AGG_QUERY)
    make_client(fake.base_url, clock).submit(AGG_QUERY)

    # THEN
    assert len(fake.calls("POST", TOKEN_PATH)) == 1
    assert len(fake.calls("POST", AGGREGATES_JOBS_PATH)) == 2


def test_token_is_renewed_60_seconds_before_it_expires(clock: FakeClock) -> None:
    # GIVEN a token that lives 120 s
    with FakeGenesys() as fake:
        fake.add("POST", TOKEN_PATH, token_reply("token-1", 120), token_reply("token-2", 120))
        fake.add("POST", AGGREGATES_JOBS_PATH, json_reply(202, {"id": JOB_ID}))
        client = make_client(fake.base_url, clock)

        # WHEN used at 0 s, 59 s and 61 s
        client.submit(AGG_QUERY)
        clock.advance(59)
        client.submit(AGG_QUERY)
        clock.advance(2)
        client.submit(AGG_QUERY)

        # THEN
        bearers = [c.headers["Authorization"] for c in fake.calls("POST", AGGREGATES_JOBS_PATH)]
        assert bearers == ["Bearer token-1", "Bearer token-1", "Bearer token-2"]


def test_a_401_from_the_api_refreshes_the_token_once_and_retries(clock: FakeClock) -> None:
    # GIVEN the cached token was revoked
    with FakeGenesys() as fake:
        fake.add("POST", TOKEN_PATH, token_reply("token-1"), token_reply("token-2"))
        fake.add(
            "POST",
            AGGREGATES_JOBS_PATH,
            error_reply(401, "Authentication failed", "bad.credentials"),
            json_reply(202, {"id": JOB_ID}),
        )

        # WHEN
        job_id = make_client(fake.base_url, clock).submit(AGG_QUERY)

        # THEN
        assert job_id == JOB_ID
        bearers = [c.headers["Authorization"] for c in fake.calls("POST", AGGREGATES_JOBS_PATH)]
        assert bearers == ["Bearer token-1", "Bearer token-2"]
        assert clock.sleeps == []


def test_a_second_401_after_the_refresh_is_an_auth_error(
    fake: FakeGenesys, clock: FakeClock
) -> None:
    # GIVEN
    fake.add(
        "POST", AGGREGATES_JOBS_PATH, error_reply(401, "Authentication failed", "bad.credentials")
    )

    # WHEN / THEN
    with pytest.raises(GenesysAuthError, match="Authentication failed"):
        make_client(fake.base_url, clock).submit(AGG_QUERY)
    assert len(fake.calls("POST", TOKEN_PATH)) == 2
    assert len(fake.calls("POST", AGGREGATES_JOBS_PATH)) == 2


@pytest.mark.parametrize("status", [400, 401])
def test_a_fixed_secret_is_read_once_more_when_the_kept_one_is_refused(
    status: int, clock: FakeClock
) -> None:
    # GIVEN a kept secret Genesys refuses, fixed in Secrets Manager since it was read
    fixed = ClientCredentials(CLIENT_ID, "the-fixed-secret")
    secret = FakeSecret(kept=ClientCredentials(CLIENT_ID, "a-wrong-secret"), stored=fixed)
    with FakeGenesys() as fake:
        refused = {"error": "invalid_client", "error_description": "bad secret"}
        fake.add("POST", TOKEN_PATH, json_reply(status, refused), token_reply("T1"))
        fake.add("POST", AGGREGATES_JOBS_PATH, json_reply(202, {"id": JOB_ID}))

        # WHEN
        job_id = make_client(fake.base_url, clock, credentials=secret).submit(AGG_QUERY)

    # THEN the secret was read once more, fresh, and the fixed one got the token
    assert job_id == JOB_ID
    assert secret.fresh_reads == 1
    sent = [call.headers["Authorization"] for call in fake.calls("POST", TOKEN_PATH)]
    assert [base64.b64decode(header.split(" ")[1]).decode() for header in sent] == [
        f"{CLIENT_ID}:a-wrong-secret",
        f"{CLIENT_ID}:the-fixed-secret",
    ]


@pytest.mark.parametrize("status", [400, 401])
def test_rejected_credentials_fail_fast_without_retries(status: int, clock: FakeClock) -> None:
    # GIVEN
    with FakeGenesys() as fake:
        fake.add(
            "POST",
            TOKEN_PATH,
            json_reply(
                status, {"error": "invalid_client", "error_description": "client not found"}
            ),
        )

        # WHEN / THEN
        with pytest.raises(GenesysAuthError, match="client not found"):
            make_client(fake.base_url, clock).submit(AGG_QUERY)
        assert len(fake.calls("POST", TOKEN_PATH)) == 1
        assert fake.calls("POST", AGGREGATES_JOBS_PATH) == []
        assert clock.sleeps == []


def test_the_token_endpoint_gets_the_5xx_retry_treatment(clock: FakeClock) -> None:
    # GIVEN
    with FakeGenesys() as fake:
        fake.add("POST", TOKEN_PATH, error_reply(503, "down", "service.unavailable"), token_reply())
        fake.add("POST", AGGREGATES_JOBS_PATH, json_reply(202, {"id": JOB_ID}))

        # WHEN
        make_client(fake.base_url, clock).submit(AGG_QUERY)

        # THEN
        assert len(fake.calls("POST", TOKEN_PATH)) == 2
        assert len(clock.sleeps) == 1


def test_a_token_answer_without_access_token_is_malformed(clock: FakeClock) -> None:
    with FakeGenesys() as fake:
        fake.add("POST", TOKEN_PATH, json_reply(200, {"token_type": "bearer"}))
        with pytest.raises(PageMalformed, match="access_token"):
            make_client(fake.base_url, clock).submit(AGG_QUERY)


# --- 429 --------------------------------------------------------------------------------------


def test_a_429_waits_retry_after_then_retries(fake: FakeGenesys, clock: FakeClock) -> None:
    # GIVEN
    fake.add(
        "POST",
        AGGREGATES_JOBS_PATH,
        error_reply(429, "Rate limit exceeded", "too.many.requests", {"Retry-After": "7"}),
        json_reply(202, {"id": JOB_ID}),
    )

    # WHEN
    job_id = make_client(fake.base_url, clock).submit(AGG_QUERY)

    # THEN
    assert job_id == JOB_ID
    assert clock.sleeps == [7.0]


@pytest.mark.parametrize(
    ("retry_after", "expected_sleep"),
    [("", 1.0), ("soon", 1.0), ("nan", 1.0), ("-5", 0.0), ("2.5", 2.5), ("999", 30.0)],
)
def test_retry_after_is_capped_and_defaults_to_one_second(
    retry_after: str, expected_sleep: float, fake: FakeGenesys, clock: FakeClock
) -> None:
    # GIVEN
    headers = {"Retry-After": retry_after} if retry_after else {}
    fake.add(
        "POST",
        AGGREGATES_JOBS_PATH,
        error_reply(429, "Rate limit exceeded", "too.many.requests", headers),
        json_reply(202, {"id": JOB_ID}),
    )

    # WHEN
    make_client(fake.base_url, clock, max_retry_after_seconds=30.0).submit(AGG_QUERY)

    # THEN
    assert clock.sleeps == [expected_sleep]


def test_retry_after_as_an_http_date_is_honoured(fake: FakeGenesys, clock: FakeClock) -> None:
    # GIVEN a date 12 s after the (fake) wall clock
    from email.utils import formatdate

    fake.add(
        "POST",
        AGGREGATES_JOBS_PATH,
        error_reply(
            429,
            "slow down",
            "too.many.requests",
            {"Retry-After": formatdate(clock.wall_now + 12, usegmt=True)},
        ),
        json_reply(202, {"id": JOB_ID}),
    )

    # WHEN
    make_client(fake.base_url, clock).submit(AGG_QUERY)

    # THEN
    assert clock.sleeps == [pytest.approx(12.0, abs=1.0)]


def test_429s_beyond_max_attempts_raise_rate_limited(fake: FakeGenesys, clock: FakeClock) -> None:
    # GIVEN
    fake.add(
        "POST",
        AGGREGATES_JOBS_PATH,
        error_reply(429, "Rate limit exceeded", "too.many.requests", {"Retry-After": "1"}),
    )

    # WHEN / THEN
    with pytest.raises(GenesysRateLimited, match="gave up after 3 attempt"):
        make_client(fake.base_url, clock, max_attempts=3).submit(AGG_QUERY)
    assert len(fake.calls("POST", AGGREGATES_JOBS_PATH)) == 3
    # The last Retry-After is waited out too, so the state machine's retry cannot come back early.
    assert clock.sleeps == [1.0, 1.0, 1.0]


def test_the_invocation_deadline_bounds_the_retry_budget(
    fake: FakeGenesys, clock: FakeClock
) -> None:
    # GIVEN a Lambda invocation with 3 s left for retries and a server that keeps failing
    fake.add("POST", AGGREGATES_JOBS_PATH, error_reply(503, "down", "service.unavailable"))
    client = make_client(fake.base_url, clock, max_attempts=50, time_left_seconds=3.0)

    # WHEN / THEN the call gives up before the invocation's time is gone
    with pytest.raises(GenesysUnavailable, match="gave up"):
        client.submit(AGG_QUERY)
    assert sum(clock.sleeps) <= 3.0


def test_429s_beyond_the_time_budget_raise_rate_limited(
    fake: FakeGenesys, clock: FakeClock
) -> None:
    # GIVEN Retry-After 8 s and 10 s of retry time: the second wait would end past the budget
    fake.add(
        "POST",
        AGGREGATES_JOBS_PATH,
        error_reply(429, "Rate limit exceeded", "too.many.requests", {"Retry-After": "8"}),
    )

    # WHEN / THEN
    with pytest.raises(GenesysRateLimited):
        make_client(fake.base_url, clock, max_retry_seconds=10.0).submit(AGG_QUERY)
    assert clock.sleeps == [8.0]
    assert len(fake.calls("POST", AGGREGATES_JOBS_PATH)) == 2


# --- 5xx and the network ----------------------------------------------------------------------


def test_5xx_is_retried_with_full_jitter_backoff(fake: FakeGenesys, clock: FakeClock) -> None:
    # GIVEN
    fake.add(
        "POST",
        AGGREGATES_JOBS_PATH,
        error_reply(503, "unavailable", "service.unavailable"),
        error_reply(500, "boom", "internal.server.error"),
        error_reply(502, "bad gateway"),
        json_reply(202, {"id": JOB_ID}),
    )

    # WHEN
    job_id = make_client(fake.base_url, clock).submit(AGG_QUERY)

    # THEN every wait lies under its doubling ceiling
    assert job_id == JOB_ID
    assert len(clock.sleeps) == 3
    for sleep, ceiling in zip(clock.sleeps, [0.5, 1.0, 2.0], strict=True):
        assert 0.0 <= sleep <= ceiling


def test_5xx_beyond_max_attempts_raises_unavailable(fake: FakeGenesys, clock: FakeClock) -> None:
    # GIVEN
    fake.add("POST", AGGREGATES_JOBS_PATH, error_reply(503, "unavailable", "service.unavailable"))

    # WHEN / THEN
    with pytest.raises(
        GenesysUnavailable, match=r"HTTP 503 \(unavailable.*\); gave up after 5 attempt"
    ):
        make_client(fake.base_url, clock, rng=UpperBoundRandom()).submit(AGG_QUERY)
    assert len(fake.calls("POST", AGGREGATES_JOBS_PATH)) == 5
    assert clock.sleeps == [0.5, 1.0, 2.0, 4.0]


def test_5xx_retries_stop_at_the_time_budget(fake: FakeGenesys, clock: FakeClock) -> None:
    # GIVEN backoff 0.5, 1, 2 ... and 3 s of retry time: the third wait would end at 3.5 s
    fake.add("POST", AGGREGATES_JOBS_PATH, error_reply(500, "boom", "internal.server.error"))

    # WHEN / THEN
    with pytest.raises(GenesysUnavailable):
        make_client(fake.base_url, clock, rng=UpperBoundRandom(), max_retry_seconds=3.0).submit(
            AGG_QUERY
        )
    assert clock.sleeps == [0.5, 1.0]
    assert len(fake.calls("POST", AGGREGATES_JOBS_PATH)) == 3


def test_a_dropped_connection_is_retried(fake: FakeGenesys, clock: FakeClock) -> None:
    # GIVEN
    fake.add(
        "POST", AGGREGATES_JOBS_PATH, Reply(drop_connection=True), json_reply(202, {"id": JOB_ID})
    )

    # WHEN
    job_id = make_client(fake.base_url, clock).submit(AGG_QUERY)

    # THEN
    assert job_id == JOB_ID
    assert len(clock.sleeps) == 1


def test_connection_errors_beyond_the_budget_raise_unavailable(
    fake: FakeGenesys, clock: FakeClock
) -> None:
    fake.add("POST", AGGREGATES_JOBS_PATH, Reply(drop_connection=True))
    with pytest.raises(GenesysUnavailable, match="ConnectionError"):
        make_client(fake.base_url, clock, max_attempts=2).submit(AGG_QUERY)


def test_a_read_timeout_is_retried_then_raises_unavailable(
    fake: FakeGenesys, clock: FakeClock
) -> None:
    # GIVEN a server slower than the read timeout
    fake.add("POST", AGGREGATES_JOBS_PATH, Reply(202, b'{"id": "x"}', delay_seconds=0.3))

    # WHEN / THEN
    with pytest.raises(GenesysUnavailable, match="ReadTimeout"):
        make_client(fake.base_url, clock, max_attempts=2, timeout=(1.0, 0.05)).submit(AGG_QUERY)
    assert len(clock.sleeps) == 1


def test_nothing_listening_raises_unavailable(clock: FakeClock) -> None:
    # GIVEN a port nobody listens on (the fake server is gone)
    with FakeGenesys() as gone:
        url = gone.base_url

    # WHEN / THEN
    with pytest.raises(GenesysUnavailable):
        make_client(url, clock, max_attempts=2).submit(AGG_QUERY)


# --- Other 4xx --------------------------------------------------------------------------------


def test_a_400_fails_at_once_with_the_api_message(fake: FakeGenesys, clock: FakeClock) -> None:
    # GIVEN
    fake.add(
        "POST",
        AGGREGATES_JOBS_PATH,
        error_reply(400, "interval: start must be within the last year"),
    )

    # WHEN / THEN
    with pytest.raises(
        GenesysRequestRejected, match="HTTP 400: interval: start must be within the last year"
    ):
        make_client(fake.base_url, clock).submit(AGG_QUERY)
    assert len(fake.calls("POST", AGGREGATES_JOBS_PATH)) == 1
    assert clock.sleeps == []


def test_a_404_on_status_fails_at_once(fake: FakeGenesys, clock: FakeClock) -> None:
    fake.add("GET", AGG_JOB_PATH, error_reply(404, "job not found", "not.found"))
    with pytest.raises(GenesysRequestRejected, match="job not found"):
        make_client(fake.base_url, clock).status("aggregates", JOB_ID)
    assert len(fake.calls("GET", AGG_JOB_PATH)) == 1


def test_a_4xx_without_a_json_body_names_the_http_reason(
    fake: FakeGenesys, clock: FakeClock
) -> None:
    fake.add("POST", AGGREGATES_JOBS_PATH, Reply(403, b"<html>nope</html>"))
    with pytest.raises(GenesysRequestRejected, match="HTTP 403: Forbidden"):
        make_client(fake.base_url, clock).submit(AGG_QUERY)


# --- Submit -----------------------------------------------------------------------------------


def test_aggregates_submit_sends_an_inclusive_interval(fake: FakeGenesys, clock: FakeClock) -> None:
    # GIVEN
    fake.add(
        "POST", AGGREGATES_JOBS_PATH, json_reply(202, {"id": JOB_ID, "resultsUri": AGG_JOB_PATH})
    )

    # WHEN
    job_id = make_client(fake.base_url, clock).submit(AGG_QUERY)

    # THEN
    assert job_id == JOB_ID
    [call] = fake.calls("POST", AGGREGATES_JOBS_PATH)
    assert call.headers["Content-Type"] == "application/json"
    assert call.json() == {
        "interval": "2026-11-20T00:00:00Z/2026-11-21T23:59:59Z",
        "granularity": "Day",
        "groupBy": ["HttpMethod", "OauthClientId", "TemplateUri"],
        "metrics": ["Requests", "Status200", "Status429"],
    }


def test_legacy_submit_sends_an_interval_whatever_its_ends_mean(
    fake: FakeGenesys, clock: FakeClock
) -> None:
    # GIVEN
    fake.add(
        "POST",
        LEGACY_QUERY_PATH,
        json_reply(202, {"executionId": JOB_ID, "resultsUri": LEGACY_RESULTS_PATH}),
    )

    # WHEN
    job_id = make_client(fake.base_url, clock).submit(LEGACY_QUERY)

    # THEN
    assert job_id == JOB_ID
    [call] = fake.calls("POST", LEGACY_QUERY_PATH)
    # THEN the end is the last second of the last day: inclusive or exclusive, the same days
    assert call.json() == {
        "interval": "2026-11-20T00:00:00Z/2026-11-21T23:59:59Z",
        "granularity": "Day",
        "groupBy": ["HttpMethod", "OAuthClientId", "TemplateUri"],
        "metrics": ["Requests", "Status200", "Status429"],
    }


def test_query_body_writes_dimensions_in_the_apis_spelling() -> None:
    # GIVEN a query asked in the other API's spelling
    query = parse_query(
        {"groupBy": ["OAuthClientId", "userid"], "granularity": "Month", "interval": "2026-10"},
        today=TODAY,
    )

    # WHEN
    body = build_query_body(query)

    # THEN
    assert body["groupBy"] == ["OauthClientId", "UserId"]
    assert body["granularity"] == "Month"


def test_query_body_of_a_total_query_has_an_empty_group_by() -> None:
    assert build_query_body(parse_query({"groupBy": []}, today=TODAY))["groupBy"] == []


def test_a_submit_answer_without_an_id_is_malformed(fake: FakeGenesys, clock: FakeClock) -> None:
    fake.add("POST", LEGACY_QUERY_PATH, json_reply(202, {"id": JOB_ID}))
    with pytest.raises(PageMalformed, match="executionId"):
        make_client(fake.base_url, clock).submit(LEGACY_QUERY)


# --- Status -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api", "document", "state", "message"),
    [
        ("aggregates", {"queryStatus": "Queued"}, "running", None),
        ("aggregates", {"queryStatus": "Running"}, "running", None),
        ("aggregates", {"queryStatus": "Succeeded", "entities": []}, "complete", None),
        (
            "aggregates",
            {
                "queryStatus": "Failed",
                "errorBody": {"message": "query too big", "code": "bad.request"},
            },
            "failed",
            "query too big",
        ),
        ("aggregates", {"queryStatus": "Cancelled"}, "cancelled", None),
        ("legacy", {"queryStatus": "Running"}, "running", None),
        ("legacy", {"queryStatus": "Complete", "results": []}, "complete", None),
        (
            "legacy",
            {"queryStatus": "Failed", "message": "execution failed"},
            "failed",
            "execution failed",
        ),
    ],
)
def test_status_is_normalized(
    api: str, document: dict, state: str, message: str | None, fake: FakeGenesys, clock: FakeClock
) -> None:
    # GIVEN
    fake.add(
        "GET",
        AGG_JOB_PATH if api == "aggregates" else LEGACY_RESULTS_PATH,
        json_reply(200, document),
    )

    # WHEN
    status = make_client(fake.base_url, clock).status(api, JOB_ID)

    # THEN
    assert (status.state, status.status, status.message) == (
        state,
        document["queryStatus"],
        message,
    )
    assert not status.rate_limited


def test_status_on_a_429_returns_the_wait_instead_of_sleeping(
    fake: FakeGenesys, clock: FakeClock
) -> None:
    # GIVEN
    fake.add(
        "GET",
        AGG_JOB_PATH,
        error_reply(429, "Rate limit exceeded", "too.many.requests", {"Retry-After": "12"}),
    )

    # WHEN
    status = make_client(fake.base_url, clock).status("aggregates", JOB_ID)

    # THEN
    assert status.rate_limited
    assert status.retry_after_seconds == 12.0
    assert status.state == "running"
    assert clock.sleeps == []
    assert len(fake.calls("GET", AGG_JOB_PATH)) == 1


def test_status_of_a_complete_job_carries_the_raw_first_page(
    fake: FakeGenesys, clock: FakeClock
) -> None:
    # GIVEN
    reply = agg_page(rows(3), after="c1")
    fake.add("GET", AGG_JOB_PATH, reply)

    # WHEN
    status = make_client(fake.base_url, clock).status("aggregates", JOB_ID, page_size=500)

    # THEN
    assert status.first_page is not None
    assert status.first_page.body == reply.body
    assert (status.first_page.rows, status.first_page.next_cursor) == (3, "c1")
    assert fake.calls("GET", AGG_JOB_PATH)[0].query == {"pageSize": ["500"]}


def test_an_undocumented_query_status_keeps_the_job_running(
    fake: FakeGenesys, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN Genesys answers a queryStatus its documentation does not list (it adds them)
    fake.add("GET", AGG_JOB_PATH, json_reply(200, {"queryStatus": "Pending"}))

    # WHEN / THEN the job counts as still running, and the value is logged
    status = make_client(fake.base_url, clock).status("aggregates", JOB_ID)
    assert (status.state, status.status, status.first_page) == ("running", "Pending", None)
    assert any(getattr(record, "query_status", None) == "Pending" for record in caplog.records)


def test_an_undocumented_query_status_on_a_result_page_is_malformed(
    fake: FakeGenesys, clock: FakeClock
) -> None:
    fake.add("GET", AGG_JOB_PATH, json_reply(200, {"queryStatus": "Exploded"}))
    with pytest.raises(PageMalformed, match="Exploded"):
        list(make_client(fake.base_url, clock).iter_pages("aggregates", JOB_ID, 1000))


def test_failed_calls_carry_genesys_context_and_correlation_ids(
    fake: FakeGenesys, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a 400 with Genesys' error body (contextId) and its correlation header
    reply = error_reply(400, "bad interval", headers={"ININ-Correlation-Id": "corr-42"})
    fake.add("POST", AGGREGATES_JOBS_PATH, reply)

    # WHEN / THEN the error and the log line name both, as Genesys support asks
    with pytest.raises(GenesysRequestRejected) as raised:
        make_client(fake.base_url, clock).submit(AGG_QUERY)
    assert "ctx" in str(raised.value) and "corr-42" in str(raised.value)
    logged = [getattr(record, "genesys", None) for record in caplog.records]
    assert {"contextId": "ctx", "ININ-Correlation-Id": "corr-42"} in logged


def test_408_is_retried_like_5xx(fake: FakeGenesys, clock: FakeClock) -> None:
    fake.add(
        "POST",
        AGGREGATES_JOBS_PATH,
        error_reply(408, "request timeout", "request.timeout"),
        json_reply(202, {"id": JOB_ID}),
    )
    assert make_client(fake.base_url, clock).submit(AGG_QUERY) == JOB_ID
    assert len(clock.sleeps) == 1


def test_status_refuses_an_unknown_api(fake: FakeGenesys, clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="api"):
        make_client(fake.base_url, clock).status("analytics", JOB_ID)


# --- Pages ------------------------------------------------------------------------------------


def test_aggregates_pages_follow_next_uri_and_keep_the_exact_bytes(
    fake: FakeGenesys, clock: FakeClock
) -> None:
    # GIVEN three pages linked by nextUri
    replies = [
        agg_page(rows(2), after="c1"),
        agg_page(rows(2, 2), after="c2"),
        agg_page(rows(1, 4)),
    ]
    fake.add("GET", AGG_JOB_PATH, *replies)

    # WHEN
    pages = list(make_client(fake.base_url, clock).iter_pages("aggregates", JOB_ID, 2))

    # THEN
    assert [p.body for p in pages] == [r.body for r in replies]
    assert [p.rows for p in pages] == [2, 2, 1]
    assert [p.number for p in pages] == [1, 2, 3]
    assert [p.document["entities"][0]["requestCount"] for p in pages] == [0, 2, 4]
    assert [c.query for c in fake.calls("GET", AGG_JOB_PATH)] == [
        {"pageSize": ["2"]},
        {"pageSize": ["2"], "after": ["c1"]},
        {"pageSize": ["2"], "after": ["c2"]},
    ]


def test_legacy_pages_follow_cursors_after(fake: FakeGenesys, clock: FakeClock) -> None:
    # GIVEN
    replies = [legacy_page(rows(3), after="x=1&y"), legacy_page(rows(1))]
    fake.add("GET", LEGACY_RESULTS_PATH, *replies)

    # WHEN
    pages = list(make_client(fake.base_url, clock).iter_pages("legacy", JOB_ID, 1000))

    # THEN the cursor travels URL-encoded and comes back intact
    assert [p.body for p in pages] == [r.body for r in replies]
    assert [c.query for c in fake.calls("GET", LEGACY_RESULTS_PATH)] == [{}, {"after": ["x=1&y"]}]


def test_an_empty_result_is_one_page_without_rows(fake: FakeGenesys, clock: FakeClock) -> None:
    fake.add("GET", AGG_JOB_PATH, json_reply(200, {"queryStatus": "Succeeded"}))
    [page] = make_client(fake.base_url, clock).iter_pages("aggregates", JOB_ID, 1000)
    assert page.rows == 0


def test_iter_pages_reuses_the_first_page_from_status(fake: FakeGenesys, clock: FakeClock) -> None:
    # GIVEN
    fake.add("GET", AGG_JOB_PATH, agg_page(rows(1), after="c1"), agg_page(rows(1, 1)))
    client = make_client(fake.base_url, clock)
    status = client.status("aggregates", JOB_ID, page_size=1000)

    # WHEN
    pages = list(client.iter_pages("aggregates", JOB_ID, 1000, first_page=status.first_page))

    # THEN only page 2 was fetched after the status call
    assert [p.rows for p in pages] == [1, 1]
    assert len(fake.calls("GET", AGG_JOB_PATH)) == 2


def test_a_repeated_cursor_is_a_cursor_loop(fake: FakeGenesys, clock: FakeClock) -> None:
    # GIVEN page 3 points back to page 2's cursor
    fake.add(
        "GET", AGG_JOB_PATH, agg_page(rows(1), "a"), agg_page(rows(1), "b"), agg_page(rows(1), "a")
    )

    # WHEN / THEN
    with pytest.raises(CursorLoop, match="'a'"):
        list(make_client(fake.base_url, clock).iter_pages("aggregates", JOB_ID, 1000))
    assert len(fake.calls("GET", AGG_JOB_PATH)) == 3


def test_pages_stop_at_the_hard_cap(
    fake: FakeGenesys, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN cursors that never repeat and a cap of 3 pages
    monkeypatch.setattr(paging, "MAX_PAGES", 3)
    counter = iter(range(1000))
    fake.add(
        "GET", LEGACY_RESULTS_PATH, lambda _request: legacy_page(rows(1), after=f"c{next(counter)}")
    )

    # WHEN / THEN
    with pytest.raises(CursorLoop, match="more than 3 pages"):
        list(make_client(fake.base_url, clock).iter_pages("legacy", JOB_ID, 1000))


@pytest.mark.parametrize(
    "body",
    [
        b"<html>Service Unavailable</html>",
        b'["not", "an", "object"]',
        b'{"queryStatus": "Succeeded", "entities": {"not": "a list"}}',
        b'{"queryStatus": "Succeeded", "entities": [1, 2]}',
        b'{"queryStatus": "Succeeded", "entities": [], "nextUri": "/no/cursor?pageSize=1"}',
        b'{"queryStatus": "Running"}',
    ],
)
def test_a_malformed_page_fails_without_retrying(
    body: bytes, fake: FakeGenesys, clock: FakeClock
) -> None:
    # GIVEN page 2 is malformed
    fake.add("GET", AGG_JOB_PATH, agg_page(rows(1), "c1"), Reply(200, body))

    # WHEN / THEN
    with pytest.raises(PageMalformed):
        list(make_client(fake.base_url, clock).iter_pages("aggregates", JOB_ID, 1000))
    assert len(fake.calls("GET", AGG_JOB_PATH)) == 2
    assert clock.sleeps == []


def test_a_legacy_page_with_odd_cursors_is_malformed(fake: FakeGenesys, clock: FakeClock) -> None:
    fake.add(
        "GET",
        LEGACY_RESULTS_PATH,
        json_reply(200, {"queryStatus": "Complete", "results": [], "cursors": "c"}),
    )
    with pytest.raises(PageMalformed, match="cursors"):
        list(make_client(fake.base_url, clock).iter_pages("legacy", JOB_ID, 1000))


def test_a_body_shorter_than_its_content_length_is_retried(
    fake: FakeGenesys, clock: FakeClock
) -> None:
    # GIVEN the first answer is cut after 20 bytes
    good = agg_page(rows(5))
    fake.add("GET", AGG_JOB_PATH, Reply(200, good.body[:20], content_length=len(good.body)), good)

    # WHEN
    [page] = make_client(fake.base_url, clock).iter_pages("aggregates", JOB_ID, 1000)

    # THEN
    assert page.body == good.body
    assert len(clock.sleeps) == 1


def test_a_body_that_stays_short_raises_page_truncated(fake: FakeGenesys, clock: FakeClock) -> None:
    good = agg_page(rows(5))
    fake.add("GET", AGG_JOB_PATH, Reply(200, good.body[:20], content_length=len(good.body)))
    with pytest.raises(PageTruncated, match="gave up after 3 attempt"):
        list(
            make_client(fake.base_url, clock, max_attempts=3).iter_pages("aggregates", JOB_ID, 1000)
        )
    assert len(fake.calls("GET", AGG_JOB_PATH)) == 3


@pytest.mark.parametrize(
    "cut", [b'{"queryStatus": "Succeeded", "entities": [{"date": "2026-1', b'{"queryStatus": ']
)
def test_cut_json_with_a_matching_length_raises_page_truncated(
    cut: bytes, fake: FakeGenesys, clock: FakeClock
) -> None:
    fake.add("GET", AGG_JOB_PATH, Reply(200, cut))
    with pytest.raises(PageTruncated, match="cut JSON"):
        list(
            make_client(fake.base_url, clock, max_attempts=2).iter_pages("aggregates", JOB_ID, 1000)
        )
    assert len(fake.calls("GET", AGG_JOB_PATH)) == 2


@pytest.mark.parametrize("page_size", [0, 1001])
def test_page_size_outside_the_api_range_is_refused(
    page_size: int, fake: FakeGenesys, clock: FakeClock
) -> None:
    with pytest.raises(ValueError, match="page_size"):
        list(make_client(fake.base_url, clock).iter_pages("aggregates", JOB_ID, page_size))


# --- Secrets stay secret ----------------------------------------------------------------------


def _leaks(text: str) -> list[str]:
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    return [value for value in (CLIENT_SECRET, basic, "token-LEAKY") if value in text]


def test_no_secret_or_token_in_any_error_or_log_line(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a server that echoes the secret and the token back in its error messages
    caplog.set_level(logging.DEBUG)
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    echo = f"bad {CLIENT_SECRET} token-LEAKY {basic}"
    failures: list[PipelineError] = []
    with FakeGenesys() as fake:
        fake.add("POST", TOKEN_PATH, token_reply("token-LEAKY"))
        fake.add(
            "POST",
            AGGREGATES_JOBS_PATH,
            error_reply(503, echo),
            error_reply(429, echo, headers={"Retry-After": "1"}),
            error_reply(400, echo),
        )
        fake.add("GET", AGG_JOB_PATH, Reply(200, b"{not json " + CLIENT_SECRET.encode()))
        fake.add("POST", LEGACY_QUERY_PATH, error_reply(401, echo))
        client = make_client(fake.base_url, clock)

        # WHEN every kind of failure happens
        for call in (
            lambda: client.submit(AGG_QUERY),
            lambda: list(client.iter_pages("aggregates", JOB_ID, 10)),
            lambda: client.submit(LEGACY_QUERY),
        ):
            with pytest.raises(PipelineError) as raised:
                call()
            failures.append(raised.value)

    # THEN
    texts = [str(f) + repr(f) + repr(f.__cause__) + repr(f.__context__) for f in failures]
    assert [type(f).__name__ for f in failures] == [
        "GenesysRequestRejected",
        "PageMalformed",
        "GenesysAuthError",
    ]
    assert all(_leaks(text) == [] for text in texts), texts
    assert _leaks(caplog.text) == []
    assert "***" in str(failures[0])
    assert _leaks(repr(client)) == [] and _leaks(repr(CREDENTIALS)) == []


def test_token_cache_entries_do_not_show_the_token() -> None:
    cached = auth.CachedToken("token-LEAKY", 1.0)
    assert "token-LEAKY" not in repr(cached)
