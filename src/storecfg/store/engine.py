"""The storage engine seam: connections, transactions and schema versions of one database.

`Storage` (storage.py) holds every rule of the store API once and speaks SQL in the
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
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
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


def open_engine(db: str | Path) -> Engine:
    """The engine for `--db`: `postgresql://…` (or `postgres://…`), `sqlite:///PATH`,
    a file path, or `:memory:`."""
    text = str(db)
    if is_postgres_url(text):
        from .postgres import PostgresEngine

        return PostgresEngine(text)
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///") :]
    return SqliteEngine(text)


def is_postgres_url(text: str) -> bool:
    return text.startswith(("postgresql://", "postgres://"))


class SqliteEngine:
    """One SQLite file (or an in-memory database per thread); one connection per thread."""

    name = "sqlite"
    errors: tuple[type[BaseException], ...] = (sqlite3.Error,)

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self.display = self.path
        self._local = threading.local()
        self._migrations: tuple[Sequence[str], AfterMigrate | None] | None = None
        if self.path != ":memory:":
            _create_private(Path(self.path))

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(
                    self.path, timeout=30, isolation_level=None, check_same_thread=False
                )
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA busy_timeout=30000")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot open store database {self.path}: {exc}") from exc
            self._local.conn = conn
            if self.path == ":memory:" and self._migrations is not None:
                self.migrate(*self._migrations)  # every thread's in-memory database starts empty
        return conn

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        try:
            yield self._conn()
        except sqlite3.Error as exc:  # a library error never escapes as itself
            raise StoreError(f"store database error: {exc}", 503) from exc

    @contextmanager
    def transaction(self, write: bool, store: str | None = None) -> Iterator[Connection]:
        # BEGIN IMMEDIATE takes the file's write lock: writers of every store queue here
        conn = self._conn()
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        except sqlite3.Error as exc:
            raise StoreError(f"store database is unavailable: {exc}", 503) from exc
        try:
            yield conn
        except sqlite3.Error as exc:  # a library error never escapes as itself
            conn.execute("ROLLBACK")
            raise StoreError(f"store database error: {exc}", 503) from exc
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                conn.execute("ROLLBACK")
                raise StoreError(f"store database write failed: {exc}", 503) from exc

    def migrate(self, migrations: Sequence[str], after: AfterMigrate | None = None) -> None:
        self._migrations = (migrations, after)
        target = len(migrations)
        try:
            with self.transaction(write=True) as conn:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                if version > target:
                    raise StoreError(
                        f"store database {self.path} has schema version {version}; this storecfg knows "
                        f"{target}. Upgrade storecfg."
                    )
                for number in range(version, target):
                    for statement in migrations[number].split(";"):
                        if statement.strip():
                            conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {number + 1}")
                if after is not None:
                    after(conn)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{self.path} is not a storecfg store database: {exc}") from exc

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def _create_private(path: Path) -> None:
    """Create the database file readable by its owner only (0600), as every file
    storecfg writes; SQLite gives its -wal and -shm files the same mode. An existing
    file keeps the mode it has."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise StoreError(f"cannot create store database {path}: {exc.strerror or exc}") from exc
    os.close(fd)
