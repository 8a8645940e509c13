"""Buckets, KMS key, secret, log groups: encryption, TLS, public access, logging, lifecycle."""

from __future__ import annotations

from typing import Any

from aws_cdk.assertions import Match, Template

from tests.infrastructure.helpers import grants, one, render, resources, role_statements
from usage_pipeline import constants as rc


def _rules(bucket: dict[str, Any]) -> list[dict[str, Any]]:
    return list(bucket["Properties"].get("LifecycleConfiguration", {}).get("Rules", []))


def _source(template_json: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return one(
        template_json,
        "AWS::S3::Bucket",
        lambda b: any(r.get("Prefix") == rc.RAW_PREFIX for r in _rules(b)),
    )


def _logs(template_json: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return one(
        template_json,
        "AWS::S3::Bucket",
        lambda b: "LoggingConfiguration" not in b["Properties"],
    )


def _key(template_json: dict[str, Any]) -> str:
    return one(template_json, "AWS::KMS::Key")[0]


def test_three_buckets_none_with_a_fixed_name(template_json: dict[str, Any]) -> None:
    buckets = resources(template_json, "AWS::S3::Bucket")
    assert len(buckets) == 3
    for bucket in buckets.values():
        assert "BucketName" not in bucket["Properties"]


def test_every_bucket_blocks_public_access_and_is_owner_enforced(template: Template) -> None:
    template.all_resources_properties(
        "AWS::S3::Bucket",
        {
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
            "VersioningConfiguration": {"Status": "Enabled"},
        },
    )


def test_data_buckets_use_the_customer_managed_key_and_log_access(
    template_json: dict[str, Any],
) -> None:
    key = _key(template_json)
    logs_id, _ = _logs(template_json)
    data = [b for lid, b in resources(template_json, "AWS::S3::Bucket").items() if lid != logs_id]
    assert len(data) == 2
    for bucket in data:
        props = bucket["Properties"]
        (sse,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        assert render(sse["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]) == f"<{key}.Arn>"
        assert sse["BucketKeyEnabled"] is True
        assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": logs_id}


def test_access_log_bucket_is_sse_s3_because_server_access_logging_requires_it(
    template_json: dict[str, Any],
) -> None:
    _, bucket = _logs(template_json)
    (sse,) = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert sse["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}


def test_access_log_bucket_policy_lets_only_s3_logging_write(template_json: dict[str, Any]) -> None:
    logs_id, _ = _logs(template_json)
    _, policy = one(
        template_json,
        "AWS::S3::BucketPolicy",
        lambda p: p["Properties"]["Bucket"] == {"Ref": logs_id},
    )
    allows = [
        s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"
    ]
    assert allows
    for statement in allows:
        assert statement["Principal"] == {"Service": "logging.s3.amazonaws.com"}
        assert statement["Action"] == "s3:PutObject"


def test_every_bucket_denies_requests_without_tls(template_json: dict[str, Any]) -> None:
    for lid in resources(template_json, "AWS::S3::Bucket"):
        _, policy = one(
            template_json,
            "AWS::S3::BucketPolicy",
            lambda p, lid=lid: p["Properties"]["Bucket"] == {"Ref": lid},
        )
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny"
            and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
            and s["Principal"] == {"AWS": "*"}
            for s in statements
        ), lid


def test_source_bucket_expires_raw_and_staging_and_old_versions(
    template_json: dict[str, Any],
) -> None:
    _, bucket = _source(template_json)
    rules = _rules(bucket)
    by_prefix = {r.get("Prefix"): r for r in rules}
    for prefix in (rc.RAW_PREFIX, rc.STAGING_PREFIX):
        assert by_prefix[prefix]["ExpirationInDays"] == 30  # cdk.json rawRetentionDays
        assert by_prefix[prefix]["Status"] == "Enabled"
    # usage/ and manifests/ are the product: no rule expires them.
    assert not [r for r in rules if "ExpirationInDays" in r and r.get("Prefix") is None]
    assert any(r.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays") for r in rules)


def test_results_bucket_expires_query_results(template_json: dict[str, Any]) -> None:
    _, workgroup = one(template_json, "AWS::Athena::WorkGroup")
    output = render(
        workgroup["Properties"]["WorkGroupConfiguration"]["ResultConfiguration"]["OutputLocation"]
    )
    results_id = output.split("<")[1].split(">")[0]
    rules = _rules(template_json["Resources"][results_id])
    assert [r["ExpirationInDays"] for r in rules if "ExpirationInDays" in r] == [30]


def test_data_buckets_and_key_are_retained_by_default(template_json: dict[str, Any]) -> None:
    for lid, bucket in resources(template_json, "AWS::S3::Bucket").items():
        assert bucket["DeletionPolicy"] == "Retain", lid
        assert bucket["UpdateReplacePolicy"] == "Retain", lid
    _, key = one(template_json, "AWS::KMS::Key")
    assert key["DeletionPolicy"] == "Retain"


def test_retain_data_false_deletes_with_the_stack(variant_template_json: dict[str, Any]) -> None:
    for lid, bucket in resources(variant_template_json, "AWS::S3::Bucket").items():
        assert bucket["DeletionPolicy"] == "Delete", lid


def test_key_rotates_and_its_policy_lets_logs_and_alarms_use_it(template: Template) -> None:
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "EnableKeyRotation": True,
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Principal": {"Service": Match.any_value()},
                                "Sid": "AllowCloudWatchLogsOfThisAccount",
                                "Condition": {
                                    "ArnLike": {
                                        "kms:EncryptionContext:aws:logs:arn": Match.any_value()
                                    }
                                },
                            }
                        ),
                        Match.object_like(
                            {
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                            }
                        ),
                    ]
                )
            },
        },
    )


