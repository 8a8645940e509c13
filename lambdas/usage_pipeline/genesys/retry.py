"""The client's retry policy, declared with tenacity.

One logical call (a submit, a status, a page, a token) may be attempted again when the failure is
transient: 429 waits what ``Retry-After`` says; 5xx, 408, dropped connections, timeouts and bodies
that end early back off exponentially with full jitter (AWS Architecture Blog). Attempts AND time
are bounded, and the time budget never reaches past the invocation's own deadline, so a call gives
up while its Lambda still has time to report why.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn, TypeVar

import tenacity
import tenacity.stop

from usage_pipeline.errors import PipelineError
from usage_pipeline.observability import logger

T = TypeVar("T")


class RetryableError(Exception):
    """A failure worth another attempt; ``error`` is the named error to raise once none is left."""

    def __init__(
        self, error: type[PipelineError], detail: str, retry_after: float | None = None
    ) -> None:
        super().__init__(detail)
        self.error = error
        self.detail = detail
        self.retry_after = retry_after  # seconds the server asked for (429), else None


@dataclass(frozen=True)
class RetryPolicy:
    """How hard one call tries. Full jitter: attempt n sleeps U(0, min(cap, base * 2**(n-1)))."""

    max_attempts: int = 5
    max_seconds: float = 60.0
    # A Retry-After longer than this is slept only this long inside a Lambda; the state machine's
    # own retry (without jitter) covers the rest.
    max_retry_after_seconds: float = 30.0
    backoff_base_seconds: float = 0.5
    backoff_cap_seconds: float = 10.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")


def call_with_retries(
    attempt: Callable[[], T],
    *,
    what: str,
    policy: RetryPolicy,
    budget_seconds: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    rng: random.Random,
) -> T:
    """Run ``attempt`` until it returns, retrying ``RetryableError`` within the budget.

    Raises the failure's named error when attempts or time run out. Out of attempts on a 429, the
    last Retry-After is still waited out when the budget allows it, so whatever retries next (the
    state machine) cannot come back before Genesys said it may.
    """
    started = clock()

    def elapsed() -> float:
        return clock() - started

    def wait(state: tenacity.RetryCallState) -> float:
        failure = _failure(state)
        if failure.retry_after is not None:
            return min(failure.retry_after, policy.max_retry_after_seconds)
        ceiling = policy.backoff_base_seconds * 2 ** min(state.attempt_number - 1, 30)
        return rng.uniform(0.0, min(policy.backoff_cap_seconds, ceiling))

    def out_of_time(state: tenacity.RetryCallState) -> bool:
        return elapsed() + state.upcoming_sleep > budget_seconds

    class StopOutOfTime(tenacity.stop.stop_base):
        def __call__(self, state: tenacity.RetryCallState) -> bool:
            return out_of_time(state)

    def log_retry(state: tenacity.RetryCallState) -> None:
        logger.warning(
            "Genesys call failed; retrying",
            extra={
                "call": what,
                "failure": _failure(state).detail,
                "retry_in_seconds": round(state.upcoming_sleep, 2),
                "attempt": state.attempt_number,
                "max_attempts": policy.max_attempts,
            },
        )

    def give_up(state: tenacity.RetryCallState) -> NoReturn:
        failure = _failure(state)
        if failure.retry_after is not None and not out_of_time(state):
            sleep(state.upcoming_sleep)
        raise failure.error(
            f"{what}: {failure.detail}; gave up after {state.attempt_number} attempt(s) "
            f"in {elapsed():.1f}s"
        )

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception_type(RetryableError),
        wait=wait,
        stop=tenacity.stop_after_attempt(policy.max_attempts) | StopOutOfTime(),
        sleep=sleep,
        before_sleep=log_retry,
        retry_error_callback=give_up,
    )
    result: T = retrying(attempt)
    return result


def _failure(state: tenacity.RetryCallState) -> RetryableError:
    outcome: Any = state.outcome
    failure = outcome.exception() if outcome is not None else None
    assert isinstance(failure, RetryableError)  # retry_if_exception_type admits nothing else
    return failure
