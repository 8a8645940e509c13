"""What the saved queries read: the Parquet table against the same rows as NDJSON.

`python -m bench.scan_bench [--days 30] [--seed 42] [--repeats 5]` takes `days` days of the
simulator's organization (its Usage API rows, Day granularity, the default groupBy), writes them as
the pipeline does (raw pages -> the transform -> one Parquet file per partition), and the same rows
as NDJSON, one file per partition (the table's previous format). Every saved query of the stack
(stacks.saved_queries) then runs over each, with DuckDB, translated from Athena's SQL by sqlglot as
the local run does. It prints one line:

    scan 30 days: parquet 0.010x ndjson bytes, saved queries 0.20x time

Bytes are what Athena bills, summed over the queries. NDJSON: every byte of every file of the
partitions a query reads (the saved queries read one granularity and one grouping: every file
here). Parquet: the compressed column chunks of the columns the query names (partition columns
come from the object's path, not the file), plus each file's footer. Time: the median of `repeats`
runs of each query, summed over the queries.
"""

from __future__ import annotations

import argparse
import gzip
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson
import sqlglot
from sqlglot import exp

from local.genesys_simulator.options import ORGANIZATION_SIZES
from local.genesys_simulator.organization import Organization
from local.genesys_simulator.queries import Readings, parse_query, usage_result
from stacks import constants as stack_constants
from usage_pipeline import constants as c
from usage_pipeline.sql import (
    DUCKDB_COLUMN_TYPES,
    identifier,
    literal,
    qualified_name,
)
from usage_pipeline.transform import partition_path, transform_pages, write_page
from usage_report.engines.duckdb_local import open_table, to_duckdb
from usage_report.queries import REPORT_QUERIES, TOP_429_QUERY, BoundQuery

DATABASE = stack_constants.DATABASE_NAME_PREFIX
TABLE = stack_constants.TABLE_NAME
DEFAULT_DAYS = 30
DEFAULT_SEED = 42
DEFAULT_REPEATS = 5
# A fixed day, so the data (and the figures) repeat from run to run.
TODAY = date(2026, 11, 22)
PAGE_ROWS = c.MAX_PAGE_SIZE
API = c.API_AGGREGATES
GROUP_BY = (
    "HttpMethod",
    "OauthClientId",
    "TemplateUri",
)  # the default groupBy, aggregates spelling
RUN_ID = "20261122T014000Z-3fa2b1c0"
LANDED_AT = "2026-11-22T01:41:07Z"


@dataclass(frozen=True)
class ScanResult:
    rows: int
    parquet_bytes: int
    ndjson_bytes: int
    parquet_seconds: float
    ndjson_seconds: float


def simulated_rows(organization: Organization, days: int, today: date) -> list[dict[str, Any]]:
    """The rows the Usage API returns for the `days` days before `today` (Day, default groupBy).

    `organization` is the simulator's: pass a larger one to measure a larger organization.
    """
    first, last = today - timedelta(days=days), today - timedelta(days=1)
    body = {
        "interval": f"{first.isoformat()}T00:00:00Z/{last.isoformat()}T23:59:59Z",
        "granularity": "Day",
        "groupBy": list(GROUP_BY),
        "metrics": list(c.METRICS),
    }
    return usage_result(organization, parse_query(API, body, today), Readings(today)).rows()


def write_table(rows: list[dict[str, Any]], days: int, today: date, work_dir: Path) -> list[Path]:
    """The rows through the pipeline's own transform: the table's Parquet files, one a day, under
    `<work_dir>/bucket/usage/` as in the source bucket."""
    pages_dir, out_dir = work_dir / "raw", work_dir / "bucket" / c.USAGE_PREFIX
    pages_dir.mkdir()
    pages = [
        write_page(
            pages_dir,
            number,
            gzip.compress(orjson.dumps({"entities": rows[start : start + PAGE_ROWS]})),
        )
        for number, start in enumerate(range(0, len(rows), PAGE_ROWS), start=1)
    ]
    start, grouping = today - timedelta(days=days), c.grouping_token(GROUP_BY)
    result = transform_pages(
        pages,
        out_dir,
        api=API,
        granularity="Day",
        grouping=grouping,
        start=start,
        end=today,
        run_id=RUN_ID,
        landed_at=LANDED_AT,
        work_dir=work_dir,
    )
    return [partition_path(out_dir, API, "Day", grouping, day) for day in sorted(result.partitions)]


