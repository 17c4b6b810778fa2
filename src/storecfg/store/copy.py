"""Copy a whole store database to another engine (`storecfg migrate`), and prove the copy.

Everything moves: stores with their settings and revisions, resources, history,
idempotency keys, locks, the reference index, and tokens (as the hashes they are
stored as, so every token keeps working). Both databases are first brought to this
storecfg's schema. The source is read in one read transaction (one consistent state
even while a server writes to it); the target is written in one write transaction,
and before it commits every table is read back from it and compared with what was
read from the source: the number of rows and a hash of their content. A difference
rolls everything back, so the target holds either the whole checked copy or nothing.

A target that already holds data is refused unless asked (`force`); even then, a store
(or a token) that exists on both sides is refused rather than overwritten.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..errors import StoreError
from .engine import Connection
from .migrations import MIGRATIONS
from .storage import Storage

#: tables that are bookkeeping of one database, not data to copy
_SKIP = {"meta"}
_CHUNK = 500
_MOD = 2**256


def data_tables() -> list[str]:
    """Every table the migrations create, in the order they create them."""
    names: list[str] = []
    dropped: dict[str, int] = {}  # a table rebuilt under a new name keeps its place
    statements = (
        r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)|DROP TABLE (\w+)|ALTER TABLE (\w+) RENAME TO (\w+)"
    )
    for script in MIGRATIONS:
        for created, gone, old, new in re.findall(statements, script):
            if created and created not in names and created not in _SKIP:
                names.append(created)
            elif gone in names:
                dropped[gone] = names.index(gone)
                names.remove(gone)
            elif old in names:
                names.remove(old)
                names.insert(dropped.pop(new, len(names)), new)
    return names


@dataclass
class TableCheck:
    table: str
    rows: int
    digest: str


@dataclass
class CopyReport:
    source: str
    target: str
    stores: list[str]
    tables: list[TableCheck] = field(default_factory=list)

    def count(self, table: str) -> int:
        return next((t.rows for t in self.tables if t.table == table), 0)

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "stores": self.stores,
            "tables": {t.table: {"rows": t.rows, "sha256": t.digest} for t in self.tables},
        }


class _Digest:
    """An order-free hash of a multiset of rows: the sum of their sha256s. The two
    databases return rows in different orders; the same rows give the same sum."""

    def __init__(self) -> None:
        self.rows = 0
        self.total = 0

    def add(self, row: Iterable[Any]) -> None:
        text = json.dumps(list(row), separators=(",", ":"), default=_bytes)
        self.rows += 1
        self.total = (self.total + int.from_bytes(hashlib.sha256(text.encode()).digest())) % _MOD

    def hexdigest(self) -> str:
        return f"{self.total:064x}"


def _bytes(value: Any) -> str:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    raise TypeError(f"cannot compare a value of type {type(value).__name__}")


def _columns(conn: Connection, table: str) -> list[str]:
    cursor = conn.execute(f"SELECT * FROM {table} LIMIT 0")
    return [d[0] for d in cursor.description or ()]


def _owner_column(columns: list[str]) -> str | None:
    """The column that says which store a row belongs to."""
    if "store" in columns:
        return "store"
    return None


def _rows(
    conn: Connection, table: str, columns: list[str], stores: list[str] | None
) -> Iterator[Any]:
    sql = f"SELECT {', '.join(columns)} FROM {table}"
    args: tuple[str, ...] = ()
    key = "id" if table == "stores" else _owner_column(columns)
    if stores is not None and key is not None:
        if not stores:
            return
        sql += f" WHERE {key} IN ({', '.join('?' for _ in stores)})"
        args = tuple(stores)
    yield from conn.execute(sql, args)


def _is_empty(conn: Connection, tables: list[str]) -> dict[str, int]:
    counts = {t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables}
    return {t: n for t, n in counts.items() if n}


def copy_database(source: Storage, target: Storage, *, force: bool = False) -> CopyReport:
    """Copy every table of `source` into `target`, checked; see the module docstring."""
    tables = data_tables()
    report = CopyReport(source.engine.display, target.engine.display, [])
    with (
        source.engine.transaction(write=False) as src,
        target.engine.transaction(write=True) as dst,
    ):
        stores = [r[0] for r in src.execute("SELECT id FROM stores ORDER BY id").fetchall()]
        report.stores = stores
        held = _is_empty(dst, tables)
        if held and not force:
            there = ", ".join(f"{n} {t}" for t, n in held.items())
            raise StoreError(
                f"the target {report.target} is not empty ({there}): copy into an empty "
                "database, or pass --force to add these stores beside the ones it holds"
            )
        if held:
            clash = [
                r[0] for r in dst.execute("SELECT id FROM stores").fetchall() if r[0] in stores
            ]
            if clash:
                raise StoreError(
                    f"the target {report.target} already holds the store(s) "
                    f"{', '.join(sorted(clash))}: nothing was copied (a store is never "
                    "overwritten; remove it from the target first)"
                )
        filtered = stores if held else None
        for table in tables:
            columns = _columns(src, table)
            missing = set(columns) - set(_columns(dst, table))
            if missing:
                raise StoreError(
                    f"the target's table {table} has no column {', '.join(sorted(missing))}: "
                    "the two databases are at different schema versions"
                )
            if held and table != "stores" and _owner_column(columns) is None:
                raise StoreError(f"cannot add table {table} to a target that is not empty")
            sent = _Digest()
            insert = (
                f"INSERT INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)})"
            )
            chunk: list[tuple[Any, ...]] = []
            try:
                for row in _rows(src, table, columns, None):
                    values = tuple(row)
                    sent.add(values)
                    chunk.append(values)
                    if len(chunk) >= _CHUNK:
                        dst.executemany(insert, chunk)
                        chunk = []
                if chunk:
                    dst.executemany(insert, chunk)
            except StoreError:
                raise
            except target.engine.errors as exc:
                raise StoreError(
                    f"copying table {table} into {report.target} failed: "
                    f"{str(exc).strip().splitlines()[0]}; nothing was copied"
                ) from exc
            received = _Digest()
            for row in _rows(dst, table, columns, filtered):
                received.add(tuple(row))
            if (sent.rows, sent.hexdigest()) != (received.rows, received.hexdigest()):
                raise StoreError(
                    f"the copy of table {table} does not match its source ({sent.rows} rows "
                    f"read, {received.rows} found in the target, content "
                    f"{'equal' if sent.total == received.total else 'different'}): "
                    "nothing was copied"
                )
            report.tables.append(TableCheck(table, sent.rows, sent.hexdigest()))
    return report