def test_created_secret_is_encrypted_named_by_cloudformation_and_holds_no_credentials(
    template_json: dict[str, Any],
) -> None:
    _, secret = one(template_json, "AWS::SecretsManager::Secret")
    props = secret["Properties"]
    assert "Name" not in props
    assert "SecretString" not in props
    assert render(props["KmsKeyId"]) == f"<{_key(template_json)}.Arn>"
    generated = props["GenerateSecretString"]
    assert "clientId" not in generated["SecretStringTemplate"]
    assert "clientSecret" not in generated["SecretStringTemplate"]


def test_existing_secret_is_used_by_name(variant_template_json: dict[str, Any]) -> None:
    assert not resources(variant_template_json, "AWS::SecretsManager::Secret")
    _, submit = one(
        variant_template_json,
        "AWS::Lambda::Function",
        lambda f: f["Properties"]["Handler"] == rc.HANDLER_SUBMIT_QUERY,
    )
    env = submit["Properties"]["Environment"]["Variables"]
    assert env[rc.ENV_GENESYS_SECRET_ID] == "ops/genesys-oauth"
    role = submit["Properties"]["Role"]["Fn::GetAtt"][0]
    # IAM matches the secret's full ARN: its name plus "-" and six random characters.
    assert (
        "secretsmanager:GetSecretValue",
        "arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:"
        "ops/genesys-oauth-??????",
    ) in grants(role_statements(variant_template_json, role))
    # Its key is not the stack's: no grant on our key through Secrets Manager.
    assert not [
        s
        for s in role_statements(variant_template_json, role)
        if "secretsmanager" in str(s.get("Condition", ""))
    ]


def test_log_groups_are_encrypted_and_expire(template_json: dict[str, Any]) -> None:
    key = _key(template_json)
    groups = resources(template_json, "AWS::Logs::LogGroup")
    assert len(groups) == 5  # four functions and the state machine
    for group in groups.values():
        assert render(group["Properties"]["KmsKeyId"]) == f"<{key}.Arn>"
        assert group["Properties"]["RetentionInDays"] == 90
        assert "LogGroupName" not in group["Properties"]