def write_ndjson(parquet_files: Sequence[Path], work_dir: Path) -> list[Path]:
    """The same rows as NDJSON, a file per partition: one JSON object a line, keys in order."""
    files = []
    with duckdb.connect() as connection:
        for number, source in enumerate(parquet_files):
            target = work_dir / "ndjson" / f"{number:04d}.json"
            target.parent.mkdir(exist_ok=True)
            connection.execute(
                # A temporary path of our own, nothing from outside.
                f"COPY (SELECT * FROM read_parquet($source)) TO '{target}' (FORMAT json)",  # noqa: S608
                {"source": str(source)},
            )
            files.append(target)
    return files


def columns_read(sql: str) -> set[str]:
    """The data columns a query names (partition columns come from the path, not the files)."""
    named = {column.name for column in sqlglot.parse_one(sql, read="athena").find_all(exp.Column)}
    return named - set(c.PARTITION_COLUMNS)


def parquet_bytes_read(files: Sequence[Path], columns: set[str]) -> int:
    """Bytes Athena reads for `columns` of `files`: their column chunks, plus each footer."""
    paths = [str(path) for path in files]
    with duckdb.connect() as connection:
        chunks = connection.execute(
            "SELECT path_in_schema, sum(total_compressed_size) FROM parquet_metadata($files)"
            " GROUP BY 1",
            {"files": paths},
        ).fetchall()
        footers = sum(path.stat().st_size for path in files) - sum(int(size) for _, size in chunks)
    return sum(int(size) for name, size in chunks if name in columns) + footers


def _ndjson_table(files: Sequence[Path]) -> duckdb.DuckDBPyConnection:
    """The previous table: the Glue columns over NDJSON files, as Athena's JSON SerDe read them."""
    spec = ", ".join(
        f"{literal(name)}: {literal(kind)}" for name, kind in DUCKDB_COLUMN_TYPES.items()
    )
    file_list = ", ".join(literal(path) for path in files)
    connection = duckdb.connect()
    connection.execute(f"CREATE SCHEMA {identifier(DATABASE)}")
    connection.execute(
        # Our own names and temporary paths, quoted.
        f"CREATE VIEW {qualified_name(DATABASE, TABLE)} AS SELECT * FROM read_json([{file_list}], "  # noqa: S608
        f"format = 'newline_delimited', columns = {{{spec}}})"
    )
    return connection


