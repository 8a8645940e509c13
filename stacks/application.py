"""Building the CDK app: shared by ``app.py`` (CLI, with cdk-nag) and the infrastructure tests."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from stacks import constants as c
from stacks.config import StackConfig
from stacks.usage_stack import GenesysApiUsageStack

CDK_JSON = Path(__file__).resolve().parents[1] / "cdk.json"


def cdk_json_context() -> dict[str, Any]:
    """The context block of cdk.json (the CLI passes it itself; tests build the app directly)."""
    context: dict[str, Any] = json.loads(CDK_JSON.read_text())["context"]
    return context


def create_app(
    context: Mapping[str, Any] | None = None, *, nag: bool = True
) -> tuple[App, GenesysApiUsageStack]:
    """The app and its one stack. ``nag=False`` leaves cdk-nag out (template assertions)."""
    app = App(context=dict(context) if context is not None else None)
    config = StackConfig.from_node(app.node)
    stack = GenesysApiUsageStack(app, c.STACK_ID, stack_name=c.STACK_ID, config=config)
    if nag:
        # Every unacknowledged finding, warnings included, fails synth.
        Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    return app, stack
