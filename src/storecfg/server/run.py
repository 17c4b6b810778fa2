"""Run the reference server under uvicorn, with logs that never show tokens.

Slow or stalled clients cannot hold the server: a connection must deliver a request's
headers within `header_timeout` seconds (counted from when it opened, or from the end
of its previous response), the body within `body_timeout` seconds of the headers (an
ASGI-level deadline, see app.py), and at most `max_connections` connections are open at
once; one more is answered 503 and closed at once. The file descriptor limit is raised
to fit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from ..errors import StorecfgError
from ..store.storage import Storage
from .app import BODY_TIMEOUT, create_app

log = logging.getLogger("storecfg.server")

MAX_CONNECTIONS = 512
HEADER_TIMEOUT = 10.0
#: bytes of request line and headers one request may send
MAX_HEADER_BYTES = 64 * 1024
#: file descriptors kept for everything that is not a client connection
_SPARE_FDS = 64


@dataclass
class ConnectionLimits:
    """The open connections, by peer address, and the limits they live under."""

    max_connections: int = MAX_CONNECTIONS
    header_timeout: float = HEADER_TIMEOUT
    open: dict[Any, _Connection] = field(default_factory=dict)
    count: int = 0
    refused: int = 0

    def watch(self, app: Any) -> Any:
        """`app` wrapped so that a request's start and end reach its connection."""
        limits = self

        async def watched(
            scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
        ) -> None:
            client = scope.get("client")
            conn = limits.open.get(tuple(client[:2])) if client else None
            if conn is None or scope["type"] != "http":
                await app(scope, receive, send)
                return
            conn.request_started()
            try:
                await app(scope, receive, send)
            finally:
                conn.request_finished()

        return watched


def _answer(status: str, error: str, message: str, extra: str = "") -> bytes:
    """A whole HTTP response that closes the connection, in the API's error shape."""
    body = f'{{"error":"{error}","message":"{message}"}}'.encode()
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\n{extra}connection: close\r\n\r\n"
    )
    return head.encode() + body


_BUSY = _answer(
    "503 Service Unavailable",
    "unavailable",
    "the server has as many connections open as it allows; try again",
    "retry-after: 1\r\n",
)
_HEADERS_TOO_LARGE = _answer(
    "431 Request Header Fields Too Large",
    "too_large",
    f"request headers are over {MAX_HEADER_BYTES} bytes",
)


