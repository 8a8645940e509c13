"""Staged partitions -> the usage table, then the run manifest, then the crawler.

docs/contracts.md section 6: each partition is replaced by ONE server-side copy of its single
`usage.parquet` (a copy is atomic per object, so readers see the complete old or the complete new
partition, never half of one), then any other object under that partition prefix is deleted. The
manifest is written last: its presence means the run is landed, which makes land idempotent.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, Final

import orjson
from botocore.exceptions import ClientError

from usage_pipeline import layout
from usage_pipeline.constants import PARTITION_CONTENT_TYPE
from usage_pipeline.errors import RowCountMismatch
from usage_pipeline.observability import logger
from usage_pipeline.state import Landed, Raw, RunState, Staged, to_json

CRAWLER_RUNNING_ERROR: Final = "CrawlerRunningException"
# The partition object's metadata key holding its content digest (transform's `content`).
CONTENT_METADATA: Final = "content"
_DELETE_BATCH: Final = 1000  # DeleteObjects takes at most 1000 keys


def land_run(
    *,
    s3_client: Any,
    glue_client: Any,
    bucket: str,
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
    if _exists(s3_client, bucket, manifest_key):
        existing = _read_json(s3_client, bucket, manifest_key)
        return landed_member(
            existing, crawler_started=False, crawler_already_running=False, already_landed=True
        )
    index_key = state.staged.index_key or layout.staging_index_key(run_id)
    if not _exists(s3_client, bucket, index_key):
        raise RowCountMismatch(f"run {run_id}: no staging index; transform did not finish")
    index = _read_json(s3_client, bucket, index_key)
    _check_counts(state.raw, state.staged, index)
    partitions = [
        _land_partition(s3_client, bucket, run_id, index, entry) for entry in index["partitions"]
    ]
    manifest = build_manifest(
        state=state, index=index, partitions=partitions, landed_at=_iso_utc(now)
    )
    s3_client.put_object(
        Bucket=bucket,
        Key=manifest_key,
        Body=orjson.dumps(manifest, option=orjson.OPT_INDENT_2),
        ContentType="application/json",
    )
    started = start_crawler(glue_client, crawler_name)
    return landed_member(manifest, crawler_started=started, crawler_already_running=not started)


def _check_counts(raw: Raw, staged: Staged, index: Mapping[str, Any]) -> None:
    """Rows received from the API = rows staged = rows about to land, or nothing lands."""
    partition_rows = sum(int(entry["rows"]) for entry in index["partitions"])
    counts = {
        "received (raw.rows)": raw.rows,
        "staged (staged.rows)": staged.rows,
        "in the staging index": index["rows"],
        "in the staged partitions": partition_rows,
    }
    known = {name: int(count) for name, count in counts.items() if count is not None}
    if len(set(known.values())) > 1:
        listed = ", ".join(f"{count} {name}" for name, count in known.items())
        raise RowCountMismatch(f"row counts differ: {listed}")


def _land_partition(
    s3_client: Any,
    bucket: str,
    run_id: str,
    index: Mapping[str, Any],
    entry: Mapping[str, Any],
) -> dict[str, Any]:
    """Copy one staged partition over the table's, then delete anything else under its prefix."""
    part = layout.partition(index["api"], index["granularity"], index["grouping"], entry["date"])
    staging_key = layout.staging_key_of(run_id, part)
    target_key = layout.partition_key_of(part)
    prefix = layout.partition_prefix_of(part)
    # One listing serves both: what the partition held before (restated?) and what to delete.
    existing = list(_list_keys(s3_client, bucket, prefix))
    previous = _landed_content(s3_client, bucket, target_key) if target_key in existing else None
    head = s3_client.head_object(Bucket=bucket, Key=staging_key)
    if int(head["ContentLength"]) != int(entry["bytes"]):
        raise RowCountMismatch(
            f"{staging_key}: {head['ContentLength']} bytes staged, the index says {entry['bytes']}"
        )
    copied = s3_client.copy_object(
        Bucket=bucket,
        Key=target_key,
        # Only the object whose size was just checked may land, not one rewritten since.
        CopySource={"Bucket": bucket, "Key": staging_key},
        CopySourceIfMatch=head["ETag"],
        MetadataDirective="REPLACE",
        ContentType=PARTITION_CONTENT_TYPE,
        Metadata={
            "run-id": run_id,
            "rows": str(entry["rows"]),
            "sha256": entry["sha256"],
            CONTENT_METADATA: entry.get("content", ""),
        },
    )
    # Genesys does not say when a day's numbers are final: a partition that comes back with other
    # rows than it holds is restated (a partition landed before digests existed is not known).
    restated = bool(previous) and previous != entry.get("content")
    if restated:
        logger.info(
            "partition restated",
            extra={"partition": part.id, "previous": previous, "now": entry.get("content")},
        )
    removed = _delete(s3_client, bucket, prefix, [key for key in existing if key != target_key])
    return {
        "api": part.api,
        "granularity": part.granularity,
        "grouping": part.grouping,
        "date": part.date,
        "key": target_key,
        "stagingKey": staging_key,
        "rows": int(entry["rows"]),
        "bytes": int(entry["bytes"]),
        "sha256": entry["sha256"],
        "etag": copied["CopyObjectResult"]["ETag"],
        "versionId": copied.get("VersionId"),
        "removedKeys": removed,
        "restated": restated,
    }


