"""The embedded store: `sqlite:///PATH`, the same storage engine the server uses."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..closing import Closing
from ..errors import StoreError, UsageError
from ..model import LiveResource, LiveState
from .driver import assign_specs, register
from .records import ApplyRecord, DriftItem, LockInfo, SnapshotMeta, StoreInfo, WriteOp, WriteResult
from .storage import Storage
from .wire import MAX_BATCH, apply_update_body, results_from_json


@register("sqlite")
class SqliteDriver(Closing):
    """Talks to a SQLite store database directly; no server needed."""

    default_parallelism = 1  # SQLite serializes writers; threads would only contend
    batch_size = MAX_BATCH  # each batch is a transaction: fewer commits, fewer pages written

    def __init__(self, url: str, *, token: str | None = None, **_: Any) -> None:
        if not url.startswith("sqlite:///"):
            raise UsageError(f"embedded store URLs look like sqlite:///PATH, got {url!r}")
        path = url[len("sqlite:///") :]
        if not path:
            raise UsageError("sqlite:/// needs a file path")
        self.path = Path(path)
        # absolute, so a plan file names one database wherever it is applied from
        self.url = f"sqlite:///{self.path.resolve()}"
        self._storage: Storage | None = Storage(self.path) if self.path.exists() else None
        self._empty: Storage | None = None
        self._vouched: Mapping[str, Mapping[str, Any]] = {}

    @property
    def storage(self) -> Storage:
        """The database for reads. Reading a store that was never written creates no
        file: an empty in-memory database answers instead."""
        if self._storage is None and self.path.exists():
            self._storage = Storage(self.path)
        if self._storage is not None:
            return self._storage
        if self._empty is None:
            self._empty = Storage(":memory:")
        return self._empty

    def _writer(self) -> Storage:
        """The database for writes, created on the first one."""
        if self._storage is None:
            self._storage = Storage(self.path)
        self._storage.vouched = self._vouched
        return self._storage

    def vouch(self, specs: Mapping[str, Mapping[str, Any]]) -> None:
        """The compile of this process checked these very objects with the same
        schemas and rules the store applies: writing one of them skips the second
        check (an apply of a definition directory, not of a plan file)."""
        self._vouched = specs

    def list_stores(self) -> list[str]:
        return self.storage.list_stores()

    def store_info(self, store_id: str) -> StoreInfo:
        return self.storage.store_info(store_id)

    def list_page(
        self,
        store_id: str,
        kind: str,
        *,
        limit: int = 500,
        page_token: str | None = None,
        specs: bool = True,
    ) -> tuple[list[LiveResource], str | None]:
        return self.storage.list(store_id, kind, limit=limit, page_token=page_token, specs=specs)

    def get(self, store_id: str, kind: str, rid: str) -> LiveResource | None:
        try:
            return self.storage.get(store_id, kind, rid)
        except StoreError as exc:
            if exc.status == 404:
                return None
            raise

    def put(
        self,
        store_id: str,
        kind: str,
        rid: str,
        spec: dict[str, Any],
        *,
        if_match: int | None = None,
        create: bool = False,
        idempotency_key: str | None = None,
    ) -> LiveResource:
        _, item = self._writer().put(
            store_id,
            kind,
            rid,
            spec,
            if_match=None if create else str(if_match) if if_match is not None else None,
            if_none_match="*" if create else None,
            idempotency_key=idempotency_key,
        )
        return item

    def delete(
        self,
        store_id: str,
        kind: str,
        rid: str,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        self._writer().delete(
            store_id,
            kind,
            rid,
            if_match=str(if_match) if if_match is not None else None,
            idempotency_key=idempotency_key,
        )

    def put_settings(
        self,
        store_id: str,
        settings: dict[str, Any],
        *,
        if_match: int,
        idempotency_key: str | None = None,
        apply_id: str | None = None,
    ) -> LiveResource:
        _, item = self._writer().put_settings(
            store_id,
            settings,
            if_match=str(if_match),
            idempotency_key=idempotency_key,
            apply_id=apply_id,
        )
        return item

    def write_batch(
        self, store_id: str, ops: list[WriteOp], apply_id: str | None = None
    ) -> list[WriteResult]:
        return results_from_json(
            self._writer().batch(store_id, [op.to_json() for op in ops], apply_id=apply_id),
            self.url,
        )

    def read_all(self, store_id: str, *, specs: bool = True) -> LiveState:
        return self.storage.read_all(store_id, specs=specs)

    def fill_specs(self, live: LiveState, addresses: list[str]) -> None:
        assign_specs(live, self.storage.get_many(live.store_id, addresses), addresses)

    def acquire_lock(self, store_id: str, owner: dict[str, Any], ttl: float) -> LockInfo:
        return self._writer().acquire_lock(store_id, owner, ttl)[1]

    def renew_lock(self, store_id: str, lock_id: str, ttl: float) -> LockInfo:
        return self._writer().acquire_lock(store_id, {}, ttl, lock_id=lock_id)[1]

    def release_lock(self, store_id: str, lock_id: str) -> None:
        self.storage.release_lock(store_id, lock_id)

    def get_lock(self, store_id: str) -> LockInfo | None:
        return self.storage.get_lock(store_id)

    # ------------------------------------------------------------ history

    def create_snapshot(
        self, store_id: str, reason: str, apply_id: str | None = None
    ) -> SnapshotMeta:
        return self._writer().create_snapshot(store_id, reason=reason, apply_id=apply_id)[1]

    def list_snapshots(
        self, store_id: str, *, limit: int = 100, page_token: str | None = None
    ) -> tuple[list[SnapshotMeta], str | None]:
        return self.storage.list_snapshots(store_id, limit=limit, page_token=page_token)

    def get_snapshot(self, store_id: str, snapshot_id: str) -> dict[str, Any] | None:
        try:
            return self.storage.get_snapshot(store_id, snapshot_id)
        except StoreError as exc:
            if exc.status == 404:
                return None
            raise

    def start_apply(self, store_id: str, record: dict[str, Any]) -> ApplyRecord:
        return self._writer().start_apply(store_id, record)[1]

    def update_apply(
        self,
        store_id: str,
        apply_id: str,
        *,
        status: str | None = None,
        writes_done: int | None = None,
    ) -> ApplyRecord:
        body = apply_update_body(status, writes_done)
        return self._writer().update_apply(store_id, apply_id, body)

    def list_applies(
        self,
        store_id: str,
        *,
        limit: int = 100,
        page_token: str | None = None,
        plan_id: str | None = None,
    ) -> tuple[list[ApplyRecord], str | None]:
        return self.storage.list_applies(
            store_id, limit=limit, page_token=page_token, plan_id=plan_id
        )

    def drift_page(
        self, store_id: str, *, limit: int = 500, page_token: str | None = None
    ) -> tuple[list[DriftItem], str | None]:
        return self.storage.drift(store_id, limit=limit, page_token=page_token)

    def acknowledge(
        self, store_id: str, items: list[dict[str, Any]], apply_id: str | None = None
    ) -> list[str]:
        return self._writer().acknowledge(store_id, items, apply_id=apply_id)

    def close(self) -> None:
        for storage in (self._storage, self._empty):
            if storage is not None:
                storage.close()
