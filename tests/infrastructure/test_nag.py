"""cdk-nag (AwsSolutions + Serverless): zero findings left unacknowledged."""

from __future__ import annotations

from typing import Any

import pytest
from cdk_nag import AwsSolutionsChecks, NagPack, ServerlessChecks

from stacks.usage_stack import GenesysApiUsageStack


def _findings(pack: NagPack, app: Any) -> list[str]:
    report = pack.validate_scope(app)
    return [
        f"{violation.rule_name} at {[r.construct_path for r in violation.violating_resources]}"
        for violation in report.violations
    ]


@pytest.mark.parametrize(
    "pack", [AwsSolutionsChecks, ServerlessChecks], ids=["AwsSolutions", "Serverless"]
)
def test_no_unacknowledged_findings(
    app_and_stack: tuple[Any, GenesysApiUsageStack], pack: type[NagPack]
) -> None:
    app, _ = app_and_stack
    assert _findings(pack(), app) == []


def test_no_unacknowledged_findings_in_the_other_configuration() -> None:
    from tests.infrastructure.conftest import build

    app, _ = build(genesysSecretName="ops/genesys-oauth", retainData=False, alarmEmail="a@b.co")
    assert _findings(AwsSolutionsChecks(), app) == []
    assert _findings(ServerlessChecks(), app) == []
