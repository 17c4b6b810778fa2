"""The storage engine seam: connections, transactions and schema versions of one database.

This module is the interface only; the engines are sqlite_engine.py and postgres.py,
and `storage.open_engine` picks one for a `--db`. `Storage` (storage.py) holds every rule of the store API once and speaks SQL in the
subset SQLite and PostgreSQL share: `?` placeholders, `INSERT ... ON CONFLICT (...) DO
UPDATE | DO NOTHING`, the types INTEGER, REAL and TEXT in its migrations. An engine
supplies only what differs between the two databases:

- how a connection is had (one per thread for SQLite, a pool for PostgreSQL);
- what a transaction is. A write transaction names the store it writes, and no other
  write to that store runs until it ends: SQLite's `BEGIN IMMEDIATE` takes the whole
  file, PostgreSQL takes that store's row (`SELECT ... FOR UPDATE`) first. Either way the
  transaction's reads and writes happen as if it ran alone, which is what revisions,
  If-Match, idempotency keys and the apply lock rely on. A read transaction sees one
  consistent state from its first statement to its last;
- where the schema version is kept, and how DDL is spelled;
- which database errors are worth running the whole transaction again for
  (`Retry`: serialization failures, deadlocks), with a bound (`retried`).

Library exceptions never leave an engine: they become `StoreError`s (503 when the
database is unavailable or busy).
"""

from __future__ import annotations

import functools
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar

from ..errors import StoreError


class Cursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    @property
    def description(self) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """What `Storage` needs of a connection: sqlite3's own API, which the PostgreSQL
    engine imitates (`?` placeholders included)."""

    def execute(self, sql: str, params: Any = (), /) -> Cursor: ...

    def executemany(self, sql: str, params: Iterable[Any], /) -> Any: ...


#: called with a connection inside the migrating transaction, after the migrations ran
AfterMigrate = Callable[[Connection], None]


class Engine(Protocol):
    #: "sqlite" or "postgresql"
    name: str
    #: where the database is, with no password: for messages and logs
    display: str
    #: the exceptions of the database library (for the rare caller that must catch them)
    errors: tuple[type[BaseException], ...]

    def transaction(
        self, write: bool, store: str | None = None
    ) -> AbstractContextManager[Connection]: ...

    def connection(self) -> AbstractContextManager[Connection]:
        """A connection outside any transaction: each statement commits on its own.
        For single-statement reads and for writes that need no other statement."""
        ...

    def migrate(self, migrations: Sequence[str], after: AfterMigrate | None = None) -> None:
        """Bring the schema to len(migrations); refuse a database from a newer storecfg."""
        ...

    def close(self) -> None: ...


class Retry(StoreError):
    """A transaction lost a race the database could not settle (a serialization failure
    or a deadlock): it changed nothing, and running it again will likely succeed."""


#: attempts of one transaction before a Retry is answered as 503
MAX_ATTEMPTS = 8

F = TypeVar("F", bound=Callable[..., Any])


def retried(method: F) -> F:
    """Run a `Storage` method again when its transaction must be retried (a bounded
    number of times, with jittered backoff). Only the outermost call retries: a method
    called inside another's transaction lets the Retry reach the one that owns it."""

    @functools.wraps(method)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        local = self._local
        if getattr(local, "retrying", False):
            return method(self, *args, **kwargs)
        local.retrying = True
        try:
            for attempt in range(1, MAX_ATTEMPTS + 1):
                try:
                    return method(self, *args, **kwargs)
                except Retry:
                    if attempt == MAX_ATTEMPTS:
                        raise
                    time.sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt)))
        finally:
            local.retrying = False

    return run  # type: ignore[return-value]


def is_postgres_url(text: str) -> bool:
    return text.startswith(("postgresql://", "postgres://"))


def with_pairs(pairs: Sequence[tuple[str, str]]) -> tuple[str, list[str]]:
    """A `WITH w(k, i) AS (VALUES ...)` clause naming these (kind, id) pairs, and its
    parameters. Joining a table to `w` on its key columns is a key lookup per pair on
    both engines; SQLite plans `(kind, id) IN (VALUES ...)` as a scan of the whole
    store instead, which made every batch of an apply read every resource."""
    values = ", ".join("(?, ?)" for _ in pairs)
    return f"WITH w(k, i) AS (VALUES {values}) ", [part for pair in pairs for part in pair]
