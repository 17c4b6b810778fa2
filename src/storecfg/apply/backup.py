"""Backups of the live store: snapshots taken before every apply that changes something.

They live in the store itself (see store/history.py), so every machine sees them.
Snapshot files are the first release's backups, and the local copies every apply
writes (under .storecfg/snapshots, or --backup-dir): `DIR/STORE/YYYYMMDDTHHMMSSZ-rREV.json` holds the whole store
(settings and every resource with its revision); `NAME.sha256` beside it holds the
file's hash in `sha256sum` format. Both are written atomically with mode 0600. The
name without `.json` is the backup ID, in the store and in files alike.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from .._fs import atomic_write
from ..clock import utc_compact, utc_iso
from ..errors import StorecfgError, StoreError, UsageError, display_path
from ..model import ID_PATTERN, KINDS, DesiredState, LiveResource, LiveState, address
from ..store.driver import StoreDriver, check_store_id
from ..store.records import state_sha256

SNAPSHOT_FORMAT = 1
_ID = re.compile(r"^(\d{8}T\d{6}Z)-r(\d+)(?:-(\d+))?$")


@dataclass
class SnapshotInfo:
    id: str
    store_id: str
    path: Path
    created_at: str
    revision: int
    resources: int
    size: int
    sha256: str
    verified: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "store": self.store_id,
            "created_at": self.created_at,
            "revision": self.revision,
            "resources": self.resources,
            "size": self.size,
            "sha256": self.sha256,
            "verified": self.verified,
            "path": str(self.path),
        }


def snapshot_document(live: LiveState, store_url: str, now: float | None = None) -> dict[str, Any]:
    doc = live.to_json()
    doc["store"]["url"] = store_url
    return {
        "format_version": SNAPSHOT_FORMAT,
        "tool": {"name": "storecfg", "version": __version__},
        "created_at": utc_iso(now),
        **doc,
    }


def write_snapshot(live: LiveState, root: Path, store_url: str) -> SnapshotInfo:
    """Write the whole live store atomically; raise StorecfgError if that fails."""
    now = time.time()
    doc = snapshot_document(live, store_url, now)
    data = (json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode()
    digest = hashlib.sha256(data).hexdigest()
    folder = root / live.store_id
    stamp = utc_compact(now)
    name = f"{stamp}-r{live.revision}"
    n = 1
    while (folder / f"{name}.json").exists():
        n += 1
        name = f"{stamp}-r{live.revision}-{n}"
    path = folder / f"{name}.json"
    try:
        atomic_write(path, data, mode=0o600)
        atomic_write(folder / f"{name}.sha256", f"{digest}  {name}.json\n".encode(), mode=0o600)
    except OSError as exc:
        raise StorecfgError(
            f"cannot write the snapshot {path}: {exc.strerror or exc}; nothing was applied"
        ) from exc
    return SnapshotInfo(
        name,
        live.store_id,
        path,
        doc["created_at"],
        live.revision,
        live.count(),
        len(data),
        digest,
        True,
    )


def _info(path: Path, store_id: str) -> SnapshotInfo | None:
    name = path.name.removesuffix(".json")
    if not _ID.fullmatch(name):
        return None
    try:
        data = path.read_bytes()
    except OSError:
        return None
    digest = hashlib.sha256(data).hexdigest()
    recorded = ""
    side = path.with_name(f"{name}.sha256")
    try:
        words = side.read_bytes()[:1024].decode("ascii", "replace").split()
        recorded = words[0] if words else ""
    except OSError:
        pass
    try:
        doc = json.loads(data)
        count = sum(len(v) for v in doc.get("resources", {}).values())
        created, revision = str(doc.get("created_at", "")), int(doc["store"]["revision"])
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        count, created, revision = 0, "", -1  # load_snapshot says what is wrong with it
    return SnapshotInfo(
        name, store_id, path, created, revision, count, len(data), digest, recorded == digest
    )


def list_snapshots(root: Path, store_id: str | None = None) -> list[SnapshotInfo]:
    if store_id is not None:
        check_store_id(store_id)  # it names a directory under root: no "../"
    if not root.is_dir():
        return []
    stores = (
        [store_id]
        if store_id
        else sorted(
            p.name for p in root.iterdir() if p.is_dir() and re.fullmatch(ID_PATTERN, p.name)
        )
    )
    out: list[SnapshotInfo] = []
    for sid in stores:
        folder = root / sid
        if not folder.is_dir():
            continue
        found = [info for path in folder.glob("*.json") if (info := _info(path, sid))]
        out += sorted(found, key=_age)
    return out


def _age(info: SnapshotInfo) -> tuple[str, int, int]:
    """Oldest first: by time, then revision (r9 before r10), then the -N suffix."""
    match = _ID.fullmatch(info.id)
    assert match is not None  # _info only admits matching names
    return match[1], int(match[2]), int(match[3] or 1)


def find_snapshot(root: Path, snapshot_id: str, store_id: str | None = None) -> SnapshotInfo:
    snapshot_id = snapshot_id.removesuffix(".json")
    matches = [s for s in list_snapshots(root, store_id) if s.id == snapshot_id]
    if not matches:
        known = list_snapshots(root, store_id)
        hint = (
            f" Known backups: {', '.join(s.id for s in known[-5:])}"
            if known
            else " There are no backups yet."
        )
        raise UsageError(f"no backup {snapshot_id!r} in {root}.{hint}")
    if len(matches) > 1:
        raise UsageError(f"backup {snapshot_id!r} exists for several stores; give --store-id")
    return matches[0]


def load_snapshot(info: SnapshotInfo) -> dict[str, Any]:
    """The snapshot document, checked: its sha256, JSON and shape (a damaged or edited
    file is a clear error naming it, never a crash later)."""
    where = display_path(str(info.path))
    if not info.verified:
        raise StorecfgError(
            f"backup {info.id} does not match its sha256 file ({where}); it may be damaged or edited"
        )
    try:
        doc = json.loads(info.path.read_bytes())
    except OSError as exc:
        raise StorecfgError(
            f"{where}: cannot read backup {info.id}: {exc.strerror or exc}"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise StorecfgError(
            f"{where}: backup {info.id} is not a storecfg snapshot: not JSON ({exc})"
        ) from None
    if not isinstance(doc, dict) or doc.get("format_version") != SNAPSHOT_FORMAT:
        version = doc.get("format_version") if isinstance(doc, dict) else None
        raise StorecfgError(
            f"{where}: backup {info.id} has an unknown format_version {version!r} "
            f"(this storecfg reads {SNAPSHOT_FORMAT})"
        )
    problem = _check_snapshot(doc, info.store_id)
    if problem:
        raise StorecfgError(
            f"{where}: backup {info.id} is not a valid storecfg snapshot: {problem}"
        )
    return doc


def _check_snapshot(doc: dict[str, Any], store_id: str) -> str | None:
    store = doc.get("store")
    if not isinstance(store, dict) or store.get("id") != store_id:
        return f"store.id must be {store_id!r}, the store directory it is in"
    if not _is_int(store.get("revision")):
        return "store.revision must be a whole number"
    if not isinstance(store.get("url", ""), str):
        return "store.url must be a string"
    if not isinstance(doc.get("settings"), dict):
        return "settings must be an object"
    if not _is_int(doc.get("settings_revision", 0)):
        return "settings_revision must be a whole number"
    resources = doc.get("resources", {})
    if not isinstance(resources, dict):
        return "resources must be an object"
    for kind, items in resources.items():
        if kind not in KINDS or not isinstance(items, dict):
            return f"resources.{kind} is not a kind of resource"
        for rid, res in items.items():
            if not re.fullmatch(ID_PATTERN, rid):
                return f"resources.{kind}: {rid!r} is not a valid ID"
            if (
                not isinstance(res, dict)
                or not isinstance(res.get("spec"), dict)
                or not _is_int(res.get("revision"))
            ):
                return f"resources.{kind}.{rid} needs a spec object and a revision"
    return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_restorable(info: SnapshotInfo | Backup, doc: dict[str, Any]) -> None:
    """Raise (naming every resource and field) unless the store would accept every spec
    and the settings of this snapshot, checked as the store checks a write (schemas,
    single-resource rules, integer range): a restore then never stops half way, and
    nothing is locked or written before this passes."""
    from ..store.validation import check_resource, check_settings
    from ..store.values import check_values

    problems: list[str] = []
    try:
        store_id = str(doc["store"]["id"])
        settings = doc["settings"]
        resources = doc.get("resources", {})
        if not isinstance(settings, dict) or not isinstance(resources, dict):
            raise TypeError
        for kind, items in resources.items():
            if kind not in KINDS:
                problems.append(f"{kind}: not a kind of resource")
                continue
            for rid, entry in items.items():
                spec = entry["spec"]
                if not isinstance(spec, dict):
                    problems.append(f"{address(kind, rid)}: the spec is not an object")
                    continue
                try:
                    check_values(spec, address(kind, rid))
                except StoreError as exc:
                    problems.append(exc.message)
                    continue
                diags, _ = check_resource(kind, rid, {"id": rid, **spec}, settings)
                problems += [f"{d['address']}: {d['code']} {d['message']}" for d in diags]
    except (KeyError, TypeError, AttributeError):
        raise StorecfgError(
            f"backup {info.id} ({info.path or 'in the store'}) is not a snapshot storecfg can "
            "read; nothing was changed"
        ) from None
    try:
        check_values(settings, "store.settings")
        problems += [
            f"{d['address']}: {d['code']} {d['message']}"
            for d in check_settings(store_id, {"id": store_id, **settings})
        ]
    except StoreError as exc:
        problems.append(exc.message)
    if problems:
        more = [f"and {len(problems) - 20} more"] if len(problems) > 20 else []
        raise StorecfgError(
            f"backup {info.id} cannot be restored: the store would refuse "
            f"{len(problems)} of its value{'s' if len(problems) != 1 else ''}; nothing was "
            "changed:",
            lines=[*problems[:20], *more],
            hint="Restore another backup, or fix the definition and apply it.",
        )


def snapshot_live(doc: dict[str, Any]) -> LiveState:
    live = LiveState(
        doc["store"]["id"],
        int(doc["store"]["revision"]),
        doc["settings"],
        int(doc.get("settings_revision", 0)),
    )
    live.resources = {
        kind: {rid: LiveResource(r["spec"], int(r["revision"])) for rid, r in items.items()}
        for kind, items in doc.get("resources", {}).items()
    }
    return live


def snapshot_desired(doc: dict[str, Any]) -> DesiredState:
    return DesiredState(
        doc["settings"],
        {
            kind: {rid: r["spec"] for rid, r in items.items()}
            for kind, items in doc.get("resources", {}).items()
        },
    )


def live_as_desired(live: LiveState) -> DesiredState:
    return DesiredState(
        live.settings,
        {kind: {rid: r.spec for rid, r in items.items()} for kind, items in live.resources.items()},
    )


# ---------------------------------------------------------------- backups in the store


@dataclass
class Backup:
    """A backup as `backup list` shows it: a snapshot in the store, or a local file (the
    first release's snapshot files, and copies written with --backup-dir)."""

    id: str
    store_id: str
    created_at: str
    revision: int
    resource_count: int
    sha256: str
    reason: str | None
    apply_id: str | None
    in_store: bool
    path: Path | None = None
    #: for files: whether the .sha256 file beside it matches
    verified: bool | None = None

    @property
    def where(self) -> str:
        if self.in_store:
            return "store"
        return f"file {display_path(str(self.path))}" if self.path else "file"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "store": self.store_id,
            "created_at": self.created_at,
            "revision": self.revision,
            "resource_count": self.resource_count,
            "sha256": self.sha256,
            "reason": self.reason,
            "apply_id": self.apply_id,
            "source": "store" if self.in_store else "file",
            "path": None if self.path is None else str(self.path),
            "verified": self.verified,
        }


