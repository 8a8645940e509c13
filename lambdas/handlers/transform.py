"""Transform: raw API pages -> validated, self-describing rows, one Parquet file per partition."""

from __future__ import annotations

import dataclasses
import tempfile
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers._runtime import logger, source_bucket, track_run
from usage_pipeline import utc
from usage_pipeline.config import TransformSettings
from usage_pipeline.staging import stage_run
from usage_pipeline.state import RunState


@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = TransformSettings.current()
    state = RunState.from_json(event)
    track_run(state.run_id)
    if state.raw is None:
        raise ValueError("the state document has no raw member: poll_status did not store pages")
    # /tmp is the only writable place in Lambda; the raw pages, DuckDB's staged rows and spill
    # files and the partition files live there, not in memory.
    with tempfile.TemporaryDirectory(prefix="transform-") as tmp_dir:
        staged = stage_run(
            store=source_bucket(settings.source_bucket),
            run_id=state.run_id,
            query=state.query,
            raw=state.raw,
            landed_at=utc.timestamp(utc.now()),
            tmp_dir=tmp_dir,
        )
    logger.info("rows staged", extra={"partitions": staged.partitions, "rows": staged.rows})
    return dataclasses.replace(state, staged=staged).to_json()
