"""land: swap the staged partitions in, write the run manifest, start the crawler."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers._runtime import aws_client, logger, metrics, utc_now
from usage_pipeline import constants as c
from usage_pipeline.config import storage_config
from usage_pipeline.land import land_run


@metrics.log_metrics
@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(run_id=event["runId"])
    storage = storage_config()
    landed = land_run(
        s3_client=aws_client("s3"),
        glue_client=aws_client("glue"),
        bucket=storage.source_bucket,
        run_id=event["runId"],
        query=event["query"],
        job=event["job"],
        raw=event["raw"],
        staged=event["staged"],
        execution=event.get("execution", {}),
        crawler_name=storage.required_crawler_name(),
        now=utc_now(),
    )
    metrics.add_metric(name=c.METRIC_ROWS_LANDED, unit=MetricUnit.Count, value=landed["rows"])
    requests = landed.get("requests") or 0
    if requests:
        # The 429 share is what ops alarm on: a client drifting into rate limiting.
        share = 100.0 * (landed.get("status429") or 0) / requests
        metrics.add_metric(name=c.METRIC_RATE_LIMITED_PERCENT, unit=MetricUnit.Percent, value=share)
    logger.info("run landed", extra={"landed": landed})
    return {**event, "landed": landed}
