"""What the state machine retries, how often and how fast (docs/contracts.md section 4).

Every task retries Lambda's own service errors. A task whose function calls Genesys also retries
the two transient Genesys errors; input, credential and data errors fail at once. Intervals stay
short: the same definition runs locally under moto's ASL interpreter, which really sleeps.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_stepfunctions as sfn

from usage_pipeline import errors

BACKOFF_RATE = 2.0


@dataclass(frozen=True)
class Retrier:
    errors: tuple[str, ...]
    interval_s: int
    max_attempts: int
    max_delay_s: int
    jitter: sfn.JitterType


LAMBDA_SERVICE_ERRORS = Retrier(
    errors=(
        "Lambda.ServiceException",
        "Lambda.AWSLambdaException",
        "Lambda.SdkClientException",
        "Lambda.TooManyRequestsException",
        "Lambda.ClientExecutionTimeoutException",
    ),
    interval_s=2,
    max_attempts=4,
    max_delay_s=30,
    jitter=sfn.JitterType.FULL,
)
# 5xx and connection errors that outlasted the client's own retries.
GENESYS_UNAVAILABLE = Retrier(
    errors=(errors.GenesysUnavailable.__name__,),
    interval_s=2,
    max_attempts=3,
    max_delay_s=30,
    jitter=sfn.JitterType.FULL,
)
# 429s that outlasted the client's budget: retried later WITHOUT jitter, so a retry never comes
# back sooner than the interval (the client already waited out the last Retry-After).
GENESYS_RATE_LIMITED = Retrier(
    errors=(errors.GenesysRateLimited.__name__,),
    interval_s=5,
    max_attempts=3,
    max_delay_s=60,
    jitter=sfn.JitterType.NONE,
)


# An invocation stopped by its timeout (Lambda reports Sandbox.Timedout on current runtimes,
# Lambda.Unknown on older ones; the task's own TimeoutSeconds raises States.Timeout). Retried only
# where the function resumes from its last checkpoint, so a retry repeats no work.
INTERRUPTED_INVOCATION = Retrier(
    errors=("Sandbox.Timedout", "Lambda.Unknown", "States.Timeout"),
    interval_s=1,
    max_attempts=3,
    max_delay_s=10,
    jitter=sfn.JitterType.FULL,
)


def retriers(*, calls_genesys: bool, resumable: bool = False) -> tuple[Retrier, ...]:
    """A task's retriers, in the order Step Functions tries them."""
    chosen = [LAMBDA_SERVICE_ERRORS]
    if calls_genesys:
        chosen += [GENESYS_UNAVAILABLE, GENESYS_RATE_LIMITED]
    if resumable:
        chosen.append(INTERRUPTED_INVOCATION)
    return tuple(chosen)


def add_retries(task: sfn.TaskStateBase, *, calls_genesys: bool, resumable: bool = False) -> None:
    for retrier in retriers(calls_genesys=calls_genesys, resumable=resumable):
        task.add_retry(
            errors=list(retrier.errors),
            interval=Duration.seconds(retrier.interval_s),
            max_attempts=retrier.max_attempts,
            backoff_rate=BACKOFF_RATE,
            max_delay=Duration.seconds(retrier.max_delay_s),
            jitter_strategy=retrier.jitter,
        )
