"""A small Genesys Cloud client for the two Usage APIs (docs/contracts.md section 1).

What it does for its callers:
- OAuth client credentials with a token cached per container until 60 s before it expires, and one
  refresh when the API answers 401.
- Bounded retries: 429 waits ``Retry-After``; 5xx, connection errors, timeouts and bodies that end
  early back off exponentially with full jitter. Attempts AND total time are capped, so the caller
  can keep the whole call inside its Lambda timeout. Other 4xx fail at once with the API's message.
- ``status`` never sleeps on a 429: it returns the wait to the state machine, which waits for free.
- ``iter_pages`` yields every result page as the exact bytes received, one page in memory at a time.

Neither the client secret nor the bearer token is ever put into an exception or a log line.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import json
import logging
import math
import random
import re
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Final

import orjson
import requests
import urllib3.exceptions

from usage_pipeline import constants as c
from usage_pipeline.errors import (
    ConfigurationError,
    CursorLoop,
    GenesysAuthError,
    GenesysRateLimited,
    GenesysRequestRejected,
    GenesysUnavailable,
    PageMalformed,
    PageTruncated,
    PipelineError,
)
from usage_pipeline.secrets import ClientCredentials

logger = logging.getLogger(__name__)

# A token is used until this long before Genesys says it expires, so it never dies mid-request.
TOKEN_REFRESH_MARGIN_SECONDS: Final = 60.0
# Full-jitter backoff: attempt n (1-based) sleeps uniform(0, min(cap, base * 2**(n-1))).
BACKOFF_BASE_SECONDS: Final = 0.5
BACKOFF_CAP_SECONDS: Final = 10.0
DEFAULT_RETRY_AFTER_SECONDS: Final = 1.0
# A Retry-After beyond an hour is garbage; the state machine must not be told to sleep for a day.
MAX_RETRY_AFTER_SECONDS: Final = 3600.0
# Safety net behind the cursor-loop check: no real result has this many pages.
MAX_PAGES: Final = 100_000
# Error messages quote at most this much of the API's own message.
MAX_MESSAGE_CHARS: Final = 500

STATUS_RUNNING: Final = c.JOB_RUNNING
STATUS_COMPLETE: Final = c.JOB_COMPLETE
STATUS_FAILED: Final = c.JOB_FAILED
STATUS_CANCELLED: Final = c.JOB_CANCELLED
# queryStatus of both APIs -> the normalized job state (docs/contracts.md section 3).
_QUERY_STATUS_TO_STATE: Final = {
    "queued": STATUS_RUNNING,
    "running": STATUS_RUNNING,
    "succeeded": STATUS_COMPLETE,
    "complete": STATUS_COMPLETE,
    "failed": STATUS_FAILED,
    "cancelled": STATUS_CANCELLED,
}
# The member holding a page's rows, per API.
_ROWS_MEMBER: Final = {c.API_AGGREGATES: "entities", c.API_LEGACY: "results"}

_LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1"})
_ENVIRONMENT_PATTERN: Final = re.compile(
    r"^(?=.{4,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$"
)
_TRUNCATION_ERRORS: Final = (
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    urllib3.exceptions.ProtocolError,
    http.client.IncompleteRead,
)


# --- Public results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """One result page: the exact bytes received, their parsed JSON and how many rows they hold."""

    number: int
    body: bytes = field(repr=False)
    document: dict[str, Any] = field(repr=False)
    rows: int
    cursor: str | None
    next_cursor: str | None


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


# --- Token cache ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CachedToken:
    value: str = field(repr=False)
    use_until: float  # wall-clock seconds


# Keyed by (login base URL, client id): warm containers reuse a token across invocations.
_TOKEN_CACHE: dict[tuple[str, str], _CachedToken] = {}


def clear_token_cache() -> None:
    """Forget every cached bearer token (tests)."""
    _TOKEN_CACHE.clear()


# --- Configuration checks ------------------------------------------------------------------------


def validate_environment(environment: str) -> str:
    """The Genesys Cloud environment as a bare host suffix such as ``mypurecloud.com``."""
    candidate = environment.strip().lower()
    if not _ENVIRONMENT_PATTERN.match(candidate):
        raise ConfigurationError(
            f"Genesys environment {environment!r} is not allowed; expected a host name such as "
            "'mypurecloud.com' or 'usw2.pure.cloud' (no scheme, no path)"
        )
    return candidate


def validate_base_url(url: str, *, name: str) -> str:
    """A base URL without a trailing slash: https anywhere, http only on a loopback host."""
    parts = urllib.parse.urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise ConfigurationError(f"{name} {url!r} is not allowed; expected an https:// URL")
    if parts.scheme == "http" and not _is_loopback(host):
        raise ConfigurationError(
            f"{name} {url!r} is not allowed; http:// is accepted only for loopback hosts "
            "(127.0.0.1, localhost, ::1), use https:// for anything else"
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigurationError(
            f"{name} {url!r} is not allowed; a base URL has no credentials, query or fragment"
        )
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- Request bodies ------------------------------------------------------------------------------


def build_query_body(query: Mapping[str, Any]) -> dict[str, Any]:
    """The POST body for the query's API, from a normalized query (docs/contracts.md section 2)."""
    api = _known_api(str(query.get("api", c.DEFAULT_API)))
    start = date.fromisoformat(str(query["start"]))
    end = date.fromisoformat(str(query["end"]))  # exclusive
    if end <= start:
        raise ValueError(f"query end {end} is not after start {start}")
    return {
        "interval": _api_interval(api, start, end),
        "granularity": str(query.get("granularity", c.DEFAULT_GRANULARITY)),
        "groupBy": [_api_dimension(api, name) for name in query.get("groupBy", ())],
        "metrics": list(query.get("metrics", c.METRICS)),
    }


