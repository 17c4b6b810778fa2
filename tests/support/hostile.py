"""A store server that misbehaves on purpose: a real HTTP server on a free loopback
port, in a thread of the test process, answering as a test script says.

Every request it receives is recorded (method, path with query, headers), so a test
can show that a request never arrived, or arrived without the token.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""


class Exchange:
    """One request, and the means to answer it (raw bytes when a test needs to
    misbehave below the level of HTTP)."""

    def __init__(
        self,
        handler: BaseHTTPRequestHandler,
        seen: Seen,
        server: HostileServer,
        stopped: threading.Event,
    ) -> None:
        self._handler = handler
        self.seen = seen
        self.server = server
        #: set when the test is over: a handler that streams for ever stops then
        self.stopped = stopped

    @property
    def method(self) -> str:
        return self.seen.method

    @property
    def path(self) -> str:
        return self.seen.path

    def json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        h = self._handler
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            h.send_header(name, value)
        h.end_headers()
        h.wfile.write(data)

    def raw(self, data: bytes) -> None:
        """Bytes straight onto the connection (status line and headers included)."""
        self._handler.wfile.write(data)
        self._handler.wfile.flush()


Respond = Callable[[Exchange], None]


@dataclass
class HostileServer:
    url: str
    requests: list[Seen] = field(default_factory=list)
    #: bytes of bodies a test streamed (it adds them up itself)
    sent: int = 0

    def paths(self, method: str | None = None) -> list[str]:
        return [r.path for r in self.requests if method is None or r.method == method]


@contextmanager
def hostile_server(respond: Respond) -> Iterator[HostileServer]:
    stopped = threading.Event()
    state = HostileServer("")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection: simple to misbehave

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            seen = Seen(self.command, self.path, dict(self.headers.items()), body)
            with lock:
                state.requests.append(seen)
            exchange = Exchange(self, seen, state, stopped)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                respond(exchange)  # a client that gives up is usually the point

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _any

        def log_message(self, format: str, *args: Any) -> None:
            pass

    class Server(ThreadingHTTPServer):
        daemon_threads = True

        def handle_error(self, request: Any, client_address: Any) -> None:
            pass

    server = Server(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        stopped.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
