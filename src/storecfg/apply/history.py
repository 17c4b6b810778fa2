"""An apply's history in the store: its record, its snapshot, and what later runs read.

`ApplyRecorder` starts the apply record and takes the snapshot in the store before
the first write, writes a local copy of it (under .storecfg/snapshots, or --backup-dir),
and ends the record with the apply's status; the writes themselves move its progress. `last_unfinished` tells a
later plan, on any machine, about an apply that did not finish. A store that keeps no
history (a store API from before it) gets the first release's behaviour: a snapshot
file under .storecfg/snapshots and the local journal.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._fs import atomic_write
from ..errors import StorecfgError, StoreError
from ..model import LiveState
from ..store.driver import HistoryUnsupported, StoreDriver, check_store_id
from ..store.records import SNAPSHOT_ID, ApplyRecord, state_sha256
from . import journal
from .backup import write_snapshot
from .order import writes_of
from .plandoc import InterruptedApply, Plan
from .provenance import describe

#: apply records looked at to find a plan that was applied already
_PLAN_LOOKUP = 20


@dataclass
class SnapshotRef:
    """The snapshot taken before an apply: in the store, or (for a store without
    history) a local file; `local_copy` is the file copy of a snapshot in the store."""

    id: str
    in_store: bool
    path: Path | None = None
    local_copy: Path | None = None


class ApplyRecorder:
    """The record of one apply in the store, from before its first write to its end."""

    def __init__(
        self,
        driver: StoreDriver,
        store_id: str,
        plan: Plan,
        *,
        source: dict[str, Any],
        lock_id: str | None,
        reason: str,
        state_dir: Path,
        backup_dir: Path | None = None,
    ) -> None:
        self.driver = driver
        self.store_id = store_id
        self.plan = plan
        self.source = source
        self.lock_id = lock_id
        self.reason = reason
        self.state_dir = state_dir
        self.backup_dir = backup_dir
        #: the ID its writes carry; None when the store keeps no history
        self.apply_id: str | None = str(uuid.uuid4())
        self.record: ApplyRecord | None = None
        self.warnings: list[str] = []

    def begin(self, live: LiveState) -> SnapshotRef:
        """Record the apply and snapshot the store; StorecfgError (and nothing applied)
        when either cannot be done."""
        counts = dict.fromkeys(("create", "update", "delete", "replace"), 0)
        for change in self.plan["changes"]:
            if change["action"] in counts:
                counts[change["action"]] += 1
        try:
            self.record = self.driver.start_apply(
                self.store_id,
                {
                    "id": self.apply_id,
                    "plan_id": self.plan["plan_id"],
                    "changes": counts,
                    "writes_total": writes_of(self.plan),
                    "source": self.source,
                    "lock_id": self.lock_id,
                },
            )
        except HistoryUnsupported:
            self.apply_id = None
            self.warnings.append(
                f"the store at {self.driver.url} keeps no history: the snapshot is a local "
                "file, and other machines will not see this apply"
            )
            info = write_snapshot(live, self.state_dir / "snapshots", self.plan["store"]["url"])
            return SnapshotRef(info.id, False, info.path)
        except StoreError as exc:
            raise StorecfgError(
                f"cannot record the apply in the store: {exc.message}; nothing was applied"
            ) from exc
        try:
            meta = self.driver.create_snapshot(self.store_id, self.reason, self.apply_id)
        except StoreError as exc:
            self.finish("failed")
            raise StorecfgError(
                f"cannot take the snapshot in the store: {exc.message}; nothing was applied"
            ) from exc
        ref = SnapshotRef(meta.id, True)
        # the local snapshot file every apply leaves (SPEC 4), also where --backup-dir says
        root = self.backup_dir if self.backup_dir is not None else self.state_dir / "snapshots"
        try:
            ref.local_copy = self._local_copy(meta.id, root)
        except (OSError, StoreError, StorecfgError) as exc:
            self.finish("failed")
            why = exc.strerror if isinstance(exc, OSError) else str(exc)
            path = root / self.store_id / f"{meta.id}.json"
            raise StorecfgError(
                f"cannot write the local copy of snapshot {meta.id} to {path}: "
                f"{why or exc}; nothing was applied"
            ) from exc
        return ref

    def _local_copy(self, snapshot_id: str, root: Path) -> Path:
        from .backup import verify_store_snapshot

        doc = self.driver.get_snapshot(self.store_id, snapshot_id)
        if doc is None:
            raise StorecfgError(f"snapshot {snapshot_id} is not in the store")
        verify_store_snapshot(doc, self.store_id)
        return write_local_copy(doc, root, self.driver.url)

    def finish(self, status: str) -> None:
        """End the record (complete, failed or interrupted). A failure to say so is a
        warning: the writes are done either way, and a record left running reads as
        interrupted once the lock is gone."""
        if self.apply_id is None or self.record is None:
            return
        try:
            self.record = self.driver.update_apply(self.store_id, self.apply_id, status=status)
        except StoreError as exc:
            self.warnings.append(f"could not record the end of the apply in the store: {exc}")


def write_local_copy(doc: dict[str, Any], root: Path, store_url: str) -> Path:
    """A store snapshot as a file in `root/STORE/ID.json` (with a `.sha256` beside it),
    readable by `backup --backup-dir` like the first release's snapshot files."""
    if state_sha256(doc) != doc.get("sha256"):
        raise StorecfgError(
            f"snapshot {doc.get('id')} does not match its sha256; it is damaged in the store"
        )
    store_id, snapshot_id = str(doc["store"]["id"]), str(doc["id"])
    check_store_id(store_id)  # both name files: nothing but IDs may pass
    if not SNAPSHOT_ID.fullmatch(snapshot_id):
        raise StorecfgError(f"the store sent a snapshot with the ID {snapshot_id!r}")
    data = (
        json.dumps({**doc, "store_url": store_url}, ensure_ascii=False, sort_keys=True, indent=1)
        + "\n"
    ).encode()
    folder = root / store_id
    path = folder / f"{snapshot_id}.json"
    atomic_write(path, data, mode=0o600)
    digest = hashlib.sha256(data).hexdigest()
    atomic_write(folder / f"{snapshot_id}.sha256", f"{digest}  {path.name}\n".encode(), mode=0o600)
    return path


