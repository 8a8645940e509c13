"""poll_status: ask for the job's status once; when it is complete, keep every page in raw/."""

from __future__ import annotations

import dataclasses
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers._runtime import aws_client, logger, track_run, utc_now
from handlers.genesys import genesys_client_for
from usage_pipeline import constants as c
from usage_pipeline.config import polling_config, storage_config
from usage_pipeline.polling import poll_job, store_pages
from usage_pipeline.state import RunState, Wait, to_json


@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = RunState.from_json(event)
    track_run(state.run_id)
    polling = polling_config()
    client = genesys_client_for(context)
    poll = poll_job(
        client,
        state.job,
        now=utc_now(),
        initial_wait=polling.initial_wait_seconds,
        max_wait=polling.max_wait_seconds,
        job_timeout_seconds=polling.job_timeout_seconds,
        page_size=polling.page_size,
    )
    state = dataclasses.replace(state, job=poll.job, wait=Wait(poll.wait_seconds))
    logger.info("job polled", extra={"job": to_json(poll.job), "wait": poll.wait_seconds})
    if poll.job.state == c.JOB_COMPLETE:
        raw = store_pages(
            client,
            poll.job,
            s3_client=aws_client("s3"),
            bucket=storage_config().source_bucket,
            run_id=state.run_id,
            page_size=polling.page_size,
            first_page=poll.first_page,
        )
        state = dataclasses.replace(state, raw=raw)
    return state.to_json()
