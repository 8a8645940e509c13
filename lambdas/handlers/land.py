"""land: swap the staged partitions in, write the run manifest, start the crawler."""

from __future__ import annotations

import dataclasses
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers._runtime import aws_client, logger, metrics, track_run, utc_now
from usage_pipeline import constants as c
from usage_pipeline.config import storage_config
from usage_pipeline.land import land_run
from usage_pipeline.state import RunState


@metrics.log_metrics
@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = RunState.from_json(event)
    track_run(state.run_id)
    # EMF metadata: the metrics line carries the run id like every log line.
    metrics.add_metadata(key="run_id", value=state.run_id)
    storage = storage_config()
    landed = land_run(
        s3_client=aws_client("s3"),
        glue_client=aws_client("glue"),
        bucket=storage.source_bucket,
        state=state,
        crawler_name=storage.required_crawler_name(),
        now=utc_now(),
    )
    metrics.add_metric(name=c.METRIC_ROWS_LANDED, unit=MetricUnit.Count, value=landed.rows)
    if landed.requests:
        # The 429 share is what ops alarm on: a client drifting into rate limiting.
        share = 100.0 * (landed.status429 or 0) / landed.requests
        metrics.add_metric(name=c.METRIC_RATE_LIMITED_PERCENT, unit=MetricUnit.Percent, value=share)
    logger.info("run landed", extra={"landed": dataclasses.asdict(landed)})
    return dataclasses.replace(state, landed=landed).to_json()
