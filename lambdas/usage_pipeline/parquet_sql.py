"""The SQL DuckDB runs for transform: raw API pages -> checked rows -> one Parquet file a partition.

Two kinds of statement do the work, both streaming (DuckDB reads the pages in parallel and never
holds the whole result, so memory does not grow with it):

1. :func:`stage_rows_sql` copies every row of every page into one Parquet file of staged rows,
   with the values already typed, each row's page and index, its date as sent, and whether every
   value passed the row rules (``valid``).
2. :func:`partition_sql`, once per partition, copies that partition's staged rows, completed with
   the run's columns, into the partition's Parquet file (zstd).

Values are read as JSON text, never through DuckDB's own casts, which turn ``"4"`` or ``true`` into
a number: a count is valid only if its text is a non-negative integer that fits a BIGINT (or an
integral float, as :mod:`usage_pipeline.rows` allows), a string only if its text is a JSON string.
Dates are not checked here: the transform checks each distinct date text with the rules of
:mod:`usage_pipeline.rows`. The column sources come from ``rows.SOURCES``, the one mapping.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Final

import duckdb

from usage_pipeline.constants import (
    PARTITION_COLUMNS,
    ROW_COUNT_COLUMNS,
    ROW_RUN_COLUMNS,
    ROW_STRING_COLUMNS,
)
from usage_pipeline.rows import SOURCES, StringSource
from usage_pipeline.sql import DUCKDB_COLUMN_TYPES, identifier, literal

# A raw page's file name, `page-00001.json.gz` (`.json` when the bytes are not gzip): its number.
PAGE_FILE_PATTERN: Final = r"page-(\d+)\.json(?:\.gz)?$"
# Columns of the staged rows file besides the table's usage columns.
PAGE_COLUMN: Final = "page_number"
ROW_COLUMN: Final = "row_index"
DATE_TEXT_COLUMN: Final = "date_json"
VALID_COLUMN: Final = "valid"
PAGE_COMPLETE_COLUMN: Final = "page_complete"
# Small row groups keep the staging writer's buffers small; the file only lives during the run.
STAGED_ROW_GROUP_ROWS: Final = 16_384
_ROW: Final = "r"  # the alias of one API row (a STRUCT of JSON values) in stage_rows_sql


def connect(spill_dir: Path, memory_limit_mb: int) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that spills to ``spill_dir`` past ``memory_limit_mb`` and stays offline.

    Insertion order is preserved so that rows keep their page order in every file; the JSON and
    Parquet readers are built into the wheel, so nothing is ever downloaded or loaded at run time.
    """
    return duckdb.connect(
        config={
            "memory_limit": f"{memory_limit_mb}MB",
            "temp_directory": str(spill_dir),
            "preserve_insertion_order": True,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
    )


def stage_rows_sql(
    pages: Sequence[Path],
    staged: Path,
    *,
    api: str,
    rows_field: str,
    complete_status: str,
) -> str:
    """COPY the rows of ``pages`` to the staged rows file ``staged``.

    Each page file is named for its number (PAGE_FILE_PATTERN), which the staged rows carry.

    A page whose ``queryStatus`` is present and not ``complete_status`` marks its rows
    ``page_complete = false``; a page DuckDB cannot read as the documented shape (not JSON, rows
    not an array of objects) makes the statement fail, and the transform names the page.
    """
    string_sources, count_sources = SOURCES[api]
    string_columns = list(zip(ROW_STRING_COLUMNS, string_sources, strict=True))
    count_columns = list(zip(ROW_COUNT_COLUMNS, count_sources, strict=True))
    values = [
        *(f"{_string_value(source)} AS {identifier(name)}" for name, source in string_columns),
        *(f"{_count_value(source)} AS {identifier(name)}" for name, source in count_columns),
    ]
    checks = [
        f"{_ROW} IS NOT NULL",
        *(_string_check(source) for _, source in string_columns if source is not None),
        *(_count_check(source) for _, source in count_columns),
    ]
    row_type = _row_struct(string_sources, count_sources)
    # Every name and literal in the statement is quoted by identifier() / literal().
    return f"""COPY (
  SELECT {PAGE_COLUMN}, {ROW_COLUMN}, {", ".join(values)},
    CAST({_ROW}.{identifier("date")} AS VARCHAR) AS {DATE_TEXT_COLUMN},
    coalesce({" AND ".join(checks)}, false) AS {VALID_COLUMN},
    {PAGE_COMPLETE_COLUMN}
  FROM ({_page_rows(pages, rows_field, row_type, complete_status)})
) TO {literal(staged)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE {STAGED_ROW_GROUP_ROWS})"""  # noqa: S608


def _page_rows(pages: Sequence[Path], rows_field: str, row_type: str, complete_status: str) -> str:
    """Every row of every page: (page number, page complete, row index, the row as ``r``)."""
    if not pages:  # read_json needs a file: no pages, no rows of the same shape
        return (
            f"SELECT CAST(NULL AS BIGINT) AS {PAGE_COLUMN}, CAST(NULL AS BOOLEAN) AS"
            f" {PAGE_COMPLETE_COLUMN}, CAST(NULL AS BIGINT) AS {ROW_COLUMN},"
            f" CAST(NULL AS {row_type}) AS {_ROW} WHERE false"
        )
    paths = "[" + ", ".join(literal(path) for path in pages) + "]"
    read_columns = f"{{queryStatus: 'JSON', {identifier(rows_field)}: {literal(row_type + '[]')}}}"
    complete = literal(json.dumps(complete_status))
    number = f"CAST(regexp_extract(filename, {literal(PAGE_FILE_PATTERN)}, 1) AS BIGINT)"
    return f"""
    SELECT {number} AS {PAGE_COLUMN},
      (queryStatus IS NULL OR CAST(queryStatus AS VARCHAR) = {complete}) AS {PAGE_COMPLETE_COLUMN},
      generate_subscripts({identifier(rows_field)}, 1) - 1 AS {ROW_COLUMN},
      unnest({identifier(rows_field)}) AS {_ROW}
    FROM read_json({paths}, format = 'unstructured', filename = true, columns = {read_columns})"""  # noqa: S608


def partition_sql(
    staged: Path, target: Path, *, date_texts: Iterable[str], run_columns: Mapping[str, str]
) -> str:
    """COPY the staged rows dated by one of ``date_texts`` to ``target``, a zstd Parquet file.

    ``run_columns`` gives the value of every column after the usage columns (api ... date): they
    are the same for the whole partition. No date text writes a file of zero rows with the schema.
    """
    texts = [literal(text) for text in date_texts]
    where = f"{DATE_TEXT_COLUMN} IN ({', '.join(texts)})" if texts else "false"
    usage = [identifier(name) for name in ROW_STRING_COLUMNS + ROW_COUNT_COLUMNS]
    run = [
        f"CAST({literal(run_columns[name])} AS {DUCKDB_COLUMN_TYPES[name]}) AS {identifier(name)}"
        for name in ROW_RUN_COLUMNS + PARTITION_COLUMNS
    ]
    return (
        f"COPY (SELECT {', '.join(usage + run)} FROM read_parquet({literal(staged)}) "  # noqa: S608 - quoted above
        f"WHERE {where}) TO {literal(target)} (FORMAT parquet, COMPRESSION zstd)"
    )


def page_summary_sql(staged: Path) -> str:
    """(first page not complete or NULL, the list of pages that have rows) of the staged rows."""
    return (
        f"SELECT min({PAGE_COLUMN}) FILTER (WHERE NOT {PAGE_COMPLETE_COLUMN}),"  # noqa: S608
        f" list(DISTINCT {PAGE_COLUMN}) FROM read_parquet({literal(staged)})"
    )


def first_invalid_row_sql(staged: Path) -> str:
    """(page, row) of the first staged row, in page order, that is not ``valid``."""
    return (
        f"SELECT {PAGE_COLUMN}, {ROW_COLUMN} FROM read_parquet({literal(staged)})"  # noqa: S608
        f" WHERE NOT {VALID_COLUMN} ORDER BY 1, 2 LIMIT 1"
    )


def rows_by_date_sql(staged: Path) -> str:
    """Per date text: rows, requests, status429 and the first (page, row) sent with it."""
    return (
        f"SELECT {DATE_TEXT_COLUMN}, count(*), coalesce(sum(requests), 0),"  # noqa: S608
        f" coalesce(sum(status429), 0),"
        f" min(struct_pack(page := {PAGE_COLUMN}, row := {ROW_COLUMN}))"
        f" FROM read_parquet({literal(staged)}) GROUP BY 1"
    )


def _row_struct(string_sources: Sequence[StringSource], count_sources: Sequence[str]) -> str:
    """The DuckDB type of one API row: every field read as JSON text, objects as STRUCTs of it."""
    fields: dict[str, list[str] | None] = {}
    for source in (*string_sources, *count_sources, "date"):
        if isinstance(source, tuple):
            holder, name = source
            members = fields.setdefault(holder, [])
            assert members is not None
            members.append(name)
        elif source is not None:
            fields[source] = None
    declared = [
        f"{identifier(name)} JSON"
        if members is None
        else f"{identifier(name)} STRUCT({', '.join(f'{identifier(m)} JSON' for m in members)})"
        for name, members in fields.items()
    ]
    return f"STRUCT({', '.join(declared)})"


def _json(source: str | tuple[str, str]) -> str:
    """A source field of the row, a JSON value (NULL when absent or JSON null)."""
    path = source if isinstance(source, tuple) else (source,)
    return ".".join([_ROW, *map(identifier, path)])


def _text(source: str | tuple[str, str]) -> str:
    """The JSON text of a source field of the row."""
    return f"CAST({_json(source)} AS VARCHAR)"


def _string_value(source: StringSource) -> str:
    """A string column's value: the JSON string decoded, `""` as NULL (legacy's "not grouped")."""
    if source is None:
        return "CAST(NULL AS VARCHAR)"
    # Decoding with the JSON parser costs less here than trimming the quotes off the text.
    return f"nullif({_json(source)} ->> '$', '')"


def _string_check(source: str | tuple[str, str]) -> str:
    text = _text(source)
    return f"({text} IS NULL OR starts_with({text}, '\"'))"


def _count_value(source: str) -> str:
    return f"TRY_CAST({_text(source)} AS BIGINT)"


def _count_check(source: str) -> str:
    """Absent, or a non-negative BIGINT written as an integer or as an integral float (4.0)."""
    text, value = _text(source), _count_value(source)
    return (
        f"({text} IS NULL OR ({value} >= 0 AND "
        f"(CAST({value} AS VARCHAR) = {text} OR TRY_CAST({text} AS DOUBLE) = {value})))"
    )
