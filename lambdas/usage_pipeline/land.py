"""Staged partitions -> the usage table, then the run manifest, then the crawler.

docs/contracts.md section 6: each partition is replaced by ONE server-side copy of its single
`usage.parquet` (a copy is atomic per object, so readers see the complete old or the complete new
partition, never half of one), then any other object under that partition prefix is deleted. The
manifest is written last: its presence means the run is landed, which makes land idempotent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from botocore.exceptions import ClientError

from usage_pipeline import layout, utc
from usage_pipeline.constants import PARTITION_CONTENT_TYPE
from usage_pipeline.errors import RowCountMismatch
from usage_pipeline.observability import logger
from usage_pipeline.staging_index import IndexedPartition, StagingIndex
from usage_pipeline.state import Landed, Raw, RunState, Staged, to_json
from usage_pipeline.storage import BucketStore

CRAWLER_RUNNING_ERROR: Final = "CrawlerRunningException"
# The partition object's metadata key holding its content digest (transform's `content`).
CONTENT_METADATA: Final = "content"


@dataclass(frozen=True)
class LandedPartition:
    """One partition this run replaced in the table."""

    staged: IndexedPartition
    key: str
    staging_key: str
    etag: str
    version_id: str | None
    removed_keys: tuple[str, ...]
    restated: bool  # it held other rows before this run (late data, corrected by Genesys)

    @property
    def partition(self) -> layout.Partition:
        return self.staged.partition

    def to_json(self) -> dict[str, Any]:
        part = self.partition
        return {
            "api": part.api,
            "granularity": part.granularity,
            "grouping": part.grouping,
            "date": part.date,
            "key": self.key,
            "stagingKey": self.staging_key,
            "rows": self.staged.rows,
            "bytes": self.staged.size,
            "sha256": self.staged.sha256,
            "etag": self.etag,
            "versionId": self.version_id,
            "removedKeys": list(self.removed_keys),
            "restated": self.restated,
        }


def land_run(
    *,
    store: BucketStore,
    glue_client: Any,
    state: RunState,
    crawler_name: str,
    now: datetime,
) -> Landed:
    """Land the run's staged partitions; return the state document's ``landed`` member.

    If the run's manifest exists the run is already landed: its summary is returned and nothing
    changes (a retried or re-driven land is harmless).
    """
    run_id = state.run_id
    if state.raw is None or state.staged is None:
        raise RowCountMismatch(f"run {run_id}: nothing was staged; transform did not finish")
    manifest_key = layout.manifest_key(run_id)
    if store.exists(manifest_key):
        return landed_member(
            store.get_json(manifest_key),
            crawler_started=False,
            crawler_already_running=False,
            already_landed=True,
        )
    index_key = state.staged.index_key or layout.staging_index_key(run_id)
    if not store.exists(index_key):
        raise RowCountMismatch(f"run {run_id}: no staging index; transform did not finish")
    index = StagingIndex.from_json(store.get_json(index_key))
    _check_counts(state.raw, state.staged, index)
    partitions = [_land_partition(store, run_id, entry) for entry in index.partitions]
    manifest = build_manifest(
        state=state, index=index, partitions=partitions, landed_at=utc.timestamp(now)
    )
    store.put_json(manifest_key, manifest, indent=True)
    started = start_crawler(glue_client, crawler_name)
    return landed_member(manifest, crawler_started=started, crawler_already_running=not started)


def _check_counts(raw: Raw, staged: Staged, index: StagingIndex) -> None:
    """Rows received from the API = rows staged = rows about to land, or nothing lands."""
    counts = {
        "received (raw.rows)": raw.rows,
        "staged (staged.rows)": staged.rows,
        "in the staging index": index.rows,
        "in the staged partitions": sum(entry.rows for entry in index.partitions),
    }
    if len(set(counts.values())) > 1:
        listed = ", ".join(f"{count} {name}" for name, count in counts.items())
        raise RowCountMismatch(f"row counts differ: {listed}")


def _land_partition(store: BucketStore, run_id: str, entry: IndexedPartition) -> LandedPartition:
    """Copy one staged partition over the table's, then delete anything else under its prefix."""
    part = entry.partition
    staging_key = layout.staging_key(run_id, part)
    target_key = layout.partition_key(part)
    prefix = layout.partition_prefix(part)
    # One listing serves both: what the partition held before (restated?) and what to delete.
    existing = list(store.list_keys(prefix))
    previous = (
        store.head(target_key).metadata.get(CONTENT_METADATA, "")
        if target_key in existing
        else None
    )
    staged = store.head(staging_key)
    if staged.size != entry.size:
        raise RowCountMismatch(
            f"{staging_key}: {staged.size} bytes staged, the index says {entry.size}"
        )
    copied = store.copy(
        staging_key,
        target_key,
        # Only the object whose size was just checked may land, not one rewritten since.
        if_match=staged.etag,
        content_type=PARTITION_CONTENT_TYPE,
        metadata={
            "run-id": run_id,
            "rows": str(entry.rows),
            "sha256": entry.sha256,
            CONTENT_METADATA: entry.content,
        },
    )
    # Genesys does not say when a day's numbers are final: a partition that comes back with other
    # rows than it holds is restated (a partition landed before digests existed is not known).
    restated = bool(previous) and previous != entry.content
    if restated:
        logger.info(
            "partition restated",
            extra={"partition": part.id, "previous": previous, "now": entry.content},
        )
    others = [key for key in existing if key != target_key]
    store.delete(others)
    return LandedPartition(
        staged=entry,
        key=target_key,
        staging_key=staging_key,
        etag=copied.etag,
        version_id=copied.version_id,
        removed_keys=tuple(others),
        restated=restated,
    )


