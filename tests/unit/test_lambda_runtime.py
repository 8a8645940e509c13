"""The local runtime keeps Lambda's time rules: a countdown, and a stop when time is up."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest

from local.lambda_runtime import (
    InProcessLambdas,
    LambdaTimeoutError,
    _context_for,
    run_with_timeout,
)
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


def context_memory(event: Any, context: Any) -> dict[str, Any]:
    """A handler for the runtime tests: what it was given."""
    return {"event": event, "memory_mb": context.memory_limit_in_mb}


def test_a_handler_wrapper_is_called_in_place_of_the_handler() -> None:
    # GIVEN a function of 1024 MB and a wrapper that records every call it wraps
    spec = LambdaSpec(
        logical_id="Fn", name="fn", handler=f"{__name__}.context_memory", runtime="python3.14",
        timeout=300, environment={}, memory_mb=1024,
    )  # fmt: skip
    calls: list[tuple[str, Any]] = []

    def wrap(wrapped_spec: LambdaSpec, handler: Any) -> Any:
        def recorded(event: Any, context: Any) -> Any:
            result = handler(event, context)
            calls.append((wrapped_spec.name, result))
            return {**result, "wrapped": True}

        return recorded

    runtime = InProcessLambdas({spec.handler: spec}, wrap_handler=wrap)

    # WHEN the function is invoked
    headers: dict[str, str] = {}
    answer = json.loads(runtime.invoke("fn", b'{"day": 1}', headers))

    # THEN the wrapper ran around the handler, which saw the event and the function's memory
    assert calls == [("fn", {"event": {"day": 1}, "memory_mb": 1024})]
    assert answer == {"event": {"day": 1}, "memory_mb": 1024, "wrapped": True}
    assert "x-amz-function-error" not in headers
