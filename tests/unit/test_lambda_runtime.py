"""The local runtime keeps Lambda's time rules: a countdown, and a stop when time is up."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from local.lambda_runtime import LambdaTimeoutError, _context_for, run_with_timeout
from local.template_resources import LambdaSpec

SPEC = LambdaSpec(
    logical_id="Fn", name="fn", handler="handlers.x.handler", runtime="python3.14", timeout=300,
    environment={},
)  # fmt: skip


def test_remaining_time_counts_down_from_the_timeout() -> None:
    context = _context_for(SPEC, timeout_seconds=2.0)
    first = context.get_remaining_time_in_millis()
    time.sleep(0.2)
    second = context.get_remaining_time_in_millis()
    assert 1500 < first <= 2000
    assert 0 < second <= first - 150


def test_an_invocation_that_runs_past_its_timeout_fails_and_is_stopped() -> None:
    # GIVEN a handler that would run for ever, checking nothing
    progress: list[int] = []
    finished = threading.Event()

    def handler(event: Any, context: Any) -> None:
        try:
            while True:
                progress.append(1)
                time.sleep(0.01)
        finally:
            finished.set()

    # WHEN it is invoked with a 0.3 s timeout
    with pytest.raises(LambdaTimeoutError, match=r"Task timed out after 0\.30 seconds"):
        run_with_timeout(handler, {}, None, 0.3)

    # THEN it was stopped, as Lambda stops the sandbox, and does no more work
    assert finished.wait(5)
    done = len(progress)
    time.sleep(0.1)
    assert len(progress) == done


def test_a_handler_cannot_swallow_the_stop() -> None:
    left_the_loop = threading.Event()

    def handler(event: Any, context: Any) -> None:
        try:
            while True:
                try:
                    time.sleep(0.01)
                except Exception:  # what a careless handler does; the stop is not an Exception
                    continue
        finally:
            left_the_loop.set()

    with pytest.raises(LambdaTimeoutError):
        run_with_timeout(handler, {}, None, 0.1)
    assert left_the_loop.wait(5)


def test_results_and_errors_pass_through_within_the_timeout() -> None:
    assert run_with_timeout(lambda event, context: {"ok": event}, 1, None, 5.0) == {"ok": 1}

    def failing(event: Any, context: Any) -> None:
        raise ValueError("bad")

    with pytest.raises(ValueError, match="bad"):
        run_with_timeout(failing, {}, None, 5.0)