def store_backups(driver: StoreDriver, store_id: str, limit: int | None = None) -> list[Backup]:
    """The store's snapshots, newest first (at most `limit`)."""
    out: list[Backup] = []
    token: str | None = None
    while True:
        page = 100 if limit is None else max(1, min(100, limit - len(out)))
        items, token = driver.list_snapshots(store_id, limit=page, page_token=token)
        out += [
            Backup(
                s.id,
                store_id,
                s.created_at,
                s.revision,
                s.resource_count,
                s.sha256,
                s.reason,
                s.apply_id,
                True,
            )
            for s in items
        ]
        if not token or (limit is not None and len(out) >= limit):
            return out


def file_backups(root: Path, store_id: str | None) -> list[Backup]:
    """Snapshot files under `root` (one folder per store), newest first."""
    out: list[Backup] = []
    for info in reversed(list_snapshots(root, store_id)):
        reason: str | None = "a local snapshot file from before backups lived in the store"
        apply_id: str | None = None
        digest = info.sha256
        try:
            doc = json.loads(info.path.read_bytes())
            if isinstance(doc, dict) and "reason" in doc:  # a --backup-dir copy
                reason, apply_id = doc.get("reason"), doc.get("apply_id")
                digest = str(doc.get("sha256") or digest)  # the store's: over the state
        except (OSError, ValueError):
            pass
        out.append(
            Backup(
                info.id,
                info.store_id,
                info.created_at,
                info.revision,
                info.resources,
                digest,
                reason,
                apply_id,
                False,
                info.path,
                info.verified,
            )
        )
    return out


