"""How SQL text is written here, once: quoted names and literals, and the table's types in DuckDB.

Every statement this project builds (the transform's DuckDB SQL, the report's Athena SQL, the
DuckDB stand-in for Athena) quotes with these two functions. Athena (Trino) and DuckDB quote the
same way: a name in double quotes, a string in single quotes, the quote doubled inside.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from usage_pipeline.constants import COLUMN_TYPES


def identifier(name: str) -> str:
    """A quoted SQL name (a table, a column, a schema)."""
    return '"' + name.replace('"', '""') + '"'


def literal(text: str | Path) -> str:
    """A SQL string literal (also what Athena reads an ExecutionParameters value as)."""
    return "'" + str(text).replace("'", "''") + "'"


def qualified_name(database: str, table: str) -> str:
    """The table's quoted name, qualified by its quoted database."""
    return f"{identifier(database)}.{identifier(table)}"


# Glue (Hive) column types as DuckDB types: what the DuckDB stand-in for Athena declares.
GLUE_TO_DUCKDB: Final = {
    "string": "VARCHAR",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
}


def duckdb_type(glue_type: str) -> str:
    """The DuckDB type of a Glue column type (text for any other)."""
    return GLUE_TO_DUCKDB.get(glue_type.lower(), "VARCHAR")


# The usage table's columns as DuckDB (and Parquet) types, from their Glue types.
DUCKDB_COLUMN_TYPES: Final = {name: duckdb_type(kind) for name, kind in COLUMN_TYPES.items()}
