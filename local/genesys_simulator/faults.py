"""Faults a test switches on to see how a client copes with a misbehaving Genesys.

A fault is a rule: which kind, where it applies (endpoint, API, results page), how many times it
fires (`count`, None = until cleared), after letting how many matching requests pass (`skip`), and
with what probability (drawn from a generator seeded like the organization, so runs repeat).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any, Final

from local.genesys_simulator import wire

RATE_LIMIT: Final = "rate-limit"
SERVER_ERROR: Final = "server-error"
REQUEST_TIMEOUT: Final = "request-timeout"
SLOW: Final = "slow"
JOB_FAILED: Final = "job-failed"
JOB_CANCELLED: Final = "job-cancelled"
JOB_STUCK: Final = "job-stuck"
UNKNOWN_STATUS: Final = "unknown-status"
MALFORMED_PAGE: Final = "malformed-page"
TRUNCATED_PAGE: Final = "truncated-page"
CURSOR_LOOP: Final = "cursor-loop"
BAD_CREDENTIALS: Final = "bad-credentials"
# The job faults decide a job's fate when it is submitted, in this order of precedence.
JOB_FAULTS: Final = (JOB_FAILED, JOB_CANCELLED, JOB_STUCK)
# Faults answering an error status before the request is looked at, in the order they are tried.
ERROR_STATUS_FAULTS: Final = (SERVER_ERROR, REQUEST_TIMEOUT)

# Endpoints a fault can be scoped to; "api" and "any" are shorthands.
TOKEN: Final = "token"  # noqa: S105 - an endpoint name, not a secret
SUBMIT: Final = "submit"
RESULTS: Final = "results"  # job status and result pages (both APIs)
_ENDPOINT_SCOPES: Final = {
    TOKEN: frozenset({TOKEN}),
    SUBMIT: frozenset({SUBMIT}),
    RESULTS: frozenset({RESULTS}),
    "api": frozenset({SUBMIT, RESULTS}),
    "any": frozenset({TOKEN, SUBMIT, RESULTS}),
}
TRUNCATE_MODES: Final = ("content-length", "short")
SERVER_ERROR_STATUSES: Final = (500, 502, 503, 504)
# Statuses a job answers that Genesys documents; an unknown-status fault must send another one.
DOCUMENTED_QUERY_STATUSES: Final = (
    wire.AGGREGATES_QUEUED,
    wire.AGGREGATES_RUNNING,
    wire.AGGREGATES_SUCCEEDED,
    wire.LEGACY_COMPLETE,
    wire.STATUS_FAILED,
    wire.STATUS_CANCELLED,
)

# kind -> (default endpoint scope, default count, kind-specific options with their defaults).
# The one source of the fault kinds: FAULT_KINDS, the README's table and contracts section 8
# follow it (a unit test holds the two documents to it).
_KIND_DEFAULTS: Final[dict[str, tuple[str, int | None, dict[str, Any]]]] = {
    RATE_LIMIT: ("api", 1, {"retry_after": 1}),
    SERVER_ERROR: ("api", 1, {"status": 500}),
    REQUEST_TIMEOUT: ("api", 1, {}),
    SLOW: ("any", None, {"seconds": 1.0}),
    JOB_FAILED: (
        SUBMIT,
        1,
        {"message": "The query failed: simulated failure of the usage job", "error_body": True},
    ),
    JOB_CANCELLED: (SUBMIT, 1, {}),
    JOB_STUCK: (SUBMIT, 1, {}),
    UNKNOWN_STATUS: (SUBMIT, 1, {"status": "Pending", "polls": 3}),
    MALFORMED_PAGE: (RESULTS, 1, {}),
    TRUNCATED_PAGE: (RESULTS, 1, {"mode": "content-length"}),
    CURSOR_LOOP: (RESULTS, None, {}),
    BAD_CREDENTIALS: (TOKEN, None, {}),
}
FAULT_KINDS: Final = tuple(_KIND_DEFAULTS)
COMMON_OPTIONS: Final = ("endpoint", "api", "count", "skip", "probability", "page")


def defaults_of(kind: str) -> tuple[str, int | None, dict[str, Any]]:
    """A kind's default endpoint scope, default count and own options with their defaults."""
    endpoint, count, options = _KIND_DEFAULTS[kind]
    return endpoint, count, dict(options)


class FaultError(ValueError):
    """An unknown fault kind or option; the control endpoint answers it with 400."""


@dataclass
class Fault:
    id: int
    kind: str
    endpoints: frozenset[str]
    apis: frozenset[str]
    count: int | None  # firings left; None: until cleared
    skip: int  # matching requests still to let through before firing
    probability: float
    page: int | None  # result page faults: only this 1-based page
    options: dict[str, Any] = field(default_factory=dict)
    fired: int = 0

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "endpoints": sorted(self.endpoints),
            "apis": sorted(self.apis),
            "count": self.count,
            "skip": self.skip,
            "probability": self.probability,
            "page": self.page,
            "fired": self.fired,
            **self.options,
        }


