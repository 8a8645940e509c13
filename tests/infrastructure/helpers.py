"""Reading a synthesized template without hard-coded logical ids.

Resources are found by type and by what they are (a Lambda by its handler, a bucket by its
lifecycle rules); CloudFormation intrinsics are rendered to readable strings (``<Logical.Arn>``,
``<Logical>``, ``<AWS::Region>``) so a test can compare a resource ARN with the resource it names.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

Template = dict[str, Any]


def resources(template: Template, type_: str) -> dict[str, dict[str, Any]]:
    return {lid: r for lid, r in template["Resources"].items() if r["Type"] == type_}


def one(
    template: Template, type_: str, predicate: Callable[[dict[str, Any]], bool] = lambda _: True
) -> tuple[str, dict[str, Any]]:
    found = [(lid, r) for lid, r in resources(template, type_).items() if predicate(r)]
    assert len(found) == 1, f"expected one {type_}, found {[lid for lid, _ in found]}"
    return found[0]


def render(value: Any) -> Any:
    """Intrinsics to strings; lists and plain values pass through (lists element-wise)."""
    if isinstance(value, list):
        return [render(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "Ref" in value:
        return f"<{value['Ref']}>"
    if "Fn::GetAtt" in value:
        logical, attribute = value["Fn::GetAtt"]
        return f"<{logical}.{attribute}>"
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(str(render(p)) for p in parts)
    return {k: render(v) for k, v in value.items()}


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_documents(template: Template) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every policy document anywhere: identity, resource (bucket, key, topic, queue) and trust."""
    for lid, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        for key in ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument"):
            if key in props:
                yield lid, key, props[key]
        for policy in props.get("Policies", []) or []:
            yield lid, "Policies", policy["PolicyDocument"]


def role_statements(template: Template, role_logical_id: str) -> list[dict[str, Any]]:
    """The statements of every AWS::IAM::Policy attached to the role, and its inline policies."""
    statements: list[dict[str, Any]] = []
    for resource in resources(template, "AWS::IAM::Policy").values():
        if {"Ref": role_logical_id} in resource["Properties"].get("Roles", []):
            statements += resource["Properties"]["PolicyDocument"]["Statement"]
    role = template["Resources"][role_logical_id]["Properties"]
    for policy in role.get("Policies", []) or []:
        statements += policy["PolicyDocument"]["Statement"]
    return statements


def grants(statements: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(action, rendered resource) pairs of the Allow statements."""
    pairs: set[tuple[str, str]] = set()
    for statement in statements:
        if statement["Effect"] != "Allow":
            continue
        for action in as_list(statement["Action"]):
            for resource in as_list(render(statement["Resource"])):
                pairs.add((action, str(resource)))
    return pairs


def function_by_handler(template: Template, handler: str) -> tuple[str, dict[str, Any]]:
    return one(template, "AWS::Lambda::Function", lambda r: r["Properties"]["Handler"] == handler)


def state_machine_definition(template: Template) -> dict[str, Any]:
    """The ASL of the one state machine, intrinsics replaced by ``<...>`` placeholders."""
    _, machine = one(template, "AWS::StepFunctions::StateMachine")
    definition = machine["Properties"]["DefinitionString"]
    if isinstance(definition, str):
        return dict(json.loads(definition))
    separator, parts = definition["Fn::Join"]
    text = separator.join(p if isinstance(p, str) else str(render(p)) for p in parts)
    return dict(json.loads(text))
