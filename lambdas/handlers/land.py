"""Land: swap the staged partitions in, write the run manifest, start the crawler; its metrics."""

from __future__ import annotations

import dataclasses
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers._runtime import aws_client, logger, metrics, source_bucket, track_run
from usage_pipeline import constants as c
from usage_pipeline import utc
from usage_pipeline.config import LandSettings
from usage_pipeline.land import land_run
from usage_pipeline.measures import percent_429
from usage_pipeline.state import Landed, RunState


@metrics.log_metrics
@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = LandSettings.current()
    state = RunState.from_json(event)
    track_run(state.run_id)
    # EMF metadata: the metrics line carries the run id like every log line.
    metrics.add_metadata(key="run_id", value=state.run_id)
    landed = land_run(
        store=source_bucket(settings.source_bucket),
        glue_client=aws_client("glue"),
        state=state,
        crawler_name=settings.crawler_name,
        now=utc.now(),
    )
    add_landing_metrics(landed)
    logger.info("run landed", extra={"landed": dataclasses.asdict(landed)})
    return dataclasses.replace(state, landed=landed).to_json()


def add_landing_metrics(landed: Landed) -> None:
    """Rows landed, and the share of requests answered 429 when it is known (the alarms' input)."""
    metrics.add_metric(name=c.METRIC_ROWS_LANDED, unit=MetricUnit.Count, value=landed.rows)
    share = percent_429(landed.status429, landed.requests)
    if share is not None:
        # The 429 share is what ops alarm on: a client drifting into rate limiting.
        metrics.add_metric(name=c.METRIC_RATE_LIMITED_PERCENT, unit=MetricUnit.Percent, value=share)
