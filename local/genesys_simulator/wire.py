"""The Genesys Cloud wire format the simulator speaks (docs/contracts.md section 1).

The simulator stands in for Genesys, so it keeps its own copy of these names instead of importing
the pipeline's constants: a fake that shares the client's spelling cannot catch the client
misspelling something. A unit test compares the two lists so they do not drift apart silently.
"""

from __future__ import annotations

import uuid
from typing import Any, Final

API_AGGREGATES: Final = "aggregates"
API_LEGACY: Final = "legacy"
APIS: Final = (API_AGGREGATES, API_LEGACY)

TOKEN_PATH: Final = "/oauth/token"  # noqa: S105 - a URL path, not a secret
AGGREGATES_JOBS_PATH: Final = "/api/v2/usage/aggregates/query/jobs"
LEGACY_QUERY_PATH: Final = "/api/v2/usage/query"
# Where an entity reference's selfUri points (DomainEntityRef / UserReference).
OAUTH_CLIENTS_PATH: Final = "/api/v2/oauth/clients"
USERS_PATH: Final = "/api/v2/users"

GRANULARITIES: Final = ("Day", "Week", "Month")
METRICS: Final = ("Requests", "Status200", "Status300", "Status400", "Status429", "Status500")
GROUP_BY_AGGREGATES: Final = (
    "HttpMethod",
    "OauthClientId",
    "OauthClientName",
    "Platform",
    "TemplateUri",
    "UserId",
)
GROUP_BY_LEGACY: Final = ("HttpMethod", "OAuthClientId", "OrganizationId", "TemplateUri", "UserId")
GROUP_BY_BY_API: Final = {API_AGGREGATES: GROUP_BY_AGGREGATES, API_LEGACY: GROUP_BY_LEGACY}

# Aggregates job states (the legacy API only knows Running / Complete / Failed).
AGGREGATES_QUEUED: Final = "Queued"
AGGREGATES_RUNNING: Final = "Running"
AGGREGATES_SUCCEEDED: Final = "Succeeded"
LEGACY_RUNNING: Final = "Running"
LEGACY_COMPLETE: Final = "Complete"
STATUS_FAILED: Final = "Failed"
STATUS_CANCELLED: Final = "Cancelled"

USAGE_RETENTION_DAYS: Final = 365
MAX_AGGREGATES_DAYS: Final = 90
MAX_PAGE_SIZE: Final = 1000
DEFAULT_AGGREGATES_PAGE_SIZE: Final = 100
DEFAULT_LEGACY_PAGE_SIZE: Final = 1000
DEFAULT_TOKEN_EXPIRES_IN: Final = 86399
DEFAULT_RATE_LIMIT_PER_MINUTE: Final = 300
RATE_LIMIT_WINDOW_SECONDS: Final = 60

# Genesys' `code` for each HTTP status of the API host.
ERROR_CODES: Final = {
    400: "bad.request",
    401: "bad.credentials",
    404: "not.found",
    405: "method.not.allowed",
    408: "request.timeout",
    429: "too.many.requests",
    500: "internal.server.error",
    502: "bad.gateway",
    503: "service.unavailable",
    504: "gateway.timeout",
}

JSON_CONTENT_TYPE: Final = "application/json; charset=UTF-8"
# Every answer of both hosts carries one; the API host's error bodies carry a `contextId` too.
# Support asks for both. The simulator draws them independently, so a client must keep both.
CORRELATION_ID_HEADER: Final = "ININ-Correlation-Id"


def api_error_body(status: int, message: str) -> dict[str, Any]:
    """Genesys' error body of the API host; every error carries a fresh correlation id."""
    return {
        "message": message,
        "code": ERROR_CODES.get(status, "internal.server.error"),
        "status": status,
        "contextId": str(uuid.uuid4()),
        "details": [],
        "errors": [],
    }


def oauth_error_body(description: str, error: str = "invalid_client") -> dict[str, Any]:
    """The login host's error body: it speaks OAuth (RFC 6749), not the API host's shape."""
    return {"error": error, "description": description, "error_description": description}


def rate_limit_message(limit: int) -> str:
    return (
        f"Rate limit exceeded the maximum. [{limit}] requests for "
        f"[{RATE_LIMIT_WINDOW_SECONDS}] seconds"
    )
