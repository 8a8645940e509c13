"""S3: the source bucket (raw pages, staging, table data, manifests), Athena results, access logs.

No bucket has a fixed name (the blueprint's `gc-usage-api-source` collides across stacks and
accounts): CloudFormation names them and the stack outputs tell.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from stacks import compliance
from stacks import constants as c
from usage_pipeline import constants as rc


class Storage(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        key: kms.IKey,
        raw_retention_days: int,
        athena_results_retention_days: int,
        retain_data: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        data_removal = RemovalPolicy.RETAIN if retain_data else RemovalPolicy.DESTROY
        self.access_logs_bucket = self._build_access_logs_bucket(data_removal)
        self.source_bucket = self._build_source_bucket(key, raw_retention_days, data_removal)
        self.results_bucket = self._build_results_bucket(
            key, athena_results_retention_days, data_removal
        )

    def _build_access_logs_bucket(self, removal: RemovalPolicy) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "AccessLogsBucket",
            # S3 server access logging delivers only to buckets encrypted with SSE-S3.
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireAccessLogs",
                    expiration=Duration.days(c.ACCESS_LOGS_RETENTION_DAYS),
                    noncurrent_version_expiration=Duration.days(1),
                    abort_incomplete_multipart_upload_after=Duration.days(
                        c.ABORT_INCOMPLETE_UPLOAD_DAYS
                    ),
                )
            ],
            removal_policy=removal,
        )
        compliance.apply(bucket, compliance.ACCESS_LOGS_BUCKET)
        return bucket

    def _build_source_bucket(
        self, key: kms.IKey, raw_retention_days: int, removal: RemovalPolicy
    ) -> s3.Bucket:
        expire_scratch = [
            s3.LifecycleRule(
                id=f"Expire{prefix.strip('/').capitalize()}",
                prefix=prefix,
                expiration=Duration.days(raw_retention_days),
            )
            for prefix in (rc.RAW_PREFIX, rc.STAGING_PREFIX)
        ]
        bucket = s3.Bucket(
            self,
            "SourceBucket",
            **_protected_data_bucket(key),
            # A land replaces partition objects; versions let ops undo a bad run.
            versioned=True,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix=c.SOURCE_ACCESS_LOGS_PREFIX,
            lifecycle_rules=[
                *expire_scratch,
                s3.LifecycleRule(
                    id="ExpireNoncurrentVersions",
                    noncurrent_version_expiration=Duration.days(c.SOURCE_NONCURRENT_VERSION_DAYS),
                    abort_incomplete_multipart_upload_after=Duration.days(
                        c.ABORT_INCOMPLETE_UPLOAD_DAYS
                    ),
                    expired_object_delete_marker=True,
                ),
            ],
            removal_policy=removal,
        )
        return bucket

    def _build_results_bucket(
        self, key: kms.IKey, retention_days: int, removal: RemovalPolicy
    ) -> s3.Bucket:
        bucket = s3.Bucket(
            self,
            "AthenaResultsBucket",
            **_protected_data_bucket(key),
            versioned=True,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix=c.RESULTS_ACCESS_LOGS_PREFIX,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireQueryResults",
                    expiration=Duration.days(retention_days),
                    noncurrent_version_expiration=Duration.days(1),
                    abort_incomplete_multipart_upload_after=Duration.days(
                        c.ABORT_INCOMPLETE_UPLOAD_DAYS
                    ),
                )
            ],
            removal_policy=removal,
        )
        return bucket


def _protected_data_bucket(key: kms.IKey) -> dict[str, Any]:
    """What every data bucket has: KMS with a bucket key, no public access, TLS only."""
    return {
        "encryption": s3.BucketEncryption.KMS,
        "encryption_key": key,
        # One data key per bucket instead of a KMS call per object.
        "bucket_key_enabled": True,
        "block_public_access": s3.BlockPublicAccess.BLOCK_ALL,
        "object_ownership": s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        "enforce_ssl": True,
    }
