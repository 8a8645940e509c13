"""The customer-managed KMS key that encrypts the data buckets, logs, topic, queue and secret."""

from __future__ import annotations

from aws_cdk import Aws, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

# Exactly what a service needs to encrypt for us (no wildcard actions, even in the key policy).
LOGS_KEY_ACTIONS = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:DescribeKey",
)
ALARMS_KEY_ACTIONS = ("kms:Decrypt", "kms:GenerateDataKey")


class Encryption(Construct):
    """One key with yearly rotation.

    The default key policy delegates to IAM (account root), so each role below gets only the key
    actions it needs through its own policy. Two services act on their own behalf and need key
    policy statements: CloudWatch Logs (encrypted log groups, incl. the Glue crawler's) and
    CloudWatch alarms publishing to the encrypted SNS topic.
    """

    def __init__(self, scope: Construct, construct_id: str, *, retain: bool) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            description="Genesys API usage pipeline: data buckets, logs, alarm topic, DLQ, secret",
            enable_key_rotation=True,
            # Deleting the key makes every retained object unreadable: keep it with the data.
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchLogsOfThisAccount",
                principals=[iam.ServicePrincipal(f"logs.{Aws.REGION}.amazonaws.com")],
                actions=list(LOGS_KEY_ACTIONS),
                resources=["*"],  # in a key policy "*" means this key
                conditions={
                    "ArnLike": {
                        "kms:EncryptionContext:aws:logs:arn": (
                            f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:*"
                        )
                    }
                },
            )
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublishToTheEncryptedTopic",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=list(ALARMS_KEY_ACTIONS),
                resources=["*"],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )


def via_service(service: str) -> dict[str, dict[str, str]]:
    """Condition limiting a key grant to calls made through ``service`` (s3, secretsmanager)."""
    return {"StringEquals": {"kms:ViaService": f"{service}.{Aws.REGION}.amazonaws.com"}}
