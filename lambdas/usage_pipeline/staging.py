"""Stage a run: its raw pages from the bucket, through the transform, to staged Parquet partitions.

:mod:`usage_pipeline.transform` is the pure core (page files in, partition files out); this module
downloads the run's raw pages, runs the core in a temporary folder, uploads every partition to
``staging/`` and writes the staging index that land reads (docs/contracts.md section 6).
"""

from __future__ import annotations

import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from usage_pipeline import layout
from usage_pipeline.constants import PARTITION_CONTENT_TYPE
from usage_pipeline.errors import RowCountMismatch
from usage_pipeline.query import NormalizedQuery
from usage_pipeline.staging_index import IndexedPartition, StagingIndex
from usage_pipeline.state import Raw, Staged
from usage_pipeline.storage import BucketStore
from usage_pipeline.transform import (
    DOWNLOAD_WORKERS,
    TransformResult,
    partition_path,
    transform_pages,
    write_page,
)


def stage_run(
    *,
    store: BucketStore,
    run_id: str,
    query: NormalizedQuery,
    raw: Raw,
    landed_at: str,
    tmp_dir: str | Path,
) -> Staged:
    """Transform the run's raw pages into staging; return the state document's ``staged`` member.

    Nothing is uploaded until every page has been read and validated, so a malformed page or an
    invalid row leaves staging untouched.
    """
    with tempfile.TemporaryDirectory(dir=tmp_dir, prefix="transform-") as work:
        work_dir = Path(work)
        pages_dir, out_dir = work_dir / "raw", work_dir / "partitions"
        pages_dir.mkdir()
        pages = download_pages(store, run_id, raw.pages, pages_dir)
        result = transform_pages(
            pages,
            out_dir,
            api=query.api,
            granularity=query.granularity,
            grouping=query.grouping,
            start=query.start,
            end=query.end,
            run_id=run_id,
            landed_at=landed_at,
            work_dir=work_dir,
        )
        _check_rows_received(raw, result)
        shutil.rmtree(pages_dir)  # the raw pages stay in S3; /tmp keeps only what is uploaded
        index = staging_index(run_id, query, result)
        for entry in index.partitions:
            store.upload_file(
                partition_path(
                    out_dir, query.api, query.granularity, query.grouping, entry.partition.date
                ),
                entry.key,
                content_type=PARTITION_CONTENT_TYPE,
            )
    index_key = layout.staging_index_key(run_id)
    store.put_json(index_key, index.to_json())
    return Staged(
        prefix=layout.staging_prefix(run_id),
        index_key=index_key,
        partitions=len(index.partitions),
        rows=index.rows,
    )


def download_pages(store: BucketStore, run_id: str, pages: int, directory: Path) -> list[Path]:
    """Fetch the run's raw pages into ``directory``, exact bytes, a few at a time; in page order.

    An S3 GET is mostly waiting on the network, so DOWNLOAD_WORKERS threads overlap it; each
    holds one page in memory until it is on disk.
    """

    def fetch(number: int) -> Path:
        return write_page(directory, number, store.get_bytes(layout.raw_page_key(run_id, number)))

    with ThreadPoolExecutor(max_workers=DOWNLOAD_WORKERS, thread_name_prefix="page") as pool:
        return list(pool.map(fetch, range(1, pages + 1)))


def _check_rows_received(raw: Raw, result: TransformResult) -> None:
    if raw.rows != result.rows:
        raise RowCountMismatch(
            f"raw pages hold {result.rows} rows but {raw.rows} were received from the API"
        )


def _asked(query: NormalizedQuery, metric: str, total: int) -> int | None:
    """A metric's total, or None when the query did not ask for it (no data, not zero)."""
    return total if metric in query.metrics else None


def staging_index(run_id: str, query: NormalizedQuery, result: TransformResult) -> StagingIndex:
    """What land needs per partition, kept out of the state document."""
    return StagingIndex(
        run_id=run_id,
        api=query.api,
        granularity=query.granularity.lower(),
        grouping=query.grouping,
        pages=result.pages,
        rows=result.rows,
        requests=_asked(query, "Requests", result.requests),
        status429=_asked(query, "Status429", result.status429),
        partitions=tuple(
            IndexedPartition(
                partition=part,
                key=layout.staging_key(run_id, part),
                rows=tally.rows,
                size=tally.size,
                sha256=tally.sha256,
                content=tally.content,
            )
            for day, tally in sorted(result.partitions.items())
            for part in (layout.partition(query.api, query.granularity, query.grouping, day),)
        ),
    )