def _snapshot_of(driver: StoreDriver, store_id: str, apply_id: str) -> str | None:
    items, _ = driver.list_snapshots(store_id, limit=20)
    return next((s.id for s in items if s.apply_id == apply_id), None)


def last_unfinished(driver: StoreDriver, store_id: str, state_dir: Path) -> InterruptedApply | None:
    """The newest apply of this store if it did not finish (interrupted, or still
    holding the lock), for a plan to warn about: who, when, how far it got. From the
    store; from the local journal when the store keeps no history."""
    try:
        items, _ = driver.list_applies(store_id, limit=1)
    except HistoryUnsupported:
        return journal.last_interrupted(state_dir / "journal", store_id)
    if not items or items[0].status not in ("interrupted", "running"):
        return None
    record = items[0]
    try:
        snapshot = _snapshot_of(driver, store_id, record.id)
    except StoreError:
        snapshot = None
    who = describe(record.source)
    head = (
        f"the last apply (plan {str(record.plan_id)[:8]}, apply {record.id[:8]}) by {who}, "
        f"started {record.started_at}, "
    )
    progress = f"{record.writes_done} of {record.writes_total} writes"
    if record.status == "interrupted":
        message = f"{head}was interrupted after {progress}"
    else:
        held = driver.get_lock(store_id)
        until = f" until {held.to_json()['expires_at']}" if held is not None else ""
        message = (
            f"{head}has not finished: {progress} so far, and it holds the store's lock{until} "
            "(it is still running, or it stopped without releasing the lock)"
        )
    return {
        "apply_id": record.id,
        "plan_id": record.plan_id,
        "status": record.status,
        "started_at": record.started_at,
        "done": record.writes_done,
        "total": record.writes_total,
        "source": record.source,
        "snapshot": snapshot,
        "journal": None,
        "message": message + "; this plan shows only what is left to do",
    }


def applied_at(driver: StoreDriver, store_id: str, plan_id: str, state_dir: Path) -> str | None:
    """When this plan was applied to completion, if it was (the store says; the local
    journal too, for a store without history)."""
    try:
        items, _ = driver.list_applies(store_id, limit=_PLAN_LOOKUP, plan_id=plan_id)
    except HistoryUnsupported:
        return journal.was_applied(state_dir / "journal", store_id, plan_id)
    for record in items:
        if record.plan_id == plan_id and record.status == "complete":
            return record.finished_at or record.started_at
    return journal.was_applied(state_dir / "journal", store_id, plan_id)
