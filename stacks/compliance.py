"""Recording why a finding of cdk-nag or checkov does not apply, next to the resource it is about.

Both helpers target one construct: acknowledgments and skips are never stack-wide, so a new resource
with the same problem still fails the scan.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from constructs import IConstruct


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


def _cfn_resource(construct: IConstruct) -> CfnResource:
    if isinstance(construct, CfnResource):
        return construct
    child = construct.node.default_child
    if not isinstance(child, CfnResource):
        raise TypeError(f"{construct.node.path} has no CloudFormation resource")
    return child
