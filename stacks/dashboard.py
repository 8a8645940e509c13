"""The CloudWatch dashboard for whoever runs the pipeline: what to look at when an alarm fires.

One screen, top to bottom: the alarms' states; the executions (succeeded, failed, timed out,
aborted) and how long they took; what landed (rows per day, the share of 429s against the
alarm's threshold); each function's errors and duration; the schedule's dead letters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from aws_cdk import Aws, Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks import constants as c
from usage_pipeline import constants as rc

WIDTH = 24  # a dashboard row is 24 units wide
HEIGHT = 6
DAY = Duration.days(1)


class Dashboard(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.IStateMachine,
        functions: Mapping[str, lambda_.IFunction],
        dead_letter_queue: sqs.IQueue,
        alarms: Sequence[cloudwatch.IAlarm],
        rate_limited_percent_threshold: float,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            # Derived from the stack so two stacks never collide; the output gives its URL.
            dashboard_name=f"{stack.stack_name}-pipeline",
            default_interval=Duration.days(c.DASHBOARD_DEFAULT_DAYS),
        )
        self.dashboard_name = self.dashboard.dashboard_name
        self.url = (
            f"https://{Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region={Aws.REGION}"
            f"#dashboards:name={self.dashboard_name}"
        )
        self.dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(alarms), width=WIDTH, height=3)
        )
        self.dashboard.add_widgets(*self._execution_widgets(state_machine))
        self.dashboard.add_widgets(*self._landed_widgets(rate_limited_percent_threshold))
        self.dashboard.add_widgets(*self._function_widgets(functions))
        self.dashboard.add_widgets(self._dead_letter_widget(dead_letter_queue))

    def _execution_widgets(self, machine: sfn.IStateMachine) -> list[cloudwatch.IWidget]:
        return [
            cloudwatch.GraphWidget(
                title="Executions per day",
                left=[
                    machine.metric_succeeded(period=DAY, statistic="Sum", label="succeeded"),
                    machine.metric_failed(period=DAY, statistic="Sum", label="failed"),
                    machine.metric_timed_out(period=DAY, statistic="Sum", label="timed out"),
                    machine.metric_aborted(period=DAY, statistic="Sum", label="aborted"),
                ],
                left_y_axis=cloudwatch.YAxisProps(min=0, label="executions", show_units=False),
                stacked=True,
                view=cloudwatch.GraphWidgetView.BAR,
                width=WIDTH // 2,
                height=HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title="Execution duration",
                left=[
                    machine.metric_time(period=DAY, statistic="Maximum", label="longest"),
                    machine.metric_time(period=DAY, statistic="Average", label="average"),
                ],
                left_y_axis=cloudwatch.YAxisProps(min=0, label="milliseconds", show_units=False),
                width=WIDTH // 2,
                height=HEIGHT,
            ),
        ]

    def _pipeline_metric(self, name: str, statistic: str, label: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=rc.METRICS_NAMESPACE,
            metric_name=name,
            dimensions_map={c.METRIC_SERVICE_DIMENSION: rc.SERVICE_NAME},
            statistic=statistic,
            period=DAY,
            label=label,
        )

    def _landed_widgets(self, threshold: float) -> list[cloudwatch.IWidget]:
        return [
            cloudwatch.GraphWidget(
                title="Rows landed per day",
                left=[self._pipeline_metric(rc.METRIC_ROWS_LANDED, "Sum", "rows landed")],
                left_y_axis=cloudwatch.YAxisProps(min=0, label="rows", show_units=False),
                view=cloudwatch.GraphWidgetView.BAR,
                width=WIDTH // 2,
                height=HEIGHT,
            ),
            cloudwatch.GraphWidget(
                title="Share of requests answered 429 (rate limited)",
                left=[
                    self._pipeline_metric(
                        rc.METRIC_RATE_LIMITED_PERCENT, "Maximum", "429 % of a landed day"
                    )
                ],
                left_y_axis=cloudwatch.YAxisProps(min=0, label="percent", show_units=False),
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(
                        value=threshold, label="alarm threshold", color=cloudwatch.Color.RED
                    )
                ],
                width=WIDTH // 2,
                height=HEIGHT,
            ),
        ]

    def _function_widgets(
        self, functions: Mapping[str, lambda_.IFunction]
    ) -> list[cloudwatch.IWidget]:
        period = Duration.hours(1)

        def per_function(title: str, unit: str, metric: str, statistic: str) -> cloudwatch.IWidget:
            return cloudwatch.GraphWidget(
                title=title,
                left=[
                    function.metric(metric, period=period, statistic=statistic, label=name)
                    for name, function in functions.items()
                ],
                left_y_axis=cloudwatch.YAxisProps(min=0, label=unit, show_units=False),
                width=WIDTH // 2,
                height=HEIGHT,
            )

        return [
            per_function("Function errors", "errors", "Errors", "Sum"),
            per_function("Function duration (longest)", "milliseconds", "Duration", "Maximum"),
        ]

    def _dead_letter_widget(self, queue: sqs.IQueue) -> cloudwatch.IWidget:
        return cloudwatch.GraphWidget(
            title="Schedule dead letters (runs the scheduler could not start)",
            left=[
                queue.metric_approximate_number_of_messages_visible(
                    period=Duration.minutes(c.EXECUTION_ALARM_PERIOD_MINUTES),
                    statistic="Maximum",
                    label="messages waiting",
                )
            ],
            left_y_axis=cloudwatch.YAxisProps(min=0, label="messages", show_units=False),
            width=WIDTH,
            height=HEIGHT,
        )
