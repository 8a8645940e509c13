"""The one place the local pipeline's "today" is pinned: every clock of this process moves.

The product reads "today" in several places: the execution's start time (moto) gives submit_query
its UTC day, the handlers stamp rows and manifests with ``utc_now()``, the simulator answers up to
its own today. Pinning each separately would let them disagree, so a pinned day moves the whole
process's wall clock (``time``, ``datetime``, in every thread) to noon UTC of that day, ticking
from there. Monotonic clocks and sleeps stay real: Lambda timeouts, Retry-After waits and the
simulator's rate-limit windows still take real seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time

import time_machine

# Noon: a run that takes minutes stays on the pinned day.
PINNED_TIME_OF_DAY = time(12, 0)


@contextmanager
def utc_day(day: date) -> Iterator[None]:
    """While open, this process's wall clock reads ``day`` (from noon UTC, ticking)."""
    with time_machine.travel(datetime.combine(day, PINNED_TIME_OF_DAY, tzinfo=UTC), tick=True):
        yield
