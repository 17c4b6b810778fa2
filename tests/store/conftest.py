"""The semantics suite: the same test functions against every engine and every driver.

A test taking `storage` runs on each storage engine (a SQLite file, a PostgreSQL
database); a test taking `driver` runs on each driver (the embedded store, and the
HTTP driver against the reference server in-process on SQLite and on PostgreSQL).
The PostgreSQL runs use the session's throwaway cluster (tests/conftest.py) and are
skipped, saying why, where PostgreSQL cannot be had.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from storecfg.server.app import create_app
from storecfg.store.driver import StoreDriver, open_store
from storecfg.store.http import HttpDriver
from storecfg.store.http_transport import RetryPolicy
from storecfg.store.storage import Storage

from .asgi import asgi_client

STORE = "shop"


@pytest.fixture
def storage(engine_db: str) -> Iterator[Storage]:
    """The storage on each engine (SQLite, PostgreSQL): every test taking it runs on both."""
    with Storage(engine_db) as s:
        yield s


class ServedDriver(HttpDriver):
    """The HTTP driver to the reference server in-process, on a database of its own
    (a token for STORE made on it); closing the driver closes the server's storage."""

    def __init__(self, db: str | Path) -> None:
        self.storage = Storage(db)
        token = self.storage.create_token(STORE)
        client = asgi_client(create_app(self.storage, access_log=False), "http://testserver/v1/")
        super().__init__(
            "http://testserver", token=token, client=client, retry=RetryPolicy(attempts=1)
        )

    def close(self) -> None:
        super().close()
        self.storage.close()


def _embedded(tmp_path: Path, request: pytest.FixtureRequest) -> StoreDriver:
    return open_store(f"sqlite:///{tmp_path / 'store.db'}")


def _served(tmp_path: Path, request: pytest.FixtureRequest) -> StoreDriver:
    return ServedDriver(tmp_path / "server.db")


def _served_postgresql(tmp_path: Path, request: pytest.FixtureRequest) -> StoreDriver:
    cluster = request.getfixturevalue("pg_cluster")
    return ServedDriver(cluster.url(cluster.create_database()))


#: the embedded store, and the server on each engine
DRIVERS: dict[str, Callable[[Path, pytest.FixtureRequest], StoreDriver]] = {
    "sqlite": _embedded,
    "http": _served,
    "http-postgresql": _served_postgresql,
}


@pytest.fixture(params=sorted(DRIVERS))
def driver(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreDriver]:
    with DRIVERS[request.param](tmp_path, request) as d:
        yield d
