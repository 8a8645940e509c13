"""The simulated Genesys Cloud: login and Usage APIs as request -> response, without sockets.

server.py carries these over HTTP; keeping the behaviour here means the order of checks (fault,
auth, rate limit, validation) is in one readable place.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs

from local.genesys_simulator import faults, jobs, wire
from local.genesys_simulator.options import SimulatorSettings
from local.genesys_simulator.organization import Organization
from local.genesys_simulator.queries import (
    QueryError,
    Readings,
    UsageResult,
    parse_query,
    usage_result,
)
from local.genesys_simulator.traffic import TrafficLedger

DEFAULT_SEED = 42


@dataclass(frozen=True)
class SimRequest:
    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]  # names lower-cased
    body: bytes = b""


@dataclass
class SimResponse:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0
    # Send only this many body bytes (the headers still announce all of them) and drop the line.
    truncate_at: int | None = None


@functools.lru_cache(maxsize=4)
def organization_of(seed: int, size: str) -> Organization:
    """The organization of (seed, size), drawn once per process: simulators share it (it never
    changes once drawn, and the large one takes a second or two to draw)."""
    return Organization(seed, size)


def json_response(
    status: int, payload: Any, headers: Mapping[str, str] | None = None
) -> SimResponse:
    # Genesys answers UTF-8 JSON as is (no \\u escapes): clients must decode by the charset.
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return SimResponse(
        status=status,
        body=body,
        headers={"Content-Type": wire.JSON_CONTENT_TYPE, **(headers or {})},
    )


def api_error(status: int, message: str, headers: Mapping[str, str] | None = None) -> SimResponse:
    return json_response(status, wire.api_error_body(status, message), headers)


def with_correlation_id(response: SimResponse) -> SimResponse:
    """Give an answer of Genesys (either host, error or not) its ININ-Correlation-Id header."""
    response.headers.setdefault(wire.CORRELATION_ID_HEADER, str(uuid.uuid4()))
    return response


@dataclass
class _TokenGrant:
    client_id: str
    expires_at: float


@dataclass(frozen=True)
class _Route:
    endpoint: str  # the stats name, e.g. "aggregates.results"
    scope: str  # faults.TOKEN / SUBMIT / RESULTS
    api: str | None
    handler: Callable[[SimRequest, re.Match[str]], SimResponse]
    match: re.Match[str]


_AGGREGATES_JOB = re.compile(re.escape(wire.AGGREGATES_JOBS_PATH) + r"/([^/]+)")
_LEGACY_RESULTS = re.compile(re.escape(wire.LEGACY_QUERY_PATH) + r"/([^/]+)/results")
_MALFORMED_BODY = b"<html><body><h1>502 Bad Gateway</h1>upstream sent an invalid response"


class GenesysSimulator:
    """One simulated organization behind the login host and the API host."""

    def __init__(
        self,
        settings: SimulatorSettings | None = None,
        seed: int = DEFAULT_SEED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings or SimulatorSettings()
        self.seed = seed
        self.organization = organization_of(seed, self.settings.org)
        self.faults = faults.FaultBook(seed)
        self.ledger = TrafficLedger()
        self.jobs = jobs.JobStore()
        self._clock = clock
        self._tokens: dict[str, _TokenGrant] = {}
        self._lock = threading.Lock()
        self._routes: tuple[tuple[str, re.Pattern[str], str, str, str | None, Any], ...] = (
            ("POST", re.compile(re.escape(wire.TOKEN_PATH)), "token", faults.TOKEN, None,
             self._token),
            ("POST", re.compile(re.escape(wire.AGGREGATES_JOBS_PATH)), "aggregates.submit",
             faults.SUBMIT, wire.API_AGGREGATES, self._submit),
            ("GET", _AGGREGATES_JOB, "aggregates.results", faults.RESULTS, wire.API_AGGREGATES,
             self._aggregates_results),
            ("POST", re.compile(re.escape(wire.LEGACY_QUERY_PATH)), "legacy.submit",
             faults.SUBMIT, wire.API_LEGACY, self._submit),
            ("GET", _LEGACY_RESULTS, "legacy.results", faults.RESULTS, wire.API_LEGACY,
             self._legacy_results),
        )  # fmt: skip

    # --- the Python control surface (server.py and control.py call these) ----------------------

    def today(self) -> date:
        """The configured day, else the real UTC day (so a long-running simulator moves on)."""
        return self.settings.today or datetime.now(UTC).date()

    def readings(self) -> Readings:
        settings = self.settings
        return Readings(
            today=self.today(),
            week_start=settings.week_start,
            late_days=settings.late_days,
            growth=settings.growth,
        )

    def expected_result(self, api: str, query: Mapping[str, Any]) -> UsageResult:
        """What the query answers now, compact: `len()` counts its rows, `.rows()` renders them."""
        today = self.today()
        parsed = parse_query(api, query, today, self.settings.legacy_end)
        return usage_result(self.organization, parsed, self.readings())

    def expected_rows(self, api: str, query: Mapping[str, Any]) -> list[dict[str, Any]]:
        return self.expected_result(api, query).rows()

    def configure(self, **changes: Any) -> dict[str, Any]:
        """Change settings (see options.SimulatorSettings); the settings now, as JSON values."""
        with self._lock:
            updated = self.settings.updated(changes)
            if updated.org != self.settings.org:
                self.organization = organization_of(self.seed, updated.org)
            self.settings = updated
            return updated.describe()

    def expire_tokens(self) -> None:
        """Make every issued token expired, as if `expires_in` had passed."""
        with self._lock:
            for grant in self._tokens.values():
                grant.expires_at = self._clock() - 1

    def stats(self) -> dict[str, Any]:
        return self.ledger.snapshot(
            self.settings.rate_limit_per_minute, self.settings.rate_limit_window_seconds
        )

    # --- request handling -------------------------------------------------------------------------

    def handle(self, request: SimRequest) -> SimResponse:
        route = self._route(request)
        if isinstance(route, SimResponse):
            self.ledger.record_answer("other", route.status)
            return with_correlation_id(route)
        delay = self.settings.latency
        slow = self._fire(faults.SLOW, route.scope, route.api)
        if slow is not None:
            delay += float(slow.options["seconds"])
        response = (
            self._token_request(request, route)
            if route.scope == faults.TOKEN
            else self._api_request(request, route)
        )
        response.delay_seconds = delay
        self.ledger.record_answer(route.endpoint, response.status)
        return with_correlation_id(response)

    def _route(self, request: SimRequest) -> _Route | SimResponse:
        path_known = False
        for method, pattern, endpoint, scope, api, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            path_known = True
            if method == request.method:
                return _Route(endpoint, scope, api, handler, match)
        if path_known:
            return api_error(405, f"HTTP method {request.method} is not supported by this resource")
        return api_error(404, f"The requested resource {request.path} was not found.")

    def _fire(
        self, kind: str, scope: str, api: str | None, page: int | None = None
    ) -> faults.Fault | None:
        fault = self.faults.fire(kind, scope, api, page)
        if fault is not None:
            self.ledger.record_fault(kind)
        return fault

    def _rate_limited(self, retry_after: int, limit: int) -> SimResponse:
        self.ledger.record_retry_after(retry_after)
        return api_error(
            429, wire.rate_limit_message(limit), headers={"Retry-After": str(retry_after)}
        )

    def _error_status(
        self, scope: str, api: str | None, page: int | None = None
    ) -> SimResponse | None:
        """The answer of the first error-status fault (5xx, 408) that fires now, else None."""
        for kind in faults.ERROR_STATUS_FAULTS:
            fault = self._fire(kind, scope, api, page)
            if fault is not None:
                return _error_status(fault)
        return None

    def _token_request(self, request: SimRequest, route: _Route) -> SimResponse:
        error_status = self._error_status(route.scope, None)
        if error_status is not None:
            return error_status
        rate_limit = self._fire(faults.RATE_LIMIT, route.scope, None)
        if rate_limit is not None:
            return self._rate_limited(
                rate_limit.options["retry_after"], self.settings.rate_limit_per_minute
            )
        return route.handler(request, route.match)

    def _api_request(self, request: SimRequest, route: _Route) -> SimResponse:
        now = self._clock()
        token = self._valid_token(request.headers.get("authorization", ""), now)
        if token is not None:
            self.ledger.note_received(token, now, self.settings.rate_limit_window_seconds)
            self.ledger.note_retry_timing(token, now)
        page = self._requested_page(request, route)
        error_status = self._error_status(route.scope, route.api, page)
        if error_status is not None:
            return error_status
        if token is None:
            return api_error(401, "Invalid login credentials.")
        limit = self.settings.rate_limit_per_minute
        retry_after = self.ledger.admit(token, limit, now, self.settings.rate_limit_window_seconds)
        if retry_after is not None:
            self.ledger.note_told_to_wait(token, now, retry_after)
            return self._rate_limited(retry_after, limit)
        rate_limit = self._fire(faults.RATE_LIMIT, route.scope, route.api, page)
        if rate_limit is not None:
            self.ledger.note_told_to_wait(token, now, rate_limit.options["retry_after"])
            return self._rate_limited(rate_limit.options["retry_after"], limit)
        return route.handler(request, route.match)

    def _valid_token(self, authorization: str, now: float) -> str | None:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return None
        with self._lock:
            grant = self._tokens.get(token.strip())
        if grant is None or grant.expires_at <= now:
            return None
        return token.strip()

    def _requested_page(self, request: SimRequest, route: _Route) -> int | None:
        """Which result page a results request asks for (no cursor: the first), for page faults."""
        if route.scope != faults.RESULTS:
            return None
        job = self.jobs.get(route.match.group(1), route.api or "")
        cursor = _single(request.query, "after")
        if job is None or cursor is None:
            return 1
        try:
            return jobs.decode_cursor(job, cursor).page
        except jobs.CursorError:
            return None

    # --- login host ----------------------------------------------------------------------------

    def _token(self, request: SimRequest, _match: re.Match[str]) -> SimResponse:
        client_id, client_secret = _basic_credentials(request.headers.get("authorization", ""))
        form = parse_qs(request.body.decode("utf-8", errors="replace"))
        grant_type = _single(form, "grant_type")
        if grant_type != "client_credentials":
            return json_response(
                400,
                wire.oauth_error_body(
                    f"Unsupported grant_type {grant_type!r}; use client_credentials",
                    error="unsupported_grant_type",
                ),
            )
        if client_id is None:
            return json_response(
                401, wire.oauth_error_body("Missing or malformed Basic authorization header")
            )
        if self._fire(faults.BAD_CREDENTIALS, faults.TOKEN, None) is not None:
            return json_response(401, wire.oauth_error_body("client not found: " + client_id))
        settings = self.settings
        id_ok = hmac.compare_digest(client_id.encode(), settings.client_id.encode())
        secret_ok = hmac.compare_digest(
            (client_secret or "").encode(), settings.client_secret.encode()
        )
        if not id_ok:
            return json_response(401, wire.oauth_error_body("client not found: " + client_id))
        if not secret_ok:
            return json_response(401, wire.oauth_error_body("authentication failed"))
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._tokens[token] = _TokenGrant(
                client_id=client_id, expires_at=self._clock() + settings.token_expires_in
            )
        self.ledger.record_token_issued()
        return json_response(
            200,
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": settings.token_expires_in,
            },
        )

    # --- API host: submit ------------------------------------------------------------------------

    def _submit(self, request: SimRequest, _match: re.Match[str]) -> SimResponse:
        api = wire.API_AGGREGATES if request.path == wire.AGGREGATES_JOBS_PATH else wire.API_LEGACY
        try:
            body = json.loads(request.body.decode("utf-8") or "null")
        except ValueError:
            return api_error(400, "Unable to parse the request body: it is not valid JSON")
        settings = self.settings
        try:
            query = parse_query(api, body, self.today(), settings.legacy_end)
        except QueryError as error:
            return api_error(400, str(error))
        organization, readings = self.organization, self.readings()
        job = self.jobs.create(
            query,
            settings.polls_until_done,
            settings.page_size,
            compute=lambda: usage_result(organization, query, readings),
        )
        self._decide_fate(job)
        self.ledger.record_job(api)
        if job.fate == jobs.SUCCEEDS:
            # Work the rows out while the client waits between polls, as Genesys does: a 90-day
            # job of the finest grouping takes a second or so, which the first page should not.
            threading.Thread(target=job.result, name=f"job-{job.id}", daemon=True).start()
        if api == wire.API_AGGREGATES:
            uri = f"{wire.AGGREGATES_JOBS_PATH}/{job.id}"
            return json_response(202, {"id": job.id, "resultsUri": uri, "selfUri": uri})
        uri = f"{wire.LEGACY_QUERY_PATH}/{job.id}/results"
        return json_response(202, {"executionId": job.id, "resultsUri": uri})

    def _decide_fate(self, job: jobs.Job) -> None:
        for kind, fate in (
            (faults.JOB_FAILED, jobs.FAILS),
            (faults.JOB_CANCELLED, jobs.IS_CANCELLED),
            (faults.JOB_STUCK, jobs.NEVER_ENDS),
        ):
            fault = self._fire(kind, faults.SUBMIT, job.api)
            if fault is not None:
                job.fate = fate
                job.failure_message = fault.options.get("message", "")
                job.failure_has_error_body = fault.options.get("error_body", True)
                break
        unknown = self._fire(faults.UNKNOWN_STATUS, faults.SUBMIT, job.api)
        if unknown is not None:
            job.unknown_status = unknown.options["status"]
            job.unknown_polls = unknown.options["polls"]

    # --- API host: results -----------------------------------------------------------------------

    def _aggregates_results(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        job = self.jobs.get(match.group(1), wire.API_AGGREGATES)
        if job is None:
            return api_error(404, f"Usage aggregates query job {match.group(1)} was not found.")
        page_size = _aggregates_page_size(request)
        if isinstance(page_size, SimResponse):
            return page_size
        status = self._status_without_rows(job)
        if status is not None:
            # The spec answers 202 while the job is "still running or failed".
            cancelled = status["queryStatus"] == wire.STATUS_CANCELLED
            return json_response(200 if cancelled else 202, status)
        page = self._page(request, job, page_size)
        if isinstance(page, SimResponse):
            return page
        rows, next_cursor, position = page
        payload: dict[str, Any] = {"queryStatus": wire.AGGREGATES_SUCCEEDED, "entities": rows}
        base = f"{wire.AGGREGATES_JOBS_PATH}/{job.id}?pageSize={page_size}"
        if next_cursor is not None:
            payload["nextUri"] = f"{base}&after={next_cursor}"
        after = _single(request.query, "after")
        payload["selfUri"] = base + (f"&after={after}" if after else "")
        return self._page_response(payload, job, position)

    def _legacy_results(self, request: SimRequest, match: re.Match[str]) -> SimResponse:
        job = self.jobs.get(match.group(1), wire.API_LEGACY)
        if job is None:
            return api_error(404, f"Usage query execution {match.group(1)} was not found.")
        status = self._status_without_rows(job)
        if status is not None:
            return json_response(200, status)
        page = self._page(request, job, job.page_size)
        if isinstance(page, SimResponse):
            return page
        rows, next_cursor, position = page
        payload: dict[str, Any] = {"results": rows, "queryStatus": wire.LEGACY_COMPLETE}
        if next_cursor is not None:
            payload["cursors"] = {"after": next_cursor}
        return self._page_response(payload, job, position)

    def _status_without_rows(self, job: jobs.Job) -> dict[str, Any] | None:
        """Count a poll; the job's answer while it has no rows to give, else None."""
        status = job.poll()
        aggregates = job.api == wire.API_AGGREGATES
        if status == jobs.DONE:
            return self._ending(job, aggregates)
        if status == jobs.UNKNOWN:
            return {"queryStatus": job.unknown_status}
        if not aggregates:
            return {"queryStatus": wire.LEGACY_RUNNING}  # the legacy API has no Queued
        queued = status == jobs.QUEUED
        return {"queryStatus": wire.AGGREGATES_QUEUED if queued else wire.AGGREGATES_RUNNING}

    @staticmethod
    def _ending(job: jobs.Job, aggregates: bool) -> dict[str, Any] | None:
        """How a finished job that has no rows to give answers (None: it has rows)."""
        if job.fate == jobs.FAILS:
            # The legacy result (ApiUsageQueryResult) has no field for a reason; the aggregates
            # errorBody "may not be included even if the state is FAILURE".
            if aggregates and job.failure_has_error_body:
                error_body = wire.api_error_body(500, job.failure_message)
                return {"queryStatus": wire.STATUS_FAILED, "errorBody": error_body}
            return {"queryStatus": wire.STATUS_FAILED}
        if job.fate == jobs.IS_CANCELLED:
            return {"queryStatus": wire.STATUS_CANCELLED}
        return None

    def _page(
        self, request: SimRequest, job: jobs.Job, page_size: int
    ) -> tuple[list[dict[str, Any]], str | None, jobs.PagePosition] | SimResponse:
        """The rows of the requested page and the cursor of the next one (None on the last)."""
        cursor = _single(request.query, "after")
        position = jobs.FIRST_PAGE
        if cursor is not None:
            try:
                position = jobs.decode_cursor(job, cursor)
            except jobs.CursorError as error:
                return api_error(400, str(error))
        result = job.result()
        end = position.offset + page_size
        next_cursor = None
        if end < len(result):
            next_position = jobs.PagePosition(offset=end, page=position.page + 1)
            next_cursor = jobs.encode_cursor(job, next_position)
        if self._fire(faults.CURSOR_LOOP, faults.RESULTS, job.api, position.page) is not None:
            # The "next" page is this very page again, forever.
            next_cursor = cursor or jobs.encode_cursor(job, jobs.FIRST_PAGE)
        return result.rows(position.offset, end), next_cursor, position

    def _page_response(
        self, payload: dict[str, Any], job: jobs.Job, position: jobs.PagePosition
    ) -> SimResponse:
        if self._fire(faults.MALFORMED_PAGE, faults.RESULTS, job.api, position.page) is not None:
            return SimResponse(
                status=200, body=_MALFORMED_BODY, headers={"Content-Type": wire.JSON_CONTENT_TYPE}
            )
        response = json_response(200, payload)
        truncated = self._fire(faults.TRUNCATED_PAGE, faults.RESULTS, job.api, position.page)
        if truncated is not None:
            cut = max(1, len(response.body) // 2)
            if truncated.options["mode"] == "short":
                response.body = response.body[:cut]  # honest length, cut JSON
            else:
                response.truncate_at = cut  # full Content-Length, then the line drops
        return response


def _error_status(fault: faults.Fault) -> SimResponse:
    status = 408 if fault.kind == faults.REQUEST_TIMEOUT else int(fault.options["status"])
    messages = {
        408: "The request timed out.",
        500: "The server encountered an unexpected condition.",
        502: "Bad gateway.",
        503: "The service is currently unavailable.",
        504: "The gateway timed out.",
    }
    return api_error(status, messages[status])


def _aggregates_page_size(request: SimRequest) -> int | SimResponse:
    text = _single(request.query, "pageSize")
    if text is None:
        return wire.DEFAULT_AGGREGATES_PAGE_SIZE
    if not text.isdigit() or not 1 <= int(text) <= wire.MAX_PAGE_SIZE:
        return api_error(
            400, f"Invalid pageSize '{text}'; it must be between 1 and {wire.MAX_PAGE_SIZE}"
        )
    return int(text)


def _single(values: Mapping[str, list[str]], name: str) -> str | None:
    found = values.get(name)
    return found[0] if found else None


def _basic_credentials(authorization: str) -> tuple[str | None, str | None]:
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, separator, client_secret = decoded.partition(":")
    if not separator:
        return None, None
    return client_id, client_secret
