"""Answer Athena queries locally: DuckDB over copies of the landed objects.

The SQL is the saved query exactly as the template holds it, in Athena's (Trino) dialect; sqlglot
translates it to DuckDB. The table is a view with the Glue table's own columns over the partitions'
Parquet files, read the way Athena reads them: data columns by name (a column a file lacks is
NULL), partition columns from the object's path. A query that names a column the table lacks
fails here as it would in Athena.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import sqlglot

from usage_pipeline import constants as rc
from usage_pipeline.sql import duckdb_type, identifier, literal, qualified_name
from usage_report.engines import QueryResult, Values, table_columns
from usage_report.errors import ReportError
from usage_report.queries import ReportQuery

# The local engine's names: any will do, the SQL names them through `qualified_name`.
LOCAL_DATABASE = "genesys_api_usage"
LOCAL_TABLE = "api_usage"


def table_files(data_dir: Path) -> list[Path]:
    """The table's files in a copy of the source bucket: every object under `usage/`, as Athena
    reads every object under a partition's location."""
    return sorted(path for path in (data_dir / "usage").rglob("*") if path.is_file())


def table_view_sql(
    database: str, table: str, columns: Sequence[tuple[str, str]], files: Sequence[Path]
) -> str:
    """`CREATE VIEW database.table` over ``files`` with the Glue ``columns`` (name, Glue type).

    Partition columns come from the files' `key=value` path (hive partitioning) and take
    precedence over the copies the files hold, as in Athena.
    """
    typed = [(name, duckdb_type(glue_type)) for name, glue_type in columns]
    target = qualified_name(database, table)
    if not files:
        nulls = ", ".join(f"CAST(NULL AS {kind}) AS {identifier(name)}" for name, kind in typed)
        return f"CREATE VIEW {target} AS SELECT {nulls} WHERE false"
    selected = ", ".join(
        f"CAST({identifier(name)} AS {kind}) AS {identifier(name)}" for name, kind in typed
    )
    file_list = "[" + ", ".join(literal(path) for path in files) + "]"
    return (
        # Identifiers and literals are quoted above; the values come from our own template.
        f"CREATE VIEW {target} AS SELECT {selected} FROM read_parquet({file_list}, "  # noqa: S608
        "hive_partitioning = true, hive_types_autocast = false, union_by_name = true)"
    )


def open_table(
    data_dir: Path, *, database: str, table: str, columns: Sequence[tuple[str, str]]
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection where `database.table` is the table landed under ``data_dir``."""
    connection = duckdb.connect()
    try:
        connection.execute(f"CREATE SCHEMA {identifier(database)}")
        connection.execute(table_view_sql(database, table, columns, table_files(data_dir)))
    except BaseException:
        connection.close()
        raise
    return connection


def to_duckdb(athena_sql: str) -> str:
    return sqlglot.transpile(athena_sql, read="athena", write="duckdb")[0]


def run_query(
    athena_sql: str,
    *,
    database: str,
    table: str,
    columns: Sequence[tuple[str, str]],
    data_dir: Path,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one Athena query over `data_dir/usage/**` and return (column names, rows)."""
    connection = open_table(data_dir, database=database, table=table, columns=columns)
    try:
        result = connection.execute(to_duckdb(athena_sql))
        names = [description[0] for description in result.description]
        return names, result.fetchall()
    finally:
        connection.close()


class LocalEngine:
    """DuckDB over the `usage/` objects of a bucket copy (`python -m local.run --keep DIR`)."""

    def __init__(self, data_dir: Path) -> None:
        if not (data_dir / rc.USAGE_PREFIX).is_dir():
            raise ReportError(
                f"--local {data_dir}: no {rc.USAGE_PREFIX} folder in it; pass the folder "
                "`python -m local.run --keep DIR` wrote (a copy of the source bucket)"
            )
        self.description = f"DuckDB over the bucket copy in {data_dir}"
        self._source = qualified_name(LOCAL_DATABASE, LOCAL_TABLE)
        self._connection = open_table(
            data_dir, database=LOCAL_DATABASE, table=LOCAL_TABLE, columns=table_columns()
        )

    def run_all(self, requests: Sequence[tuple[ReportQuery, Values]]) -> list[QueryResult]:
        results = []
        for query, values in requests:
            bound = query.bind(self._source, values)
            cursor = self._connection.execute(to_duckdb(bound.sql), list(bound.parameters))
            columns = [description[0] for description in cursor.description]
            rows = [tuple(_plain(value) for value in row) for row in cursor.fetchall()]
            results.append(QueryResult(query.name, columns, rows))
        return results

    def close(self) -> None:
        self._connection.close()


def _plain(value: Any) -> Any:
    # DuckDB's SUM of BIGINT is HUGEINT (a Python int) but ROUND gives Decimal; keep JSON-friendly.
    return float(value) if isinstance(value, Decimal) else value
