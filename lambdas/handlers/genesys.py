"""The Genesys client as the two Genesys-facing handlers build it from their configuration."""

from __future__ import annotations

from functools import cache

from handlers._runtime import aws_client
from usage_pipeline.config import genesys_config
from usage_pipeline.genesys_client import GenesysClient
from usage_pipeline.secrets import read_client_credentials


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
