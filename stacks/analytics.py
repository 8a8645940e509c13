"""Athena: a workgroup whose settings users cannot override, and the report's saved queries."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks import constants as c
from stacks.saved_queries import saved_queries


class Analytics(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        results_bucket: s3.IBucket,
        key: kms.IKey,
        database_name: str,
        table_name: str,
        bytes_scanned_cutoff_mb: int,
    ) -> None:
        super().__init__(scope, construct_id)
        self.workgroup = self._build_workgroup(results_bucket, key, bytes_scanned_cutoff_mb)
        self.workgroup_name = self.workgroup.ref
        self.named_queries = self._build_named_queries(database_name, table_name)

    def _build_workgroup(
        self, results_bucket: s3.IBucket, key: kms.IKey, cutoff_mb: int
    ) -> athena.CfnWorkGroup:
        return athena.CfnWorkGroup(
            self,
            "WorkGroup",
            # Athena requires a name; derived from the stack so two stacks never collide.
            name=f"{Stack.of(self).stack_name}-analysts",
            description="Genesys API usage analysis: encrypted results, bytes-scanned cutoff",
            state="ENABLED",
            # The saved queries belong to the stack; let a stack delete remove them with it.
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                # Clients cannot pick another results location, drop encryption or the cutoff.
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                bytes_scanned_cutoff_per_query=cutoff_mb * c.BYTES_PER_MB,
                engine_version=athena.CfnWorkGroup.EngineVersionProperty(
                    selected_engine_version=c.ATHENA_ENGINE_VERSION
                ),
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{results_bucket.bucket_name}/{c.ATHENA_RESULTS_PREFIX}",
                    encryption_configuration=athena.CfnWorkGroup.EncryptionConfigurationProperty(
                        encryption_option="SSE_KMS", kms_key=key.key_arn
                    ),
                    expected_bucket_owner=Stack.of(self).account,
                ),
            ),
        )

    def _build_named_queries(
        self, database_name: str, table_name: str
    ) -> dict[str, athena.CfnNamedQuery]:
        queries: dict[str, athena.CfnNamedQuery] = {}
        for query in saved_queries(database_name, table_name):
            named = athena.CfnNamedQuery(
                self,
                f"Query-{query.name}",
                name=query.name,
                description=query.description,
                database=database_name,
                query_string=query.sql,
                work_group=self.workgroup.ref,
            )
            queries[query.name] = named
        return queries
