"""The report's SQL on Athena, in the stack's workgroup, with every value an execution parameter.

Database, table and workgroup come from the stack's outputs.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

from usage_pipeline.sql import literal, qualified_name
from usage_report.engines import QueryResult, Values
from usage_report.errors import ReportError
from usage_report.queries import ReportQuery

# What the stack's outputs are called (stacks/usage_stack.py).
OUTPUT_DATABASE = "GlueDatabaseName"
OUTPUT_TABLE = "GlueTableName"
OUTPUT_WORKGROUP = "AthenaWorkGroupName"
DEFAULT_STACK = "GenesysApiUsage"
ATHENA_DONE = {"SUCCEEDED", "FAILED", "CANCELLED"}


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
        self._source = qualified_name(database, table)
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
            # Athena reads each ExecutionParameters value as one SQL literal: strings are quoted.
            arguments["ExecutionParameters"] = [literal(v) for v in bound.parameters]
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