def list_backups(
    driver: StoreDriver | None, store_id: str | None, root: Path, limit: int | None = None
) -> list[Backup]:
    """Backups of a store, newest first: the store's snapshots, then the local files
    that are not copies of one of them."""
    from ..store.driver import HistoryUnsupported

    in_store: list[Backup] = []
    if driver is not None and store_id is not None:
        try:
            in_store = store_backups(driver, store_id, limit)
        except HistoryUnsupported:
            in_store = []
    # a --backup-dir copy of a snapshot the store still holds is the same backup
    known = {(b.store_id, b.id, b.sha256) for b in in_store}
    files = [b for b in file_backups(root, store_id) if (b.store_id, b.id, b.sha256) not in known]
    merged = sorted(
        in_store + files, key=lambda b: (b.created_at, b.revision, b.in_store), reverse=True
    )
    return merged[:limit] if limit is not None else merged


def verify_store_snapshot(doc: dict[str, Any], store_id: str | None = None) -> dict[str, Any]:
    """`doc` (a whole snapshot from the store) if its content matches its sha256 and it
    is the shape storecfg takes (of `store_id`, when given)."""
    expected, actual = doc.get("sha256"), state_sha256(doc)
    if expected != actual:
        raise StorecfgError(
            f"backup {doc.get('id')} does not match its sha256 (recorded {str(expected)[:16]}..., "
            f"content {actual[:16]}...): it is damaged or was edited; it is not used"
        )
    if doc.get("format_version") != SNAPSHOT_FORMAT:
        raise StorecfgError(
            f"backup {doc.get('id')} has an unknown format_version {doc.get('format_version')!r}"
        )
    store = doc.get("store")
    if store_id is None:
        store_id = str(store.get("id")) if isinstance(store, dict) else ""
    problem = _check_snapshot(doc, store_id)
    if problem:
        raise StorecfgError(f"backup {doc.get('id')} is not a valid storecfg snapshot: {problem}")
    return doc


