"""A scripted HTTP server on 127.0.0.1 that stands in for Genesys Cloud in client tests.

Each route (method, path) holds a queue of replies, served in order; the last one repeats. Every
request is recorded, so tests can count calls and read headers and bodies. A reply can also lie
about its Content-Length (a truncated body), drop the connection, or answer late.

Also here: the test credentials, a fake clock and a client factory the client tests share.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

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

    def json(self) -> Any:
        return json.loads(self.body)


Responder = Reply | Callable[[Recorded], Reply]


class FakeGenesys:
    """``with FakeGenesys() as fake: fake.add("GET", "/path", reply, ...); fake.base_url``."""

    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], list[Responder]] = {}
        self._lock = threading.Lock()
        self.requests: list[Recorded] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for the serve loop to notice, 0.5 s by default.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add(self, method: str, path: str, *replies: Responder) -> None:
        """Queue replies for a route; the last one is served again for every later request."""
        with self._lock:
            self._routes.setdefault((method, path), []).extend(replies)

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        with self._lock:
            return [
                r
                for r in self.requests
                if (method is None or r.method == method) and (path is None or r.path == path)
            ]

    def __enter__(self) -> FakeGenesys:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _next_reply(self, recorded: Recorded) -> Reply:
        with self._lock:
            self.requests.append(recorded)
            queue = self._routes.get((recorded.method, recorded.path))
            if not queue:
                responder: Responder = error_reply(
                    404, f"no route {recorded.method} {recorded.path}", "not.found"
                )
            elif len(queue) > 1:
                responder = queue.pop(0)
            else:
                responder = queue[0]
        return responder(recorded) if callable(responder) else responder

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; without TCP_NODELAY each answer waits ~40 ms.
            disable_nagle_algorithm = True

            def log_message(self, *_: Any) -> None:  # keep test output quiet
                pass

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = urllib.parse.urlsplit(self.path)
                recorded = Recorded(
                    self.command,
                    parts.path,
                    urllib.parse.parse_qs(parts.query),
                    {k: v for k, v in self.headers.items()},
                    body,
                )
                reply = fake._next_reply(recorded)
                if reply.delay_seconds:
                    time.sleep(reply.delay_seconds)
                if reply.drop_connection:
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                declared = (
                    reply.content_length if reply.content_length is not None else len(reply.body)
                )
                self.send_header("Content-Length", str(declared))
                if reply.content_length is not None:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(reply.body)
                self.wfile.flush()

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

        return Handler


# --- Shared by the client tests ------------------------------------------------------------

CLIENT_ID = "client-abc"
CLIENT_SECRET = "s3cr3t-VALUE-do-not-leak"
CREDENTIALS = ClientCredentials(CLIENT_ID, CLIENT_SECRET)


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
    credentials: ClientCredentials = CREDENTIALS,
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
    return GenesysClient("mypurecloud.com", lambda: credentials, **options)
