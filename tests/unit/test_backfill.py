"""Splitting a backfill into executions the pipeline accepts."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

import pytest

from ops.backfill import Window, execution_inputs, execution_name, main, split_windows
from usage_pipeline.errors import InvalidInput

TODAY = date(2026, 11, 22)


def test_day_windows_are_calendar_months_covering_the_range_once() -> None:
    # WHEN ten months and a bit are split
    windows = split_windows(date(2026, 1, 15), date(2026, 11, 3), "Day")

    # THEN the windows are consecutive calendar months, the first and last partial
    assert windows[0] == Window(date(2026, 1, 15), date(2026, 2, 1))
    assert windows[-1] == Window(date(2026, 11, 1), date(2026, 11, 3))
    assert len(windows) == 11
    assert all(a.end == b.start for a, b in pairwise(windows))
    assert all((w.end - w.start).days <= 31 for w in windows)


def test_week_windows_hold_whole_weeks_each_fetched_once() -> None:
    # WHEN a range is split for Week granularity
    windows = split_windows(date(2026, 8, 5), date(2026, 11, 16), "Week")

    # THEN every window starts and ends on a Monday and no week is in two windows
    assert all(w.start.weekday() == 0 and w.end.weekday() == 0 for w in windows)
    assert windows[0].start == date(2026, 8, 3)
    assert windows[-1].end == date(2026, 11, 16)
    assert all(a.end == b.start for a, b in pairwise(windows))


def test_month_windows_are_whole_months() -> None:
    windows = split_windows(date(2026, 3, 10), date(2026, 6, 2), "Month")
    assert [w.interval for w in windows] == [
        "2026-03-01/2026-04-01",
        "2026-04-01/2026-05-01",
        "2026-05-01/2026-06-01",
        "2026-06-01/2026-07-01",
    ]


def test_every_window_is_validated_before_anything_starts() -> None:
    # GIVEN a range reaching into today, which the pipeline refuses
    windows = split_windows(date(2026, 11, 1), date(2026, 11, 23), "Day")

    # WHEN / THEN the inputs are refused as the first state would refuse them
    with pytest.raises(InvalidInput, match="interval"):
        execution_inputs(windows, {"api": "aggregates", "granularity": "Day"}, TODAY)


def test_execution_names_are_deterministic_and_valid() -> None:
    execution_input = {"api": "legacy", "granularity": "Day", "interval": "2026-10-01/2026-11-01"}
    name = execution_name(execution_input)
    assert name == execution_name(dict(reversed(list(execution_input.items()))))
    assert name.startswith("backfill-2026-10-01-2026-11-01-")
    assert len(name) <= 80
    assert name != execution_name({**execution_input, "api": "aggregates"})


def test_a_refused_backfill_exits_2_and_starts_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    class NoClient:
        def __getattr__(self, name: str) -> object:
            raise AssertionError("nothing may be started")

    code = main(
        ["--state-machine-arn", "arn:x", "--from", "2026-11-01", "--to", "2027-01-01"],
        client=NoClient(),
    )
    assert code == 2
    assert "refused, nothing started: interval" in capsys.readouterr().err
