"""Athena workgroup and the saved queries (which must also run on DuckDB after sqlglot)."""

from __future__ import annotations

from typing import Any

import duckdb
import pytest
import sqlglot

from stacks import constants as c
from tests.infrastructure.helpers import one, render, resources
from usage_pipeline import constants as rc
from usage_report import queries as report_queries

# The saved queries are the report's own (usage_report/queries.py) and the blueprint's question.
QUERY_NAMES = set(report_queries.QUERIES_BY_NAME)
# Values for every parameter a saved query takes, in the number of slots it is saved with.
SAVED_VALUES = {
    "start": "2026-11-21",
    "end": "2026-11-21",
    "previous_start": "2026-11-20",
    "oauth_client_ids": ["a"] * report_queries.SAVED_LIST_SLOTS,
    "template_uris": ["api/v2/users"] * report_queries.SAVED_LIST_SLOTS,
}


@pytest.fixture(scope="module")
def named_queries(template_json: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        q["Properties"]["Name"]: q["Properties"]
        for q in resources(template_json, "AWS::Athena::NamedQuery").values()
    }


def test_workgroup_enforces_encrypted_results_cutoff_and_metrics(
    template_json: dict[str, Any],
) -> None:
    _, workgroup = one(template_json, "AWS::Athena::WorkGroup")
    config = workgroup["Properties"]["WorkGroupConfiguration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    assert config["PublishCloudWatchMetricsEnabled"] is True
    assert config["BytesScannedCutoffPerQuery"] == 1024 * 1024 * 1024  # cdk.json: 1024 MB
    result = config["ResultConfiguration"]
    key = one(template_json, "AWS::KMS::Key")[0]
    assert result["EncryptionConfiguration"] == {
        "EncryptionOption": "SSE_KMS",
        "KmsKey": {"Fn::GetAtt": [key, "Arn"]},
    }
    assert render(result["OutputLocation"]).startswith("s3://<")
    assert workgroup["Properties"]["Name"] == "GenesysApiUsage-analysts"


def test_saved_queries_live_in_the_workgroup_and_database(
    template_json: dict[str, Any], named_queries: dict[str, dict[str, Any]]
) -> None:
    workgroup_id, _ = one(template_json, "AWS::Athena::WorkGroup")
    _, database = one(template_json, "AWS::Glue::Database")
    assert set(named_queries) == QUERY_NAMES
    assert c.TOP_CLIENTS_BY_429_QUERY_NAME in named_queries
    for query in named_queries.values():
        assert query["WorkGroup"] == {"Ref": workgroup_id}
        assert query["Database"] == database["Properties"]["DatabaseInput"]["Name"]
        assert '"genesys_api_usage"."api_usage"' in query["QueryString"]
        # Never across groupings or granularities: that would double count.
        assert "granularity = 'day'" in query["QueryString"]
        assert "grouping = 'httpmethod_oauthclientid_templateuri'" in query["QueryString"]
        assert "api = 'aggregates'" in query["QueryString"]
        assert "genesysclouddb" not in query["QueryString"]


def test_top_10_clients_by_429_shape(named_queries: dict[str, dict[str, Any]]) -> None:
    sql = named_queries[c.TOP_CLIENTS_BY_429_QUERY_NAME]["QueryString"]
    for column in ("oauth_client_id", "oauth_client_name", "SUM(status429)", "SUM(requests)"):
        assert column in sql
    assert "LIMIT 10" in sql


def _row(client: str, grouping: str, status429: int, requests: int, day: str) -> tuple[Any, ...]:
    values: dict[str, Any] = dict.fromkeys(rc.ROW_COLUMNS)
    values.update(
        oauth_client_id=client,
        oauth_client_name=f"name-{client}",
        template_uri="api/v2/users",
        http_method="GET",
        status200=requests - status429,
        status300=0,
        status400=status429,
        status429=status429,
        status500=0,
        requests=requests,
        api="aggregates",
    )
    return (*values.values(), "day", grouping, day)


def test_every_saved_query_runs_on_duckdb_after_sqlglot(
    named_queries: dict[str, dict[str, Any]],
) -> None:
    # GIVEN the table as DuckDB sees it, with rows of two groupings that describe the same calls
    connection = duckdb.connect()
    connection.execute('CREATE SCHEMA "genesys_api_usage"')
    columns = ", ".join(
        f'"{n}" {"BIGINT" if n in rc.ROW_COUNT_COLUMNS else "VARCHAR"}'
        for n in (*rc.ROW_COLUMNS, *rc.PARTITION_COLUMNS)
    )
    connection.execute(f'CREATE TABLE "genesys_api_usage"."api_usage" ({columns})')
    default = "httpmethod_oauthclientid_templateuri"
    rows = [
        _row("a", default, 5, 10, "2026-11-20"),
        _row("a", default, 1, 10, "2026-11-21"),
        _row("b", default, 0, 50, "2026-11-20"),
        _row("a", "oauthclientid", 6, 20, "2026-11-20"),  # another grouping: must not count
    ]
    placeholders = ", ".join("?" * len(rows[0]))
    connection.executemany(
        f'INSERT INTO "genesys_api_usage"."api_usage" VALUES ({placeholders})', rows
    )
    for name, query in named_queries.items():
        # WHEN the saved SQL, its `?` slots filled as the description says, is translated and run
        bound = report_queries.QUERIES_BY_NAME[name].bind(
            '"genesys_api_usage"."api_usage"', SAVED_VALUES
        )
        assert bound.sql == query["QueryString"]
        assert query["QueryString"].count("?") == len(bound.parameters)
        (duck_sql,) = sqlglot.transpile(query["QueryString"], read="athena", write="duckdb")
        result = connection.execute(duck_sql, list(bound.parameters)).fetchall()
        # THEN it answers
        assert result, name
    (top, *_rest) = connection.execute(
        sqlglot.transpile(
            named_queries[c.TOP_CLIENTS_BY_429_QUERY_NAME]["QueryString"],
            read="athena",
            write="duckdb",
        )[0]
    ).fetchall()
    assert top[:4] == ("a", "name-a", 6, 20)
    assert float(top[4]) == 30.0
