"""Submit, poll and store: the logic behind the ``submit_query`` and ``poll_status`` handlers.

These functions build the ``job`` and ``raw`` members of the state document (``state.py``). They
take the Genesys client, the S3 client and the clock as parameters so tests run them against fakes,
and they never read the environment.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from usage_pipeline import constants as c
from usage_pipeline.genesys import JobStatus, Page, PageCursor, RetryLaterError
from usage_pipeline.layout import raw_page_key, raw_prefix, raw_progress_key
from usage_pipeline.observability import logger
from usage_pipeline.state import Job, Raw, from_json, to_json

# `job.status` before the first poll: the submit answer carries no queryStatus.
STATUS_SUBMITTED = "Submitted"
# Doubling stops here; beyond it the cap always applies anyway (and 2**n stays small).
_MAX_BACKOFF_EXPONENT = 30


class UsageJobClient(Protocol):
    """What these functions need from ``GenesysClient`` (tests pass fakes)."""

    def submit(self, query: Mapping[str, Any]) -> str: ...

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
    """One status call's outcome: the updated job, the next wait and, when complete, page 1."""

    job: Job
    wait_seconds: int
    first_page: Page | None = None


def submit_job(client: UsageJobClient, query: Mapping[str, Any], now: datetime) -> Job:
    """Submit the normalized query; return the state document's ``job`` member."""
    api = str(query["api"])
    job_id = client.submit(query)
    return Job(
        api=api,
        id=job_id,
        state=c.JOB_RUNNING,
        status=STATUS_SUBMITTED,
        polls=0,
        submitted_at=format_timestamp(now),
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
    initial_wait: int,
    max_wait: int,
    job_timeout_seconds: int,
    page_size: int = c.DEFAULT_PAGE_SIZE,
) -> Poll:
    """One status call, asked with the page size of every result page (its answer is page 1).

    The job's own outcome wins over the timeout: a job that finished after the deadline is used.
    """
    status = client.status(job.api, job.id, page_size=page_size)
    polled = dataclasses.replace(job, polls=job.polls + 1)
    if status.rate_limited:
        # Wait as long as Genesys asked; the state machine's Wait costs nothing, a Lambda would.
        wait = _retry_after_wait(status.retry_after_seconds)
        logger.info("Status call was rate limited", extra={"job_id": job.id, "wait": wait})
        polled = dataclasses.replace(polled, state=c.JOB_RUNNING)
        return Poll(_unless_timed_out(polled, now, job_timeout_seconds), wait)
    polled = dataclasses.replace(polled, status=status.status, state=status.state)
    if status.state == c.JOB_RUNNING:
        wait = next_wait_seconds(polled.polls, initial_wait=initial_wait, max_wait=max_wait)
        return Poll(_unless_timed_out(polled, now, job_timeout_seconds), wait)
    message = None if status.state == c.JOB_COMPLETE else status.message or _no_message(polled)
    polled = dataclasses.replace(polled, message=message)
    logger.info(
        "Genesys job ended",
        extra={"job_id": job.id, "state": status.state, "query_status": status.status},
    )
    return Poll(polled, 0, status.first_page)


