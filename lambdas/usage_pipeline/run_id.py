"""The run id: ``<execution start as YYYYMMDDTHHMMSSZ>-<first 8 hex of sha256(execution id)>``.

Both parts come from the execution (``$$.Execution.StartTime`` and ``$$.Execution.Id``), never from
the clock, so a retried task computes the same id and writes to the same ``run=<runId>`` prefixes,
while two executions differ by their ids. The time first makes ids sort by start in S3 listings.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

from usage_pipeline.errors import InvalidInput
from usage_pipeline.intervals import parse_utc_offset

RUN_ID_HASH_LENGTH = 8
START_TIME_FORM = (
    "an ISO-8601 date-time with Z or an offset, as Step Functions gives $$.Execution.StartTime "
    "(e.g. 2026-11-22T01:40:00.123Z, 2026-11-22T01:40:00Z or 2026-11-22T01:40:00+00:00)"
)
# Strict on purpose: [0-9] (not \d, which matches non-ASCII digits) and no surrounding whitespace.
_START_TIME_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})"
    r"(?:\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})"
)
# Longer than any accepted form (35 characters); keeps error messages short for garbage input.
_MAX_START_TIME_LENGTH = 64


def run_id_for(execution_id: str, start_time: str) -> str:
    """The run id of the execution ``execution_id`` that started at ``start_time``."""
    started = execution_start_utc(start_time)
    return f"{started:%Y%m%dT%H%M%SZ}-{_execution_hash(execution_id)}"


def execution_start_utc(start_time: str) -> datetime:
    """``$$.Execution.StartTime`` as an aware UTC datetime, truncated to the second.

    Its ``.date()`` is the UTC date to pass as ``today`` to ``query.parse_query``: it stays the
    same when a task is retried after midnight.
    """
    if not isinstance(start_time, str):
        raise InvalidInput(
            "execution.startTime", start_time, f"expected a string; {START_TIME_FORM}"
        )
    match = (
        _START_TIME_RE.fullmatch(start_time) if len(start_time) <= _MAX_START_TIME_LENGTH else None
    )
    if match is None:
        raise InvalidInput("execution.startTime", _clipped(start_time), START_TIME_FORM)
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    try:
        local = datetime(
            year, month, day, hour, minute, second, tzinfo=parse_utc_offset(match.group(7))
        )
        return local.astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise InvalidInput(
            "execution.startTime", start_time, f"not a valid date-time ({error}); {START_TIME_FORM}"
        ) from error


def _execution_hash(execution_id: str) -> str:
    if not isinstance(execution_id, str) or not execution_id:
        raise InvalidInput(
            "execution.id", _clipped(execution_id), "a non-empty string ($$.Execution.Id)"
        )
    digest = hashlib.sha256(execution_id.encode("utf-8", errors="surrogatepass")).hexdigest()
    return digest[:RUN_ID_HASH_LENGTH]


def _clipped(value: object) -> object:
    if isinstance(value, str) and len(value) > _MAX_START_TIME_LENGTH:
        return f"{value[:_MAX_START_TIME_LENGTH]}... ({len(value)} characters)"
    return value
