"""Raw API pages -> one Parquet file per partition in staging (docs/contracts.md sections 5 and 6).

:func:`transform_pages` is the core (page files in, partition files out, no S3), used by the
Lambda, the tests and the benchmark; ``staging.stage_run`` wires it to the bucket: it downloads the
run's raw pages to the work directory (exact bytes), runs the core, then uploads every partition to
staging and writes the staging index that land reads.

The core runs in DuckDB (see :mod:`usage_pipeline.parquet_sql`): it checks every row of every page
at engine speed and streams, so memory does not grow with the result. Python steps in only where
the rules need precise words: when DuckDB flags a page or a row, :mod:`usage_pipeline.rows` and the
page checks below read that page again and raise the error that names the page, the row, the field
and the value; and every distinct row date is checked by ``rows.parse_row_date``.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import zlib
from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Final

import duckdb
import orjson

from usage_pipeline import layout, parquet_sql
from usage_pipeline.constants import (
    API_AGGREGATES,
    API_LEGACY,
    PARTITION_OBJECT_NAME,
)
from usage_pipeline.errors import PageMalformed, RowInvalid
from usage_pipeline.periods import period_starts
from usage_pipeline.rows import USAGE_COLUMNS, make_page_normalizer, parse_row_date, row_tail
from usage_pipeline.sql import identifier

# Where each API puts a page's rows, and the status a stored (complete) page carries.
_ROWS_FIELD: Final = {API_AGGREGATES: "entities", API_LEGACY: "results"}
_COMPLETE_STATUS: Final = {API_AGGREGATES: "Succeeded", API_LEGACY: "Complete"}
_GZIP_MAGIC: Final = b"\x1f\x8b"
# Raw pages are fetched from S3 by this many threads at once (each holds one page in memory).
DOWNLOAD_WORKERS: Final = 8
# DuckDB's share of the Lambda's memory (the rest: Python, boto3, S3 transfers); it spills to the
# work directory past it. Outside Lambda (tests, benchmark, local run) a fixed limit.
DUCKDB_MEMORY_SHARE: Final = 0.5
LOCAL_DUCKDB_MEMORY_MB: Final = 1024
_LAMBDA_MEMORY_ENV: Final = "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"
STAGED_ROWS_NAME: Final = "rows.parquet"


@dataclass(frozen=True)
class PartitionTally:
    """What was written to one partition: rows, and the bytes and sha256 of its Parquet file."""

    rows: int
    size: int
    sha256: str
    # What the rows say, whatever run wrote them and in whatever order: equal digests mean a
    # re-landed partition did not change (a different one is counted as restated).
    content: str = ""


@dataclass
class TransformResult:
    """Counts of one transform: per partition (by date) and in total."""

    partitions: dict[str, PartitionTally]
    pages: int = 0
    rows: int = 0
    requests: int = 0
    status429: int = 0


@dataclass
class _DayRows:
    """The staged rows of one period: the date texts they were sent with, and their totals."""

    texts: list[str] = field(default_factory=list)
    rows: int = 0
    requests: int = 0
    status429: int = 0


@dataclass(frozen=True, order=True)
class _BadRow:
    """A refused row: (page number, row index in the page) and why."""

    position: tuple[int, int]
    message: str


def partition_path(root: Path, api: str, granularity: str, grouping: str, day: str) -> Path:
    """`<root>/api=<a>/granularity=<g>/grouping=<t>/date=<d>/usage.parquet`."""
    return root / layout.partition(api, granularity, grouping, day).path / PARTITION_OBJECT_NAME


def transform_pages(
    pages: Sequence[Path],
    out_dir: Path,
    *,
    api: str,
    granularity: str,
    grouping: str,
    start: date,
    end: date,
    run_id: str,
    landed_at: str,
    work_dir: Path,
    memory_limit_mb: int | None = None,
) -> TransformResult:
    """Check every row of ``pages`` and write each partition's file.

    ``pages[n-1]`` is page n, named for it (``write_page``, ``page_files``).

    Every period of [start, end) gets a partition file under ``out_dir``, even with no rows, so
    that landing it replaces whatever an earlier run left there; so does every other date Genesys
    gave a row (a week it starts on a Sunday). Nothing is written under
    ``out_dir`` unless every page and every row passed. ``work_dir`` holds DuckDB's staged rows
    and spill files.
    """
    for number, path in enumerate(pages, start=1):
        if page_number(path) != number:
            raise ValueError(f"pages: {path.name!r} is not page {number} (page-{number:05d}.json)")
    window = (start, end)
    staged = work_dir / STAGED_ROWS_NAME
    limit = memory_limit_mb or duckdb_memory_limit_mb()
    with closing(parquet_sql.connect(work_dir / "spill", limit)) as db:
        _stage_rows(db, pages, staged, api=api, granularity=granularity, window=window)
        _check_pages(db, staged, pages, api)
        days, bad_date = _rows_by_day(db, staged, granularity, window)
        _check_rows(db, staged, pages, bad_date, api=api, granularity=granularity, window=window)
        result = TransformResult(partitions={}, pages=len(pages))
        # The window's periods (each replaced, even when empty) and the dates Genesys gave its
        # rows: where it starts a week on another day than ours, its dates are the partitions.
        periods = {period.isoformat() for period in period_starts(start, end, granularity)}
        for day in sorted(periods | set(days)):
            day_rows = days.get(day, _DayRows())
            target = partition_path(out_dir, api, granularity, grouping, day)
            target.parent.mkdir(parents=True, exist_ok=True)
            run_columns = row_tail(api, run_id, landed_at, granularity, grouping, day)
            db.execute(
                parquet_sql.partition_sql(
                    staged, target, date_texts=day_rows.texts, run_columns=run_columns
                )
            )
            result.partitions[day] = _tally(target, day_rows.rows, _content_digest(db, target))
            result.rows += day_rows.rows
            result.requests += day_rows.requests
            result.status429 += day_rows.status429
    staged.unlink()
    return result


def duckdb_memory_limit_mb() -> int:
    """DuckDB's memory limit: a share of the Lambda's memory, or a fixed limit outside Lambda."""
    lambda_memory = os.environ.get(_LAMBDA_MEMORY_ENV)
    if lambda_memory and lambda_memory.isdigit():
        return int(int(lambda_memory) * DUCKDB_MEMORY_SHARE)
    return LOCAL_DUCKDB_MEMORY_MB


def _stage_rows(
    db: duckdb.DuckDBPyConnection,
    pages: Sequence[Path],
    staged: Path,
    *,
    api: str,
    granularity: str,
    window: tuple[date, date],
) -> None:
    sql = parquet_sql.stage_rows_sql(
        pages,
        staged,
        api=api,
        rows_field=_ROWS_FIELD[api],
        complete_status=_COMPLETE_STATUS[api],
    )
    try:
        db.execute(sql)
    except (duckdb.InvalidInputException, duckdb.IOException) as error:
        # DuckDB could not read a page as the documented shape (not gzip or JSON, rows not an
        # array of objects, an object field that is not an object): find it and say why.
        for number, path in enumerate(pages, start=1):
            _check_page_rows(path, number, api=api, granularity=granularity, window=window)
        if isinstance(error, duckdb.IOException):
            raise  # not a page the rules refuse: a real I/O failure
        message = str(error).splitlines()[0]
        for number, path in enumerate(pages, start=1):
            message = message.replace(str(path), f"page {number}")
        raise PageMalformed(f"raw pages: {message}") from None


def _check_pages(
    db: duckdb.DuckDBPyConnection, staged: Path, pages: Sequence[Path], api: str
) -> None:
    """PageMalformed for a page that is not complete; pages without rows are checked in Python."""
    summary = db.execute(parquet_sql.page_summary_sql(staged)).fetchone()
    incomplete, with_rows = summary if summary is not None else (None, [])
    checked = set(range(1, len(pages) + 1)).difference(with_rows or [])
    if incomplete is not None:
        checked.add(int(incomplete))
    for number in sorted(checked):
        page_rows(pages[number - 1].read_bytes(), number, api)
    if incomplete is not None:
        raise PageMalformed(f"page {incomplete}: queryStatus is not {_COMPLETE_STATUS[api]!r}")


def _check_rows(
    db: duckdb.DuckDBPyConnection,
    staged: Path,
    pages: Sequence[Path],
    bad_date: _BadRow | None,
    *,
    api: str,
    granularity: str,
    window: tuple[date, date],
) -> None:
    """RowInvalid for the first bad row in page order: a row DuckDB flagged, or a bad date.

    A flagged row's page is read again by the row rules, which say what is wrong with it.
    """
    flagged = db.execute(parquet_sql.first_invalid_row_sql(staged)).fetchone()
    if flagged is not None and (bad_date is None or tuple(flagged) <= bad_date.position):
        number, index = int(flagged[0]), int(flagged[1])
        _check_page_rows(pages[number - 1], number, api=api, granularity=granularity, window=window)
        raise RowInvalid(f"page {number} row {index}: a value does not have its column's type")
    if bad_date is not None:
        page, row = bad_date.position
        raise RowInvalid(f"page {page} row {row}: {bad_date.message}")


def _check_page_rows(
    path: Path, number: int, *, api: str, granularity: str, window: tuple[date, date]
) -> None:
    """Raise what the Python rules find wrong with page ``number``, naming the page."""
    raw_rows = page_rows(path.read_bytes(), number, api)
    normalize = make_page_normalizer(api, granularity=granularity, window=window)
    try:
        normalize(raw_rows)
    except RowInvalid as error:
        raise RowInvalid(f"page {number} {error}") from None


def _rows_by_day(
    db: duckdb.DuckDBPyConnection, staged: Path, granularity: str, window: tuple[date, date]
) -> tuple[dict[str, _DayRows], _BadRow | None]:
    """Totals per period, and the first row whose date the row rules refuse (each distinct date
    text is checked once)."""
    groups = db.execute(parquet_sql.rows_by_date_sql(staged)).fetchall()
    days: dict[str, _DayRows] = {}
    refused: list[_BadRow] = []
    for text, rows, requests, status429, first in groups:
        try:
            day = _row_date(text, granularity, window)
        except RowInvalid as error:
            refused.append(_BadRow((first["page"], first["row"]), str(error)))
            continue
        day_rows = days.setdefault(day, _DayRows())
        day_rows.texts.append(text)
        day_rows.rows += int(rows)
        day_rows.requests += int(requests)
        day_rows.status429 += int(status429)
    return days, min(refused, default=None)


def _row_date(text: str | None, granularity: str, window: tuple[date, date]) -> str:
    """A row's date as sent (JSON text, None when absent) -> `YYYY-MM-DD`, by the rows rules."""
    value = None if text is None else orjson.loads(text)
    if type(value) is not str:
        raise RowInvalid(f"field 'date': {value!r} is not a date string")
    return parse_row_date(value, granularity, window)


