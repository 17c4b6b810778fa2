"""Run the reference server under uvicorn, with logs that never show tokens."""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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
    db: Path, host: str, port: int, *, rate_limit: float = 0.0, access_log: bool = True
) -> None:
    import uvicorn

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    log = logging.getLogger("storecfg.server")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    storage = Storage(db)
    app = create_app(storage, rate_limit=rate_limit, access_log=access_log)
    log.info("storecfg store server on http://%s:%d (database %s)", host, port, db)
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
    _server_class()(config).run()
    log.info("storecfg store server stopped")
