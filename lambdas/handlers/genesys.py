"""What the Genesys-facing handlers share: the client for an invocation, and Genesys's waits.

`wait_for_genesys` is the one place where "Genesys asked to wait N seconds" (a 429's
Retry-After) becomes the state document's ``wait``, which the state machine's Wait states wait
out for free instead of a sleeping Lambda.
"""

from __future__ import annotations

import math

import requests
from aws_lambda_powertools.utilities.typing import LambdaContext

from usage_pipeline.config import GenesysSettings
from usage_pipeline.genesys import GenesysClient
from usage_pipeline.secrets import SecretsManagerCredentials
from usage_pipeline.state import Wait
from usage_pipeline.warm_container import kept

# What an invocation keeps back from its retries: time to store what it has and return.
INVOCATION_SAFETY_SECONDS = 10.0


def genesys_client_for(context: LambdaContext, settings: GenesysSettings) -> GenesysClient:
    """A client for this invocation: its retries end before the invocation's time does.

    The client is cheap; what is worth keeping across warm invocations (the HTTP session's
    connections, the token, the secret) is kept per container.
    """
    remaining = context.get_remaining_time_in_millis() / 1000.0
    return GenesysClient(
        settings.environment,
        SecretsManagerCredentials(settings.secret_id),
        login_url=settings.login_url,
        api_url=settings.api_url,
        session=http_session(),
        time_left_seconds=max(1.0, remaining - INVOCATION_SAFETY_SECONDS),
    )


@kept
def http_session() -> requests.Session:
    return requests.Session()


def wait_for_genesys(retry_after_seconds: float | None, *, otherwise: int) -> Wait:
    """The state's next wait: what Genesys asked for when it answered 429, else ``otherwise``.

    Step Functions waits whole seconds: rounded up, so the wait is never shorter than asked.
    """
    if retry_after_seconds is None:
        return Wait(otherwise)
    return Wait(max(1, math.ceil(retry_after_seconds)))
