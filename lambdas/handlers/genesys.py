"""The Genesys client as the two Genesys-facing handlers build it from their configuration."""

from __future__ import annotations

from functools import cache

from aws_lambda_powertools.utilities.typing import LambdaContext

from handlers._runtime import aws_client
from usage_pipeline.config import genesys_config
from usage_pipeline.genesys_client import GenesysClient
from usage_pipeline.secrets import read_client_credentials

# What an invocation keeps back from its retries: time to store what it has and return.
INVOCATION_SAFETY_SECONDS = 10.0


def genesys_client_for(context: LambdaContext) -> GenesysClient:
    """The container's client, its retries bounded by this invocation's remaining time."""
    client = genesys_client()
    remaining = context.get_remaining_time_in_millis() / 1000.0
    client.set_deadline(max(1.0, remaining - INVOCATION_SAFETY_SECONDS))
    return client


@cache
def genesys_client() -> GenesysClient:
    config = genesys_config()
    return GenesysClient(
        config.environment,
        lambda: read_client_credentials(config.secret_id, aws_client("secretsmanager")),
        login_url=config.login_url,
        api_url=config.api_url,
    )


def reset_container_caches() -> None:
    """Forget the client (and so its base URLs), as a new container would."""
    genesys_client.cache_clear()
