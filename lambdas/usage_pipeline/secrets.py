"""The Genesys Cloud OAuth client credentials, read from Secrets Manager once per container.

The secret is a JSON object ``{"clientId": "...", "clientSecret": "..."}`` (docs/contracts.md
section 7). Nothing here ever puts the secret's value into an exception, a log line or a repr:
errors name the secret id and what is wrong with it, never what it holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from usage_pipeline.errors import SecretInvalid

_REDACTED = "***"


@dataclass(frozen=True)
class ClientCredentials:
    """An OAuth client-credentials pair. ``repr`` and ``str`` never show the secret."""

    client_id: str
    client_secret: str

    def __repr__(self) -> str:
        return f"ClientCredentials(client_id={self.client_id!r}, client_secret={_REDACTED!r})"

    __str__ = __repr__


# Warm Lambda containers reuse module state: one Secrets Manager call per container and secret id.
_CREDENTIALS_CACHE: dict[str, ClientCredentials] = {}


def clear_credentials_cache() -> None:
    """Forget every cached secret (tests; a rotated secret is picked up by a new container)."""
    _CREDENTIALS_CACHE.clear()


def read_client_credentials(secret_id: str, secrets_client: Any = None) -> ClientCredentials:
    """The credentials held by ``secret_id``, from the container cache or Secrets Manager.

    ``secrets_client`` is a boto3 ``secretsmanager`` client; one is created when it is needed and
    none was given. Raises ``SecretInvalid`` when the secret is missing, unreadable, not JSON, or
    lacks a non-empty ``clientId`` / ``clientSecret``.
    """
    cached = _CREDENTIALS_CACHE.get(secret_id)
    if cached is not None:
        return cached
    secret_string = _fetch_secret_string(secret_id, secrets_client)
    credentials = parse_client_credentials(secret_string, secret_id=secret_id)
    _CREDENTIALS_CACHE[secret_id] = credentials
    return credentials


def credentials_provider(
    secret_id: str, *, secrets_client: Any = None
) -> Callable[[], ClientCredentials]:
    """A provider for ``GenesysClient``: the secret is read only when a token is first needed."""

    def provide() -> ClientCredentials:
        return read_client_credentials(secret_id, secrets_client=secrets_client)

    return provide


def parse_client_credentials(secret_string: str, *, secret_id: str) -> ClientCredentials:
    """Parse the secret's JSON. Messages name the secret id and the problem, never the value."""
    try:
        document = json.loads(secret_string)
    except ValueError:
        # `from None`: a JSONDecodeError keeps the whole document in `.doc`; do not chain it.
        raise SecretInvalid(f"secret {secret_id} is not valid JSON") from None
    if not isinstance(document, dict):
        raise SecretInvalid(
            f'secret {secret_id} must be a JSON object {{"clientId": ..., "clientSecret": ...}}'
        )
    client_id = _required_string(document, "clientId", secret_id)
    client_secret = _required_string(document, "clientSecret", secret_id)
    return ClientCredentials(client_id=client_id, client_secret=client_secret)


def _required_string(document: dict[str, Any], key: str, secret_id: str) -> str:
    value = document.get(key)
    if not isinstance(value, str) or not value.strip():
        raise SecretInvalid(f"secret {secret_id} lacks a non-empty string {key!r}")
    return value.strip()


def _fetch_secret_string(secret_id: str, secrets_client: Any) -> str:
    client = secrets_client if secrets_client is not None else _default_secrets_client()
    try:
        response = client.get_secret_value(SecretId=secret_id)
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "ClientError")
        raise SecretInvalid(f"secret {secret_id} could not be read: {code}") from None
    except BotoCoreError as exc:
        raise SecretInvalid(f"secret {secret_id} could not be read: {type(exc).__name__}") from None
    secret_string = response.get("SecretString")
    if isinstance(secret_string, str):
        return secret_string
    secret_binary = response.get("SecretBinary")
    if isinstance(secret_binary, bytes | bytearray):
        try:
            return bytes(secret_binary).decode("utf-8")
        except UnicodeDecodeError:
            raise SecretInvalid(f"secret {secret_id} is binary and not UTF-8 text") from None
    raise SecretInvalid(f"secret {secret_id} has no value (set its SecretString)")


def _default_secrets_client() -> Any:
    return boto3.client("secretsmanager")
