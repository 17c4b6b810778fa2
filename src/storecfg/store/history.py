"""A store's history, kept in the store database itself: snapshots, apply records and
what storecfg last wrote to each resource.

A CI runner that applies and then disappears leaves all of this behind in the store,
so a later runner (or a person on a laptop) can list and restore backups, see how far
the last apply got, and tell what was changed outside storecfg since.

- **Snapshots** are taken inside one write transaction, so a snapshot is exactly the
  store at one revision. Their `sha256` is over the canonical JSON of the state (the
  `store`, `settings`, `settings_revision` and `resources` members), so any reader can
  check it.
- **Apply records** say who applied what, from where, and how far it got. A write that
  carries the ID of a running apply (the "storecfg marker") moves its `writes_done` in
  the same transaction. A record still `running` whose lock is gone reads `interrupted`.
- **Last applied** is the spec hash of each resource as storecfg last wrote it. A
  resource whose hash differs, that exists without such a record, or that has a record
  but is gone, has drifted: it was changed outside storecfg. The same goes for the
  store settings (`last_applied_settings`): settings written, whose hash differs from
  what storecfg last wrote (or that storecfg never wrote), are the drift item `settings`.

`History` is one part of `storage.Storage`; the hooks at the end are what a write
(writes.py, batch.py) calls inside its own transaction.
"""

from __future__ import annotations

import json
import re
import time
import uuid
import zlib
from typing import Any

from ..clock import utc_compact
from ..errors import StoreError
from ..model import KIND_RANK, address, canonical_json, spec_hash, split_address
from .base import StorageBase, store_row
from .engine import Connection, retried
from .records import (
    ADDRESS,
    CHANGE_KEYS,
    SETTINGS_DRIFT,
    ApplyRecord,
    DriftItem,
    SnapshotMeta,
    iso,
)
from .wire import DEFAULT_PAGE, check_limit, decode_page_token, encode_page_token

STATUSES = ("running", "complete", "failed", "interrupted")
FINAL_STATUSES = ("complete", "failed", "interrupted")
SNAPSHOT_FORMAT = 1

APPLY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
#: what storecfg's API tokens look like: never kept in a record, wherever it appears
TOKEN_PATTERN = re.compile(r"sct_[A-Za-z0-9_-]{16,}")
MAX_SOURCE_KEYS = 50
MAX_TEXT = 2000


def redact(text: str) -> str:
    return TOKEN_PATTERN.sub("sct_***", text)


# ---------------------------------------------------------------- page tokens


def _seq_after(what: str, token: str | None) -> int | None:
    if not token:
        return None
    after = decode_page_token(what, token)
    if not after.isdigit():
        raise StoreError("invalid page_token", 400)
    return int(after)


# ---------------------------------------------------------------- input checks


