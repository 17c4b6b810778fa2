"""Fixtures for the whole suite.

The compile cache keeps its key in the user's cache directory ($XDG_CACHE_HOME): the
tests point it at a temporary directory of their own, so they neither read nor write
the real home (and CLI processes they start inherit it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session", autouse=True)
def private_cache_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    previous = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if previous is None:
        os.environ.pop("XDG_CACHE_HOME", None)
    else:
        os.environ["XDG_CACHE_HOME"] = previous


# ---------------------------------------------------------------- PostgreSQL


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Any]:
    """A throwaway PostgreSQL cluster for this test session (see support/postgres.py).

    Tests that need it are skipped, saying why, when PostgreSQL cannot be had here;
    with STORECFG_REQUIRE_POSTGRES=1 (as CI sets it) they fail instead.
    """
    from support.postgres import Unavailable, start_cluster

    try:
        cluster = start_cluster()
    except Unavailable as exc:
        if os.environ.get("STORECFG_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required (STORECFG_REQUIRE_POSTGRES=1): {exc}")
        pytest.skip(f"PostgreSQL is not available: {exc}")
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def pgbouncer(pg_cluster: Any) -> Iterator[Any]:
    """PgBouncer in transaction mode in front of the session's cluster; skipped (or,
    with STORECFG_REQUIRE_POSTGRES=1, failed) when it cannot be had."""
    from support.postgres import Unavailable, start_pgbouncer

    try:
        bouncer = start_pgbouncer(pg_cluster)
    except Unavailable as exc:
        if os.environ.get("STORECFG_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PgBouncer is required (STORECFG_REQUIRE_POSTGRES=1): {exc}")
        pytest.skip(f"PgBouncer is not available: {exc}")
    yield bouncer
    bouncer.stop()


@pytest.fixture
def pg_url(
    pg_cluster: Any, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A new, empty database of the session's cluster, as a postgresql:// URL.

    A test that passes must have closed every storage it opened on it in this process.
    A connection pool left open is otherwise closed by its `__del__`, which fails (and
    pytest warns) when the last reference goes from one of the pool's own threads: in
    some runs, not in others. Pools are recorded here so that such a test fails every
    time instead."""
    import psycopg_pool

    name = pg_cluster.create_database()
    pools: list[Any] = []

    class RecordedPool(psycopg_pool.ConnectionPool):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            pools.append(self)

    monkeypatch.setattr(psycopg_pool, "ConnectionPool", RecordedPool)
    failed = request.session.testsfailed
    yield pg_cluster.url(name)
    left_open = [p for p in pools if not p.closed and name in p.conninfo]
    for pool in left_open:
        pool.close()
    pg_cluster.drop_database(name)
    if left_open and request.session.testsfailed == failed:
        pytest.fail(
            f"{len(left_open)} connection pool(s) on the test's database were left open: "
            "close the storage or driver the test opened"
        )


@pytest.fixture(params=["sqlite", "postgresql"])
def engine_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store database on each engine: a SQLite file, then a PostgreSQL database.
    Tests taking it (or `storage`, built on it) run once per engine."""
    if request.param == "sqlite":
        return str(tmp_path / "store.db")
    return str(request.getfixturevalue("pg_url"))
