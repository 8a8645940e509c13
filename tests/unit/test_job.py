"""The Genesys job: submit_job and poll_job with a fake Genesys client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from usage_pipeline.config import PollSettings
from usage_pipeline.genesys import JobStatus, Page, PageCursor
from usage_pipeline.job import next_wait_seconds, poll_job, submit_job
from usage_pipeline.query import NormalizedQuery, parse_query
from usage_pipeline.state import Job, from_json, to_json

NOW = datetime(2026, 11, 22, 1, 40, 1, tzinfo=UTC)
RUN_ID = "20261122T014000Z-3fa2b1c0"
QUERY = parse_query({"interval": "2026-11-20/2026-11-22"}, today=date(2026, 11, 22))
POLL_SETTINGS = PollSettings(initial_wait_seconds=2, max_wait_seconds=60, job_timeout_seconds=3600)


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

    def submit(self, query: NormalizedQuery) -> str:
        self.calls.append(("submit", query))
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


def poll(client: FakeJobClient, job: Job, *, now: datetime) -> tuple[Job, int]:
    """poll_job's job and backoff."""
    outcome = poll_job(client, job, now=now, settings=POLL_SETTINGS)
    return outcome.job, outcome.backoff_seconds


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
    job, first_wait = poll(client, job, now=NOW + timedelta(seconds=2))
    job, second_wait = poll(client, job, now=NOW + timedelta(seconds=6))

    # THEN
    assert (first_wait, second_wait) == (4, 8)
    assert (job.state, job.status, job.polls, job.message) == (
        "running",
        "Running",
        2,
        None,
    )


def test_a_rate_limited_status_call_hands_retry_after_on_and_stays_running() -> None:
    # GIVEN
    client = FakeJobClient(statuses=[JobStatus("running", None, retry_after_seconds=12.2)])

    # WHEN
    outcome = poll_job(client, running_job(polls=3), now=NOW, settings=POLL_SETTINGS)

    # THEN the last known status is kept and Genesys's wait goes to the handler as asked
    assert outcome.retry_after_seconds == 12.2
    job = outcome.job
    assert (job.state, job.status, job.polls) == ("running", "Running", 4)


@pytest.mark.parametrize(
    "status", [JobStatus("running", "Running"), JobStatus("running", None, retry_after_seconds=5)]
)
def test_a_job_still_running_after_the_timeout_is_timed_out(status: JobStatus) -> None:
    # GIVEN
    client = FakeJobClient(statuses=[status])

    # WHEN
    job, _wait = poll(client, running_job(), now=NOW + timedelta(seconds=3601))

    # THEN
    assert job.state == "timed_out"
    assert job.message == (
        "Genesys aggregates job job-1 was not complete 3601s after it was submitted "
        "(limit 3600s); last status Running"
    )


def test_a_job_at_exactly_the_timeout_keeps_running() -> None:
    client = FakeJobClient(statuses=[JobStatus("running", "Running")])
    job, _ = poll(client, running_job(), now=NOW + timedelta(seconds=3600))
    assert job.state == "running"


def test_a_job_that_completed_after_the_timeout_is_still_used() -> None:
    client = FakeJobClient(statuses=[JobStatus("complete", "Succeeded")])
    job, wait = poll(client, running_job(), now=NOW + timedelta(hours=5))
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
    job, wait = poll(client, running_job(), now=NOW)

    # THEN
    assert (job.state, job.message, wait) == (state, message, 0)


def test_poll_job_does_not_change_the_job_it_was_given() -> None:
    client = FakeJobClient(statuses=[JobStatus("complete", "Succeeded")])
    job = running_job()
    poll_job(client, job, now=NOW, settings=POLL_SETTINGS)
    assert job == running_job()
