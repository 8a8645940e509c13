"""What the table must hold after a run: the simulator's ground truth in the row schema."""

from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from usage_pipeline import constants as c
from usage_pipeline.genesys.wire import build_query_body
from usage_pipeline.query import NormalizedQuery, parse_query
from usage_pipeline.rows import normalize_row

COMPARED_COLUMNS = (
    *c.ROW_STRING_COLUMNS,
    *c.ROW_COUNT_COLUMNS,
    "api",
    "granularity",
    "grouping",
    "date",
)


def api_body(query: NormalizedQuery) -> dict[str, Any]:
    """The body the client sends for a normalized query: the ground truth is asked the same."""
    return build_query_body(query)


def row_key(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(row.get(column) for column in COMPARED_COLUMNS)


def expected_rows(simulator: Any, execution_input: dict[str, Any], today: date) -> Counter:
    query = parse_query(execution_input, today=today)
    rows = simulator.expected_rows(query.api, api_body(query))
    return Counter(
        row_key(
            normalize_row(
                query.api,
                row,
                granularity=query.granularity,
                grouping=query.grouping,
                run_id="expected",
                landed_at="expected",
            )
        )
        for row in rows
    )


def landed_rows(rows: list[dict[str, Any]]) -> Counter:
    return Counter(row_key(row) for row in rows)
