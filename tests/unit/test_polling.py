"""submit_job, poll_job and store_pages with a fake Genesys client and moto S3."""

from __future__ import annotations

import dataclasses
import gzip
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.unit.fake_genesys import FakeClock, FakeGenesys, json_reply, make_client, token_reply
from usage_pipeline.constants import AGGREGATES_JOBS_PATH, TOKEN_PATH
from usage_pipeline.genesys import JobStatus, Page, PageCursor, RetryLaterError, clear_token_cache
from usage_pipeline.polling import (
    next_wait_seconds,
    poll_job,
    raw_page_key,
    store_pages,
    submit_job,
)
from usage_pipeline.state import Job, Raw, from_json, to_json

NOW = datetime(2026, 11, 22, 1, 40, 1, tzinfo=UTC)
BUCKET = "source-bucket"
RUN_ID = "20261122T014000Z-3fa2b1c0"
QUERY = {"api": "aggregates", "start": "2026-11-20", "end": "2026-11-22", "granularity": "Day"}
POLL_SETTINGS = {"initial_wait": 2, "max_wait": 60, "job_timeout_seconds": 3600}


def make_page(number: int, row_count: int, next_cursor: str | None) -> Page:
    """Page ``number``; it was asked with cursor ``c<number>`` (page 1 with none)."""
    document = {
        "queryStatus": "Succeeded",
        "entities": [{"requestCount": i} for i in range(row_count)],
    }
    # Odd spacing on purpose: stored bytes must be the page's, not a re-serialization.
    body = json.dumps(document, indent=1).encode()
    return Page(
        number, body, document, row_count, None if number == 1 else f"c{number}", next_cursor
    )


@dataclass
class FakeJobClient:
    """Stands in for GenesysClient: scripted statuses and pages, every call recorded."""

    job_id: str = "job-1"
    statuses: list[JobStatus] = field(default_factory=list)
    pages: list[Page] = field(default_factory=list)
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    on_page: Any = None  # called just before each page is handed out

    def submit(self, query: Mapping[str, Any]) -> str:
        self.calls.append(("submit", dict(query)))
        return self.job_id

    def status(self, api: str, job_id: str, *, page_size: int = 1000) -> JobStatus:
        self.calls.append(("status", api, job_id, page_size))
        return self.statuses.pop(0)

    def iter_pages(
        self,
        api: str,
        job_id: str,
        page_size: int = 1000,
        *,
        start: PageCursor | None = None,
        first_page: Page | None = None,
        wait_on_rate_limit: bool = True,
    ) -> Iterator[Page]:
        self.calls.append(("iter_pages", api, job_id, page_size))
        first = (start or PageCursor()).number
        for page in self.pages[first - 1 :]:
            if self.on_page is not None:
                self.on_page(page)
            yield page


def running_job(polls: int = 0, submitted: datetime = NOW) -> Job:
    return from_json(
        Job,
        {
            "api": "aggregates",
            "id": "job-1",
            "state": "running",
            "status": "Running",
            "polls": polls,
            "submittedAt": submitted.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "message": None,
        },
    )


def poll(client: FakeJobClient, job: Job, **settings: Any) -> tuple[Job, int]:
    """poll_job's job and wait, as the handler puts them into the state document."""
    outcome = poll_job(client, job, **settings)
    return outcome.job, outcome.wait_seconds


# --- submit_job -------------------------------------------------------------------------------


def test_submit_job_returns_the_job_member_of_the_state_document() -> None:
    # GIVEN
    client = FakeJobClient(job_id="abc-123")

    # WHEN
    job = submit_job(client, QUERY, NOW)

    # THEN the JSON between states is the documented one
    assert to_json(job) == {
        "api": "aggregates",
        "id": "abc-123",
        "state": "running",
        "status": "Submitted",
        "polls": 0,
        "submittedAt": "2026-11-22T01:40:01Z",
        "message": None,
    }
    assert client.calls == [("submit", QUERY)]
    assert json.loads(json.dumps(to_json(job))) == to_json(job)  # it travels in the state payload


def test_submitted_at_is_utc_whatever_the_clocks_zone() -> None:
    # GIVEN
    plus_two = NOW.astimezone(timezone(timedelta(hours=2))).replace(microsecond=999_999)
    assert plus_two.hour == 3

    # WHEN
    job = submit_job(FakeJobClient(), QUERY, plus_two)

    # THEN
    assert job.submitted_at == "2026-11-22T01:40:01Z"


# --- poll_job ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("polls", "expected"),
    [(0, 2), (1, 4), (2, 8), (3, 16), (4, 32), (5, 60), (50, 60), (10_000, 60)],
)
def test_next_wait_doubles_per_poll_up_to_the_cap(polls: int, expected: int) -> None:
    assert next_wait_seconds(polls, initial_wait=2, max_wait=60) == expected


