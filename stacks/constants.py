"""Construct ids, sizes and fixed numbers of the stack, in one place.

Runtime names shared with the Lambdas (handlers, env var names, metric names, S3 prefixes) live in
``usage_pipeline.constants``; this module holds only what the infrastructure alone decides.
"""

from __future__ import annotations

from typing import Final

from aws_cdk.aws_logs import RetentionDays

from usage_pipeline import constants as rc
from usage_pipeline import errors

STACK_ID: Final = "GenesysApiUsage"
STACK_DESCRIPTION: Final = (
    "Genesys Cloud API usage -> S3 (Parquet, partitioned) -> Glue -> Athena, "
    "run daily by Step Functions"
)

# --- construct ids (logical ids are derived from these; changing one replaces the resource) -------
ENCRYPTION_ID: Final = "Encryption"
STORAGE_ID: Final = "Storage"
SECRET_ID: Final = "Secret"  # noqa: S105 - a construct id
CATALOG_ID: Final = "Catalog"
ANALYTICS_ID: Final = "Analytics"
PIPELINE_ID: Final = "Pipeline"
SCHEDULE_ID: Final = "Schedule"
ALARMS_ID: Final = "Alarms"

# --- storage ------------------------------------------------------------------------------------
# Old versions of the source bucket's objects are kept this long (protects against a bad land).
SOURCE_NONCURRENT_VERSION_DAYS: Final = 30
ACCESS_LOGS_RETENTION_DAYS: Final = 365
ABORT_INCOMPLETE_UPLOAD_DAYS: Final = 7
ATHENA_RESULTS_PREFIX: Final = "athena-results/"
SOURCE_ACCESS_LOGS_PREFIX: Final = "source/"
RESULTS_ACCESS_LOGS_PREFIX: Final = "athena-results/"

# --- catalog ------------------------------------------------------------------------------------
DATABASE_NAME_PREFIX: Final = "genesys_api_usage"
TABLE_NAME: Final = "api_usage"
# The table is Parquet (zstd): one file per partition, columns read by name.
TABLE_CLASSIFICATION: Final = "parquet"
PARQUET_SERDE: Final = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
INPUT_FORMAT: Final = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
OUTPUT_FORMAT: Final = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
PARQUET_COMPRESSION: Final = "ZSTD"
PROJECTION_GRANULARITIES: Final = ("day", "week", "month")
PROJECTION_DATE_FORMAT: Final = "yyyy-MM-dd"
# The crawler may add partitions but must never create another table nor touch the schema and the
# projection defined here.
CRAWLER_CONFIGURATION: Final = (
    '{"Version":1.0,'
    '"CrawlerOutput":{"Partitions":{"AddOrUpdateBehavior":"InheritFromTable"}},'
    '"Grouping":{"TableGroupingPolicy":"CombineCompatibleSchemas"}}'
)

# --- analytics ----------------------------------------------------------------------------------
ATHENA_ENGINE_VERSION: Final = "Athena engine version 3"
BYTES_PER_MB: Final = 1024 * 1024
# The saved query the local run executes with DuckDB (found by this name in the template).
TOP_CLIENTS_BY_429_QUERY_NAME: Final = "top-10-oauth-clients-by-429"

# --- pipeline -----------------------------------------------------------------------------------
LOG_LEVEL: Final = "INFO"
LOG_RETENTION: Final = RetentionDays.THREE_MONTHS
LAMBDA_PYTHON_VERSION: Final = "3.14"
# Wheels for Lambda's arm64 Amazon Linux 2023 (glibc 2.34): manylinux2014 for most packages,
# manylinux_2_28 for duckdb, which publishes no older aarch64 tag; pip accepts either.
LAMBDA_PIP_PLATFORMS: Final = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")
# The asset must stay under this size unzipped (Lambda's hard limit is 250 MB; this is ours).
LAMBDA_ASSET_MAX_MB: Final = 100

