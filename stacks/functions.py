"""The four Lambdas as one table: what each runs, its size, what it reads from the environment and
what it may touch.

One row per function. ``stacks/workflow.py`` builds the function, its log group and role from a
row, ``stacks/iam.py`` turns the row's grants into the role's statements, and the state machine
names each task after its function and takes the task's timeout from the row. Adding an S3 grant
to a function is one line here.
"""

from __future__ import annotations

from dataclasses import dataclass

from usage_pipeline import constants as rc
from usage_pipeline import layout

# S3 actions on the bucket itself (limited by an ``s3:prefix`` condition); the others act on
# objects and are granted on ``<bucket>/<pattern>``.
BUCKET_LEVEL_ACTIONS = frozenset({"s3:ListBucket"})


@dataclass(frozen=True)
class S3Grant:
    """One S3 action on the source bucket, limited to key prefixes (docs/contracts.md section 6).

    With ``object_name``, only to the objects of that name under a prefix's runs (a run's
    checkpoint or index, not its pages or partitions).
    """

    sid: str
    action: str
    prefixes: tuple[str, ...]
    object_name: str | None = None

    @property
    def on_bucket(self) -> bool:
        return self.action in BUCKET_LEVEL_ACTIONS

    @property
    def patterns(self) -> tuple[str, ...]:
        """The keys (or listing prefixes) it covers, as IAM wildcards."""
        name = f"/{self.object_name}" if self.object_name else ""
        return tuple(f"{prefix}*{name}" for prefix in self.prefixes)


@dataclass(frozen=True)
class FunctionSpec:
    construct_id: str  # names the function, its role, its log group and its task state
    handler: str
    memory_mb: int
    timeout_s: int
    ephemeral_mb: int
    description: str
    environment: tuple[str, ...]  # the variables of docs/contracts.md section 7 it gets
    s3_grants: tuple[S3Grant, ...] = ()
    # Reads the OAuth secret, and its task retries the transient Genesys errors.
    calls_genesys: bool = False
    starts_crawler: bool = False
    # Checkpoints its work, so a retry after a timeout resumes instead of starting over.
    resumes_after_interruption: bool = False

    @property
    def object_patterns(self) -> tuple[str, ...]:
        """The keys its object-level grants cover, each once, in the order granted."""
        patterns = (p for grant in self.s3_grants if not grant.on_bucket for p in grant.patterns)
        return tuple(dict.fromkeys(patterns))


# What every handler that talks to Genesys reads: where Genesys is, the credentials, how to poll.
GENESYS_ENVIRONMENT = (
    rc.ENV_GENESYS_ENVIRONMENT,
    rc.ENV_GENESYS_SECRET_ID,
    rc.ENV_POLL_INITIAL_WAIT_SECONDS,
    rc.ENV_POLL_MAX_WAIT_SECONDS,
    rc.ENV_JOB_TIMEOUT_SECONDS,
)

SUBMIT_QUERY = FunctionSpec(
    construct_id="SubmitQuery",
    handler=rc.HANDLER_SUBMIT_QUERY,
    memory_mb=256,
    timeout_s=60,
    ephemeral_mb=512,
    description="Validate the input, get a token, submit the Genesys usage query",
    environment=GENESYS_ENVIRONMENT,
    calls_genesys=True,
)
POLL_STATUS = FunctionSpec(
    construct_id="PollStatus",
    handler=rc.HANDLER_POLL_STATUS,
    memory_mb=512,
    timeout_s=300,
    ephemeral_mb=512,
    description="Poll the Genesys job; when complete store its pages in raw/, resumably",
    environment=(rc.ENV_SOURCE_BUCKET, *GENESYS_ENVIRONMENT, rc.ENV_PAGE_SIZE),
    s3_grants=(
        S3Grant("WriteRawPages", "s3:PutObject", (rc.RAW_PREFIX,)),
        # The paging checkpoint (raw/run=<id>/progress.json): read back by a retried invocation,
        # its existence asked by listing (without List a missing key reads as AccessDenied). The
        # checkpoint only: the function never reads a page back.
        S3Grant("ReadRawCheckpoint", "s3:GetObject", (rc.RAW_PREFIX,), layout.RAW_PROGRESS_NAME),
        S3Grant("FindRawCheckpoint", "s3:ListBucket", (rc.RAW_PREFIX,), layout.RAW_PROGRESS_NAME),
    ),
    calls_genesys=True,
    resumes_after_interruption=True,
)
TRANSFORM = FunctionSpec(
    construct_id="Transform",
    handler=rc.HANDLER_TRANSFORM,
    memory_mb=1024,
    timeout_s=900,
    # /tmp holds a run's raw pages, DuckDB's staged rows and spill files and the partition files;
    # DuckDB may use half the memory (usage_pipeline.transform.DUCKDB_MEMORY_SHARE), then spills.
    ephemeral_mb=4096,
    description="Raw pages -> validated Parquet partitions in staging/",
    environment=(rc.ENV_SOURCE_BUCKET,),
    s3_grants=(
        S3Grant("ReadRawPages", "s3:GetObject", (rc.RAW_PREFIX,)),
        S3Grant("WriteStaging", "s3:PutObject", (rc.STAGING_PREFIX,)),
    ),
)
LAND = FunctionSpec(
    construct_id="Land",
    handler=rc.HANDLER_LAND,
    memory_mb=512,
    timeout_s=300,
    ephemeral_mb=512,
    description="Replace the run's partitions in usage/, write the manifest, start the crawler",
    environment=(rc.ENV_SOURCE_BUCKET, rc.ENV_GLUE_CRAWLER_NAME),
    s3_grants=(
        # usage/: the content digest in a partition's metadata, to count restated partitions.
        S3Grant(
            "ReadStagingManifestsAndPartitions",
            "s3:GetObject",
            (rc.STAGING_PREFIX, rc.MANIFESTS_PREFIX, rc.USAGE_PREFIX),
        ),
        S3Grant(
            "WritePartitionsAndManifests", "s3:PutObject", (rc.USAGE_PREFIX, rc.MANIFESTS_PREFIX)
        ),
        # Replacing a partition deletes any other object left under its prefix.
        S3Grant("DeleteStalePartitionObjects", "s3:DeleteObject", (rc.USAGE_PREFIX,)),
        # Land looks up the manifest and the staging index by listing their keys: without List a
        # missing key reads as AccessDenied, and a missing staging index must fail as
        # RowCountMismatch (docs/contracts.md section 4). usage/: the objects of a partition.
        S3Grant(
            "ListPartitionsAndManifests",
            "s3:ListBucket",
            (rc.USAGE_PREFIX, rc.MANIFESTS_PREFIX),
        ),
        S3Grant(
            "FindStagingIndex", "s3:ListBucket", (rc.STAGING_PREFIX,), layout.STAGING_INDEX_NAME
        ),
    ),
    starts_crawler=True,
)

# In the order the functions are built (their resources appear in the template in this order).
FUNCTIONS = (SUBMIT_QUERY, POLL_STATUS, TRANSFORM, LAND)
