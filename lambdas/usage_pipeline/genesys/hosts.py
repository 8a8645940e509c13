"""Where Genesys Cloud is: the environment's host names, and checked base URLs for overrides."""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from typing import Final

from usage_pipeline.errors import ConfigurationError

_LOOPBACK_HOSTS: Final = frozenset({"localhost", "127.0.0.1", "::1"})
_ENVIRONMENT_PATTERN: Final = re.compile(
    r"^(?=.{4,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$"
)


def validate_environment(environment: str) -> str:
    """The Genesys Cloud environment as a bare host suffix such as ``mypurecloud.com``."""
    candidate = environment.strip().lower()
    if not _ENVIRONMENT_PATTERN.match(candidate):
        raise ConfigurationError(
            f"Genesys environment {environment!r} is not allowed; expected a host name such as "
            "'mypurecloud.com' or 'usw2.pure.cloud' (no scheme, no path)"
        )
    return candidate


def validate_base_url(url: str, *, name: str) -> str:
    """A base URL without a trailing slash: https anywhere, http only on a loopback host."""
    parts = urllib.parse.urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise ConfigurationError(f"{name} {url!r} is not allowed; expected an https:// URL")
    if parts.scheme == "http" and not _is_loopback(host):
        raise ConfigurationError(
            f"{name} {url!r} is not allowed; http:// is accepted only for loopback hosts "
            "(127.0.0.1, localhost, ::1), use https:// for anything else"
        )
    if parts.username or parts.password or parts.query or parts.fragment:
        raise ConfigurationError(
            f"{name} {url!r} is not allowed; a base URL has no credentials, query or fragment"
        )
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def login_and_api_urls(
    environment: str, login_url: str | None, api_url: str | None
) -> tuple[str, str]:
    """``https://login.<env>`` and ``https://api.<env>``, or the checked overrides."""
    environment = validate_environment(environment)
    return (
        validate_base_url(login_url or f"https://login.{environment}", name="Genesys login URL"),
        validate_base_url(api_url or f"https://api.{environment}", name="Genesys API URL"),
    )


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