def _landed_content(s3_client: Any, bucket: str, key: str) -> str:
    """The content digest of the partition object at ``key`` (known to exist)."""
    metadata = s3_client.head_object(Bucket=bucket, Key=key).get("Metadata", {})
    return str(metadata.get(CONTENT_METADATA, ""))


def _delete(s3_client: Any, bucket: str, prefix: str, others: list[str]) -> list[str]:
    """Delete ``others`` (stray objects under the partition ``prefix``); return them."""
    for start in range(0, len(others), _DELETE_BATCH):
        batch = others[start : start + _DELETE_BATCH]
        response = s3_client.delete_objects(
            Bucket=bucket,
            Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
        )
        errors = response.get("Errors") or []
        if errors:
            raise RuntimeError(f"could not delete {len(errors)} objects under {prefix}: {errors}")
    return others


def _list_keys(s3_client: Any, bucket: str, prefix: str) -> Iterator[str]:
    paginator = s3_client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            yield item["Key"]


def build_manifest(
    *,
    state: RunState,
    index: Mapping[str, Any],
    partitions: list[dict[str, Any]],
    landed_at: str,
) -> dict[str, Any]:
    """What was asked, received and landed: the run's audit record (`manifests/run=<id>.json`)."""
    query = state.query.to_dict()
    normalized = {name: value for name, value in query.items() if name != "requested"}
    raw = state.raw
    return {
        "runId": state.run_id,
        "execution": to_json(state.execution),
        "api": query["api"],
        "job": {"api": state.job.api, "id": state.job.id},
        "query": {"requested": query["requested"], "normalized": normalized},
        "received": {
            "prefix": raw.prefix if raw else layout.raw_prefix(state.run_id),
            "pages": raw.pages if raw else None,
            "rows": raw.rows if raw else index["rows"],
        },
        "landed": {
            "partitions": len(partitions),
            "rows": sum(entry["rows"] for entry in partitions),
            "requests": index.get("requests"),
            "status429": index.get("status429"),
            "partitionRows": {
                layout.partition(p["api"], p["granularity"], p["grouping"], p["date"]).id: p["rows"]
                for p in partitions
            },
            # Partitions that held other rows before this run (late data, corrected by Genesys).
            "restated": [
                layout.partition(p["api"], p["granularity"], p["grouping"], p["date"]).id
                for p in partitions
                if p.get("restated")
            ],
        },
        "partitions": partitions,
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


def _exists(s3_client: Any, bucket: str, key: str) -> bool:
    """Whether ``key`` exists, asked by listing its own prefix.

    The land role's s3:ListBucket is limited to its prefixes (condition on s3:prefix); a GetObject
    or HeadObject of a missing key is then answered 403 in AWS, not 404 (only moto says 404), so
    existence is asked by a list call, which carries the prefix the condition checks.
    """
    listing = s3_client.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
    return any(item["Key"] == key for item in listing.get("Contents", []))


def _read_json(s3_client: Any, bucket: str, key: str) -> dict[str, Any]:
    """The JSON object at ``key`` (known to exist: see ``_exists``)."""
    response = s3_client.get_object(Bucket=bucket, Key=key)
    document: dict[str, Any] = orjson.loads(response["Body"].read())
    return document


def _iso_utc(moment: datetime) -> str:
    """`2026-11-22T01:41:07Z`; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
