"""Each function's settings: its environment variables read into one typed object, validated once.

A handler calls ``<Function>Settings.current()`` first thing: on a container's first invocation
(its cold start) the variables are read and checked, and a missing or malformed one fails the
invocation with ``ConfigurationError`` naming the variable, its value and what is allowed, before
anything else happens; warm invocations reuse the object. The logic modules take these values as
parameters, so tests and the benchmark never need environment variables. The variables
(docs/contracts.md section 7) are set by the stack, per function (stacks/functions.py).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Self

from usage_pipeline import constants as c
from usage_pipeline.errors import ConfigurationError
from usage_pipeline.genesys.hosts import validate_base_url, validate_environment
from usage_pipeline.warm_container import kept

Environ = Mapping[str, str]


def _required(environ: Environ, name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(
            f"environment variable {name}={environ.get(name)!r} is not allowed; it is required "
            "and must not be empty"
        )
    return value


def _optional(environ: Environ, name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def _whole_number(environ: Environ, name: str, default: int, *, most: int | None = None) -> int:
    """A whole number from 1 (to ``most``); ``default`` when the variable is not set."""
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    allowed = f"a whole number from 1 to {most}" if most else "a whole number of at least 1"
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1 or (most is not None and value > most):
        raise ConfigurationError(f"environment variable {name}={raw!r} is not allowed; {allowed}")
    return value


@dataclass(frozen=True)
class PollSettings:
    """How often to ask for the job's status and when to give up on it."""

    initial_wait_seconds: int
    max_wait_seconds: int
    job_timeout_seconds: int


@dataclass(frozen=True)
class GenesysSettings:
    """Where Genesys Cloud is and where its OAuth client credentials are kept."""

    environment: str
    secret_id: str
    login_url: str | None
    api_url: str | None

    @classmethod
    def from_environ(cls, environ: Environ) -> GenesysSettings:
        environment = _required(environ, c.ENV_GENESYS_ENVIRONMENT)
        try:
            validate_environment(environment)
        except ConfigurationError as error:
            raise ConfigurationError(
                f"environment variable {c.ENV_GENESYS_ENVIRONMENT}: {error}"
            ) from None
        urls = {
            name: _optional(environ, name)
            for name in (c.ENV_GENESYS_LOGIN_URL, c.ENV_GENESYS_API_URL)
        }
        for name, url in urls.items():
            if url is not None:
                validate_base_url(url, name=f"environment variable {name}")
        return cls(
            environment=environment,
            secret_id=_required(environ, c.ENV_GENESYS_SECRET_ID),
            login_url=urls[c.ENV_GENESYS_LOGIN_URL],
            api_url=urls[c.ENV_GENESYS_API_URL],
        )


def _poll_settings(environ: Environ) -> PollSettings:
    return PollSettings(
        initial_wait_seconds=_whole_number(
            environ, c.ENV_POLL_INITIAL_WAIT_SECONDS, c.DEFAULT_POLL_INITIAL_WAIT_SECONDS
        ),
        max_wait_seconds=_whole_number(
            environ, c.ENV_POLL_MAX_WAIT_SECONDS, c.DEFAULT_POLL_MAX_WAIT_SECONDS
        ),
        job_timeout_seconds=_whole_number(
            environ, c.ENV_JOB_TIMEOUT_SECONDS, c.DEFAULT_JOB_TIMEOUT_SECONDS
        ),
    )


class _FunctionSettings:
    """``current()``: this function's settings, read from ``os.environ`` once per container."""

    @classmethod
    def from_environ(cls, environ: Environ) -> Self:
        raise NotImplementedError

    @classmethod
    def current(cls) -> Self:
        return _current(cls)  # type: ignore[return-value]  # _current returns what cls builds


@kept
def _current(kind: type[_FunctionSettings]) -> _FunctionSettings:
    return kind.from_environ(os.environ)


@dataclass(frozen=True)
class SubmitQuerySettings(_FunctionSettings):
    genesys: GenesysSettings
    polling: PollSettings

    @classmethod
    def from_environ(cls, environ: Environ) -> Self:
        return cls(GenesysSettings.from_environ(environ), _poll_settings(environ))


@dataclass(frozen=True)
class PollStatusSettings(_FunctionSettings):
    genesys: GenesysSettings
    polling: PollSettings
    source_bucket: str
    page_size: int

    @classmethod
    def from_environ(cls, environ: Environ) -> Self:
        return cls(
            genesys=GenesysSettings.from_environ(environ),
            polling=_poll_settings(environ),
            source_bucket=_required(environ, c.ENV_SOURCE_BUCKET),
            page_size=_whole_number(
                environ, c.ENV_PAGE_SIZE, c.DEFAULT_PAGE_SIZE, most=c.MAX_PAGE_SIZE
            ),
        )


@dataclass(frozen=True)
class TransformSettings(_FunctionSettings):
    source_bucket: str

    @classmethod
    def from_environ(cls, environ: Environ) -> Self:
        return cls(source_bucket=_required(environ, c.ENV_SOURCE_BUCKET))


@dataclass(frozen=True)
class LandSettings(_FunctionSettings):
    source_bucket: str
    crawler_name: str

    @classmethod
    def from_environ(cls, environ: Environ) -> Self:
        return cls(
            source_bucket=_required(environ, c.ENV_SOURCE_BUCKET),
            crawler_name=_required(environ, c.ENV_GLUE_CRAWLER_NAME),
        )
