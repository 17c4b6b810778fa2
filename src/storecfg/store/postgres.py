"""The PostgreSQL engine: one database shared by any number of server processes.

Every rule of the store API stays in `Storage`; this module gives it connections and
transactions on PostgreSQL (psycopg 3, with a psycopg_pool pool per process):

- A write transaction runs at READ COMMITTED and its first statement locks the row of
  the store it writes (`SELECT ... FOR UPDATE`, creating the row if the store is new).
  Every write to a store does the same, so writes to one store run one at a time across
  all processes, and each sees everything committed before it: revisions, If-Match,
  idempotency keys and the apply lock are compare-and-swap in one transaction, exactly as
  on SQLite. Writes to different stores do not wait for each other.
- A read transaction is REPEATABLE READ READ ONLY: one snapshot for all its statements
  (a plan reads one revision of the store, a snapshot is exactly one state).
- Serialization failures and deadlocks become `Retry` (the caller runs the transaction
  again, a bounded number of times); so does a connection found dead before anything
  was sent on it.
- Nothing lives in the session: no session-level advisory locks, no SET outside a
  transaction, no server-side prepared statements, no temporary tables. That is what
  PgBouncer in transaction mode needs, where consecutive transactions of one client
  may run on different server connections. Timeouts are `SET LOCAL`, inside each
  transaction.
- Migrations run under `LOCK TABLE schema_version`, so servers starting together
  migrate once. DDL is the shared SQLite spelling, translated here: REAL is DOUBLE
  PRECISION, INTEGER is BIGINT, and TEXT compares byte by byte (COLLATE "C") as in
  SQLite, so IDs sort and page the same way on both engines.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..errors import StoreError
from .engine import AfterMigrate, Connection, Cursor, Retry

if TYPE_CHECKING:
    import psycopg
    import psycopg_pool

#: how long a statement waits for a row lock (another process's write to the same store)
LOCK_TIMEOUT = "30s"
#: connections one process keeps open at most (the server uses one or two at a time)
POOL_SIZE = 8
#: seconds a request waits for a database connection (PostgreSQL stopped or unreachable,
#: or every connection in use) before it is answered 503: well within a client's 30 s
CONNECTION_WAIT = 5.0

_BEGIN = "BEGIN ISOLATION LEVEL READ COMMITTED"
_SET_TIMEOUT = f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"
_BEGIN_WRITE = f"{_BEGIN}; {_SET_TIMEOUT}"
_BEGIN_READ = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
_LOCK_STORE = "SELECT 1 FROM stores WHERE id = %s FOR UPDATE"
_CREATE_STORE = "INSERT INTO stores (id, created_at) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING"
#: SQLSTATEs after which the whole transaction is run again
_RETRY_STATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected
_LOCK_TIMEOUT_STATE = "55P03"  # lock_not_available
_READ_ONLY_STATE = "25006"  # read_only_sql_transaction: a hot standby


def redact(url: str) -> str:
    """The URL without its password (in the authority or as a query parameter)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}@{hostport}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k.lower() != "password"])
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


@functools.lru_cache(maxsize=512)
def _sql(text: str) -> str:
    """sqlite3's `?` placeholders as psycopg's `%s` (a literal % doubled)."""
    return text.replace("%", "%%").replace("?", "%s")


_DDL = [
    (re.compile(r"\)\s*WITHOUT\s+ROWID"), ")"),
    (re.compile(r"\bREAL\b"), "DOUBLE PRECISION"),
    (re.compile(r"\bINTEGER\b"), "BIGINT"),
    (re.compile(r"\bBLOB\b"), "BYTEA"),
    (re.compile(r"\bTEXT\b"), 'TEXT COLLATE "C"'),
]


def translate_ddl(statement: str) -> str:
    """A migration statement written for SQLite, as PostgreSQL spells it."""
    for pattern, replacement in _DDL:
        statement = pattern.sub(replacement, statement)
    return statement


