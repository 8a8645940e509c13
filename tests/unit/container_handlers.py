"""Handlers for tests/unit/test_scale_bench.py to run in a bench container process."""

from __future__ import annotations

import os
import time
from typing import Any


class QuotaError(Exception):
    """An error with a name of its own: the state machine matches errors by name."""


def where(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {
        "pid": os.getpid(),
        "event": event,
        "memory_mb": context.memory_limit_in_mb,
        "seconds_left": context.get_remaining_time_in_millis() / 1000.0,
    }


def refuse(event: dict[str, Any], context: Any) -> None:
    raise QuotaError(f"no room for {event['rows']} rows")


def linger(event: dict[str, Any], context: Any) -> None:
    """Says where it runs (in the file ``event["pid_file"]``), then runs past any timeout."""
    with open(event["pid_file"], "w", encoding="ascii") as pid_file:
        pid_file.write(str(os.getpid()))
    time.sleep(60)
