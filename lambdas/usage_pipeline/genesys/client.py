"""The Genesys Cloud Usage API client: submit a query, ask for its status, walk its result pages.

- Auth: ``ClientCredentialsAuth`` (token cache, one refresh on a 401).
- Retries: ``call_with_retries`` (tenacity), bounded by attempts, time and the deadline.
- Pages: one ``Paginator`` per API, resumable at a ``PageCursor``.
- ``status`` never sleeps on a 429: it returns the wait to the state machine, which waits for free.
  When the job is complete, its answer IS the first result page (asked with the same page size as
  every other page), so page 1 is never downloaded twice.

Neither the client secret nor the bearer token is ever put into an exception or a log line.
"""

from __future__ import annotations

import base64
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import requests

from usage_pipeline import constants as c
from usage_pipeline.errors import (
    CursorLoop,
    GenesysAuthError,
    GenesysRateLimited,
    GenesysRequestRejected,
    GenesysUnavailable,
    PageMalformed,
    PipelineError,
)
from usage_pipeline.genesys import paging, wire
from usage_pipeline.genesys.auth import ClientCredentialsAuth
from usage_pipeline.genesys.hosts import login_and_api_urls
from usage_pipeline.genesys.paging import Page, PageCursor, page_from, paginator_for
from usage_pipeline.genesys.redaction import Redactor
from usage_pipeline.genesys.retry import RetryableError, RetryPolicy, call_with_retries
from usage_pipeline.genesys.transport import (
    Reply,
    Request,
    exchange,
    expect_object,
    http_reason,
    parse_json_body,
    retry_after_seconds,
)
from usage_pipeline.observability import logger
from usage_pipeline.query import NormalizedQuery
from usage_pipeline.secrets import ClientCredentials, CredentialsSource

# Statuses that say "try again later" (Genesys lists 408 and 5xx for these endpoints).
_RETRIED_STATUSES = frozenset({408})


@dataclass(frozen=True)
class JobStatus:
    """A job's status, normalized. ``retry_after_seconds`` is set when the status call got a 429."""

    state: str
    status: str | None
    message: str | None = None
    first_page: Page | None = field(default=None, repr=False)
    retry_after_seconds: float | None = None

    @property
    def rate_limited(self) -> bool:
        return self.retry_after_seconds is not None


@dataclass(frozen=True)
class _RateLimited:
    retry_after_seconds: float


class RetryLaterError(Exception):
    """A page request was answered 429 and the caller asked not to wait: wait, then resume."""

    def __init__(self, retry_after_seconds: float, at: PageCursor) -> None:
        super().__init__(f"rate limited at page {at.number}; retry after {retry_after_seconds}s")
        self.retry_after_seconds = retry_after_seconds
        self.at = at


