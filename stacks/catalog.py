"""Glue: the database, the usage table (explicit schema + partition projection) and its crawler.

The table is defined here, not discovered: its columns are the row schema of docs/contracts.md
section 5 and partition projection makes a landed partition queryable the moment a run succeeds.
The crawler is kept (the land step starts it) only to register partitions for tools that do not
read projections; its configuration and its IAM role keep it from creating a second table or
changing this one's schema.
"""

from __future__ import annotations

import re

from aws_cdk import Aws, Stack
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks import compliance
from stacks import constants as c
from stacks.encryption import via_service
from usage_pipeline import constants as rc


def database_name_for(stack_name: str) -> str:
    """``genesys_api_usage[_<stack>]``: unique per stack, lower case as Glue and Athena want it."""
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", stack_name)
    snake = re.sub(r"[^a-z0-9]+", "_", snake.lower()).strip("_")
    if snake == c.DATABASE_NAME_PREFIX or snake.startswith(f"{c.DATABASE_NAME_PREFIX}_"):
        return snake
    return f"{c.DATABASE_NAME_PREFIX}_{snake}"


def table_columns() -> list[glue.CfnTable.ColumnProperty]:
    """The row schema's data columns (contracts section 5), with their types."""
    return [
        glue.CfnTable.ColumnProperty(name=name, type=rc.COLUMN_TYPES[name])
        for name in rc.ROW_COLUMNS
    ]


