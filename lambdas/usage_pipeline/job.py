"""The Genesys usage job: submit the query, then ask for its status until it ends.

These functions build the ``job`` member of the state document (``state.py``) for the
``submit_query`` and ``poll_status`` handlers. They take the Genesys client and the clock as
parameters so tests run them against fakes, and they never read the environment. How long to wait
before the next poll is the handler's to put into the state (``handlers/genesys.py``): a backoff
while the job runs, or what Genesys asked for when it answered 429.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Protocol

from usage_pipeline import constants as c
from usage_pipeline import utc
from usage_pipeline.config import PollSettings
from usage_pipeline.genesys import JobStatus, Page, PageCursor
from usage_pipeline.observability import logger
from usage_pipeline.query import NormalizedQuery
from usage_pipeline.state import Job

# `job.status` before the first poll: the submit answer carries no queryStatus.
STATUS_SUBMITTED: Final = "Submitted"
# Doubling stops here; beyond it the cap always applies anyway (and 2**n stays small).
_MAX_BACKOFF_EXPONENT: Final = 30


class UsageJobClient(Protocol):
    """What the job and its result pages need from ``GenesysClient`` (tests pass fakes)."""

    def submit(self, query: NormalizedQuery) -> str: ...

    def status(self, api: str, job_id: str, *, page_size: int = ...) -> JobStatus: ...

    def iter_pages(
        self,
        api: str,
        job_id: str,
        page_size: int = ...,
        *,
        start: PageCursor | None = None,
        first_page: Page | None = None,
        wait_on_rate_limit: bool = True,
    ) -> Iterator[Page]: ...


@dataclass(frozen=True)
class Poll:
    """One status call's outcome: the updated job and, when complete, page 1.

    ``backoff_seconds`` is the wait before the next poll while the job runs (0 once it ended);
    ``retry_after_seconds`` is set instead when Genesys answered the call 429.
    """

    job: Job
    backoff_seconds: int
    retry_after_seconds: float | None = None
    first_page: Page | None = None


def submit_job(client: UsageJobClient, query: NormalizedQuery, now: datetime) -> Job:
    """Submit the normalized query; return the state document's ``job`` member."""
    job_id = client.submit(query)
    return Job(
        api=query.api,
        id=job_id,
        state=c.JOB_RUNNING,
        status=STATUS_SUBMITTED,
        polls=0,
        submitted_at=utc.timestamp(now),
        message=None,
    )


def next_wait_seconds(polls: int, *, initial_wait: int, max_wait: int) -> int:
    """Seconds to wait after ``polls`` status calls: initial_wait doubled per poll, capped."""
    exponent = min(max(polls, 0), _MAX_BACKOFF_EXPONENT)
    return max(1, min(max_wait, initial_wait * 2**exponent))


def poll_job(
    client: UsageJobClient,
    job: Job,
    *,
    now: datetime,
    settings: PollSettings,
    page_size: int = c.DEFAULT_PAGE_SIZE,
) -> Poll:
    """One status call, asked with the page size of every result page (its answer is page 1).

    The job's own outcome wins over the timeout: a job that finished after the deadline is used.
    """
    status = client.status(job.api, job.id, page_size=page_size)
    polled = dataclasses.replace(job, polls=job.polls + 1)
    if status.rate_limited:
        logger.info(
            "Status call was rate limited",
            extra={"job_id": job.id, "retry_after": status.retry_after_seconds},
        )
        polled = dataclasses.replace(polled, state=c.JOB_RUNNING)
        return Poll(
            _unless_timed_out(polled, now, settings.job_timeout_seconds),
            backoff_seconds=0,
            retry_after_seconds=status.retry_after_seconds or 0.0,
        )
    polled = dataclasses.replace(polled, status=status.status, state=status.state)
    if status.state == c.JOB_RUNNING:
        wait = next_wait_seconds(
            polled.polls,
            initial_wait=settings.initial_wait_seconds,
            max_wait=settings.max_wait_seconds,
        )
        return Poll(_unless_timed_out(polled, now, settings.job_timeout_seconds), wait)
    message = None if status.state == c.JOB_COMPLETE else status.message or _no_message(polled)
    polled = dataclasses.replace(polled, message=message)
    logger.info(
        "Genesys job ended",
        extra={"job_id": job.id, "state": status.state, "query_status": status.status},
    )
    return Poll(polled, 0, first_page=status.first_page)


def _unless_timed_out(job: Job, now: datetime, job_timeout_seconds: int) -> Job:
    elapsed = (utc.as_utc(now) - utc.parse_timestamp(job.submitted_at)).total_seconds()
    if elapsed <= job_timeout_seconds:
        return job
    return dataclasses.replace(
        job,
        state=c.JOB_TIMED_OUT,
        message=(
            f"Genesys {job.api} job {job.id} was not complete {int(elapsed)}s after it was "
            f"submitted (limit {job_timeout_seconds}s); last status {job.status}"
        ),
    )


def _no_message(job: Job) -> str:
    return f"Genesys {job.api} job {job.id} ended {job.status} without a message"
