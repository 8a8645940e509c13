"""Usage query jobs: how many polls they take, how they end, and their opaque page cursors."""

from __future__ import annotations

import base64
import binascii
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from local.genesys_simulator.queries import UsageQuery, UsageResult

# How a job ends, decided when it is submitted (a job fault can change the default).
SUCCEEDS: Final = "succeeds"
FAILS: Final = "fails"
IS_CANCELLED: Final = "is-cancelled"
NEVER_ENDS: Final = "never-ends"

# What a poll finds.
UNKNOWN: Final = "unknown"  # a queryStatus the documentation does not list (unknown-status fault)
QUEUED: Final = "queued"
RUNNING: Final = "running"
DONE: Final = "done"


class CursorError(ValueError):
    """A cursor that this job never handed out."""


@dataclass
class Job:
    id: str
    query: UsageQuery
    polls_until_done: int
    page_size: int  # the legacy API's server-side page size, fixed for the job's life
    # The rows, as the organization and the readings were when the job was submitted.
    compute: Callable[[], UsageResult]
    fate: str = SUCCEEDS
    failure_message: str = ""
    failure_has_error_body: bool = True  # Genesys: errorBody "may not be included"
    unknown_status: str = ""  # answered for the first `unknown_polls` polls
    unknown_polls: int = 0
    polls: int = 0
    _result: UsageResult | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # Separate from _lock so a poll never waits for the rows being computed.
    _result_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def api(self) -> str:
        return self.query.api

    def poll(self) -> str:
        """Count one look at the job: any unknown status first, then Queued, then Running, until
        its polls are used."""
        with self._lock:
            self.polls += 1
            if self.polls <= self.unknown_polls:
                return UNKNOWN
            polls = self.polls - self.unknown_polls
            if self.fate == NEVER_ENDS or polls <= self.polls_until_done:
                return QUEUED if polls == 1 else RUNNING
            return DONE

    def result(self) -> UsageResult:
        """The job's rows, computed once on first read (pages must never shift under a cursor)."""
        with self._result_lock:
            if self._result is None:
                self._result = self.compute()
            return self._result


class JobStore:
    def __init__(self) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def create(
        self,
        query: UsageQuery,
        polls_until_done: int,
        page_size: int,
        compute: Callable[[], UsageResult],
    ) -> Job:
        job = Job(
            id=str(uuid.uuid4()),
            query=query,
            polls_until_done=polls_until_done,
            page_size=page_size,
            compute=compute,
        )
        with self._lock:
            self._jobs[job.id] = job
        return job

    def get(self, job_id: str, api: str) -> Job | None:
        with self._lock:
            job = self._jobs.get(job_id)
        return job if job is not None and job.api == api else None


@dataclass(frozen=True)
class PagePosition:
    offset: int
    page: int  # 1-based, so a fault can target "the 2nd page" whatever the page size


FIRST_PAGE: Final = PagePosition(offset=0, page=1)


def encode_cursor(job: Job, position: PagePosition) -> str:
    """An opaque cursor: URL-safe, no padding, meaningless to the client on purpose."""
    raw = json.dumps([job.id[:8], position.offset, position.page]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(job: Job, cursor: str) -> PagePosition:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        job_prefix, offset, page = json.loads(raw)
    except (binascii.Error, ValueError, TypeError) as error:
        raise CursorError(f"Invalid cursor '{cursor}'") from error
    valid = (
        job_prefix == job.id[:8]
        and isinstance(offset, int)
        and isinstance(page, int)
        and offset >= 0
        and page >= 1
    )
    if not valid:
        raise CursorError(f"Invalid cursor '{cursor}' for job {job.id}")
    return PagePosition(offset=offset, page=page)
