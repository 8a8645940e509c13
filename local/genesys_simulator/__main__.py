"""`python -m local.genesys_simulator`: run the simulator until SIGINT or SIGTERM.

With `--port 0` the system picks a free port; the one line on stdout tells the base URL, so a
parent process can read it before talking to the simulator. Every option of
options.SimulatorSettings is a flag (`--week-start sunday`, `--org large`, `--latency 0.05`).
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from local.genesys_simulator.options import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    OPTIONS,
    Option,
    SettingError,
)
from local.genesys_simulator.server import DEFAULT_PORT, SimulatorServer
from local.genesys_simulator.simulator import DEFAULT_SEED


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
    for option in OPTIONS:
        parser.add_argument(
            f"--{option.key}",
            dest=option.name,
            type=_argument_type(option),
            default=option.default,
            metavar="VALUE",
            help=f"{option.help}; {option.allowed()}",
        )
    parser.add_argument("--log-level", default="WARNING")
    return parser.parse_args(argv)


def _argument_type(option: Option) -> Callable[[str], Any]:
    """argparse shows an ArgumentTypeError's own message: the option, the value, what is allowed."""

    def parse(text: str) -> Any:
        try:
            return option.parse_text(text)
        except SettingError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


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
        port=arguments.port,
        **{option.name: getattr(arguments, option.name) for option in OPTIONS},
    )
    with server:
        print(f"Genesys Cloud simulator listening on {server.base_url}", flush=True)
        # Waiting in short slices lets the signal handler run promptly on every platform.
        while not stop.wait(0.2):
            pass


if __name__ == "__main__":
    main()
