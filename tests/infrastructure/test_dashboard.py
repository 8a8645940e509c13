"""The operators' CloudWatch dashboard: what it graphs, from which resources, and its outputs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Capture, Template

from tests.infrastructure.helpers import one, render, resources
from usage_pipeline import constants as rc


@pytest.fixture(scope="module")
def body(template: Template) -> dict[str, Any]:
    captured = Capture()
    template.has_resource_properties(
        "AWS::CloudWatch::Dashboard",
        {"DashboardName": "GenesysApiUsage-pipeline", "DashboardBody": captured},
    )
    return dict(json.loads(render(captured.as_object())))


def _metric_widgets(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        w["properties"]["title"]: w["properties"] for w in body["widgets"] if w["type"] == "metric"
    }


def _metrics(widget: dict[str, Any]) -> list[tuple[str, str, dict[str, str], dict[str, Any]]]:
    """(namespace, name, dimensions, options) of each line of a graph."""
    found = []
    for line in widget["metrics"]:
        *names, options = line
        namespace, metric, *dimensions = names
        found.append(
            (namespace, metric, dict(zip(dimensions[::2], dimensions[1::2], strict=True)), options)
        )
    return found


def test_there_is_one_dashboard(template: Template) -> None:
    template.resource_count_is("AWS::CloudWatch::Dashboard", 1)


def test_executions_by_outcome_and_their_duration(
    body: dict[str, Any], template_json: dict[str, Any]
) -> None:
    machine_id, _ = one(template_json, "AWS::StepFunctions::StateMachine")
    widgets = list(_metric_widgets(body).values())
    lines = [metric for widget in widgets for metric in _metrics(widget)]
    on_machine = {
        name
        for namespace, name, dimensions, _ in lines
        if namespace == "AWS/States" and dimensions == {"StateMachineArn": f"<{machine_id}>"}
    }
    assert {
        "ExecutionsSucceeded",
        "ExecutionsFailed",
        "ExecutionsTimedOut",
        "ExecutionTime",
    } <= on_machine


def test_rows_landed_and_the_429_share_with_the_alarm_threshold(body: dict[str, Any]) -> None:
    service = {"service": rc.SERVICE_NAME}
    graphs = _metric_widgets(body)
    by_metric = {
        name: (title, options)
        for title, widget in graphs.items()
        for namespace, name, dimensions, options in _metrics(widget)
        if namespace == rc.METRICS_NAMESPACE and dimensions == service
    }
    assert by_metric[rc.METRIC_ROWS_LANDED][1]["stat"] == "Sum"
    assert by_metric[rc.METRIC_ROWS_LANDED][1]["period"] == 86400
    share_title, share_options = by_metric[rc.METRIC_RATE_LIMITED_PERCENT]
    assert share_options["stat"] == "Maximum"
    # cdk.json's rateLimitedPercentAlarmThreshold: the line the alarm fires above.
    annotations = graphs[share_title]["annotations"]["horizontal"]
    assert [a["value"] for a in annotations] == [5]


def test_every_function_has_its_errors_and_duration(
    body: dict[str, Any], template_json: dict[str, Any]
) -> None:
    lines = [m for widget in _metric_widgets(body).values() for m in _metrics(widget)]
    for metric in ("Errors", "Duration"):
        graphed = {
            dimensions["FunctionName"]
            for namespace, name, dimensions, _ in lines
            if namespace == "AWS/Lambda" and name == metric
        }
        # Every pipeline function (CDK's own helper functions are not the pipeline's).
        handlers = {
            f"<{lid}>"
            for lid, r in resources(template_json, "AWS::Lambda::Function").items()
            if r["Properties"].get("Handler", "").startswith("handlers.")
        }
        assert len(handlers) == 4
        assert graphed == handlers


def test_the_schedules_dead_letters_and_every_alarm(
    body: dict[str, Any], template_json: dict[str, Any]
) -> None:
    lines = [m for widget in _metric_widgets(body).values() for m in _metrics(widget)]
    queues = {
        dimensions["QueueName"]
        for namespace, name, dimensions, _ in lines
        if namespace == "AWS/SQS" and name == "ApproximateNumberOfMessagesVisible"
    }
    (dead_letter_queue,) = resources(template_json, "AWS::SQS::Queue")
    assert queues == {f"<{dead_letter_queue}.QueueName>"}
    (alarm_widget,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    alarms = {f"<{lid}.Arn>" for lid in resources(template_json, "AWS::CloudWatch::Alarm")}
    assert set(alarm_widget["properties"]["alarms"]) == alarms


def test_its_name_and_console_url_are_stack_outputs(template: Template) -> None:
    dashboard_ref = Capture()
    template.has_output("DashboardName", {"Value": {"Ref": dashboard_ref}})
    url = Capture()
    template.has_output("DashboardUrl", {"Value": url})
    rendered = render(url.as_object())
    assert rendered == (
        "https://<AWS::Region>.console.aws.amazon.com/cloudwatch/home?region=<AWS::Region>"
        f"#dashboards:name=<{dashboard_ref.as_string()}>"
    )
