"""The live-store storage, shared by the embedded driver and the server.

One database (a SQLite file, or PostgreSQL: see engine.py) can hold many stores. Everything
the store API promises is implemented once, in the parts `Storage` is made of:
writes.py and batch.py (per-resource revisions, a store revision that moves on every
write, If-Match / If-None-Match preconditions, idempotency keys, referential integrity),
locks.py (the apply lock), tokens.py (API tokens, kept only as hashes) and history.py
(snapshots, apply records, drift). This module holds the stores and the reads, and
opens the engine. The embedded `sqlite://` driver calls `Storage` directly; the
reference server maps it to HTTP. Errors are `StoreError`s whose `status` is the HTTP
status the server answers with.
"""

from __future__ import annotations

import builtins
import json
from pathlib import Path

from ..errors import StoreError
from ..model import LiveResource, LiveState, address, split_address
from .base import check_kind, store_row
from .batch import Batches
from .engine import Connection, Engine, is_postgres_url, retried
from .history import History, baseline_settings
from .integrity import ensure_index
from .locks import Locks
from .migrations import MIGRATIONS
from .records import StoreInfo
from .sqlite_engine import SqliteEngine
from .tokens import Tokens
from .wire import DEFAULT_PAGE, check_limit, decode_page_token, encode_page_token


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


def _after_migrate(conn: Connection) -> None:
    """What every opening checks once the schema is current: the reference index, and
    the hash of the settings an upgrade took as the baseline."""
    ensure_index(conn)
    baseline_settings(conn)


class Storage(Batches, Locks, Tokens, History):
    """A database of stores. Safe to share between threads, and on PostgreSQL between
    processes: `db` is a SQLite file path (or `sqlite:///PATH`, `:memory:`) or a
    `postgresql://` URL. A context manager: the engine's connections close on exit."""

    def __init__(
        self, db: str | Path, *, validate: bool = True, keep_snapshots: int | None = None
    ) -> None:
        super().__init__(open_engine(db), validate=validate, keep_snapshots=keep_snapshots)
        self.engine.migrate(MIGRATIONS, _after_migrate)

    # ------------------------------------------------------------ stores

    @retried
    def create_store(self, store_id: str) -> None:
        with self._tx(write=True, store=store_id) as conn:
            self._write_state(conn, store_id)

    @retried
    def store_exists(self, store_id: str) -> bool:
        with self._read() as conn:
            row = conn.execute("SELECT 1 FROM stores WHERE id = ?", (store_id,)).fetchone()
        return row is not None

    @retried
    def list_stores(self) -> list[str]:
        with self._read() as conn:
            return [r[0] for r in conn.execute("SELECT id FROM stores ORDER BY id").fetchall()]

    @retried
    def store_info(self, store_id: str) -> StoreInfo:
        with self._read() as conn:
            return store_row(conn, store_id)

    # ------------------------------------------------------------ reads

    @retried
    def list(
        self,
        store_id: str,
        kind: str,
        *,
        limit: int = DEFAULT_PAGE,
        page_token: str | None = None,
        specs: bool = True,
    ) -> tuple[builtins.list[LiveResource], str | None]:
        """One page of a kind, by ID. With specs=False the items carry revision and hash
        only (their spec is empty): enough to tell what changed."""
        check_kind(kind)
        check_limit(limit)
        after = decode_page_token(kind, page_token) if page_token else ""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT id, {'spec' if specs else 'NULL'}, revision, hash, source FROM resources "
                "WHERE store = ? AND kind = ? AND id > ? ORDER BY id LIMIT ?",
                (store_id, kind, after, limit + 1),
            ).fetchall()
        items = [
            LiveResource(json.loads(r[1]) if specs else {}, int(r[2]), r[3], r[4], id=r[0])
            for r in rows[:limit]
        ]
        next_token = encode_page_token(kind, items[-1].id) if len(rows) > limit else None
        return items, next_token

    @retried
    def get(self, store_id: str, kind: str, rid: str) -> LiveResource:
        check_kind(kind)
        with self._read() as conn:
            row = conn.execute(
                "SELECT spec, revision, hash, source FROM resources "
                "WHERE store = ? AND kind = ? AND id = ?",
                (store_id, kind, rid),
            ).fetchone()
        if row is None:
            raise StoreError(f"{address(kind, rid)} does not exist in store {store_id}", 404)
        return LiveResource(json.loads(row[0]), int(row[1]), row[2], row[3], id=rid)

    @retried
    def get_many(self, store_id: str, addresses: builtins.list[str]) -> dict[str, LiveResource]:
        """Several resources by address (KIND.ID) in one read transaction; missing
        ones are left out."""
        out: dict[str, LiveResource] = {}
        with self._tx(write=False) as conn:
            for addr in addresses:
                kind, rid = split_address(addr)
                row = conn.execute(
                    "SELECT spec, revision, hash, source FROM resources "
                    "WHERE store = ? AND kind = ? AND id = ?",
                    (store_id, kind, rid),
                ).fetchone()
                if row is not None:
                    out[addr] = LiveResource(
                        json.loads(row[0]), int(row[1]), row[2], row[3], id=rid
                    )
        return out

    @retried
    def read_all(self, store_id: str, *, specs: bool = True) -> LiveState:
        """The whole store in one read transaction (a consistent snapshot).

        With specs=False only revisions and hashes are read (enough to tell what changed).
        """
        with self._tx(write=False) as conn:
            info = store_row(conn, store_id)
            live = LiveState(store_id, info.revision, info.settings, info.settings_revision)
            cols = "kind, id, revision, hash, source" + (", spec" if specs else "")
            resources: dict[str, dict[str, LiveResource]] = {}
            loads = json.loads
            for row in conn.execute(
                f"SELECT {cols} FROM resources WHERE store = ? ORDER BY kind, id", (store_id,)
            ):
                spec = loads(row[5]) if specs else {}
                resources.setdefault(row[0], {})[row[1]] = LiveResource(
                    spec, int(row[2]), row[3], row[4], id=row[1]
                )
            live.resources = resources
            return live
