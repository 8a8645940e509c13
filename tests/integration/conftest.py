"""Integration tests: the synthesized state machine, executed locally against the simulator.

One `LocalPipeline` (simulator, moto server, provisioned resources) serves all of them: the
`pipeline` fixture resets it before each test and fails the test's setup if anything of an earlier
test is left (`LocalPipeline.leftovers`); after the test it puts back the process environment the
test found, so tests without the pipeline see none of it. A test that needs a pipeline of its own
(another seed, other client credentials, another template) asks `make_pipeline` for one; moto's
backends are process-wide, so the shared pipeline is closed meanwhile and started again when next
asked for. The shared one lives as long as this package's tests run (`make test` runs the unit
tests, which use moto in-process, in the same session after these).

Waits are shortened, never removed, while the definition stays exactly as synthesized: the polling
waits through the environment variables the template sets, and a simulated job is done at its
first status poll unless a test configures more polls (the Wait loop is covered where that
matters). A run takes about two seconds.

Tests of `python -m local.run` itself are marked `local_run(*arguments)` and take the `local_run`
fixture: their runs start in the background before the first test of this package (local_runs.py)
and each test waits for its own, so their start-up costs the suite almost nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest

from local.harness import DEFAULT_TEMPLATE, LocalPipeline
from tests.integration.local_runs import LocalRun, LocalRuns

FAST_POLLING = {"POLL_INITIAL_WAIT_SECONDS": "1", "POLL_MAX_WAIT_SECONDS": "1"}
POLLS_UNTIL_DONE = 0
# Every pipeline of these tests runs as on this UTC day (`LocalPipeline(today=...)` moves the
# process clock), so a test lands the same days whatever day it runs and never straddles a
# midnight. test_pinned_days runs the windows that depend on today on the unusual days.
TODAY = date(2026, 11, 18)
# The same for `python -m local.run` in a subprocess.
FAST_RUN_OPTIONS: tuple[str, ...] = (
    *(f"--env={key}={value}" for key, value in FAST_POLLING.items()),
    f"--polls-until-done={POLLS_UNTIL_DONE}",
    f"--today={TODAY.isoformat()}",
)


def days_ago(n: int) -> date:
    return TODAY - timedelta(days=n)


def window(start_days_ago: int, end_days_ago: int) -> str:
    """An interval of whole UTC days, end exclusive: window(3, 0) = the last three days."""
    return f"{days_ago(start_days_ago).isoformat()}/{days_ago(end_days_ago).isoformat()}"


def start_pipeline(**options: Any) -> LocalPipeline:
    """A running pipeline with the tests' defaults (fast polling, jobs done at the first poll)."""
    if not DEFAULT_TEMPLATE.is_file():
        pytest.fail(f"{DEFAULT_TEMPLATE} is missing: `make synth` must run before these tests")
    env = {**FAST_POLLING, **options.pop("env_overrides", {})}
    options.setdefault("polls_until_done", POLLS_UNTIL_DONE)
    options.setdefault("today", TODAY)
    return LocalPipeline(env_overrides=env, **options).__enter__()


class Pipelines:
    """The shared pipeline, and the fresh ones that tests which cannot share it ask for."""

    def __init__(self) -> None:
        self._shared: LocalPipeline | None = None
        self._own: list[LocalPipeline] = []
        # Closing a pipeline puts back the whole environment it started in, an earlier test's.
        self._environment_before = dict(os.environ)

    def shared(self) -> LocalPipeline:
        """The shared pipeline, reset to the state it had right after starting."""
        self.close_own()
        if self._shared is None:
            self._shared = start_pipeline()
        else:
            self._shared.reset()
        leftovers = self._shared.leftovers()
        if leftovers:
            pytest.fail(f"an earlier test left state the reset did not remove: {leftovers}")
        return self._shared

    def own(self, **options: Any) -> LocalPipeline:
        """A fresh pipeline for this test alone; closed when the test ends."""
        if self._shared is not None:  # one pipeline at a time: moto's backends are process-wide
            self._shared.close()
            self._shared = None
        if self._own:
            raise RuntimeError("one pipeline of its own per test: moto's backends are shared")
        pipeline = start_pipeline(**options)
        self._own.append(pipeline)
        return pipeline

    def close_own(self) -> None:
        while self._own:
            self._own.pop().close()

    def close(self) -> None:
        self.close_own()
        if self._shared is not None:
            self._shared.close()
            self._shared = None
        os.environ.clear()
        os.environ.update(self._environment_before)


@pytest.fixture(scope="package")
def pipelines() -> Iterator[Pipelines]:
    started = Pipelines()
    yield started
    started.close()


@pytest.fixture
def pipeline(pipelines: Pipelines) -> Iterator[LocalPipeline]:
    """The shared pipeline, clean: nothing an earlier test did is visible."""
    outside = dict(os.environ)
    shared = pipelines.shared()
    yield shared
    # The variables the pipeline sets go back to what the test found: later tests may not use it.
    for key in shared.environment_keys():
        if key in outside:
            os.environ[key] = outside[key]
        else:
            os.environ.pop(key, None)


@pytest.fixture
def make_pipeline(pipelines: Pipelines) -> Iterator[Any]:
    """A factory of a pipeline of the test's own, for options a reset cannot give the shared one."""
    yield pipelines.own
    pipelines.close_own()


@pytest.fixture(scope="package", autouse=True)
def local_runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalRuns]:
    runs = LocalRuns(request.session.items, tmp_path_factory.mktemp, FAST_RUN_OPTIONS)
    yield runs
    runs.stop()


@pytest.fixture
def local_run(request: pytest.FixtureRequest, local_runs: LocalRuns) -> LocalRun:
    """This test's run (the test must be marked `local_run`); `outcome()` waits for its end."""
    run = local_runs.by_test.get(request.node.nodeid)
    if run is None:
        pytest.fail("a test that uses local_run must be marked @pytest.mark.local_run(...)")
    return run