# Handler id -> (memory MB, timeout seconds, ephemeral storage MB).
SUBMIT_QUERY_ID: Final = "SubmitQuery"
POLL_STATUS_ID: Final = "PollStatus"
TRANSFORM_ID: Final = "Transform"
LAND_ID: Final = "Land"
SUBMIT_QUERY_SIZE: Final = (256, 60, 512)
POLL_STATUS_SIZE: Final = (512, 300, 512)
# transform keeps a run's raw pages, DuckDB's staged rows and spill files and the partition files on
# /tmp; DuckDB may use half the memory (usage_pipeline.transform.DUCKDB_MEMORY_SHARE), then spills.
TRANSFORM_SIZE: Final = (1024, 900, 4096)
LAND_SIZE: Final = (512, 300, 512)

# A task waits this much longer than its Lambda's own timeout before Step Functions gives up, so
# the Lambda's own timeout error (with its log line) is what normally surfaces.
TASK_TIMEOUT_MARGIN_SECONDS: Final = 30
# Machine timeout = jobTimeoutMinutes + this: room for the page download, transform and land after
# the Genesys job has finished, and for a few retries.
MACHINE_TIMEOUT_MARGIN_MINUTES: Final = 45

# Retries kept short: the same definition runs locally under moto's ASL interpreter, which sleeps.
LAMBDA_RETRY_INTERVAL_SECONDS: Final = 2
LAMBDA_RETRY_MAX_ATTEMPTS: Final = 4
LAMBDA_RETRY_MAX_DELAY_SECONDS: Final = 30
GENESYS_RETRY_INTERVAL_SECONDS: Final = 2
GENESYS_RETRY_MAX_ATTEMPTS: Final = 3
GENESYS_RETRY_MAX_DELAY_SECONDS: Final = 30
RETRY_BACKOFF_RATE: Final = 2.0

LAMBDA_SERVICE_ERRORS: Final = (
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
    "Lambda.ClientExecutionTimeoutException",
)
RETRIED_PIPELINE_ERRORS: Final = (errors.GenesysUnavailable.__name__,)
# 429s that outlasted the client's budget: retried later, WITHOUT jitter, so a retry can never
# come back sooner than the interval (the client already waited the last Retry-After).
RATE_LIMITED_ERRORS: Final = (errors.GenesysRateLimited.__name__,)
RATE_LIMIT_RETRY_INTERVAL_SECONDS: Final = 5
RATE_LIMIT_RETRY_MAX_ATTEMPTS: Final = 3
RATE_LIMIT_RETRY_MAX_DELAY_SECONDS: Final = 60

# State names (the local runner and the alarms' readers see these).
STATE_SUBMIT_QUERY: Final = "SubmitQuery"
STATE_WAIT_FOR_JOB: Final = "WaitForJob"
STATE_POLL_STATUS: Final = "PollStatus"
STATE_JOB_STATE: Final = "JobState"
STATE_TRANSFORM: Final = "Transform"
STATE_LAND: Final = "Land"
STATE_DONE: Final = "Done"
STATE_UNKNOWN_JOB_STATE: Final = "UnknownJobState"
FAIL_JOB_FAILED: Final = "GenesysJobFailed"
FAIL_JOB_CANCELLED: Final = "GenesysJobCancelled"
FAIL_JOB_TIMED_OUT: Final = "GenesysJobTimedOut"
FAIL_SUBMIT_QUERY: Final = "SubmitQueryFailed"
FAIL_POLL_STATUS: Final = "PollStatusFailed"
FAIL_TRANSFORM: Final = "TransformFailed"
FAIL_LAND: Final = "LandFailed"

# --- schedule -----------------------------------------------------------------------------------
SCHEDULE_TIMEZONE: Final = "UTC"
SCHEDULE_RETRY_ATTEMPTS: Final = 3
SCHEDULE_MAX_EVENT_AGE_HOURS: Final = 6
DLQ_RETENTION_DAYS: Final = 14

# --- alarms -------------------------------------------------------------------------------------
METRIC_ROWS_LANDED: Final = rc.METRIC_ROWS_LANDED
METRIC_RATE_LIMITED_PERCENT: Final = rc.METRIC_RATE_LIMITED_PERCENT
METRIC_SERVICE_DIMENSION: Final = "service"
EXECUTION_ALARM_PERIOD_MINUTES: Final = 5
DAILY_ALARM_PERIOD_HOURS: Final = 24
