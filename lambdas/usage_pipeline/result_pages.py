"""A complete job's result pages, stored in ``raw/`` exactly as received, resumably.

This builds the ``raw`` member of the state document for the ``poll_status`` handler (the
PollStatus and FetchPages states). Where storing stands is kept in one place, the run's paging
checkpoint in the bucket (``raw/run=<id>/progress.json``, written after every page): an
invocation resumes there, so no page is fetched or stored twice even when the one before it was
stopped mid-way, and the state document's ``raw`` is the checkpoint as it was left.
"""

from __future__ import annotations

import dataclasses
import gzip
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from usage_pipeline import constants as c
from usage_pipeline import layout
from usage_pipeline.genesys import Page, PageCursor, RetryLaterError
from usage_pipeline.job import UsageJobClient
from usage_pipeline.observability import logger
from usage_pipeline.state import Job, Raw, to_json
from usage_pipeline.storage import JSON_CONTENT_TYPE, BucketStore


@dataclass(frozen=True)
class StoredPages:
    """Where storing stands; ``retry_after_seconds`` is set when a page request was answered 429."""

    raw: Raw
    retry_after_seconds: float | None = None


def store_result_pages(
    client: UsageJobClient,
    job: Job,
    *,
    store: BucketStore,
    run_id: str,
    page_size: int,
    first_page: Page | None = None,
    seconds_left: Callable[[], float] = lambda: math.inf,
    stop_below_seconds: float = 0.0,
) -> StoredPages:
    """Store result pages from where the checkpoint says, until one of these comes first:

    - the last page is stored (``raw.next`` None);
    - ``seconds_left()`` falls below ``stop_below_seconds`` (``raw.next`` is the first page not
      stored yet);
    - a page request is answered 429 (the wait is the state machine's, not this Lambda's).

    ``first_page`` is the status answer that found the job complete: it is page 1, not
    downloaded again. One page is held in memory at a time; keys depend only on the run and the
    page number, and the gzip header carries no timestamp.
    """
    if job.state != c.JOB_COMPLETE:
        raise ValueError(f"job {job.id} is {job.state!r}, not complete")
    raw = store.read_checkpoint(run_id) or Raw(
        layout.raw_prefix(run_id), pages=0, rows=0, next=PageCursor()
    )
    if raw.next is None:
        return StoredPages(raw)
    in_hand = (
        first_page if first_page is not None and first_page.number == raw.next.number else None
    )
    pages = client.iter_pages(
        job.api, job.id, page_size, start=raw.next, first_page=in_hand, wait_on_rate_limit=False
    )
    retry_after = None
    try:
        for page in _while_time_allows(pages, seconds_left, stop_below_seconds):
            store.put_bytes(
                layout.raw_page_key(run_id, page.number),
                gzip.compress(page.body, mtime=0),
                content_type=JSON_CONTENT_TYPE,
            )
            following = raw.next.following(page) if raw.next is not None else None
            raw = dataclasses.replace(
                raw, pages=raw.pages + 1, rows=raw.rows + page.rows, next=following
            )
            store.write_checkpoint(run_id, raw)
    except RetryLaterError as rate_limited:
        retry_after = rate_limited.retry_after_seconds
    logger.info(
        "Stored result pages",
        extra={
            "pages": raw.pages,
            "rows": raw.rows,
            "next": _cursor_json(raw.next),
            "retry_after": retry_after,
        },
    )
    return StoredPages(raw, retry_after)


def _while_time_allows(
    pages: Iterator[Page], seconds_left: Callable[[], float], stop_below_seconds: float
) -> Iterator[Page]:
    """The pages while the invocation has time for another; stops before asking for the next."""
    while seconds_left() >= stop_below_seconds:
        page = next(pages, None)
        if page is None:
            return
        yield page


def _cursor_json(cursor: PageCursor | None) -> dict[str, Any] | None:
    return None if cursor is None else to_json(cursor)
