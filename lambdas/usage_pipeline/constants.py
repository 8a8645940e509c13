"""Names and numbers shared by the handlers, the stack, the simulator and the local runner.

See docs/contracts.md for what each one means; change them there first.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from typing import Final

# --- APIs -------------------------------------------------------------------------------------
API_AGGREGATES: Final = "aggregates"
API_LEGACY: Final = "legacy"
APIS: Final = (API_AGGREGATES, API_LEGACY)
DEFAULT_API: Final = API_AGGREGATES

AGGREGATES_JOBS_PATH: Final = "/api/v2/usage/aggregates/query/jobs"
LEGACY_QUERY_PATH: Final = "/api/v2/usage/query"
TOKEN_PATH: Final = "/oauth/token"  # noqa: S105 - a URL path, not a secret

GRANULARITIES: Final = ("Day", "Week", "Month")
DEFAULT_GRANULARITY: Final = "Day"

# Canonical order of metrics; the API spelling is the same for both APIs.
METRICS: Final = ("Requests", "Status200", "Status300", "Status400", "Status429", "Status500")

# groupBy dimensions each API accepts, in the API's own spelling and in canonical order.
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
DEFAULT_GROUP_BY: Final = ("OAuthClientId", "TemplateUri", "HttpMethod")
# Every grouping token a run can write: the Glue table's partition projection enumerates them.
ALL_DIMENSION_TOKENS: Final = tuple(
    sorted({d.lower() for d in GROUP_BY_AGGREGATES + GROUP_BY_LEGACY})
)
GROUPING_TOTAL: Final = "total"


def grouping_token(group_by: Iterable[str]) -> str:
    """The ``grouping=`` partition value: lower-case dimension names sorted, or ``total``."""
    dimensions = sorted(dimension.lower() for dimension in group_by)
    return "_".join(dimensions) if dimensions else GROUPING_TOTAL


def all_grouping_tokens() -> tuple[str, ...]:
    """Every grouping a run can write: ``total`` and each non-empty set of dimensions, sorted."""
    dims = sorted(ALL_DIMENSION_TOKENS)
    subsets = (
        "_".join(combo)
        for size in range(1, len(dims) + 1)
        for combo in itertools.combinations(dims, size)
    )
    return (GROUPING_TOTAL, *sorted(subsets))


DEFAULT_GROUPING: Final = grouping_token(DEFAULT_GROUP_BY)

# Genesys keeps usage this long: a query starts at most this many days before today.
USAGE_RETENTION_DAYS: Final = 365
# The aggregates API answers at most this many days per query.
MAX_AGGREGATES_DAYS: Final = 90
MAX_ARRAY_ENTRIES: Final = 10
MAX_PAGE_SIZE: Final = 1000

# Job states the Choice state switches on (state document `job.state`).
JOB_RUNNING: Final = "running"
JOB_COMPLETE: Final = "complete"
JOB_FAILED: Final = "failed"
JOB_CANCELLED: Final = "cancelled"
JOB_TIMED_OUT: Final = "timed_out"

# --- Row schema (docs/contracts.md section 5), in the order keys are written ---------------------
ROW_STRING_COLUMNS: Final = (
    "oauth_client_id",
    "oauth_client_name",
    "organization_id",
    "user_id",
    "template_uri",
    "http_method",
    "platform",
)
ROW_COUNT_COLUMNS: Final = (
    "status200",
    "status300",
    "status400",
    "status429",
    "status500",
    "requests",
)
ROW_RUN_COLUMNS: Final = ("run_id", "landed_at")
# The API is a partition key: the two APIs count different traffic and never share a partition.
PARTITION_COLUMNS: Final = ("api", "granularity", "grouping", "date")
ROW_COLUMNS: Final = ROW_STRING_COLUMNS + ROW_COUNT_COLUMNS + ROW_RUN_COLUMNS
# Every column's Glue type, data columns then partition columns: counts are bigint, the rest text.
# The Glue table, the Parquet files and the DuckDB stand-in for Athena all take their types here.
COLUMN_TYPES: Final = {
    name: "bigint" if name in ROW_COUNT_COLUMNS else "string"
    for name in ROW_COLUMNS + PARTITION_COLUMNS
}

# --- S3 layout (docs/contracts.md section 6) ----------------------------------------------------
RAW_PREFIX: Final = "raw/"
STAGING_PREFIX: Final = "staging/"
USAGE_PREFIX: Final = "usage/"
MANIFESTS_PREFIX: Final = "manifests/"
# A partition is ONE Parquet file (zstd), replaced whole by land; its staged copy has the same name.
PARTITION_OBJECT_NAME: Final = "usage.parquet"
PARTITION_CONTENT_TYPE: Final = "application/vnd.apache.parquet"

# --- Lambda environment (docs/contracts.md section 7) -------------------------------------------
ENV_SOURCE_BUCKET: Final = "SOURCE_BUCKET"
ENV_GENESYS_ENVIRONMENT: Final = "GENESYS_ENVIRONMENT"
ENV_GENESYS_SECRET_ID: Final = "GENESYS_SECRET_ID"  # noqa: S105 - a variable name
ENV_GENESYS_LOGIN_URL: Final = "GENESYS_LOGIN_URL"
ENV_GENESYS_API_URL: Final = "GENESYS_API_URL"
ENV_POLL_INITIAL_WAIT_SECONDS: Final = "POLL_INITIAL_WAIT_SECONDS"
ENV_POLL_MAX_WAIT_SECONDS: Final = "POLL_MAX_WAIT_SECONDS"
ENV_JOB_TIMEOUT_SECONDS: Final = "JOB_TIMEOUT_SECONDS"
ENV_PAGE_SIZE: Final = "PAGE_SIZE"
ENV_GLUE_CRAWLER_NAME: Final = "GLUE_CRAWLER_NAME"

DEFAULT_POLL_INITIAL_WAIT_SECONDS: Final = 2
DEFAULT_POLL_MAX_WAIT_SECONDS: Final = 60
DEFAULT_JOB_TIMEOUT_SECONDS: Final = 3600
DEFAULT_PAGE_SIZE: Final = 1000

HANDLER_SUBMIT_QUERY: Final = "handlers.submit_query.handler"
HANDLER_POLL_STATUS: Final = "handlers.poll_status.handler"
HANDLER_TRANSFORM: Final = "handlers.transform.handler"
HANDLER_LAND: Final = "handlers.land.handler"

METRICS_NAMESPACE: Final = "GenesysApiUsage"
# Custom metrics the land handler emits (EMF) and the alarms and dashboard read.
METRIC_ROWS_LANDED: Final = "RowsLanded"
METRIC_RATE_LIMITED_PERCENT: Final = "RateLimitedPercent"
SERVICE_NAME: Final = "genesys-api-usage"
