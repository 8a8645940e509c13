"""`python -m local.run`: the deployed pipeline, executed on this machine.

Starts the Genesys Cloud simulator and moto on 127.0.0.1, provisions what an execution touches from
the synthesized template, runs the state machine definition exactly as `cdk synth` wrote it (moto's
ASL interpreter, the `lambdas/` handlers in-process), then answers the blueprint's question - the
10 OAuth clients with the most 429s - with DuckDB over the landed objects, using the saved Athena
query.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, TextIO

from local.genesys_simulator import SettingError, options_help, parse_settings
from local.genesys_simulator.faults import FAULT_KINDS
from local.harness import DEFAULT_TEMPLATE, ExecutionReport, LocalPipeline
from usage_report.engines.duckdb_local import run_query

TOP_429_QUERY = "top-10-oauth-clients-by-429"


def _parse_fault(text: str) -> tuple[str, dict[str, Any]]:
    """`rate-limit` or `rate-limit:count=20,retry_after=1` -> ("rate-limit", {...})."""
    kind, _, options_text = text.partition(":")
    options: dict[str, Any] = {}
    for item in filter(None, options_text.split(",")):
        key, _, value = item.partition("=")
        try:
            options[key] = json.loads(value)
        except json.JSONDecodeError:
            options[key] = value
    return kind, options


def _parse_env(items: Sequence[str]) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SystemExit(f"--env {item!r}: expected KEY=VALUE")
        overrides[key] = value
    return overrides


def _utc_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a day: expected YYYY-MM-DD, e.g. 2027-01-01"
        ) from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local.run",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="JSON",
        help="execution input, as the deployed machine takes it; repeat to run several "
        "executions one after another against the same environment (default: {} = yesterday)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="KIND[:k=v,...]",
        help="switch a simulator fault on before the executions: " + ", ".join(FAULT_KINDS),
    )
    parser.add_argument(
        "--sim",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a simulator setting, repeatable (e.g. week-start=sunday, legacy-end=inclusive, "
        "org=large); one of:\n" + options_help(),
    )
    parser.add_argument("--keep", type=Path, help="copy the whole source bucket to this folder")
    parser.add_argument("--quiet", action="store_true", help="print only the outcome lines")
    parser.add_argument("--seed", type=int, default=42, help="the simulator's organization seed")
    parser.add_argument(
        "--polls-until-done",
        type=int,
        default=1,
        help="status polls a simulated job stays Queued/Running before it succeeds",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a Lambda environment variable (e.g. JOB_TIMEOUT_SECONDS=5)",
    )
    parser.add_argument(
        "--client-id", default="local-client", help="the OAuth client the simulator accepts"
    )
    parser.add_argument(
        "--client-secret",
        default="local-secret",
        help="its secret, stored in the (moto) secret the Lambdas read",
    )
    parser.add_argument(
        "--history", type=Path, help="write every execution's event history (JSON) to this file"
    )
    parser.add_argument(
        "--lambda-timeout",
        type=float,
        metavar="SECONDS",
        help="lower every function's timeout to SECONDS (an invocation that runs past it fails "
        "with Sandbox.Timedout, as in Lambda)",
    )
    parser.add_argument(
        "--today",
        type=_utc_day,
        metavar="YYYY-MM-DD",
        help="run as on that UTC day: the executions' start, the Lambdas' clock and the "
        "simulator all read it (e.g. to see what the schedule does on 1 January)",
    )
    parser.add_argument("--template", type=Path, default=DEFAULT_TEMPLATE)
    parser.add_argument(
        "--log-file", type=Path, help="where the handlers' JSON logs go (default: a temp file)"
    )
    return parser


class Console:
    def __init__(self, stream: TextIO, *, quiet: bool) -> None:
        self._stream = stream
        self._quiet = quiet

    def say(self, text: str = "", *, always: bool = False) -> None:
        if always or not self._quiet:
            print(text, file=self._stream, flush=True)


def _report_execution(console: Console, report: ExecutionReport) -> None:
    console.say(
        f"  {report.status} in {report.seconds:.1f} s; states visited: "
        f"{' > '.join(report.states)}; {report.transitions} state transitions",
        always=True,
    )
    if not report.succeeded:
        console.say(f"  error: {report.error}", always=True)
        console.say(f"  cause: {report.cause}", always=True)
        return
    console.say(f"  rows landed per partition ({len(report.rows_by_partition)}):", always=True)
    for key, rows in sorted(report.rows_by_partition.items()):
        console.say(f"    {key}: {rows}", always=True)


def format_table(names: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[("" if value is None else str(value)) for value in row] for row in rows]
    widths = [max([len(name)] + [len(row[i]) for row in cells]) for i, name in enumerate(names)]

    def line(values: Sequence[str]) -> str:
        return " | ".join(value.ljust(width) for value, width in zip(values, widths, strict=True))

    rule = "-+-".join("-" * width for width in widths)
    return "\n".join([line(list(names)), rule, *(line(row) for row in cells)])


def _answer_top_429(console: Console, pipeline: LocalPipeline, data_dir: Path) -> None:
    resources = pipeline.resources
    assert resources is not None
    sql = resources.named_queries.get(TOP_429_QUERY)
    if sql is None:
        console.say(f"the template has no saved query {TOP_429_QUERY!r}", always=True)
        return
    pipeline.download(data_dir)
    names, rows = run_query(
        sql,
        database=resources.database,
        table=resources.table,
        columns=resources.table_columns,
        data_dir=data_dir,
    )
    console.say(
        f"\nTop 10 OAuth clients by 429 (saved Athena query {TOP_429_QUERY!r}, run by DuckDB):",
        always=True,
    )
    console.say(format_table(names, rows), always=True)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        simulator_settings = parse_settings(args.sim)
    except SettingError as error:
        parser.error(f"--sim {error}")
    inputs: list[str] = args.input or ["{}"]
    console = Console(sys.stdout, quiet=args.quiet)
    work_dir = Path(tempfile.mkdtemp(prefix="genesys-usage-local-"))
    log_path: Path = args.log_file or work_dir / "lambda.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    real_stdout = sys.stdout
    reports: list[ExecutionReport] = []
    histories: dict[str, list[dict[str, Any]]] = {}
    runtime_log_path = log_path.with_name(log_path.stem + ".runtime.log")
    with (
        log_path.open("w", encoding="utf-8") as log_file,
        runtime_log_path.open("w", encoding="utf-8") as runtime_log,
    ):
        # The handlers log JSON lines to stdout, as in Lambda; here they go to a file so the
        # console shows the run's progress. What is not the handlers' (moto's own error reports,
        # botocore's warnings) goes to a file of its own, so the handler log is what CloudWatch
        # would hold: JSON lines, each with the run id.
        sys.stdout = log_file
        logging.basicConfig(stream=runtime_log, level=logging.WARNING, force=True)
        try:
            with LocalPipeline(
                template_path=args.template,
                seed=args.seed,
                client_id=args.client_id,
                client_secret=args.client_secret,
                polls_until_done=args.polls_until_done,
                env_overrides=_parse_env(args.env),
                lambda_timeout_seconds=args.lambda_timeout,
                simulator_options=simulator_settings,
                today=args.today,
            ) as pipeline:
                resources = pipeline.resources
                assert resources is not None
                console.say(f"Genesys Cloud simulator: {pipeline.simulator.base_url}")
                console.say(f"moto (AWS): {pipeline.aws_endpoint}")
                console.say(
                    f"provisioned from {args.template.name}: bucket {resources.source_bucket}, "
                    f"database {resources.database}, table {resources.table}, "
                    f"{len(resources.lambdas)} functions, crawler {resources.crawler}"
                )
                for fault in args.fault:
                    kind, options = _parse_fault(fault)
                    pipeline.simulator.set_fault(kind, **options)
                    console.say(f"simulator fault on: {kind} {options or ''}")
                for number, execution_input in enumerate(inputs, start=1):
                    console.say(
                        f"\nexecution {number}/{len(inputs)} input {execution_input}", always=True
                    )
                    report = pipeline.execute(
                        input_json=execution_input,
                        on_state=lambda name, _type: console.say(f"  -> {name}"),
                    )
                    reports.append(report)
                    histories[report.name] = pipeline.history(report.arn)
                    _report_execution(console, report)
                if any(report.succeeded for report in reports):
                    _answer_top_429(console, pipeline, work_dir / "bucket")
                if args.keep:
                    args.keep.mkdir(parents=True, exist_ok=True)
                    pipeline.download(args.keep)
                    console.say(f"\nsource bucket copied to {args.keep}", always=True)
        finally:
            sys.stdout = real_stdout
    if args.history:
        args.history.write_text(json.dumps(histories, indent=1, default=str), encoding="utf-8")
    console.say(f"handler logs: {log_path} (moto and botocore: {runtime_log_path})")
    if args.keep and log_path.parent != args.keep:
        shutil.copy(log_path, args.keep / "lambda.log")
    return 0 if reports and all(report.succeeded for report in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
