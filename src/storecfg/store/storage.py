"""The live-store storage, shared by the embedded driver and the server.

One database (a SQLite file, or PostgreSQL: see engine.py) can hold many stores. Everything the store API promises is
implemented here once: per-resource revisions, a store revision that moves on every
write, If-Match / If-None-Match preconditions, idempotency keys (kept 24 hours),
the apply lock, referential integrity (see `integrity`), and API tokens (kept only
as hashes, optionally read-only, with the time each was last used). The embedded `sqlite://`
driver calls this directly; the reference server maps it to HTTP. Errors are
`StoreError`s whose `status` is the HTTP status the server answers with.
"""

from __future__ import annotations

import base64
import builtins
import contextlib
import hashlib
import json
import math
import re
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ConflictError, LockedError, StoreError
from ..model import ID_PATTERN, KINDS, LiveResource, LiveState, canonical_json
from . import history, integrity
from .engine import Connection, Engine, open_engine, retried
from .history import HistoryStore

IDEMPOTENCY_TTL = 24 * 3600
DEFAULT_LOCK_TTL = 120.0
MAX_LOCK_TTL = 3600.0
MAX_PAGE = 1000
DEFAULT_PAGE = 100

_MIGRATIONS: list[str] = [
    # 1: the initial schema
    """
    CREATE TABLE stores (
        id TEXT PRIMARY KEY,
        revision INTEGER NOT NULL DEFAULT 0,
        settings TEXT,
        settings_revision INTEGER NOT NULL DEFAULT 0,
        created_at REAL NOT NULL
    );
    CREATE TABLE resources (
        store TEXT NOT NULL,
        kind TEXT NOT NULL,
        id TEXT NOT NULL,
        spec TEXT NOT NULL,
        hash TEXT NOT NULL,
        revision INTEGER NOT NULL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (store, kind, id)
    ) WITHOUT ROWID;
    CREATE TABLE idempotency (
        store TEXT NOT NULL,
        key TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        status INTEGER NOT NULL,
        body TEXT,
        created_at REAL NOT NULL,
        PRIMARY KEY (store, key)
    ) WITHOUT ROWID;
    CREATE INDEX idempotency_age ON idempotency (created_at);
    CREATE TABLE locks (
        store TEXT PRIMARY KEY,
        lock_id TEXT NOT NULL,
        owner TEXT NOT NULL,
        acquired_at REAL NOT NULL,
        expires_at REAL NOT NULL
    );
    CREATE TABLE tokens (
        hash TEXT PRIMARY KEY,
        store TEXT NOT NULL,
        name TEXT,
        created_at REAL NOT NULL
    );
    """,
    # 2: referential integrity (the index of references; filled by integrity.ensure_index),
    # the definition file each resource came from, token IDs, read-only tokens, last use
    """
    CREATE TABLE refs (
        store TEXT NOT NULL,
        from_kind TEXT NOT NULL,
        from_id TEXT NOT NULL,
        field TEXT NOT NULL,
        to_kind TEXT NOT NULL,
        to_id TEXT NOT NULL,
        PRIMARY KEY (store, from_kind, from_id, field)
    ) WITHOUT ROWID;
    CREATE INDEX refs_to ON refs (store, to_kind, to_id);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    ALTER TABLE resources ADD COLUMN source TEXT;
    ALTER TABLE tokens ADD COLUMN id TEXT;
    ALTER TABLE tokens ADD COLUMN read_only INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE tokens ADD COLUMN last_used_at REAL;
    UPDATE tokens SET id = 'tok_' || substr(hash, 1, 12);
    CREATE UNIQUE INDEX tokens_id ON tokens (id);
    """,
    # 3: history in the store: snapshots, apply records, last-applied hashes
    history.MIGRATION,
]
SCHEMA_VERSION = len(_MIGRATIONS)


def migrations() -> list[str]:
    """The schema, as the scripts that build it (written for SQLite; see engine.py)."""
    return list(_MIGRATIONS)


def default_settings(store_id: str) -> dict[str, Any]:
    """Settings of a store nobody has configured yet."""
    return {
        "id": store_id,
        "name": store_id,
        "currency": "USD",
        "locales": ["en-US"],
        "prices_include_tax": False,
    }


@dataclass(slots=True)
class Item:
    id: str
    spec: dict[str, Any]
    revision: int
    hash: str = ""
    #: the definition file the resource came from, as the last write that named one said
    source: str | None = None

    def to_json(self) -> dict[str, Any]:
        out = {"id": self.id, "spec": self.spec, "revision": self.revision}
        if self.source is not None:
            out["source"] = self.source
        return out


@dataclass(slots=True)
class StoreInfo:
    id: str
    revision: int
    settings: dict[str, Any]
    settings_revision: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "revision": self.revision,
            "settings": self.settings,
            "settings_revision": self.settings_revision,
        }


