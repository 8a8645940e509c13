"""A faithful fake of the Genesys Cloud login and Usage APIs over real HTTP on 127.0.0.1.

Used by the tests and by the local end-to-end run; see README.md next to this file and
docs/contracts.md sections 1 and 8. `parse_settings(["week-start=sunday", ...])` turns
`KEY=VALUE` texts into `SimulatorServer` keyword arguments (options.py is the table).
"""

from __future__ import annotations

from local.genesys_simulator.faults import FAULT_KINDS
from local.genesys_simulator.options import SettingError, options_help, parse_settings
from local.genesys_simulator.queries import QueryError
from local.genesys_simulator.server import DEFAULT_PORT, SimulatorServer

__all__ = [
    "DEFAULT_PORT",
    "FAULT_KINDS",
    "QueryError",
    "SettingError",
    "SimulatorServer",
    "options_help",
    "parse_settings",
]
