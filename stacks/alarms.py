"""Alarms to an encrypted SNS topic: failed runs, a day without landed rows, rate limiting.

The alarms are one table (``alarm_table``); adding an alarm is one row there. Custom metric names
come from ``usage_pipeline.constants``, where the land handler takes them from.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from aws_cdk import Aws, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks import compliance
from stacks import constants as c
from usage_pipeline import constants as rc

Comparison = cloudwatch.ComparisonOperator
MissingData = cloudwatch.TreatMissingData


class Source(Enum):
    """Whose metric an alarm watches."""

    STATE_MACHINE = "AWS/States, the state machine"
    PIPELINE = "the land handler's custom metrics (EMF)"
    SCHEDULE_DEAD_LETTERS = "AWS/SQS, the schedule's dead-letter queue"


@dataclass(frozen=True)
class AlarmSpec:
    name: str  # the construct id: the alarm's logical id derives from it
    source: Source
    metric: str
    statistic: str
    period: Duration
    threshold: float
    comparison: cloudwatch.ComparisonOperator
    missing_data: cloudwatch.TreatMissingData
    description: str  # ``{metric}`` and ``{threshold:g}`` are filled in
    # Only with the daily schedule enabled: without it a quiet day is no problem.
    needs_schedule: bool = False


FIVE_MINUTES = Duration.minutes(c.EXECUTION_ALARM_PERIOD_MINUTES)
ONE_DAY = Duration.hours(c.DAILY_ALARM_PERIOD_HOURS)


def alarm_table(rate_limited_percent_threshold: float) -> tuple[AlarmSpec, ...]:
    """Every alarm of the stack (the threshold of RateLimited is the deployment's setting)."""
    return (
        # A failed, timed-out or aborted execution: the same alarm on three of the machine's
        # metrics. No executions in a period is normal, hence missing data is not breaching.
        *(
            AlarmSpec(
                name=metric,
                source=Source.STATE_MACHINE,
                metric=metric,
                statistic="Sum",
                period=FIVE_MINUTES,
                threshold=1,
                comparison=Comparison.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                missing_data=MissingData.NOT_BREACHING,
                description="Genesys API usage pipeline: {metric} >= {threshold:g} "
                "(see the execution's failed state and error)",
            )
            for metric in ("ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted")
        ),
        AlarmSpec(
            name="NoRowsLanded",
            source=Source.PIPELINE,
            metric=rc.METRIC_ROWS_LANDED,
            statistic="Sum",
            period=ONE_DAY,
            threshold=1,
            comparison=Comparison.LESS_THAN_THRESHOLD,
            # No metric at all means no run landed anything: that is the alarm.
            missing_data=MissingData.BREACHING,
            description="No usage rows landed in a day: the daily run did not run, failed, or "
            "Genesys returned nothing",
            needs_schedule=True,
        ),
        AlarmSpec(
            name="RateLimited",
            source=Source.PIPELINE,
            metric=rc.METRIC_RATE_LIMITED_PERCENT,
            statistic="Maximum",
            period=ONE_DAY,
            threshold=rate_limited_percent_threshold,
            comparison=Comparison.GREATER_THAN_THRESHOLD,
            missing_data=MissingData.NOT_BREACHING,
            description="A landed day had more than {threshold:g}% of requests answered 429 "
            "(rate limited)",
        ),
        AlarmSpec(
            name="ScheduleDeadLetters",
            source=Source.SCHEDULE_DEAD_LETTERS,
            metric="ApproximateNumberOfMessagesVisible",
            statistic="Maximum",
            period=FIVE_MINUTES,
            threshold=1,
            comparison=Comparison.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            missing_data=MissingData.NOT_BREACHING,
            description="The scheduler could not start the state machine (message in its "
            "dead-letter queue)",
        ),
    )


class Alarms(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        state_machine: sfn.StateMachine,
        dead_letter_queue: sqs.IQueue,
        alarm_email: str | None,
        rate_limited_percent_threshold: float,
        expect_daily_rows: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self._state_machine = state_machine
        self._dead_letter_queue = dead_letter_queue
        self.topic = self._build_topic(key, alarm_email)
        action = actions.SnsAction(self.topic)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        for spec in alarm_table(rate_limited_percent_threshold):
            if spec.needs_schedule and not expect_daily_rows:
                continue
            alarm = self._build_alarm(spec)
            alarm.add_alarm_action(action)
            self.alarms[spec.name] = alarm

    def _build_topic(self, key: kms.IKey, alarm_email: str | None) -> sns.Topic:
        topic = sns.Topic(
            self,
            "Topic",
            display_name="Genesys API usage pipeline alarms",
            master_key=key,
            enforce_ssl=True,
        )
        # enforce_ssl writes a topic policy, which replaces the default one: say explicitly that
        # this account's CloudWatch alarms may publish.
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )
        if alarm_email:
            subscription = topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
            compliance.apply(subscription, compliance.ALARM_EMAIL_SUBSCRIPTION)
        return topic

    def _build_alarm(self, spec: AlarmSpec) -> cloudwatch.Alarm:
        return cloudwatch.Alarm(
            self,
            spec.name,
            alarm_description=spec.description.format(metric=spec.metric, threshold=spec.threshold),
            metric=self._metric(spec),
            threshold=spec.threshold,
            evaluation_periods=1,
            comparison_operator=spec.comparison,
            treat_missing_data=spec.missing_data,
        )

    def _metric(self, spec: AlarmSpec) -> cloudwatch.IMetric:
        if spec.source is Source.STATE_MACHINE:
            return self._state_machine.metric(
                spec.metric, period=spec.period, statistic=spec.statistic
            )
        if spec.source is Source.SCHEDULE_DEAD_LETTERS:
            return self._dead_letter_queue.metric(
                spec.metric, period=spec.period, statistic=spec.statistic
            )
        return cloudwatch.Metric(
            namespace=rc.METRICS_NAMESPACE,
            metric_name=spec.metric,
            # Powertools Metrics adds the service as a dimension to every metric.
            dimensions_map={c.METRIC_SERVICE_DIMENSION: rc.SERVICE_NAME},
            statistic=spec.statistic,
            period=spec.period,
        )
