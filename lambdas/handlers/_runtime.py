"""What every handler shares: the structured logger, metrics and the AWS clients.

Clients are kept per warm container (``usage_pipeline.warm_container``) because creating a boto3
client costs tens of milliseconds.
"""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Metrics

from usage_pipeline import constants as c
from usage_pipeline.observability import logger
from usage_pipeline.storage import BucketStore
from usage_pipeline.warm_container import kept

__all__ = ["aws_client", "logger", "metrics", "source_bucket", "track_run"]

metrics = Metrics(namespace=c.METRICS_NAMESPACE, service=c.SERVICE_NAME)


def track_run(run_id: str) -> None:
    """Every log line of this invocation carries the run id, also as the correlation id."""
    logger.set_correlation_id(run_id)
    logger.append_keys(run_id=run_id)


@kept
def aws_client(service: str) -> Any:
    return boto3.client(service)


def source_bucket(name: str) -> BucketStore:
    """The source bucket, through this container's S3 client."""
    return BucketStore(aws_client("s3"), name)
