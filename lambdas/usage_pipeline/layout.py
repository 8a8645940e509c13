"""S3 keys of the source bucket (docs/contracts.md section 6), built in one place.

Every key part is checked before it goes into a key: a run id or grouping token with a `/` or `=`
would otherwise write outside its prefix or break Athena's partition parsing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Final

from usage_pipeline.constants import (
    APIS,
    GRANULARITIES,
    MANIFESTS_PREFIX,
    PARTITION_OBJECT_NAME,
    RAW_PREFIX,
    STAGING_PREFIX,
    USAGE_PREFIX,
)

_RUN_ID: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
_GROUPING: Final = re.compile(r"[a-z][a-z_]{0,254}")
_GRANULARITY_TOKENS: Final = frozenset(g.lower() for g in GRANULARITIES)
STAGING_INDEX_NAME: Final = "index.json"
RAW_PROGRESS_NAME: Final = "progress.json"


@dataclass(frozen=True, order=True)
class Partition:
    """One partition of the usage table: (API, granularity token, grouping token, period start).

    The API is a partition key: the two Usage APIs count different traffic (the aggregates one
    also counts Genesys's own clients), so a partition never mixes them.
    """

    api: str
    granularity: str
    grouping: str
    date: str

    @property
    def id(self) -> str:
        """`aggregates/day/<grouping>/2026-11-20`: the short name used in counts and logs."""
        return f"{self.api}/{self.granularity}/{self.grouping}/{self.date}"

    @property
    def path(self) -> str:
        """`api=aggregates/granularity=day/grouping=<t>/date=2026-11-20/`: the Hive-style path."""
        return (
            f"api={self.api}/granularity={self.granularity}/grouping={self.grouping}/"
            f"date={self.date}/"
        )


def partition(api: str, granularity: str, grouping: str, day: date | str) -> Partition:
    """A checked Partition; granularity in any case (`Day` or `day`), day as date or ISO text."""
    if api not in APIS:
        raise ValueError(f"api: {api!r} is not one of {APIS}")
    token = granularity.lower()
    if token not in _GRANULARITY_TOKENS:
        raise ValueError(f"granularity: {granularity!r} is not one of {GRANULARITIES}")
    if not _GROUPING.fullmatch(grouping):
        raise ValueError(f"grouping: {grouping!r} is not a grouping token (a-z and _)")
    text = day.isoformat() if isinstance(day, date) else day
    try:
        date.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError(f"date: {day!r} is not a date (YYYY-MM-DD)") from None
    if len(text) != len("YYYY-MM-DD"):
        raise ValueError(f"date: {day!r} is not a date (YYYY-MM-DD)")
    return Partition(api, token, grouping, text)


def _run(run_id: str) -> str:
    if not _RUN_ID.fullmatch(run_id):
        raise ValueError(f"run id: {run_id!r} is not a run id")
    return f"run={run_id}/"


def raw_prefix(run_id: str) -> str:
    return f"{RAW_PREFIX}{_run(run_id)}"


def raw_page_key(run_id: str, number: int) -> str:
    """`raw/run=<id>/page-00001.json.gz`; pages count from 1."""
    if number < 1:
        raise ValueError(f"page number: {number!r} is not >= 1")
    return f"{raw_prefix(run_id)}page-{number:05d}.json.gz"


def raw_progress_key(run_id: str) -> str:
    """`raw/run=<id>/progress.json`: how far the download got (a retried invocation resumes)."""
    return f"{raw_prefix(run_id)}{RAW_PROGRESS_NAME}"


def staging_prefix(run_id: str) -> str:
    return f"{STAGING_PREFIX}{_run(run_id)}"


def staging_key(run_id: str, part: Partition) -> str:
    """`staging/run=<id>/api=<a>/granularity=<g>/grouping=<t>/date=<d>/usage.parquet`."""
    return f"{staging_prefix(run_id)}{part.path}{PARTITION_OBJECT_NAME}"


def staging_index_key(run_id: str) -> str:
    """The staging index: per partition rows, bytes and sha256 (too big for the state document)."""
    return f"{staging_prefix(run_id)}{STAGING_INDEX_NAME}"


def partition_prefix(part: Partition) -> str:
    """`usage/api=<a>/granularity=<g>/grouping=<t>/date=<d>/`: everything under it is that one."""
    return f"{USAGE_PREFIX}{part.path}"


def partition_key(part: Partition) -> str:
    """`usage/api=<a>/granularity=<g>/grouping=<t>/date=<d>/usage.parquet`: its one object."""
    return f"{partition_prefix(part)}{PARTITION_OBJECT_NAME}"


def manifest_key(run_id: str) -> str:
    """`manifests/run=<id>.json`."""
    return f"{MANIFESTS_PREFIX}{_run(run_id)[:-1]}.json"
