"""Run the reference server under uvicorn, with logs that never show tokens."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

from ..store.storage import Storage
from .app import create_app


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
    uvicorn.Server(config).run()
    log.info("storecfg store server stopped")