def _utf8(value: str, where: str) -> str:
    """`value`, if it can be stored and sent back as UTF-8 (a lone surrogate cannot)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise StoreError(f"{where} is not valid Unicode text", 400) from None
    return value


def _text(value: Any, where: str, *, limit: int = MAX_TEXT, optional: bool = True) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise StoreError(f"{where} must be a string of at most {limit} characters", 400)
    return _utf8(value, where)


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**9:
        raise StoreError(f"{where} must be a whole number from 0 to 1000000000", 400)
    return value


def check_apply_id(value: Any, where: str = "apply_id") -> str:
    if not isinstance(value, str) or not APPLY_ID.fullmatch(value):
        raise StoreError(
            f"{where} must be 1 to 64 letters, digits, '.', '_' or '-' (starting with a letter or digit)",
            400,
        )
    return value


def _source(value: Any) -> dict[str, Any]:
    """Provenance: a flat object of short scalars, with anything like a token taken out."""
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > MAX_SOURCE_KEYS:
        raise StoreError(f"source must be an object of at most {MAX_SOURCE_KEYS} fields", 400)
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str) or not key or len(key) > 100:
            raise StoreError("source field names must be 1 to 100 characters", 400)
        _utf8(key, "a source field name")
        if isinstance(item, str):
            if len(item) > MAX_TEXT:
                raise StoreError(f"source.{key} is longer than {MAX_TEXT} characters", 400)
            out[key] = redact(_utf8(item, f"source.{key}"))
        elif item is None or isinstance(item, bool | int):
            out[key] = item
        else:
            raise StoreError(f"source.{key} must be a string, number, boolean or null", 400)
    return out


def _changes(value: Any) -> dict[str, int]:
    if not isinstance(value, dict) or set(value) - set(CHANGE_KEYS):
        raise StoreError(f"changes must be an object with {', '.join(CHANGE_KEYS)}", 400)
    return {k: _count(value.get(k, 0), f"changes.{k}") for k in CHANGE_KEYS}


class History(StorageBase):
    """Snapshots, apply records, drift and last-applied hashes."""

    # ------------------------------------------------------------ snapshots

    @retried
    def create_snapshot(
        self, store_id: str, *, reason: str, apply_id: str | None = None
    ) -> tuple[int, SnapshotMeta]:
        """Save the store's whole content, in one transaction. Returns (201, meta), or
        (200, meta) of the snapshot already taken for `apply_id` (so a retry is safe)."""
        reason = _text(reason, "reason", limit=500, optional=False) or ""
        if apply_id is not None:
            check_apply_id(apply_id)
        with self._tx(write=True, store=store_id) as conn:
            if apply_id is not None:
                row = conn.execute(
                    f"SELECT {_SNAP_COLS} FROM snapshots WHERE store = ? AND apply_id = ?",
                    (store_id, apply_id),
                ).fetchone()
                if row is not None:
                    return 200, _snapshot_meta(row)
                if _apply_row(conn, store_id, apply_id) is None:
                    raise StoreError(f"there is no apply {apply_id} in store {store_id}", 404)
            now = time.time()
            state = _state(conn, store_id)
            text = canonical_json(state).encode()
            digest = spec_hash(state)
            count = sum(len(v) for v in state["resources"].values())
            revision = state["store"]["revision"]
            base = utc_compact(now) + f"-r{revision}"
            sid, n = base, 1
            while conn.execute(
                "SELECT 1 FROM snapshots WHERE store = ? AND id = ?", (store_id, sid)
            ).fetchone():
                n += 1
                sid = f"{base}-{n}"
            seq = _next_seq(conn, "snapshots", store_id)
            conn.execute(
                "INSERT INTO snapshots (store, id, seq, created_at, revision, resource_count, sha256, "
                "reason, apply_id, size, content) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    store_id,
                    sid,
                    seq,
                    now,
                    revision,
                    count,
                    digest,
                    reason,
                    apply_id,
                    len(text),
                    zlib.compress(text, 6),
                ),
            )
            if self.keep_snapshots is not None:
                conn.execute(
                    "DELETE FROM snapshots WHERE store = ? AND seq <= ?",
                    (store_id, seq - self.keep_snapshots),
                )
            meta = SnapshotMeta(sid, iso(now) or "", revision, count, digest, reason, apply_id)
            return 201, meta

    def list_snapshots(
        self, store_id: str, *, limit: int = DEFAULT_PAGE, page_token: str | None = None
    ) -> tuple[list[SnapshotMeta], str | None]:
        """One page of a store's snapshots, newest first."""
        check_limit(limit)
        before = _seq_after("snapshots", page_token)
        with self._tx(write=False) as conn:
            rows = conn.execute(
                f"SELECT {_SNAP_COLS}, seq FROM snapshots WHERE store = ? AND seq < ? "
                "ORDER BY seq DESC LIMIT ?",
                (store_id, before if before is not None else 2**62, limit + 1),
            ).fetchall()
        items = [_snapshot_meta(r) for r in rows[:limit]]
        token = (
            encode_page_token("snapshots", str(rows[limit - 1][-1])) if len(rows) > limit else None
        )
        return items, token

    def get_snapshot(self, store_id: str, snapshot_id: str) -> dict[str, Any]:
        """The whole snapshot: its metadata and the state it holds."""
        with self._tx(write=False) as conn:
            row = conn.execute(
                f"SELECT {_SNAP_COLS}, content FROM snapshots WHERE store = ? AND id = ?",
                (store_id, snapshot_id),
            ).fetchone()
        if row is None:
            raise StoreError(f"there is no snapshot {snapshot_id} in store {store_id}", 404)
        meta = _snapshot_meta(row)
        try:
            state = json.loads(zlib.decompress(row[-1]))
        except (zlib.error, ValueError) as exc:
            raise StoreError(f"snapshot {snapshot_id} is damaged: {exc}", 500) from None
        return {**meta.to_json(), "format_version": SNAPSHOT_FORMAT, **state}

    # ------------------------------------------------------------ apply records

    @retried
    def start_apply(self, store_id: str, body: Any) -> tuple[int, ApplyRecord]:
        """Record an apply that starts now (201). The same `id` again returns the
        record (200), so a retried request is harmless."""
        if not isinstance(body, dict):
            raise StoreError("an apply record is a JSON object", 400)
        unknown = set(body) - {"id", "plan_id", "changes", "writes_total", "source", "lock_id"}
        if unknown:
            raise StoreError(f"unknown fields: {', '.join(sorted(unknown))}", 400)
        apply_id = check_apply_id(body["id"], "id") if body.get("id") is not None else None
        plan_id = _text(body.get("plan_id"), "plan_id", limit=100)
        lock_id = _text(body.get("lock_id"), "lock_id", limit=100)
        changes = _changes(body.get("changes", {}))
        total = _count(body.get("writes_total", 0), "writes_total")
        source = _source(body.get("source"))
        with self._tx(write=True, store=store_id) as conn:
            if apply_id is not None:
                row = _apply_row(conn, store_id, apply_id)
                if row is not None:
                    if row[4] != plan_id:
                        raise StoreError(
                            f"apply {apply_id} already exists in store {store_id} for another plan",
                            409,
                        )
                    return 200, _apply_record(conn, store_id, row)
            apply_id = apply_id or str(uuid.uuid4())
            conn.execute(
                "INSERT INTO applies (store, id, seq, started_at, status, plan_id, changes, "
                "writes_total, source, lock_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (
                    store_id,
                    apply_id,
                    _next_seq(conn, "applies", store_id),
                    time.time(),
                    "running",
                    plan_id,
                    json.dumps(changes),
                    total,
                    json.dumps(source, ensure_ascii=False),
                    lock_id,
                ),
            )
            row = _apply_row(conn, store_id, apply_id)
            assert row is not None
            return 201, _apply_record(conn, store_id, row)

    @retried
    def update_apply(self, store_id: str, apply_id: str, body: Any) -> ApplyRecord:
        """Set an apply's status (complete, failed or interrupted: it ends) and/or its
        writes_done. Setting the status it already has is harmless."""
        if not isinstance(body, dict) or not body or set(body) - {"status", "writes_done"}:
            raise StoreError('an apply update is {"status"?, "writes_done"?}', 400)
        status = body.get("status")
        if "status" in body and status not in FINAL_STATUSES:
            raise StoreError(f"status must be one of {', '.join(FINAL_STATUSES)}", 400)
        done = _count(body["writes_done"], "writes_done") if "writes_done" in body else None
        with self._tx(write=True, store=store_id) as conn:
            row = _apply_row(conn, store_id, apply_id)
            if row is None:
                raise StoreError(f"there is no apply {apply_id} in store {store_id}", 404)
            if row[3] != "running" and status is not None and status != row[3]:
                raise StoreError(f"apply {apply_id} already ended ({row[3]})", 409)
            if done is not None:
                conn.execute(
                    "UPDATE applies SET writes_done = ? WHERE store = ? AND id = ?",
                    (done, store_id, apply_id),
                )
            if status is not None and row[3] == "running":
                conn.execute(
                    "UPDATE applies SET status = ?, finished_at = ? WHERE store = ? AND id = ?",
                    (status, time.time(), store_id, apply_id),
                )
            row = _apply_row(conn, store_id, apply_id)
            assert row is not None
            return _apply_record(conn, store_id, row)

    def list_applies(
        self,
        store_id: str,
        *,
        limit: int = DEFAULT_PAGE,
        page_token: str | None = None,
        plan_id: str | None = None,
    ) -> tuple[list[ApplyRecord], str | None]:
        """One page of a store's apply records, newest first (only one plan's with plan_id)."""
        check_limit(limit)
        before = _seq_after("applies", page_token)
        where = "store = ? AND seq < ?"
        params: list[Any] = [store_id, before if before is not None else 2**62]
        if plan_id is not None:
            where += " AND plan_id = ?"
            params.append(plan_id)
        with self._tx(write=False) as conn:
            rows = conn.execute(
                f"SELECT {_APPLY_COLS} FROM applies WHERE {where} ORDER BY seq DESC LIMIT ?",
                (*params, limit + 1),
            ).fetchall()
            items = [_apply_record(conn, store_id, r) for r in rows[:limit]]
        token = (
            encode_page_token("applies", str(rows[limit - 1][-1])) if len(rows) > limit else None
        )
        return items, token

    def get_apply(self, store_id: str, apply_id: str) -> ApplyRecord:
        with self._tx(write=False) as conn:
            row = _apply_row(conn, store_id, apply_id)
            if row is None:
                raise StoreError(f"there is no apply {apply_id} in store {store_id}", 404)
            return _apply_record(conn, store_id, row)

    # ------------------------------------------------------------ drift

    def drift(
        self, store_id: str, *, limit: int = DEFAULT_PAGE, page_token: str | None = None
    ) -> tuple[list[DriftItem], str | None]:
        """One page of the resources (and settings) changed outside storecfg, by address."""
        check_limit(limit)
        after = decode_page_token("drift", page_token) if page_token else ""
        with self._tx(write=False) as conn:
            rows = conn.execute(
                """
                SELECT address, what, revision, at FROM (
                    SELECT r.kind || '.' || r.id AS address,
                           CASE WHEN la.hash IS NULL THEN 'created' ELSE 'changed' END AS what,
                           r.revision AS revision, r.updated_at AS at
                    FROM resources r LEFT JOIN last_applied la
                      ON la.store = r.store AND la.kind = r.kind AND la.id = r.id
                    WHERE r.store = ? AND (la.hash IS NULL OR la.hash != r.hash)
                    UNION ALL
                    SELECT la.kind || '.' || la.id, 'deleted', la.deleted_revision, la.deleted_at
                    FROM last_applied la LEFT JOIN resources r
                      ON r.store = la.store AND r.kind = la.kind AND r.id = la.id
                    WHERE la.store = ? AND r.id IS NULL
                ) AS drifted WHERE address > ? ORDER BY address LIMIT ?
                """,
                (store_id, store_id, after, limit + 1),
            ).fetchall()
            settings = _settings_drift(conn, store_id) if after < SETTINGS_DRIFT else None
        items = [
            DriftItem(r[0], r[1], None if r[2] is None else int(r[2]), iso(r[3])) for r in rows
        ]
        if settings is not None:  # in its place by address, as one more row
            items.append(settings)
            items.sort(key=lambda i: i.address)
        more = len(items) > limit
        items = items[:limit]
        token = encode_page_token("drift", items[-1].address) if more else None
        return items, token

    @retried
    def acknowledge(self, store_id: str, items: Any, *, apply_id: str | None = None) -> list[str]:
        """Record live resources as what storecfg wants, without writing them: each item
        is {"address", "hash"} (the resource is there with this hash) or {"address",
        "hash": null} (storecfg agrees that it is gone); {"address": "settings", "hash"}
        for the store settings. An item whose resource no longer matches is skipped.
        Returns the addresses recorded."""
        if not isinstance(items, list) or len(items) > 10_000:
            raise StoreError("items must be a list of at most 10000 objects", 400)
        checked: list[tuple[str, str, str | None]] = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or set(item) - {"address", "hash"}:
                raise StoreError(f'items[{i}] must be {{"address", "hash"}}', 400)
            addr = item.get("address")
            if addr == SETTINGS_DRIFT:
                if not isinstance(item.get("hash"), str):
                    raise StoreError(f"items[{i}].hash must be the hash of the settings", 400)
                checked.append((SETTINGS_DRIFT, "", item["hash"]))
                continue
            if not isinstance(addr, str) or not ADDRESS.fullmatch(addr):
                raise StoreError(f"items[{i}].address must be KIND.ID", 400)
            kind, rid = split_address(addr)
            if kind not in KIND_RANK:
                raise StoreError(f"items[{i}].address must be KIND.ID", 400)
            digest = item.get("hash")
            if digest is not None and not isinstance(digest, str):
                raise StoreError(f"items[{i}].hash must be a string or null", 400)
            checked.append((kind, rid, digest))
        if apply_id is not None:
            check_apply_id(apply_id)
        done: list[str] = []
        now = time.time()
        with self._tx(write=True, store=store_id) as conn:
            for kind, rid, digest in checked:
                if kind == SETTINGS_DRIFT:
                    assert digest is not None
                    if _acknowledge_settings(conn, store_id, digest, now, apply_id):
                        done.append(SETTINGS_DRIFT)
                    continue
                row = conn.execute(
                    "SELECT hash, revision FROM resources WHERE store = ? AND kind = ? AND id = ?",
                    (store_id, kind, rid),
                ).fetchone()
                if digest is None and row is None:
                    conn.execute(
                        "DELETE FROM last_applied WHERE store = ? AND kind = ? AND id = ?",
                        (store_id, kind, rid),
                    )
                elif digest is not None and row is not None and row[0] == digest:
                    remember_write(conn, store_id, kind, rid, digest, int(row[1]), now, apply_id)
                else:
                    continue
                done.append(address(kind, rid))
        return done


