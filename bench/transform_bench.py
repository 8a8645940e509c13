"""Our transform core vs the blueprint's `gzip -dc | jq -c '.results[]'`: wall time and peak RSS.

`python -m bench.transform_bench [--sizes 100000,1000000] [--repeats N]` generates a
deterministic legacy-shaped result per size into `.bench/` (cached): raw pages of 1000 rows as the
pipeline stores them, and the blueprint's single document
`{"results": [...], "queryStatus": "Complete"}`, both gzip.
Each side runs as a whole separate process, several times; the medians are compared. Peak memory
comes from `os.wait4` on the child, whose rusage covers the child and everything it waited for:
for jq's pipeline that is the largest of sh, gzip and jq.
"""

from __future__ import annotations

import argparse
import compileall
import gzip
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson

from bench import REPO_ROOT
from usage_pipeline.constants import PARTITION_OBJECT_NAME, grouping_token

CACHE_DIR = REPO_ROOT / ".bench"
GENERATOR_VERSION = "1"
PAGE_ROWS = 1000
SEED = 20261122
WINDOW_START = date(2026, 10, 1)
WINDOW_DAYS = 31
GROUP_BY = ["HttpMethod", "OAuthClientId", "TemplateUri"]
GROUPING = grouping_token(GROUP_BY)
DEFAULT_SIZES = (100_000, 1_000_000)
DEFAULT_REPEATS = {100_000: 5, 1_000_000: 3}
JQ_FILTER = ".results[]"

# Realistic values: Genesys API paths, client names with non-ASCII, quotes and commas.
CLIENT_NAMES = (
    "Salesforce CTI",
    "Zendesk Sync",
    'WFM "nightly" export',
    "Intégration CRM, Paris",
    "Münchner Dialer",
    "Reporting ETL",
    "Genesys Cloud CLI",
    "Data Actions",
    "Architect Flows",
    "日本語 client",
    "Bot Connector",
    "Quality, Surveys & Speech",
)
TEMPLATE_URIS = (
    "api/v2/users/{userId}",
    "api/v2/users",
    "api/v2/users/{userId}/presences/{sourceId}",
    "api/v2/analytics/conversations/details/query",
    "api/v2/analytics/conversations/aggregates/query",
    "api/v2/analytics/users/details/query",
    "api/v2/conversations/{conversationId}",
    "api/v2/conversations/calls/{conversationId}/participants/{participantId}",
    "api/v2/routing/queues",
    "api/v2/routing/queues/{queueId}/members",
    "api/v2/routing/skills",
    "api/v2/recording/jobs",
    "api/v2/quality/evaluations/query",
    "api/v2/outbound/campaigns/{campaignId}",
    "api/v2/notifications/channels",
    "api/v2/notifications/channels/{channelId}/subscriptions",
    "api/v2/externalcontacts/contacts/{contactId}",
    "api/v2/flows/datatables/{datatableId}/rows",
    "api/v2/usage/query",
    "api/v2/workforcemanagement/managementunits/{muId}/schedules",
)
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


@dataclass(frozen=True)
class Measurement:
    seconds: float
    peak_bytes: int
    # user + system CPU: next to the wall time, it shows how much the machine was shared (our
    # transform runs on every core, jq on one).
    cpu_seconds: float


# --- data generation ---------------------------------------------------------------------------


def _clients(rng: random.Random, count: int) -> list[tuple[str, str]]:
    return [
        (
            str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            f"{CLIENT_NAMES[i % len(CLIENT_NAMES)]} #{i}",
        )
        for i in range(count)
    ]


def _rows(total: int) -> Iterator[dict[str, Any]]:
    """`total` legacy rows ordered by date (as the API returns them), Day granularity."""
    rng = random.Random(SEED)  # noqa: S311 (synthetic data, not security)
    clients = _clients(rng, 60)
    per_day, extra = divmod(total, WINDOW_DAYS)
    for day_index in range(WINDOW_DAYS):
        stamp = (WINDOW_START + timedelta(days=day_index)).isoformat() + "T00:00:00Z"
        for _ in range(per_day + (1 if day_index < extra else 0)):
            client_id, client_name = rng.choice(clients)
            status200 = int(rng.paretovariate(1.2) * 20)
            status400 = rng.randrange(8) if rng.random() < 0.3 else 0
            status429 = rng.randrange(status400 + 1)
            status500 = 1 if rng.random() < 0.02 else 0
            yield {
                "clientId": client_id,
                "clientName": client_name,
                "organizationId": "",
                "userId": "",
                "templateUri": rng.choice(TEMPLATE_URIS),
                "httpMethod": rng.choice(HTTP_METHODS),
                "status200": status200,
                "status300": 0,
                "status400": status400,
                "status500": status500,
                "status429": status429,
                "requests": status200 + status400 + status500,
                "date": stamp,
            }


