"""poll_status: ask for the job's status; once it is complete, store its pages in raw/.

The state machine calls it as PollStatus (until the job ends) and as FetchPages (until the last
page is stored): each invocation stores pages while its time allows, then returns the cursor.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers._runtime import aws_client, logger, track_run, utc_now
from handlers.genesys import genesys_client_for
from usage_pipeline import constants as c
from usage_pipeline.config import polling_config, storage_config
from usage_pipeline.polling import poll_job, store_pages
from usage_pipeline.state import RunState, Wait, to_json

# An invocation stops asking for pages when less than this share of its time is left: one more
# page (a request and a PUT) must fit into what remains, with room to spare.
STOP_FETCHING_AT_SHARE_LEFT: Final = 0.4


@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    state = RunState.from_json(event)
    track_run(state.run_id)
    seconds_at_start = context.get_remaining_time_in_millis() / 1000.0
    polling = polling_config()
    client = genesys_client_for(context)
    first_page = None
    if state.job.state != c.JOB_COMPLETE:
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
        first_page = poll.first_page
    if state.job.state == c.JOB_COMPLETE:
        raw, wait = store_pages(
            client,
            state.job,
            s3_client=aws_client("s3"),
            bucket=storage_config().source_bucket,
            run_id=state.run_id,
            page_size=polling.page_size,
            first_page=first_page,
            resume=state.raw,
            seconds_left=lambda: context.get_remaining_time_in_millis() / 1000.0,
            stop_below_seconds=STOP_FETCHING_AT_SHARE_LEFT * seconds_at_start,
        )
        state = dataclasses.replace(state, raw=raw, wait=Wait(wait))
    return state.to_json()
