"""PollStatus and FetchPages: ask for the Genesys job's status; once complete, store its pages.

One function serves both states of the flow (stacks/state_machine.py). As PollStatus it asks for
the job's status until the job ends (``usage_pipeline.job``); the answer that finds it complete is
result page 1. Then, and as FetchPages, it stores result pages in ``raw/`` while its time allows
(``usage_pipeline.result_pages``) and leaves the cursor of the next one in ``raw.next``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers._runtime import logger, source_bucket, track_run
from handlers.genesys import genesys_client_for, wait_for_genesys
from usage_pipeline import constants as c
from usage_pipeline import utc
from usage_pipeline.config import PollStatusSettings
from usage_pipeline.genesys import GenesysClient, Page
from usage_pipeline.job import poll_job
from usage_pipeline.result_pages import store_result_pages
from usage_pipeline.state import RunState, to_json

# An invocation stops asking for pages when less than this share of its time is left: one more
# page (a request and a PUT) must fit into what remains, with room to spare.
STOP_FETCHING_AT_SHARE_LEFT: Final = 0.4


@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = PollStatusSettings.current()
    state = RunState.from_json(event)
    track_run(state.run_id)
    seconds_at_start = context.get_remaining_time_in_millis() / 1000.0
    client = genesys_client_for(context, settings.genesys)
    first_page = None
    if state.job.state != c.JOB_COMPLETE:
        state, first_page = poll(state, client, settings)
    if state.job.state == c.JOB_COMPLETE:
        stored = store_result_pages(
            client,
            state.job,
            store=source_bucket(settings.source_bucket),
            run_id=state.run_id,
            page_size=settings.page_size,
            first_page=first_page,
            seconds_left=lambda: context.get_remaining_time_in_millis() / 1000.0,
            stop_below_seconds=STOP_FETCHING_AT_SHARE_LEFT * seconds_at_start,
        )
        wait = wait_for_genesys(stored.retry_after_seconds, otherwise=0)
        state = dataclasses.replace(state, raw=stored.raw, wait=wait)
    return state.to_json()


def poll(
    state: RunState, client: GenesysClient, settings: PollStatusSettings
) -> tuple[RunState, Page | None]:
    """One status call: the state with the job's news and the next wait, and page 1 if complete."""
    outcome = poll_job(
        client, state.job, now=utc.now(), settings=settings.polling, page_size=settings.page_size
    )
    wait = wait_for_genesys(outcome.retry_after_seconds, otherwise=outcome.backoff_seconds)
    logger.info("job polled", extra={"job": to_json(outcome.job), "wait": wait.seconds})
    return dataclasses.replace(state, job=outcome.job, wait=wait), outcome.first_page
