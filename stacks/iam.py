"""The functions' IAM statements, from their rows in ``stacks/functions.py``.

Each function has its own role holding only what its row asks for: its own log group, the secret
(when it calls Genesys), its S3 grants by prefix, the crawler (land), and the bucket key through S3
when it touches objects. X-Ray's statement is added by CDK for active tracing.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3

from stacks.encryption import via_service
from stacks.functions import FunctionSpec, S3Grant


@dataclass(frozen=True)
class GrantTargets:
    """The resources of the other constructs that the functions' grants name."""

    bucket: s3.IBucket
    key: kms.IKey
    secret_arn: str
    # A secret the stack created is encrypted with the stack's key; an existing one is not.
    secret_encrypted_with_key: bool
    crawler_arn: str


def function_statements(
    spec: FunctionSpec, targets: GrantTargets, log_group: logs.ILogGroup
) -> list[iam.PolicyStatement]:
    """Every statement of the function's role, in the order they are added."""
    # Own role without AWSLambdaBasicExecutionRole: write to this function's log group only.
    statements = [
        iam.PolicyStatement(
            sid="WriteOwnLogs",
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[log_group.log_group_arn],
        )
    ]
    if spec.calls_genesys:
        statements += _read_secret(targets)
    statements += [_s3_statement(grant, targets.bucket) for grant in spec.s3_grants]
    if spec.starts_crawler:
        statements.append(
            iam.PolicyStatement(
                sid="StartCrawler", actions=["glue:StartCrawler"], resources=[targets.crawler_arn]
            )
        )
    if spec.object_patterns:
        # SSE-KMS objects: GenerateDataKey to write, Decrypt to read (and for multipart uploads).
        statements.append(
            iam.PolicyStatement(
                sid="UseBucketKeyThroughS3",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[targets.key.key_arn],
                conditions=via_service("s3"),
            )
        )
    return statements


def _read_secret(targets: GrantTargets) -> list[iam.PolicyStatement]:
    statements = [
        iam.PolicyStatement(
            sid="ReadGenesysSecret",
            actions=["secretsmanager:GetSecretValue"],
            resources=[targets.secret_arn],
        )
    ]
    if targets.secret_encrypted_with_key:
        statements.append(
            iam.PolicyStatement(
                sid="DecryptGenesysSecret",
                actions=["kms:Decrypt"],
                resources=[targets.key.key_arn],
                conditions=via_service("secretsmanager"),
            )
        )
    return statements


def _s3_statement(grant: S3Grant, bucket: s3.IBucket) -> iam.PolicyStatement:
    patterns = list(grant.patterns)
    if grant.on_bucket:
        return iam.PolicyStatement(
            sid=grant.sid,
            actions=[grant.action],
            resources=[bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": patterns}},
        )
    return iam.PolicyStatement(
        sid=grant.sid,
        actions=[grant.action],
        resources=[bucket.arn_for_objects(pattern) for pattern in patterns],
    )