def _api_interval(api: str, start: date, end_exclusive: date) -> str:
    if api == c.API_AGGREGATES:
        # The aggregates API reads both ends as inclusive: stop at the last second of the last day.
        last_day = end_exclusive - timedelta(days=1)
        return f"{start.isoformat()}T00:00:00Z/{last_day.isoformat()}T23:59:59Z"
    return f"{start.isoformat()}T00:00:00Z/{end_exclusive.isoformat()}T00:00:00Z"


def _api_dimension(api: str, name: str) -> str:
    # The normalized query already uses the API's spelling; map case-insensitively to be sure.
    for dimension in c.GROUP_BY_BY_API[api]:
        if dimension.lower() == str(name).lower():
            return dimension
    raise ValueError(f"groupBy {name!r} is not a dimension of the {api} API")


def _known_api(api: str) -> str:
    if api not in c.APIS:
        raise ValueError(f"api {api!r} is not one of {', '.join(c.APIS)}")
    return api


# --- Internals of one HTTP exchange --------------------------------------------------------------


@dataclass(frozen=True)
class _Request:
    method: str
    url: str
    what: str  # how messages name this call, e.g. "GET aggregates job status"
    params: Mapping[str, str] | None = None
    form: Mapping[str, str] | None = None
    json_body: Any = None
    to_token_endpoint: bool = False


@dataclass(frozen=True)
class _Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes = field(repr=False)
    document: Any = field(default=None, repr=False)  # the parsed JSON of a 2xx body


@dataclass(frozen=True)
class _RateLimitedReply:
    retry_after_seconds: float


class _RetryableError(Exception):
    """A failure worth another attempt; ``error`` is what to raise once the budget is spent."""

    def __init__(
        self, error: type[PipelineError], detail: str, wait_seconds: float | None = None
    ) -> None:
        super().__init__(detail)
        self.error = error
        self.detail = detail
        self.wait_seconds = wait_seconds


