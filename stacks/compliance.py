"""Every scanner finding this stack accepts, and why, in one place.

cdk-nag findings are acknowledged and checkov checks skipped on the one construct they are about,
never stack-wide, so a new resource with the same problem still fails the scan. The construct that
builds a resource calls ``apply(resource, <its entry below>)``; the reasons live only here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from aws_cdk import Acknowledgment, Aws, CfnResource, Stack, Validations
from constructs import IConstruct

from usage_pipeline import constants as rc


class Scanner(Enum):
    CDK_NAG = "cdk-nag"
    CHECKOV = "checkov"


@dataclass(frozen=True)
class Acknowledgement:
    scanner: Scanner
    rule: str  # cdk-nag: ``Rule`` or ``Rule[Finding]``; checkov: the check id
    reason: str


def nag(rule: str, reason: str) -> Acknowledgement:
    return Acknowledgement(Scanner.CDK_NAG, rule, reason)


def checkov(check: str, reason: str) -> Acknowledgement:
    return Acknowledgement(Scanner.CHECKOV, check, reason)


def apply(construct: IConstruct, acknowledgements: Iterable[Acknowledgement]) -> None:
    for entry in acknowledgements:
        if entry.scanner is Scanner.CDK_NAG:
            acknowledge(construct, entry.rule, entry.reason)
        else:
            skip_checkov(construct, entry.rule, entry.reason)


# --- the Lambda functions (stacks/workflow.py) ------------------------------------------------

LAMBDA_FUNCTION = (
    nag(
        "Serverless-LambdaDLQ",
        "Invoked synchronously by Step Functions, which retries and catches failures; a DLQ "
        "only applies to asynchronous invocations.",
    ),
    checkov(
        "CKV_AWS_116",
        "Invoked synchronously by Step Functions (Retry/Catch); DLQs apply to async invokes.",
    ),
    checkov(
        "CKV_AWS_117",
        "Calls only public endpoints (Genesys Cloud, S3, Glue, Secrets Manager); no VPC "
        "resources to reach, and a VPC would need NAT for Genesys.",
    ),
    checkov(
        "CKV_AWS_115",
        "Concurrency is bounded by the state machine (one task per execution); reserving "
        "concurrency would fail deploys in accounts with the default unreserved minimum.",
    ),
    checkov(
        "CKV_AWS_173",
        "The environment holds no secrets (bucket, crawler and secret names, tuning numbers); "
        "the credentials are read from Secrets Manager at run time.",
    ),
)


def lambda_role_policy(
    bucket: IConstruct, object_patterns: Sequence[str]
) -> tuple[Acknowledgement, ...]:
    """A function role's default policy: X-Ray, and its object grants by key pattern."""
    return (
        nag(
            "AwsSolutions-IAM5[Resource::*]",
            "X-Ray's PutTraceSegments/PutTelemetryRecords have no resource-level permissions; AWS "
            "requires Resource '*'. Added by CDK for active tracing.",
        ),
        *(
            nag(
                f"AwsSolutions-IAM5[{arn_finding(bucket, f'/{pattern}')}]",
                f"Object keys matching {pattern} carry the run id or the partition, so they are "
                "created per run; the grant is limited to them in the pipeline's bucket.",
            )
            for pattern in object_patterns
        ),
    )


# --- the state machine (stacks/state_machine.py) ----------------------------------------------


def state_machine_role_policy(functions: Iterable[IConstruct]) -> tuple[Acknowledgement, ...]:
    return (
        nag(
            "AwsSolutions-IAM5[Resource::*]",
            "Vended-log delivery (logs:*LogDelivery, DescribeLogGroups, resource policies) and "
            "X-Ray tracing have no resource-level permissions; AWS requires Resource '*'.",
        ),
        *(
            nag(
                f"AwsSolutions-IAM5[{arn_finding(function, ':*')}]",
                "CDK's LambdaInvoke grants the function and its versions/aliases (<arn>:*); "
                "the grant stays on this one function.",
            )
            for function in functions
        ),
    )


