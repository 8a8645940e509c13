"""SubmitQuery: validate the execution input, submit the Genesys usage query, start the state."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers._runtime import logger, track_run
from handlers.genesys import genesys_client_for
from usage_pipeline import utc
from usage_pipeline.config import SubmitQuerySettings
from usage_pipeline.job import submit_job
from usage_pipeline.query import parse_query
from usage_pipeline.run_id import execution_start_utc, run_id_for
from usage_pipeline.state import Execution, RunState, Wait


@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    settings = SubmitQuerySettings.current()
    execution = _execution(event)
    run_id = run_id_for(execution.id, execution.start_time)
    track_run(run_id)
    # "Today" is the execution's start day, not the clock's: a retry after midnight UTC must
    # normalize the input exactly as the first attempt did. The input is validated before
    # anything talks to Genesys, so a refused input costs nothing.
    query = parse_query(event.get("input"), today=execution_start_utc(execution.start_time).date())
    logger.info("query normalized", extra={"query": query.to_dict()})
    job = submit_job(genesys_client_for(context, settings.genesys), query, now=utc.now())
    logger.info("job submitted", extra={"job_id": job.id, "api": job.api})
    state = RunState(
        run_id=run_id,
        execution=execution,
        query=query,
        job=job,
        wait=Wait(settings.polling.initial_wait_seconds),
    )
    return state.to_json()


def _execution(event: dict[str, Any]) -> Execution:
    """``$$.Execution`` as the state machine passes it (its id and start time are checked by
    ``run_id_for``)."""
    execution = event.get("execution") or {}
    return Execution(
        id=str(execution.get("id", "")),
        name=str(execution.get("name", "")),
        start_time=str(execution.get("startTime", "")),
    )
