"""Result pages of the two Usage APIs behind one protocol, resumable at any cursor.

Each API names its rows and its next-page cursor differently (aggregates ``entities`` and
``nextUri``'s ``after``; legacy ``results`` and ``cursors.after``) and takes the page size in a
different place. A ``Paginator`` knows one API's spelling; ``PageCursor`` is where a walk through
the pages stands, small enough to travel in the state document so that a later invocation resumes
exactly there.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from usage_pipeline import constants as c
from usage_pipeline.errors import PageMalformed

# Safety net behind the cursor-loop check: no real result has this many pages.
MAX_PAGES: Final = 100_000


@dataclass(frozen=True)
class Page:
    """One result page: the exact bytes received, their parsed JSON and how many rows they hold."""

    number: int
    body: bytes = field(repr=False)
    document: dict[str, Any] = field(repr=False)
    rows: int
    cursor: str | None  # the cursor this page was asked with (None: the first page)
    next_cursor: str | None  # None on the last page


@dataclass(frozen=True)
class PageCursor:
    """Where a walk through a job's pages stands: the next page's number and its cursor."""

    number: int = 1
    after: str | None = None

    def following(self, page: Page) -> PageCursor | None:
        """The position after ``page``, or None when it was the last page."""
        if page.next_cursor is None:
            return None
        return PageCursor(page.number + 1, page.next_cursor)


class Paginator(Protocol):
    """One API's page spelling."""

    api: str
    rows_member: str

    def url(self, api_url: str, job_id: str) -> str: ...

    def params(self, page_size: int, after: str | None) -> dict[str, str]: ...

    def next_cursor(self, document: dict[str, Any], what: str) -> str | None: ...


class AggregatesPaginator:
    api = c.API_AGGREGATES
    rows_member = "entities"

    def url(self, api_url: str, job_id: str) -> str:
        return f"{api_url}{c.AGGREGATES_JOBS_PATH}/{_quoted(job_id)}"

    def params(self, page_size: int, after: str | None) -> dict[str, str]:
        if not 1 <= page_size <= c.MAX_PAGE_SIZE:
            raise ValueError(f"page_size {page_size} is outside 1..{c.MAX_PAGE_SIZE}")
        return _with_after({"pageSize": str(page_size)}, after)

    def next_cursor(self, document: dict[str, Any], what: str) -> str | None:
        next_uri = document.get("nextUri")
        if next_uri is None or next_uri == "":
            return None
        if not isinstance(next_uri, str):
            raise PageMalformed(f"{what}: nextUri is not a string")
        # Only the cursor is taken from nextUri (its form is undocumented); the URL is built here,
        # so the request stays on the configured API host with our page size.
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(next_uri).query)
        after = query.get("after", [""])[0]
        if not after:
            raise PageMalformed(f"{what}: nextUri {next_uri!r} has no 'after' cursor")
        return after


class LegacyPaginator:
    api = c.API_LEGACY
    rows_member = "results"

    def url(self, api_url: str, job_id: str) -> str:
        return f"{api_url}{c.LEGACY_QUERY_PATH}/{_quoted(job_id)}/results"

    def params(self, page_size: int, after: str | None) -> dict[str, str]:
        # The legacy API documents no page size: the server decides.
        return _with_after({}, after)

    def next_cursor(self, document: dict[str, Any], what: str) -> str | None:
        cursors = document.get("cursors")
        if cursors is None:
            return None
        if not isinstance(cursors, dict):
            raise PageMalformed(f"{what}: cursors is not an object")
        after = cursors.get("after")
        if after is None or after == "":
            return None
        if not isinstance(after, str):
            raise PageMalformed(f"{what}: cursors.after is not a string")
        return after


PAGINATORS: Final[dict[str, Paginator]] = {
    c.API_AGGREGATES: AggregatesPaginator(),
    c.API_LEGACY: LegacyPaginator(),
}


def paginator_for(api: str) -> Paginator:
    try:
        return PAGINATORS[api]
    except KeyError:
        raise ValueError(f"api {api!r} is not one of {', '.join(PAGINATORS)}") from None


def page_from(
    paginator: Paginator,
    body: bytes,
    document: dict[str, Any],
    *,
    at: PageCursor,
    what: str,
) -> Page:
    """Check a page's documented shape and find its next cursor."""
    member = paginator.rows_member
    rows = document.get(member, [])  # Genesys leaves the member out of an empty result
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise PageMalformed(f"{what}: {member!r} is not a list of objects")
    next_cursor = paginator.next_cursor(document, what)
    return Page(at.number, body, document, len(rows), at.after, next_cursor)


def _with_after(params: dict[str, str], after: str | None) -> dict[str, str]:
    if after is not None:
        params["after"] = after
    return params


def _quoted(job_id: str) -> str:
    if not job_id:
        raise ValueError("job_id is empty")
    return urllib.parse.quote(job_id, safe="")
