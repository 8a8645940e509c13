"""The report on Athena (botocore's Stubber): stack outputs, parameters, paging, failures, bytes."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from ops.report.cli import main
from usage_report import queries as q
from usage_report.engines.athena import AthenaEngine, stack_outputs
from usage_report.errors import ReportError

DATABASE, TABLE, WORKGROUP = "genesys_api_usage", "api_usage", "GenesysApiUsage-analysts"


@pytest.fixture
def athena() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client("athena", region_name="eu-west-1")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _engine(client: Any, out: io.StringIO) -> AthenaEngine:
    return AthenaEngine(
        athena=client,
        database=DATABASE,
        table=TABLE,
        workgroup=WORKGROUP,
        out=out,
        sleep=lambda _seconds: None,
    )


def _execution(state: str, scanned: int = 0, reason: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"State": state}
    if reason:
        status["StateChangeReason"] = reason
    return {
        "QueryExecution": {
            "QueryExecutionId": "qe-1",
            "Status": status,
            "Statistics": {"DataScannedInBytes": scanned},
        }
    }


def _page(rows: list[list[str | None]], token: str | None, header: bool) -> dict[str, Any]:
    columns = [("date", "varchar"), ("oauth_client_id", "varchar"), ("requests", "bigint")]
    data = [[name for name, _ in columns]] if header else []
    page: dict[str, Any] = {
        "ResultSet": {
            "Rows": [
                {"Data": [{} if v is None else {"VarCharValue": v} for v in row]}
                for row in data + rows
            ],
            "ResultSetMetadata": {
                "ColumnInfo": [
                    {"Name": name, "Type": kind, "Label": name} for name, kind in columns
                ]
            },
        }
    }
    if token:
        page["NextToken"] = token
    return page


def test_selections_travel_as_execution_parameters_and_results_are_paged(
    athena: tuple[Any, Stubber],
) -> None:
    client, stubber = athena
    query = q.QUERIES_BY_NAME[q.CLIENT_DAILY]
    values = {"start": "2026-11-15", "end": "2026-11-21", "oauth_client_ids": ["id-1", "O'Brien"]}
    # GIVEN Athena runs the query (one poll while it runs) and answers in two pages
    stubber.add_response(
        "start_query_execution",
        {"QueryExecutionId": "qe-1"},
        {
            "QueryString": query.bind(f'"{DATABASE}"."{TABLE}"', values).sql,
            "QueryExecutionContext": {"Database": DATABASE},
            "WorkGroup": WORKGROUP,
            "ExecutionParameters": ["'2026-11-15'", "'2026-11-21'", "'id-1'", "'O''Brien'"],
        },
    )
    stubber.add_response("get_query_execution", _execution("RUNNING"), {"QueryExecutionId": "qe-1"})
    stubber.add_response(
        "get_query_execution", _execution("SUCCEEDED", 123_456_789), {"QueryExecutionId": "qe-1"}
    )
    stubber.add_response(
        "get_query_results",
        _page([["2026-11-15", "id-1", "12"]], "page-2", header=True),
        {"QueryExecutionId": "qe-1", "MaxResults": 1000},
    )
    stubber.add_response(
        "get_query_results",
        _page([["2026-11-16", None, "3"]], None, header=False),
        {"QueryExecutionId": "qe-1", "MaxResults": 1000, "NextToken": "page-2"},
    )
    out = io.StringIO()

    # WHEN the engine runs it
    (result,) = _engine(client, out).run_all([(query, values)])

    # THEN the rows of both pages come back typed, the header row dropped
    assert result.columns == ["date", "oauth_client_id", "requests"]
    assert result.rows == [("2026-11-15", "id-1", 12), ("2026-11-16", None, 3)]
    assert result.bytes_scanned == 123_456_789
    # AND the bytes scanned are printed
    assert f"{q.CLIENT_DAILY}: SUCCEEDED, 123,456,789 bytes scanned" in out.getvalue()


def test_a_query_without_values_sends_no_parameters(athena: tuple[Any, Stubber]) -> None:
    client, stubber = athena
    stubber.add_response(
        "start_query_execution",
        {"QueryExecutionId": "qe-1"},
        {
            "QueryString": q.TOP_429_QUERY.bind(f'"{DATABASE}"."{TABLE}"', {}).sql,
            "QueryExecutionContext": {"Database": DATABASE},
            "WorkGroup": WORKGROUP,
        },
    )
    stubber.add_response("get_query_execution", _execution("SUCCEEDED", 10))
    stubber.add_response("get_query_results", _page([], None, header=True))
    (result,) = _engine(client, io.StringIO()).run_all([(q.TOP_429_QUERY, {})])
    assert result.rows == []


def test_a_failed_query_raises_with_athenas_reason(athena: tuple[Any, Stubber]) -> None:
    client, stubber = athena
    stubber.add_response("start_query_execution", {"QueryExecutionId": "qe-1"})
    stubber.add_response(
        "get_query_execution",
        _execution("FAILED", 2048, "Query exhausted resources: bytes scanned limit exceeded"),
    )
    out = io.StringIO()
    with pytest.raises(ReportError) as failed:
        _engine(client, out).run_all([(q.TOP_429_QUERY, {})])
    assert q.TOP_CLIENTS_BY_429 in str(failed.value)
    assert "bytes scanned limit exceeded" in str(failed.value)
    assert "2,048 bytes scanned" in out.getvalue()


def test_database_table_and_workgroup_come_from_the_stack_outputs() -> None:
    cloudformation = boto3.client("cloudformation", region_name="eu-west-1")
    outputs = [
        {"OutputKey": "GlueDatabaseName", "OutputValue": DATABASE},
        {"OutputKey": "GlueTableName", "OutputValue": TABLE},
        {"OutputKey": "AthenaWorkGroupName", "OutputValue": WORKGROUP},
    ]
    stack = {
        "StackName": "GenesysApiUsage",
        "CreationTime": "2026-11-01T00:00:00Z",
        "StackStatus": "CREATE_COMPLETE",
    }
    with Stubber(cloudformation) as stubber:
        stubber.add_response(
            "describe_stacks",
            {"Stacks": [{**stack, "Outputs": outputs}]},
            {"StackName": "GenesysApiUsage"},
        )
        stubber.add_response("describe_stacks", {"Stacks": [{**stack, "Outputs": outputs[:1]}]})
        stubber.add_client_error("describe_stacks", "ValidationError", "Stack does not exist")
        assert stack_outputs(cloudformation, "GenesysApiUsage")["AthenaWorkGroupName"] == WORKGROUP
        with pytest.raises(ReportError, match="GlueTableName, AthenaWorkGroupName"):
            stack_outputs(cloudformation, "GenesysApiUsage")
        with pytest.raises(ReportError, match="Stack does not exist"):
            stack_outputs(cloudformation, "Missing")


class _StubbedSession:
    """boto3.Session's stand-in: clients whose answers are stubbed."""

    def __init__(self) -> None:
        self.clients = {
            name: boto3.client(name, region_name="eu-west-1")
            for name in ("cloudformation", "athena")
        }
        self.stubbers = {name: Stubber(client) for name, client in self.clients.items()}

    def client(self, name: str) -> Any:
        return self.clients[name]


