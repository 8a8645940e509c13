"""The OAuth secret: read from Secrets Manager (moto), cached per container, never revealed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from usage_pipeline.errors import SecretInvalid
from usage_pipeline.secrets import (
    ClientCredentials,
    clear_credentials_cache,
    credentials_provider,
    read_client_credentials,
)

SECRET_ID = "genesys/oauth-client"
SECRET_VALUE = "VERY-secret-value-42"


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    clear_credentials_cache()
    yield
    clear_credentials_cache()


@pytest.fixture
def secrets_client() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="eu-west-1")


def put_secret(client: Any, value: str | bytes) -> None:
    if isinstance(value, bytes):
        client.create_secret(Name=SECRET_ID, SecretBinary=value)
    else:
        client.create_secret(Name=SECRET_ID, SecretString=value)


def test_credentials_are_read_from_the_json_secret(secrets_client: Any) -> None:
    # GIVEN
    put_secret(secrets_client, json.dumps({"clientId": "abc", "clientSecret": SECRET_VALUE}))

    # WHEN
    credentials = read_client_credentials(SECRET_ID, secrets_client=secrets_client)

    # THEN
    assert credentials == ClientCredentials("abc", SECRET_VALUE)


def test_credentials_are_cached_per_container_until_cleared(secrets_client: Any) -> None:
    # GIVEN a secret read once, then deleted
    put_secret(secrets_client, json.dumps({"clientId": "abc", "clientSecret": SECRET_VALUE}))
    first = read_client_credentials(SECRET_ID, secrets_client=secrets_client)
    secrets_client.delete_secret(SecretId=SECRET_ID, ForceDeleteWithoutRecovery=True)

    # WHEN / THEN the cache still answers, and a cleared cache goes back to Secrets Manager
    assert read_client_credentials(SECRET_ID, secrets_client=secrets_client) is first
    clear_credentials_cache()
    with pytest.raises(SecretInvalid):
        read_client_credentials(SECRET_ID, secrets_client=secrets_client)


def test_a_binary_secret_holding_json_is_accepted(secrets_client: Any) -> None:
    put_secret(
        secrets_client, json.dumps({"clientId": "abc", "clientSecret": SECRET_VALUE}).encode()
    )
    assert read_client_credentials(SECRET_ID, secrets_client=secrets_client).client_id == "abc"


def test_a_missing_secret_is_secret_invalid_naming_the_id(secrets_client: Any) -> None:
    with pytest.raises(SecretInvalid, match=f"{SECRET_ID}.*ResourceNotFoundException"):
        read_client_credentials(SECRET_ID, secrets_client=secrets_client)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (f"clientId=abc clientSecret={SECRET_VALUE}", "not valid JSON"),
        (json.dumps([SECRET_VALUE]), "must be a JSON object"),
        (json.dumps({"clientId": "abc"}), "'clientSecret'"),
        (json.dumps({"clientSecret": SECRET_VALUE}), "'clientId'"),
        (json.dumps({"clientId": "abc", "clientSecret": ""}), "'clientSecret'"),
        (json.dumps({"clientId": 7, "clientSecret": SECRET_VALUE}), "'clientId'"),
    ],
)
def test_a_bad_secret_is_refused_without_revealing_its_value(
    value: str, problem: str, secrets_client: Any
) -> None:
    # GIVEN
    put_secret(secrets_client, value)

    # WHEN
    with pytest.raises(SecretInvalid, match=problem) as raised:
        read_client_credentials(SECRET_ID, secrets_client=secrets_client)

    # THEN neither the message nor a chained exception carries the value
    error = raised.value
    assert SECRET_VALUE not in str(error)
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


def test_the_provider_reads_the_secret_only_when_called() -> None:
    # GIVEN a client that counts its calls
    class CountingClient:
        calls = 0

        def get_secret_value(self, **_: str) -> dict[str, str]:
            self.calls += 1
            return {"SecretString": json.dumps({"clientId": "abc", "clientSecret": SECRET_VALUE})}

    client = CountingClient()

    # WHEN
    provide = credentials_provider(SECRET_ID, secrets_client=client)

    # THEN
    assert client.calls == 0
    assert provide().client_id == "abc"
    assert provide().client_id == "abc"
    assert client.calls == 1


def test_credentials_repr_hides_the_secret() -> None:
    credentials = ClientCredentials("abc", SECRET_VALUE)
    assert SECRET_VALUE not in repr(credentials)
    assert SECRET_VALUE not in str(credentials)
    assert "abc" in repr(credentials)
