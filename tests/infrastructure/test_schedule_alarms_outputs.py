"""Schedule, dead-letter queue, alarm topic and alarms, and the stack outputs."""

from __future__ import annotations

import json
from typing import Any

from aws_cdk.assertions import Match, Template

from stacks.alarms import alarm_table
from stacks.application import cdk_json_context
from tests.infrastructure.conftest import build
from tests.infrastructure.helpers import grants, one, render, resources, role_statements
from usage_pipeline import constants as rc


def test_schedule_starts_the_machine_daily_in_utc_for_the_last_days(
    template_json: dict[str, Any],
) -> None:
    _, schedule = one(template_json, "AWS::Scheduler::Schedule")
    machine_id, _ = one(template_json, "AWS::StepFunctions::StateMachine")
    queue_id, _ = one(template_json, "AWS::SQS::Queue")
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert props["ScheduleExpressionTimezone"] == "Etc/UTC"
    assert props["State"] == "ENABLED"
    assert props["FlexibleTimeWindow"] == {"Mode": "OFF"}
    target = props["Target"]
    assert target["Arn"] == {"Ref": machine_id}
    # cdk.json lookbackDays: each day re-lands the days before yesterday too (late data)
    assert json.loads(target["Input"]) == {"lastDays": 3}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 3, "MaximumEventAgeInSeconds": 21600}
    assert target["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [queue_id, "Arn"]}}


def test_schedule_role_starts_only_this_machine(template_json: dict[str, Any]) -> None:
    _, schedule = one(template_json, "AWS::Scheduler::Schedule")
    machine_id, _ = one(template_json, "AWS::StepFunctions::StateMachine")
    queue_id, _ = one(template_json, "AWS::SQS::Queue")
    key_id, _ = one(template_json, "AWS::KMS::Key")
    role = schedule["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]
    assert grants(role_statements(template_json, role)) == {
        ("states:StartExecution", f"<{machine_id}>"),
        ("sqs:SendMessage", f"<{queue_id}.Arn>"),
        ("kms:Decrypt", f"<{key_id}.Arn>"),
        ("kms:GenerateDataKey", f"<{key_id}.Arn>"),
    }


def test_schedule_can_be_disabled(variant_template_json: dict[str, Any]) -> None:
    _, schedule = one(variant_template_json, "AWS::Scheduler::Schedule")
    assert schedule["Properties"]["State"] == "DISABLED"


def test_dead_letter_queue_is_encrypted_and_tls_only(template_json: dict[str, Any]) -> None:
    queue_id, queue = one(template_json, "AWS::SQS::Queue")
    key_id, _ = one(template_json, "AWS::KMS::Key")
    assert render(queue["Properties"]["KmsMasterKeyId"]) == f"<{key_id}.Arn>"
    _, policy = one(template_json, "AWS::SQS::QueuePolicy")
    assert policy["Properties"]["Queues"] == [{"Ref": queue_id}]
    (deny,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_alarm_topic_is_encrypted_and_tls_only(template_json: dict[str, Any]) -> None:
    _, topic = one(template_json, "AWS::SNS::Topic")
    key_id, _ = one(template_json, "AWS::KMS::Key")
    assert render(topic["Properties"]["KmsMasterKeyId"]) == f"<{key_id}.Arn>"
    assert "TopicName" not in topic["Properties"]
    _, policy = one(template_json, "AWS::SNS::TopicPolicy")
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )
    assert any(
        s["Effect"] == "Allow" and s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        for s in statements
    )
    assert not resources(template_json, "AWS::SNS::Subscription")


def test_email_subscription_when_configured(variant_template_json: dict[str, Any]) -> None:
    _, subscription = one(variant_template_json, "AWS::SNS::Subscription")
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == "ops@example.com"


def _alarms(template_json: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        a["Properties"]["MetricName"]: a["Properties"]
        for a in resources(template_json, "AWS::CloudWatch::Alarm").values()
    }


def test_every_alarm_notifies_the_topic(template_json: dict[str, Any]) -> None:
    topic_id, _ = one(template_json, "AWS::SNS::Topic")
    alarms = resources(template_json, "AWS::CloudWatch::Alarm")
    assert len(alarms) == 6
    for alarm in alarms.values():
        assert alarm["Properties"]["AlarmActions"] == [{"Ref": topic_id}]
        assert "AlarmName" not in alarm["Properties"]


def test_execution_alarms(template_json: dict[str, Any]) -> None:
    machine_id, _ = one(template_json, "AWS::StepFunctions::StateMachine")
    alarms = _alarms(template_json)
    for metric in ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"):
        alarm = alarms[metric]
        assert alarm["Namespace"] == "AWS/States"
        assert alarm["Dimensions"] == [{"Name": "StateMachineArn", "Value": {"Ref": machine_id}}]
        assert alarm["Statistic"] == "Sum"
        assert alarm["Threshold"] == 1
        assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"


def test_no_rows_landed_alarm(template: Template) -> None:
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "RowsLanded",
            "Namespace": rc.METRICS_NAMESPACE,
            "Dimensions": [{"Name": "service", "Value": rc.SERVICE_NAME}],
            "Statistic": "Sum",
            "Period": 86400,
            "Threshold": 1,
            "ComparisonOperator": "LessThanThreshold",
            "TreatMissingData": "breaching",
        },
    )