class _RetryBudget:
    """The retry allowance of one logical call: attempts AND elapsed time, for every kind of retry.

    Bounding time as well as attempts lets the caller keep a whole call inside its Lambda timeout.
    """

    def __init__(
        self,
        what: str,
        *,
        max_attempts: int,
        max_seconds: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        rng: random.Random,
    ) -> None:
        self._what = what
        self._max_attempts = max_attempts
        self._max_seconds = max_seconds
        self._clock = clock
        self._sleep = sleep
        self._rng = rng
        self._started = clock()
        self.failures = 0

    def wait_or_raise(self, failure: _RetryableError) -> None:
        """Sleep before the next attempt, or raise the failure's named error if none is left."""
        self.failures += 1
        elapsed = self._clock() - self._started
        wait = failure.wait_seconds
        if wait is None:
            # Full jitter (AWS Architecture Blog): spreads out retries of many callers.
            ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** (self.failures - 1))
            wait = self._rng.uniform(0.0, ceiling)
        if self.failures >= self._max_attempts or elapsed + wait > self._max_seconds:
            if failure.wait_seconds is not None and elapsed + wait <= self._max_seconds:
                # Out of attempts on a 429: still wait what Genesys asked before giving up, so
                # whatever retries next (the state machine) cannot come back before Retry-After.
                self._sleep(wait)
            raise failure.error(
                f"{self._what}: {failure.detail}; gave up after {self.failures} attempt(s) "
                f"in {elapsed:.1f}s"
            )
        logger.warning(
            "Genesys %s: %s; retrying in %.2fs (attempt %d of %d)",
            self._what,
            failure.detail,
            wait,
            self.failures,
            self._max_attempts,
        )
        self._sleep(wait)


# --- The client ----------------------------------------------------------------------------------