class _Connection(asyncio.Protocol):
    """uvicorn's HTTP protocol for one connection, inside a guard that counts it and
    closes it when the headers of a request do not arrive in time."""

    def __init__(
        self,
        limits: ConnectionLimits,
        make: Callable[[], asyncio.Protocol],
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        self.limits = limits
        self.make = make
        self.loop = loop
        self.inner: asyncio.Protocol | None = None
        self.transport: asyncio.Transport | None = None
        self.key: Any = None
        self.timer: asyncio.TimerHandle | None = None
        #: reading a request's line and headers (not its body): they are counted
        self.in_headers = False
        self.header_bytes = 0
        self.tail = b""
        self.closing = False

    # -------------------------------------------------------- the protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one
        transport = cast(asyncio.Transport, transport)
        limits = self.limits
        if limits.count >= limits.max_connections:
            limits.refused += 1
            if limits.refused in (1, 100) or limits.refused % 10000 == 0:
                log.warning(
                    "at the limit of %d connections: refused %d so far",
                    limits.max_connections,
                    limits.refused,
                )
            transport.write(_BUSY)
            transport.close()
            return
        limits.count += 1
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.key = tuple(peer[:2]) if isinstance(peer, tuple) else id(self)
        limits.open[self.key] = self
        self._arm()
        self.inner = self.make()
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self.inner is None or self.closing:
            return
        if self.in_headers and self._header_overflow(data) and self.transport is not None:
            self.closing = True
            self.transport.write(_HEADERS_TOO_LARGE)
            self.transport.close()
            return
        self.inner.data_received(data)

    def _header_overflow(self, data: bytes) -> bool:
        """Count the bytes of a request's line and headers; True past the limit."""
        if not self.header_bytes:
            data = data.lstrip(b"\r\n")  # empty lines before a request are no headers
        seen = self.tail + data
        end = seen.find(b"\r\n\r\n")  # the headers end at the first empty line
        if end >= 0:
            # the rest is the body: not counted, and the header deadline is met (this
            # does not wait for the app to start, which may see another client address)
            self.in_headers = False
            self._disarm()
            self.header_bytes += max(end - len(self.tail), 0)
        else:
            self.header_bytes += len(data)
            self.tail = seen[-3:]
        return self.header_bytes > MAX_HEADER_BYTES

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.inner is not None else None

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if self.inner is None:
            return  # refused: never counted
        self._disarm()
        self.limits.count -= 1
        if self.limits.open.get(self.key) is self:
            del self.limits.open[self.key]
        self.inner.connection_lost(exc)

    # -------------------------------------------------------- the header deadline

    def request_started(self) -> None:
        self._disarm()
        self.in_headers = False

    def request_finished(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self._arm()

    def _arm(self) -> None:
        self._disarm()
        self.in_headers, self.header_bytes, self.tail = True, 0, b""
        self.timer = self.loop.call_later(self.limits.header_timeout, self._expired)

    def _disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _expired(self) -> None:
        self.timer = None
        if self.transport is not None:
            self.transport.abort()  # a stalled client reads nothing: no answer to flush


def _protocol_class(limits: ConnectionLimits) -> type[asyncio.Protocol]:
    """A protocol class uvicorn can instantiate (as it does its own) for each connection."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    class Guarded(_Connection):
        def __init__(
            self,
            config: Any,
            server_state: Any,
            app_state: Any,
            _loop: asyncio.AbstractEventLoop | None = None,
        ) -> None:
            loop = _loop or asyncio.get_event_loop()

            def make() -> asyncio.Protocol:
                return AutoHTTPProtocol(  # type: ignore[call-arg]
                    config=config, server_state=server_state, app_state=app_state, _loop=loop
                )

            super().__init__(limits, make, loop)

    return Guarded


def _fit_fd_limit(max_connections: int) -> int:
    """Raise the soft file descriptor limit to fit `max_connections` (as far as the hard
    limit allows); returns how many connections fit."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return max_connections
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max_connections + _SPARE_FDS
    if soft != resource.RLIM_INFINITY and soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft != resource.RLIM_INFINITY and soft < wanted:
        fitting = max(1, soft - _SPARE_FDS)
        log.warning(
            "the file descriptor limit (%d) fits %d connections, not %d: serving %d at once",
            soft,
            fitting,
            max_connections,
            fitting,
        )
        return fitting
    return max_connections


def _server_class() -> Any:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, minus re-raising SIGTERM/SIGINT after the graceful shutdown.

        uvicorn raises the captured signal again once it has stopped, so the process
        dies of it (exit status -15) before we can log that the server stopped. Here
        a signal means "stop cleanly": finish the requests in flight, exit 0.
        """

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            signals = (signal.SIGINT, signal.SIGTERM)
            original = {sig: signal.signal(sig, self.handle_exit) for sig in signals}
            try:
                yield
            finally:
                for sig, handler in original.items():
                    signal.signal(sig, handler)

    return Server


def run_server(
    db: str | Path,
    host: str,
    port: int,
    *,
    rate_limit: float = 0.0,
    access_log: bool = True,
    keep_snapshots: int | None = None,
    max_connections: int = MAX_CONNECTIONS,
    header_timeout: float = HEADER_TIMEOUT,
    body_timeout: float = BODY_TIMEOUT,
) -> None:
    import uvicorn

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    sock = _listen(host, port)  # fails here, plainly, when the port is taken
    port = sock.getsockname()[1]  # the real one when --port 0 asked for any free port
    with contextlib.closing(sock), Storage(db, keep_snapshots=keep_snapshots) as storage:
        limits = ConnectionLimits(_fit_fd_limit(max_connections), header_timeout)
        app = create_app(
            storage, rate_limit=rate_limit, access_log=access_log, body_timeout=body_timeout
        )
        shown = f"[{host}]" if ":" in host else host
        # the database as the engine shows it: a PostgreSQL URL without its password
        log.info(
            "storecfg store server on http://%s:%d (database %s)",
            shown,
            port,
            storage.engine.display,
        )
        if keep_snapshots is not None:
            log.info("keeping the newest %d snapshots of each store", keep_snapshots)
        config = uvicorn.Config(
            limits.watch(app),
            host=host,
            port=port,
            http=_protocol_class(limits),
            access_log=False,  # our own access log is token-free by construction
            # the client address is the peer's: ConnectionLimits finds connections by it,
            # and nothing here trusts X-Forwarded-For
            proxy_headers=False,
            ws="none",  # no WebSocket routes: an upgrade request is a plain request
            log_level="warning",
            lifespan="on",
            timeout_graceful_shutdown=10,
            server_header=False,
        )
        _server_class()(config).run(sockets=[sock])
    log.info("storecfg store server stopped")


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise StorecfgError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    return sock
