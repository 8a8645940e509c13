"""The Lambda configuration: read once from the environment into typed, validated objects.

The handlers are the only callers; the logic modules take these values as parameters, so tests and
the benchmark never need environment variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

from usage_pipeline import constants as c
from usage_pipeline.errors import ConfigurationError


def _required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise ConfigurationError(f"environment variable {name} is required and is not set")
    return value


def _positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(
            f"environment variable {name}={raw!r} is not allowed; expected a positive integer"
        ) from None
    if value <= 0:
        raise ConfigurationError(
            f"environment variable {name}={raw!r} is not allowed; expected a positive integer"
        )
    return value


def _optional(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


@dataclass(frozen=True)
class GenesysConfig:
    """Where Genesys Cloud is and where its OAuth client credentials are kept."""

    environment: str
    secret_id: str
    login_url: str | None
    api_url: str | None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> GenesysConfig:
        return cls(
            environment=_required(environ, c.ENV_GENESYS_ENVIRONMENT),
            secret_id=_required(environ, c.ENV_GENESYS_SECRET_ID),
            login_url=_optional(environ, c.ENV_GENESYS_LOGIN_URL),
            api_url=_optional(environ, c.ENV_GENESYS_API_URL),
        )


@dataclass(frozen=True)
class PollingConfig:
    """How often to ask for the job's status and when to give up on it."""

    initial_wait_seconds: int
    max_wait_seconds: int
    job_timeout_seconds: int
    page_size: int

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> PollingConfig:
        page_size = _positive_int(environ, c.ENV_PAGE_SIZE, c.DEFAULT_PAGE_SIZE)
        if page_size > c.MAX_PAGE_SIZE:
            raise ConfigurationError(
                f"environment variable {c.ENV_PAGE_SIZE}={page_size} is not allowed; "
                f"the Usage API accepts 1..{c.MAX_PAGE_SIZE}"
            )
        return cls(
            initial_wait_seconds=_positive_int(
                environ, c.ENV_POLL_INITIAL_WAIT_SECONDS, c.DEFAULT_POLL_INITIAL_WAIT_SECONDS
            ),
            max_wait_seconds=_positive_int(
                environ, c.ENV_POLL_MAX_WAIT_SECONDS, c.DEFAULT_POLL_MAX_WAIT_SECONDS
            ),
            job_timeout_seconds=_positive_int(
                environ, c.ENV_JOB_TIMEOUT_SECONDS, c.DEFAULT_JOB_TIMEOUT_SECONDS
            ),
            page_size=page_size,
        )


@dataclass(frozen=True)
class StorageConfig:
    """The source bucket and the crawler that keeps the catalog in step with it."""

    source_bucket: str
    crawler_name: str | None

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> StorageConfig:
        return cls(
            source_bucket=_required(environ, c.ENV_SOURCE_BUCKET),
            crawler_name=_optional(environ, c.ENV_GLUE_CRAWLER_NAME),
        )

    def required_crawler_name(self) -> str:
        if self.crawler_name is None:
            raise ConfigurationError(
                f"environment variable {c.ENV_GLUE_CRAWLER_NAME} is required and is not set"
            )
        return self.crawler_name


@cache
def genesys_config() -> GenesysConfig:
    return GenesysConfig.from_environ(os.environ)


@cache
def polling_config() -> PollingConfig:
    return PollingConfig.from_environ(os.environ)


@cache
def storage_config() -> StorageConfig:
    return StorageConfig.from_environ(os.environ)


def clear_cache() -> None:
    """Forget what was read, for tests and the local runner that change the environment."""
    genesys_config.cache_clear()
    polling_config.cache_clear()
    storage_config.cache_clear()