@dataclass(slots=True)
class LockInfo:
    lock_id: str
    owner: dict[str, Any]
    acquired_at: float
    expires_at: float

    def to_json(self) -> dict[str, Any]:
        return {
            "lock_id": self.lock_id,
            "owner": self.owner,
            "acquired_at": _iso(self.acquired_at),
            "expires_at": _iso(self.expires_at),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LockInfo:
        return cls(
            str(data["lock_id"]),
            dict(data.get("owner") or {}),
            _from_iso(data.get("acquired_at")),
            _from_iso(data.get("expires_at")),
        )

    def describe(self) -> str:
        o = self.owner
        who = f"{o.get('user', '?')}@{o.get('host', '?')}"
        if o.get("pid"):
            who += f" (pid {o['pid']})"
        return f"lock {self.lock_id} held by {who} since {_iso(self.acquired_at)}, expires {_iso(self.expires_at)}"


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _from_iso(text: Any) -> float:
    if not isinstance(text, str):
        return 0.0
    try:
        import calendar

        return float(calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        return 0.0


#: the one integer range of storecfg (SQLite's, and every common JSON parser's):
#: signed 64 bits
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
INT64_RANGE = "-9223372036854775808 to 9223372036854775807 (signed 64-bit)"

#: a run of 19 digits (an integer past 64 bits) in JSON text, once every digit is a 9
_TO_NINES = bytes.maketrans(b"0123456789", b"9999999999")
_LONG_RUN = b"9" * 19
#: the JSON escape of a surrogate (lone ones cannot be stored, or even answered)
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _step(key: Any) -> str:
    if isinstance(key, int):
        return f"[{key}]"
    if isinstance(key, str) and _FIELD_NAME.fullmatch(key):
        return f".{key}"
    return f"[{json.dumps(key)}]"


def _unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def bad_value(value: Any) -> tuple[str, str] | None:
    """The first value (in document order) that JSON can carry but the store cannot
    keep, as (path such as `.resources[0].max`, what is wrong), or None: integers
    outside the signed 64-bit range, non-finite numbers, text with lone surrogates."""
    stack: builtins.list[tuple[Any, str]] = [(value, "")]
    while stack:  # no recursion: the nesting is as deep as the JSON parser allowed
        node, path = stack.pop()
        if isinstance(node, dict):
            for key in node:
                if isinstance(key, str) and not _unicode(key):
                    return path + _step(key.encode("utf-8", "backslashreplace").decode()), (
                        "the field name holds a lone surrogate (not valid Unicode)"
                    )
            stack.extend((v, path + _step(k)) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((node[i], f"{path}[{i}]") for i in range(len(node) - 1, -1, -1))
        elif isinstance(node, bool):
            continue
        elif isinstance(node, int):
            if not INT64_MIN <= node <= INT64_MAX:
                shown = str(node) if abs(node) < 10**40 else "an integer of over 40 digits"
                return path, f"{shown} is outside the integer range {INT64_RANGE}"
        elif isinstance(node, float):
            if not math.isfinite(node):
                return path, f"{node} is not a finite number"
        elif isinstance(node, str) and not _unicode(node):
            return path, "the text holds a lone surrogate (not valid Unicode)"
    return None


def check_values(value: Any, where: str) -> None:
    """Refuse (400) a value `bad_value` finds fault with, naming `where` and the field."""
    found = bad_value(value)
    if found is not None:
        path, problem = found
        raise StoreError(f"{where}{path}: {problem}", 400)


def checked_json(value: Any, where: str) -> tuple[str, bytes]:
    """`value` as canonical JSON (what `model.canonical_json` writes) and its UTF-8
    bytes; a StoreError (400, naming `where` and the field) when it holds what the store
    cannot keep. The serialization refuses non-finite numbers and lone surrogates by
    itself, and one pass over the bytes finds long digit runs: valid values cost
    (almost) nothing more than the serialization a write needs anyway."""
    try:
        text = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
        data = text.encode()
    except (ValueError, UnicodeEncodeError):
        check_values(value, where)
        raise  # not a value problem (a cycle?): not the client's doing
    if _LONG_RUN in data.translate(_TO_NINES):
        check_values(value, where)  # often a run of digits in a text: then nothing
    return text, data


def json_body(raw: bytes, *, numbers: bool = True) -> Any:
    """A request body parsed as JSON; a StoreError (400, naming the field) when it holds
    a lone surrogate, a non-finite number or (with `numbers`) an integer outside the
    signed 64-bit range. `numbers=False` leaves the integers of specs to the write that
    stores them. ValueError when it is not JSON."""
    huge: builtins.list[str] = []

    def number(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            huge.append(text)
        return value

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    data = json.loads(raw, parse_constant=constant, parse_float=number)
    if (
        huge
        or (b"\\" in raw and _SURROGATE_ESCAPE.search(raw))
        or (numbers and _LONG_RUN in raw.translate(_TO_NINES))
    ):
        found = bad_value(data)
        if found is not None:
            path, problem = found
            where = f"field {path.lstrip('.')}" if path else "the request body"
            raise StoreError(f"request body is refused: {where}: {problem}", 400)
    return data


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def encode_page_token(kind: str, after: str) -> str:
    raw = json.dumps({"k": kind, "a": after}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(kind: str, token: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        if data["k"] != kind or not isinstance(data["a"], str):
            raise ValueError
        return str(data["a"])
    except (ValueError, KeyError, TypeError, json.JSONDecodeError):
        raise StoreError("invalid page_token", 400) from None


def parse_etag(value: str | None, header: str = "If-Match") -> str | None:
    """`"42"`, `W/"42"`, `42` -> `42`; `*` stays `*`; an empty value is a 400."""
    if value is None:
        return None
    value = value.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not value:
        raise StoreError(f"{header} is empty: send a revision (the ETag) or *", 400)
    return value


class PreconditionRequired(StoreError):
    pass


class InvalidSpec(StoreError):
    pass


@dataclass(slots=True)
class TokenInfo:
    """What the database knows of a token (never the token itself)."""

    id: str
    store: str
    name: str | None
    read_only: bool
    created_at: float
    last_used_at: float | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "store": self.store,
            "name": self.name,
            "read_only": self.read_only,
            "created_at": _iso(self.created_at),
            "last_used_at": _iso(self.last_used_at) if self.last_used_at else None,
        }


#: last use is recorded at most this often per token (seconds): reads stay reads
LAST_USED_RESOLUTION = 60.0
MAX_SOURCE = 500


class Storage(HistoryStore):
    """A database of stores. Safe to share between threads, and on PostgreSQL between
    processes: `db` is a SQLite file path (or `sqlite:///PATH`, `:memory:`) or a
    `postgresql://` URL."""

    def __init__(
        self, db: str | Path, *, validate: bool = True, keep_snapshots: int | None = None
    ) -> None:
        self.engine: Engine = open_engine(db)
        self.validate = validate
        self.keep_snapshots = keep_snapshots
        self._local = threading.local()
        self._writes = 0
        self._migrate()

    # ------------------------------------------------------------ connection

    def _read(self) -> AbstractContextManager[Connection]:
        """A connection for one statement that reads (it sees one state on its own)."""
        return self.engine.connection()

    def _tx(self, write: bool, store: str | None = None) -> AbstractContextManager[Connection]:
        """A transaction. A write names its store: no other write to it runs meanwhile."""
        return self.engine.transaction(write, store)

    def close(self) -> None:
        self.engine.close()

    def _migrate(self) -> None:
        self.engine.migrate(_MIGRATIONS, integrity.ensure_index)

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
            return self._info(conn, store_id)

    def _info(self, conn: Connection, store_id: str) -> StoreInfo:
        row = conn.execute(
            "SELECT revision, settings, settings_revision FROM stores WHERE id = ?", (store_id,)
        ).fetchone()
        if row is None:
            return StoreInfo(store_id, 0, default_settings(store_id), 0)
        settings = json.loads(row[1]) if row[1] else default_settings(store_id)
        return StoreInfo(store_id, int(row[0]), settings, int(row[2]))

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
    ) -> tuple[list[Item], str | None]:
        """One page of a kind, by ID. With specs=False the items carry revision and hash
        only (their spec is empty): enough to tell what changed."""
        _check_kind(kind)
        if not 1 <= limit <= MAX_PAGE:
            raise StoreError(f"limit must be between 1 and {MAX_PAGE}, not {limit}", 400)
        after = decode_page_token(kind, page_token) if page_token else ""
        with self._read() as conn:
            rows = conn.execute(
                f"SELECT id, {'spec' if specs else 'NULL'}, revision, hash, source FROM resources "
                "WHERE store = ? AND kind = ? AND id > ? ORDER BY id LIMIT ?",
                (store_id, kind, after, limit + 1),
            ).fetchall()
        items = [
            Item(r[0], json.loads(r[1]) if specs else {}, int(r[2]), r[3], r[4])
            for r in rows[:limit]
        ]
        next_token = encode_page_token(kind, items[-1].id) if len(rows) > limit else None
        return items, next_token

    @retried
    def get(self, store_id: str, kind: str, rid: str) -> Item:
        _check_kind(kind)
        with self._read() as conn:
            row = conn.execute(
                "SELECT spec, revision, hash, source FROM resources "
                "WHERE store = ? AND kind = ? AND id = ?",
                (store_id, kind, rid),
            ).fetchone()
        if row is None:
            raise StoreError(f"{kind}.{rid} does not exist in store {store_id}", 404)
        return Item(rid, json.loads(row[0]), int(row[1]), row[2], row[3])

    @retried
    def get_many(self, store_id: str, addresses: builtins.list[str]) -> dict[str, Item]:
        """Several resources by address (KIND.ID) in one read transaction; missing
        ones are left out."""
        out: dict[str, Item] = {}
        with self._tx(write=False) as conn:
            for addr in addresses:
                kind, _, rid = addr.partition(".")
                row = conn.execute(
                    "SELECT spec, revision, hash, source FROM resources "
                    "WHERE store = ? AND kind = ? AND id = ?",
                    (store_id, kind, rid),
                ).fetchone()
                if row is not None:
                    out[addr] = Item(rid, json.loads(row[0]), int(row[1]), row[2], row[3])
        return out

    @retried
    def read_all(self, store_id: str, *, specs: bool = True) -> LiveState:
        """The whole store in one read transaction (a consistent snapshot).

        With specs=False only revisions and hashes are read (enough to tell what changed).
        """
        with self._tx(write=False) as conn:
            info = self._info(conn, store_id)
            live = LiveState(store_id, info.revision, info.settings, info.settings_revision)
            cols = "kind, id, revision, hash, source" + (", spec" if specs else "")
            resources: dict[str, dict[str, LiveResource]] = {}
            loads = json.loads
            for row in conn.execute(
                f"SELECT {cols} FROM resources WHERE store = ? ORDER BY kind, id", (store_id,)
            ):
                spec = loads(row[5]) if specs else {}
                resources.setdefault(row[0], {})[row[1]] = LiveResource(
                    spec, int(row[2]), row[3], row[4]
                )
            live.resources = resources
            return live

    # ------------------------------------------------------------ writes

    @retried
    def put(
        self,
        store_id: str,
        kind: str,
        rid: str,
        body: Any,
        *,
        if_match: str | None = None,
        if_none_match: str | None = None,
        idempotency_key: str | None = None,
        apply_id: str | None = None,
    ) -> tuple[int, Item]:
        """Create (If-None-Match: *) or update (If-Match: REV) one resource.

        Returns (201 or 200, item). A replayed idempotency key returns the first result.
        `apply_id` marks the write as storecfg's, made by that running apply.
        """
        if_match, if_none_match = _put_preconditions(kind, if_match, if_none_match)
        with self._tx(write=True, store=store_id) as conn:
            self._check_marker(conn, store_id, apply_id)
            state = self._write_state(conn, store_id)
            result = self._put_in(
                conn, state, kind, rid, body, if_match, if_none_match, idempotency_key, apply_id
            )
            _refuse_dangling(conn, store_id, [f"{kind}.{rid}"])
            self._finish(conn, state, apply_id)
            return result

    @retried
    def delete(
        self,
        store_id: str,
        kind: str,
        rid: str,
        *,
        if_match: str | None = None,
        idempotency_key: str | None = None,
        apply_id: str | None = None,
    ) -> int:
        """Delete one resource (If-Match optional). Returns 204."""
        _check_kind(kind)
        if_match = parse_etag(if_match)
        with self._tx(write=True, store=store_id) as conn:
            self._check_marker(conn, store_id, apply_id)
            state = self._write_state(conn, store_id)
            status = self._delete_in(conn, state, kind, rid, if_match, idempotency_key, apply_id)
            _refuse_dangling(conn, store_id, [f"{kind}.{rid}"])
            self._finish(conn, state, apply_id)
            return status

    @retried
    def batch(
        self, store_id: str, operations: Any, *, apply_id: str | None = None
    ) -> builtins.list[dict[str, Any]]:
        """Several writes in order, in one transaction, each exactly as `put` or `delete`
        would do it (preconditions, validation, idempotency key).

        Processing stops at the first write that fails: the writes before it are kept,
        the failed one changed nothing, the rest are reported as not attempted. Writes
        that share a `group` (consecutive ones) are all or nothing: when one of them
        fails, those of its group before it are rolled back (status 424) — so a
        replace, a delete and a create of one resource, never stops half done. Each
        result is {"status": ..., "item": {...}} or {"status": ..., "error": {...}}.

        References are checked once the writes are done, on the batch as a whole (a
        batch may update a category and delete the plan it no longer lists, in either
        order). If the writes kept would leave a reference dangling, none is kept: the
        write to blame answers 409 and the others status 0 (rolled back).
        """
        ops = _check_batch(operations)
        try:
            return self._batch(store_id, ops, apply_id)
        except _RolledBack as rolled_back:
            return rolled_back.results

    def _batch(
        self, store_id: str, ops: builtins.list[dict[str, Any]], apply_id: str | None
    ) -> builtins.list[dict[str, Any]]:
        results: builtins.list[dict[str, Any]] = []
        with self._tx(write=True, store=store_id) as conn:
            self._check_marker(conn, store_id, apply_id)
            state = self._write_state(conn, store_id)
            self._prefetch(conn, state, ops)
            failed = False
            group: str | None = None  # the group whose savepoint is open
            group_saved: tuple[Any, Any] = (None, None)
            group_first = group_revision = 0
            for i, op in enumerate(ops):
                if failed:
                    results.append(
                        {
                            "status": 0,
                            "error": {
                                "error": "not_attempted",
                                "message": "not attempted: an earlier write failed",
                            },
                        }
                    )
                    continue
                if group is not None and op.get("group") != group:
                    conn.execute("RELEASE storecfg_group")
                    group = None
                if group is None and op.get("group") is not None:
                    conn.execute("SAVEPOINT storecfg_group")
                    group, group_first, group_revision = op["group"], i, state.revision
                    group_saved = state.saved()
                try:
                    results.append(self._batch_op(conn, state, op, apply_id))
                except StoreError as exc:
                    failed = True
                    error: dict[str, Any] = {"error": _slug(exc.status), "message": exc.message}
                    if exc.diagnostics:
                        error["diagnostics"] = exc.diagnostics
                    if "current_revision" in exc.details:
                        error["current_revision"] = exc.details["current_revision"]
                    results.append({"status": exc.status or 500, "error": error})
                    if group is not None:
                        conn.execute("ROLLBACK TO storecfg_group")
                        conn.execute("RELEASE storecfg_group")
                        state.revision = group_revision
                        state.known, state.replays = group_saved
                        for j in range(group_first, i):
                            results[j] = {
                                "status": 424,
                                "error": {
                                    "error": "rolled_back",
                                    "message": f"rolled back: operations[{i}] of the same "
                                    f"group ({group}) failed",
                                },
                            }
                        group = None
            if group is not None:
                conn.execute("RELEASE storecfg_group")
            written = [
                (i, f"{op['kind']}.{op['id']}")
                for i, (op, result) in enumerate(zip(ops, results, strict=True))
                if 200 <= result["status"] < 300
            ]
            found = integrity.check_written(conn, store_id, dict.fromkeys(a for _, a in written))
            if found:
                raise _RolledBack(_rolled_back(results, written, found))
            self._finish(conn, state, apply_id)
        return results

    def _batch_op(
        self,
        conn: Connection,
        state: _WriteState,
        op: dict[str, Any],
        apply_id: str | None = None,
    ) -> dict[str, Any]:
        if op["op"] == "put":
            if_match, if_none_match = _put_preconditions(
                op["kind"], _etag_text(op.get("if_match")), op.get("if_none_match")
            )
            status, item = self._put_in(
                conn,
                state,
                op["kind"],
                op["id"],
                {"spec": op.get("spec")},
                if_match,
                if_none_match,
                op.get("idempotency_key"),
                apply_id,
                source=op.get("source"),
            )
            # no spec echoed back: the caller sent it, and big batches stay small
            return {
                "status": status,
                "item": {"id": item.id, "revision": item.revision, "hash": item.hash},
            }
        _check_kind(op["kind"])
        status = self._delete_in(
            conn,
            state,
            op["kind"],
            op["id"],
            parse_etag(_etag_text(op.get("if_match"))),
            op.get("idempotency_key"),
            apply_id,
        )
        return {"status": status}

    def _write_state(self, conn: Connection, store_id: str) -> _WriteState:
        """The store row, read once per write transaction (created on the first write)."""
        row = conn.execute(
            "SELECT revision, settings, settings_revision FROM stores WHERE id = ?", (store_id,)
        ).fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO stores (id, created_at) VALUES (?, ?)", (store_id, time.time())
            )
            return _WriteState(store_id, 0, default_settings(store_id), 0)
        settings = json.loads(row[1]) if row[1] else default_settings(store_id)
        return _WriteState(store_id, int(row[0]), settings, int(row[2]))

    def _finish(self, conn: Connection, state: _WriteState, apply_id: str | None = None) -> None:
        if state.revision != state.initial:
            conn.execute(
                "UPDATE stores SET revision = ? WHERE id = ?", (state.revision, state.store_id)
            )
            # every real write moves the revision by one (a replayed one does not)
            self._record_progress(conn, state.store_id, apply_id, state.revision - state.initial)

    def _current(
        self, conn: Connection, state: _WriteState, kind: str, rid: str
    ) -> tuple[int, str | None] | None:
        """(revision, source) of a resource in this write transaction, None if absent."""
        if state.known is not None and (kind, rid) in state.known:
            return state.known[(kind, rid)]
        row = conn.execute(
            "SELECT revision, source FROM resources WHERE store = ? AND kind = ? AND id = ?",
            (state.store_id, kind, rid),
        ).fetchone()
        return None if row is None else (int(row[0]), row[1])

    def _prefetch(
        self, conn: Connection, state: _WriteState, ops: builtins.list[dict[str, Any]]
    ) -> None:
        """Read what a batch's writes will look up (revisions, idempotency keys) in a few
        statements rather than one per write: a database across a network answers each
        statement in a round trip. The store is locked, so what is read stays true."""
        store = state.store_id
        pairs = list(dict.fromkeys((op["kind"], op["id"]) for op in ops))
        known: dict[tuple[str, str], tuple[int, str | None] | None] = dict.fromkeys(pairs)
        for chunk in _chunks(pairs, 400):
            values = ", ".join("(?, ?)" for _ in chunk)
            for kind, rid, rev, source in conn.execute(
                "SELECT kind, id, revision, source FROM resources WHERE store = ? "
                f"AND (kind, id) IN (VALUES {values})",
                (store, *[part for pair in chunk for part in pair]),
            ).fetchall():
                known[(kind, rid)] = (int(rev), source)
        keys = list(dict.fromkeys(k for op in ops if (k := op.get("idempotency_key"))))
        replays: dict[str, tuple[Any, ...] | None] = dict.fromkeys(keys)
        for chunk in _chunks(keys, 800):
            for row in conn.execute(
                "SELECT key, fingerprint, status, body, created_at FROM idempotency "
                f"WHERE store = ? AND key IN ({', '.join('?' for _ in chunk)})",
                (store, *chunk),
            ).fetchall():
                replays[row[0]] = tuple(row[1:])
        state.known, state.replays = known, replays

    def _put_in(
        self,
        conn: Connection,
        state: _WriteState,
        kind: str,
        rid: str,
        body: Any,
        if_match: str | None,
        if_none_match: str | None,
        key: str | None,
        apply_id: str | None = None,
        *,
        source: Any = None,
    ) -> tuple[int, Item]:
        store_id = state.store_id
        source = _source(body, source)
        requested = _unwrap(body)
        requested_text, requested_bytes = checked_json(requested, f"{kind}.{rid}")
        fingerprint = _fingerprint("PUT", kind, rid, requested_text, if_match, if_none_match)
        replay = self._replay(conn, store_id, key, fingerprint, state.replays)
        if replay is not None:
            status, data = replay
            return status, Item(
                data["id"], data["spec"], int(data["revision"]), data.get("hash", "")
            )
        spec = self._checked_spec(kind, rid, requested, state.settings)
        row = self._current(conn, state, kind, rid)
        current = int(row[0]) if row else None
        if source is None and row is not None:
            source = row[1]  # a write that names no file keeps the one recorded
        if if_none_match == "*" and current is not None:
            raise ConflictError(
                f"{kind}.{rid} already exists (revision {current})",
                412,
                details={"current_revision": current},
            )
        if if_match is not None:
            if current is None:
                raise ConflictError(
                    f"{kind}.{rid} does not exist", 412, details={"current_revision": None}
                )
            if if_match != "*" and if_match != str(current):
                raise ConflictError(
                    f"{kind}.{rid} is at revision {current}, not {if_match}: it changed since it was read",
                    412,
                    details={"current_revision": current},
                )
        state.revision += 1
        new_rev = state.revision
        # a spec sent in normalized form (as storecfg sends it) needs no second serialization
        if spec == requested:
            text, digest = requested_text, hashlib.sha256(requested_bytes).hexdigest()
        else:
            text = canonical_json(spec)
            digest = hashlib.sha256(text.encode()).hexdigest()
        now = time.time()
        conn.execute(
            "INSERT INTO resources (store, kind, id, spec, hash, revision, updated_at, source) "
            "VALUES (?,?,?,?,?,?,?,?) "
            "ON CONFLICT (store, kind, id) DO UPDATE SET spec = excluded.spec, hash = excluded.hash, "
            "revision = excluded.revision, updated_at = excluded.updated_at, source = excluded.source",
            (store_id, kind, rid, text, digest, new_rev, now, source),
        )
        if state.known is not None:
            state.known[(kind, rid)] = (new_rev, source)
        integrity.index(conn, store_id, kind, rid, spec)
        self._record_put(conn, store_id, kind, rid, digest, new_rev, now, apply_id)
        status = 201 if current is None else 200
        if key:
            stored = (
                f'{{"id":{json.dumps(rid)},"spec":{text},"revision":{new_rev},"hash":"{digest}"}}'
            )
            self._remember(conn, store_id, key, fingerprint, status, stored, now)
            if state.replays is not None:
                state.replays[key] = (fingerprint, status, stored, now)
        return status, Item(rid, spec, new_rev, digest, source)

    def _delete_in(
        self,
        conn: Connection,
        state: _WriteState,
        kind: str,
        rid: str,
        if_match: str | None,
        key: str | None,
        apply_id: str | None = None,
    ) -> int:
        store_id = state.store_id
        fingerprint = _fingerprint("DELETE", kind, rid, "null", if_match, None)
        replay = self._replay(conn, store_id, key, fingerprint, state.replays)
        if replay is not None:
            return replay[0]
        row = self._current(conn, state, kind, rid)
        if row is None:
            if if_match is not None and _ID.fullmatch(rid):
                raise ConflictError(
                    f"{kind}.{rid} does not exist", 412, details={"current_revision": None}
                )
            raise StoreError(f"{kind}.{rid} does not exist in store {store_id}", 404)
        current = int(row[0])
        if if_match is not None and if_match != "*" and if_match != str(current):
            raise ConflictError(
                f"{kind}.{rid} is at revision {current}, not {if_match}: it changed since it was read",
                412,
                details={"current_revision": current},
            )
        conn.execute(
            "DELETE FROM resources WHERE store = ? AND kind = ? AND id = ?",
            (store_id, kind, rid),
        )
        integrity.unindex(conn, store_id, kind, rid)
        state.revision += 1
        now = time.time()
        self._record_delete(conn, store_id, kind, rid, state.revision, now, apply_id)
        self._remember(conn, store_id, key, fingerprint, 204, None, now)
        if state.known is not None:
            state.known[(kind, rid)] = None
        if key and state.replays is not None:
            state.replays[key] = (fingerprint, 204, None, now)
        return 204

    @retried
    def put_settings(
        self,
        store_id: str,
        body: Any,
        *,
        if_match: str | None = None,
        idempotency_key: str | None = None,
        apply_id: str | None = None,
    ) -> tuple[int, Item]:
        """Replace the store settings (If-Match: SETTINGS_REVISION required)."""
        if_match = parse_etag(if_match)
        if if_match is None:
            raise PreconditionRequired("PUT of settings needs If-Match: SETTINGS_REVISION", 428)
        requested = _unwrap(body)
        requested_text, _ = checked_json(requested, "store.settings")
        fingerprint = _fingerprint("PUT", "settings", "", requested_text, if_match, None)
        with self._tx(write=True, store=store_id) as conn:
            self._check_marker(conn, store_id, apply_id)
            replay = self._replay(conn, store_id, idempotency_key, fingerprint)
            if replay is not None:
                status, data = replay
                return status, Item(
                    data["id"], data["spec"], int(data["revision"]), data.get("hash", "")
                )
            state = self._write_state(conn, store_id)
            revision, settings_rev = state.revision, state.settings_revision
            spec = requested
            if not isinstance(spec, dict):
                raise InvalidSpec("settings must be a JSON object", 422)
            spec = {"id": store_id, **spec}
            from .validation import check_settings

            diags = check_settings(store_id, spec)
            if diags:
                raise InvalidSpec(
                    f"invalid store settings: {diags[0]['message']}", 422, diagnostics=diags
                )
            from ..spec.iso import currency_digits
            from ..spec.normalize import normalize

            spec = normalize("store", spec, currency_digits(spec["currency"]))
            if if_match != "*" and if_match != str(settings_rev):
                raise ConflictError(
                    f"store settings are at revision {settings_rev}, not {if_match}",
                    412,
                    details={"current_revision": settings_rev},
                )
            new_rev = revision + 1
            text = canonical_json(spec)
            digest = hashlib.sha256(text.encode()).hexdigest()
            conn.execute(
                "UPDATE stores SET settings = ?, settings_revision = ?, revision = ? WHERE id = ?",
                (text, new_rev, new_rev, store_id),
            )
            self._record_progress(conn, store_id, apply_id, 1)
            item = Item("settings", spec, new_rev, digest)
            stored = json.dumps({**item.to_json(), "hash": digest})
            self._remember(conn, store_id, idempotency_key, fingerprint, 200, stored, time.time())
            return 200, item

    def _checked_spec(
        self, kind: str, rid: str, spec: Any, settings: dict[str, Any]
    ) -> dict[str, Any]:
        if not isinstance(spec, dict):
            raise InvalidSpec(f"{kind}.{rid}: the spec must be a JSON object", 422)
        if "id" in spec and spec["id"] != rid:
            raise InvalidSpec(
                f"{kind}.{rid}: the spec's id {spec['id']!r} does not match the URL", 422
            )
        checked: dict[str, Any] = spec if "id" in spec else {"id": rid, **spec}
        if not self.validate:
            return checked
        from .validation import check_resource

        diags, normalized = check_resource(kind, rid, checked, settings)
        if diags:
            n = len(diags)
            raise InvalidSpec(
                f"{kind}.{rid} is invalid ({n} problem{'s' if n != 1 else ''}): {diags[0]['message']}",
                422,
                diagnostics=diags,
            )
        return normalized

    # ------------------------------------------------------------ idempotency

    def _replay(
        self,
        conn: Connection,
        store_id: str,
        key: str | None,
        fingerprint: str,
        known: dict[str, tuple[Any, ...] | None] | None = None,
    ) -> tuple[int, Any] | None:
        if key is None:
            return None
        if not key.strip():
            raise StoreError("Idempotency-Key is empty", 400)
        if len(key) > 255:
            raise StoreError("Idempotency-Key is longer than 255 characters", 400)
        if known is not None and key in known:
            row = known[key]
        else:
            row = conn.execute(
                "SELECT fingerprint, status, body, created_at FROM idempotency "
                "WHERE store = ? AND key = ?",
                (store_id, key),
            ).fetchone()
        if row is None or row[3] < time.time() - IDEMPOTENCY_TTL:
            return None
        if row[0] != fingerprint:
            raise StoreError("Idempotency-Key was already used for a different request", 422)
        return int(row[1]), json.loads(row[2]) if row[2] else None

    def _remember(
        self,
        conn: Connection,
        store_id: str,
        key: str | None,
        fingerprint: str,
        status: int,
        body: str | None,
        now: float,
    ) -> None:
        """Record a result for its idempotency key (`body`: the result as JSON text)."""
        if not key:
            return
        conn.execute(
            "INSERT INTO idempotency (store, key, fingerprint, status, body, created_at) "
            "VALUES (?,?,?,?,?,?) ON CONFLICT (store, key) DO UPDATE SET "
            "fingerprint = excluded.fingerprint, status = excluded.status, body = excluded.body, "
            "created_at = excluded.created_at",
            (store_id, key, fingerprint, status, body, now),
        )
        self._writes += 1
        if self._writes % 1000 == 1:
            conn.execute("DELETE FROM idempotency WHERE created_at < ?", (now - IDEMPOTENCY_TTL,))

    # ------------------------------------------------------------ the apply lock

    @retried
    def acquire_lock(
        self,
        store_id: str,
        owner: dict[str, Any],
        ttl: float = DEFAULT_LOCK_TTL,
        lock_id: str | None = None,
    ) -> tuple[int, LockInfo]:
        """Take the lock (201), or renew it when `lock_id` is ours (200); 423 when held."""
        ttl = float(ttl)
        if not 1.0 <= ttl <= MAX_LOCK_TTL:  # also refuses NaN
            raise StoreError(
                f"the lock's ttl must be between 1 and {MAX_LOCK_TTL:g} seconds, not {ttl:g}", 400
            )
        now = time.time()
        with self._tx(write=True, store=store_id) as conn:
            self._write_state(conn, store_id)
            held = self._lock_row(conn, store_id)
            if held is not None and held.expires_at > now:
                if lock_id is not None and held.lock_id == lock_id:
                    conn.execute(
                        "UPDATE locks SET expires_at = ? WHERE store = ?", (now + ttl, store_id)
                    )
                    held.expires_at = now + ttl
                    return 200, held
                raise LockedError(
                    f"store {store_id} is locked: {held.describe()}",
                    423,
                    details={"lock": held.to_json()},
                )
            if lock_id is not None:
                # renewing a lock that expired or was released: a new lock would have
                # another ID and no owner, so the holder must take it again
                why = "it expired" if held is not None and held.lock_id == lock_id else "released"
                raise StoreError(f"lock {lock_id} is no longer held ({why})", 409)
            info = LockInfo(str(uuid.uuid4()), owner, now, now + ttl)
            conn.execute(
                "INSERT INTO locks (store, lock_id, owner, acquired_at, expires_at) VALUES (?,?,?,?,?) "
                "ON CONFLICT (store) DO UPDATE SET lock_id = excluded.lock_id, owner = excluded.owner, "
                "acquired_at = excluded.acquired_at, expires_at = excluded.expires_at",
                (store_id, info.lock_id, json.dumps(owner), info.acquired_at, info.expires_at),
            )
            return 201, info

    @retried
    def get_lock(self, store_id: str) -> LockInfo | None:
        with self._read() as conn:
            held = self._lock_row(conn, store_id)
        if held is None or held.expires_at <= time.time():
            return None
        return held

    @retried
    def release_lock(
        self, store_id: str, lock_id: str | None = None, *, force: bool = False
    ) -> None:
        """Release the lock `lock_id` (423 when another lock is held); `force` releases
        whichever lock is held. Without either, nothing is released (400): a release
        that names no lock could end another apply's."""
        if lock_id is None and not force:
            raise StoreError(
                "say which lock to release: lock_id=ID (the lock you hold), or force=true "
                "to release whichever lock is held",
                400,
            )
        with self._tx(write=True, store=store_id) as conn:
            held = self._lock_row(conn, store_id)
            if held is None or (held.expires_at <= time.time() and lock_id is None):
                conn.execute("DELETE FROM locks WHERE store = ?", (store_id,))
                raise StoreError(f"store {store_id} is not locked", 404)
            if lock_id is not None and held.lock_id != lock_id:
                raise LockedError(
                    f"lock {lock_id} is not the lock held; {held.describe()}",
                    423,
                    details={"lock": held.to_json()},
                )
            conn.execute("DELETE FROM locks WHERE store = ?", (store_id,))

    def _lock_row(self, conn: Connection, store_id: str) -> LockInfo | None:
        row = conn.execute(
            "SELECT lock_id, owner, acquired_at, expires_at FROM locks WHERE store = ?", (store_id,)
        ).fetchone()
        if row is None:
            return None
        return LockInfo(row[0], json.loads(row[1]), float(row[2]), float(row[3]))

    # ------------------------------------------------------------ tokens

    @retried
    def create_token(
        self, store_id: str, name: str | None = None, *, read_only: bool = False
    ) -> str:
        token = "sct_" + secrets.token_urlsafe(32)
        with self._tx(write=True, store=store_id) as conn:
            self._write_state(conn, store_id)
            conn.execute(
                "INSERT INTO tokens (hash, store, name, created_at, id, read_only) "
                "VALUES (?,?,?,?,?,?)",
                (
                    hash_token(token),
                    store_id,
                    name,
                    time.time(),
                    "tok_" + secrets.token_hex(6),
                    int(read_only),
                ),
            )
        return token

    def token_store(self, token: str) -> str | None:
        info = self.token_info(token)
        return info.store if info is not None else None

    @retried
    def token_info(self, token: str, *, touch: bool = False) -> TokenInfo | None:
        """The token's record, or None for a token that is unknown or revoked. With
        `touch`, its last use is recorded (at most once a minute)."""
        with self._read() as conn:
            row = conn.execute(
                f"SELECT {_TOKEN_COLUMNS} FROM tokens WHERE hash = ?",
                (hash_token(token),),
            ).fetchone()
        if row is None:
            return None
        info = _token(row)
        now = time.time()
        if touch and (info.last_used_at is None or now - info.last_used_at >= LAST_USED_RESOLUTION):
            # its own statement: recording a use never fails the request (nor waits long:
            # a read-only replica or a busy row just leaves the previous time)
            with contextlib.suppress(StoreError), self._read() as conn:
                conn.execute("UPDATE tokens SET last_used_at = ? WHERE id = ?", (now, info.id))
            info.last_used_at = now
        return info

    @retried
    def list_tokens(self, store_id: str | None = None) -> builtins.list[TokenInfo]:
        query = f"SELECT {_TOKEN_COLUMNS} FROM tokens"
        args: tuple[str, ...] = ()
        if store_id is not None:
            query += " WHERE store = ?"
            args = (store_id,)
        with self._read() as conn:
            rows = conn.execute(query + " ORDER BY store, created_at, id", args).fetchall()
        return [_token(r) for r in rows]

    @retried
    def revoke_token(self, token_id: str) -> TokenInfo:
        """Delete a token by its ID: from then on it is refused (401)."""
        with self._tx(write=True) as conn:
            row = conn.execute(
                f"SELECT {_TOKEN_COLUMNS} FROM tokens WHERE id = ?", (token_id,)
            ).fetchone()
            # the delete, not the read, decides: of two revokes at once, one finds nothing
            deleted = conn.execute("DELETE FROM tokens WHERE id = ?", (token_id,)).rowcount
            if row is None or deleted == 0:
                raise StoreError(f"there is no token {token_id!r} (see `storecfg token list`)", 404)
        return _token(row)


_TOKEN_COLUMNS = "id, store, name, read_only, created_at, last_used_at"


def _token(row: Any) -> TokenInfo:
    return TokenInfo(
        str(row[0]),
        str(row[1]),
        row[2],
        bool(row[3]),
        float(row[4]),
        float(row[5]) if row[5] is not None else None,
    )


_ID = re.compile(ID_PATTERN)
T = TypeVar("T")


def _chunks(items: list[T], size: int) -> Iterator[list[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        from ..spec.suggest import did_you_mean

        raise StoreError(f"unknown resource kind {kind!r}{did_you_mean(kind, KINDS)}", 404)


def _unwrap(body: Any) -> Any:
    """A PUT body is the spec itself or {"spec": SPEC} (optionally with id, revision
    and source).

    No resource has a field called `spec`, so a body with one is the wrapper, and
    anything else beside it is refused by name rather than read as a bare spec."""
    if isinstance(body, dict) and "spec" in body:
        unknown = sorted(str(k) for k in body if k not in _ENVELOPE)
        if unknown:
            names = ", ".join(json.dumps(k) for k in unknown)
            raise StoreError(
                f"unknown field{'s' if len(unknown) > 1 else ''} {names} in the request body; "
                'it is {"spec": SPEC}, optionally with "id", "revision" and "source"',
                400,
            )
        if not isinstance(body.get("id", ""), str):
            raise StoreError('"id" beside the spec must be a string', 400)
        revision = body.get("revision", 0)
        if isinstance(revision, bool) or not isinstance(revision, int):
            raise StoreError('"revision" beside the spec must be an integer', 400)
        if not INT64_MIN <= revision <= INT64_MAX:
            raise StoreError(f'"revision" beside the spec is outside {INT64_RANGE}', 400)
        return body["spec"]
    return body


_ENVELOPE = frozenset({"id", "spec", "revision", "source"})


def _source(body: Any, given: Any) -> str | None:
    """The definition file a write names ({"spec", "source"} or a batch operation's
    "source"); None keeps what the store recorded before. A `source` that is there is a
    path (null is refused, as in a batch)."""
    if isinstance(body, dict) and "spec" in body and set(body) <= _ENVELOPE and "source" in body:
        given = body["source"]
        if given is None:
            raise StoreError(_SOURCE_RULE.format(where="source"), 400)
    if given is None:
        return None
    if not _valid_source(given):
        raise StoreError(_SOURCE_RULE.format(where="source"), 400)
    assert isinstance(given, str)
    return given


_SOURCE_RULE = "{where} must be a file path of 1 to " + str(MAX_SOURCE) + " printable characters"


def _valid_source(value: Any) -> bool:
    """A file path of 1 to MAX_SOURCE characters, none a control character (plans print it)."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_SOURCE
        and not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value)
    )


def _refuse_dangling(conn: Connection, store_id: str, addresses: list[str]) -> None:
    found = integrity.check_written(conn, store_id, addresses)
    if found:
        raise integrity.refusal(found)


class _RolledBack(Exception):
    """A batch undone as a whole; `results` say why, per operation."""

    def __init__(self, results: list[dict[str, Any]]) -> None:
        super().__init__("batch rolled back")
        self.results = results


def _rolled_back(
    results: list[dict[str, Any]], written: list[tuple[int, str]], found: list[integrity.Dangling]
) -> list[dict[str, Any]]:
    """Batch results after a rollback for dangling references: the last write of each
    address to blame (the delete of what is missing, else the write that names it)
    answers 409; the other writes that had succeeded are undone (status 0)."""
    last = {addr: i for i, addr in written}
    blamed: dict[int, list[integrity.Dangling]] = {}
    for d in found:
        i = last.get(d.missing, last.get(d.referring))
        if i is not None:
            blamed.setdefault(i, []).append(d)
    out = list(results)
    for i, _ in written:
        if i in blamed:
            exc = integrity.refusal(blamed[i])
            out[i] = {
                "status": 409,
                "error": {"error": "dangling_reference", "message": exc.message, **exc.details},
            }
        else:
            out[i] = {
                "status": 0,
                "error": {
                    "error": "rolled_back",
                    "message": "rolled back: the batch as a whole would leave a reference dangling",
                },
            }
    return out


def _fingerprint(
    method: str,
    kind: str,
    rid: str,
    body_text: str,
    if_match: str | None,
    if_none_match: str | None,
) -> str:
    """What makes two requests "the same" for an idempotency key (`body_text`: canonical JSON)."""
    text = f"{method} {kind}/{rid}\n{if_match}\n{if_none_match}\n{body_text}"
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass
class _WriteState:
    """The store row during one write transaction; revision moves with every write."""

    store_id: str
    revision: int
    settings: dict[str, Any]
    settings_revision: int
    initial: int = -1
    #: (revision, source) of resources by (kind, id), None when absent; read ahead for
    #: a batch (see Storage._prefetch) and kept current as it writes
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


def _put_preconditions(
    kind: str, if_match: str | None, if_none_match: str | None
) -> tuple[str | None, str | None]:
    _check_kind(kind)
    if_match = parse_etag(if_match)
    if_none_match = parse_etag(if_none_match, "If-None-Match")
    if if_match is None and if_none_match is None:
        raise PreconditionRequired(
            "PUT needs If-None-Match: * to create or If-Match: REVISION to update", 428
        )
    if if_none_match is not None and if_none_match != "*":
        raise StoreError("If-None-Match accepts only *", 400)
    return if_match, if_none_match


def _etag_text(value: Any) -> str | None:
    return None if value is None else str(value)


MAX_BATCH = 1000
_OP_KEYS = frozenset(
    {"op", "kind", "id", "spec", "if_match", "if_none_match", "idempotency_key", "group", "source"}
)


def _revision_tag(tag: Any) -> bool:
    """A batch's if_match: a revision as a non-empty string or a 64-bit integer."""
    if type(tag) is int:
        return INT64_MIN <= tag <= INT64_MAX
    return type(tag) is str and bool(tag.strip())


def _check_batch(operations: Any) -> list[dict[str, Any]]:
    if not isinstance(operations, list) or not operations:
        raise StoreError("operations must be a non-empty list", 400)
    if len(operations) > MAX_BATCH:
        raise StoreError(
            f"a batch holds at most {MAX_BATCH} operations, got {len(operations)}", 400
        )
    closed: set[str] = set()  # groups that ended: a group's writes are consecutive
    last_group: str | None = None
    for i, op in enumerate(operations):
        where = f"operations[{i}]"
        if not isinstance(op, dict):
            raise StoreError(f"{where} must be an object", 400)
        unknown = set(op) - _OP_KEYS
        if unknown:
            raise StoreError(f"{where} has unknown fields: {', '.join(sorted(unknown))}", 400)
        if op.get("op") not in ("put", "delete"):
            raise StoreError(f"{where}.op must be put or delete", 400)
        if op.get("kind") not in KINDS:
            raise StoreError(f"{where}.kind must be one of {', '.join(KINDS)}", 400)
        if not isinstance(op.get("id"), str) or not _ID.fullmatch(op["id"]):
            raise StoreError(f"{where}.id must be a resource ID", 400)
        if op["op"] == "put" and "spec" not in op:
            raise StoreError(f"{where}.spec is required for put", 400)
        if "spec" in op and not isinstance(op["spec"], dict):
            raise StoreError(f"{where}.spec must be an object", 400)
        if "if_match" in op and not _revision_tag(op["if_match"]):
            raise StoreError(f"{where}.if_match must be a revision", 400)
        if "if_none_match" in op and op["if_none_match"] != "*":
            raise StoreError(f"{where}.if_none_match accepts only *", 400)
        if "source" in op and not _valid_source(op["source"]):
            raise StoreError(_SOURCE_RULE.format(where=f"{where}.source"), 400)
        if "idempotency_key" in op:
            key = op["idempotency_key"]
            if not isinstance(key, str) or not key.strip() or len(key) > 255:
                raise StoreError(f"{where}.idempotency_key must be 1 to 255 characters", 400)
        if "group" in op:
            group = op["group"]
            if not isinstance(group, str) or not group or len(group) > 255:
                raise StoreError(f"{where}.group must be 1 to 255 characters", 400)
            if group in closed:
                raise StoreError(
                    f"{where}.group {group!r} was used by earlier operations that are not "
                    "next to this one: the writes of a group are consecutive",
                    400,
                )
        previous = op.get("group")
        if last_group is not None and previous != last_group:
            closed.add(last_group)
        last_group = previous
    return operations


_SLUGS = {
    400: "bad_request",
    404: "not_found",
    409: "conflict",
    412: "precondition_failed",
    422: "unprocessable",
    428: "precondition_required",
}


def _slug(status: int) -> str:
    return _SLUGS.get(status, "error")