# ---------------------------------------------------------------- hooks for writes


def check_marker(conn: Connection, store_id: str, apply_id: str | None) -> None:
    """A write that says it is storecfg's must name a running apply of this store."""
    if apply_id is None:
        return
    check_apply_id(apply_id)
    row = _apply_row(conn, store_id, apply_id)
    if row is None:
        raise StoreError(f"there is no apply {apply_id} in store {store_id}", 409)
    if row[3] != "running":
        raise StoreError(f"apply {apply_id} already ended ({row[3]})", 409)


def record_delete(
    conn: Connection,
    store_id: str,
    kind: str,
    rid: str,
    revision: int,
    now: float,
    apply_id: str | None,
) -> None:
    if apply_id is not None:
        conn.execute(
            "DELETE FROM last_applied WHERE store = ? AND kind = ? AND id = ?",
            (store_id, kind, rid),
        )
    else:  # storecfg wrote it and somebody else deleted it: remember when
        conn.execute(
            "UPDATE last_applied SET deleted_revision = ?, deleted_at = ? "
            "WHERE store = ? AND kind = ? AND id = ?",
            (revision, now, store_id, kind, rid),
        )


def remember_settings(
    conn: Connection,
    store_id: str,
    digest: str,
    revision: int,
    now: float,
    apply_id: str | None,
) -> None:
    """A settings write: when it happened, and, for a write of a running apply, that
    `digest` is what storecfg last wrote to the settings."""
    conn.execute("UPDATE stores SET settings_updated_at = ? WHERE id = ?", (now, store_id))
    if apply_id is not None:
        _remember_settings(conn, store_id, digest, revision, now, apply_id)


