"""A 30-day Day backfill of a large organization at Genesys's real pace (run: `make bench-scale`).

`python -m bench.scale_bench [--days 30] [--small-days 3] [--latency SECONDS] [--seed 42]` runs
the synthesized state machine (`LocalPipeline`: moto's ASL interpreter; each handler in a process
of its own, below) against the simulator's large organization (`org=large`, ~35,000 rows a day
for the default grouping) under the simulator's DEFAULT rate limit: 300 requests per rolling
60 s per token, as Genesys documents it. A short backfill (`--small-days`) runs first, then the
long one; the block printed at the end gives, for both, pages, rows, invocations per function,
state transitions, wall time, the longest invocation as a share of its function's timeout, each
function's peak memory, the paging pace against the rate limit's, and an AWS cost estimate, then
checks the issue's targets (PASS/FAIL; the exit code is 1 when one fails).

Synthesize first (`npx cdk synth --quiet`): the timeouts and memory sizes are the template's. It
takes several minutes: ~1060 result pages at 300 a minute is ~3.5 minutes of paging alone.

How it measures, and why:
- Each function's handler runs in a process of its own, a warm "container" per function
  (bench/lambda_containers.py), as in Lambda. Run in the process of moto's server, a handler's
  memory figure would count moto's work (the objects it stores, its read buffers, the multipart
  uploads it joins) as the handler's.
- Memory is the container's peak resident set (VmHWM: what Lambda's REPORT line calls Max Memory
  Used), Python and native (DuckDB, Arrow) alike, shown against the function's memory size.
  Its part that can depend on rows is the growth above the container's resident set before its
  first invocation (the interpreter and the imports): that is what "flat in rows" compares.
  tracemalloc was the other choice: it counts Python allocations only, not DuckDB's, and slows
  the code it measures.
- The simulator runs in a process of its own too: Genesys is another machine.
- S3 requests are counted per operation in each container (botocore's events) and priced with
  the state transitions and the Lambda GB-seconds.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Final

import requests

from bench import REPO_ROOT
from bench.lambda_containers import Call, Containers
from local.harness import DEFAULT_TEMPLATE, LocalPipeline
from usage_pipeline import constants as c
from usage_pipeline.genesys.wire import build_query_body
from usage_pipeline.query import NormalizedQuery

# --- Prices: AWS list prices, us-east-1, on demand, no free tier (as published in 2025) ---------
STEP_FUNCTIONS_PER_TRANSITION: Final = 0.025 / 1000  # Standard workflows
LAMBDA_ARM_PER_GB_SECOND: Final = 0.0000133334  # arm64, first 7.5 billion GB-s a month
LAMBDA_PER_REQUEST: Final = 0.20 / 1_000_000
S3_PER_WRITE_REQUEST: Final = 0.005 / 1000  # S3 Standard: PUT, COPY, POST, LIST
S3_PER_READ_REQUEST: Final = 0.0004 / 1000  # S3 Standard: GET and the other requests
S3_WRITE_OPERATIONS: Final = frozenset(
    {
        "PutObject",
        "CopyObject",
        "ListObjects",
        "ListObjectsV2",
        "CreateMultipartUpload",
        "UploadPart",
        "UploadPartCopy",
        "CompleteMultipartUpload",
    }
)
S3_FREE_OPERATIONS: Final = frozenset({"DeleteObject", "DeleteObjects", "AbortMultipartUpload"})
PRICES_NOTE: Final = (
    "AWS list prices, us-east-1, on demand, no free tier (2025): Step Functions Standard "
    f"${STEP_FUNCTIONS_PER_TRANSITION * 1000:g} per 1000 transitions; Lambda arm64 "
    f"${LAMBDA_ARM_PER_GB_SECOND:.10f} per GB-s, ${LAMBDA_PER_REQUEST * 1e6:.2f} per 1M requests; "
    f"S3 ${S3_PER_WRITE_REQUEST * 1000:g} per 1000 PUT/COPY/LIST, ${S3_PER_READ_REQUEST * 1000:g} "
    "per 1000 GET. Not included: the Glue crawler run, KMS, CloudWatch Logs, Secrets Manager, "
    "data transfer"
)

# --- The targets ----------------------------------------------------------------------
MAX_SHARE_OF_TIMEOUT: Final = 0.8
MAX_MEMORY_RATIO: Final = 1.5
MIN_SHARE_OF_RATE_LIMIT_PACE: Final = 0.8
# Growth this small is not rows (submit_query, which handles none, grows ~8 MiB: boto3's clients,
# the HTTP session): a ratio between two such says nothing, so it is compared as this much.
MEMORY_NOISE_FLOOR_BYTES: Final = 8 << 20

MIB: Final = 1 << 20
# Seconds a run may take before the bench gives up on it (the machine's timeout is longer).
RUN_TIMEOUT_SECONDS: Final = 3600.0


# --- What a run measured ----------------------------------------------------------------------


@dataclass(frozen=True)
class Invocation:
    """One handler call, as its container measured it."""

    function: str  # the handler's module: submit_query, poll_status, transform, land
    timeout_seconds: float
    memory_mb: int
    started: float  # time.monotonic()
    seconds: float
    peak_rss_bytes: int  # the container's peak so far (0: unknown, the invocation was stopped)
    idle_rss_bytes: int  # the container's resident set before its first invocation
    outcome: str  # "ok", or the name of what it raised
    pages_stored: int = 0  # result pages this invocation stored (raw.pages it returned - got)
    s3_requests: Mapping[str, int] = field(default_factory=dict)

    @property
    def share_of_timeout(self) -> float:
        return self.seconds / self.timeout_seconds

    @property
    def ended(self) -> float:
        return self.started + self.seconds

    @property
    def growth_bytes(self) -> int:
        """What the container's peak grew above its idle resident set."""
        return max(0, self.peak_rss_bytes - self.idle_rss_bytes)