def test_no_rows_alarm_only_when_the_schedule_runs(variant_template_json: dict[str, Any]) -> None:
    assert "RowsLanded" not in _alarms(variant_template_json)


def test_rate_limited_percent_alarm(template: Template) -> None:
    template.has_resource_properties(
        "AWS::CloudWatch::Alarm",
        {
            "MetricName": "RateLimitedPercent",
            "Namespace": rc.METRICS_NAMESPACE,
            "Dimensions": [{"Name": "service", "Value": rc.SERVICE_NAME}],
            "Statistic": "Maximum",
            "Period": 86400,
            "Threshold": 5,
            "ComparisonOperator": "GreaterThanThreshold",
            "TreatMissingData": Match.any_value(),
        },
    )


def _pascal_case(enum_name: str) -> str:
    """CloudFormation's spelling of a CDK enum member: GREATER_THAN -> GreaterThan."""
    return "".join(word.capitalize() for word in enum_name.split("_"))


def _camel_case(enum_name: str) -> str:
    pascal = _pascal_case(enum_name)
    return pascal[0].lower() + pascal[1:]


def test_every_alarm_of_the_table_exists_with_its_threshold(
    template: Template, template_json: dict[str, Any], variant_template_json: dict[str, Any]
) -> None:
    table = alarm_table(cdk_json_context()["rateLimitedPercentAlarmThreshold"])
    for spec in table:
        template.has_resource_properties(
            "AWS::CloudWatch::Alarm",
            {
                "MetricName": spec.metric,
                "Statistic": spec.statistic,
                "Period": spec.period.to_seconds(),
                "Threshold": spec.threshold,
                "EvaluationPeriods": 1,
                "ComparisonOperator": _pascal_case(spec.comparison.name),
                "TreatMissingData": _camel_case(spec.missing_data.name),
                "AlarmDescription": spec.description.format(
                    metric=spec.metric, threshold=spec.threshold
                ),
            },
        )
    assert len(resources(template_json, "AWS::CloudWatch::Alarm")) == len(table)
    # Without the schedule, the alarms that need it are left out.
    unscheduled = [spec.metric for spec in table if not spec.needs_schedule]
    assert sorted(_alarms(variant_template_json)) == sorted(unscheduled)


def test_outputs(template_json: dict[str, Any]) -> None:
    outputs = {name: render(o["Value"]) for name, o in template_json["Outputs"].items()}
    machine_id, _ = one(template_json, "AWS::StepFunctions::StateMachine")
    workgroup_id, _ = one(template_json, "AWS::Athena::WorkGroup")
    topic_id, _ = one(template_json, "AWS::SNS::Topic")
    secret_id, _ = one(template_json, "AWS::SecretsManager::Secret")
    crawler_id, _ = one(template_json, "AWS::Glue::Crawler")
    buckets = resources(template_json, "AWS::S3::Bucket")
    assert outputs["StateMachineArn"] == f"<{machine_id}>"
    assert outputs["AthenaWorkGroupName"] == f"<{workgroup_id}>"
    assert outputs["AlarmTopicArn"] == f"<{topic_id}>"
    assert outputs["GenesysSecretArn"] == f"<{secret_id}>"
    assert outputs["GlueCrawlerName"] == f"<{crawler_id}>"
    assert outputs["GlueDatabaseName"] == "genesys_api_usage"
    assert outputs["GlueTableName"] == "api_usage"
    assert outputs["SourceBucketName"].strip("<>") in buckets
    assert outputs["AthenaResultsBucketName"].strip("<>") in buckets
    assert outputs["SourceBucketName"] != outputs["AthenaResultsBucketName"]


def test_existing_secret_outputs_its_name(variant_template_json: dict[str, Any]) -> None:
    outputs = variant_template_json["Outputs"]
    assert outputs["GenesysSecretName"]["Value"] == "ops/genesys-oauth"
    assert "GenesysSecretArn" not in outputs


def test_the_schedules_look_back_comes_from_lookback_days() -> None:
    _, stack = build(lookbackDays=7)
    _, schedule = one(Template.from_stack(stack).to_json(), "AWS::Scheduler::Schedule")
    assert json.loads(schedule["Properties"]["Target"]["Input"]) == {"lastDays": 7}