def test_a_running_job_waits_longer_after_each_poll() -> None:
    # GIVEN
    client = FakeJobClient(
        statuses=[JobStatus("running", "Queued"), JobStatus("running", "Running")]
    )
    job = running_job()

    # WHEN
    job, first_wait = poll(client, job, now=NOW + timedelta(seconds=2), **POLL_SETTINGS)
    job, second_wait = poll(client, job, now=NOW + timedelta(seconds=6), **POLL_SETTINGS)

    # THEN
    assert (first_wait, second_wait) == (4, 8)
    assert (job.state, job.status, job.polls, job.message) == (
        "running",
        "Running",
        2,
        None,
    )


def test_a_rate_limited_status_call_waits_retry_after_and_stays_running() -> None:
    # GIVEN
    client = FakeJobClient(statuses=[JobStatus("running", None, retry_after_seconds=12.2)])

    # WHEN
    job, wait = poll(client, running_job(polls=3), now=NOW, **POLL_SETTINGS)

    # THEN the last known status is kept and the wait is rounded up
    assert wait == 13
    assert (job.state, job.status, job.polls) == ("running", "Running", 4)


def test_a_zero_retry_after_still_waits_a_second() -> None:
    client = FakeJobClient(statuses=[JobStatus("running", None, retry_after_seconds=0.0)])
    assert poll(client, running_job(), now=NOW, **POLL_SETTINGS)[1] == 1


@pytest.mark.parametrize(
    "status", [JobStatus("running", "Running"), JobStatus("running", None, retry_after_seconds=5)]
)
def test_a_job_still_running_after_the_timeout_is_timed_out(status: JobStatus) -> None:
    # GIVEN
    client = FakeJobClient(statuses=[status])

    # WHEN
    job, _wait = poll(client, running_job(), now=NOW + timedelta(seconds=3601), **POLL_SETTINGS)

    # THEN
    assert job.state == "timed_out"
    assert job.message == (
        "Genesys aggregates job job-1 was not complete 3601s after it was submitted "
        "(limit 3600s); last status Running"
    )


def test_a_job_at_exactly_the_timeout_keeps_running() -> None:
    client = FakeJobClient(statuses=[JobStatus("running", "Running")])
    job, _ = poll(client, running_job(), now=NOW + timedelta(seconds=3600), **POLL_SETTINGS)
    assert job.state == "running"


def test_a_job_that_completed_after_the_timeout_is_still_used() -> None:
    client = FakeJobClient(statuses=[JobStatus("complete", "Succeeded")])
    job, wait = poll(client, running_job(), now=NOW + timedelta(hours=5), **POLL_SETTINGS)
    assert (job.state, job.status, job.message, wait) == ("complete", "Succeeded", None, 0)


@pytest.mark.parametrize(
    ("status", "state", "message"),
    [
        (JobStatus("failed", "Failed", "query too big"), "failed", "query too big"),
        (
            JobStatus("failed", "Failed"),
            "failed",
            "Genesys aggregates job job-1 ended Failed without a message",
        ),
        (
            JobStatus("cancelled", "Cancelled"),
            "cancelled",
            "Genesys aggregates job job-1 ended Cancelled without a message",
        ),
    ],
)
def test_a_failed_or_cancelled_job_carries_the_apis_message(
    status: JobStatus, state: str, message: str
) -> None:
    # GIVEN
    client = FakeJobClient(statuses=[status])

    # WHEN
    job, wait = poll(client, running_job(), now=NOW, **POLL_SETTINGS)

    # THEN
    assert (job.state, job.message, wait) == (state, message, 0)


def test_poll_job_does_not_change_the_job_it_was_given() -> None:
    client = FakeJobClient(statuses=[JobStatus("complete", "Succeeded")])
    job = running_job()
    poll_job(client, job, now=NOW, **POLL_SETTINGS)
    assert job == running_job()


# --- store_pages ------------------------------------------------------------------------------


@pytest.fixture
def s3_client() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        yield client


def complete_job() -> Job:
    return dataclasses.replace(running_job(polls=4), state="complete", status="Succeeded")


def stored_objects(s3_client: Any) -> dict[str, bytes]:
    listing = s3_client.list_objects_v2(Bucket=BUCKET).get("Contents", [])
    return {
        o["Key"]: s3_client.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read() for o in listing
    }


