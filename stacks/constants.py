"""Construct ids and fixed numbers the stack's modules share.

Runtime names shared with the Lambdas (handlers, env var names, metric names, S3 prefixes) live in
``usage_pipeline.constants``; this module holds only what the infrastructure alone decides. Tables
live in their own modules: the functions (stacks/functions.py), the retry policy
(stacks/retry_policy.py), the flow and its state names (stacks/state_machine.py), the alarms
(stacks/alarms.py) and the scanner acknowledgements (stacks/compliance.py).
"""

from __future__ import annotations

from typing import Final

from aws_cdk.aws_logs import RetentionDays

from usage_report import queries as report_queries

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
# The functions and the state machine. Logical ids derive from construct ids: this one keeps the
# name it was first deployed with, so a deployed stack is updated, not replaced.
WORKFLOW_ID: Final = "Pipeline"
SCHEDULE_ID: Final = "Schedule"
ALARMS_ID: Final = "Alarms"
DASHBOARD_ID: Final = "Dashboard"

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
TOP_CLIENTS_BY_429_QUERY_NAME: Final = report_queries.TOP_CLIENTS_BY_429

# --- pipeline -----------------------------------------------------------------------------------
LOG_LEVEL: Final = "INFO"
LOG_RETENTION: Final = RetentionDays.THREE_MONTHS
LAMBDA_PYTHON_VERSION: Final = "3.14"
# Wheels for Lambda's arm64 Amazon Linux 2023 (glibc 2.34): manylinux2014 for most packages,
# manylinux_2_28 for duckdb, which publishes no older aarch64 tag; pip accepts either.
LAMBDA_PIP_PLATFORMS: Final = ("manylinux2014_aarch64", "manylinux_2_28_aarch64")
# The asset must stay under this size unzipped (Lambda's hard limit is 250 MB; this is ours).
LAMBDA_ASSET_MAX_MB: Final = 100

# --- schedule -----------------------------------------------------------------------------------
SCHEDULE_RETRY_ATTEMPTS: Final = 3
SCHEDULE_MAX_EVENT_AGE_HOURS: Final = 6
DLQ_RETENTION_DAYS: Final = 14

# --- alarms -------------------------------------------------------------------------------------
METRIC_SERVICE_DIMENSION: Final = "service"
EXECUTION_ALARM_PERIOD_MINUTES: Final = 5
DAILY_ALARM_PERIOD_HOURS: Final = 24

# --- dashboard ----------------------------------------------------------------------------------
# What the dashboard shows when opened: two weeks of daily runs.
DASHBOARD_DEFAULT_DAYS: Final = 14
