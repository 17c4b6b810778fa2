"""Run the reference server under uvicorn, with logs that never show tokens."""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..errors import StorecfgError
from ..store.storage import Storage
from .app import create_app


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
    db: Path,
    host: str,
    port: int,
    *,
    rate_limit: float = 0.0,
    access_log: bool = True,
    keep_snapshots: int | None = None,
) -> None:
    import uvicorn

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log = logging.getLogger("storecfg.server")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    sock = _listen(host, port)  # fails here, plainly, when the port is taken
    port = sock.getsockname()[1]  # the real one when --port 0 asked for any free port
    storage = Storage(db, keep_snapshots=keep_snapshots)
    app = create_app(storage, rate_limit=rate_limit, access_log=access_log)
    shown = f"[{host}]" if ":" in host else host
    log.info("storecfg store server on http://%s:%d (database %s)", shown, port, db)
    if keep_snapshots is not None:
        log.info("keeping the newest %d snapshots of each store", keep_snapshots)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        access_log=False,  # our own access log is token-free by construction
        log_level="warning",
        lifespan="on",
        timeout_graceful_shutdown=10,
        server_header=False,
    )
    try:
        _server_class()(config).run(sockets=[sock])
    finally:
        sock.close()
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
