"""Run the `lambdas/` handlers in-process when moto's Step Functions interpreter invokes a Lambda.

Without Docker, moto's Lambda backend runs no code. Its `invoke` is replaced here by one that
imports the function's handler (`handlers.poll_status.handler`, exactly as the template names it),
calls it with the function's environment and a Lambda-like context, and reports an exception the
way Lambda does (`X-Amz-Function-Error` and an `errorType`/`errorMessage` payload), so the
definition's Retry and Catch see the same error names they would see in AWS.

Each function calls AWS as its own role when given the roles' sessions (``role_sessions``, by
function name): ``local/lambda_credentials.py`` says how, with the handlers unchanged.

Lambda's time rules hold too: `get_remaining_time_in_millis` counts down from the function's
timeout, and an invocation that runs past it is stopped and fails with "Task timed out after N
seconds" (error `Sandbox.Timedout`, as Lambda reports it), so the definition's Retry and Catch
act on it.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from types import SimpleNamespace
from typing import Any

from local.aws_identities import AccessKey
from local.lambda_credentials import as_role, routed
from local.template_resources import ACCOUNT_ID, REGION, LambdaSpec

InvocationListener = Callable[[str, str, float], None]
Handler = Callable[[Any, Any], Any]
# Wraps each invocation's handler: given the function's spec and its handler, returns what is
# called instead with the same (event, context), e.g. to measure the call (bench.scale_bench).
HandlerWrapper = Callable[[LambdaSpec, Handler], Handler]


def _load_handler(handler: str) -> Handler:
    module_name, _, function_name = handler.rpartition(".")
    module = importlib.import_module(module_name)
    function: Handler = getattr(module, function_name)
    return function


# The error a timed-out invocation reports to the state machine, as Lambda's current runtimes do.
# (A function's error cannot carry a ``States.`` name: Step Functions, and moto, turn one into
# States.Runtime. ``States.Timeout`` comes from the task's own TimeoutSeconds instead.)
TIMEOUT_ERROR = "Sandbox.Timedout"
# How long a stopped handler thread gets to unwind before it is abandoned.
_STOP_GRACE_SECONDS = 10.0


class SandboxStopped(BaseException):
    """Raised inside a handler that outlived its timeout, as Lambda stops the sandbox.

    A BaseException, so the handler's own ``except Exception`` cannot swallow it.
    """


def _context_for(spec: LambdaSpec, timeout_seconds: float) -> SimpleNamespace:
    deadline = time.monotonic() + timeout_seconds
    return SimpleNamespace(
        function_name=spec.name,
        function_version="$LATEST",
        invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{spec.name}",
        memory_limit_in_mb=spec.memory_mb,
        aws_request_id=str(uuid.uuid4()),
        log_group_name=f"/aws/lambda/{spec.name}",
        log_stream_name="local",
        get_remaining_time_in_millis=lambda: max(0, int((deadline - time.monotonic()) * 1000)),
    )


def _stop(thread: threading.Thread) -> None:
    """Raise SandboxStopped in ``thread`` at its next Python instruction, then wait a little."""
    if thread.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(thread.ident), ctypes.py_object(SandboxStopped)
        )
    thread.join(_STOP_GRACE_SECONDS)


def run_with_timeout(
    function: Callable[[Any, Any], Any], event: Any, context: Any, timeout_seconds: float
) -> Any:
    """``function(event, context)``, stopped after ``timeout_seconds`` as Lambda would stop it."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["result"] = function(event, context)
        except SandboxStopped:
            outcome["stopped"] = True
        except BaseException as error:  # handed to the caller, raised there
            outcome["error"] = error

    worker = threading.Thread(target=target, name="lambda-invocation", daemon=True)
    worker.start()
    worker.join(timeout_seconds)
    if worker.is_alive():
        _stop(worker)
        raise LambdaTimeoutError(timeout_seconds)
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("result")


class LambdaTimeoutError(Exception):
    """The invocation ran past its function's timeout."""

    def __init__(self, timeout_seconds: float) -> None:
        super().__init__(f"Task timed out after {timeout_seconds:.2f} seconds")


def merged_environment(specs: Mapping[str, LambdaSpec]) -> dict[str, str]:
    """One process runs every function, so their variables must agree where they overlap."""
    merged: dict[str, str] = {}
    for spec in specs.values():
        for key, value in spec.environment.items():
            if key in merged and merged[key] != value:
                raise RuntimeError(
                    f"functions disagree on {key}: {merged[key]!r} vs {value!r}; "
                    "the in-process runtime cannot give each its own value"
                )
            merged[key] = value
    return merged


