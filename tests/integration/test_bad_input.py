"""Bad execution input fails in the first state, names the field, and writes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.harness import LocalPipeline
from tests.integration.conftest import TODAY, days_ago, window

pytestmark = pytest.mark.integration

INVALID_INPUTS: list[tuple[str, Any, str]] = [
    ("list", [1, 2], "input"),
    ("string", "yesterday", "input"),
    ("number", 42, "input"),
    ("boolean", True, "input"),
    ("unknown field", {"intervall": window(2, 0)}, "intervall"),
    ("filters unsupported", {"templateUris": ["api/v2/users"]}, "templateUris"),
    ("sortBy unsupported", {"sortBy": [{"name": "Requests"}]}, "sortBy"),
    ("interval a number", {"interval": 20261101}, "interval"),
    ("interval malformed", {"interval": "last week"}, "interval"),
    ("interval reversed", {"interval": f"{days_ago(1)}/{days_ago(5)}"}, "interval"),
    ("interval empty", {"interval": f"{days_ago(2)}/{days_ago(2)}"}, "interval"),
    ("interval today", {"interval": TODAY.isoformat()}, "interval"),
    ("interval future", {"interval": f"{days_ago(-3)}/{days_ago(-5)}"}, "interval"),
    ("interval too old", {"interval": f"{days_ago(400)}/{days_ago(395)}"}, "interval"),
    ("aggregates too long", {"interval": f"{days_ago(120)}/{days_ago(10)}"}, "interval"),
    ("not midnight", {"interval": f"{days_ago(3)}T05:00:00Z/{days_ago(1)}T00:00:00Z"}, "interval"),
    ("impossible date", {"interval": "2026-02-30/2026-03-02"}, "interval"),
    ("granularity unknown", {"granularity": "Hour"}, "granularity"),
    ("granularity a list", {"granularity": ["Day"]}, "granularity"),
    ("incomplete week", {"granularity": "Week", "interval": window(3, 0)}, "interval"),
    ("groupBy a string", {"groupBy": "OAuthClientId"}, "groupBy"),
    ("groupBy unknown", {"groupBy": ["OAuthClientId", "Colour"]}, "groupBy[1]"),
    ("groupBy duplicated", {"groupBy": ["TemplateUri", "templateuri"]}, "groupBy[1]"),
    ("groupBy not in legacy", {"api": "legacy", "groupBy": ["Platform"]}, "groupBy[0]"),
    ("groupBy oversized", {"groupBy": ["UserId"] * 11}, "groupBy"),
    ("metrics unknown", {"metrics": ["Status418"]}, "metrics[0]"),
    ("metrics duplicated", {"metrics": ["Requests", "Requests"]}, "metrics[1]"),
    ("metrics a number", {"metrics": 5}, "metrics"),
    ("api unknown", {"api": "graphql"}, "api"),
]


@pytest.mark.parametrize(
    ("execution_input", "field"),
    [pytest.param(value, field, id=name) for name, value, field in INVALID_INPUTS],
)
def test_invalid_input_fails_in_the_first_state_naming_the_field(
    pipeline: LocalPipeline, execution_input: Any, field: str
) -> None:
    # GIVEN an execution input the pipeline must refuse
    # WHEN it is started as the deployed machine would be
    report = pipeline.execute(execution_input)

    # THEN the first state fails with InvalidInput naming the field, nothing is written, and
    # Genesys is never called
    assert report.status == "FAILED"
    assert report.states[0] == "SubmitQuery"
    assert "PollStatus" not in report.states
    assert report.error == "InvalidInput"
    message = json.loads(report.cause or "{}").get("errorMessage", "")
    assert message.startswith(f"{field}:"), message
    assert "allowed" in message or "expected" in message or "must" in message, message
    assert pipeline.keys() == []
    assert pipeline.simulator.stats()["totalRequests"] == 0


def test_the_table_has_at_least_25_invalid_inputs() -> None:
    assert len(INVALID_INPUTS) >= 25
