"""submit_query: validate the execution input, submit the Genesys usage query, start the state."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers._runtime import logger, utc_now
from handlers.genesys import genesys_client_for
from usage_pipeline.config import polling_config
from usage_pipeline.polling import submit_job
from usage_pipeline.query import normalize_query
from usage_pipeline.run_id import execution_start_utc, run_id_for


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    execution = event.get("execution") or {}
    run_id = run_id_for(str(execution.get("id", "")), str(execution.get("startTime", "")))
    logger.append_keys(run_id=run_id)
    now = utc_now()
    # "Today" is the execution's start day, not the clock's: a retry after midnight UTC must
    # normalize the input exactly as the first attempt did. The input is validated before
    # anything talks to Genesys, so a refused input costs nothing.
    started = execution_start_utc(str(execution.get("startTime", "")))
    query = normalize_query(event.get("input"), today=started.date())
    logger.info("query normalized", extra={"query": query})
    job = submit_job(genesys_client_for(context), query, now=now)
    logger.info("job submitted", extra={"job": job})
    return {
        "runId": run_id,
        "execution": execution,
        "query": query,
        "job": job,
        "wait": {"seconds": polling_config().initial_wait_seconds},
    }
