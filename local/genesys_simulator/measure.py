"""`python -m local.genesys_simulator.measure`: how fast and how big the simulated data is.

Draws an organization and computes a backfill's rows the way a job does (the same code path as
`POST .../jobs`), then renders every page: time, CPU time and peak memory (the process's maximum
resident set) at each step. The figures in README.md ("The data") come from here.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from datetime import date, timedelta

from local.genesys_simulator import wire
from local.genesys_simulator.options import ORGANIZATION_SIZES, SimulatorSettings
from local.genesys_simulator.simulator import DEFAULT_SEED, GenesysSimulator

DEFAULT_GROUPING = ("OauthClientId", "TemplateUri", "HttpMethod")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local.genesys_simulator.measure")
    parser.add_argument("--org", choices=ORGANIZATION_SIZES, default="large")
    parser.add_argument("--days", type=int, default=30, help="the backfill's length")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--today", type=date.fromisoformat, default=date(2026, 11, 22))
    parser.add_argument("--granularity", choices=wire.GRANULARITIES, default="Day")
    parser.add_argument("--page-size", type=int, default=wire.MAX_PAGE_SIZE)
    arguments = parser.parse_args(argv)
    say = _Stopwatch()

    simulator = GenesysSimulator(
        SimulatorSettings(today=arguments.today, org=arguments.org), seed=arguments.seed
    )
    organization = simulator.organization
    say(
        f"organization {organization.size} (seed {arguments.seed}): "
        f"{len(organization.clients)} OAuth clients, {len(organization.templates)} template "
        f"URIs, {len(organization.users)} people, {len(organization.streams)} traffic streams"
    )

    last_day = arguments.today - timedelta(days=1)
    first_day = last_day - timedelta(days=arguments.days - 1)
    query = {
        "interval": f"{first_day}T00:00:00Z/{last_day}T23:59:59Z",
        "granularity": arguments.granularity,
        "groupBy": list(DEFAULT_GROUPING),
    }
    result = simulator.expected_result(wire.API_AGGREGATES, query)
    per_period = [rows for _, rows in result.rows_per_period()]
    pages = -(-len(result) // arguments.page_size)
    say(
        f"{arguments.days} days {first_day}..{last_day} of [{', '.join(DEFAULT_GROUPING)}] by "
        f"{arguments.granularity}: {len(result)} rows; per period min {min(per_period)}, "
        f"mean {sum(per_period) // len(per_period)}, max {max(per_period)}; "
        f"{pages} pages of {arguments.page_size}"
    )

    rendered = 0
    for start in range(0, len(result), arguments.page_size):
        rendered += len(result.rows(start, start + arguments.page_size))
    say(f"rendered every page ({rendered} rows), one page at a time")


class _Stopwatch:
    """Prints a line with the time since the previous one and the peak memory so far."""

    def __init__(self) -> None:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()

    def __call__(self, text: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        # ru_maxrss is in KiB on Linux (bytes on macOS).
        scale = 1 if sys.platform == "darwin" else 1024
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20
        print(
            f"{text}\n    {wall - self._wall:.2f} s ({cpu - self._cpu:.2f} s CPU); "
            f"peak memory so far {peak:.0f} MiB",
            flush=True,
        )
        self._wall, self._cpu = wall, cpu


if __name__ == "__main__":
    main()
