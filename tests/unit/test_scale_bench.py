"""The scale bench's arithmetic, judgement and containers (the run itself: `make bench-scale`)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench.lambda_containers import Call, Containers, Measured
from bench.scale_bench import (
    Invocation,
    RateLimit,
    Recorder,
    RunFigures,
    billed_transitions,
    check_targets,
    estimate_cost,
    paging_pace,
)
from local.lambda_runtime import LambdaTimeoutError, run_with_timeout
from local.template_resources import LambdaSpec

MIB = 1 << 20
IDLE_MIB = 50  # a container's resident set before its first invocation


def call(
    function: str,
    *,
    started: float = 0.0,
    seconds: float = 1.0,
    timeout: float = 300.0,
    memory_mb: int = 512,
    growth_mib: float = 10.0,
    pages: int = 0,
    s3: dict[str, int] | None = None,
) -> Invocation:
    return Invocation(
        function=function,
        timeout_seconds=timeout,
        memory_mb=memory_mb,
        started=started,
        seconds=seconds,
        peak_rss_bytes=int((IDLE_MIB + growth_mib) * MIB),
        idle_rss_bytes=IDLE_MIB * MIB,
        outcome="ok",
        pages_stored=pages,
        s3_requests=s3 or {},
    )


def backfill(days: int, invocations: list[Invocation], *, rows: int = 1000) -> RunFigures:
    return RunFigures(
        days=days,
        status="SUCCEEDED",
        error=None,
        wall_seconds=200.0,
        transitions=30,
        invocations=tuple(invocations),
        pages=sum(each.pages_stored for each in invocations),
        rows_stored=rows,
        rows_landed=rows,
        rows_expected=rows,
        status_polls=2,
        rate_limit=RateLimit(300, 60.0),
        rate_limited_answers=3,
        max_requests_in_window=300,
    )


# A 30-day run paging at the limit: 300 pages, a Retry-After, 300 more, then the last 100.
LARGE_CALLS = [
    call("submit_query", started=0, seconds=0.2, timeout=60, memory_mb=256, growth_mib=9),
    call("poll_status", started=2, seconds=0.1, growth_mib=9),
    call("poll_status", started=6, seconds=20, growth_mib=20, pages=300),
    call("poll_status", started=66, seconds=20, growth_mib=21, pages=300),
    call("poll_status", started=126, seconds=7, growth_mib=20, pages=100),
    call("transform", started=140, seconds=100, timeout=900, memory_mb=1024, growth_mib=70),
    call("land", started=241, seconds=5, growth_mib=40),
]
SMALL_CALLS = [
    call("submit_query", seconds=0.2, timeout=60, memory_mb=256, growth_mib=9),
    call("poll_status", started=2, seconds=0.1, growth_mib=9),
    call("poll_status", started=6, seconds=7, growth_mib=18, pages=70),
    call("transform", started=14, seconds=10, timeout=900, memory_mb=1024, growth_mib=60),
    call("land", started=25, seconds=1, growth_mib=38),
]


def test_the_cost_adds_transitions_gb_seconds_requests_and_s3_calls() -> None:
    cost = estimate_cost(
        40,
        [
            call("poll_status", seconds=10, memory_mb=512, s3={"PutObject": 1000}),
            call(
                "transform",
                seconds=2,
                memory_mb=1024,
                s3={"GetObject": 500, "ListObjectsV2": 1, "DeleteObject": 10},
            ),
        ],
    )

    assert cost.step_functions == pytest.approx(0.001)  # 40 x $0.025 / 1000
    assert cost.lambda_gb_seconds == pytest.approx(7.0)  # 10 s x 0.5 GB + 2 s x 1 GB
    assert cost.lambda_compute == pytest.approx(7.0 * 0.0000133334)
    assert cost.lambda_requests == pytest.approx(0.0000004)  # 2 x $0.20 / 1M
    # PUT and LIST at $0.005 / 1000, GET at $0.0004 / 1000, DELETE free
    assert (cost.s3_writes, cost.s3_reads) == (1001, 500)
    assert cost.s3_requests == pytest.approx(1001 * 0.000005 + 500 * 0.0000004)
    assert cost.total == pytest.approx(0.001 + 7.0 * 0.0000133334 + 0.0000004 + 0.005205)


def test_the_pace_runs_from_page_one_to_the_last_page_against_the_pages_share_of_the_limit() -> (
    None
):
    pace = paging_pace(LARGE_CALLS, status_polls=2, limit=RateLimit(300, 60.0))

    assert pace.pages == 700
    assert pace.seconds == pytest.approx(127.0)  # from 6 s to 133 s
    assert pace.pages_per_minute == pytest.approx(700 * 60 / 127)
    assert pace.limit_pages_per_minute == pytest.approx(300 * 700 / 702)
    assert pace.share == pytest.approx((700 * 60 / 127) / (300 * 700 / 702))
    # 702 requests: the 301st and the 601st wait a full window each
    assert pace.least_seconds == 120.0


def test_a_shorter_window_is_a_faster_limit() -> None:
    pace = paging_pace(LARGE_CALLS, status_polls=0, limit=RateLimit(300, 30.0))

    assert pace.limit_pages_per_minute == pytest.approx(600)
    assert pace.least_seconds == 60.0  # 700 requests: two full windows after the first


def test_without_stored_pages_there_is_no_pace() -> None:
    with pytest.raises(ValueError, match="no invocation stored pages"):
        paging_pace(LARGE_CALLS[:2], status_polls=2, limit=RateLimit(300, 60.0))


def test_a_run_within_every_target_passes_all_four() -> None:
    results = check_targets(backfill(3, SMALL_CALLS), backfill(30, LARGE_CALLS))

    assert len(results) == 4
    assert all(result.passed for result in results), results


def passed(small: RunFigures, large: RunFigures) -> list[bool]:
    return [result.passed for result in check_targets(small, large)]


def test_a_failed_or_short_landing_fails_the_first_target_only() -> None:
    small, large = backfill(3, SMALL_CALLS), backfill(30, LARGE_CALLS)

    assert passed(small, dataclasses.replace(large, rows_landed=999)) == [False, True, True, True]
    failed = dataclasses.replace(large, status="FAILED", error="FetchPagesFailed: boom")
    assert passed(small, failed) == [False, True, True, True]


def test_an_invocation_past_80_percent_of_its_timeout_fails_the_second_target_only() -> None:
    small = backfill(3, SMALL_CALLS)
    slow_land = call("land", started=241, seconds=241, growth_mib=40)  # 241 s of 300 s: 80.3%
    large = backfill(30, [*LARGE_CALLS[:-1], slow_land])

    assert passed(small, large) == [True, False, True, True]
    just_in = backfill(30, [*LARGE_CALLS[:-1], dataclasses.replace(slow_land, seconds=240)])
    assert passed(small, just_in) == [True, True, True, True]


def test_memory_growing_with_rows_fails_the_third_target_only() -> None:
    small = backfill(3, SMALL_CALLS)
    hungry = call("transform", started=140, seconds=100, timeout=900, memory_mb=1024, growth_mib=91)
    large = backfill(30, [*LARGE_CALLS[:5], hungry, LARGE_CALLS[6]])

    # 91 MiB above the idle container against 60 MiB: more than 1.5x
    assert passed(small, large) == [True, True, False, True]


def test_the_containers_idle_size_does_not_count_as_growth() -> None:
    small = backfill(3, SMALL_CALLS)
    # the same growth in a container that idles at 200 MiB instead of 50
    bigger = dataclasses.replace(LARGE_CALLS[5], peak_rss_bytes=270 * MIB, idle_rss_bytes=200 * MIB)
    large = backfill(30, [*LARGE_CALLS[:5], bigger, LARGE_CALLS[6]])

    assert passed(small, large) == [True, True, True, True]


def test_growth_below_8_mib_is_compared_as_8_mib() -> None:
    small = backfill(3, [*SMALL_CALLS, call("extra", growth_mib=1)])
    large = backfill(30, [*LARGE_CALLS, call("extra", growth_mib=7)])
    assert passed(small, large) == [True, True, True, True]

    grown = backfill(30, [*LARGE_CALLS, call("extra", growth_mib=13)])  # 13 / 8 > 1.5
    assert passed(small, grown) == [True, True, False, True]


def test_paging_below_80_percent_of_the_limit_fails_the_fourth_target_only() -> None:
    small = backfill(3, SMALL_CALLS)
    # the last 100 pages arrive two minutes late: 700 pages in 247 s is 170 a minute (57%)
    late = dataclasses.replace(LARGE_CALLS[4], started=246)
    large = backfill(30, [*LARGE_CALLS[:4], late, *LARGE_CALLS[5:]])

    assert passed(small, large) == [True, True, True, False]


def test_retries_are_billed_as_transitions() -> None:
    history = [
        {"type": "ExecutionStarted"},
        {"type": "TaskStateEntered"},
        {"type": "LambdaFunctionScheduled"},
        {"type": "LambdaFunctionFailed"},
        {"type": "LambdaFunctionScheduled"},  # the retry
        {"type": "TaskStateExited"},
        {"type": "WaitStateEntered"},
        {"type": "ChoiceStateEntered"},
        {"type": "SucceedStateEntered"},
        {"type": "ExecutionSucceeded"},
    ]

    assert billed_transitions(history) == 5  # 4 states entered, 1 retry


def spec_for(handler: str) -> LambdaSpec:
    return LambdaSpec(
        logical_id="Fn", name="fn", handler=handler, runtime="python3.14", timeout=300,
        environment={}, memory_mb=512,
    )  # fmt: skip


def context(seconds_left: float = 60.0) -> SimpleNamespace:
    return SimpleNamespace(
        function_name="fn",
        function_version="$LATEST",
        invoked_function_arn="arn:aws:lambda:eu-west-1:123456789012:function:fn",
        memory_limit_in_mb=512,
        aws_request_id="request-1",
        log_group_name="/aws/lambda/fn",
        log_stream_name="local",
        get_remaining_time_in_millis=lambda: int(seconds_left * 1000),
    )


def test_a_container_runs_its_handler_in_a_warm_process_of_its_own(tmp_path: Path) -> None:
    calls: list[Call] = []
    spec = spec_for("tests.unit.container_handlers.where")
    with Containers(tmp_path / "lambda.log", calls.append) as containers:
        in_container = containers.wrap(spec, lambda event, context: None)

        first = in_container({"day": 1}, context(seconds_left=42.0))
        second = in_container({"day": 2}, context())

    # another process than this one, the same one both times (warm), with the context's values
    assert first["pid"] != os.getpid()
    assert second["pid"] == first["pid"]
    assert (first["event"], first["memory_mb"]) == ({"day": 1}, 512)
    assert 40.0 < first["seconds_left"] <= 42.0
    # and the listener heard of both, with what the container measured
    assert [(call.event, call.outcome, call.result) for call in calls] == [
        ({"day": 1}, "ok", first),
        ({"day": 2}, "ok", second),
    ]
    measured = calls[0].measured
    assert measured is not None
    assert measured.peak_rss_bytes >= measured.idle_rss_bytes > 0


def test_a_handlers_error_comes_back_under_its_own_name(tmp_path: Path) -> None:
    calls: list[Call] = []
    with Containers(tmp_path / "lambda.log", calls.append) as containers:
        in_container = containers.wrap(
            spec_for("tests.unit.container_handlers.refuse"), lambda event, context: None
        )
        with pytest.raises(Exception, match="no room for 7 rows") as raised:
            in_container({"rows": 7}, context())

    assert type(raised.value).__name__ == "QuotaError"
    assert [call.outcome for call in calls] == ["QuotaError"]
    assert "QuotaError" in (tmp_path / "lambda.log").read_text()  # the traceback, as logged


def test_a_recorded_call_counts_the_pages_it_stored() -> None:
    invocations: list[Invocation] = []
    record = Recorder(invocations.append)
    spec = dataclasses.replace(spec_for("handlers.poll_status.handler"), timeout=300)
    measured = Measured(
        seconds=12.0, peak_rss_bytes=90 * MIB, idle_rss_bytes=60 * MIB, s3_requests={"PutObject": 4}
    )

    record(Call(spec, {"raw": {"pages": 300}}, {"raw": {"pages": 302}}, "ok", measured))
    record(Call(spec, {"raw": {"pages": 302}}, None, "SandboxStopped", None))

    stored, stopped = record.take()
    assert (stored.function, stored.pages_stored, stored.seconds) == ("poll_status", 2, 12.0)
    assert (stored.growth_bytes, stored.s3_requests) == (30 * MIB, {"PutObject": 4})
    # a stopped invocation ran for its whole timeout, and stored nothing that was returned
    assert (stopped.outcome, stopped.seconds, stopped.pages_stored) == ("SandboxStopped", 300, 0)
    assert record.take() == ()
    assert invocations == [stored, stopped]


def test_an_invocation_past_its_timeout_takes_its_container_with_it(tmp_path: Path) -> None:
    calls: list[Call] = []
    with Containers(tmp_path / "lambda.log", calls.append) as containers:
        lingering = containers.wrap(
            spec_for("tests.unit.container_handlers.linger"), lambda event, context: None
        )
        answering = containers.wrap(
            spec_for("tests.unit.container_handlers.where"), lambda event, context: None
        )
        before = answering({}, context())["pid"]

        pid_file = tmp_path / "lingering.pid"
        with pytest.raises(LambdaTimeoutError):
            run_with_timeout(lingering, {"pid_file": str(pid_file)}, context(), 1.0)

        # its container is gone, as Lambda replaces a timed-out sandbox
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid_file.read_text()), 0)
        # the stopped invocation is reported without figures; other functions keep their container
        assert [(call.outcome, call.measured) for call in calls[1:]] == [("SandboxStopped", None)]
        assert answering({}, context())["pid"] == before
