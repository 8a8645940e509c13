"""A scripted HTTP server on 127.0.0.1 that stands in for Genesys Cloud in client tests.

`FakeGenesys` is pytest-httpserver's server with one rule on top: each route (method, path) holds
a queue of replies, served in order, and the last one repeats. Every request is recorded, so tests
can count calls and read headers and bodies. A reply can also lie about its Content-Length (a
truncated body), drop the connection, or answer late.

Also here: the test credentials, a fake clock and a client factory the client tests share.
"""

from __future__ import annotations

import json
import random
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from usage_pipeline.genesys import GenesysClient
from usage_pipeline.secrets import ClientCredentials


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_length: int | None = None  # advertise this instead of len(body): a cut body
    drop_connection: bool = False  # close the socket without answering
    delay_seconds: float = 0.0


def json_reply(status: int, document: Any, headers: dict[str, str] | None = None) -> Reply:
    return Reply(
        status,
        json.dumps(document).encode(),
        {"Content-Type": "application/json"} | (headers or {}),
    )


def token_reply(token: str = "token-1", expires_in: int = 86399) -> Reply:
    return json_reply(
        200, {"access_token": token, "token_type": "bearer", "expires_in": expires_in}
    )


def error_reply(
    status: int, message: str, code: str = "bad.request", headers: dict[str, str] | None = None
) -> Reply:
    """Genesys' own error body."""
    body = {
        "message": message,
        "code": code,
        "status": status,
        "contextId": "ctx",
        "details": [],
        "errors": [],
    }
    return json_reply(status, body, headers)


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    @classmethod
    def of(cls, request: Request) -> Recorded:
        return cls(
            request.method,
            request.path,
            request.args.to_dict(flat=False),
            dict(request.headers),
            request.get_data(),
        )

    def json(self) -> Any:
        return json.loads(self.body)


Responder = Reply | Callable[[Recorded], Reply]


def _respond(responder: Responder) -> Callable[[Request], Response]:
    def respond(request: Request) -> Response:
        reply = responder(Recorded.of(request)) if callable(responder) else responder
        time.sleep(reply.delay_seconds)
        if reply.drop_connection:
            request.environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
        response = Response(reply.body, reply.status, reply.headers)
        if "Content-Type" not in reply.headers:
            del response.headers["Content-Type"]  # werkzeug would add text/plain
        if reply.content_length is not None:
            response.headers["Content-Length"] = str(reply.content_length)
        return response

    return respond


class _Server(HTTPServer):
    def thread_target(self) -> None:
        # stop() waits for the serve loop to notice: 0.5 s by default, for every test.
        assert self.server is not None
        self.server.serve_forever(poll_interval=0.01)


class FakeGenesys:
    """``with FakeGenesys() as fake: fake.add("GET", "/path", reply, ...); fake.base_url``."""

    def __init__(self) -> None:
        self._server = _Server(host="127.0.0.1", threaded=True)
        self._server.no_handler_status_code = 404

    @property
    def base_url(self) -> str:
        return self._server.url_for("").rstrip("/")

    def add(self, method: str, path: str, *replies: Responder) -> None:
        """Queue replies for a route (once per route); the last one is served again and again."""
        *once, last = replies
        for reply in once:
            self._server.expect_oneshot_request(path, method).respond_with_handler(_respond(reply))
        self._server.expect_request(path, method).respond_with_handler(_respond(last))

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        recorded = [Recorded.of(request) for request, _ in self._server.log]
        return [
            r
            for r in recorded
            if (method is None or r.method == method) and (path is None or r.path == path)
        ]

    def __enter__(self) -> FakeGenesys:
        self._server.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.stop()


# --- Shared by the client tests ------------------------------------------------------------

CLIENT_ID = "client-abc"
CLIENT_SECRET = "s3cr3t-VALUE-do-not-leak"
CREDENTIALS = ClientCredentials(CLIENT_ID, CLIENT_SECRET)


@dataclass
class FakeSecret:
    """A credentials source as Secrets Manager through a cache: ``kept`` is what the cache answers,
    ``stored`` what a fresh read finds (the secret as it is now)."""

    kept: ClientCredentials = CREDENTIALS
    stored: ClientCredentials | None = None
    fresh_reads: int = 0

    def __call__(self, *, fresh: bool = False) -> ClientCredentials:
        if fresh:
            self.fresh_reads += 1
            self.kept = self.stored or self.kept
        return self.kept


@dataclass
class FakeClock:
    """Monotonic and wall clocks that only move when the client sleeps (or the test says so)."""

    monotonic_now: float = 1000.0
    wall_now: float = 1_800_000_000.0
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.monotonic_now

    def wall(self) -> float:
        return self.wall_now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        self.monotonic_now += seconds
        self.wall_now += seconds


class UpperBoundRandom(random.Random):
    """Full jitter that always picks the top of its range, so backoff sleeps are predictable."""

    def uniform(self, a: float, b: float) -> float:
        return b


def make_client(
    base_url: str,
    clock: FakeClock,
    credentials: ClientCredentials | FakeSecret = CREDENTIALS,
    **overrides: Any,
) -> GenesysClient:
    options: dict[str, Any] = {
        "login_url": base_url,
        "api_url": base_url,
        "sleep": clock.sleep,
        "clock": clock.monotonic,
        "wall_clock": clock.wall,
        "rng": random.Random(7),
    }
    options.update(overrides)
    source = credentials if isinstance(credentials, FakeSecret) else FakeSecret(credentials)
    return GenesysClient("mypurecloud.com", source, **options)