def test_store_pages_writes_each_page_exactly_as_received_gzipped(s3_client: Any) -> None:
    # GIVEN
    pages = [make_page(1, 3, "a"), make_page(2, 3, "b"), make_page(3, 1, None)]
    client = FakeJobClient(pages=pages)

    # WHEN
    raw, wait = store_pages(
        client, complete_job(), s3_client=s3_client, bucket=BUCKET, run_id=RUN_ID, page_size=3
    )

    # THEN
    assert raw == Raw(prefix=f"raw/run={RUN_ID}/", pages=3, rows=7, next=None)
    assert wait == 0
    objects = stored_objects(s3_client)
    assert sorted(objects) == [
        f"raw/run={RUN_ID}/page-00001.json.gz",
        f"raw/run={RUN_ID}/page-00002.json.gz",
        f"raw/run={RUN_ID}/page-00003.json.gz",
        f"raw/run={RUN_ID}/progress.json",
    ]
    assert [gzip.decompress(objects[raw_page_key(RUN_ID, n)]) for n in (1, 2, 3)] == [
        p.body for p in pages
    ]
    head = s3_client.head_object(Bucket=BUCKET, Key=raw_page_key(RUN_ID, 1))
    assert head["ContentType"] == "application/json"
    assert client.calls == [("iter_pages", "aggregates", "job-1", 3)]


def test_store_pages_streams_one_page_at_a_time(s3_client: Any) -> None:
    # GIVEN a client that checks, before handing out page n, that page n-1 is already stored
    stored_before: list[int] = []

    def count_stored(_page: Page) -> None:
        stored_before.append(len([k for k in stored_objects(s3_client) if "/page-" in k]))

    client = FakeJobClient(pages=[make_page(n, 1, None) for n in (1, 2, 3)], on_page=count_stored)

    # WHEN
    store_pages(
        client, complete_job(), s3_client=s3_client, bucket=BUCKET, run_id=RUN_ID, page_size=1
    )

    # THEN
    assert stored_before == [0, 1, 2]


def test_store_pages_is_idempotent_on_retry(s3_client: Any) -> None:
    # GIVEN a first attempt already stored the pages
    pages = [make_page(1, 2, "a"), make_page(2, 2, None)]
    store_pages(
        FakeJobClient(pages=pages),
        complete_job(),
        s3_client=s3_client,
        bucket=BUCKET,
        run_id=RUN_ID,
        page_size=2,
    )
    first = stored_objects(s3_client)

    # WHEN the invocation is retried
    raw, _ = store_pages(
        FakeJobClient(pages=pages),
        complete_job(),
        s3_client=s3_client,
        bucket=BUCKET,
        run_id=RUN_ID,
        page_size=2,
    )

    # THEN the same keys hold the same bytes
    assert stored_objects(s3_client) == first
    assert raw.pages == 2


def test_store_pages_refuses_a_job_that_is_not_complete(s3_client: Any) -> None:
    with pytest.raises(ValueError, match="not complete"):
        store_pages(
            FakeJobClient(),
            running_job(),
            s3_client=s3_client,
            bucket=BUCKET,
            run_id=RUN_ID,
            page_size=10,
        )


def test_page_keys_are_five_digit_and_one_based() -> None:
    assert raw_page_key(RUN_ID, 1) == f"raw/run={RUN_ID}/page-00001.json.gz"
    assert raw_page_key(RUN_ID, 12345) == f"raw/run={RUN_ID}/page-12345.json.gz"


# --- The real client over HTTP, end to end ----------------------------------------------------


def test_submit_poll_and_store_with_the_real_client(s3_client: Any) -> None:
    # GIVEN a stub Genesys whose job is Running once, then has two pages
    clear_token_cache()
    clock = FakeClock()
    job_path = f"{AGGREGATES_JOBS_PATH}/job-77"
    page_1 = {
        "queryStatus": "Succeeded",
        "entities": [{"requestCount": 1}],
        "nextUri": f"{job_path}?after=p2",
    }
    page_2 = {"queryStatus": "Succeeded", "entities": [{"requestCount": 2}, {"requestCount": 3}]}
    with FakeGenesys() as fake:
        fake.add("POST", TOKEN_PATH, token_reply())
        fake.add("POST", AGGREGATES_JOBS_PATH, json_reply(202, {"id": "job-77"}))
        fake.add(
            "GET",
            job_path,
            json_reply(200, {"queryStatus": "Running"}),
            json_reply(200, page_1),
            json_reply(200, page_2),
        )
        client = make_client(fake.base_url, clock)

        # WHEN
        job = submit_job(client, QUERY, NOW)
        job, wait = poll(client, job, now=NOW + timedelta(seconds=2), **POLL_SETTINGS)
        assert (job.state, wait) == ("running", 4)
        done = poll_job(client, job, now=NOW + timedelta(seconds=6), **POLL_SETTINGS)
        job, wait = done.job, done.wait_seconds
        raw, _ = store_pages(
            client,
            job,
            s3_client=s3_client,
            bucket=BUCKET,
            run_id=RUN_ID,
            page_size=1000,
            first_page=done.first_page,
        )
        page_requests = fake.calls("GET", job_path)

    # THEN the status answer that found the job complete was stored as page 1: one GET per page
    assert (job.state, job.status, job.polls, wait) == ("complete", "Succeeded", 2, 0)
    assert raw == Raw(prefix=f"raw/run={RUN_ID}/", pages=2, rows=3, next=None)
    assert len(page_requests) == 3  # Running, page 1 (the status call), page 2
    stored = stored_objects(s3_client)
    assert json.loads(gzip.decompress(stored[raw_page_key(RUN_ID, 2)])) == page_2
    clear_token_cache()