def _tally(path: Path, rows: int, content: str) -> PartitionTally:
    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256")
    return PartitionTally(
        rows=rows, size=path.stat().st_size, sha256=digest.hexdigest(), content=content
    )


USAGE_DIGEST_COLUMNS: Final = (*USAGE_COLUMNS, "date")


def _content_digest(db: duckdb.DuckDBPyConnection, path: Path) -> str:
    """An order-free digest of a partition's usage columns (not the run's): XOR of row MD5s."""
    columns = ", ".join(
        f"coalesce(CAST({identifier(name)} AS VARCHAR), '\x00')" for name in USAGE_DIGEST_COLUMNS
    )
    (value,) = db.execute(
        f"SELECT coalesce(bit_xor(md5_number(concat_ws('|', {columns}))), 0) "  # noqa: S608
        "FROM read_parquet(?)",
        [str(path)],
    ).fetchone() or (0,)
    return f"{int(value):032x}"


# --- pages -------------------------------------------------------------------------------------


def page_rows(page: bytes, number: int, api: str) -> list[Any]:
    """The rows of one raw page (gzip or plain JSON); PageMalformed if it is not the shape."""
    text = _inflated(page, number)
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise PageMalformed(f"page {number}: not valid JSON: {error}") from None
    if not isinstance(document, dict):
        raise PageMalformed(f"page {number}: not a JSON object")
    complete_status = _COMPLETE_STATUS[api]
    status = document.get("queryStatus", complete_status)
    if status != complete_status:
        raise PageMalformed(f"page {number}: queryStatus {status!r}, expected {complete_status!r}")
    rows_field = _ROWS_FIELD[api]
    rows = document.get(rows_field, [])
    if not isinstance(rows, list):
        raise PageMalformed(f"page {number}: {rows_field!r} is not an array")
    return rows