def baseline_settings(conn: Connection) -> None:
    """Fill in the hash of the settings the schema upgrade took as the baseline (the
    migration cannot compute it in SQL); after that, this finds nothing to do."""
    rows = conn.execute(
        "SELECT s.id, s.settings FROM stores s JOIN last_applied_settings la "
        "ON la.store = s.id WHERE la.hash = ''"
    ).fetchall()
    for store_id, text in rows:
        conn.execute(
            "UPDATE last_applied_settings SET hash = ? WHERE store = ?",
            (_settings_hash(text), store_id),
        )


def _settings_hash(text: str | None) -> str:
    try:
        return spec_hash(json.loads(text or "null"))
    except ValueError:
        return ""


def _remember_settings(
    conn: Connection, store_id: str, digest: str, revision: int, now: float, apply_id: str | None
) -> None:
    conn.execute(
        "INSERT INTO last_applied_settings (store, hash, revision, apply_id, written_at) "
        "VALUES (?,?,?,?,?) ON CONFLICT (store) DO UPDATE SET hash = excluded.hash, "
        "revision = excluded.revision, apply_id = excluded.apply_id, "
        "written_at = excluded.written_at",
        (store_id, digest, revision, apply_id, now),
    )


def _settings_drift(conn: Connection, store_id: str) -> DriftItem | None:
    """The settings as a drift item when somebody other than storecfg wrote them since
    storecfg last did (settings nobody ever wrote are no drift)."""
    row = conn.execute(
        "SELECT s.settings, s.settings_revision, s.settings_updated_at, la.hash "
        "FROM stores s LEFT JOIN last_applied_settings la ON la.store = s.id WHERE s.id = ?",
        (store_id,),
    ).fetchone()
    if row is None or row[0] is None or row[3] == _settings_hash(row[0]):
        return None
    return DriftItem(SETTINGS_DRIFT, "changed", int(row[1]), iso(row[2]))


