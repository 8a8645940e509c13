"""The four Lambdas: one asset, runtime, sizes, tracing, logs, environment, each role's grants."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import pytest

from stacks.functions import FUNCTIONS, FunctionSpec
from tests.infrastructure.helpers import (
    as_list,
    function_by_handler,
    grants,
    one,
    policy_documents,
    render,
    resources,
    role_statements,
)
from usage_pipeline import constants as rc
from usage_pipeline import layout

POWERTOOLS = {
    "POWERTOOLS_SERVICE_NAME": rc.SERVICE_NAME,
    "POWERTOOLS_METRICS_NAMESPACE": rc.METRICS_NAMESPACE,
    "LOG_LEVEL": "INFO",
}
SIZES = {  # handler: (memory, timeout, ephemeral storage)
    rc.HANDLER_SUBMIT_QUERY: (256, 60, 512),
    rc.HANDLER_POLL_STATUS: (512, 300, 512),
    rc.HANDLER_TRANSFORM: (1024, 900, 4096),
    rc.HANDLER_LAND: (512, 300, 512),
}
XRAY = {("xray:PutTraceSegments", "*"), ("xray:PutTelemetryRecords", "*")}


@pytest.fixture(scope="module")
def ids(template_json: dict[str, Any]) -> dict[str, str]:
    """Logical ids of what the grants name, found by what the resources are."""

    def lifecycle_prefixes(bucket: dict[str, Any]) -> set[str]:
        rules = bucket["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])
        return {r.get("Prefix") for r in rules}

    return {
        "bucket": one(
            template_json, "AWS::S3::Bucket", lambda b: rc.RAW_PREFIX in lifecycle_prefixes(b)
        )[0],
        "key": one(template_json, "AWS::KMS::Key")[0],
        "secret": one(template_json, "AWS::SecretsManager::Secret")[0],
        "crawler": one(template_json, "AWS::Glue::Crawler")[0],
    }


def _role_of(template_json: dict[str, Any], handler: str) -> str:
    _, function = function_by_handler(template_json, handler)
    return str(function["Properties"]["Role"]["Fn::GetAtt"][0])


def _own_log_group(template_json: dict[str, Any], handler: str) -> str:
    _, function = function_by_handler(template_json, handler)
    return str(render(function["Properties"]["LoggingConfig"]["LogGroup"]))


def test_all_functions_share_one_code_asset(template_json: dict[str, Any]) -> None:
    functions = resources(template_json, "AWS::Lambda::Function")
    assert {f["Properties"]["Handler"] for f in functions.values()} == set(SIZES)
    codes = {str(f["Properties"]["Code"]) for f in functions.values()}
    assert len(codes) == 1


@pytest.mark.parametrize("handler", sorted(SIZES))
def test_function_settings(template_json: dict[str, Any], handler: str) -> None:
    _, function = function_by_handler(template_json, handler)
    props = function["Properties"]
    memory, timeout, ephemeral = SIZES[handler]
    assert props["Runtime"] == "python3.14"
    assert props["Architectures"] == ["arm64"]
    assert props["MemorySize"] == memory
    assert props["Timeout"] == timeout
    assert props["EphemeralStorage"] == {"Size": ephemeral}
    assert props["TracingConfig"] == {"Mode": "Active"}
    assert "FunctionName" not in props
    log_group = props["LoggingConfig"]["LogGroup"]
    assert template_json["Resources"][log_group["Ref"]]["Type"] == "AWS::Logs::LogGroup"


def test_environment_is_what_each_handler_uses(
    template_json: dict[str, Any], ids: dict[str, str]
) -> None:
    bucket = {rc.ENV_SOURCE_BUCKET: {"Ref": ids["bucket"]}}
    genesys = {
        rc.ENV_GENESYS_ENVIRONMENT: "mypurecloud.com",
        rc.ENV_GENESYS_SECRET_ID: {"Ref": ids["secret"]},
        rc.ENV_POLL_INITIAL_WAIT_SECONDS: "2",
        rc.ENV_POLL_MAX_WAIT_SECONDS: "60",
        rc.ENV_JOB_TIMEOUT_SECONDS: "3600",
    }
    expected = {
        rc.HANDLER_SUBMIT_QUERY: {**genesys},
        rc.HANDLER_POLL_STATUS: {**bucket, **genesys, rc.ENV_PAGE_SIZE: "1000"},
        rc.HANDLER_TRANSFORM: {**bucket},
        rc.HANDLER_LAND: {**bucket, rc.ENV_GLUE_CRAWLER_NAME: {"Ref": ids["crawler"]}},
    }
    for handler, variables in expected.items():
        _, function = function_by_handler(template_json, handler)
        actual = function["Properties"]["Environment"]["Variables"]
        assert actual == {**variables, **POWERTOOLS}, handler
        # Local/test overrides are never set by the stack.
        assert rc.ENV_GENESYS_LOGIN_URL not in actual
        assert rc.ENV_GENESYS_API_URL not in actual


def test_each_function_has_its_own_role_without_managed_policies(
    template_json: dict[str, Any],
) -> None:
    roles = {_role_of(template_json, h) for h in SIZES}
    assert len(roles) == 4
    for role in roles:
        props = template_json["Resources"][role]["Properties"]
        assert "ManagedPolicyArns" not in props
        (trust,) = props["AssumeRolePolicyDocument"]["Statement"]
        assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_submit_query_grants(template_json: dict[str, Any], ids: dict[str, str]) -> None:
    handler = rc.HANDLER_SUBMIT_QUERY
    statements = role_statements(template_json, _role_of(template_json, handler))
    log_group = _own_log_group(template_json, handler)
    assert grants(statements) == {
        ("logs:CreateLogStream", f"{log_group[:-1]}.Arn>"),
        ("logs:PutLogEvents", f"{log_group[:-1]}.Arn>"),
        ("secretsmanager:GetSecretValue", f"<{ids['secret']}>"),
        ("kms:Decrypt", f"<{ids['key']}.Arn>"),
        *XRAY,
    }
    (decrypt,) = [s for s in statements if s["Action"] == "kms:Decrypt"]
    assert render(decrypt["Condition"]) == {
        "StringEquals": {"kms:ViaService": "secretsmanager.<AWS::Region>.amazonaws.com"}
    }


def test_poll_status_grants(template_json: dict[str, Any], ids: dict[str, str]) -> None:
    handler = rc.HANDLER_POLL_STATUS
    statements = role_statements(template_json, _role_of(template_json, handler))
    log_group = _own_log_group(template_json, handler)
    assert grants(statements) == {
        ("logs:CreateLogStream", f"{log_group[:-1]}.Arn>"),
        ("logs:PutLogEvents", f"{log_group[:-1]}.Arn>"),
        ("secretsmanager:GetSecretValue", f"<{ids['secret']}>"),
        ("kms:Decrypt", f"<{ids['key']}.Arn>"),
        ("kms:GenerateDataKey", f"<{ids['key']}.Arn>"),
        ("s3:PutObject", f"<{ids['bucket']}.Arn>/raw/*"),
        # The paging checkpoint only: read back by a retried invocation, found by listing it.
        ("s3:GetObject", f"<{ids['bucket']}.Arn>/raw/*/progress.json"),
        ("s3:ListBucket", f"<{ids['bucket']}.Arn>"),
        *XRAY,
    }
    (listing,) = [s for s in statements if s["Action"] == "s3:ListBucket"]
    assert render(listing["Condition"]) == {"StringLike": {"s3:prefix": ["raw/*/progress.json"]}}


def test_transform_grants(template_json: dict[str, Any], ids: dict[str, str]) -> None:
    handler = rc.HANDLER_TRANSFORM
    statements = role_statements(template_json, _role_of(template_json, handler))
    log_group = _own_log_group(template_json, handler)
    assert grants(statements) == {
        ("logs:CreateLogStream", f"{log_group[:-1]}.Arn>"),
        ("logs:PutLogEvents", f"{log_group[:-1]}.Arn>"),
        ("s3:GetObject", f"<{ids['bucket']}.Arn>/raw/*"),
        ("s3:PutObject", f"<{ids['bucket']}.Arn>/staging/*"),
        ("kms:Decrypt", f"<{ids['key']}.Arn>"),
        ("kms:GenerateDataKey", f"<{ids['key']}.Arn>"),
        *XRAY,
    }


def test_land_grants(template_json: dict[str, Any], ids: dict[str, str]) -> None:
    handler = rc.HANDLER_LAND
    statements = role_statements(template_json, _role_of(template_json, handler))
    log_group = _own_log_group(template_json, handler)
    bucket = f"<{ids['bucket']}.Arn>"
    assert grants(statements) == {
        ("logs:CreateLogStream", f"{log_group[:-1]}.Arn>"),
        ("logs:PutLogEvents", f"{log_group[:-1]}.Arn>"),
        ("s3:GetObject", f"{bucket}/staging/*"),
        ("s3:GetObject", f"{bucket}/manifests/*"),
        # the content digest in a partition's metadata (restated partitions)
        ("s3:GetObject", f"{bucket}/usage/*"),
        ("s3:PutObject", f"{bucket}/usage/*"),
        ("s3:PutObject", f"{bucket}/manifests/*"),
        ("s3:DeleteObject", f"{bucket}/usage/*"),
        ("s3:ListBucket", bucket),
        (
            "glue:StartCrawler",
            f"arn:<AWS::Partition>:glue:<AWS::Region>:<AWS::AccountId>:crawler/<{ids['crawler']}>",
        ),
        ("kms:Decrypt", f"<{ids['key']}.Arn>"),
        ("kms:GenerateDataKey", f"<{ids['key']}.Arn>"),
        *XRAY,
    }
    listings = [s["Condition"] for s in statements if s["Action"] == "s3:ListBucket"]
    assert listings == [
        {"StringLike": {"s3:prefix": ["usage/*", "manifests/*"]}},
        # the staging index only, not the staged partitions
        {"StringLike": {"s3:prefix": ["staging/*/index.json"]}},
    ]


def test_the_function_table_is_every_function_of_the_template(
    template_json: dict[str, Any],
) -> None:
    handlers = [spec.handler for spec in FUNCTIONS]
    construct_ids = [spec.construct_id for spec in FUNCTIONS]
    assert len(set(handlers)) == len(set(construct_ids)) == len(FUNCTIONS)
    functions = resources(template_json, "AWS::Lambda::Function").values()
    assert sorted(f["Properties"]["Handler"] for f in functions) == sorted(handlers)


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda spec: spec.construct_id)
def test_every_function_is_built_as_its_row_says(
    template_json: dict[str, Any], spec: FunctionSpec
) -> None:
    _, function = function_by_handler(template_json, spec.handler)
    props = function["Properties"]
    assert props["MemorySize"] == spec.memory_mb
    assert props["Timeout"] == spec.timeout_s
    assert props["EphemeralStorage"] == {"Size": spec.ephemeral_mb}
    assert props["Description"] == spec.description
    assert list(props["Environment"]["Variables"]) == [*spec.environment, *POWERTOOLS]


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda spec: spec.construct_id)
def test_every_function_gets_exactly_the_grants_of_its_row(
    template_json: dict[str, Any], ids: dict[str, str], spec: FunctionSpec
) -> None:
    statements = role_statements(template_json, _role_of(template_json, spec.handler))
    bucket = f"<{ids['bucket']}.Arn>"
    expected_s3: set[tuple[str, str]] = set()
    for grant in spec.s3_grants:
        if grant.on_bucket:
            expected_s3.add((grant.action, bucket))
        else:
            expected_s3 |= {(grant.action, f"{bucket}/{pattern}") for pattern in grant.patterns}
    granted = grants(statements)
    assert {(a, r) for a, r in granted if a.startswith("s3:")} == expected_s3
    # Listing is limited to the row's prefixes (or the one object name it looks up).
    listed = [s["Condition"] for s in statements if s["Action"] == "s3:ListBucket"]
    assert listed == [
        {"StringLike": {"s3:prefix": list(grant.patterns)}}
        for grant in spec.s3_grants
        if grant.on_bucket
    ]
    actions = {action for action, _ in granted}
    assert ("secretsmanager:GetSecretValue" in actions) is spec.calls_genesys
    assert ("glue:StartCrawler" in actions) is spec.starts_crawler
    # The bucket key through S3 exactly when it reads or writes objects.
    assert ("kms:GenerateDataKey" in actions) is bool(spec.object_patterns)


RUN = "20261118T030000Z-0123abcd"
DAY_PARTITION = (rc.DEFAULT_API, "day", rc.DEFAULT_GROUPING, "2026-11-17")


def _keys_covered(statements: list[dict[str, Any]], action: str, bucket: str) -> list[str]:
    """The key patterns ``action`` is granted on: listing prefixes, or object ARNs' keys."""
    if action == "s3:ListBucket":
        return [
            pattern
            for s in statements
            if s["Action"] == action
            for pattern in s["Condition"]["StringLike"]["s3:prefix"]
        ]
    return [r.removeprefix(f"{bucket}/") for a, r in grants(statements) if a == action]


