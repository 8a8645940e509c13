r"""`python -m ops.report`: write OUT/index.html and the CSV files of a range of the usage table.

    python -m ops.report --local demo-output/bucket --out demo-output/report
    python -m ops.report --stack GenesysApiUsage --interval 2026-10 \
        --clients "Nightly Recording Archiver" --urls "api/v2/users/{userId}"

`--local DIR` reads a kept copy of the bucket (`python -m local.run --keep DIR`) with DuckDB;
otherwise the same SQL runs on Athena in the stack's workgroup (`--stack`, default the deployed
stack's name), which prints the bytes each query scanned.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO

from botocore.exceptions import BotoCoreError, ClientError

from usage_pipeline.errors import InvalidInput
from usage_pipeline.intervals import interval_days, refuse_unless_complete
from usage_report.build import build_report
from usage_report.csv_export import report_tables, write_tables
from usage_report.engines import Engine
from usage_report.engines.athena import DEFAULT_STACK, AthenaEngine
from usage_report.engines.duckdb_local import LocalEngine
from usage_report.errors import ReportError
from usage_report.html import render
from usage_report.model import DateRange

DEFAULT_DAYS = 7
DEFAULT_OUT = Path("report")


def default_range(today: date) -> DateRange:
    """The last 7 complete UTC days: today has no data yet (Genesys counts whole days)."""
    return DateRange(today - timedelta(days=DEFAULT_DAYS), today - timedelta(days=1))


def range_of(interval: str | None, today: date) -> DateRange:
    """`--interval` in any form the execution input takes (end exclusive); today is refused."""
    if interval is None:
        return default_range(today)
    try:
        start, end = interval_days(interval)
        refuse_unless_complete(end, today=today, shown=interval)
    except InvalidInput as error:
        raise ReportError(f"--interval {error.value!r}: {error.allowed}") from error
    return DateRange.from_exclusive(start, end)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ops.report",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--interval",
        help="UTC days, as the execution input takes them: 2026-11-05, 2026-11, "
        "2026-11-01/2026-11-08 (end exclusive), ... (default: the last 7 complete UTC days)",
    )
    parser.add_argument(
        "--clients",
        nargs="+",
        action="extend",
        default=[],
        metavar="ID_OR_NAME",
        help="OAuth clients for the OAuth Client Requests section (default: the top 5)",
    )
    parser.add_argument(
        "--urls",
        nargs="+",
        action="extend",
        default=[],
        metavar="TEMPLATE_URI",
        help="template URIs for the URL Requests section (default: the top 5)",
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="folder for index.html and the CSV files"
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument(
        "--local", type=Path, metavar="DIR", help="a kept copy of the bucket, read with DuckDB"
    )
    source.add_argument(
        "--stack",
        default=DEFAULT_STACK,
        help="the deployed stack whose Athena workgroup runs the queries "
        f"(default {DEFAULT_STACK})",
    )
    return parser


def open_engine(args: argparse.Namespace, out: TextIO) -> Engine:
    if args.local is not None:
        return LocalEngine(args.local)
    import boto3

    return AthenaEngine.for_stack(args.stack, session=boto3.Session(), out=out)


def main(
    argv: Sequence[str] | None = None,
    *,
    today: date | None = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    args = build_parser().parse_args(argv)
    started = time.monotonic()
    command = shlex.join(["python", "-m", "ops.report", *(sys.argv[1:] if argv is None else argv)])
    try:
        days = range_of(args.interval, today or datetime.now(UTC).date())
        engine = open_engine(args, out)
        try:
            report = build_report(engine, days, clients=args.clients, urls=args.urls)
        finally:
            engine.close()
        args.out.mkdir(parents=True, exist_ok=True)
        page = args.out / "index.html"
        page.write_text(render(report, command=command), encoding="utf-8")
        written = write_tables(args.out, report_tables(report))
    except ReportError as error:
        print(f"ops.report: {error}", file=err)
        return 2
    except (BotoCoreError, ClientError) as error:
        # No credentials, no permission, throttled: AWS's own message says which.
        print(f"ops.report: AWS: {error}", file=err)
        return 2
    if not report.has_data:
        print(f"no API usage landed from {days} (UTC): the page says so", file=out)
    size = page.stat().st_size
    print(
        f"report of {days} (UTC): {page.resolve()} ({size:,} bytes) and {len(written)} CSV files, "
        f"in {time.monotonic() - started:.1f} s",
        file=out,
    )
    return 0
