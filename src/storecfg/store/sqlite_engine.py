"""The SQLite engine: one database file (or an in-memory database per thread).

SQLite takes one writer at a time for the whole file (`BEGIN IMMEDIATE`), which is
what a write transaction on a store needs; reads see one consistent state from their
`BEGIN`. The file is created readable by its owner only.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ..errors import StoreError
from .engine import AfterMigrate, Connection


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
