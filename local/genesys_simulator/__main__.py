"""`python -m local.genesys_simulator`: run the simulator until SIGINT or SIGTERM.

With `--port 0` the system picks a free port; the one line on stdout tells the base URL, so a
parent process can read it before talking to the simulator.
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from datetime import date
from types import FrameType

from local.genesys_simulator import wire
from local.genesys_simulator.server import DEFAULT_PORT, SimulatorServer
from local.genesys_simulator.simulator import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_POLLS_UNTIL_DONE,
    DEFAULT_SEED,
)


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m local.genesys_simulator",
        description="Genesys Cloud login + Usage API simulator on 127.0.0.1.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="the organization's seed")
    parser.add_argument(
        "--polls-until-done",
        type=int,
        default=DEFAULT_POLLS_UNTIL_DONE,
        help="status polls a job answers Queued/Running before it is done",
    )
    parser.add_argument(
        "--page-size",
        type=int,
        default=wire.DEFAULT_LEGACY_PAGE_SIZE,
        help="rows per page of the legacy API (aggregates takes pageSize per request)",
    )
    parser.add_argument(
        "--rate-limit-per-minute",
        type=int,
        default=wire.DEFAULT_RATE_LIMIT_PER_MINUTE,
        help="requests per token per rolling 60 s before 429",
    )
    parser.add_argument(
        "--token-expires-in", type=int, default=wire.DEFAULT_TOKEN_EXPIRES_IN, help="seconds"
    )
    parser.add_argument(
        "--today",
        type=date.fromisoformat,
        default=None,
        help="pretend the current UTC day is this YYYY-MM-DD (default: the real one)",
    )
    parser.add_argument("--log-level", default="WARNING")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    arguments = parse_arguments(argv)
    logging.basicConfig(level=arguments.log_level.upper())
    stop = threading.Event()

    def request_stop(_signal: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    server = SimulatorServer(
        client_id=arguments.client_id,
        client_secret=arguments.client_secret,
        seed=arguments.seed,
        polls_until_done=arguments.polls_until_done,
        page_size=arguments.page_size,
        rate_limit_per_minute=arguments.rate_limit_per_minute,
        token_expires_in=arguments.token_expires_in,
        today=arguments.today,
        port=arguments.port,
    )
    with server:
        print(f"Genesys Cloud simulator listening on {server.base_url}", flush=True)
        # Waiting in short slices lets the signal handler run promptly on every platform.
        while not stop.wait(0.2):
            pass


if __name__ == "__main__":
    main()
