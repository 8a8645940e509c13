"""The OAuth secret: read from Secrets Manager (moto) through Powertools, kept for a while,
read again when asked fresh, never revealed."""

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
    SecretsManagerCredentials,
    read_client_credentials,
)
from usage_pipeline.warm_container import forget_all

SECRET_ID = "genesys/oauth-client"
SECRET_VALUE = "VERY-secret-value-42"


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    forget_all()
    yield
    forget_all()


@pytest.fixture
def secrets_client() -> Iterator[Any]:
    with mock_aws():
        yield boto3.client("secretsmanager", region_name="eu-west-1")


def put_secret(client: Any, value: str | bytes) -> None:
    if isinstance(value, bytes):
        client.create_secret(Name=SECRET_ID, SecretBinary=value)
    else:
        client.create_secret(Name=SECRET_ID, SecretString=value)


def put_value(client: Any, client_secret: str) -> None:
    value = json.dumps({"clientId": "abc", "clientSecret": client_secret})
    client.put_secret_value(SecretId=SECRET_ID, SecretString=value)


def test_credentials_are_read_from_the_json_secret(secrets_client: Any) -> None:
    # GIVEN
    put_secret(secrets_client, json.dumps({"clientId": "abc", "clientSecret": SECRET_VALUE}))

    # WHEN
    credentials = read_client_credentials(SECRET_ID)

    # THEN
    assert credentials == ClientCredentials("abc", SECRET_VALUE)


def test_credentials_are_kept_until_asked_fresh(secrets_client: Any) -> None:
    # GIVEN a secret read once, then given another value
    put_secret(secrets_client, json.dumps({"clientId": "abc", "clientSecret": SECRET_VALUE}))
    first = read_client_credentials(SECRET_ID)
    put_value(secrets_client, "fixed")

    # WHEN / THEN the kept value answers until the secret is asked fresh
    assert read_client_credentials(SECRET_ID) == first
    assert read_client_credentials(SECRET_ID, fresh=True).client_secret == "fixed"
    assert read_client_credentials(SECRET_ID).client_secret == "fixed"


def test_credentials_are_read_again_once_older_than_max_age(secrets_client: Any) -> None:
    # GIVEN a secret kept for no time at all, then given another value
    put_secret(secrets_client, json.dumps({"clientId": "abc", "clientSecret": SECRET_VALUE}))
    read_client_credentials(SECRET_ID, max_age_seconds=0)
    put_value(secrets_client, "rotated")

    # WHEN / THEN the next read goes back to Secrets Manager
    assert read_client_credentials(SECRET_ID, max_age_seconds=0).client_secret == "rotated"


def test_forgetting_the_warm_container_reads_the_secret_again(secrets_client: Any) -> None:
    # GIVEN a secret read once, then deleted
    put_secret(secrets_client, json.dumps({"clientId": "abc", "clientSecret": SECRET_VALUE}))
    read_client_credentials(SECRET_ID)
    secrets_client.delete_secret(SecretId=SECRET_ID, ForceDeleteWithoutRecovery=True)

    # WHEN a new container starts / THEN it goes back to Secrets Manager
    forget_all()
    with pytest.raises(SecretInvalid):
        read_client_credentials(SECRET_ID)


def test_a_binary_secret_holding_json_is_accepted(secrets_client: Any) -> None:
    put_secret(
        secrets_client, json.dumps({"clientId": "abc", "clientSecret": SECRET_VALUE}).encode()
    )
    assert read_client_credentials(SECRET_ID).client_id == "abc"


def test_a_missing_secret_is_secret_invalid_naming_the_id(secrets_client: Any) -> None:
    with pytest.raises(SecretInvalid, match=f"{SECRET_ID}.*ResourceNotFoundException"):
        read_client_credentials(SECRET_ID)


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
        read_client_credentials(SECRET_ID)

    # THEN neither the message nor a chained exception carries the value
    error = raised.value
    assert SECRET_VALUE not in str(error)
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


def test_the_source_reads_the_secret_only_when_called(secrets_client: Any) -> None:
    # GIVEN a source for a secret that does not exist yet
    source = SecretsManagerCredentials(SECRET_ID)

    # WHEN the secret is put afterwards / THEN the source reads it when first called
    put_secret(secrets_client, json.dumps({"clientId": "abc", "clientSecret": SECRET_VALUE}))
    assert source().client_id == "abc"
    assert source(fresh=True).client_id == "abc"


def test_credentials_repr_hides_the_secret() -> None:
    credentials = ClientCredentials("abc", SECRET_VALUE)
    assert SECRET_VALUE not in repr(credentials)
    assert SECRET_VALUE not in str(credentials)
    assert "abc" in repr(credentials)