# --- the Glue crawler (stacks/catalog.py) -----------------------------------------------------


def crawler_role_policy(
    bucket: IConstruct, log_resources: Iterable[str]
) -> tuple[Acknowledgement, ...]:
    return (
        nag(
            f"AwsSolutions-IAM5[{arn_finding(bucket, f'/{rc.USAGE_PREFIX}*')}]",
            "The crawler reads the table's data: every object under usage/ (partition objects are "
            "created by each run, so they cannot be listed one by one).",
        ),
        *(
            nag(
                f"AwsSolutions-IAM5[Resource::{_nag_string(resource)}]",
                "Glue creates the crawler's log group /aws-glue/crawlers-role/<role>-<security "
                "configuration> and its streams itself; the names are not known before deploy.",
            )
            for resource in log_resources
        ),
    )


# --- the schedule's dead-letter queue (stacks/schedule.py) ------------------------------------

SCHEDULE_DEAD_LETTER_QUEUE = (
    nag(
        "AwsSolutions-SQS3",
        "This queue is itself the dead-letter queue of the schedule; an alarm watches it.",
    ),
    nag(
        "Serverless-SQSRedrivePolicy",
        "This queue is itself the dead-letter queue of the schedule; nothing consumes it, so "
        "there is nothing to redrive to. An alarm watches it.",
    ),
)

# --- storage (stacks/storage.py) --------------------------------------------------------------

ACCESS_LOGS_BUCKET = (
    checkov("CKV_AWS_18", "Access log target bucket: logging it into itself would loop."),
)

# --- the alarm topic (stacks/alarms.py) -------------------------------------------------------

ALARM_EMAIL_SUBSCRIPTION = (
    nag(
        "Serverless-SNSRedrivePolicy",
        "An undeliverable alarm e-mail stays visible as the alarm's state in CloudWatch; "
        "a dead-letter queue for e-mails would be one more queue nobody reads.",
    ),
)

# --- the OAuth secret (stacks/secret.py) ------------------------------------------------------

GENESYS_SECRET = (
    nag(
        "AwsSolutions-SMG4",
        "The OAuth client credentials are issued by a Genesys Cloud admin in the Genesys org, not "
        "by AWS; Secrets Manager cannot rotate them. Ops rotate them in Genesys and put the new "
        "pair here.",
    ),
)


# --- how the scanners are told ----------------------------------------------------------------


def acknowledge(construct: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one cdk-nag finding (``Rule`` or ``Rule[Finding]``) on ``construct``."""
    Validations.of(construct).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def skip_checkov(construct: IConstruct, check_id: str, comment: str) -> None:
    """Add a ``checkov: skip`` entry to the CloudFormation metadata of ``construct``'s resource."""
    resource = _cfn_resource(construct)
    metadata: dict[str, Any] = resource.get_metadata("checkov") or {"skip": []}
    metadata["skip"] = [*metadata["skip"], {"id": check_id, "comment": comment}]
    resource.add_metadata("checkov", metadata)


def arn_finding(resource: IConstruct, suffix: str) -> str:
    """The way cdk-nag names a wildcard resource ``<Logical.Arn><suffix>`` in an IAM5 finding."""
    cfn = _cfn_resource(resource)
    return f"Resource::<{Stack.of(cfn).get_logical_id(cfn)}.Arn>{suffix}"


def _nag_string(value: str) -> str:
    """How cdk-nag prints a string holding pseudo parameters in an IAM5 finding id."""
    return (
        value.replace(Aws.PARTITION, "<AWS::Partition>")
        .replace(Aws.REGION, "<AWS::Region>")
        .replace(Aws.ACCOUNT_ID, "<AWS::AccountId>")
    )


def _cfn_resource(construct: IConstruct) -> CfnResource:
    if isinstance(construct, CfnResource):
        return construct
    child = construct.node.default_child
    if not isinstance(child, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource")
    return child