@pytest.mark.parametrize(
    ("handler", "action", "needed", "not_needed"),
    [
        # land looks the staging index up by listing, so in AWS a missing index reads as missing
        # (RowCountMismatch), not as AccessDenied; the staged partitions it need not list.
        (
            rc.HANDLER_LAND,
            "s3:ListBucket",
            layout.staging_index_key(RUN),
            layout.staging_key(RUN, layout.partition(*DAY_PARTITION)),
        ),
        # poll reads back its paging checkpoint (asked first by listing), never a page.
        (
            rc.HANDLER_POLL_STATUS,
            "s3:ListBucket",
            layout.raw_progress_key(RUN),
            layout.raw_page_key(RUN, 1),
        ),
        (
            rc.HANDLER_POLL_STATUS,
            "s3:GetObject",
            layout.raw_progress_key(RUN),
            layout.raw_page_key(RUN, 1),
        ),
    ],
    ids=["land lists the staging index", "poll finds its checkpoint", "poll reads its checkpoint"],
)
def test_a_lookup_grant_covers_the_one_object_looked_up(
    template_json: dict[str, Any],
    ids: dict[str, str],
    handler: str,
    action: str,
    needed: str,
    not_needed: str,
) -> None:
    # GIVEN the key patterns the function's role has the action on
    statements = role_statements(template_json, _role_of(template_json, handler))
    covered = _keys_covered(statements, action, f"<{ids['bucket']}.Arn>")

    # THEN the object it looks up is covered (IAM's * is fnmatch's), the others of its run not
    assert any(fnmatchcase(needed, pattern) for pattern in covered), covered
    assert not any(fnmatchcase(not_needed, pattern) for pattern in covered), covered