def build_manifest(
    *,
    state: RunState,
    index: StagingIndex,
    partitions: list[LandedPartition],
    landed_at: str,
) -> dict[str, Any]:
    """What was asked, received and landed: the run's audit record (`manifests/run=<id>.json`)."""
    query = state.query.to_dict()
    normalized = {name: value for name, value in query.items() if name != "requested"}
    raw = state.raw
    return {
        "runId": state.run_id,
        "execution": to_json(state.execution),
        "api": state.query.api,
        "job": {"api": state.job.api, "id": state.job.id},
        "query": {"requested": query["requested"], "normalized": normalized},
        "received": {
            "prefix": raw.prefix if raw else layout.raw_prefix(state.run_id),
            "pages": raw.pages if raw else None,
            "rows": raw.rows if raw else index.rows,
        },
        "landed": {
            "partitions": len(partitions),
            "rows": sum(landed.staged.rows for landed in partitions),
            "requests": index.requests,
            "status429": index.status429,
            "partitionRows": {landed.partition.id: landed.staged.rows for landed in partitions},
            # Partitions that held other rows before this run (late data, corrected by Genesys).
            "restated": [landed.partition.id for landed in partitions if landed.restated],
        },
        "partitions": [landed.to_json() for landed in partitions],
        "landedAt": landed_at,
    }


def landed_member(
    manifest: Mapping[str, Any],
    *,
    crawler_started: bool,
    crawler_already_running: bool,
    already_landed: bool = False,
) -> Landed:
    """The state document's ``landed`` member, from a manifest (new or found)."""
    landed = manifest["landed"]
    return Landed(
        manifest_key=layout.manifest_key(manifest["runId"]),
        partitions=landed["partitions"],
        rows=landed["rows"],
        requests=landed["requests"],
        status429=landed["status429"],
        crawler_started=crawler_started,
        crawler_already_running=crawler_already_running,
        landed_at=manifest["landedAt"],
        already_landed=already_landed,
        restated=len(landed.get("restated", [])),
    )


def start_crawler(glue_client: Any, crawler_name: str) -> bool:
    """Start the crawler; False when it is already running (it will see the new data anyway)."""
    try:
        glue_client.start_crawler(Name=crawler_name)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == CRAWLER_RUNNING_ERROR:
            return False
        raise
    return True
