"""Run the `lambdas/` handlers in-process when moto's Step Functions interpreter invokes a Lambda.

Without Docker, moto's Lambda backend runs no code. Its `invoke` is replaced here by one that
imports the function's handler (`handlers.poll_status.handler`, exactly as the template names it),
calls it with the function's environment and a Lambda-like context, and reports an exception the
way Lambda does (`X-Amz-Function-Error` and an `errorType`/`errorMessage` payload), so the
definition's Retry and Catch see the same error names they would see in AWS.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from local.template_resources import ACCOUNT_ID, REGION, LambdaSpec

LAMBDAS_DIR = Path(__file__).resolve().parent.parent / "lambdas"

InvocationListener = Callable[[str, str, float], None]

# (module, callable) pairs that empty what a warm Lambda container caches between invocations.
PER_CONTAINER_CACHES = (
    ("handlers._runtime", "reset_container_caches"),
    ("handlers.genesys", "reset_container_caches"),
    ("usage_pipeline.genesys_client", "clear_token_cache"),
    ("usage_pipeline.secrets", "clear_credentials_cache"),
)


def _ensure_lambdas_importable() -> None:
    if str(LAMBDAS_DIR) not in sys.path:
        sys.path.insert(0, str(LAMBDAS_DIR))


def _load_handler(handler: str) -> Callable[[Any, Any], Any]:
    module_name, _, function_name = handler.rpartition(".")
    module = importlib.import_module(module_name)
    function: Callable[[Any, Any], Any] = getattr(module, function_name)
    return function


def _context_for(spec: LambdaSpec) -> SimpleNamespace:
    return SimpleNamespace(
        function_name=spec.name,
        function_version="$LATEST",
        invoked_function_arn=f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{spec.name}",
        memory_limit_in_mb=512,
        aws_request_id=str(uuid.uuid4()),
        log_group_name=f"/aws/lambda/{spec.name}",
        log_stream_name="local",
        get_remaining_time_in_millis=lambda: spec.timeout * 1000,
    )


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
    ) -> None:
        self._by_name = {spec.name: spec for spec in specs.values()}
        self._environment = {**merged_environment(specs), **(env_overrides or {})}
        self._listener = listener
        self._lock = threading.Lock()
        self.invocations: list[tuple[str, str]] = []
        self._running = 0  # handlers running now (an aborted execution's may still be)
        self._idle = threading.Condition(self._lock)

    @contextmanager
    def installed(self) -> Iterator[InProcessLambdas]:
        from moto.awslambda.models import LambdaBackend
        from moto.awslambda_simple.models import LambdaSimpleBackend

        _ensure_lambdas_importable()
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
            yield self
        finally:
            for cls, original in originals.items():
                cls.invoke = original  # type: ignore[method-assign]
            os.environ.clear()
            os.environ.update(saved_environ)
            self.clear_container_caches()

    @staticmethod
    def clear_container_caches() -> None:
        """Forget what a warm container keeps: config, clients bound to an old endpoint, tokens."""
        _ensure_lambdas_importable()
        from usage_pipeline import config

        config.clear_cache()
        for module_name, attribute in PER_CONTAINER_CACHES:
            module = sys.modules.get(module_name)
            cached = getattr(module, attribute, None) if module is not None else None
            if cached is not None:
                cached()

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
        import time

        spec = self._find(function_name)
        event = json.loads(body) if body else {}
        started = time.monotonic()
        try:
            result = _load_handler(spec.handler)(event, _context_for(spec))
        except Exception as error:  # every handler failure becomes a Lambda function error
            response_headers["x-amz-function-error"] = "Unhandled"
            outcome = type(error).__name__
            payload = {
                "errorType": type(error).__name__,
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
