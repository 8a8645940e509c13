"""The `/_sim/...` control endpoints: the Python control surface over HTTP (contracts section 8).

JSON keys are camelCase like the rest of the wire (`pollsUntilDone`, `retryAfter`); snake_case
and the options' `kebab-case` keys are accepted too, so a test can pass the same options it gives
`set_fault` or `--sim`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from local.genesys_simulator import faults, wire
from local.genesys_simulator.queries import QueryError
from local.genesys_simulator.simulator import (
    GenesysSimulator,
    SimRequest,
    SimResponse,
    api_error,
    json_response,
)

CONTROL_PREFIX = "/_sim/"


def handle_control(simulator: GenesysSimulator, request: SimRequest) -> SimResponse:
    try:
        body = json.loads(request.body.decode("utf-8") or "{}")
    except ValueError:
        return api_error(400, "The control request body is not valid JSON")
    if not isinstance(body, dict):
        return api_error(400, "The control request body must be a JSON object")
    options = {_snake(key): value for key, value in body.items()}
    action = (request.method, request.path.removeprefix(CONTROL_PREFIX).rstrip("/"))
    try:
        return _dispatch(simulator, action, options)
    except (faults.FaultError, QueryError, ValueError, TypeError) as error:
        return api_error(400, str(error))


def _dispatch(
    simulator: GenesysSimulator, action: tuple[str, str], options: dict[str, Any]
) -> SimResponse:
    handler = _ACTIONS.get(action)
    if handler is None:
        return api_error(404, f"No control endpoint {action[0]} {CONTROL_PREFIX}{action[1]}")
    status, payload = handler(simulator, options)
    return json_response(status, payload)


def _add_fault(simulator: GenesysSimulator, options: dict[str, Any]) -> tuple[int, Any]:
    kind = options.pop("kind", None)
    if not isinstance(kind, str):
        raise faults.FaultError(f"kind is required; one of {', '.join(faults.FAULT_KINDS)}")
    return 201, {"fault": _camel_keys(simulator.faults.add(kind, **options).describe())}


def _list_faults(simulator: GenesysSimulator, _options: dict[str, Any]) -> tuple[int, Any]:
    return 200, {"faults": [_camel_keys(fault) for fault in simulator.faults.describe()]}


def _clear_faults(simulator: GenesysSimulator, _options: dict[str, Any]) -> tuple[int, Any]:
    simulator.faults.clear()
    return 200, {"faults": []}


def _expected(simulator: GenesysSimulator, options: dict[str, Any]) -> tuple[int, Any]:
    api = options.pop("api", wire.API_AGGREGATES)
    query = {_camel(key): value for key, value in options.items()}
    return 200, {"rows": simulator.expected_rows(api, query)}


def _expected_count(simulator: GenesysSimulator, options: dict[str, Any]) -> tuple[int, Any]:
    api = options.pop("api", wire.API_AGGREGATES)
    query = {_camel(key): value for key, value in options.items()}
    return 200, {"rows": len(simulator.expected_result(api, query))}


def _stats(simulator: GenesysSimulator, _options: dict[str, Any]) -> tuple[int, Any]:
    return 200, simulator.stats()


def _reset_stats(simulator: GenesysSimulator, _options: dict[str, Any]) -> tuple[int, Any]:
    simulator.ledger.reset()
    return 200, simulator.stats()


def _configure(simulator: GenesysSimulator, options: dict[str, Any]) -> tuple[int, Any]:
    return 200, _camel_keys(simulator.configure(**options))


def _expire_tokens(simulator: GenesysSimulator, _options: dict[str, Any]) -> tuple[int, Any]:
    simulator.expire_tokens()
    return 200, {"expired": True}


def _organization(simulator: GenesysSimulator, _options: dict[str, Any]) -> tuple[int, Any]:
    organization = simulator.organization
    return 200, {
        "id": organization.id,
        "name": organization.name,
        "seed": simulator.seed,
        "size": organization.size,
        "today": simulator.today().isoformat(),
        "clients": [{"id": client.id, "name": client.name} for client in organization.clients],
        "users": len(organization.users),
        "templates": len(organization.templates),
        "streams": len(organization.streams),
    }


_ACTIONS: dict[tuple[str, str], Callable[[GenesysSimulator, dict[str, Any]], tuple[int, Any]]] = {
    ("POST", "faults"): _add_fault,
    ("GET", "faults"): _list_faults,
    ("DELETE", "faults"): _clear_faults,
    ("POST", "expected"): _expected,
    ("POST", "expected-count"): _expected_count,
    ("GET", "stats"): _stats,
    ("DELETE", "stats"): _reset_stats,
    ("GET", "config"): _configure,
    ("POST", "config"): _configure,
    ("POST", "expire-tokens"): _expire_tokens,
    ("GET", "organization"): _organization,
}


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).replace("-", "_").lower()


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _camel_keys(values: dict[str, Any]) -> dict[str, Any]:
    return {_camel(key): value for key, value in values.items()}