class GenesysClient:
    """Genesys Cloud Usage API client. One per container is fine; tokens are cached per module."""

    def __init__(
        self,
        environment: str,
        credentials_provider: Callable[[], ClientCredentials],
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
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        environment = validate_environment(environment)
        self._login_url = validate_base_url(
            login_url or f"https://login.{environment}", name="Genesys login URL"
        )
        self._api_url = validate_base_url(
            api_url or f"https://api.{environment}", name="Genesys API URL"
        )
        self._credentials_provider = credentials_provider
        self._session = session if session is not None else requests.Session()
        self._sleep = sleep
        self._clock = clock
        # Token expiry uses the wall clock: a frozen Lambda container's monotonic clock may stand
        # still for hours while the token's real lifetime runs out.
        self._wall_clock = wall_clock
        self._rng = rng if rng is not None else random.Random()  # noqa: S311 - jitter, not crypto
        self._max_attempts = max_attempts
        self._max_retry_seconds = max_retry_seconds
        self._max_retry_after_seconds = max_retry_after_seconds
        self._timeout = timeout
        # Values that must never appear in a message, even if a server echoes them back.
        self._sensitive: set[str] = set()

        # Set per Lambda invocation: retries must end before the function's own timeout does.
        self._deadline: float | None = None

    def __repr__(self) -> str:
        return f"GenesysClient(login_url={self._login_url!r}, api_url={self._api_url!r})"

    def set_deadline(self, seconds_from_now: float | None) -> None:
        """Bound every retry budget by the time this invocation has left (None: no bound)."""
        self._deadline = None if seconds_from_now is None else self._clock() + seconds_from_now

    def _retry_seconds_left(self) -> float:
        if self._deadline is None:
            return self._max_retry_seconds
        return max(0.0, min(self._max_retry_seconds, self._deadline - self._clock()))

    @property
    def login_url(self) -> str:
        return self._login_url

    @property
    def api_url(self) -> str:
        return self._api_url

    # --- Usage API operations ------------------------------------------------------------------

    def submit(self, query: Mapping[str, Any]) -> str:
        """Submit the normalized query to its API; return the job id (``id`` / ``executionId``)."""
        api = _known_api(str(query.get("api", c.DEFAULT_API)))
        path = c.AGGREGATES_JOBS_PATH if api == c.API_AGGREGATES else c.LEGACY_QUERY_PATH
        request = _Request(
            "POST", self._api_url + path, f"POST {api} query", json_body=build_query_body(query)
        )
        document = _expect_object(self._reply(request).document, request.what)
        id_member = "id" if api == c.API_AGGREGATES else "executionId"
        job_id = document.get(id_member)
        if not isinstance(job_id, str) or not job_id:
            raise PageMalformed(f"{request.what}: the answer has no {id_member!r}")
        logger.info("Submitted the %s query as job %s", api, job_id)
        return job_id

    def status(self, api: str, job_id: str, *, page_size: int = c.MAX_PAGE_SIZE) -> JobStatus:
        """The job's normalized status. A 429 is not slept on: ``retry_after_seconds`` says it."""
        api = _known_api(api)
        request = self._page_request(api, job_id, page_size, cursor=None, what="job status")
        outcome = self._perform(request, wait_on_rate_limit=False)
        if isinstance(outcome, _RateLimitedReply):
            return JobStatus(
                state=STATUS_RUNNING,
                status=None,
                retry_after_seconds=outcome.retry_after_seconds,
            )
        document = _expect_object(outcome.document, request.what)
        query_status = document.get("queryStatus")
        if not isinstance(query_status, str) or query_status.lower() not in _QUERY_STATUS_TO_STATE:
            raise PageMalformed(f"{request.what}: unknown queryStatus {query_status!r}")
        state = _QUERY_STATUS_TO_STATE[query_status.lower()]
        first_page = None
        message = None
        if state == STATUS_COMPLETE:
            first_page = _page_from(
                api, outcome.body, document, number=1, cursor=None, what=request.what
            )
        elif state in (STATUS_FAILED, STATUS_CANCELLED):
            message = _failure_message(document)
            message = self._scrub(message) if message is not None else None
        return JobStatus(state, query_status, message, first_page)

    def iter_pages(
        self,
        api: str,
        job_id: str,
        page_size: int = c.DEFAULT_PAGE_SIZE,
        *,
        first_page: Page | None = None,
    ) -> Iterator[Page]:
        """Every result page of a complete job, in order, following the API's cursor.

        ``first_page`` (from ``status``) saves fetching page 1 again. Raises ``CursorLoop`` when a
        cursor repeats or the page count passes ``MAX_PAGES``.
        """
        api = _known_api(api)
        page = first_page or self._fetch_page(api, job_id, page_size, cursor=None, number=1)
        seen_cursors: set[str] = set()
        while True:
            yield page
            cursor = page.next_cursor
            if cursor is None:
                return
            if cursor in seen_cursors:
                raise CursorLoop(
                    f"{api} job {job_id}: page {page.number} points back to cursor {cursor!r}"
                )
            if page.number >= MAX_PAGES:
                raise CursorLoop(f"{api} job {job_id}: more than {MAX_PAGES} pages; giving up")
            seen_cursors.add(cursor)
            page = self._fetch_page(api, job_id, page_size, cursor=cursor, number=page.number + 1)

    # --- Pages ---------------------------------------------------------------------------------

    def _fetch_page(
        self, api: str, job_id: str, page_size: int, *, cursor: str | None, number: int
    ) -> Page:
        request = self._page_request(api, job_id, page_size, cursor, what=f"results page {number}")
        reply = self._reply(request)
        document = _expect_object(reply.document, request.what)
        query_status = str(document.get("queryStatus", "")).lower()
        if _QUERY_STATUS_TO_STATE.get(query_status) != STATUS_COMPLETE:
            raise PageMalformed(
                f"{request.what}: queryStatus {document.get('queryStatus')!r} on a result page"
            )
        return _page_from(
            api, reply.body, document, number=number, cursor=cursor, what=request.what
        )

    def _page_request(
        self, api: str, job_id: str, page_size: int, cursor: str | None, *, what: str
    ) -> _Request:
        if not job_id:
            raise ValueError("job_id is empty")
        quoted_id = urllib.parse.quote(job_id, safe="")
        params: dict[str, str] = {}
        if api == c.API_AGGREGATES:
            if not 1 <= page_size <= c.MAX_PAGE_SIZE:
                raise ValueError(f"page_size {page_size} is outside 1..{c.MAX_PAGE_SIZE}")
            url = f"{self._api_url}{c.AGGREGATES_JOBS_PATH}/{quoted_id}"
            params["pageSize"] = str(page_size)
        else:
            url = f"{self._api_url}{c.LEGACY_QUERY_PATH}/{quoted_id}/results"
        if cursor is not None:
            params["after"] = cursor
        return _Request("GET", url, f"GET {api} job {job_id} {what}", params=params)

    # --- Authentication ------------------------------------------------------------------------

    def _bearer_token(self) -> str:
        credentials = self._credentials()
        key = (self._login_url, credentials.client_id)
        cached = _TOKEN_CACHE.get(key)
        if cached is not None and self._wall_clock() < cached.use_until:
            self._sensitive.add(cached.value)
            return cached.value
        token = self._fetch_token(credentials)
        _TOKEN_CACHE[key] = token
        return token.value

    def _forget_token(self, token: str) -> None:
        credentials = self._credentials()
        key = (self._login_url, credentials.client_id)
        cached = _TOKEN_CACHE.get(key)
        # Only drop the token that failed: another call may already have cached a newer one.
        if cached is not None and cached.value == token:
            del _TOKEN_CACHE[key]

    def _credentials(self) -> ClientCredentials:
        credentials = self._credentials_provider()
        self._sensitive.add(credentials.client_secret)
        return credentials

    def _fetch_token(self, credentials: ClientCredentials) -> _CachedToken:
        request = _Request(
            "POST",
            self._login_url + c.TOKEN_PATH,
            "POST token",
            form={"grant_type": "client_credentials"},
            to_token_endpoint=True,
        )
        requested_at = self._wall_clock()
        reply = self._reply(request, credentials=credentials)
        document = _expect_object(reply.document, request.what)
        access_token = document.get("access_token")
        expires_in = document.get("expires_in")
        if not isinstance(access_token, str) or not access_token:
            raise PageMalformed(f"{request.what}: the answer has no access_token")
        self._sensitive.add(access_token)
        if isinstance(expires_in, bool) or not isinstance(expires_in, int | float):
            raise PageMalformed(f"{request.what}: the answer has no numeric expires_in")
        logger.info("Got a Genesys token valid for %ss", expires_in)
        return _CachedToken(access_token, requested_at + expires_in - TOKEN_REFRESH_MARGIN_SECONDS)

    # --- HTTP with retries ---------------------------------------------------------------------

    def _reply(self, request: _Request, *, credentials: ClientCredentials | None = None) -> _Reply:
        outcome = self._perform(request, wait_on_rate_limit=True, credentials=credentials)
        assert isinstance(outcome, _Reply)  # waiting mode never hands back a 429
        return outcome

    def _perform(
        self,
        request: _Request,
        *,
        wait_on_rate_limit: bool,
        credentials: ClientCredentials | None = None,
    ) -> _Reply | _RateLimitedReply:
        """Send ``request`` until it gets a usable 2xx answer, within the retry budget."""
        budget = _RetryBudget(
            request.what,
            max_attempts=self._max_attempts,
            max_seconds=self._retry_seconds_left(),
            clock=self._clock,
            sleep=self._sleep,
            rng=self._rng,
        )
        refreshed_after_401 = False
        while True:
            headers, bearer = self._auth_headers(request, credentials)
            try:
                reply = self._exchange(request, headers)
                if reply.status == 401 and bearer is not None and not refreshed_after_401:
                    # The cached token was revoked or expired early: get a new one, once.
                    refreshed_after_401 = True
                    self._forget_token(bearer)
                    continue
                if reply.status == 401 and bearer is not None:
                    raise GenesysAuthError(
                        f"{request.what}: HTTP 401 again with a fresh token: "
                        f"{self._api_message(reply)}"
                    )
                if reply.status == 429:
                    retry_after = self._retry_after_seconds(reply)
                    if not wait_on_rate_limit:
                        return _RateLimitedReply(retry_after)
                    raise _RetryableError(
                        GenesysRateLimited,
                        f"HTTP 429 ({self._api_message(reply)})",
                        wait_seconds=min(retry_after, self._max_retry_after_seconds),
                    )
                if reply.status >= 500:
                    raise _RetryableError(
                        GenesysUnavailable, f"HTTP {reply.status} ({self._api_message(reply)})"
                    )
                if not 200 <= reply.status < 300:
                    raise self._rejection(request, reply)
                return replace(reply, document=_parse_json_body(reply.body, request.what))
            except _RetryableError as failure:
                budget.wait_or_raise(failure)

    def _auth_headers(
        self, request: _Request, credentials: ClientCredentials | None
    ) -> tuple[dict[str, str], str | None]:
        headers = {"Accept": "application/json"}
        if request.to_token_endpoint:
            pair = credentials or self._credentials()
            raw = f"{pair.client_id}:{pair.client_secret}".encode()
            basic = base64.b64encode(raw).decode("ascii")
            self._sensitive.add(basic)
            headers["Authorization"] = f"Basic {basic}"
            return headers, None
        token = self._bearer_token()
        headers["Authorization"] = f"Bearer {token}"
        return headers, token

    def _exchange(self, request: _Request, headers: dict[str, str]) -> _Reply:
        """One HTTP round trip, body read in full; transport failures become ``_RetryableError``."""
        try:
            response = self._session.request(
                request.method,
                request.url,
                params=request.params,
                data=request.form,
                json=request.json_body,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,  # never carry credentials to another host
            )
        except _TRUNCATION_ERRORS as exc:
            raise _RetryableError(
                PageTruncated, f"the body ends early ({type(exc).__name__})"
            ) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            # Only the exception's type: its text holds the URL and the socket's chatter.
            raise _RetryableError(GenesysUnavailable, f"{type(exc).__name__}") from None
        body = response.content
        declared = response.headers.get("Content-Length")
        encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
        if (
            declared is not None
            and not encoded
            and declared.isdigit()
            and int(declared) > len(body)
        ):
            raise _RetryableError(
                PageTruncated, f"the body ends early ({len(body)} of {declared} bytes)"
            )
        return _Reply(response.status_code, response.headers, body)

    # --- Answers that are not 2xx --------------------------------------------------------------

    def _rejection(self, request: _Request, reply: _Reply) -> PipelineError:
        message = self._api_message(reply)
        if request.to_token_endpoint and reply.status in (400, 401, 403):
            return GenesysAuthError(
                f"{request.what}: Genesys refused the client credentials "
                f"(HTTP {reply.status}: {message})"
            )
        if 300 <= reply.status < 400:
            return GenesysRequestRejected(
                f"{request.what}: unexpected redirect HTTP {reply.status}"
            )
        return GenesysRequestRejected(f"{request.what}: HTTP {reply.status}: {message}")

    def _api_message(self, reply: _Reply) -> str:
        """The server's own explanation: Genesys' ``message`` or OAuth's ``error_description``."""
        try:
            document = json.loads(reply.body)
        except ValueError:
            document = None
        message = http.client.responses.get(reply.status, "no message")
        if isinstance(document, dict):
            for key in ("message", "error_description", "description", "error"):
                candidate = document.get(key)
                if isinstance(candidate, str) and candidate:
                    message = candidate
                    break
        return self._scrub(message)[:MAX_MESSAGE_CHARS]

    def _retry_after_seconds(self, reply: _Reply) -> float:
        raw = (reply.headers.get("Retry-After") or "").strip()
        seconds = _parse_retry_after(raw, self._wall_clock())
        if seconds is None:
            return DEFAULT_RETRY_AFTER_SECONDS
        return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)

    def _scrub(self, text: str) -> str:
        for value in self._sensitive:
            if value:
                text = text.replace(value, "***")
        return text


