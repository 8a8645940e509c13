"""Each function's handler in a process of its own, as Lambda runs it in a container.

The in-process runtime (local/lambda_runtime.py) calls the handlers in the process that also runs
moto's server, so a memory figure taken there counts moto's work as the handler's: the objects it
stores, the 16 MB buffer it reads each stored object's ETag with, the multipart uploads it joins.
``Containers.wrap`` (a ``HandlerWrapper``) sends each invocation to a warm process of the
function's own instead, started by the function's first invocation (a cold start) and ended when
an invocation runs past its timeout, as Lambda replaces the sandbox. It brings back the handler's
answer, or its error under the same name, with what the container measured:
- the container's peak resident set so far (Linux VmHWM: what Lambda's REPORT line calls Max
  Memory Used), Python and native memory alike (DuckDB's, Arrow's), and its resident set after
  importing the handler, before any invocation (the interpreter and the imports);
- the handler's own duration;
- the S3 requests the invocation made, by operation (for the cost estimate).

`python -m bench.lambda_containers HANDLER FD LOG` is the container side; nothing else runs it.
"""

from __future__ import annotations

import importlib
import os
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, Final

from bench import REPO_ROOT

if TYPE_CHECKING:  # the container side imports nothing a Lambda would not
    from local.lambda_runtime import Handler
    from local.template_resources import LambdaSpec

# The context attributes a handler may read, copied into the container's own context.
CONTEXT_FIELDS: Final = (
    "function_name",
    "function_version",
    "invoked_function_arn",
    "memory_limit_in_mb",
    "aws_request_id",
    "log_group_name",
    "log_stream_name",
)
# How often a waiting invocation looks up: the runtime's timeout stop lands between two looks.
_POLL_SECONDS: Final = 0.05
_STARTUP_SECONDS: Final = 120.0


@dataclass(frozen=True)
class Measured:
    """What the container measured around one invocation."""

    seconds: float
    peak_rss_bytes: int  # the container's peak so far, this invocation included
    idle_rss_bytes: int  # the container's resident set before its first invocation
    s3_requests: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    """One invocation as the container saw it, for the listener."""

    spec: LambdaSpec
    event: Any
    result: Any  # the handler's answer; None when it raised or was stopped
    outcome: str  # "ok", or the name of the error
    measured: Measured | None  # None when the invocation was stopped: its container went too


class ContainerError(RuntimeError):
    """The container process ended without answering."""


# --- The parent's side ---------------------------------------------------------------------------


@dataclass
class _Container:
    process: subprocess.Popen[bytes]
    connection: Connection
    idle_rss_bytes: int

    def end(self) -> None:
        try:
            self.connection.send(None)
            self.process.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()
        self.connection.close()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()


