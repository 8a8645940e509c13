"""`python -m local.run` in subprocesses, started in the background before the tests that read them.

A run spends ~5 s starting (imports, its own moto server, provisioning) and then mostly waits, so
the runs go one after another in a thread, at a lower CPU priority, while the in-process tests run.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import PIPE, CompletedProcess, Popen, TimeoutExpired

import pytest

from local.harness import ROOT

BACKGROUND_NICENESS = 10
MARKER = "local_run"


@dataclass
class LocalRun:
    """One test's `python -m local.run`: the folder its paths point into, and how it ended."""

    arguments: list[str]
    folder: Path
    finished: threading.Event = field(default_factory=threading.Event)
    completed: CompletedProcess[bytes] | None = None
    failure: BaseException | None = None

    def outcome(self, timeout_seconds: float = 600.0) -> CompletedProcess[bytes]:
        if not self.finished.wait(timeout_seconds):
            pytest.fail(f"local.run {self.arguments} still runs after {timeout_seconds} s")
        if self.failure is not None:
            raise self.failure
        assert self.completed is not None
        return self.completed


class LocalRuns:
    """The runs of the selected tests marked `local_run`, one after another in a thread."""

    def __init__(
        self,
        items: Sequence[pytest.Item],
        make_folder: Callable[[str], Path],
        common_arguments: Sequence[str] = (),
    ) -> None:
        self.by_test: dict[str, LocalRun] = {}
        for item in items:
            marker = item.get_closest_marker(MARKER)
            if marker is not None:
                folder = make_folder(item.name[:40])
                arguments = [str(a).replace("{folder}", str(folder)) for a in marker.args]
                self.by_test[item.nodeid] = LocalRun(arguments, folder)
        # The environment as the package found it: tests change os.environ while runs start.
        self._environment = dict(os.environ)
        self._common_arguments = list(common_arguments)
        self._running: Popen[bytes] | None = None
        self._stopped = False
        threading.Thread(target=self._run_all, name="local-runs", daemon=True).start()

    def stop(self) -> None:
        """End the run in progress and start no other (the tests that wanted them are over)."""
        self._stopped = True
        running = self._running
        if running is not None:
            running.kill()

    def _run_all(self) -> None:
        for run in self.by_test.values():
            try:
                if self._stopped:
                    raise RuntimeError("the integration tests ended before this run started")
                run.completed = self._run(run.arguments)
            except BaseException as error:  # handed to the test, which fails with it
                run.failure = error
            finally:
                run.finished.set()

    def _run(self, arguments: list[str]) -> CompletedProcess[bytes]:
        command = [sys.executable, "-m", "local.run", *self._common_arguments, *arguments]
        with Popen(command, cwd=ROOT, env=self._environment, stdout=PIPE, stderr=PIPE) as process:
            self._running = process
            # Tests in this process wait for nobody: they get the CPU first.
            with suppress(ProcessLookupError):  # it may have ended already
                os.setpriority(os.PRIO_PROCESS, process.pid, BACKGROUND_NICENESS)
            try:
                stdout, stderr = process.communicate(timeout=300)
            except TimeoutExpired:
                process.kill()
                raise
            finally:
                self._running = None
        return CompletedProcess(command, process.returncode, stdout, stderr)
