"""`python -m ops.backfill`: fetch a long history as a series of executions of the deployed machine.

One execution may cover at most 90 days (the aggregates API's limit), so a backfill of months is
split into calendar months (whole periods for Week and Month granularity). Every window is
validated with the pipeline's own input rules before anything starts, so a bad backfill starts
nothing. Executions run one after another by default (`--no-wait` starts them all): they share the
OAuth client's rate limit with everything else the organization runs.

    python -m ops.backfill --state-machine-arn ARN --from 2026-01-01 --to 2026-11-01
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from usage_pipeline import constants as c
from usage_pipeline.errors import InvalidInput
from usage_pipeline.periods import align_to_periods, next_period_start
from usage_pipeline.query import parse_query

TERMINAL = {"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"}
# Step Functions execution names: at most 80 characters of [A-Za-z0-9-_].
NAME_PREFIX = "backfill"
MAX_ATTEMPTS_PER_WINDOW = 9


@dataclass(frozen=True)
class Window:
    start: date
    end: date

    @property
    def interval(self) -> str:
        return f"{self.start.isoformat()}/{self.end.isoformat()}"


def split_windows(start: date, end: date, granularity: str) -> list[Window]:
    """Calendar-month windows covering [start, end), aligned to whole periods of `granularity`.

    A month is at most 31 days, far inside the 90-day limit, and a month boundary is a natural
    place for a failed window to be re-run on its own. Week windows end on the first Monday on or
    after the month's end, so every week is fetched exactly once.
    """
    start, end = align_to_periods(start, end, granularity)
    windows: list[Window] = []
    cursor = start
    while cursor < end:
        month_end = next_period_start(cursor.replace(day=1), "Month")
        stop = min(align_to_periods(cursor, month_end, granularity)[1], end)
        windows.append(Window(cursor, stop))
        cursor = stop
    return windows


def execution_inputs(
    windows: Sequence[Window], base: dict[str, Any], today: date
) -> list[dict[str, Any]]:
    """The input of every window, each validated as the first state would validate it."""
    inputs = []
    for window in windows:
        execution_input = {**base, "interval": window.interval}
        parse_query(execution_input, today=today)  # raises InvalidInput, naming the field
        inputs.append(execution_input)
    return inputs


def execution_name(execution_input: dict[str, Any]) -> str:
    """Deterministic per window and query: re-running a backfill skips what already started."""
    digest = hashlib.sha256(json.dumps(execution_input, sort_keys=True).encode()).hexdigest()[:10]
    start, _, end = execution_input["interval"].partition("/")
    return f"{NAME_PREFIX}-{start}-{end}-{digest}"


def execution_arn(state_machine_arn: str, name: str) -> str:
    return f"{state_machine_arn.replace(':stateMachine:', ':execution:', 1)}:{name}"


def _start_once(
    sfn: Any, state_machine_arn: str, execution_input: dict[str, Any], say: Callable[[str], None]
) -> tuple[str, str | None]:
    """Start the window unless it already succeeded or is running; a failed one is started anew.

    Names are deterministic, so a re-run of the same backfill finds what it started before:
    windows that succeeded or still run are skipped, failed ones get a numbered new name.
    """
    base = execution_name(execution_input)
    for attempt in range(1, MAX_ATTEMPTS_PER_WINDOW + 1):
        name = base if attempt == 1 else f"{base}-{attempt}"
        try:
            arn: str = sfn.start_execution(
                stateMachineArn=state_machine_arn, name=name, input=json.dumps(execution_input)
            )["executionArn"]
        except sfn.exceptions.ExecutionAlreadyExists:
            status = sfn.describe_execution(executionArn=execution_arn(state_machine_arn, name))[
                "status"
            ]
            if status in ("SUCCEEDED", "RUNNING"):
                say(f"{name}: {status} earlier, skipped")
                return name, None
            continue
        say(f"{name}: started {execution_input['interval']}")
        return name, arn
    raise RuntimeError(f"{base}: {MAX_ATTEMPTS_PER_WINDOW} attempts already failed; look first")


def run_backfill(
    sfn: Any,
    state_machine_arn: str,
    inputs: Sequence[dict[str, Any]],
    *,
    wait: bool,
    say: Callable[[str], None],
    poll_seconds: float = 10.0,
) -> list[tuple[str, str]]:
    """Start (and with `wait`, see through) one execution per input; (name, status) each."""
    outcomes: list[tuple[str, str]] = []
    for execution_input in inputs:
        name, arn = _start_once(sfn, state_machine_arn, execution_input, say)
        if arn is None:
            outcomes.append((name, "SKIPPED"))
            continue
        status = "RUNNING"
        while wait and status not in TERMINAL:
            time.sleep(poll_seconds)
            status = sfn.describe_execution(executionArn=arn)["status"]
        if wait:
            say(f"{name}: {status}")
        outcomes.append((name, status))
    return outcomes


def _date(text: str) -> date:
    return date.fromisoformat(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ops.backfill", description=__doc__)
    parser.add_argument("--state-machine-arn", required=True)
    parser.add_argument("--from", dest="start", type=_date, required=True, help="first day")
    parser.add_argument("--to", dest="end", type=_date, required=True, help="end (exclusive)")
    parser.add_argument("--granularity", default=c.DEFAULT_GRANULARITY, choices=c.GRANULARITIES)
    parser.add_argument("--group-by", nargs="*", default=None, help="groupBy dimensions")
    parser.add_argument("--metrics", nargs="*", default=None)
    parser.add_argument("--api", default=c.DEFAULT_API, choices=c.APIS)
    parser.add_argument("--no-wait", action="store_true", help="start all, do not wait")
    parser.add_argument("--dry-run", action="store_true", help="print the inputs, start nothing")
    parser.add_argument("--poll-seconds", type=float, default=10.0)
    return parser


def main(argv: Sequence[str] | None = None, *, client: Any = None) -> int:
    args = build_parser().parse_args(argv)
    base: dict[str, Any] = {"api": args.api, "granularity": args.granularity}
    if args.group_by is not None:
        base["groupBy"] = args.group_by
    if args.metrics is not None:
        base["metrics"] = args.metrics
    if args.end <= args.start:
        print(f"--to {args.end} must be after --from {args.start}", file=sys.stderr)
        return 2
    windows = split_windows(args.start, args.end, args.granularity)
    try:
        inputs = execution_inputs(windows, base, datetime.now(UTC).date())
    except InvalidInput as refused:
        print(f"refused, nothing started: {refused}", file=sys.stderr)
        return 2
    for execution_input in inputs:
        print(f"{execution_name(execution_input)} {json.dumps(execution_input)}")
    if args.dry_run:
        return 0
    if client is None:
        import boto3

        client = boto3.client("stepfunctions")
    outcomes = run_backfill(
        client,
        args.state_machine_arn,
        inputs,
        wait=not args.no_wait,
        say=print,
        poll_seconds=args.poll_seconds,
    )
    failed = [name for name, status in outcomes if status in TERMINAL - {"SUCCEEDED"}]
    if failed:
        print(f"{len(failed)} window(s) did not succeed; re-run them: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
