"""Genesys Cloud's wire names for the two Usage APIs (docs/contracts.md section 1) in one place.

Request bodies, the ``queryStatus`` values and what they mean, and how Genesys words its errors.
Nothing here does I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any, Final

from usage_pipeline import constants as c
from usage_pipeline.query import NormalizedQuery

# queryStatus of both APIs (lower-cased) -> the normalized job state (docs/contracts.md section 3).
QUERY_STATUS_TO_STATE: Final = {
    "queued": c.JOB_RUNNING,
    "running": c.JOB_RUNNING,
    "succeeded": c.JOB_COMPLETE,
    "complete": c.JOB_COMPLETE,
    "failed": c.JOB_FAILED,
    "cancelled": c.JOB_CANCELLED,
}
# The member of the submit answer that names the job, per API.
JOB_ID_MEMBER: Final = {c.API_AGGREGATES: "id", c.API_LEGACY: "executionId"}
SUBMIT_PATH: Final = {c.API_AGGREGATES: c.AGGREGATES_JOBS_PATH, c.API_LEGACY: c.LEGACY_QUERY_PATH}
# Error messages quote at most this much of the API's own message.
MAX_MESSAGE_CHARS: Final = 500
# Members of an error body that hold the server's explanation (API host, then OAuth login host).
_MESSAGE_MEMBERS: Final = ("message", "error_description", "description", "error")


def known_api(api: str) -> str:
    if api not in c.APIS:
        raise ValueError(f"api {api!r} is not one of {', '.join(c.APIS)}")
    return api


def build_query_body(query: NormalizedQuery) -> dict[str, Any]:
    """The POST body for the query's API (docs/contracts.md section 2)."""
    return {
        "interval": api_interval(query.api, query.start, query.end),
        "granularity": query.granularity,
        "groupBy": list(query.group_by),
        "metrics": list(query.metrics),
    }


def api_interval(api: str, start: date, end_exclusive: date) -> str:
    """The window's days as an interval that means the same whether its end is read inclusive
    (documented for aggregates) or exclusive (undocumented for legacy): it stops at the last
    second of the last day, so no reading takes in the day after."""
    known_api(api)
    last_day = end_exclusive - timedelta(days=1)
    return f"{start.isoformat()}T00:00:00Z/{last_day.isoformat()}T23:59:59Z"


def job_state(query_status: object) -> str | None:
    """The normalized state of a ``queryStatus`` value, or None when Genesys sent an unknown one."""
    if not isinstance(query_status, str):
        return None
    return QUERY_STATUS_TO_STATE.get(query_status.lower())


def failure_message(document: Mapping[str, Any]) -> str | None:
    """The API's reason for a failed job: aggregates ``errorBody.message``, legacy ``message``."""
    error_body = document.get("errorBody")
    if isinstance(error_body, dict) and isinstance(error_body.get("message"), str):
        return str(error_body["message"])[:MAX_MESSAGE_CHARS]
    if isinstance(document.get("message"), str):
        return str(document["message"])[:MAX_MESSAGE_CHARS]
    return None


CORRELATION_HEADER: Final = "ININ-Correlation-Id"


def support_ids(body: bytes, headers: Mapping[str, str]) -> dict[str, str]:
    """What Genesys support asks for: the error body's ``contextId`` and the correlation header."""
    ids: dict[str, str] = {}
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("contextId"), str):
        ids["contextId"] = document["contextId"][:100]
    correlation = headers.get(CORRELATION_HEADER)
    if correlation:
        ids[CORRELATION_HEADER] = correlation[:100]
    return ids


def error_message(body: bytes, fallback: str) -> str:
    """The server's own explanation in an error body, or ``fallback`` (the HTTP reason)."""
    try:
        document = json.loads(body)
    except ValueError:
        return fallback
    if isinstance(document, dict):
        for member in _MESSAGE_MEMBERS:
            candidate = document.get(member)
            if isinstance(candidate, str) and candidate:
                return candidate
    return fallback
