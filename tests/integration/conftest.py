"""Integration tests: the synthesized state machine, executed locally against the simulator.

Every test gets a fresh `LocalPipeline` (simulator, moto server, provisioned resources). Polling
waits are shortened through the same environment variables the template sets, so a run takes a
couple of seconds while the definition stays exactly as synthesized.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from local.pipeline import DEFAULT_TEMPLATE, LocalPipeline

FAST_POLLING = {"POLL_INITIAL_WAIT_SECONDS": "1", "POLL_MAX_WAIT_SECONDS": "2"}


def utc_today() -> date:
    return datetime.now(UTC).date()


def days_ago(n: int) -> date:
    return utc_today() - timedelta(days=n)


def window(start_days_ago: int, end_days_ago: int) -> str:
    """An interval of whole UTC days, end exclusive: window(3, 0) = the last three days."""
    return f"{days_ago(start_days_ago).isoformat()}/{days_ago(end_days_ago).isoformat()}"


@pytest.fixture
def make_pipeline() -> Iterator[Any]:
    if not DEFAULT_TEMPLATE.is_file():
        pytest.fail(f"{DEFAULT_TEMPLATE} is missing: `make synth` must run before these tests")
    opened: list[LocalPipeline] = []

    def factory(**kwargs: Any) -> LocalPipeline:
        env = {**FAST_POLLING, **kwargs.pop("env_overrides", {})}
        kwargs.setdefault("polls_until_done", 1)
        pipeline = LocalPipeline(env_overrides=env, **kwargs).__enter__()
        opened.append(pipeline)
        return pipeline

    yield factory
    for pipeline in opened:
        pipeline.close()


@pytest.fixture
def pipeline(make_pipeline: Any) -> LocalPipeline:
    created: LocalPipeline = make_pipeline()
    return created
