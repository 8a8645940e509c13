"""What every handler shares: the structured logger, metrics, AWS clients and the clock.

Clients are created once per container (module scope) because creating a boto3 client costs tens
of milliseconds; the clock is a function so tests can pin it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Metrics

from usage_pipeline import constants as c
from usage_pipeline.observability import logger

metrics = Metrics(namespace=c.METRICS_NAMESPACE, service=c.SERVICE_NAME)


def track_run(run_id: str) -> None:
    """Every log line of this invocation carries the run id, also as the correlation id."""
    logger.set_correlation_id(run_id)
    logger.append_keys(run_id=run_id)


def utc_now() -> datetime:
    return datetime.now(UTC)


def utc_today() -> date:
    return utc_now().date()


def iso_seconds(moment: datetime) -> str:
    """UTC, second precision, with Z: the form every timestamp in state and rows uses."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@cache
def aws_client(service: str) -> Any:
    return boto3.client(service)


def reset_container_caches() -> None:
    """Forget cached clients, as a new container would (the local runner and tests call this)."""
    aws_client.cache_clear()
