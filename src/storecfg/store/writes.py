"""Writes of single resources and of the store settings (part of `Storage`).

Each write is one write transaction on its store: read the store row, check the
preconditions (If-Match, If-None-Match) and the spec, write the resource and its
references (see integrity.py), record it for the history (see history.py), move the
store revision by one, and remember the result under its idempotency key (kept
IDEMPOTENCY_TTL seconds) so that the same request again answers the same and writes
nothing. batch.py runs many of these in one transaction.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from typing import Any

from ..errors import ConflictError, StoreError
from ..model import ID_PATTERN, LiveResource, address, canonical_json
from .base import StorageBase, WriteState, check_kind
from .engine import Connection, retried
from .history import (
    check_marker,
    record_delete,
    record_progress,
    remember_settings,
    remember_write,
)
from .integrity import check_written, index, refusal, unindex
from .values import checked_json
from .wire import (
    InvalidSpec,
    PreconditionRequired,
    parse_etag,
    put_preconditions,
    resource_json,
    source_of,
    unwrap,
)

IDEMPOTENCY_TTL = 24 * 3600
_ID = re.compile(ID_PATTERN)


class Writes(StorageBase):
    """put, delete and put_settings, and the steps a batch shares with them."""

    #: writes that remembered an idempotency key; old keys are pruned every 1000
    _keys_remembered = 0

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
    ) -> tuple[int, LiveResource]:
        """Create (If-None-Match: *) or update (If-Match: REV) one resource.

        Returns (201 or 200, item). A replayed idempotency key returns the first result.
        `apply_id` marks the write as storecfg's, made by that running apply.
        """
        check_kind(kind)
        if_match, if_none_match = put_preconditions(if_match, if_none_match)
        with self._tx(write=True, store=store_id) as conn:
            check_marker(conn, store_id, apply_id)
            state = self._write_state(conn, store_id)
            result = self._put_in(
                conn, state, kind, rid, body, if_match, if_none_match, idempotency_key, apply_id
            )
            _refuse_dangling(conn, store_id, [address(kind, rid)])
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
        check_kind(kind)
        if_match = parse_etag(if_match)
        with self._tx(write=True, store=store_id) as conn:
            check_marker(conn, store_id, apply_id)
            state = self._write_state(conn, store_id)
            status = self._delete_in(conn, state, kind, rid, if_match, idempotency_key, apply_id)
            _refuse_dangling(conn, store_id, [address(kind, rid)])
            self._finish(conn, state, apply_id)
            return status

    @retried
    def _finish(self, conn: Connection, state: WriteState, apply_id: str | None = None) -> None:
        if state.revision != state.initial:
            conn.execute(
                "UPDATE stores SET revision = ? WHERE id = ?", (state.revision, state.store_id)
            )
            # every real write moves the revision by one (a replayed one does not)
            record_progress(conn, state.store_id, apply_id, state.revision - state.initial)

    def _current(
        self, conn: Connection, state: WriteState, kind: str, rid: str
    ) -> tuple[int, str | None] | None:
        """(revision, source) of a resource in this write transaction, None if absent."""
        if state.known is not None and (kind, rid) in state.known:
            return state.known[(kind, rid)]
        row = conn.execute(
            "SELECT revision, source FROM resources WHERE store = ? AND kind = ? AND id = ?",
            (state.store_id, kind, rid),
        ).fetchone()
        return None if row is None else (int(row[0]), row[1])

    def _put_in(
        self,
        conn: Connection,
        state: WriteState,
        kind: str,
        rid: str,
        body: Any,
        if_match: str | None,
        if_none_match: str | None,
        key: str | None,
        apply_id: str | None = None,
        *,
        source: Any = None,
    ) -> tuple[int, LiveResource]:
        store_id = state.store_id
        source = source_of(body, source)
        requested = unwrap(body)
        requested_text, requested_bytes = checked_json(requested, address(kind, rid))
        fingerprint = _fingerprint("PUT", kind, rid, requested_text, if_match, if_none_match)
        replay = self._replay(conn, store_id, key, fingerprint, state.replays)
        if replay is not None:
            status, data = replay
            # "spec" left out: what was stored is the request itself, which the
            # fingerprint (of the request's canonical text) says this one repeats
            spec = data.get("spec", requested)
            return status, LiveResource(
                spec, int(data["revision"]), data.get("hash", ""), id=data["id"]
            )
        vouched = self.vouched.get(kind, {}).get(rid)
        if vouched is not None and vouched is requested and vouched.get("id") == rid:
            spec = requested  # checked by the compile of this process (StorageBase.vouched)
        else:
            spec = self._checked_spec(kind, rid, requested, state.settings)
        row = self._current(conn, state, kind, rid)
        current = int(row[0]) if row else None
        if source is None and row is not None:
            source = row[1]  # a write that names no file keeps the one recorded
        if if_none_match == "*" and current is not None:
            raise ConflictError(
                f"{address(kind, rid)} already exists (revision {current})",
                412,
                details={"current_revision": current},
            )
        if if_match is not None:
            if current is None:
                raise ConflictError(
                    f"{address(kind, rid)} does not exist", 412, details={"current_revision": None}
                )
            if if_match != "*" and if_match != str(current):
                raise ConflictError(
                    f"{address(kind, rid)} is at revision {current}, not {if_match}: it changed since it was read",
                    412,
                    details={"current_revision": current},
                )
        state.revision += 1
        new_rev = state.revision
        # a spec sent in normalized form (as storecfg sends it) needs no second serialization
        as_sent = spec == requested
        if as_sent:
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
        index(conn, store_id, kind, rid, spec, created=current is None)
        if apply_id is not None:
            remember_write(conn, store_id, kind, rid, digest, new_rev, now, apply_id)
        status = 201 if current is None else 200
        if key:
            # the result to replay; a spec stored as sent is not kept twice (see above)
            spec_part = "" if as_sent else f'"spec":{text},'
            stored = f'{{"id":{json.dumps(rid)},{spec_part}"revision":{new_rev},"hash":"{digest}"}}'
            self._remember(conn, store_id, key, fingerprint, status, stored, now)
            if state.replays is not None:
                state.replays[key] = (fingerprint, status, stored, now)
        return status, LiveResource(spec, new_rev, digest, source, id=rid)

    def _delete_in(
        self,
        conn: Connection,
        state: WriteState,
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
                    f"{address(kind, rid)} does not exist", 412, details={"current_revision": None}
                )
            raise StoreError(f"{address(kind, rid)} does not exist in store {store_id}", 404)
        current = int(row[0])
        if if_match is not None and if_match != "*" and if_match != str(current):
            raise ConflictError(
                f"{address(kind, rid)} is at revision {current}, not {if_match}: it changed since it was read",
                412,
                details={"current_revision": current},
            )
        conn.execute(
            "DELETE FROM resources WHERE store = ? AND kind = ? AND id = ?",
            (store_id, kind, rid),
        )
        unindex(conn, store_id, kind, rid)
        state.revision += 1
        now = time.time()
        record_delete(conn, store_id, kind, rid, state.revision, now, apply_id)
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
    ) -> tuple[int, LiveResource]:
        """Replace the store settings (If-Match: SETTINGS_REVISION required)."""
        if_match = parse_etag(if_match)
        if if_match is None:
            raise PreconditionRequired("PUT of settings needs If-Match: SETTINGS_REVISION", 428)
        requested = unwrap(body)
        requested_text, _ = checked_json(requested, "store.settings")
        fingerprint = _fingerprint("PUT", "settings", "", requested_text, if_match, None)
        with self._tx(write=True, store=store_id) as conn:
            check_marker(conn, store_id, apply_id)
            replay = self._replay(conn, store_id, idempotency_key, fingerprint)
            if replay is not None:
                status, data = replay
                return status, LiveResource(
                    data["spec"], int(data["revision"]), data.get("hash", ""), id=data["id"]
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
            now = time.time()
            remember_settings(conn, store_id, digest, new_rev, now, apply_id)
            record_progress(conn, store_id, apply_id, 1)
            item = LiveResource(spec, new_rev, digest, id="settings")
            stored = json.dumps({**resource_json(item), "hash": digest})
            self._remember(conn, store_id, idempotency_key, fingerprint, 200, stored, now)
            return 200, item

    def _checked_spec(
        self, kind: str, rid: str, spec: Any, settings: dict[str, Any]
    ) -> dict[str, Any]:
        if not isinstance(spec, dict):
            raise InvalidSpec(f"{address(kind, rid)}: the spec must be a JSON object", 422)
        if "id" in spec and spec["id"] != rid:
            raise InvalidSpec(
                f"{address(kind, rid)}: the spec's id {spec['id']!r} does not match the URL", 422
            )
        checked: dict[str, Any] = spec if "id" in spec else {"id": rid, **spec}
        if not self.validate:
            return checked
        from .validation import check_resource

        diags, normalized = check_resource(kind, rid, checked, settings)
        if diags:
            n = len(diags)
            raise InvalidSpec(
                f"{address(kind, rid)} is invalid ({n} problem{'s' if n != 1 else ''}): {diags[0]['message']}",
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
        self._keys_remembered += 1
        if self._keys_remembered % 1000 == 1:
            conn.execute("DELETE FROM idempotency WHERE created_at < ?", (now - IDEMPOTENCY_TTL,))


def _refuse_dangling(conn: Connection, store_id: str, addresses: list[str]) -> None:
    found = check_written(conn, store_id, addresses)
    if found:
        raise refusal(found)


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