def store_pages(
    client: UsageJobClient,
    job: Job,
    *,
    s3_client: Any,
    bucket: str,
    run_id: str,
    page_size: int,
    first_page: Page | None = None,
    resume: Raw | None = None,
    seconds_left: Callable[[], float] = lambda: math.inf,
    stop_below_seconds: float = 0.0,
) -> tuple[Raw, int]:
    """Store result pages exactly as received, from where the last invocation stopped.

    Returns the ``raw`` member and the seconds to wait before going on (a 429's Retry-After, else
    0). Pages are stored until the last one (``raw.next`` None), until ``seconds_left()`` falls
    below ``stop_below_seconds`` (``raw.next`` is then the first page not stored), or until a page
    request is answered 429 (waited out by the state machine, not by this Lambda).

    After every page a checkpoint (``raw/run=<id>/progress.json``) records the position, so a
    retried invocation whose predecessor was stopped mid-way resumes there: no page is fetched or
    stored twice. ``first_page`` is the status answer that found the job complete: it is page 1,
    not downloaded again. One page is held in memory at a time; keys depend only on the run and
    the page number, and the gzip header carries no timestamp.
    """
    if job.state != c.JOB_COMPLETE:
        raise ValueError(f"job {job.id} is {job.state!r}, not complete")
    raw = _furthest(
        resume or Raw(raw_prefix(run_id), pages=0, rows=0, next=PageCursor()),
        _read_checkpoint(s3_client, bucket, run_id),
    )
    if raw.next is None:
        return raw, 0
    in_hand = (
        first_page if first_page is not None and first_page.number == raw.next.number else None
    )
    pages = client.iter_pages(
        job.api, job.id, page_size, start=raw.next, first_page=in_hand, wait_on_rate_limit=False
    )
    wait = 0
    try:
        for page in _while_time_allows(pages, seconds_left, stop_below_seconds):
            s3_client.put_object(
                Bucket=bucket,
                Key=raw_page_key(run_id, page.number),
                Body=gzip.compress(page.body, mtime=0),
                ContentType="application/json",
            )
            following = raw.next.following(page) if raw.next is not None else None
            raw = dataclasses.replace(
                raw, pages=raw.pages + 1, rows=raw.rows + page.rows, next=following
            )
            _write_checkpoint(s3_client, bucket, run_id, raw)
    except RetryLaterError as rate_limited:
        wait = _retry_after_wait(rate_limited.retry_after_seconds)
    logger.info(
        "Stored result pages",
        extra={
            "pages": raw.pages,
            "rows": raw.rows,
            "next": _cursor_json(raw.next),
            "wait": wait,
        },
    )
    return raw, wait


def _while_time_allows(
    pages: Iterator[Page], seconds_left: Callable[[], float], stop_below_seconds: float
) -> Iterator[Page]:
    """The pages while the invocation has time for another; stops before asking for the next."""
    while seconds_left() >= stop_below_seconds:
        page = next(pages, None)
        if page is None:
            return
        yield page


def _furthest(state: Raw, checkpoint: Raw | None) -> Raw:
    """The state document's position, or the checkpoint's if a stopped invocation got further."""
    if checkpoint is not None and checkpoint.pages > state.pages:
        return checkpoint
    return state


def _read_checkpoint(s3_client: Any, bucket: str, run_id: str) -> Raw | None:
    key = raw_progress_key(run_id)
    # Asked by listing: the role may list raw/ but a GET of a missing key would be AccessDenied.
    listing = s3_client.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
    if not any(item["Key"] == key for item in listing.get("Contents", [])):
        return None
    body = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
    return from_json(Raw, json.loads(body))


def _write_checkpoint(s3_client: Any, bucket: str, run_id: str, raw: Raw) -> None:
    s3_client.put_object(
        Bucket=bucket,
        Key=raw_progress_key(run_id),
        Body=json.dumps(to_json(raw)).encode(),
        ContentType="application/json",
    )


def _cursor_json(cursor: PageCursor | None) -> dict[str, Any] | None:
    return None if cursor is None else to_json(cursor)


def format_timestamp(moment: datetime) -> str:
    """UTC, whole seconds, ``Z``: ``2026-11-22T01:40:01Z``."""
    return _as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _unless_timed_out(job: Job, now: datetime, job_timeout_seconds: int) -> Job:
    submitted_at = datetime.fromisoformat(job.submitted_at.replace("Z", "+00:00"))
    elapsed = (_as_utc(now) - _as_utc(submitted_at)).total_seconds()
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


def _retry_after_wait(retry_after_seconds: float | None) -> int:
    # Step Functions waits whole seconds; round up so the wait is never shorter than asked.
    return max(1, math.ceil(retry_after_seconds or 0))


def _no_message(job: Job) -> str:
    return f"Genesys {job.api} job {job.id} ended {job.status} without a message"


def _as_utc(moment: datetime) -> datetime:
    # Lambda clocks are UTC; a naive datetime here can only mean UTC.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
