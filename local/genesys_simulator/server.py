"""HTTP on 127.0.0.1 around the simulator, and `SimulatorServer`, the handle tests hold."""

from __future__ import annotations

import logging
import threading
import time
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local.genesys_simulator.control import CONTROL_PREFIX, handle_control
from local.genesys_simulator.options import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    SimulatorSettings,
)
from local.genesys_simulator.organization import Organization
from local.genesys_simulator.simulator import (
    DEFAULT_SEED,
    GenesysSimulator,
    SimRequest,
    SimResponse,
    api_error,
    with_correlation_id,
)

LOOPBACK = "127.0.0.1"
DEFAULT_PORT = 8787
_log = logging.getLogger(__name__)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a slow or stuck request never keeps the process alive
    allow_reuse_address = True

    def __init__(self, port: int, simulator: GenesysSimulator) -> None:
        self.simulator = simulator
        super().__init__((LOOPBACK, port), _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections alive, as requests.Session expects of Genesys.
    protocol_version = "HTTP/1.1"
    server_version = "GenesysCloudSimulator/1.0"
    # Headers and body leave in two writes; with Nagle on, the client's delayed ACK would add
    # ~40 ms to every request on a kept-alive connection.
    disable_nagle_algorithm = True
    server: _HTTPServer

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        parts = urlsplit(self.path)
        request = SimRequest(
            method=self.command,
            path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=body,
        )
        simulator = self.server.simulator
        control = parts.path.startswith(CONTROL_PREFIX)
        try:
            response = handle_control(simulator, request) if control else simulator.handle(request)
        except Exception:  # a simulator bug must still answer, or the client hangs on a socket
            _log.exception("simulator failed on %s %s", self.command, self.path)
            response = api_error(500, "The simulator failed; see its log")
            if not control:
                with_correlation_id(response)
        self._send(response)

    def _send(self, response: SimResponse) -> None:
        if response.delay_seconds > 0:
            time.sleep(response.delay_seconds)
        try:
            self._write(response)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its timeout beat a `slow` fault): nothing left to answer.
            _log.debug("client hung up before the answer to %s %s", self.command, self.path)
            self.close_connection = True

    def _write(self, response: SimResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if response.truncate_at is not None:
            # Announce the whole body, send part of it, hang up: what a dropped connection looks
            # like to the client (urllib3 raises IncompleteRead / requests ChunkedEncodingError).
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(response.body[: response.truncate_at])
            self.close_connection = True
            return
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("%s - %s", self.address_string(), format % args)


class SimulatorServer:
    """The simulator on a free loopback port in a background thread.

    `settings` are the options of options.SimulatorSettings by their Python names
    (`polls_until_done=0`, `today=date(...)`, `week_start="sunday"`, `org="large"`, ...); an
    unknown name or a value it does not allow raises options.SettingError (a ValueError).

    >>> with SimulatorServer(today=date(2026, 11, 22)) as sim:  # doctest: +SKIP
    ...     requests.post(sim.base_url + "/oauth/token", ...)
    """

    def __init__(
        self,
        *,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
        seed: int = DEFAULT_SEED,
        port: int = 0,
        **settings: Any,
    ) -> None:
        configured = SimulatorSettings(client_id=client_id, client_secret=client_secret)
        self.simulator = GenesysSimulator(configured.updated(settings), seed=seed)
        self._port = port
        self._http: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> SimulatorServer:
        if self._http is not None:
            return self
        self._http = _HTTPServer(self._port, self.simulator)
        self._thread = threading.Thread(
            target=self._http.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="genesys-simulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._http is None:
            return
        self._http.shutdown()
        self._http.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._http = None
        self._thread = None

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._http is None:
            raise RuntimeError("the simulator is not running; use start() or a with block")
        return int(self._http.server_address[1])

    @property
    def base_url(self) -> str:
        """Both hosts in one: use it as GENESYS_LOGIN_URL and GENESYS_API_URL."""
        return f"http://{LOOPBACK}:{self.port}"

    # --- control ---------------------------------------------------------------------------------

    def set_fault(self, kind: str, **options: Any) -> dict[str, Any]:
        """Switch a fault on (see faults.py for kinds and options); returns its description."""
        return self.simulator.faults.add(kind, **options).describe()

    def clear_faults(self) -> None:
        self.simulator.faults.clear()

    def faults(self) -> list[dict[str, Any]]:
        return self.simulator.faults.describe()

    def expected_rows(self, api: str, query: dict[str, Any]) -> list[dict[str, Any]]:
        """Every row (all pages, in order) the query must return, in the API's own row shape."""
        return self.simulator.expected_rows(api, query)

    def expected_row_count(self, api: str, query: dict[str, Any]) -> int:
        """How many rows the query must return, without rendering them (cheap for any size)."""
        return len(self.simulator.expected_result(api, query))

    def stats(self) -> dict[str, Any]:
        return self.simulator.stats()

    def reset_stats(self) -> None:
        self.simulator.ledger.reset()

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change settings by their Python names (options.SimulatorSettings); returns them all."""
        return self.simulator.configure(**settings)

    def expire_tokens(self) -> None:
        self.simulator.expire_tokens()

    @property
    def today(self) -> date:
        return self.simulator.today()

    @property
    def organization(self) -> Organization:
        return self.simulator.organization