# --- store_pages across invocations -------------------------------------------------------------


class _Clock:
    """Seconds left in an invocation that spends one second per page stored."""

    def __init__(self, seconds: float) -> None:
        self.left = seconds

    def __call__(self) -> float:
        return self.left


def test_an_invocation_stops_when_its_time_runs_short_and_the_next_resumes(
    s3_client: Any,
) -> None:
    # GIVEN five pages and invocations that each have time for two pages
    pages = [make_page(n, 2, None if n == 5 else f"c{n + 1}") for n in range(1, 6)]
    fetched: list[int] = []
    client = FakeJobClient(pages=pages)
    raw = None
    stored_per_invocation = []
    for _ in range(4):
        clock = _Clock(10.0)
        client.on_page = lambda page, clock=clock: (
            fetched.append(page.number),
            setattr(clock, "left", clock.left - 3),
        )

        # WHEN each invocation stores pages while 5 s or more are left
        raw, _ = store_pages(
            client,
            complete_job(),
            s3_client=s3_client,
            bucket=BUCKET,
            run_id=RUN_ID,
            page_size=2,
            resume=raw,
            seconds_left=clock,
            stop_below_seconds=5.0,
        )
        stored_per_invocation.append(raw.pages)
        if raw.next is None:
            break

    # THEN every page was fetched and stored exactly once, in order, two per invocation
    assert fetched == [1, 2, 3, 4, 5]
    assert stored_per_invocation == [2, 4, 5]
    assert raw == Raw(prefix=f"raw/run={RUN_ID}/", pages=5, rows=10, next=None)
    stored = stored_objects(s3_client)
    assert [gzip.decompress(stored[raw_page_key(RUN_ID, n)]) for n in range(1, 6)] == [
        page.body for page in pages
    ]


def test_a_retried_invocation_resumes_at_the_checkpoint_not_the_state(s3_client: Any) -> None:
    # GIVEN an invocation stopped (timed out) after storing 3 of 4 pages, before it could return
    pages = [make_page(n, 1, None if n == 4 else f"c{n + 1}") for n in range(1, 5)]
    stopper = FakeJobClient(pages=pages[:3])
    store_pages(
        stopper, complete_job(), s3_client=s3_client, bucket=BUCKET, run_id=RUN_ID, page_size=1
    )
    fetched: list[int] = []
    retry_client = FakeJobClient(pages=pages, on_page=lambda page: fetched.append(page.number))

    # WHEN the state machine retries with the state document it had before (nothing stored)
    raw, _ = store_pages(
        retry_client,
        complete_job(),
        s3_client=s3_client,
        bucket=BUCKET,
        run_id=RUN_ID,
        page_size=1,
        resume=Raw(prefix=f"raw/run={RUN_ID}/", pages=0, rows=0, next=PageCursor()),
    )

    # THEN it fetches only the page that was missing
    assert fetched == [4]
    assert (raw.pages, raw.rows, raw.next) == (4, 4, None)


def test_a_429_while_storing_hands_the_wait_to_the_state_machine(s3_client: Any) -> None:
    # GIVEN a Genesys that answers the second page with 429, Retry-After 7.2 s
    class RateLimitedAtPage2(FakeJobClient):
        def iter_pages(self, *args: Any, **kwargs: Any) -> Iterator[Page]:
            assert kwargs["wait_on_rate_limit"] is False  # a Lambda must not sleep on it
            yield pages[0]
            raise RetryLaterError(7.2, PageCursor(2, "c2"))

    pages = [make_page(1, 3, "c2"), make_page(2, 3, None)]

    # WHEN pages are stored
    raw, wait = store_pages(
        RateLimitedAtPage2(),
        complete_job(),
        s3_client=s3_client,
        bucket=BUCKET,
        run_id=RUN_ID,
        page_size=3,
    )

    # THEN page 1 is kept, the cursor points at page 2 and the wait is Retry-After, rounded up
    assert (raw.pages, raw.rows, raw.next, wait) == (1, 3, PageCursor(2, "c2"), 8)