# --- Helpers without state -----------------------------------------------------------------------


def _expect_object(document: Any, what: str) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise PageMalformed(f"{what}: expected a JSON object, got {type(document).__name__}")
    return document


def _page_from(
    api: str, body: bytes, document: dict[str, Any], *, number: int, cursor: str | None, what: str
) -> Page:
    """Check a page's documented shape and find its next cursor."""
    rows_member = _ROWS_MEMBER[api]
    rows = document.get(rows_member, [])  # Genesys leaves the member out of an empty result
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise PageMalformed(f"{what}: {rows_member!r} is not a list of objects")
    next_cursor = _next_cursor(api, document, what)
    return Page(number, body, document, len(rows), cursor, next_cursor)


def _next_cursor(api: str, document: dict[str, Any], what: str) -> str | None:
    if api == c.API_AGGREGATES:
        next_uri = document.get("nextUri")
        if next_uri is None or next_uri == "":
            return None
        if not isinstance(next_uri, str):
            raise PageMalformed(f"{what}: nextUri is not a string")
        # Take only the cursor from nextUri and build the URL ourselves: the request stays on the
        # configured API host with our page size, whatever the link says.
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(next_uri).query)
        after = query.get("after", [""])[0]
        if not after:
            raise PageMalformed(f"{what}: nextUri {next_uri!r} has no 'after' cursor")
        return after
    cursors = document.get("cursors")
    if cursors is None:
        return None
    if not isinstance(cursors, dict):
        raise PageMalformed(f"{what}: cursors is not an object")
    cursor = cursors.get("after")
    if cursor is None or cursor == "":
        return None
    if not isinstance(cursor, str):
        raise PageMalformed(f"{what}: cursors.after is not a string")
    return cursor


