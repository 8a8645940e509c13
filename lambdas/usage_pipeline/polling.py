"""Submit, poll and store: the logic behind the ``submit_query`` and ``poll_status`` handlers.

These functions build the ``job`` and ``raw`` members of the state document (docs/contracts.md
section 3). They take the Genesys client, the S3 client and the clock as parameters so tests run
them against fakes, and they never read the environment.
"""

from __future__ import annotations

import gzip
import logging
import math
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from usage_pipeline import constants as c
from usage_pipeline.genesys_client import JobStatus, Page
from usage_pipeline.layout import raw_page_key, raw_prefix

logger = logging.getLogger(__name__)

# `job.status` before the first poll: the submit answer carries no queryStatus.
STATUS_SUBMITTED = "Submitted"
# Doubling stops here; beyond it the cap always applies anyway (and 2**n stays small).
_MAX_BACKOFF_EXPONENT = 30


class UsageJobClient(Protocol):
    """What these functions need from ``GenesysClient`` (tests pass fakes)."""

    def submit(self, query: Mapping[str, Any]) -> str: ...

    def status(self, api: str, job_id: str) -> JobStatus: ...

    def iter_pages(self, api: str, job_id: str, page_size: int) -> Iterator[Page]: ...


def submit_job(client: UsageJobClient, query: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Submit the normalized query; return the state document's ``job`` member."""
    api = str(query["api"])
    job_id = client.submit(query)
    return {
        "api": api,
        "id": job_id,
        "state": c.JOB_RUNNING,
        "status": STATUS_SUBMITTED,
        "polls": 0,
        "submittedAt": format_timestamp(now),
        "message": None,
    }


def next_wait_seconds(polls: int, *, initial_wait: int, max_wait: int) -> int:
    """Seconds to wait after ``polls`` status calls: initial_wait doubled per poll, capped."""
    exponent = min(max(polls, 0), _MAX_BACKOFF_EXPONENT)
    return max(1, min(max_wait, initial_wait * 2**exponent))


def poll_job(
    client: UsageJobClient,
    job: Mapping[str, Any],
    *,
    now: datetime,
    initial_wait: int,
    max_wait: int,
    job_timeout_seconds: int,
) -> tuple[dict[str, Any], int]:
    """One status call. Returns the updated ``job`` member and the seconds the Wait state waits.

    The job's own outcome wins over the timeout: a job that finished after the deadline is used.
    """
    status = client.status(str(job["api"]), str(job["id"]))
    polls = int(job.get("polls", 0)) + 1
    polled = {**job, "polls": polls}
    if status.rate_limited:
        # Wait as long as Genesys asked; the state machine's Wait costs nothing, a Lambda would.
        polled["state"] = c.JOB_RUNNING
        wait = _retry_after_wait(status.retry_after_seconds)
        logger.info("Status call of job %s was rate limited; waiting %ss", job["id"], wait)
        return _unless_timed_out(polled, now, job_timeout_seconds), wait
    polled["status"] = status.status
    polled["state"] = status.state
    if status.state == c.JOB_RUNNING:
        wait = next_wait_seconds(polls, initial_wait=initial_wait, max_wait=max_wait)
        return _unless_timed_out(polled, now, job_timeout_seconds), wait
    if status.state == c.JOB_COMPLETE:
        polled["message"] = None
    else:
        polled["message"] = status.message or _no_message(polled)
    logger.info("Job %s is %s (queryStatus %s)", job["id"], status.state, status.status)
    return polled, 0


def store_pages(
    client: UsageJobClient,
    job: Mapping[str, Any],
    *,
    s3_client: Any,
    bucket: str,
    run_id: str,
    page_size: int,
) -> dict[str, Any]:
    """Fetch every result page and store each exactly as received; return the ``raw`` member.

    One page is held in memory at a time. Keys depend only on the run and the page number, and the
    gzip header carries no timestamp, so a retried invocation overwrites the same objects with the
    same bytes.
    """
    if job.get("state") != c.JOB_COMPLETE:
        raise ValueError(f"job {job.get('id')} is {job.get('state')!r}, not complete")
    prefix = raw_prefix(run_id)
    pages = 0
    rows = 0
    for page in client.iter_pages(str(job["api"]), str(job["id"]), page_size):
        pages += 1
        rows += page.rows
        s3_client.put_object(
            Bucket=bucket,
            Key=raw_page_key(run_id, pages),
            Body=gzip.compress(page.body, mtime=0),
            ContentType="application/json",
        )
    logger.info("Stored %d page(s) with %d row(s) under %s", pages, rows, prefix)
    return {"prefix": prefix, "pages": pages, "rows": rows}


def format_timestamp(moment: datetime) -> str:
    """UTC, whole seconds, ``Z``: ``2026-11-22T01:40:01Z``."""
    return _as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def _unless_timed_out(
    job: dict[str, Any], now: datetime, job_timeout_seconds: int
) -> dict[str, Any]:
    submitted_at = datetime.fromisoformat(str(job["submittedAt"]).replace("Z", "+00:00"))
    elapsed = (_as_utc(now) - _as_utc(submitted_at)).total_seconds()
    if elapsed <= job_timeout_seconds:
        return job
    return {
        **job,
        "state": c.JOB_TIMED_OUT,
        "message": (
            f"Genesys {job['api']} job {job['id']} was not complete {int(elapsed)}s after it was "
            f"submitted (limit {job_timeout_seconds}s); last status {job.get('status')}"
        ),
    }


def _retry_after_wait(retry_after_seconds: float | None) -> int:
    # Step Functions waits whole seconds; round up so the wait is never shorter than asked.
    return max(1, math.ceil(retry_after_seconds or 0))


def _no_message(job: Mapping[str, Any]) -> str:
    return f"Genesys {job['api']} job {job['id']} ended {job['status']} without a message"


def _as_utc(moment: datetime) -> datetime:
    # Lambda clocks are UTC; a naive datetime here can only mean UTC.
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
