"""The daily run: EventBridge Scheduler starts the state machine with ``{"lastDays": N}``.

Each day re-lands the N-1 days before yesterday as well: Genesys does not say when a day's numbers
are final, so a day fetched too early is corrected by the next runs (contracts section 2).
"""

from __future__ import annotations

from aws_cdk import Aws, Duration, TimeZone
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from stacks import compliance
from stacks import constants as c
from stacks.encryption import via_service


class DailySchedule(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        state_machine: sfn.IStateMachine,
        key: kms.IKey,
        expression: str,
        enabled: bool,
        lookback_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = self._build_dead_letter_queue(key)
        self.role = self._build_role(key)
        self.execution_input = {"lastDays": lookback_days}
        self.schedule = self._build_schedule(state_machine, key, expression, enabled)

    def _build_dead_letter_queue(self, key: kms.IKey) -> sqs.Queue:
        queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            enforce_ssl=True,
            retention_period=Duration.days(c.DLQ_RETENTION_DAYS),
        )
        compliance.apply(queue, compliance.SCHEDULE_DEAD_LETTER_QUEUE)
        return queue

    def _build_role(self, key: kms.IKey) -> iam.Role:
        """The scheduler's role; CDK adds StartExecution, SendMessage and the schedule's key."""
        role = iam.Role(
            self,
            "Role",
            description="EventBridge Scheduler: start the pipeline, dead-letter what it cannot",
            assumed_by=iam.ServicePrincipal(
                "scheduler.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            ),
        )
        # The dead-letter queue is SSE-KMS: sending to it needs a data key.
        role.add_to_policy(
            iam.PolicyStatement(
                sid="SendToEncryptedDeadLetterQueue",
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=[key.key_arn],
                conditions=via_service("sqs"),
            )
        )
        return role

    def _build_schedule(
        self, state_machine: sfn.IStateMachine, key: kms.IKey, expression: str, enabled: bool
    ) -> scheduler.Schedule:
        return scheduler.Schedule(
            self,
            "Daily",
            description="Runs the pipeline for the last complete UTC days (lastDays)",
            schedule=scheduler.ScheduleExpression.expression(expression, TimeZone.ETC_UTC),
            enabled=enabled,
            key=key,
            target=targets.StepFunctionsStartExecution(
                state_machine,
                input=scheduler.ScheduleTargetInput.from_object(self.execution_input),
                dead_letter_queue=self.dead_letter_queue,
                retry_attempts=c.SCHEDULE_RETRY_ATTEMPTS,
                max_event_age=Duration.hours(c.SCHEDULE_MAX_EVENT_AGE_HOURS),
                role=self.role,
            ),
        )
