"""One synthesized template per test session: building the app takes seconds."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from aws_cdk.assertions import Template

from stacks.application import cdk_json_context, create_app
from stacks.usage_stack import GenesysApiUsageStack

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

# No bundling in assertion tests: the asset is built and checked by test_bundling.py.
SKIP_BUNDLING: dict[str, Any] = {"aws:cdk:bundling-stacks": []}


def build(**overrides: Any) -> tuple[Any, GenesysApiUsageStack]:
    """The app without cdk-nag (Template.from_stack would run its plugins), cdk.json context."""
    return create_app({**cdk_json_context(), **SKIP_BUNDLING, **overrides}, nag=False)


@pytest.fixture(scope="session")
def app_and_stack() -> tuple[Any, GenesysApiUsageStack]:
    return build()


@pytest.fixture(scope="session")
def stack(app_and_stack: tuple[Any, GenesysApiUsageStack]) -> GenesysApiUsageStack:
    return app_and_stack[1]


@pytest.fixture(scope="session")
def template(stack: GenesysApiUsageStack) -> Template:
    return Template.from_stack(stack)


@pytest.fixture(scope="session")
def template_json(template: Template) -> dict[str, Any]:
    # A deep copy through JSON: tests may not change the session's template by accident.
    return dict(json.loads(json.dumps(template.to_json())))


@pytest.fixture(scope="session")
def variant_template_json() -> dict[str, Any]:
    """The other branches of the config: existing secret, no retention, schedule off, e-mail."""
    _, variant = build(
        genesysSecretName="ops/genesys-oauth",
        retainData=False,
        scheduleEnabled="false",
        alarmEmail="ops@example.com",
    )
    return dict(Template.from_stack(variant).to_json())
