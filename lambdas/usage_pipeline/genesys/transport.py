"""One HTTP round trip to Genesys, read in full and judged: usable, worth retrying, or an error.

Everything that can go wrong on the wire ends here as either a ``RetryableError`` (the retry
policy decides what happens next) or a named pipeline error (the call fails at once).
"""

from __future__ import annotations

import http.client
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Final

import orjson
import requests
import urllib3.exceptions

from usage_pipeline.errors import GenesysUnavailable, PageMalformed, PageTruncated
from usage_pipeline.genesys.retry import RetryableError

DEFAULT_RETRY_AFTER_SECONDS: Final = 1.0
# A Retry-After beyond an hour is garbage; the state machine must not be told to sleep for a day.
MAX_RETRY_AFTER_SECONDS: Final = 3600.0
_TRUNCATION_ERRORS: Final = (
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    urllib3.exceptions.ProtocolError,
    http.client.IncompleteRead,
)


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    what: str  # how messages name this call, e.g. "GET aggregates job <id> job status"
    params: Mapping[str, str] | None = None
    form: Mapping[str, str] | None = None
    json_body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    authenticated: bool = True  # False: the token request, which carries Basic credentials


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    body: bytes = field(repr=False)
    refreshed: bool = False  # the auth object already renewed the token once for this call
    document: Any = field(default=None, repr=False)  # the parsed JSON of a 2xx body


def exchange(
    session: requests.Session,
    request: Request,
    *,
    auth: requests.auth.AuthBase | None,
    timeout: tuple[float, float],
) -> Reply:
    """Send ``request`` once; transport failures and short bodies raise ``RetryableError``."""
    try:
        response = session.request(
            request.method,
            request.url,
            params=request.params,
            data=request.form,
            json=request.json_body,
            headers={"Accept": "application/json", **request.headers},
            auth=auth,
            timeout=timeout,
            allow_redirects=False,  # never carry credentials to another host
        )
        body = response.content
    except _TRUNCATION_ERRORS as exc:
        raise RetryableError(PageTruncated, f"the body ends early ({type(exc).__name__})") from None
    except (requests.ConnectionError, requests.Timeout) as exc:
        # Only the exception's type: its text holds the URL and the socket's chatter.
        raise RetryableError(GenesysUnavailable, type(exc).__name__) from None
    declared = response.headers.get("Content-Length")
    encoded = response.headers.get("Content-Encoding", "identity").lower() != "identity"
    if declared is not None and not encoded and declared.isdigit() and int(declared) > len(body):
        raise RetryableError(
            PageTruncated, f"the body ends early ({len(body)} of {declared} bytes)"
        )
    return Reply(response.status_code, response.headers, body, refreshed=bool(response.history))


def parse_json_body(body: bytes, what: str) -> Any:
    """Parse a 2xx body. Cut JSON (even with a matching Content-Length) is retried as truncation;
    anything else that does not parse is malformed and will not get better by asking again."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        if _looks_cut_short(body):
            raise RetryableError(
                PageTruncated, f"the body ends early ({len(body)} bytes of cut JSON)"
            ) from None
        raise PageMalformed(f"{what}: the body is not JSON ({len(body)} bytes)") from None


def expect_object(document: Any, what: str) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise PageMalformed(f"{what}: expected a JSON object, got {type(document).__name__}")
    return document


def retry_after_seconds(headers: Mapping[str, str], now: float) -> float:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date), clamped; 1 s when garbled."""
    seconds = _parse_retry_after((headers.get("Retry-After") or "").strip(), now)
    if seconds is None:
        return DEFAULT_RETRY_AFTER_SECONDS
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def http_reason(status: int) -> str:
    return http.client.responses.get(status, "no message")


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
