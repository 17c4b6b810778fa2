"""API tokens: kept only as their sha256 hashes, one store each, optionally read-only,
with the time each was last used (part of `Storage`)."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import time
from typing import Any

from ..errors import StoreError
from .base import StorageBase
from .engine import retried
from .records import TokenInfo

#: last use is recorded at most this often per token (seconds): reads stay reads
LAST_USED_RESOLUTION = 60.0


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Tokens(StorageBase):
    """Creating, checking, listing and revoking tokens."""

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
    def list_tokens(self, store_id: str | None = None) -> list[TokenInfo]:
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