class InProcessLambdas:
    """Routes moto Lambda invocations to the handlers in this process."""

    def __init__(
        self,
        specs: Mapping[str, LambdaSpec],
        *,
        env_overrides: Mapping[str, str] | None = None,
        listener: InvocationListener | None = None,
        timeout_seconds: float | None = None,
        wrap_handler: HandlerWrapper | None = None,
        role_sessions: Mapping[str, AccessKey] | None = None,
    ) -> None:
        """``timeout_seconds`` lowers every function's timeout (never raises it)."""
        self._by_name = {spec.name: spec for spec in specs.values()}
        self._role_sessions = dict(role_sessions) if role_sessions is not None else None
        self._environment = {**merged_environment(specs), **(env_overrides or {})}
        self._listener = listener
        self._wrap_handler = wrap_handler
        self._timeout_override = timeout_seconds
        self._lock = threading.Lock()
        self.invocations: list[tuple[str, str]] = []
        self._running = 0  # handlers running now (an aborted execution's may still be)
        self._idle = threading.Condition(self._lock)

    @contextmanager
    def installed(self) -> Iterator[InProcessLambdas]:
        from moto.awslambda.models import LambdaBackend
        from moto.awslambda_simple.models import LambdaSimpleBackend

        saved_environ = dict(os.environ)
        os.environ.update(self._environment)
        self.clear_container_caches()
        originals = {cls: cls.invoke for cls in (LambdaBackend, LambdaSimpleBackend)}
        runtime = self

        def invoke(
            backend: Any,
            function_name: str,
            qualifier: str | None,
            body: Any,
            headers: Any,
            response_headers: dict[str, str],
        ) -> bytes:
            name = function_name.rsplit(":", 1)[-1] if ":" in function_name else function_name
            payload = runtime.invoke(name, body, response_headers)
            response_headers["Content-Length"] = str(len(payload))
            return payload

        for cls in originals:
            cls.invoke = invoke  # type: ignore[method-assign,assignment]
        try:
            with ExitStack() as credentials:
                if self._role_sessions is not None:
                    credentials.enter_context(routed())
                yield self
        finally:
            for cls, original in originals.items():
                cls.invoke = original  # type: ignore[method-assign]
            os.environ.clear()
            os.environ.update(saved_environ)
            self.clear_container_caches()

    @staticmethod
    def clear_container_caches() -> None:
        """Forget what a warm container keeps: settings, clients bound to an old endpoint, the
        token, the secret."""
        from usage_pipeline.warm_container import forget_all

        forget_all()

    def timeout_of(self, spec: LambdaSpec) -> float:
        if self._timeout_override is None:
            return float(spec.timeout)
        return min(float(spec.timeout), self._timeout_override)

    def wait_until_idle(self, timeout_seconds: float) -> None:
        """Return once no handler runs; a stopped execution does not stop its running handler."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._running == 0, timeout_seconds):
                raise TimeoutError(f"a handler still runs after {timeout_seconds} s")

    def invoke(self, function_name: str, body: Any, response_headers: dict[str, str]) -> bytes:
        with self._lock:
            self._running += 1
        try:
            return self._invoke(function_name, body, response_headers)
        finally:
            with self._lock:
                self._running -= 1
                self._idle.notify_all()

    def _invoke(self, function_name: str, body: Any, response_headers: dict[str, str]) -> bytes:
        spec = self._find(function_name)
        event = json.loads(body) if body else {}
        started = time.monotonic()
        timeout = self.timeout_of(spec)
        try:
            handler = _load_handler(spec.handler)
            if self._role_sessions is not None:
                handler = as_role(self._role_sessions[spec.name], handler)
            if self._wrap_handler is not None:
                handler = self._wrap_handler(spec, handler)
            result = run_with_timeout(handler, event, _context_for(spec, timeout), timeout)
        except Exception as error:  # every handler failure becomes a Lambda function error
            response_headers["x-amz-function-error"] = "Unhandled"
            error_type = (
                TIMEOUT_ERROR if isinstance(error, LambdaTimeoutError) else type(error).__name__
            )
            outcome = error_type
            payload = {
                "errorType": error_type,
                "errorMessage": str(error),
                "stackTrace": traceback.format_tb(error.__traceback__),
            }
        else:
            outcome = "ok"
            payload = result
        with self._lock:
            self.invocations.append((spec.handler, outcome))
        if self._listener is not None:
            self._listener(spec.handler, outcome, time.monotonic() - started)
        return json.dumps(payload).encode("utf-8")

    def _find(self, function_name: str) -> LambdaSpec:
        for name, spec in self._by_name.items():
            if function_name in (name, spec.logical_id) or function_name.endswith(f":{name}"):
                return spec
        raise RuntimeError(f"no function named {function_name!r} was provisioned")