class GenesysClient:
    """One per invocation (cheap): the token cache and the HTTP session outlive it."""

    def __init__(
        self,
        environment: str,
        credentials: CredentialsSource,
        *,
        login_url: str | None = None,
        api_url: str | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        max_attempts: int = 5,
        max_retry_seconds: float = 60.0,
        max_retry_after_seconds: float = 30.0,
        timeout: tuple[float, float] = (5, 30),
        time_left_seconds: float | None = None,
    ) -> None:
        self._login_url, self._api_url = login_and_api_urls(environment, login_url, api_url)
        self._policy = RetryPolicy(
            max_attempts=max_attempts,
            max_seconds=max_retry_seconds,
            max_retry_after_seconds=max_retry_after_seconds,
        )
        self._session = session if session is not None else requests.Session()
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock
        self._rng = rng if rng is not None else random.Random()  # noqa: S311 - jitter, not crypto
        self._timeout = timeout
        # Retries must end before the invocation does: every budget stops at this deadline.
        self._deadline = None if time_left_seconds is None else clock() + time_left_seconds
        self._redactor = Redactor()
        self._auth = ClientCredentialsAuth(
            self._login_url,
            credentials,
            self._fetch_token,
            wall_clock=wall_clock,
            redactor=self._redactor,
        )

    def __repr__(self) -> str:
        return f"GenesysClient(login_url={self._login_url!r}, api_url={self._api_url!r})"

    @property
    def login_url(self) -> str:
        return self._login_url

    @property
    def api_url(self) -> str:
        return self._api_url

    # --- Usage API operations ------------------------------------------------------------------

    def submit(self, query: NormalizedQuery) -> str:
        """Submit the normalized query to its API; return the job id (``id`` / ``executionId``)."""
        api = wire.known_api(query.api)
        request = Request(
            "POST",
            self._api_url + wire.SUBMIT_PATH[api],
            f"POST {api} query",
            json_body=wire.build_query_body(query),
        )
        document = expect_object(self._reply(request).document, request.what)
        member = wire.JOB_ID_MEMBER[api]
        job_id = document.get(member)
        if not isinstance(job_id, str) or not job_id:
            raise PageMalformed(f"{request.what}: the answer has no {member!r}")
        logger.info("Submitted the Genesys usage query", extra={"api": api, "job_id": job_id})
        return job_id

    def status(self, api: str, job_id: str, *, page_size: int = c.DEFAULT_PAGE_SIZE) -> JobStatus:
        """The job's normalized status; when complete, with its first result page."""
        paginator = paginator_for(api)
        request = self._page_request(api, job_id, page_size, PageCursor(), what="job status")
        outcome = self._call(request, wait_on_rate_limit=False)
        if isinstance(outcome, _RateLimited):
            return JobStatus(c.JOB_RUNNING, None, retry_after_seconds=outcome.retry_after_seconds)
        document = expect_object(outcome.document, request.what)
        query_status = document.get("queryStatus")
        state = wire.job_state(query_status)
        if state is None:
            # Genesys adds queryStatus values over time (its SDK maps unknown ones to
            # "outdated_sdk_version"): keep polling; the job timeout still bounds the wait.
            logger.warning(
                "Genesys answered an undocumented queryStatus; polling on",
                extra={"call": request.what, "query_status": str(query_status)[:100]},
            )
            return JobStatus(c.JOB_RUNNING, str(query_status)[:100])
        if state == c.JOB_COMPLETE:
            first = page_from(paginator, outcome.body, document, at=PageCursor(), what=request.what)
            return JobStatus(state, str(query_status), first_page=first)
        message = None
        if state in (c.JOB_FAILED, c.JOB_CANCELLED):
            found = wire.failure_message(document)
            message = self._redactor.scrub(found) if found is not None else None
        return JobStatus(state, str(query_status), message)

    def fetch_page(
        self,
        api: str,
        job_id: str,
        page_size: int,
        at: PageCursor,
        *,
        wait_on_rate_limit: bool = True,
    ) -> Page:
        """The result page at ``at`` of a complete job.

        With ``wait_on_rate_limit=False`` a 429 raises ``RetryLaterError`` instead of sleeping.
        """
        request = self._page_request(api, job_id, page_size, at, what=f"results page {at.number}")
        reply = self._call(request, wait_on_rate_limit=wait_on_rate_limit)
        if isinstance(reply, _RateLimited):
            raise RetryLaterError(reply.retry_after_seconds, at)
        document = expect_object(reply.document, request.what)
        if wire.job_state(document.get("queryStatus")) != c.JOB_COMPLETE:
            raise PageMalformed(
                f"{request.what}: queryStatus {document.get('queryStatus')!r} on a result page"
            )
        return page_from(paginator_for(api), reply.body, document, at=at, what=request.what)

    def iter_pages(
        self,
        api: str,
        job_id: str,
        page_size: int = c.DEFAULT_PAGE_SIZE,
        *,
        start: PageCursor | None = None,
        first_page: Page | None = None,
        wait_on_rate_limit: bool = True,
    ) -> Iterator[Page]:
        """The result pages of a complete job from ``start`` (default: the first), in order.

        ``first_page`` (from ``status``) is the page at ``start`` already in hand. Raises
        ``CursorLoop`` when a cursor repeats within the walk or the page count passes MAX_PAGES,
        and ``RetryLaterError`` on a 429 when told not to wait.
        """
        at: PageCursor | None = start or PageCursor()
        page = first_page
        seen: set[str] = set()
        while at is not None:
            if page is None:
                page = self.fetch_page(
                    api, job_id, page_size, at, wait_on_rate_limit=wait_on_rate_limit
                )
            yield page
            at = at.following(page)
            if at is None:
                return
            if at.after in seen or (at.after is not None and at.after == page.cursor):
                raise CursorLoop(
                    f"{api} job {job_id}: page {page.number} points back to cursor {at.after!r}"
                )
            if at.number > paging.MAX_PAGES:
                raise CursorLoop(
                    f"{api} job {job_id}: more than {paging.MAX_PAGES} pages; giving up"
                )
            seen.add(str(at.after))
            page = None

    # --- Requests ------------------------------------------------------------------------------

    def _page_request(
        self, api: str, job_id: str, page_size: int, at: PageCursor, *, what: str
    ) -> Request:
        paginator = paginator_for(api)
        return Request(
            "GET",
            paginator.url(self._api_url, job_id),
            f"GET {api} job {job_id} {what}",
            params=paginator.params(page_size, at.after),
        )

    def _fetch_token(self, credentials: ClientCredentials) -> tuple[str, float]:
        basic = base64.b64encode(
            f"{credentials.client_id}:{credentials.client_secret}".encode()
        ).decode("ascii")
        self._redactor.add(basic)
        request = Request(
            "POST",
            self._login_url + c.TOKEN_PATH,
            "POST token",
            form={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
            authenticated=False,
        )
        document = expect_object(self._reply(request).document, request.what)
        access_token = document.get("access_token")
        expires_in = document.get("expires_in")
        if not isinstance(access_token, str) or not access_token:
            raise PageMalformed(f"{request.what}: the answer has no access_token")
        self._redactor.add(access_token)
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
            raise PageMalformed(f"{request.what}: the answer has no numeric expires_in")
        logger.info("Got a Genesys token", extra={"expires_in": expires_in})
        return access_token, float(expires_in)

    # --- HTTP with retries ---------------------------------------------------------------------

    def _reply(self, request: Request) -> Reply:
        """A successful answer with its parsed JSON, waiting out 429s within the budget."""
        reply = self._call(request, wait_on_rate_limit=True)
        assert isinstance(reply, Reply)  # waiting mode never hands back a 429
        return reply

    def _call(self, request: Request, *, wait_on_rate_limit: bool) -> Reply | _RateLimited:
        def attempt() -> Reply | _RateLimited:
            reply = exchange(
                self._session,
                request,
                auth=self._auth if request.authenticated else None,
                timeout=self._timeout,
            )
            return self._judge(request, reply, wait_on_rate_limit=wait_on_rate_limit)

        return call_with_retries(
            attempt,
            what=request.what,
            policy=self._policy,
            budget_seconds=self._budget_seconds(),
            clock=self._clock,
            sleep=self._sleep,
            rng=self._rng,
        )

    def _judge(
        self, request: Request, reply: Reply, *, wait_on_rate_limit: bool
    ) -> Reply | _RateLimited:
        """A usable 2xx reply, a 429 to hand back, or a failure (retryable or not)."""
        if 200 <= reply.status < 300:
            # Cut JSON raises a RetryableError here: it is retried like a cut body.
            return replace(reply, document=parse_json_body(reply.body, request.what))
        message = self._api_message(reply)
        ids = wire.support_ids(reply.body, reply.headers)
        if ids:
            # Genesys support asks for these: every failed call's message and log line has them.
            message += " [" + ", ".join(f"{name} {value}" for name, value in ids.items()) + "]"
        logger.warning(
            "Genesys call answered with an error",
            extra={"call": request.what, "status": reply.status, "genesys": ids},
        )
        if reply.status == 429:
            retry_after = retry_after_seconds(reply.headers, self._wall_clock())
            if not wait_on_rate_limit:
                return _RateLimited(retry_after)
            raise RetryableError(GenesysRateLimited, f"HTTP 429 ({message})", retry_after)
        if reply.status >= 500 or reply.status in _RETRIED_STATUSES:
            raise RetryableError(GenesysUnavailable, f"HTTP {reply.status} ({message})")
        raise self._rejection(request, reply, message)

    def _rejection(self, request: Request, reply: Reply, message: str) -> PipelineError:
        if not request.authenticated and reply.status in (400, 401, 403):
            return GenesysAuthError(
                f"{request.what}: Genesys refused the client credentials "
                f"(HTTP {reply.status}: {message})"
            )
        if request.authenticated and reply.status == 401:
            return GenesysAuthError(f"{request.what}: HTTP 401 again with a fresh token: {message}")
        if 300 <= reply.status < 400:
            return GenesysRequestRejected(
                f"{request.what}: unexpected redirect HTTP {reply.status}"
            )
        return GenesysRequestRejected(f"{request.what}: HTTP {reply.status}: {message}")

    def _api_message(self, reply: Reply) -> str:
        """The server's own explanation, scrubbed of secrets and clipped."""
        message = wire.error_message(reply.body, http_reason(reply.status))
        return self._redactor.scrub(message)[: wire.MAX_MESSAGE_CHARS]

    def _budget_seconds(self) -> float:
        if self._deadline is None:
            return self._policy.max_seconds
        return max(0.0, min(self._policy.max_seconds, self._deadline - self._clock()))