class Containers:
    """One warm container per function; ``wrap`` is the ``HandlerWrapper`` to install."""

    def __init__(self, log_path: Path, on_invocation: Callable[[Call], None]) -> None:
        self._log_path = log_path
        self._on_invocation = on_invocation
        self._lock = threading.Lock()
        self._containers: dict[str, _Container] = {}
        self._error_types: dict[str, type[Exception]] = {}

    def __enter__(self) -> Containers:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            containers, self._containers = list(self._containers.values()), {}
        for container in containers:
            container.end()

    def wrap(self, spec: LambdaSpec, handler: Handler) -> Handler:
        """Run ``spec.handler`` in its container (``handler``, loaded here, is not called)."""
        handler_path = spec.handler

        def in_container(event: Any, context: Any) -> Any:
            container = self._container(handler_path)
            fields = {name: getattr(context, name) for name in CONTEXT_FIELDS}
            try:
                container.connection.send((event, fields, context.get_remaining_time_in_millis()))
                while not container.connection.poll(_POLL_SECONDS):
                    if container.process.poll() is not None:
                        raise ContainerError(f"{handler_path}: the container ended")
                answer, figures = container.connection.recv()
            except BaseException as stopped:  # the runtime's timeout stop, or a dead container
                self._discard(handler_path, container)
                self._on_invocation(Call(spec, event, None, type(stopped).__name__, None))
                raise
            measured = Measured(**figures, idle_rss_bytes=container.idle_rss_bytes)
            if answer[0] == "ok":
                self._on_invocation(Call(spec, event, answer[1], "ok", measured))
                return answer[1]
            _, error_type, message = answer
            self._on_invocation(Call(spec, event, None, error_type, measured))
            raise self._error_type(error_type)(message)

        return in_container

    def _container(self, handler_path: str) -> _Container:
        with self._lock:
            container = self._containers.get(handler_path)
            if container is None:
                container = self._containers[handler_path] = self._start(handler_path)
            return container

    def _discard(self, handler_path: str, container: _Container) -> None:
        with self._lock:
            if self._containers.get(handler_path) is container:
                del self._containers[handler_path]
        container.kill()
        container.connection.close()

    def _start(self, handler_path: str) -> _Container:
        ours, theirs = socket.socketpair()
        # The environment is this process's now: the local pipeline's, for this run.
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "bench.lambda_containers",
                handler_path,
                str(theirs.fileno()),
                str(self._log_path),
            ],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            pass_fds=[theirs.fileno()],
        )
        theirs.close()
        connection = Connection(ours.detach())
        if not connection.poll(_STARTUP_SECONDS):
            process.kill()
            raise ContainerError(f"{handler_path}: the container did not start")
        ready, idle_rss_bytes = connection.recv()
        assert ready == "ready"
        return _Container(process, connection, idle_rss_bytes)

    def _error_type(self, name: str) -> type[Exception]:
        """An exception class of that name: the runtime reports the class name as errorType."""
        with self._lock:
            error_type = self._error_types.get(name)
            if error_type is None:
                error_type = self._error_types[name] = type(name, (Exception,), {})
            return error_type


# --- The container's side ------------------------------------------------------------------------


def resident_set_bytes() -> tuple[int, int]:
    """(resident set now, its peak) of this process in bytes, from /proc: Linux only, as Lambda.

    VmHWM, not getrusage's ru_maxrss: a spawned process's ru_maxrss starts at its parent's (a
    child of a 313 MiB process read 313 MiB there, 13 MiB in VmHWM).
    """
    values: dict[str, int] = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            name, _, rest = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                values[name] = int(rest.split()[0]) * 1024  # kB
    return values["VmRSS"], values["VmHWM"]


def serve(handler_path: str, channel: Connection) -> None:
    """Answer invocations until told to stop (None)."""
    import boto3

    s3_requests: Counter[str] = Counter()

    def count(model: Any, **_kwargs: Any) -> None:
        s3_requests[model.name] += 1

    # Clients copy the session's events when they are made: before the handler makes any.
    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register("before-call.s3", count)
    module_name, _, function_name = handler_path.rpartition(".")
    handler = getattr(importlib.import_module(module_name), function_name)
    idle_rss_bytes, _ = resident_set_bytes()
    channel.send(("ready", idle_rss_bytes))
    while True:
        request = channel.recv()
        if request is None:
            return
        event, fields, remaining_ms = request
        deadline = time.monotonic() + remaining_ms / 1000.0
        context = SimpleNamespace(
            **fields,
            get_remaining_time_in_millis=lambda deadline=deadline: max(
                0, int((deadline - time.monotonic()) * 1000)
            ),
        )
        s3_requests.clear()
        started = time.monotonic()
        answer: tuple[Any, ...]
        try:
            answer = ("ok", handler(event, context))
        except Exception as error:  # handed back under its own name, as Lambda reports it
            traceback.print_exc()
            answer = ("error", type(error).__name__, str(error))
        seconds = time.monotonic() - started
        _, peak = resident_set_bytes()
        # Plain values: this module is __main__ here, its classes would not unpickle there.
        figures = {"seconds": seconds, "peak_rss_bytes": peak, "s3_requests": dict(s3_requests)}
        channel.send((answer, figures))


def main(argv: list[str]) -> None:
    handler_path, channel_fd, log_path = argv
    # The handlers log JSON lines to stdout, as in Lambda: to the run's log file here.
    log = open(log_path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - for the process
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    serve(handler_path, Connection(int(channel_fd)))


if __name__ == "__main__":
    main(sys.argv[1:])
