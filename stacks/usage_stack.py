"""The one stack: small constructs, each built by a ``_build_*`` method, wired together here."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from stacks import constants as c
from stacks.alarms import Alarms
from stacks.analytics import Analytics
from stacks.catalog import Catalog
from stacks.config import StackConfig
from stacks.dashboard import Dashboard
from stacks.encryption import Encryption
from stacks.schedule import DailySchedule
from stacks.secret import GenesysSecret
from stacks.storage import Storage
from stacks.workflow import Workflow


class GenesysApiUsageStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: StackConfig, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, description=c.STACK_DESCRIPTION, **kwargs)
        self.config = config
        self.encryption = self._build_encryption()
        self.storage = self._build_storage()
        self.secret = self._build_secret()
        self.catalog = self._build_catalog()
        self.analytics = self._build_analytics()
        self.workflow = self._build_workflow()
        self.schedule = self._build_schedule()
        self.alarms = self._build_alarms()
        self.dashboard = self._build_dashboard()
        self._build_outputs()

    def _build_encryption(self) -> Encryption:
        return Encryption(self, c.ENCRYPTION_ID, retain=self.config.retain_data)

    def _build_storage(self) -> Storage:
        return Storage(
            self,
            c.STORAGE_ID,
            key=self.encryption.key,
            raw_retention_days=self.config.raw_retention_days,
            athena_results_retention_days=self.config.athena_results_retention_days,
            retain_data=self.config.retain_data,
        )

    def _build_secret(self) -> GenesysSecret:
        return GenesysSecret(
            self,
            c.SECRET_ID,
            key=self.encryption.key,
            existing_name=self.config.genesys_secret_name,
        )

    def _build_catalog(self) -> Catalog:
        return Catalog(
            self,
            c.CATALOG_ID,
            source_bucket=self.storage.source_bucket,
            key=self.encryption.key,
            projection_start_date=self.config.projection_start_date,
        )

    def _build_analytics(self) -> Analytics:
        analytics = Analytics(
            self,
            c.ANALYTICS_ID,
            results_bucket=self.storage.results_bucket,
            key=self.encryption.key,
            database_name=self.catalog.database_name,
            table_name=self.catalog.table_name,
            bytes_scanned_cutoff_mb=self.config.bytes_scanned_cutoff_mb,
        )
        # Saved queries name the database by value, not by reference.
        for query in analytics.named_queries.values():
            query.add_resource_dependency(self.catalog.table)
        return analytics

    def _build_workflow(self) -> Workflow:
        return Workflow(
            self,
            c.WORKFLOW_ID,
            config=self.config,
            key=self.encryption.key,
            source_bucket=self.storage.source_bucket,
            secret_arn=self.secret.policy_arn,
            secret_id=self.secret.secret_id,
            secret_encrypted_with_key=self.secret.created,
            crawler_name=self.catalog.crawler_name,
            crawler_arn=self.catalog.crawler_arn,
        )

    def _build_schedule(self) -> DailySchedule:
        return DailySchedule(
            self,
            c.SCHEDULE_ID,
            state_machine=self.workflow.state_machine,
            key=self.encryption.key,
            expression=self.config.schedule_expression,
            enabled=self.config.schedule_enabled,
            lookback_days=self.config.lookback_days,
        )

    def _build_alarms(self) -> Alarms:
        return Alarms(
            self,
            c.ALARMS_ID,
            key=self.encryption.key,
            state_machine=self.workflow.state_machine,
            dead_letter_queue=self.schedule.dead_letter_queue,
            alarm_email=self.config.alarm_email,
            rate_limited_percent_threshold=self.config.rate_limited_percent_alarm_threshold,
            expect_daily_rows=self.config.schedule_enabled,
        )

    def _build_dashboard(self) -> Dashboard:
        return Dashboard(
            self,
            c.DASHBOARD_ID,
            state_machine=self.workflow.state_machine,
            functions=self.workflow.functions,
            dead_letter_queue=self.schedule.dead_letter_queue,
            alarms=list(self.alarms.alarms.values()),
            rate_limited_percent_threshold=self.config.rate_limited_percent_alarm_threshold,
        )

    def _build_outputs(self) -> None:
        outputs = {
            "SourceBucketName": self.storage.source_bucket.bucket_name,
            "AthenaResultsBucketName": self.storage.results_bucket.bucket_name,
            "StateMachineArn": self.workflow.state_machine.state_machine_arn,
            "GlueDatabaseName": self.catalog.database_name,
            "GlueTableName": self.catalog.table_name,
            "GlueCrawlerName": self.catalog.crawler_name,
            "AthenaWorkGroupName": self.analytics.workgroup_name,
            "AlarmTopicArn": self.alarms.topic.topic_arn,
            "DashboardName": self.dashboard.dashboard_name,
            "DashboardUrl": self.dashboard.url,
        }
        if self.secret.created:
            # What `aws secretsmanager put-secret-value --secret-id` takes. Its name is generated
            # by CloudFormation, which has no attribute for it; the ARN ends in it.
            outputs["GenesysSecretArn"] = self.secret.secret.secret_arn
        else:
            outputs["GenesysSecretName"] = self.secret.secret_id
        for name, value in outputs.items():
            CfnOutput(self, name, value=value)