def _chunks(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    chunk: list[dict[str, Any]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def dataset_dir(total: int) -> Path:
    """The cached data set of `total` rows, generated on first use."""
    directory = CACHE_DIR / f"legacy-{total}-v{GENERATOR_VERSION}"
    if not (directory / "complete").exists():
        _generate(directory, total)
    return directory


def _generate(directory: Path, total: int) -> None:
    print(f"generating {total} rows into {directory} ...", file=sys.stderr)
    shutil.rmtree(directory, ignore_errors=True)
    pages_dir = directory / "pages"
    pages_dir.mkdir(parents=True)
    query = {
        "api": "legacy",
        "granularity": "Day",
        "grouping": GROUPING,
        "groupBy": GROUP_BY,
        "start": WINDOW_START.isoformat(),
        "end": (WINDOW_START + timedelta(days=WINDOW_DAYS)).isoformat(),
    }
    (pages_dir / "query.json").write_bytes(orjson.dumps(query))
    # The single document is streamed page by page so generation memory stays flat.
    with gzip.open(directory / "doc.json.gz", "wb", compresslevel=6) as document:
        document.write(b'{"results":[')
        for number, chunk in enumerate(_chunks(_rows(total), PAGE_ROWS), start=1):
            page: dict[str, Any] = {"queryStatus": "Complete", "results": chunk}
            if number * PAGE_ROWS < total:
                page["cursors"] = {"after": f"cursor-{number:05d}"}
            (pages_dir / f"page-{number:05d}.json.gz").write_bytes(
                gzip.compress(orjson.dumps(page), compresslevel=6)
            )
            document.write((b"," if number > 1 else b"") + orjson.dumps(chunk)[1:-1])
        document.write(b'],"queryStatus":"Complete"}')
    (directory / "complete").write_text(GENERATOR_VERSION)


# --- measurement -------------------------------------------------------------------------------


def measure(command: Sequence[str], *, cwd: Path) -> Measurement:
    """Wall time and peak RSS of one run of `command` (and all processes it waited for)."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited with {process.returncode}")
    cpu = usage.ru_utime + usage.ru_stime
    return Measurement(seconds, usage.ru_maxrss * 1024, cpu)  # Linux reports ru_maxrss in KiB


def ensure_jq() -> str:
    """jq's path; installs Debian's jq with apt-get when it is missing and we may."""
    found = shutil.which("jq")
    if found is None and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-qq", "jq"], check=True)
        found = shutil.which("jq")
    if found is None:
        raise SystemExit("jq is not installed (apt-get install -y jq)")
    return found


def _count_parquet_rows(paths: list[Path]) -> int:
    with duckdb.connect() as connection:
        (count,) = connection.execute(
            "SELECT count(*) FROM read_parquet($files)", {"files": [str(p) for p in paths]}
        ).fetchone() or (0,)
    return int(count)


def _count_lines(paths: Iterator[Path]) -> int:
    total = 0
    for path in paths:
        with path.open("rb") as handle:
            total += sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b""))
    return total


def run_size(total: int, repeats: int, jq: str) -> tuple[float, float]:
    """Median speed-up (jq time / ours) and memory ratio (our peak / jq's) for one size."""
    directory = dataset_dir(total)
    ours_out = directory / "out-ours"
    jq_out = directory / "out-jq.json"
    ours_command = [
        sys.executable,
        "-m",
        "bench.run_transform",
        str(directory / "pages"),
        str(ours_out),
    ]
    jq_pipeline = f"gzip -dc '{directory / 'doc.json.gz'}' | {jq} -c '{JQ_FILTER}' > '{jq_out}'"
    jq_command = ["sh", "-c", jq_pipeline]
    ours: list[Measurement] = []
    theirs: list[Measurement] = []
    # One unmeasured run each first: both read their input through a warm page cache.
    for command in (ours_command, jq_command):
        shutil.rmtree(ours_out, ignore_errors=True)
        measure(command, cwd=REPO_ROOT)
    for _ in range(repeats):
        shutil.rmtree(ours_out, ignore_errors=True)
        ours.append(measure(ours_command, cwd=REPO_ROOT))
        theirs.append(measure(jq_command, cwd=REPO_ROOT))
    ours_rows = _count_parquet_rows(sorted(ours_out.rglob(PARTITION_OBJECT_NAME)))
    jq_rows = _count_lines(iter([jq_out]))
    if ours_rows != total or jq_rows != total:
        raise SystemExit(f"row counts differ: ours {ours_rows}, jq {jq_rows}, expected {total}")
    ours_time = statistics.median(m.seconds for m in ours)
    jq_time = statistics.median(m.seconds for m in theirs)
    ours_peak = statistics.median(m.peak_bytes for m in ours)
    jq_peak = statistics.median(m.peak_bytes for m in theirs)
    ours_cpu = statistics.median(m.cpu_seconds for m in ours)
    jq_cpu = statistics.median(m.cpu_seconds for m in theirs)
    print(
        f"  {total} rows x{repeats}: ours {ours_time:.3f} s (cpu {ours_cpu:.2f} s) "
        f"{ours_peak / 2**20:.1f} MiB; jq {jq_time:.3f} s (cpu {jq_cpu:.2f} s) "
        f"{jq_peak / 2**20:.1f} MiB",
        file=sys.stderr,
    )
    shutil.rmtree(ours_out, ignore_errors=True)
    jq_out.unlink(missing_ok=True)
    return jq_time / ours_time, ours_peak / jq_peak


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    parser.add_argument("--repeats", type=int, default=None, help="runs per side (median taken)")
    args = parser.parse_args(argv)
    jq = ensure_jq()
    # `make` exports PYTHONDONTWRITEBYTECODE: without this every measured run would compile our
    # modules from source first, which is start-up noise, not transform work.
    compileall.compile_dir(REPO_ROOT / "lambdas" / "usage_pipeline", quiet=1)
    compileall.compile_dir(REPO_ROOT / "bench", quiet=1)
    sizes = [int(size) for size in args.sizes.split(",")]
    results = {}
    for total in sizes:
        repeats = args.repeats or DEFAULT_REPEATS.get(total, 3)
        results[total] = run_size(total, repeats, jq)
    for total, (speed, memory) in results.items():
        print(f"transform {total} rows: speed {speed:.1f}x jq, peak memory {memory:.2f}x jq")
    return 0


if __name__ == "__main__":
    sys.exit(main())