def _inflated(page: bytes, number: int) -> bytes:
    """A raw page's JSON text: pages are stored gzip; plain JSON is accepted as well."""
    if page[:2] != _GZIP_MAGIC:
        return page
    try:
        return gzip.decompress(page)
    except (OSError, EOFError, zlib.error) as error:
        raise PageMalformed(f"page {number}: not valid gzip: {error}") from None


def write_page(directory: Path, number: int, page: bytes) -> Path:
    """Store a raw page's exact bytes as `page-NNNNN.json.gz` (`.json` when it is not gzip).

    DuckDB decompresses by the file name, so the name says what the bytes are.
    """
    suffix = ".json.gz" if page[:2] == _GZIP_MAGIC else ".json"
    path = directory / f"page-{number:05d}{suffix}"
    path.write_bytes(page)
    return path


def page_number(path: Path) -> int | None:
    """The number a page file is named for (`page-00001.json.gz` -> 1), None if it is not one."""
    match = re.search(parquet_sql.PAGE_FILE_PATTERN, path.name)
    return int(match[1]) if match else None


def page_files(directory: Path) -> list[Path]:
    """The page files `page-NNNNN.json[.gz]` of a directory, in page order."""
    return sorted(
        (path for path in directory.iterdir() if page_number(path) is not None),
        key=lambda path: page_number(path) or 0,
    )