def load_backup(
    driver: StoreDriver | None, store_id: str | None, backup_id: str, root: Path
) -> tuple[Backup, dict[str, Any]]:
    """A backup and its whole content, checked against its sha256: from the store when
    it holds one by that ID, else from the local files under `root`."""
    from ..store.driver import HistoryUnsupported

    backup_id = backup_id.removesuffix(".json")
    store_missing = ""
    if driver is not None and store_id is not None:
        doc = None
        try:
            doc = driver.get_snapshot(store_id, backup_id)
        except HistoryUnsupported:
            doc = None
        if doc is not None:
            verify_store_snapshot(doc, store_id)
            backup = Backup(
                str(doc["id"]),
                store_id,
                str(doc.get("created_at", "")),
                int(doc["store"]["revision"]),
                sum(len(v) for v in doc.get("resources", {}).values()),
                str(doc["sha256"]),
                doc.get("reason"),
                doc.get("apply_id"),
                True,
            )
            return backup, doc
        store_missing = f"store {store_id} at {driver.url} has no backup {backup_id!r}"
    try:
        info = find_snapshot(root, backup_id, store_id)
    except UsageError as exc:
        if not store_missing:
            raise
        known = list_backups(driver, store_id, root, limit=5) if driver is not None else []
        hint = (
            f" Known backups: {', '.join(b.id for b in known)}"
            if known
            else " There are no backups yet."
        )
        raise UsageError(f"{store_missing}, nor {display_path(str(root))}.{hint}") from exc
    doc = load_snapshot(info)
    if "sha256" in doc and "id" in doc:  # a --backup-dir copy: its state hash too
        verify_store_snapshot(doc)
    [backup] = [b for b in file_backups(root, info.store_id) if b.id == info.id]
    return backup, doc