def _acknowledge_settings(
    conn: Connection, store_id: str, digest: str, now: float, apply_id: str | None
) -> bool:
    row = conn.execute(
        "SELECT settings, settings_revision FROM stores WHERE id = ?", (store_id,)
    ).fetchone()
    if row is None or row[0] is None or _settings_hash(row[0]) != digest:
        return False
    _remember_settings(conn, store_id, digest, int(row[1]), now, apply_id)
    return True


def record_progress(conn: Connection, store_id: str, apply_id: str | None, writes: int) -> None:
    if apply_id is not None and writes:
        conn.execute(
            "UPDATE applies SET writes_done = writes_done + ? WHERE store = ? AND id = ?",
            (writes, store_id, apply_id),
        )


_SNAP_COLS = "id, created_at, revision, resource_count, sha256, reason, apply_id"
_APPLY_COLS = (
    "id, started_at, finished_at, status, plan_id, changes, writes_done, writes_total, "
    "source, lock_id, seq"
)


def _snapshot_meta(row: Any) -> SnapshotMeta:
    return SnapshotMeta(row[0], iso(row[1]) or "", int(row[2]), int(row[3]), row[4], row[5], row[6])


def _apply_row(conn: Connection, store_id: str, apply_id: str) -> Any:
    return conn.execute(
        f"SELECT {_APPLY_COLS} FROM applies WHERE store = ? AND id = ?", (store_id, apply_id)
    ).fetchone()


