"""Where the report's SQL runs: Athena in the stack (`athena.py`), or DuckDB over a kept copy of
the bucket (`duckdb_local.py`, the Athena stand-in the local run uses too).

Both take the same `ReportQuery` (Athena's dialect) and the same values; DuckDB gets the SQL
translated by sqlglot. Values travel as parameters (`?`), never inside the SQL text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from usage_pipeline import constants as rc
from usage_report.queries import ReportQuery

Values = Mapping[str, str | Sequence[str]]


@dataclass(frozen=True)
class QueryResult:
    name: str
    columns: list[str]
    rows: list[tuple[Any, ...]]
    bytes_scanned: int | None = None

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


class Engine(Protocol):
    description: str

    def run_all(self, requests: Sequence[tuple[ReportQuery, Values]]) -> list[QueryResult]:
        """Run the queries (Athena: all at once) and return their results in the same order."""
        ...

    def close(self) -> None: ...


def table_columns() -> list[tuple[str, str]]:
    """The Glue table's columns (contracts section 5) and their Glue types."""
    return list(rc.COLUMN_TYPES.items())
