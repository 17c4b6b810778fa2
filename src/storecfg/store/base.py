"""What every part of `Storage` stands on: its engine, transactions, and the store's
own row (its revision and settings), read once per write transaction.

`Storage` (storage.py) is assembled from parts that each keep one set of rules —
writes.py and batch.py (resources and settings), locks.py (the apply lock), tokens.py,
history.py — and all of them reach the database through `_read` and `_tx` here, so
each part can be read alone and the engine stays behind its interface (engine.py).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, TypeVar

from ..closing import Closing
from ..errors import StoreError
from ..model import KINDS
from .engine import Connection, Engine
from .records import StoreInfo, default_settings

T = TypeVar("T")


class StorageBase(Closing):
    """The engine and its transactions, shared by every part of `Storage`."""

    def __init__(
        self, engine: Engine, *, validate: bool = True, keep_snapshots: int | None = None
    ) -> None:
        self.engine = engine
        #: whether specs are checked against the schemas and rules before they are kept
        self.validate = validate
        #: snapshots kept per store (oldest pruned first); None keeps them all
        self.keep_snapshots = keep_snapshots
        #: specs (kind -> id -> spec) checked by the compile of this process: these
        #: objects, and only these, are kept without checking them again
        self.vouched: Mapping[str, Mapping[str, Any]] = {}
        #: per thread: whether a `retried` method is running (see engine.retried)
        self._local = threading.local()

    def _read(self) -> AbstractContextManager[Connection]:
        """A connection for one statement that reads (it sees one state on its own)."""
        return self.engine.connection()

    def _tx(self, write: bool, store: str | None = None) -> AbstractContextManager[Connection]:
        """A transaction. A write names its store: no other write to it runs meanwhile."""
        return self.engine.transaction(write, store)

    def close(self) -> None:
        self.engine.close()

    def _write_state(self, conn: Connection, store_id: str) -> WriteState:
        """The store row, read once per write transaction (created on the first write)."""
        row = conn.execute(
            "SELECT revision, settings, settings_revision FROM stores WHERE id = ?", (store_id,)
        ).fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO stores (id, created_at) VALUES (?, ?)", (store_id, time.time())
            )
            return WriteState(store_id, 0, default_settings(store_id), 0)
        settings = json.loads(row[1]) if row[1] else default_settings(store_id)
        return WriteState(store_id, int(row[0]), settings, int(row[2]))


def store_row(conn: Connection, store_id: str) -> StoreInfo:
    """The store's revision and settings (a store never written is at revision 0)."""
    row = conn.execute(
        "SELECT revision, settings, settings_revision FROM stores WHERE id = ?", (store_id,)
    ).fetchone()
    if row is None:
        return StoreInfo(store_id, 0, default_settings(store_id), 0)
    settings = json.loads(row[1]) if row[1] else default_settings(store_id)
    return StoreInfo(store_id, int(row[0]), settings, int(row[2]))


@dataclass
class WriteState:
    """The store row during one write transaction; revision moves with every write."""

    store_id: str
    revision: int
    settings: dict[str, Any]
    settings_revision: int
    initial: int = -1
    #: (revision, source) of resources by (kind, id), None when absent; read ahead for
    #: a batch (see Batches._prefetch) and kept current as it writes
    known: dict[tuple[str, str], tuple[int, str | None] | None] | None = None
    #: idempotency rows by key (None: no row), likewise
    replays: dict[str, tuple[Any, ...] | None] | None = None

    def __post_init__(self) -> None:
        self.initial = self.revision

    def saved(self) -> tuple[Any, Any]:
        return (
            None if self.known is None else dict(self.known),
            None if self.replays is None else dict(self.replays),
        )


def check_kind(kind: str) -> None:
    if kind not in KINDS:
        from ..spec.suggest import did_you_mean

        raise StoreError(f"unknown resource kind {kind!r}{did_you_mean(kind, KINDS)}", 404)


def chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