def test_no_wildcard_action_in_any_allow_statement(template_json: dict[str, Any]) -> None:
    """No ``*`` action anywhere; no wildcard at all in any Allow, but for the key's root admin.

    Deny statements (TLS-only bucket/queue policies) deny every action on purpose.
    """
    key_id = one(template_json, "AWS::KMS::Key")[0]
    checked = 0
    for lid, kind, document in policy_documents(template_json):
        for statement in document["Statement"]:
            actions = as_list(statement["Action"])
            assert "*" not in actions, (lid, statement)
            checked += 1
            if statement["Effect"] != "Allow":
                continue
            if lid == key_id and kind == "KeyPolicy" and actions == ["kms:*"]:
                # The default key policy: delegates to IAM in this account, whose policies the
                # other checks keep narrow.
                assert render(statement["Principal"]) == {
                    "AWS": "arn:<AWS::Partition>:iam::<AWS::AccountId>:root"
                }
                continue
            for action in actions:
                assert "*" not in action, (lid, action)
    assert checked > 20


def test_wildcard_resources_only_where_aws_requires_them(template_json: dict[str, Any]) -> None:
    allowed = {
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "xray:GetSamplingRules",
        "xray:GetSamplingTargets",
        "logs:CreateLogDelivery",
        "logs:GetLogDelivery",
        "logs:UpdateLogDelivery",
        "logs:DeleteLogDelivery",
        "logs:ListLogDeliveries",
        "logs:PutResourcePolicy",
        "logs:DescribeResourcePolicies",
        "logs:DescribeLogGroups",
    }
    for policy in resources(template_json, "AWS::IAM::Policy").values():
        for action, resource in grants(policy["Properties"]["PolicyDocument"]["Statement"]):
            if resource == "*":
                assert action in allowed, action
