"""UTC time, written one way: every timestamp in the state document, the rows and the manifests.

`2026-11-22T01:41:07Z`: UTC, whole seconds, `Z`. Lambda clocks are UTC; a naive datetime here can
only mean UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Final

TIMESTAMP_FORMAT: Final = "%Y-%m-%dT%H:%M:%SZ"


def now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return now().date()


def as_utc(moment: datetime) -> datetime:
    """``moment`` in UTC; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def timestamp(moment: datetime) -> str:
    """`2026-11-22T01:41:07Z`."""
    return as_utc(moment).strftime(TIMESTAMP_FORMAT)


def parse_timestamp(text: str) -> datetime:
    """A timestamp as :func:`timestamp` writes it, back as an aware UTC datetime."""
    return datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=UTC)
