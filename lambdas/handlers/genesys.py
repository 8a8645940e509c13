"""The Genesys client as the two Genesys-facing handlers build it from their configuration."""

from __future__ import annotations

from functools import cache

import requests
from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers._runtime import aws_client
from usage_pipeline.config import genesys_config
from usage_pipeline.genesys import GenesysClient
from usage_pipeline.secrets import read_client_credentials

# What an invocation keeps back from its retries: time to store what it has and return.
INVOCATION_SAFETY_SECONDS = 10.0


def genesys_client_for(context: LambdaContext) -> GenesysClient:
    """A client for this invocation: its retries end before the invocation's time does.

    The client is cheap; what is worth keeping across warm invocations (the HTTP session's
    connections, the token, the secret) is cached in the session and the modules below.
    """
    config = genesys_config()
    remaining = context.get_remaining_time_in_millis() / 1000.0
    return GenesysClient(
        config.environment,
        lambda: read_client_credentials(config.secret_id, aws_client("secretsmanager")),
        login_url=config.login_url,
        api_url=config.api_url,
        session=http_session(),
        time_left_seconds=max(1.0, remaining - INVOCATION_SAFETY_SECONDS),
    )


@cache
def http_session() -> requests.Session:
    return requests.Session()


def reset_container_caches() -> None:
    """Forget the HTTP session, as a new container would."""
    http_session.cache_clear()
