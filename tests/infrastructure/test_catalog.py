"""Glue: database name, the table's schema and projection, the crawler and its narrow role."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from stacks.catalog import database_name_for
from tests.infrastructure.helpers import grants, one, render, resources, role_statements
from usage_pipeline import constants as rc


@pytest.fixture(scope="module")
def table(template_json: dict[str, Any]) -> dict[str, Any]:
    return dict(one(template_json, "AWS::Glue::Table")[1]["Properties"])


def _source_bucket(template_json: dict[str, Any]) -> str:
    return one(
        template_json,
        "AWS::S3::Bucket",
        lambda b: any(
            r.get("Prefix") == rc.RAW_PREFIX
            for r in b["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
        ),
    )[0]


def _expected_groupings() -> set[str]:
    tokens = sorted(rc.ALL_DIMENSION_TOKENS)
    subsets = {
        "_".join(sorted(combo))
        for n in range(1, len(tokens) + 1)
        for combo in itertools.combinations(tokens, n)
    }
    return {rc.GROUPING_TOTAL} | subsets


def test_database_name_is_derived_from_the_stack_not_the_blueprint(
    template_json: dict[str, Any],
) -> None:
    _, database = one(template_json, "AWS::Glue::Database")
    name = database["Properties"]["DatabaseInput"]["Name"]
    assert name == "genesys_api_usage"
    assert name not in ("genesyscloud", "genesysclouddb")
    assert database_name_for("GenesysApiUsageProd") == "genesys_api_usage_prod"
    assert database_name_for("Usage-Dev") == "genesys_api_usage_usage_dev"


def test_table_columns_are_the_contract_row_schema(table: dict[str, Any]) -> None:
    columns = table["TableInput"]["StorageDescriptor"]["Columns"]
    assert [c["Name"] for c in columns] == list(rc.ROW_COLUMNS)
    for column in columns:
        expected = "bigint" if column["Name"] in rc.ROW_COUNT_COLUMNS else "string"
        assert column["Type"] == expected, column
    keys = table["TableInput"]["PartitionKeys"]
    assert keys == [{"Name": n, "Type": "string"} for n in rc.PARTITION_COLUMNS]


def test_table_reads_parquet_under_usage(
    table: dict[str, Any], template_json: dict[str, Any]
) -> None:
    descriptor = table["TableInput"]["StorageDescriptor"]
    assert descriptor["SerdeInfo"] == {
        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        "Parameters": {"serialization.format": "1"},
    }
    assert descriptor["InputFormat"] == (
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
    )
    assert descriptor["OutputFormat"] == (
        "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"
    )
    params = table["TableInput"]["Parameters"]
    assert (params["classification"], params["parquet.compression"]) == ("parquet", "ZSTD")
    bucket = _source_bucket(template_json)
    assert render(descriptor["Location"]) == f"s3://<{bucket}>/{rc.USAGE_PREFIX}"
    assert table["TableInput"]["TableType"] == "EXTERNAL_TABLE"


def test_partition_projection(table: dict[str, Any], template_json: dict[str, Any]) -> None:
    params = table["TableInput"]["Parameters"]
    bucket = _source_bucket(template_json)
    assert params["projection.enabled"] == "true"
    assert params["projection.granularity.type"] == "enum"
    assert params["projection.granularity.values"] == "day,week,month"
    assert params["projection.grouping.type"] == "enum"
    groupings = params["projection.grouping.values"].split(",")
    assert len(groupings) == len(set(groupings)) == 2 ** len(rc.ALL_DIMENSION_TOKENS)
    assert set(groupings) == _expected_groupings()
    assert "httpmethod_oauthclientid_templateuri" in groupings
    assert params["projection.date.type"] == "date"
    assert params["projection.date.format"] == "yyyy-MM-dd"
    assert params["projection.date.range"] == "2024-01-01,NOW"
    assert params["projection.date.interval"] == "1"
    assert params["projection.date.interval.unit"] == "DAYS"
    assert render(params["storage.location.template"]) == (
        f"s3://<{bucket}>/usage/api=${{api}}/granularity=${{granularity}}/grouping=${{grouping}}/date=${{date}}/"
    )


def test_crawler_targets_the_table_and_never_changes_it(
    template_json: dict[str, Any], table: dict[str, Any]
) -> None:
    _, crawler = one(template_json, "AWS::Glue::Crawler")
    props = crawler["Properties"]
    assert "Name" not in props  # no fixed name (the blueprint's UsageApiCrawler collides)
    (target,) = props["Targets"]["CatalogTargets"]
    assert target["DatabaseName"] == table["DatabaseName"]
    assert target["Tables"] == [table["TableInput"]["Name"]]
    assert "S3Targets" not in props["Targets"]
    assert props["SchemaChangePolicy"] == {"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"}
    assert json.loads(props["Configuration"]) == {
        "Version": 1.0,
        "CrawlerOutput": {"Partitions": {"AddOrUpdateBehavior": "InheritFromTable"}},
        "Grouping": {"TableGroupingPolicy": "CombineCompatibleSchemas"},
    }
    assert "Schedule" not in props  # the state machine starts it after each land
    _, security = one(template_json, "AWS::Glue::SecurityConfiguration")
    assert props["CrawlerSecurityConfiguration"] == {
        "Ref": next(iter(resources(template_json, "AWS::Glue::SecurityConfiguration")))
    }
    encryption = security["Properties"]["EncryptionConfiguration"]
    assert encryption["CloudWatchEncryption"]["CloudWatchEncryptionMode"] == "SSE-KMS"
    assert encryption["S3Encryptions"][0]["S3EncryptionMode"] == "SSE-KMS"
    assert encryption["JobBookmarksEncryption"]["JobBookmarksEncryptionMode"] == "CSE-KMS"


def test_crawler_role_has_no_managed_policy_and_reads_usage_only(
    template_json: dict[str, Any],
) -> None:
    _, crawler = one(template_json, "AWS::Glue::Crawler")
    role_id = crawler["Properties"]["Role"]["Fn::GetAtt"][0]
    role = template_json["Resources"][role_id]["Properties"]
    assert "ManagedPolicyArns" not in role
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {
        "Service": "glue.amazonaws.com"
    }
    statements = role_statements(template_json, role_id)
    bucket = _source_bucket(template_json)
    s3_grants = {(a, r) for a, r in grants(statements) if a.startswith("s3:")}
    assert s3_grants == {
        ("s3:GetObject", f"<{bucket}.Arn>/usage/*"),
        ("s3:ListBucket", f"<{bucket}.Arn>"),
    }
    (listing,) = [s for s in statements if s["Action"] == "s3:ListBucket"]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["usage/*"]}}
    glue_actions = {a for a, _ in grants(statements) if a.startswith("glue:")}
    # It may add partitions; it may not create tables nor change this one.
    assert not glue_actions & {"glue:CreateTable", "glue:UpdateTable", "glue:DeleteTable"}
    assert "glue:BatchCreatePartition" in glue_actions
