"""The Genesys Cloud OAuth client credentials, read from Secrets Manager through Powertools.

The secret is a JSON object ``{"clientId": "...", "clientSecret": "..."}`` (docs/contracts.md
section 7). Powertools Parameters keeps the value for `SECRET_MAX_AGE_SECONDS`, so a warm
container reads it once in a while, and a fixed or rotated secret is read again on its own; when
Genesys refuses the credentials, the client reads it once more at once (`fresh=True`) before it
gives up. Nothing here ever puts the secret's value into an exception, a log line or a repr:
errors name the secret id and what is wrong with it, never what it holds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final, Protocol

from aws_lambda_powertools.utilities import parameters
from botocore.exceptions import ClientError

from usage_pipeline.errors import SecretInvalid

# How long a warm container uses the secret it read before reading it again.
SECRET_MAX_AGE_SECONDS: Final = 300
_REDACTED = "***"


@dataclass(frozen=True)
class ClientCredentials:
    """An OAuth client-credentials pair. ``repr`` and ``str`` never show the secret."""

    client_id: str
    client_secret: str

    def __repr__(self) -> str:
        return f"ClientCredentials(client_id={self.client_id!r}, client_secret={_REDACTED!r})"

    __str__ = __repr__


class CredentialsSource(Protocol):
    """Where the Genesys client gets its credentials; ``fresh`` bypasses any cache."""

    def __call__(self, *, fresh: bool = False) -> ClientCredentials: ...


@dataclass(frozen=True)
class SecretsManagerCredentials:
    """The credentials held by the secret ``secret_id``, kept for ``max_age_seconds``."""

    secret_id: str
    max_age_seconds: int = SECRET_MAX_AGE_SECONDS

    def __call__(self, *, fresh: bool = False) -> ClientCredentials:
        return read_client_credentials(
            self.secret_id, max_age_seconds=self.max_age_seconds, fresh=fresh
        )


def read_client_credentials(
    secret_id: str, *, max_age_seconds: int = SECRET_MAX_AGE_SECONDS, fresh: bool = False
) -> ClientCredentials:
    """The credentials held by ``secret_id``: Powertools' kept value, or Secrets Manager's.

    Raises ``SecretInvalid`` when the secret is missing, unreadable, not JSON, or lacks a
    non-empty ``clientId`` / ``clientSecret``.
    """
    try:
        value = parameters.get_secret(secret_id, max_age=max_age_seconds, force_fetch=fresh)
    except parameters.GetParameterError as error:
        raise SecretInvalid(f"secret {secret_id} could not be read: {_reason(error)}") from None
    if isinstance(value, bytes | bytearray):
        try:
            value = bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise SecretInvalid(f"secret {secret_id} is binary and not UTF-8 text") from None
    if not isinstance(value, str):
        raise SecretInvalid(f"secret {secret_id} has no value (set its SecretString)")
    return parse_client_credentials(value, secret_id=secret_id)


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


def _reason(error: parameters.GetParameterError) -> str:
    """The AWS error code behind Powertools' error (its message is the SDK's, never the value)."""
    cause = error.__context__
    if isinstance(cause, ClientError):
        return str(cause.response.get("Error", {}).get("Code", "ClientError"))
    return type(cause).__name__ if cause is not None else "unknown error"