@dataclass(frozen=True)
class RateLimit:
    requests: int
    window_seconds: float

    @property
    def per_minute(self) -> float:
        return self.requests * 60.0 / self.window_seconds


@dataclass(frozen=True)
class RunFigures:
    """What one backfill did, from its invocations, its history and the simulator's counts."""

    days: int
    status: str
    error: str | None
    wall_seconds: float
    transitions: int
    invocations: tuple[Invocation, ...]
    pages: int
    rows_stored: int
    rows_landed: int
    rows_expected: int
    status_polls: int  # status calls answered before the job was complete (not pages)
    rate_limit: RateLimit
    rate_limited_answers: int  # 429s the simulator sent
    max_requests_in_window: int

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


# --- Pure figures (tests/unit/test_scale_bench.py) ----------------------------------------------


@dataclass(frozen=True)
class Cost:
    step_functions: float
    lambda_gb_seconds: float
    lambda_compute: float
    lambda_requests: float
    s3_writes: int
    s3_reads: int
    s3_requests: float

    @property
    def total(self) -> float:
        return self.step_functions + self.lambda_compute + self.lambda_requests + self.s3_requests


def estimate_cost(transitions: int, invocations: Sequence[Invocation]) -> Cost:
    """One run's AWS bill at list prices: transitions, Lambda GB-seconds and requests, S3 calls."""
    gb_seconds = sum(each.seconds * each.memory_mb / 1024 for each in invocations)
    s3_calls: Counter[str] = Counter()
    for each in invocations:
        s3_calls.update(each.s3_requests)
    writes = sum(n for name, n in s3_calls.items() if name in S3_WRITE_OPERATIONS)
    reads = sum(
        n
        for name, n in s3_calls.items()
        if name not in S3_WRITE_OPERATIONS and name not in S3_FREE_OPERATIONS
    )
    return Cost(
        step_functions=transitions * STEP_FUNCTIONS_PER_TRANSITION,
        lambda_gb_seconds=gb_seconds,
        lambda_compute=gb_seconds * LAMBDA_ARM_PER_GB_SECOND,
        lambda_requests=len(invocations) * LAMBDA_PER_REQUEST,
        s3_writes=writes,
        s3_reads=reads,
        s3_requests=writes * S3_PER_WRITE_REQUEST + reads * S3_PER_READ_REQUEST,
    )


@dataclass(frozen=True)
class Pace:
    """Pages a minute while pages were being fetched, against what the rate limit allows."""

    pages: int
    seconds: float
    pages_per_minute: float
    limit_pages_per_minute: float
    # A rolling window lets a whole window's requests through at once, so a short span can beat
    # the per-minute pace: the least time the limit allows is a full window per batch after the
    # first (status polls included), which is what a share above 100% is measured against.
    least_seconds: float

    @property
    def share(self) -> float:
        return self.pages_per_minute / self.limit_pages_per_minute