class FaultBook:
    """The active faults; request threads consult it concurrently."""

    def __init__(self, seed: int) -> None:
        self._faults: list[Fault] = []
        self._next_id = 1
        self._rng = random.Random(f"genesys-sim/faults/{seed}")  # noqa: S311 - repeatable, not secret
        self._lock = threading.Lock()

    def add(self, kind: str, **options: Any) -> Fault:
        fault = _build_fault(kind, options, fault_id=self._next_id)
        with self._lock:
            self._next_id += 1
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def describe(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.describe() for fault in self._faults]

    def fire(
        self, kind: str, endpoint: str, api: str | None = None, page: int | None = None
    ) -> Fault | None:
        """The first fault of `kind` that matches and fires now (consuming one of its count)."""
        with self._lock:
            for fault in self._faults:
                if fault.kind != kind or endpoint not in fault.endpoints:
                    continue
                if api is not None and api not in fault.apis:
                    continue
                if fault.page is not None and page != fault.page:
                    continue
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                if fault.probability < 1.0 and self._rng.random() >= fault.probability:
                    continue
                fault.fired += 1
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.remove(fault)
                return fault
        return None


def _build_fault(kind: str, options: dict[str, Any], fault_id: int) -> Fault:
    if kind not in _KIND_DEFAULTS:
        raise FaultError(f"Unknown fault kind {kind!r}; allowed: {', '.join(FAULT_KINDS)}")
    default_endpoint, default_count, kind_defaults = _KIND_DEFAULTS[kind]
    unknown = set(options) - set(COMMON_OPTIONS) - set(kind_defaults)
    if unknown:
        allowed = ", ".join((*COMMON_OPTIONS, *kind_defaults))
        raise FaultError(f"Unknown option(s) {sorted(unknown)} for {kind}; allowed: {allowed}")
    endpoint = options.get("endpoint", default_endpoint)
    if endpoint not in _ENDPOINT_SCOPES:
        raise FaultError(f"Unknown endpoint {endpoint!r}; allowed: {', '.join(_ENDPOINT_SCOPES)}")
    api = options.get("api")
    if api is not None and api not in wire.APIS:
        raise FaultError(f"Unknown api {api!r}; allowed: {', '.join(wire.APIS)}")
    count = options.get("count", default_count)
    if count is not None and (not isinstance(count, int) or count < 1):
        raise FaultError(f"count must be a positive integer or null, not {count!r}")
    skip = options.get("skip", 0)
    probability = options.get("probability", 1.0)
    page = options.get("page")
    if not isinstance(skip, int) or skip < 0:
        raise FaultError(f"skip must be a non-negative integer, not {skip!r}")
    if not isinstance(probability, int | float) or not 0 < probability <= 1:
        raise FaultError(f"probability must be in (0, 1], not {probability!r}")
    if page is not None and (not isinstance(page, int) or page < 1):
        raise FaultError(f"page must be a positive integer (1 is the first page), not {page!r}")
    specific = {name: options.get(name, default) for name, default in kind_defaults.items()}
    _check_specific(kind, specific)
    return Fault(
        id=fault_id,
        kind=kind,
        endpoints=_ENDPOINT_SCOPES[endpoint],
        apis=frozenset({api}) if api else frozenset(wire.APIS),
        count=count,
        skip=skip,
        probability=float(probability),
        page=page,
        options=specific,
    )


def _check_specific(kind: str, options: dict[str, Any]) -> None:
    if kind == RATE_LIMIT and (
        not isinstance(options["retry_after"], int) or options["retry_after"] < 0
    ):
        raise FaultError(f"retry_after must be whole seconds >= 0, not {options['retry_after']!r}")
    if kind == SERVER_ERROR and options["status"] not in SERVER_ERROR_STATUSES:
        raise FaultError(
            f"status must be one of {list(SERVER_ERROR_STATUSES)}, not {options['status']!r}"
        )
    if kind == SLOW and (not isinstance(options["seconds"], int | float) or options["seconds"] < 0):
        raise FaultError(f"seconds must be a number >= 0, not {options['seconds']!r}")
    if kind == TRUNCATED_PAGE and options["mode"] not in TRUNCATE_MODES:
        raise FaultError(f"mode must be one of {list(TRUNCATE_MODES)}, not {options['mode']!r}")
    if kind == JOB_FAILED and not isinstance(options["message"], str):
        raise FaultError(f"message must be a string, not {options['message']!r}")
    if kind == JOB_FAILED and not isinstance(options["error_body"], bool):
        raise FaultError(f"error_body must be true or false, not {options['error_body']!r}")
    if kind == UNKNOWN_STATUS:
        status, polls = options["status"], options["polls"]
        if not isinstance(status, str) or not status or status in DOCUMENTED_QUERY_STATUSES:
            raise FaultError(
                f"status must be a queryStatus Genesys does not document, not {status!r} "
                f"(documented: {', '.join(DOCUMENTED_QUERY_STATUSES)})"
            )
        if isinstance(polls, bool) or not isinstance(polls, int) or polls < 1:
            raise FaultError(f"polls must be a positive integer, not {polls!r}")