def median_seconds(
    connection: duckdb.DuckDBPyConnection, sql: str, parameters: list[str], repeats: int
) -> float:
    """The median time of `repeats` runs of `sql`, after one unmeasured run (warm page cache)."""
    connection.execute(sql, parameters).fetchall()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        connection.execute(sql, parameters).fetchall()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def measure(organization: Organization, days: int, repeats: int) -> ScanResult:
    """Both formats of `days` days of `organization`, every saved query over each."""
    rows = simulated_rows(organization, days, TODAY)
    with tempfile.TemporaryDirectory(prefix="scan-bench-") as work:
        work_dir = Path(work)
        parquet_files = write_table(rows, days, TODAY, work_dir)
        ndjson_files = write_ndjson(parquet_files, work_dir)
        ndjson_size = sum(path.stat().st_size for path in ndjson_files)
        print(
            f"  {len(rows)} rows in {len(parquet_files)} partitions: parquet "
            f"{sum(p.stat().st_size for p in parquet_files)} B, ndjson {ndjson_size} B",
            file=sys.stderr,
        )
        parquet_table = open_table(
            work_dir / "bucket",
            database=DATABASE,
            table=TABLE,
            columns=list(c.COLUMN_TYPES.items()),
        )
        ndjson_table = _ndjson_table(ndjson_files)
        try:
            values = _report_values(rows, days, TODAY)
            per_query = [
                _run_both(query, parquet_table, ndjson_table, parquet_files, ndjson_size, repeats)
                for query in bound_saved_queries(values)
            ]
        finally:
            parquet_table.close()
            ndjson_table.close()
    return ScanResult(
        rows=len(rows),
        parquet_bytes=sum(result.parquet_bytes for result in per_query),
        ndjson_bytes=sum(result.ndjson_bytes for result in per_query),
        parquet_seconds=sum(result.parquet_seconds for result in per_query),
        ndjson_seconds=sum(result.ndjson_seconds for result in per_query),
    )


def _report_values(rows: Sequence[dict[str, Any]], days: int, today: date) -> dict[str, Any]:
    """What the report binds to the saved queries' `?` slots: the range, and five clients and
    template URIs that are in the data (the report's default selections are its top 5)."""
    first, last = today - timedelta(days=days), today - timedelta(days=1)
    clients = list(dict.fromkeys(row["oauthClient"]["id"] for row in rows))[:5]
    uris = list(dict.fromkeys(row["templateUri"] for row in rows))[:5]
    return {
        "start": first.isoformat(),
        "end": last.isoformat(),
        "previous_start": first.isoformat(),
        "oauth_client_ids": clients,
        "template_uris": uris,
    }


def bound_saved_queries(values: dict[str, Any]) -> list[BoundQuery]:
    """The workgroup's saved queries with their `?` slots bound, as the report runs them."""
    source = qualified_name(DATABASE, TABLE)
    return [query.bind(source, values) for query in (TOP_429_QUERY, *REPORT_QUERIES)]


def _run_both(
    query: BoundQuery,
    parquet_table: duckdb.DuckDBPyConnection,
    ndjson_table: duckdb.DuckDBPyConnection,
    parquet_files: Sequence[Path],
    ndjson_size: int,
    repeats: int,
) -> ScanResult:
    """One saved query over both tables: the same answer, the bytes each reads, their times."""
    sql, parameters = to_duckdb(query.sql), list(query.parameters)
    answers = [table.execute(sql, parameters).fetchall() for table in (parquet_table, ndjson_table)]
    if answers[0] != answers[1]:
        raise SystemExit(f"{query.name}: the two formats answer differently")
    result = ScanResult(
        rows=0,
        parquet_bytes=parquet_bytes_read(parquet_files, columns_read(query.sql)),
        ndjson_bytes=ndjson_size,
        parquet_seconds=median_seconds(parquet_table, sql, parameters, repeats),
        ndjson_seconds=median_seconds(ndjson_table, sql, parameters, repeats),
    )
    print(
        f"  {query.name}: parquet {result.parquet_bytes} B {result.parquet_seconds * 1000:.1f} ms;"
        f" ndjson {result.ndjson_bytes} B {result.ndjson_seconds * 1000:.1f} ms",
        file=sys.stderr,
    )
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="the organization's seed")
    parser.add_argument(
        "--org",
        choices=ORGANIZATION_SIZES,
        default="large",
        help="the simulator's organization (default large: tens of thousands of rows a day)",
    )
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help="runs per query")
    args = parser.parse_args(argv)
    result = measure(Organization(args.seed, args.org), args.days, args.repeats)
    print(
        f"scan {args.days} days: parquet {result.parquet_bytes / result.ndjson_bytes:.3f}x ndjson "
        f"bytes, saved queries {result.parquet_seconds / result.ndjson_seconds:.2f}x time"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