def _apply_record(conn: Connection, store_id: str, row: Any) -> ApplyRecord:
    status = row[3]
    if status == "running":
        # running only while its lock is held: a lock that expired or was released
        # (a killed process, a runner that vanished) means it was interrupted
        lock = conn.execute(
            "SELECT lock_id, expires_at FROM locks WHERE store = ?", (store_id,)
        ).fetchone()
        if lock is None or lock[0] != row[9] or lock[1] <= time.time():
            status = "interrupted"
    return ApplyRecord(
        row[0],
        iso(row[1]) or "",
        iso(row[2]),
        status,
        row[4],
        json.loads(row[5]),
        int(row[6]),
        int(row[7]),
        json.loads(row[8]),
    )


def _next_seq(conn: Connection, table: str, store_id: str) -> int:
    row = conn.execute(f"SELECT MAX(seq) FROM {table} WHERE store = ?", (store_id,)).fetchone()
    return int(row[0] or 0) + 1


def remember_write(
    conn: Connection,
    store_id: str,
    kind: str,
    rid: str,
    digest: str,
    revision: int,
    now: float,
    apply_id: str | None,
) -> None:
    """Record `digest` as what storecfg last wrote to a resource (a write of a running
    apply, or a live resource acknowledged as storecfg's)."""
    conn.execute(
        "INSERT INTO last_applied (store, kind, id, hash, revision, apply_id, written_at) "
        "VALUES (?,?,?,?,?,?,?) ON CONFLICT (store, kind, id) DO UPDATE SET "
        "hash = excluded.hash, revision = excluded.revision, apply_id = excluded.apply_id, "
        "written_at = excluded.written_at, deleted_revision = NULL, deleted_at = NULL",
        (store_id, kind, rid, digest, revision, apply_id, now),
    )


def _state(conn: Connection, store_id: str) -> dict[str, Any]:
    """The store's content as a snapshot holds it, read inside the caller's transaction."""
    info = store_row(conn, store_id)
    resources: dict[str, dict[str, Any]] = {}
    for kind, rid, spec, rev in conn.execute(
        "SELECT kind, id, spec, revision FROM resources WHERE store = ? ORDER BY kind, id",
        (store_id,),
    ):
        resources.setdefault(kind, {})[rid] = {"spec": json.loads(spec), "revision": int(rev)}
    return {
        "store": {"id": store_id, "revision": info.revision},
        "settings": info.settings,
        "settings_revision": info.settings_revision,
        "resources": resources,
    }
