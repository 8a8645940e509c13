"""Where the report's SQL runs: DuckDB over a kept copy of the bucket, or Athena in the stack.

Both take the same `ReportQuery` (Athena's dialect) and the same values; DuckDB gets the SQL
translated by sqlglot. Values travel as parameters (`?`), never inside the SQL text.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, TextIO

from ops.report.queries import ReportQuery, source_of
from usage_pipeline import constants as rc

Values = Mapping[str, str | Sequence[str]]
# What the stack's outputs are called (stacks/usage_stack.py).
OUTPUT_DATABASE = "GlueDatabaseName"
OUTPUT_TABLE = "GlueTableName"
OUTPUT_WORKGROUP = "AthenaWorkGroupName"
DEFAULT_STACK = "GenesysApiUsage"
# The local engine's names: any will do, the SQL names them through `source_of`.
LOCAL_DATABASE = "genesys_api_usage"
LOCAL_TABLE = "api_usage"
ATHENA_DONE = {"SUCCEEDED", "FAILED", "CANCELLED"}


class ReportError(Exception):
    """A problem the user can fix (bad option, missing data, failed query): printed, exit 2."""


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
    """The Glue table's columns (contracts section 5): counts bigint, everything else string."""
    return [
        (name, "bigint" if name in rc.ROW_COUNT_COLUMNS else "string")
        for name in (*rc.ROW_COLUMNS, *rc.PARTITION_COLUMNS)
    ]


class LocalEngine:
    """DuckDB over the `usage/` objects of a bucket copy (`python -m local.run --keep DIR`)."""

    def __init__(self, data_dir: Path) -> None:
        from local.athena_local import open_table

        if not (data_dir / rc.USAGE_PREFIX).is_dir():
            raise ReportError(
                f"--local {data_dir}: no {rc.USAGE_PREFIX} folder in it; pass the folder "
                "`python -m local.run --keep DIR` wrote (a copy of the source bucket)"
            )
        self.description = f"DuckDB over the bucket copy in {data_dir}"
        self._source = source_of(LOCAL_DATABASE, LOCAL_TABLE)
        self._connection = open_table(
            data_dir, database=LOCAL_DATABASE, table=LOCAL_TABLE, columns=table_columns()
        )

    def run_all(self, requests: Sequence[tuple[ReportQuery, Values]]) -> list[QueryResult]:
        from local.athena_local import to_duckdb

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


def athena_literal(value: str) -> str:
    """An ExecutionParameters value: Athena reads each as one SQL literal, so strings are quoted."""
    return "'" + value.replace("'", "''") + "'"


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except Exception as error:  # botocore's ClientError, named by the service
        raise ReportError(f"--stack {stack_name}: cannot describe the stack: {error}") from error
    outputs = {item["OutputKey"]: item["OutputValue"] for item in stacks[0].get("Outputs", [])}
    missing = [
        name for name in (OUTPUT_DATABASE, OUTPUT_TABLE, OUTPUT_WORKGROUP) if name not in outputs
    ]
    if missing:
        raise ReportError(
            f"--stack {stack_name}: the stack has no output {', '.join(missing)}; is it this "
            "project's stack (deployed from this repository)?"
        )
    return outputs


class AthenaEngine:
    """The stack's Athena workgroup: database, table and workgroup from the stack's outputs."""

    def __init__(
        self,
        *,
        athena: Any,
        database: str,
        table: str,
        workgroup: str,
        out: TextIO,
        poll_seconds: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._athena = athena
        self._database = database
        self._source = source_of(database, table)
        self._workgroup = workgroup
        self._out = out
        self._poll_seconds = poll_seconds
        self._sleep = sleep
        self.description = f"Athena, workgroup {workgroup}, table {database}.{table}"
        self.bytes_scanned = 0

    @classmethod
    def for_stack(cls, stack_name: str, *, session: Any, out: TextIO) -> AthenaEngine:
        outputs = stack_outputs(session.client("cloudformation"), stack_name)
        return cls(
            athena=session.client("athena"),
            database=outputs[OUTPUT_DATABASE],
            table=outputs[OUTPUT_TABLE],
            workgroup=outputs[OUTPUT_WORKGROUP],
            out=out,
        )

    def run_all(self, requests: Sequence[tuple[ReportQuery, Values]]) -> list[QueryResult]:
        started = [(query, self._start(query, values)) for query, values in requests]
        return [self._finish(query, execution_id) for query, execution_id in started]

    def close(self) -> None:
        """Nothing to release: boto3 clients hold no connection that needs closing."""

    def _start(self, query: ReportQuery, values: Values) -> str:
        bound = query.bind(self._source, values)
        arguments: dict[str, Any] = {
            "QueryString": bound.sql,
            "QueryExecutionContext": {"Database": self._database},
            "WorkGroup": self._workgroup,
        }
        if bound.parameters:
            arguments["ExecutionParameters"] = [athena_literal(v) for v in bound.parameters]
        execution_id: str = self._athena.start_query_execution(**arguments)["QueryExecutionId"]
        return execution_id

    def _finish(self, query: ReportQuery, execution_id: str) -> QueryResult:
        while True:
            execution = self._athena.get_query_execution(QueryExecutionId=execution_id)[
                "QueryExecution"
            ]
            state = execution["Status"]["State"]
            if state in ATHENA_DONE:
                break
            self._sleep(self._poll_seconds)
        scanned = int(execution.get("Statistics", {}).get("DataScannedInBytes", 0))
        self.bytes_scanned += scanned
        print(
            f"athena: {query.name}: {state}, {scanned:,} bytes scanned ({execution_id})",
            file=self._out,
        )
        if state != "SUCCEEDED":
            reason = execution["Status"].get("StateChangeReason", "no reason given")
            raise ReportError(f"Athena query {query.name} {state.lower()}: {reason}")
        columns, rows = self._results(execution_id)
        return QueryResult(query.name, columns, rows, scanned)

    def _results(self, execution_id: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        columns: list[str] = []
        types: list[str] = []
        rows: list[tuple[Any, ...]] = []
        token: str | None = None
        first_page = True
        while True:
            arguments: dict[str, Any] = {"QueryExecutionId": execution_id, "MaxResults": 1000}
            if token:
                arguments["NextToken"] = token
            page = self._athena.get_query_results(**arguments)
            result_set = page["ResultSet"]
            data = result_set["Rows"]
            if first_page:
                info = result_set["ResultSetMetadata"]["ColumnInfo"]
                columns = [column["Name"] for column in info]
                types = [column["Type"] for column in info]
                data = data[1:]  # a SELECT's first row repeats the column names
                first_page = False
            rows.extend(
                tuple(
                    _typed(datum.get("VarCharValue"), kind)
                    for datum, kind in zip(row["Data"], types, strict=True)
                )
                for row in data
            )
            token = page.get("NextToken")
            if not token:
                return columns, rows


def _typed(text: str | None, kind: str) -> Any:
    """Athena returns every value as text; counts become ints again."""
    if text is None:
        return None
    if kind in {"bigint", "integer", "smallint", "tinyint"}:
        return int(text)
    if kind in {"double", "float", "real", "decimal"}:
        return float(text)
    return text
