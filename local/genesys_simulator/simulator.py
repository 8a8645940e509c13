"""The simulated Genesys Cloud: login and Usage APIs as request -> response, without sockets.

server.py carries these over HTTP; keeping the behaviour here means the order of checks (fault,
auth, rate limit, validation) is in one readable place.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import parse_qs

from local.genesys_simulator import faults, jobs, wire
from local.genesys_simulator.organization import Organization
from local.genesys_simulator.queries import QueryError, UsageQuery, parse_query, usage_rows
from local.genesys_simulator.traffic import TrafficLedger

DEFAULT_CLIENT_ID = "local-client"
DEFAULT_CLIENT_SECRET = "local-secret"  # noqa: S105 - the simulator's documented local default
DEFAULT_SEED = 42
DEFAULT_POLLS_UNTIL_DONE = 2


@dataclass
class SimulatorSettings:
    """What `configure` (and `POST /_sim/config`) may change while the simulator runs."""

    client_id: str = DEFAULT_CLIENT_ID
    client_secret: str = DEFAULT_CLIENT_SECRET
    polls_until_done: int = DEFAULT_POLLS_UNTIL_DONE
    page_size: int = wire.DEFAULT_LEGACY_PAGE_SIZE  # the legacy API's server-side page size
    rate_limit_per_minute: int = wire.DEFAULT_RATE_LIMIT_PER_MINUTE
    # Genesys counts a minute; tests shorten the window so a binding limit costs seconds.
    rate_limit_window_seconds: int = wire.RATE_LIMIT_WINDOW_SECONDS
    token_expires_in: int = wire.DEFAULT_TOKEN_EXPIRES_IN

    def validate(self) -> None:
        for name in ("client_id", "client_secret"):
            if not isinstance(getattr(self, name), str) or not getattr(self, name):
                raise ValueError(f"{name} must be a non-empty string")
        minimums = {
            "polls_until_done": 0,
            "page_size": 1,
            "rate_limit_per_minute": 1,
            "rate_limit_window_seconds": 1,
            "token_expires_in": 1,
        }
        for name, minimum in minimums.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
                raise ValueError(f"{name} must be an integer >= {minimum}, not {value!r}")


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
        settings: SimulatorSettings,
        seed: int = DEFAULT_SEED,
        today: date | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        settings.validate()
        self.settings = settings
        self.seed = seed
        self.organization = Organization(seed)
        self.faults = faults.FaultBook(seed)
        self.ledger = TrafficLedger()
        self.jobs = jobs.JobStore()
        self._fixed_today = today
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
        """The injected day, else the real UTC day (so a long-running simulator moves on)."""
        return self._fixed_today or datetime.now(UTC).date()

    def expected_rows(self, api: str, query: Mapping[str, Any]) -> list[dict[str, Any]]:
        return usage_rows(self.organization, parse_query(api, query, self.today()), self.today())

    def configure(self, **changes: Any) -> dict[str, Any]:
        with self._lock:
            unknown = set(changes) - set(asdict(self.settings))
            if unknown:
                raise ValueError(f"Unknown setting(s) {sorted(unknown)}")
            updated = SimulatorSettings(**{**asdict(self.settings), **changes})
            updated.validate()
            self.settings = updated
            return asdict(updated)

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
            return route
        delay = 0.0
        slow = self._fire(faults.SLOW, route.scope, route.api)
        if slow is not None:
            delay = float(slow.options["seconds"])
        response = (
            self._token_request(request, route)
            if route.scope == faults.TOKEN
            else self._api_request(request, route)
        )
        response.delay_seconds = delay
        response.headers.setdefault("inin-correlation-id", str(uuid.uuid4()))
        self.ledger.record_answer(route.endpoint, response.status)
        return response

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

    def _token_request(self, request: SimRequest, route: _Route) -> SimResponse:
        server_error = self._fire(faults.SERVER_ERROR, route.scope, None)
        if server_error is not None:
            return _server_error(server_error)
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
        server_error = self._fire(faults.SERVER_ERROR, route.scope, route.api, page)
        if server_error is not None:
            return _server_error(server_error)
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
        try:
            query = parse_query(api, body, self.today())
        except QueryError as error:
            return api_error(400, str(error))
        settings = self.settings
        job = self.jobs.create(query, settings.polls_until_done, settings.page_size)
        self._decide_fate(job)
        self.ledger.record_job(api)
        if job.fate == jobs.SUCCEEDS:
            # Work the rows out while the client waits between polls, as Genesys does: a 90-day
            # job of the finest grouping takes a second or so, which the first page should not.
            threading.Thread(
                target=job.rows, args=(self._compute_rows,), name=f"job-{job.id}", daemon=True
            ).start()
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
                return

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
            return json_response(200, status)
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
        if status != jobs.DONE:
            if not aggregates:
                return {"queryStatus": wire.LEGACY_RUNNING}  # the legacy API has no Queued
            queued = status == jobs.QUEUED
            return {"queryStatus": wire.AGGREGATES_QUEUED if queued else wire.AGGREGATES_RUNNING}
        if job.fate == jobs.FAILS:
            if aggregates:
                error_body = wire.api_error_body(500, job.failure_message)
                return {"queryStatus": wire.STATUS_FAILED, "errorBody": error_body}
            return {"queryStatus": wire.STATUS_FAILED, "message": job.failure_message}
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
        rows = job.rows(self._compute_rows)
        end = position.offset + page_size
        next_cursor = None
        if end < len(rows):
            next_position = jobs.PagePosition(offset=end, page=position.page + 1)
            next_cursor = jobs.encode_cursor(job, next_position)
        if self._fire(faults.CURSOR_LOOP, faults.RESULTS, job.api, position.page) is not None:
            # The "next" page is this very page again, forever.
            next_cursor = cursor or jobs.encode_cursor(job, jobs.FIRST_PAGE)
        return rows[position.offset : end], next_cursor, position

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

    def _compute_rows(self, query: UsageQuery) -> list[dict[str, Any]]:
        return usage_rows(self.organization, query, self.today())


def _server_error(fault: faults.Fault) -> SimResponse:
    status = int(fault.options["status"])
    messages = {
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