def test_the_cli_reports_an_aws_refusal_and_writes_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    # GIVEN a stack whose outputs are found, and credentials Athena refuses
    session = _StubbedSession()
    outputs = [
        {"OutputKey": key, "OutputValue": value}
        for key, value in (
            ("GlueDatabaseName", DATABASE),
            ("GlueTableName", TABLE),
            ("AthenaWorkGroupName", WORKGROUP),
        )
    ]
    session.stubbers["cloudformation"].add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": "GenesysApiUsage",
                    "CreationTime": "2026-11-01T00:00:00Z",
                    "StackStatus": "CREATE_COMPLETE",
                    "Outputs": outputs,
                }
            ]
        },
    )
    session.stubbers["athena"].add_client_error(
        "start_query_execution", "AccessDeniedException", "not allowed to run queries"
    )
    monkeypatch.setattr(boto3, "Session", lambda: session)
    err = io.StringIO()

    # WHEN the report runs against the stack
    with session.stubbers["cloudformation"], session.stubbers["athena"]:
        code = main(["--out", str(tmp_path / "out")], out=io.StringIO(), err=err)

    # THEN it exits 2 with AWS's reason and writes nothing
    assert code == 2
    assert "not allowed to run queries" in err.getvalue()
    assert not (tmp_path / "out").exists()
