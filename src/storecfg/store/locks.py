"""The apply lock of a store: one holder at a time, with an owner and an expiry, taken,
renewed and released in write transactions on the store (part of `Storage`)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from ..errors import LockedError, StoreError
from .base import StorageBase
from .engine import Connection, retried
from .records import LockInfo

DEFAULT_LOCK_TTL = 120.0
MAX_LOCK_TTL = 3600.0


class Locks(StorageBase):
    """Taking, renewing, reading and releasing the apply lock."""

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