class _PgConnection:
    """A psycopg connection that takes sqlite3-style statements."""

    __slots__ = ("raw",)

    def __init__(self, raw: psycopg.Connection[Any]) -> None:
        self.raw = raw

    def execute(self, sql: str, params: Any = (), /) -> Cursor:
        return self.raw.execute(_sql(sql), tuple(params))

    def executemany(self, sql: str, params: Iterable[Any], /) -> Any:
        with self.raw.cursor() as cursor:
            cursor.executemany(_sql(sql), [tuple(p) for p in params])


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class PostgresEngine:
    """A PostgreSQL database given as a `postgresql://` URL (libpq's syntax; a password
    is better kept in PGPASSWORD or ~/.pgpass than in the URL)."""

    name = "postgresql"

    def __init__(self, url: str, *, pool_size: int = POOL_SIZE) -> None:
        try:
            import psycopg
            import psycopg_pool
        except ImportError:
            raise StoreError(
                "PostgreSQL support is not installed: pip install 'storecfg[postgres]'"
            ) from None
        self._psycopg = psycopg
        self._pool_module = psycopg_pool
        self.url = url
        self.display = redact(url)
        self.errors: tuple[type[BaseException], ...] = (psycopg.Error,)
        self._pool_size = pool_size
        self._pool: psycopg_pool.ConnectionPool[Any] | None = None
        self._pool_lock = threading.Lock()
        self._kwargs: dict[str, Any] = {"autocommit": True, "prepare_threshold": None}
        #: a hot standby (found when migrating): it answers reads only
        self.read_only = False

    # ------------------------------------------------------------ connections

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return self._psycopg.connect(self.url, connect_timeout=15, **self._kwargs)
        except self._psycopg.Error as exc:
            raise StoreError(
                f"cannot connect to the store database {self.display}: {_first_line(exc)}", 503
            ) from None

    def _get_pool(self) -> psycopg_pool.ConnectionPool[Any]:
        with self._pool_lock:
            if self._pool is None:
                self._pool = self._new_pool()
            return self._pool

    def _new_pool(self) -> psycopg_pool.ConnectionPool[Any]:
        return self._pool_module.ConnectionPool(
            self.url,
            kwargs=self._kwargs,
            min_size=1,
            max_size=self._pool_size,
            open=True,
            name="storecfg",
            timeout=CONNECTION_WAIT,
        )

    @contextmanager
    def _borrow(self) -> Iterator[psycopg.Connection[Any]]:
        pool = self._get_pool()
        try:
            raw = pool.getconn()
        except self._psycopg.Error as exc:
            raise StoreError(
                f"store database {self.display} is unavailable: {_first_line(exc)}", 503
            ) from None
        try:
            yield raw
        finally:
            pool.putconn(raw)  # rolled back or discarded there if left unfinished or broken

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        with self._borrow() as raw:
            try:
                yield _PgConnection(raw)
            except self._psycopg.Error as exc:
                # one statement on its own: a lost connection is worth another try
                raise self._converted(exc, started=False) from exc

    @contextmanager
    def transaction(self, write: bool, store: str | None = None) -> Iterator[Connection]:
        with self._borrow() as raw:
            if write and store is not None:
                with self._pipelined(raw, store) as conn:
                    yield conn
                return
            try:
                raw.execute(_BEGIN_WRITE if write else _BEGIN_READ)
            except self._psycopg.Error as exc:
                self._rollback(raw)
                # nothing was written yet: a dead pooled connection is simply retried
                raise self._converted(exc, started=False) from exc
            try:
                yield _PgConnection(raw)
            except self._psycopg.Error as exc:
                self._rollback(raw)
                # a read transaction wrote nothing: it may always be tried again
                raise self._converted(exc, started=write) from exc
            except BaseException:
                self._rollback(raw)
                raise
            try:
                raw.execute("COMMIT")
            except self._psycopg.Error as exc:
                self._rollback(raw)
                raise self._converted(exc, started=True, committing=True) from exc

    @contextmanager
    def _pipelined(self, raw: psycopg.Connection[Any], store: str) -> Iterator[Connection]:
        """A write transaction on one store, in pipeline mode: statements whose results
        are not read (the writes) travel with the next one that is, so a write costs
        one round trip to the database rather than one per statement. BEGIN, the
        timeout and the store's lock go in one round trip; COMMIT in the last."""
        stage = "begin"
        try:
            with raw.pipeline():
                raw.execute(_BEGIN)
                raw.execute(_SET_TIMEOUT)
                self._lock_store(raw, store)
                stage = "body"
                yield _PgConnection(raw)
                stage = "commit"
                raw.execute("COMMIT")
        except self._psycopg.Error as exc:
            self._rollback(raw)
            raise self._converted(
                exc, started=stage != "begin", committing=stage == "commit"
            ) from exc
        except BaseException:
            self._rollback(raw)
            raise

    def _lock_store(self, raw: psycopg.Connection[Any], store: str) -> None:
        """Take the store's row for this transaction; a store's first write creates it
        (a concurrent creator is waited for, then its row is locked)."""
        if raw.execute(_LOCK_STORE, (store,)).fetchone() is None:
            import time

            raw.execute(_CREATE_STORE, (store, time.time()))
            raw.execute(_LOCK_STORE, (store,))

    def _rollback(self, raw: psycopg.Connection[Any]) -> None:
        try:
            if not raw.closed:
                raw.execute("ROLLBACK")
        except self._psycopg.Error:
            pass  # a broken connection: the pool discards it

    def _converted(
        self, exc: BaseException, *, started: bool, committing: bool = False
    ) -> StoreError:
        state = getattr(exc, "sqlstate", None)
        if state in _RETRY_STATES:
            return Retry(f"store database is busy: {_first_line(exc)}; try again", 503)
        if state == _READ_ONLY_STATE:
            return StoreError(
                f"store database {self.display} is a read-only replica: writes, locks and "
                "tokens go to a server on the primary",
                503,
            )
        if state == _LOCK_TIMEOUT_STATE:
            return StoreError(
                f"store database is busy: another write held the store for over {LOCK_TIMEOUT}",
                503,
            )
        if not started and isinstance(exc, self._psycopg.OperationalError):
            return Retry(f"store database {self.display} is unavailable: {_first_line(exc)}", 503)
        if committing:
            return StoreError(
                f"store database write may not have been saved: {_first_line(exc)}", 503
            )
        return StoreError(f"store database error: {_first_line(exc)}", 503)

    # ------------------------------------------------------------ schema

    def migrate(self, migrations: Sequence[str], after: AfterMigrate | None = None) -> None:
        psycopg = self._psycopg
        target = len(migrations)
        with self._connect() as raw:
            try:
                standby = raw.execute("SELECT pg_is_in_recovery()").fetchone()
                if standby and standby[0]:
                    self._check_replica(raw, target)
                    return
                self._create_version_table(raw)
                with raw.transaction():
                    # one migrating process at a time; the others wait, then find it done
                    raw.execute("LOCK TABLE schema_version IN EXCLUSIVE MODE")
                    row = raw.execute("SELECT max(version) FROM schema_version").fetchone()
                    version = int(row[0]) if row and row[0] is not None else 0
                    if version > target:
                        raise StoreError(
                            f"store database {self.display} has schema version {version}; this "
                            f"storecfg knows {target}. Upgrade storecfg."
                        )
                    for number in range(version, target):
                        for statement in migrations[number].split(";"):
                            if statement.strip():
                                raw.execute(translate_ddl(statement))
                    if version != target:
                        raw.execute("DELETE FROM schema_version")
                        raw.execute("INSERT INTO schema_version (version) VALUES (%s)", (target,))
                    if after is not None:
                        after(_PgConnection(raw))
            except psycopg.Error as exc:
                raise StoreError(
                    f"cannot prepare the store database {self.display}: {_first_line(exc)}", 503
                ) from exc

    def _check_replica(self, raw: psycopg.Connection[Any], target: int) -> None:
        """A read-only replica cannot be migrated: its schema comes from the primary,
        which must be at this storecfg's version already."""
        self.read_only = True
        exists = raw.execute("SELECT to_regclass('schema_version')").fetchone()
        version = 0
        if exists and exists[0] is not None:
            row = raw.execute("SELECT max(version) FROM schema_version").fetchone()
            version = int(row[0]) if row and row[0] is not None else 0
        if version != target:
            raise StoreError(
                f"store database {self.display} is a read-only replica at schema version "
                f"{version}; this storecfg needs {target}. Run storecfg (serve or token "
                "create) once on the primary to migrate it, then start the replica's servers."
            )

    def _create_version_table(self, raw: psycopg.Connection[Any]) -> None:
        try:
            raw.execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        except self._psycopg.Error:
            # another process created it at the same moment (IF NOT EXISTS does not
            # settle that race in PostgreSQL): fine, as long as it is there now
            row = raw.execute("SELECT to_regclass('schema_version')").fetchone()
            if row is None or row[0] is None:
                raise

    def schema_version(self) -> int:
        with self.connection() as conn:
            row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
