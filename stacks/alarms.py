"""Alarms to an encrypted SNS topic: failed runs, a day without landed rows, rate limiting."""

from __future__ import annotations

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

from stacks import constants as c
from stacks.compliance import acknowledge
from usage_pipeline import constants as rc


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
        self.topic = self._build_topic(key, alarm_email)
        self._action = actions.SnsAction(self.topic)
        self.alarms: dict[str, cloudwatch.Alarm] = {}
        self._build_execution_alarms(state_machine)
        if expect_daily_rows:
            # Without the schedule there is no daily run, so a quiet day is not a problem.
            self._build_rows_landed_alarm()
        self._build_rate_limited_alarm(rate_limited_percent_threshold)
        self._build_dead_letter_alarm(dead_letter_queue)

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
            acknowledge(
                subscription,
                "Serverless-SNSRedrivePolicy",
                "An undeliverable alarm e-mail stays visible as the alarm's state in CloudWatch; "
                "a dead-letter queue for e-mails would be one more queue nobody reads.",
            )
        return topic

    def _add(self, name: str, alarm: cloudwatch.Alarm) -> None:
        alarm.add_alarm_action(self._action)
        self.alarms[name] = alarm

    def _build_execution_alarms(self, machine: sfn.StateMachine) -> None:
        period = Duration.minutes(c.EXECUTION_ALARM_PERIOD_MINUTES)
        for name, metric in (
            ("ExecutionsFailed", machine.metric_failed(period=period, statistic="Sum")),
            ("ExecutionsTimedOut", machine.metric_timed_out(period=period, statistic="Sum")),
            ("ExecutionsAborted", machine.metric_aborted(period=period, statistic="Sum")),
        ):
            self._add(
                name,
                cloudwatch.Alarm(
                    self,
                    name,
                    alarm_description=f"Genesys API usage pipeline: {name} >= 1 "
                    "(see the execution's failed state and error)",
                    metric=metric,
                    threshold=1,
                    evaluation_periods=1,
                    comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                    # No executions in a period is normal.
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                ),
            )

    def _pipeline_metric(self, name: str, statistic: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=rc.METRICS_NAMESPACE,
            metric_name=name,
            dimensions_map={c.METRIC_SERVICE_DIMENSION: rc.SERVICE_NAME},
            statistic=statistic,
            period=Duration.hours(c.DAILY_ALARM_PERIOD_HOURS),
        )

    def _build_rows_landed_alarm(self) -> None:
        self._add(
            "NoRowsLanded",
            cloudwatch.Alarm(
                self,
                "NoRowsLanded",
                alarm_description="No usage rows landed in a day: the daily run did not run, "
                "failed, or Genesys returned nothing",
                metric=self._pipeline_metric(c.METRIC_ROWS_LANDED, "Sum"),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                # No metric at all means no run landed anything: that is the alarm.
                treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            ),
        )

    def _build_rate_limited_alarm(self, threshold: float) -> None:
        self._add(
            "RateLimited",
            cloudwatch.Alarm(
                self,
                "RateLimited",
                alarm_description=f"A landed day had more than {threshold:g}% of requests "
                "answered 429 (rate limited)",
                metric=self._pipeline_metric(c.METRIC_RATE_LIMITED_PERCENT, "Maximum"),
                threshold=threshold,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
        )

    def _build_dead_letter_alarm(self, queue: sqs.IQueue) -> None:
        self._add(
            "ScheduleDeadLetters",
            cloudwatch.Alarm(
                self,
                "ScheduleDeadLetters",
                alarm_description="The scheduler could not start the state machine "
                "(message in its dead-letter queue)",
                metric=queue.metric_approximate_number_of_messages_visible(
                    period=Duration.minutes(c.EXECUTION_ALARM_PERIOD_MINUTES), statistic="Maximum"
                ),
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
        )
