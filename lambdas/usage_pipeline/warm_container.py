"""What a warm Lambda container keeps between invocations, and the one call that forgets it all.

A container lives for many invocations, so what is costly to make is made once and kept: boto3
clients, the HTTP session, the Genesys token, the functions' settings (the OAuth secret is kept by
Powertools Parameters, for a bounded time). Everything kept registers here; `forget_all()` empties
it as a new container would start, for the local runner (which runs every handler in one process)
and the tests.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_FORGETTERS: list[Callable[[], None]] = []


def kept(function: F) -> F:
    """Decorator: ``function``'s results (one per argument tuple) are kept until `forget_all`."""
    cached = functools.cache(function)
    _FORGETTERS.append(cached.cache_clear)
    return cached  # type: ignore[return-value]  # same signature, cached


def kept_dict() -> dict[Any, Any]:
    """A dict kept until `forget_all` (for values that expire on their own, such as tokens)."""
    kept_values: dict[Any, Any] = {}
    _FORGETTERS.append(kept_values.clear)
    return kept_values


def forget_all() -> None:
    """Forget everything a warm container keeps, the cached secret included."""
    from aws_lambda_powertools.utilities import parameters

    for forget in _FORGETTERS:
        forget()
    parameters.clear_caches()
