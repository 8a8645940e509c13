"""Each invocation's AWS calls are signed as its function's role, whatever client they use."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from local.aws_identities import AccessKey
from local.lambda_credentials import as_role, routed

SUBMIT = AccessKey("ASIASUBMIT", "s1", "t1")  # the submit role's session
LAND = AccessKey("ASIALAND", "s2", "t2")  # the land role's session
ENVIRONMENT_KEY = "AKIAENVIRONMENT"


@pytest.fixture
def environment_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ENVIRONMENT_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")


@pytest.fixture
def signers(environment_credentials: None) -> Iterator[list[str]]:
    """The access key each request was signed with, in order; the requests never leave."""
    signed: list[str] = []
    with routed():
        original = boto3.client

        def recording_client(*args: Any, **kwargs: Any) -> Any:
            client = original(*args, **kwargs)
            client.meta.events.register("before-send", _answer_and_record(signed))
            return client

        boto3.client = recording_client  # type: ignore[assignment]
        try:
            yield signed
        finally:
            boto3.client = original


def _answer_and_record(signed: list[str]) -> Any:
    lock = threading.Lock()

    def answer(request: Any, **_: Any) -> AWSResponse:
        authorization = request.headers["Authorization"]
        authorization = (
            authorization.decode() if isinstance(authorization, bytes) else authorization
        )
        match = re.search(r"Credential=([^/]+)/", authorization)
        assert match is not None
        with lock:
            signed.append(match.group(1))
        return AWSResponse(request.url, 200, {}, _EmptyBody())

    return answer


class _EmptyBody:
    def stream(self, **_: Any) -> Iterator[bytes]:
        yield b""

    def read(self, *_: Any) -> bytes:
        return b""


def _list(client: Any) -> None:
    client.list_objects_v2(Bucket="bucket", Prefix="raw/")


def test_a_client_cached_by_one_function_signs_as_the_function_that_uses_it(
    signers: list[str],
) -> None:
    # GIVEN a client made (and cached) during submit's invocation, as a warm container keeps it
    cache: dict[str, Any] = {}

    def submit(event: Any, context: Any) -> None:
        cache["s3"] = boto3.client("s3")
        _list(cache["s3"])

    def land(event: Any, context: Any) -> None:
        _list(cache["s3"])

    # WHEN submit and then land call through it
    as_role(SUBMIT, submit)({}, None)
    as_role(LAND, land)({}, None)

    # THEN each request was signed as the role of the function that made it
    assert signers == [SUBMIT.access_key_id, LAND.access_key_id]


def test_threads_an_invocation_starts_sign_as_its_role(signers: list[str]) -> None:
    # GIVEN a handler that downloads in a pool of threads, as the transform does
    def transform(event: Any, context: Any) -> None:
        client = boto3.client("s3")
        with ThreadPoolExecutor(max_workers=3) as pool:
            list(pool.map(lambda _: _list(client), range(6)))

    # WHEN it runs as the transform's role
    as_role(LAND, transform)({}, None)

    # THEN every request of every thread was signed as that role
    assert signers == [LAND.access_key_id] * 6


def test_concurrent_invocations_sign_each_as_its_own_role(signers: list[str]) -> None:
    # GIVEN two functions running at the same time through one shared client
    client = boto3.client("s3")
    both_running = threading.Barrier(2)

    def handler(event: Any, context: Any) -> None:
        both_running.wait(5)
        for _ in range(20):
            _list(client)

    # WHEN they run in two threads, as two executions' tasks do
    threads = [
        threading.Thread(target=as_role(role, handler), args=({}, None)) for role in (SUBMIT, LAND)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    # THEN no request was signed with the other's keys or the environment's
    assert sorted(set(signers)) == sorted({SUBMIT.access_key_id, LAND.access_key_id})
    assert signers.count(SUBMIT.access_key_id) == signers.count(LAND.access_key_id) == 20


def test_outside_an_invocation_requests_sign_with_the_environment(signers: list[str]) -> None:
    _list(boto3.client("s3"))
    assert signers == [ENVIRONMENT_KEY]


def test_routing_ends_with_its_block(environment_credentials: None) -> None:
    # GIVEN what boto3 and threading are before
    start, default_session = threading.Thread.start, boto3.DEFAULT_SESSION

    # WHEN routing is switched on and off again
    with routed():
        assert threading.Thread.start is not start

    # THEN both are as they were, and a new session finds the environment's keys
    assert threading.Thread.start is start
    assert boto3.DEFAULT_SESSION is default_session
    credentials = boto3.Session().get_credentials()
    assert credentials is not None
    assert credentials.get_frozen_credentials().access_key == ENVIRONMENT_KEY