class Catalog(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source_bucket: s3.IBucket,
        key: kms.IKey,
        projection_start_date: str,
    ) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.database_name = database_name_for(stack.stack_name)
        self.table_name = c.TABLE_NAME
        self.data_location = f"s3://{source_bucket.bucket_name}/{rc.USAGE_PREFIX}"
        self.database = self._build_database()
        self.table = self._build_table(projection_start_date)
        self.table.add_resource_dependency(self.database)
        self.security_configuration = self._build_security_configuration(key)
        self.crawler_role = self._build_crawler_role(source_bucket, key)
        self.crawler = self._build_crawler()
        self.crawler_name = self.crawler.ref
        self.crawler_arn = stack.format_arn(
            service="glue", resource="crawler", resource_name=self.crawler.ref
        )

    def _build_database(self) -> glue.CfnDatabase:
        return glue.CfnDatabase(
            self,
            "Database",
            catalog_id=Aws.ACCOUNT_ID,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=self.database_name,
                description="Genesys Cloud API usage landed by the pipeline",
            ),
        )

    def _build_table(self, projection_start_date: str) -> glue.CfnTable:
        template = (
            f"{self.data_location}"
            "api=${api}/granularity=${granularity}/grouping=${grouping}/date=${date}/"
        )
        parameters = {
            "classification": c.TABLE_CLASSIFICATION,
            "parquet.compression": c.PARQUET_COMPRESSION,
            "EXTERNAL": "TRUE",
            "projection.enabled": "true",
            "projection.api.type": "enum",
            "projection.api.values": ",".join(rc.APIS),
            "projection.granularity.type": "enum",
            "projection.granularity.values": ",".join(c.PROJECTION_GRANULARITIES),
            "projection.grouping.type": "enum",
            "projection.grouping.values": ",".join(rc.all_grouping_tokens()),
            "projection.date.type": "date",
            "projection.date.format": c.PROJECTION_DATE_FORMAT,
            "projection.date.range": f"{projection_start_date},NOW",
            "projection.date.interval": "1",
            "projection.date.interval.unit": "DAYS",
            "storage.location.template": template,
        }
        return glue.CfnTable(
            self,
            "UsageTable",
            catalog_id=Aws.ACCOUNT_ID,
            database_name=self.database_name,
            table_input=glue.CfnTable.TableInputProperty(
                name=self.table_name,
                description="One row per (period, grouping values); partitions replaced per run",
                table_type="EXTERNAL_TABLE",
                parameters=parameters,
                partition_keys=[
                    glue.CfnTable.ColumnProperty(name=name, type=rc.COLUMN_TYPES[name])
                    for name in rc.PARTITION_COLUMNS
                ],
                storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                    columns=table_columns(),
                    location=self.data_location,
                    input_format=c.INPUT_FORMAT,
                    output_format=c.OUTPUT_FORMAT,
                    compressed=False,
                    stored_as_sub_directories=False,
                    serde_info=glue.CfnTable.SerdeInfoProperty(
                        serialization_library=c.PARQUET_SERDE,
                        parameters={"serialization.format": "1"},
                    ),
                ),
            ),
        )

    def _build_security_configuration(self, key: kms.IKey) -> glue.CfnSecurityConfiguration:
        return glue.CfnSecurityConfiguration(
            self,
            "SecurityConfiguration",
            # Glue requires a name; derived from the stack so two stacks never collide.
            name=f"{Stack.of(self).stack_name}-crawler",
            encryption_configuration=glue.CfnSecurityConfiguration.EncryptionConfigurationProperty(
                cloud_watch_encryption=glue.CfnSecurityConfiguration.CloudWatchEncryptionProperty(
                    cloud_watch_encryption_mode="SSE-KMS", kms_key_arn=key.key_arn
                ),
                job_bookmarks_encryption=glue.CfnSecurityConfiguration.JobBookmarksEncryptionProperty(
                    job_bookmarks_encryption_mode="CSE-KMS", kms_key_arn=key.key_arn
                ),
                s3_encryptions=[
                    glue.CfnSecurityConfiguration.S3EncryptionProperty(
                        s3_encryption_mode="SSE-KMS", kms_key_arn=key.key_arn
                    )
                ],
            ),
        )

    def _build_crawler_role(self, bucket: s3.IBucket, key: kms.IKey) -> iam.Role:
        stack = Stack.of(self)
        glue_resources = [
            stack.format_arn(service="glue", resource="catalog"),
            stack.format_arn(service="glue", resource="database", resource_name=self.database_name),
            stack.format_arn(
                service="glue",
                resource="table",
                resource_name=f"{self.database_name}/{self.table_name}",
            ),
        ]
        crawler_logs = (
            f"arn:{Aws.PARTITION}:logs:{Aws.REGION}:{Aws.ACCOUNT_ID}:log-group:/aws-glue/crawlers"
        )
        crawler_log_resources = [f"{crawler_logs}*", f"{crawler_logs}*:log-stream:*"]
        usage_objects = bucket.arn_for_objects(f"{rc.USAGE_PREFIX}*")
        role = iam.Role(
            self,
            "CrawlerRole",
            description="Glue crawler of the usage table: reads usage/ and adds partitions only",
            assumed_by=iam.ServicePrincipal("glue.amazonaws.com"),
        )
        statements = [
            iam.PolicyStatement(
                sid="ReadTheTableAddPartitions",
                # No CreateTable/UpdateTable: the crawler can neither add a second table nor
                # change the schema and projection defined by this stack.
                actions=[
                    "glue:GetDatabase",
                    "glue:GetTable",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                    "glue:BatchGetPartition",
                    "glue:CreatePartition",
                    "glue:BatchCreatePartition",
                    "glue:UpdatePartition",
                    "glue:BatchUpdatePartition",
                ],
                resources=glue_resources,
            ),
            iam.PolicyStatement(
                sid="ListUsagePrefix",
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{rc.USAGE_PREFIX}*"]}},
            ),
            iam.PolicyStatement(
                sid="ReadUsageObjects", actions=["s3:GetObject"], resources=[usage_objects]
            ),
            iam.PolicyStatement(
                sid="DecryptUsageObjects",
                actions=["kms:Decrypt"],
                resources=[key.key_arn],
                conditions=via_service("s3"),
            ),
            iam.PolicyStatement(
                sid="WriteCrawlerLogs",
                # Glue names the log group after the role and security configuration.
                actions=[
                    "logs:CreateLogGroup",
                    "logs:CreateLogStream",
                    "logs:PutLogEvents",
                    "logs:AssociateKmsKey",
                ],
                resources=crawler_log_resources,
            ),
        ]
        for statement in statements:
            role.add_to_policy(statement)
        compliance.apply(
            role.node.find_child("DefaultPolicy"),
            compliance.crawler_role_policy(bucket, crawler_log_resources),
        )
        return role

    def _build_crawler(self) -> glue.CfnCrawler:
        crawler = glue.CfnCrawler(
            self,
            "Crawler",
            description="Registers the usage table's partitions after each land (never its schema)",
            role=self.crawler_role.role_arn,
            targets=glue.CfnCrawler.TargetsProperty(
                catalog_targets=[
                    glue.CfnCrawler.CatalogTargetProperty(
                        database_name=self.database_name, tables=[self.table_name]
                    )
                ]
            ),
            schema_change_policy=glue.CfnCrawler.SchemaChangePolicyProperty(
                update_behavior="LOG", delete_behavior="LOG"
            ),
            configuration=c.CRAWLER_CONFIGURATION,
            crawler_security_configuration=self.security_configuration.ref,
        )
        crawler.add_resource_dependency(self.table)
        crawler.add_resource_dependency(self.security_configuration)
        policy = self.crawler_role.node.find_child("DefaultPolicy").node.default_child
        if policy is not None:
            crawler.node.add_dependency(policy)
        return crawler
