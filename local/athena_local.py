"""Answer Athena queries locally: DuckDB over copies of the landed objects.

The SQL is the saved query exactly as the template holds it, in Athena's (Trino) dialect; sqlglot
translates it to DuckDB. The table is a view with the Glue table's own columns, so a query that
names a column the table lacks fails here as it would in Athena.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb
import sqlglot

GLUE_TO_DUCKDB = {
    "string": "VARCHAR",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
}


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def table_view_sql(
    database: str, table: str, columns: Sequence[tuple[str, str]], files: Sequence[Path]
) -> str:
    typed = [
        (name, GLUE_TO_DUCKDB.get(glue_type.lower(), "VARCHAR")) for name, glue_type in columns
    ]
    target = f"{_quote(database)}.{_quote(table)}"
    if not files:
        nulls = ", ".join(f"CAST(NULL AS {kind}) AS {_quote(name)}" for name, kind in typed)
        return f"CREATE VIEW {target} AS SELECT {nulls} WHERE false"
    column_spec = (
        "{" + ", ".join(f"{_literal(name)}: {_literal(kind)}" for name, kind in typed) + "}"
    )
    file_list = "[" + ", ".join(_literal(str(path)) for path in files) + "]"
    return (
        # Identifiers and literals are quoted above; the values come from our own template.
        f"CREATE VIEW {target} AS SELECT * FROM read_json({file_list}, "  # noqa: S608
        f"format='newline_delimited', columns={column_spec})"
    )


def to_duckdb(athena_sql: str) -> str:
    return sqlglot.transpile(athena_sql, read="athena", write="duckdb")[0]


def connect_table(
    *,
    database: str,
    table: str,
    columns: Sequence[tuple[str, str]],
    data_dir: Path,
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection where `"database"."table"` is a view over `data_dir/usage/**`."""
    # Empty partitions (a day with no traffic) are landed as empty objects; DuckDB needs none.
    files = sorted(p for p in (data_dir / "usage").rglob("*.json") if p.stat().st_size > 0)
    connection = duckdb.connect()
    try:
        connection.execute(f"CREATE SCHEMA {_quote(database)}")
        connection.execute(table_view_sql(database, table, columns, files))
    except BaseException:
        connection.close()
        raise
    return connection


def run_query(
    athena_sql: str,
    *,
    database: str,
    table: str,
    columns: Sequence[tuple[str, str]],
    data_dir: Path,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run one Athena query over `data_dir/usage/**` and return (column names, rows)."""
    connection = connect_table(database=database, table=table, columns=columns, data_dir=data_dir)
    try:
        result = connection.execute(to_duckdb(athena_sql))
        names = [description[0] for description in result.description]
        return names, result.fetchall()
    finally:
        connection.close()


def format_table(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[("" if value is None else str(value)) for value in row] for row in rows]
    widths = [max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(names)]

    def line(values: Sequence[str]) -> str:
        return " | ".join(value.ljust(width) for value, width in zip(values, widths, strict=True))

    rule = "-+-".join("-" * width for width in widths)
    return "\n".join([line(list(names)), rule, *(line(row) for row in cells)])
