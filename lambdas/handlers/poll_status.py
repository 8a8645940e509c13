"""poll_status: ask for the job's status once; when it is complete, keep every page in raw/."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers._runtime import aws_client, logger, utc_now
from handlers.genesys import genesys_client_for
from usage_pipeline import constants as c
from usage_pipeline.config import polling_config, storage_config
from usage_pipeline.polling import poll_job, store_pages


@logger.inject_lambda_context(log_event=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(run_id=event["runId"])
    polling = polling_config()
    client = genesys_client_for(context)
    job, wait_seconds = poll_job(
        client,
        event["job"],
        now=utc_now(),
        initial_wait=polling.initial_wait_seconds,
        max_wait=polling.max_wait_seconds,
        job_timeout_seconds=polling.job_timeout_seconds,
    )
    state = {**event, "job": job, "wait": {"seconds": wait_seconds}}
    logger.info("job polled", extra={"job": job, "wait_seconds": wait_seconds})
    if job["state"] == c.JOB_COMPLETE:
        state["raw"] = store_pages(
            client,
            job,
            s3_client=aws_client("s3"),
            bucket=storage_config().source_bucket,
            run_id=event["runId"],
            page_size=polling.page_size,
        )
        logger.info("pages stored", extra={"raw": state["raw"]})
    return state
