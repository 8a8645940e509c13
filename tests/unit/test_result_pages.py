"""store_result_pages with a fake Genesys client and moto S3; and the job, end to end, with the
real client over HTTP."""

from __future__ import annotations

import dataclasses
import gzip
import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.unit.conftest import SOURCE_BUCKET as BUCKET
from tests.unit.fake_genesys import FakeClock, FakeGenesys, json_reply, make_client, token_reply
from tests.unit.test_job import (
    NOW,
    POLL_SETTINGS,
    QUERY,
    RUN_ID,
    FakeJobClient,
    make_page,
    running_job,
)
from usage_pipeline.constants import AGGREGATES_JOBS_PATH, TOKEN_PATH
from usage_pipeline.genesys import Page, PageCursor, RetryLaterError
from usage_pipeline.job import poll_job, submit_job
from usage_pipeline.layout import raw_page_key
from usage_pipeline.result_pages import StoredPages, store_result_pages
from usage_pipeline.state import Job, Raw
from usage_pipeline.storage import BucketStore
from usage_pipeline.warm_container import forget_all


@pytest.fixture
def s3_client(s3_with_bucket: Any) -> Any:
    return s3_with_bucket


def store_pages(
    client: Any, job: Job, *, s3_client: Any, **options: Any
) -> tuple[Raw, float | None]:
    """store_result_pages into the test bucket: where storing stands, and Genesys's wait."""
    stored: StoredPages = store_result_pages(
        client, job, store=BucketStore(s3_client, BUCKET), run_id=RUN_ID, **options
    )
    return stored.raw, stored.retry_after_seconds


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
    raw, wait = store_pages(client, complete_job(), s3_client=s3_client, page_size=3)

    # THEN
    assert raw == Raw(prefix=f"raw/run={RUN_ID}/", pages=3, rows=7, next=None)
    assert wait is None
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
    store_pages(client, complete_job(), s3_client=s3_client, page_size=1)

    # THEN
    assert stored_before == [0, 1, 2]


def test_store_pages_is_idempotent_on_retry(s3_client: Any) -> None:
    # GIVEN a first attempt already stored the pages
    pages = [make_page(1, 2, "a"), make_page(2, 2, None)]
    store_pages(
        FakeJobClient(pages=pages),
        complete_job(),
        s3_client=s3_client,
        page_size=2,
    )
    first = stored_objects(s3_client)

    # WHEN the invocation is retried
    raw, _ = store_pages(
        FakeJobClient(pages=pages),
        complete_job(),
        s3_client=s3_client,
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
            page_size=10,
        )


# --- The real client over HTTP, end to end ----------------------------------------------------


def test_submit_poll_and_store_with_the_real_client(s3_client: Any) -> None:
    # GIVEN a stub Genesys whose job is Running once, then has two pages
    forget_all()
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
        running = poll_job(client, job, now=NOW + timedelta(seconds=2), settings=POLL_SETTINGS)
        assert (running.job.state, running.backoff_seconds) == ("running", 4)
        done = poll_job(client, running.job, now=NOW + timedelta(seconds=6), settings=POLL_SETTINGS)
        job, wait = done.job, done.backoff_seconds
        raw, _ = store_pages(
            client,
            job,
            s3_client=s3_client,
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
    forget_all()


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
            page_size=2,
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


def test_a_retried_invocation_resumes_at_the_checkpoint(s3_client: Any) -> None:
    # GIVEN an invocation stopped (timed out) after storing 3 of 4 pages, before it could return
    pages = [make_page(n, 1, None if n == 4 else f"c{n + 1}") for n in range(1, 5)]
    stopper = FakeJobClient(pages=pages[:3])
    store_pages(stopper, complete_job(), s3_client=s3_client, page_size=1)
    fetched: list[int] = []
    retry_client = FakeJobClient(pages=pages, on_page=lambda page: fetched.append(page.number))

    # WHEN the state machine retries with the state document it had before (nothing stored)
    raw, _ = store_pages(retry_client, complete_job(), s3_client=s3_client, page_size=1)

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
        page_size=3,
    )

    # THEN page 1 is kept, the cursor points at page 2 and Genesys's wait goes to the handler
    assert (raw.pages, raw.rows, raw.next, wait) == (1, 3, PageCursor(2, "c2"), 7.2)
