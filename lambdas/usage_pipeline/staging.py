"""The transform's S3 wiring: raw pages from S3 to staged Parquet partitions and the staging index.

:mod:`usage_pipeline.transform` is the pure core (page files in, partition files out); this module
downloads a run's raw pages, runs the core in a temporary folder, uploads every partition to
staging and writes the index that land reads (docs/contracts.md section 6).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import orjson

from usage_pipeline import layout
from usage_pipeline.constants import (
    METRICS,
    PARTITION_CONTENT_TYPE,
)
from usage_pipeline.errors import RowCountMismatch
from usage_pipeline.state import Staged

# Where each API puts a page's rows, and the status a stored (complete) page carries.
from usage_pipeline.transform import (
    DOWNLOAD_WORKERS,
    TransformResult,
    partition_path,
    transform_pages,
    write_page,
)


def transform_run(
    *,
    s3_client: Any,
    bucket: str,
    run_id: str,
    query: Mapping[str, Any],
    raw: Mapping[str, Any],
    landed_at: str,
    tmp_dir: str | Path,
) -> Staged:
    """Transform the run's raw pages into staging; return the state document's ``staged`` member.

    Nothing is uploaded until every page has been read and validated, so a malformed page or an
    invalid row leaves staging untouched.
    """
    api, granularity, grouping = (
        str(query["api"]),
        str(query["granularity"]),
        str(query["grouping"]),
    )
    with tempfile.TemporaryDirectory(dir=tmp_dir, prefix="transform-") as work:
        work_dir = Path(work)
        pages_dir, out_dir = work_dir / "raw", work_dir / "partitions"
        pages_dir.mkdir()
        pages = download_pages(s3_client, bucket, run_id, int(raw["pages"]), pages_dir)
        result = transform_pages(
            pages,
            out_dir,
            api=api,
            granularity=granularity,
            grouping=grouping,
            start=date.fromisoformat(query["start"]),
            end=date.fromisoformat(query["end"]),
            run_id=run_id,
            landed_at=landed_at,
            work_dir=work_dir,
        )
        _check_rows_received(raw, result)
        shutil.rmtree(pages_dir)  # the raw pages stay in S3; /tmp keeps only what is uploaded
        for day in sorted(result.partitions):
            s3_client.upload_file(
                str(partition_path(out_dir, api, granularity, grouping, day)),
                bucket,
                layout.staging_key(run_id, api, granularity, grouping, day),
                ExtraArgs={"ContentType": PARTITION_CONTENT_TYPE},
            )
    index = staging_index(run_id, query, result)
    index_key = layout.staging_index_key(run_id)
    s3_client.put_object(
        Bucket=bucket, Key=index_key, Body=orjson.dumps(index), ContentType="application/json"
    )
    return staged_member(run_id, query, result, index_key)


def download_pages(
    s3_client: Any, bucket: str, run_id: str, pages: int, directory: Path
) -> list[Path]:
    """Fetch the run's raw pages into ``directory``, exact bytes, a few at a time; in page order.

    An S3 GET is mostly waiting on the network, so DOWNLOAD_WORKERS threads overlap it; each
    holds one page in memory until it is on disk.
    """

    def fetch(number: int) -> Path:
        response = s3_client.get_object(Bucket=bucket, Key=layout.raw_page_key(run_id, number))
        return write_page(directory, number, response["Body"].read())

    with ThreadPoolExecutor(max_workers=DOWNLOAD_WORKERS, thread_name_prefix="page") as pool:
        return list(pool.map(fetch, range(1, pages + 1)))


def _check_rows_received(raw: Mapping[str, Any], result: TransformResult) -> None:
    received = raw.get("rows")
    if received is not None and int(received) != result.rows:
        raise RowCountMismatch(
            f"raw pages hold {result.rows} rows but {received} were received from the API"
        )


def _metric_total(query: Mapping[str, Any], metric: str, total: int) -> int | None:
    """A metric's total, or None when the query did not ask for it (no data, not zero)."""
    return total if metric in query.get("metrics", METRICS) else None


def staging_index(run_id: str, query: Mapping[str, Any], result: TransformResult) -> dict[str, Any]:
    """The staging index object: what land needs per partition, kept out of the state document."""
    granularity, grouping = str(query["granularity"]), str(query["grouping"])
    return {
        "runId": run_id,
        "api": query["api"],
        "granularity": granularity.lower(),
        "grouping": grouping,
        "pages": result.pages,
        "rows": result.rows,
        "requests": _metric_total(query, "Requests", result.requests),
        "status429": _metric_total(query, "Status429", result.status429),
        "partitions": [
            {
                "date": day,
                "key": layout.staging_key(run_id, str(query["api"]), granularity, grouping, day),
                "rows": tally.rows,
                "bytes": tally.size,
                "sha256": tally.sha256,
                "content": tally.content,
            }
            for day, tally in sorted(result.partitions.items())
        ],
    }


def staged_member(
    run_id: str, query: Mapping[str, Any], result: TransformResult, index_key: str
) -> Staged:
    """The state document's ``staged`` member: keys and counts only."""
    granularity, grouping = str(query["granularity"]), str(query["grouping"])
    return Staged(
        prefix=layout.staging_prefix(run_id),
        index_key=index_key,
        partitions=len(result.partitions),
        rows=result.rows,
        requests=_metric_total(query, "Requests", result.requests),
        status429=_metric_total(query, "Status429", result.status429),
        partition_rows={
            layout.partition(str(query["api"]), granularity, grouping, day).id: tally.rows
            for day, tally in sorted(result.partitions.items())
        },
    )