def _failure_message(document: Mapping[str, Any]) -> str | None:
    """The API's reason for a failed job: aggregates ``errorBody.message``, legacy ``message``."""
    error_body = document.get("errorBody")
    if isinstance(error_body, dict) and isinstance(error_body.get("message"), str):
        return str(error_body["message"])[:MAX_MESSAGE_CHARS]
    if isinstance(document.get("message"), str):
        return str(document["message"])[:MAX_MESSAGE_CHARS]
    return None


def _parse_json_body(body: bytes, what: str) -> Any:
    """Parse a 2xx body. Cut JSON (even with a matching Content-Length) is retried as truncation;
    anything else that does not parse is malformed and will not get better by asking again."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        if _looks_cut_short(body):
            raise _RetryableError(
                PageTruncated, f"the body ends early ({len(body)} bytes of cut JSON)"
            ) from None
        raise PageMalformed(f"{what}: the body is not JSON ({len(body)} bytes)") from None


def _looks_cut_short(body: bytes) -> bool:
    """True when JSON parsing failed because the text stopped, not because it is wrong."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    stripped = text.rstrip()
    if not stripped:
        return True
    try:
        json.loads(stripped)
    except json.JSONDecodeError as exc:
        return exc.pos >= len(stripped) or exc.msg.startswith("Unterminated string")
    return False


def _parse_retry_after(raw: str, now: float) -> float | None:
    """Retry-After as delta-seconds or an HTTP date; ``None`` when absent or garbled."""
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        return when.timestamp() - now
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return seconds