def paging_pace(invocations: Sequence[Invocation], status_polls: int, limit: RateLimit) -> Pace:
    """From the start of the invocation that got page 1 to the end of the last one storing pages.

    The rate limit counts every request of the token: the status polls take their share of it, so
    the pages' share is ``limit * pages / (pages + status polls)`` (page 1 is the poll that found
    the job complete). Raises ValueError when no invocation stored pages.
    """
    storing = [each for each in invocations if each.pages_stored > 0]
    if not storing:
        raise ValueError("no invocation stored pages")
    pages = sum(each.pages_stored for each in storing)
    seconds = max(each.ended for each in storing) - min(each.started for each in storing)
    limit_pages = limit.per_minute * pages / (pages + status_polls)
    least = limit.window_seconds * ((status_polls + pages - 1) // limit.requests)
    return Pace(pages, seconds, pages * 60.0 / seconds, limit_pages, least)


def by_function(invocations: Sequence[Invocation]) -> dict[str, list[Invocation]]:
    """The invocations of each function, functions in the order they first ran."""
    grouped: dict[str, list[Invocation]] = {}
    for each in invocations:
        grouped.setdefault(each.function, []).append(each)
    return grouped


def longest(invocations: Sequence[Invocation]) -> dict[str, Invocation]:
    """Per function, the invocation that used the largest share of its timeout."""
    return {
        name: max(calls, key=lambda each: each.share_of_timeout)
        for name, calls in by_function(invocations).items()
    }


def peak_memory(invocations: Sequence[Invocation]) -> dict[str, Invocation]:
    """Per function, the invocation whose container grew the most above its idle size."""
    return {
        name: max(calls, key=lambda each: (each.growth_bytes, each.peak_rss_bytes))
        for name, calls in by_function(invocations).items()
    }


def memory_ratios(small: RunFigures, large: RunFigures) -> dict[str, float]:
    """Per function run in both, the large run's memory growth over the small run's (floored)."""
    small_peaks, large_peaks = peak_memory(small.invocations), peak_memory(large.invocations)
    return {
        name: max(peak.growth_bytes, MEMORY_NOISE_FLOOR_BYTES)
        / max(small_peaks[name].growth_bytes, MEMORY_NOISE_FLOOR_BYTES)
        for name, peak in large_peaks.items()
        if name in small_peaks
    }


@dataclass(frozen=True)
class TargetResult:
    target: str
    passed: bool
    detail: str


def check_targets(small: RunFigures, large: RunFigures) -> list[TargetResult]:
    """The issue's four targets, judged on the long run (memory: against the short one)."""
    landed = large.succeeded and large.rows_landed == large.rows_expected == large.rows_stored
    results = [
        TargetResult(
            "one execution lands it",
            landed,
            f"{large.status}; rows landed {large.rows_landed:,}, stored {large.rows_stored:,}, "
            f"expected {large.rows_expected:,}" + (f"; {large.error}" if large.error else ""),
        )
    ]
    worst = max(large.invocations, key=lambda each: each.share_of_timeout, default=None)
    results.append(
        TargetResult(
            f"no invocation above {MAX_SHARE_OF_TIMEOUT:.0%} of its timeout",
            worst is not None and worst.share_of_timeout <= MAX_SHARE_OF_TIMEOUT,
            "no invocation"
            if worst is None
            else f"longest {worst.function} {worst.seconds:.1f} s of "
            f"{worst.timeout_seconds:.0f} s ({worst.share_of_timeout:.0%})",
        )
    )
    ratios = memory_ratios(small, large)
    worst_ratio = max(ratios.items(), key=lambda item: item[1], default=None)
    results.append(
        TargetResult(
            f"memory flat in rows ({large.days} days / {small.days} days <= {MAX_MEMORY_RATIO:g}x)",
            worst_ratio is not None and worst_ratio[1] <= MAX_MEMORY_RATIO,
            "no function ran in both"
            if worst_ratio is None
            else f"largest ratio {worst_ratio[1]:.2f}x ({worst_ratio[0]})",
        )
    )
    try:
        pace = paging_pace(large.invocations, large.status_polls, large.rate_limit)
    except ValueError as error:
        results.append(TargetResult(_pace_target(), False, str(error)))
    else:
        results.append(
            TargetResult(
                _pace_target(),
                pace.share >= MIN_SHARE_OF_RATE_LIMIT_PACE,
                f"{pace.pages_per_minute:.0f} pages/min of {pace.limit_pages_per_minute:.0f} "
                f"({pace.share:.0%}); {pace.pages} pages in {pace.seconds:.0f} s, the limit allows "
                f"{pace.least_seconds:.0f} s at the least",
            )
        )
    return results


def _pace_target() -> str:
    return f"paging at {MIN_SHARE_OF_RATE_LIMIT_PACE:.0%} or more of the rate limit's pace"


# --- Measuring ----------------------------------------------------------------------------------


class Recorder:
    """Turns each container call into an ``Invocation``; ``take`` hands a run's over."""

    def __init__(self, on_invocation: Callable[[Invocation], None]) -> None:
        self._on_invocation = on_invocation
        self._invocations: list[Invocation] = []

    def __call__(self, call: Call) -> None:
        ended = time.monotonic()
        measured = call.measured
        seconds = measured.seconds if measured is not None else float(call.spec.timeout)
        invocation = Invocation(
            function=call.spec.handler.split(".")[-2],  # handlers.poll_status.handler
            timeout_seconds=float(call.spec.timeout),
            memory_mb=call.spec.memory_mb,
            started=ended - seconds,
            seconds=seconds,
            peak_rss_bytes=measured.peak_rss_bytes if measured is not None else 0,
            idle_rss_bytes=measured.idle_rss_bytes if measured is not None else 0,
            outcome=call.outcome,
            pages_stored=_raw_pages(call.result) - _raw_pages(call.event) if call.result else 0,
            s3_requests=dict(measured.s3_requests) if measured is not None else {},
        )
        self._invocations.append(invocation)
        self._on_invocation(invocation)

    def take(self) -> tuple[Invocation, ...]:
        taken, self._invocations = tuple(self._invocations), []
        return taken


def _raw_pages(state: Any) -> int:
    """``raw.pages`` of a state document (0 before any page is stored)."""
    raw = state.get("raw") if isinstance(state, dict) else None
    return int(raw["pages"]) if isinstance(raw, dict) else 0


@contextmanager
def simulator_process(*, seed: int, latency: float, log: IO[str]) -> Iterator[str]:
    """The large organization's simulator in a process of its own; yields its base URL."""
    command = [
        sys.executable,
        "-m",
        "local.genesys_simulator",
        "--port",
        "0",
        "--seed",
        str(seed),
        "--org",
        "large",
        "--latency",
        str(latency),
    ]
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=log, text=True
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "Genesys Cloud simulator listening on http://..."
        if not line.strip():
            raise RuntimeError(f"the simulator did not start (exit code {process.wait(10)})")
        yield line.split()[-1]
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run_backfill(
    days: int,
    *,
    simulator_url: str,
    recorder: Recorder,
    template: Path,
    handler_log: Path,
    say: Callable[[str], None],
) -> RunFigures:
    """One Day backfill of the last ``days`` complete UTC days, in a fresh local pipeline.

    Fresh containers too: cold starts, and a new token, so a rate-limit window of its own.
    """
    requests.delete(f"{simulator_url}/_sim/stats", timeout=10).raise_for_status()
    # env_overrides win over LocalPipeline's own (in-process, unused) simulator.
    overrides = {c.ENV_GENESYS_LOGIN_URL: simulator_url, c.ENV_GENESYS_API_URL: simulator_url}
    with (
        Containers(handler_log, recorder) as containers,
        LocalPipeline(
            template_path=template, env_overrides=overrides, wrap_handler=containers.wrap
        ) as pipeline,
    ):
        say(f"{days}-day backfill: {{'lastDays': {days}, 'granularity': 'Day'}}")
        started = time.monotonic()
        arn = pipeline.start({"lastDays": days, "granularity": "Day"})
        report = pipeline.wait(arn, timeout_seconds=RUN_TIMEOUT_SECONDS)
        wall_seconds = time.monotonic() - started
        history = pipeline.history(arn)
    invocations = recorder.take()
    stats = requests.get(f"{simulator_url}/_sim/stats", timeout=10).json()
    output = report.output or {}
    query = output.get("query")
    expected = 0
    if isinstance(query, dict):
        body = {"api": query["api"], **build_query_body(NormalizedQuery.from_dict(query))}
        answer = requests.post(f"{simulator_url}/_sim/expected-count", json=body, timeout=600)
        expected = int(answer.json()["rows"])
    raw = output.get("raw") or {}
    return RunFigures(
        days=days,
        status=report.status,
        error=None if report.succeeded else f"{report.error}: {report.cause}",
        wall_seconds=wall_seconds,
        transitions=billed_transitions(history),
        invocations=invocations,
        pages=int(raw.get("pages", 0)),
        rows_stored=int(raw.get("rows", 0)),
        rows_landed=int((output.get("landed") or {}).get("rows", 0)),
        rows_expected=expected,
        status_polls=max(0, int((output.get("job") or {}).get("polls", 1)) - 1),
        rate_limit=RateLimit(int(stats["rateLimitPerMinute"]), float(stats["windowSeconds"])),
        rate_limited_answers=sum(answers.get("429", 0) for answers in stats["requests"].values()),
        max_requests_in_window=int(stats["maxRequestsPerWindow"]),
    )


def billed_transitions(history: Sequence[Mapping[str, Any]]) -> int:
    """Step Functions bills every state entered, and every retry of a task as one more."""
    types = Counter(str(event["type"]) for event in history)
    entered = sum(n for name, n in types.items() if name.endswith("StateEntered"))
    retries = max(0, types["LambdaFunctionScheduled"] - types["TaskStateEntered"])
    return entered + retries


# --- The printed block --------------------------------------------------------------------------


def render(
    small: RunFigures, large: RunFigures, targets: Sequence[TargetResult], *, latency: float
) -> str:
    runs = (small, large)
    lines = [
        f"bench-scale: Day backfill of the simulator's large organization (org=large), "
        f"rate limit {large.rate_limit.requests} requests / {large.rate_limit.window_seconds:g} "
        f"s per token (the default), latency {latency:g} s a request",
    ]

    def row(label: str, cells: Sequence[str]) -> None:
        lines.append(f"  {label:<34}" + "".join(f"{cell:>30}" for cell in cells))

    row("", [f"{run.days} days" for run in runs])
    row("execution", [run.status for run in runs])
    row("wall time", [f"{run.wall_seconds:.1f} s" for run in runs])
    row("pages", [f"{run.pages:,}" for run in runs])
    row("rows stored / landed", [f"{run.rows_stored:,} / {run.rows_landed:,}" for run in runs])
    row("rows expected (simulator)", [f"{run.rows_expected:,}" for run in runs])
    row("state transitions (billed)", [f"{run.transitions}" for run in runs])
    functions = list(by_function(large.invocations))
    functions += [name for name in by_function(small.invocations) if name not in functions]
    calls = [by_function(run.invocations) for run in runs]
    for name in functions:
        row(f"invocations  {name}", [f"{len(grouped.get(name, []))}" for grouped in calls])
    worst = [longest(run.invocations) for run in runs]
    for name in functions:
        row(f"longest / timeout  {name}", [_share(per.get(name)) for per in worst])
    peaks = [peak_memory(run.invocations) for run in runs]
    ratios = memory_ratios(small, large)
    for name in functions:
        cells = [_memory(per.get(name)) for per in peaks]
        ratio = ratios.get(name)
        row(
            f"peak RSS / size, +growth  {name}",
            [*cells[:-1], cells[-1] + (f" ({ratio:.2f}x)" if ratio is not None else "")],
        )
    row("429 answers; max requests in a window", [_traffic(run) for run in runs])
    paces = [_pace_or_none(run) for run in runs]
    row(
        "paging: pages a minute (of the limit)",
        [
            "-" if pace is None else f"{pace.pages_per_minute:.0f} ({pace.share:.0%})"
            for pace in paces
        ],
    )
    row(
        "paging: seconds (least the limit allows)",
        [
            "-" if pace is None else f"{pace.seconds:.0f} ({pace.least_seconds:.0f})"
            for pace in paces
        ],
    )
    costs = [estimate_cost(run.transitions, run.invocations) for run in runs]
    row("cost: Step Functions", [f"${cost.step_functions:.5f}" for cost in costs])
    row(
        "cost: Lambda compute",
        [f"${cost.lambda_compute:.5f} ({cost.lambda_gb_seconds:.0f} GB-s)" for cost in costs],
    )
    row("cost: Lambda requests", [f"${cost.lambda_requests:.6f}" for cost in costs])
    row(
        "cost: S3 requests (writes, reads)",
        [f"${cost.s3_requests:.5f} ({cost.s3_writes}, {cost.s3_reads})" for cost in costs],
    )
    row("cost per run", [f"${cost.total:.4f}" for cost in costs])
    lines.append(f"  prices: {PRICES_NOTE}")
    lines.append(
        "  memory: each function's container's peak resident set (Lambda's Max Memory Used; "
        "Python and native), its memory size, and the growth above its resident set before its "
        f"first invocation; (Nx): growth {large.days} days / {small.days} days, growth under "
        f"{MEMORY_NOISE_FLOOR_BYTES // MIB} MiB taken as {MEMORY_NOISE_FLOOR_BYTES // MIB} MiB"
    )
    lines.append("targets:")
    for result in targets:
        lines.append(f"  {'PASS' if result.passed else 'FAIL'}  {result.target}: {result.detail}")
    return "\n".join(lines)


def _share(invocation: Invocation | None) -> str:
    if invocation is None:
        return "-"
    return (
        f"{invocation.seconds:.1f} s / {invocation.timeout_seconds:.0f} s "
        f"({invocation.share_of_timeout:.0%})"
    )


def _memory(invocation: Invocation | None) -> str:
    if invocation is None:
        return "-"
    return (
        f"{invocation.peak_rss_bytes / MIB:.0f} MiB/{invocation.memory_mb} MB "
        f"+{invocation.growth_bytes / MIB:.0f}"
    )


def _traffic(run: RunFigures) -> str:
    return f"{run.rate_limited_answers}; {run.max_requests_in_window}"


def _pace_or_none(run: RunFigures) -> Pace | None:
    try:
        return paging_pace(run.invocations, run.status_polls, run.rate_limit)
    except ValueError:
        return None


# --- Command line -------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_bench", description=__doc__)
    parser.add_argument("--days", type=_positive, default=30, help="the long backfill (30)")
    parser.add_argument(
        "--small-days", type=_positive, default=3, help="the short one, for memory (3)"
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="seconds every Genesys request takes (default 0: predictable; 0.05 is realistic)",
    )
    parser.add_argument("--seed", type=int, default=42, help="the organization's seed")
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    args = parser.parse_args(argv)
    if not args.template.is_file():
        parser.error(f"--template {args.template} does not exist: run `npx cdk synth` first")
    if args.latency < 0:
        parser.error(f"--latency {args.latency} is not allowed: seconds >= 0")

    def say(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    def on_invocation(each: Invocation) -> None:
        pages = f", stored {each.pages_stored} pages" if each.pages_stored else ""
        say(
            f"  {each.function:<13} {each.outcome:<4} {each.seconds:7.1f} s "
            f"({each.share_of_timeout:.0%} of {each.timeout_seconds:.0f} s), "
            f"peak RSS {each.peak_rss_bytes / MIB:.0f} MiB{pages}"
        )

    work_dir = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    handler_log = work_dir / "lambda.log"
    recorder = Recorder(on_invocation)
    say(f"handler logs: {handler_log}; moto's and the simulator's: {work_dir / 'runtime.log'}")
    with (
        (work_dir / "runtime.log").open("w", encoding="utf-8") as runtime_log,
        simulator_process(seed=args.seed, latency=args.latency, log=runtime_log) as url,
    ):
        logging.basicConfig(stream=runtime_log, level=logging.WARNING, force=True)
        runs = [
            run_backfill(
                days,
                simulator_url=url,
                recorder=recorder,
                template=args.template,
                handler_log=handler_log,
                say=say,
            )
            for days in (args.small_days, args.days)
        ]
    small, large = runs
    targets = check_targets(small, large)
    print(render(small, large, targets, latency=args.latency), flush=True)
    return 0 if all(result.passed for result in targets) else 1


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not allowed: a whole number >= 1")
    return value


if __name__ == "__main__":
    sys.exit(main())
