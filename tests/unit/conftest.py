"""Unit tests never open a socket beyond loopback (the simulator runs on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws


def pytest_runtest_setup(item: pytest.Item) -> None:
    import pytest_socket

    pytest_socket.socket_allow_hosts(["127.0.0.1", "localhost", "::1"], allow_unix_socket=True)


SOURCE_BUCKET = "source-bucket"


@pytest.fixture
def s3_with_bucket() -> Iterator[Any]:
    """moto S3 (in this process) holding an empty source bucket, ``SOURCE_BUCKET``."""
    with mock_aws():
        client = boto3.client("s3", region_name="eu-west-1")
        client.create_bucket(
            Bucket=SOURCE_BUCKET, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        yield client
