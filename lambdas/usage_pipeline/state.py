"""The state document: what the Step Functions states pass to each other, as typed models.

Every handler reads the whole document with ``RunState.from_json(event)``, changes its own member,
and returns ``state.to_json()``; the next state receives it unchanged (docs/contracts.md section
3). Only keys and counts travel here, never data: Step Functions caps a state at 256 KB.

JSON keys are the field names in camelCase (``submitted_at`` -> ``submittedAt``). Models are
frozen dataclasses: measured, pydantic would add about a third of ``import boto3`` to every cold
start for validation this document does not need (the pipeline writes every member itself).
"""

from __future__ import annotations

import dataclasses
import functools
import re
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self, TypeVar

from usage_pipeline.genesys.paging import PageCursor
from usage_pipeline.query import NormalizedQuery

M = TypeVar("M")
_CAMEL_BOUNDARY = re.compile(r"_([a-z0-9])")


@dataclass(frozen=True)
class Execution:
    """The execution that runs this document (``$$.Execution``)."""

    id: str
    name: str
    start_time: str


@dataclass(frozen=True)
class Job:
    """The Genesys query job and where it stands; ``state`` drives the JobState choice."""

    api: str
    id: str
    state: str
    status: str | None
    polls: int
    submitted_at: str
    message: str | None = None


@dataclass(frozen=True)
class Wait:
    """How long the WaitForJob state waits before the next poll (backoff or Retry-After)."""

    seconds: int


@dataclass(frozen=True)
class Raw:
    """The exact result pages stored under ``prefix``; ``next`` is where storing goes on.

    ``next`` is None once the last page is stored; otherwise the cursor of the first page not
    stored yet (the PagesLeft choice loops until it is None).
    """

    prefix: str
    pages: int
    rows: int
    next: PageCursor | None = None


@dataclass(frozen=True)
class Staged:
    """The run's partitions written to staging; per-partition detail is in the staging index."""

    prefix: str
    index_key: str
    partitions: int
    rows: int


@dataclass(frozen=True)
class Landed:
    """What land replaced in the table, and the manifest that records it."""

    manifest_key: str
    partitions: int
    rows: int
    requests: int | None
    status429: int | None
    crawler_started: bool
    crawler_already_running: bool
    landed_at: str
    already_landed: bool = False
    restated: int = 0  # partitions that came back with other rows than they held


@dataclass(frozen=True)
class ErrorInfo:
    """What a task's Catch writes: Step Functions' own ``Error`` and ``Cause`` names."""

    Error: str
    Cause: str


@dataclass(frozen=True)
class RunState:
    """The whole document. Members a state has not reached yet are absent from the JSON."""

    run_id: str
    execution: Execution
    query: NormalizedQuery
    job: Job
    wait: Wait
    raw: Raw | None = None
    staged: Staged | None = None
    landed: Landed | None = None
    error: ErrorInfo | None = None

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> Self:
        return from_json(cls, document)

    def to_json(self) -> dict[str, Any]:
        return to_json(self)


def to_json(model: Any) -> dict[str, Any]:
    """A model as the JSON the states pass; ``None`` members of ``RunState`` are left out."""
    document: dict[str, Any] = {}
    for item in dataclasses.fields(model):
        value = getattr(model, item.name)
        if value is None and isinstance(model, RunState):
            continue
        document[json_name(item.name)] = _dump(value)
    return document


def from_json(model_type: type[M], document: Mapping[str, Any]) -> M:
    """Read a model back from the JSON a state received (the pipeline wrote every member)."""
    hints = _hints(model_type)  # type: ignore[arg-type]  # dataclass types are hashable
    values: dict[str, Any] = {}
    for item in dataclasses.fields(model_type):  # type: ignore[arg-type]
        key = json_name(item.name)
        if key in document:
            values[item.name] = _load(hints[item.name], document[key])
    return model_type(**values)


def json_name(field_name: str) -> str:
    """``submitted_at`` -> ``submittedAt`` (``Error`` and ``status429`` stay as they are)."""
    return _CAMEL_BOUNDARY.sub(lambda match: match.group(1).upper(), field_name)


def _dump(value: Any) -> Any:
    if isinstance(value, NormalizedQuery):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return to_json(value)
    if isinstance(value, dict):
        return dict(value)
    return value


def _load(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    model = _model_of(hint)
    if model is NormalizedQuery:
        return NormalizedQuery.from_dict(value)
    if model is not None:
        return from_json(model, value)
    return value


def _model_of(hint: Any) -> type | None:
    """The dataclass a field holds (``Job`` of ``Job | None``), or None for plain values."""
    candidates = typing.get_args(hint) or (hint,)
    for candidate in candidates:
        if isinstance(candidate, type) and dataclasses.is_dataclass(candidate):
            return candidate
    return None


@functools.cache
def _hints(model_type: Any) -> dict[str, Any]:
    return typing.get_type_hints(model_type)
