"""The value types of a live store, shared by the storage engine, both drivers and the
server: what a store is (`StoreInfo`), who holds its apply lock (`LockInfo`), what is
known of a token (`TokenInfo`), its history (`SnapshotMeta`, `ApplyRecord`,
`DriftItem`), and the writes of a batch (`WriteOp`, `WriteResult`). A live resource
is `model.LiveResource` everywhere.

Plain data with their JSON forms; nothing here reads a database or the network.
`from_json` builds a record from a store's answer and raises ValueError (or KeyError,
TypeError) when the answer is not what a store sends.
"""

from __future__ import annotations

import calendar
import re
import time
from dataclasses import dataclass
from typing import Any

from ..clock import utc_iso
from ..errors import StoreError
from ..model import KIND_RANK, LiveResource, spec_hash, split_address

#: the form of every timestamp in a record (what `clock.utc_iso` writes)
_ISO = "%Y-%m-%dT%H:%M:%SZ"

CHANGE_KEYS = ("create", "update", "delete", "replace")
DRIFT_KINDS = ("changed", "created", "deleted")
#: the address of the store settings in drift (they are no resource: no KIND.ID)
SETTINGS_DRIFT = "settings"
#: the members of a snapshot its sha256 is over
STATE_KEYS = ("store", "settings", "settings_revision", "resources")
#: snapshot IDs: UTC time and store revision (they name local copies: nothing else passes)
SNAPSHOT_ID = re.compile(r"^\d{8}T\d{6}Z-r\d+(?:-\d+)?$")
#: a resource address as the store API writes one (KIND.ID)
ADDRESS = re.compile(r"^[a-z_]+\.[a-z0-9][a-z0-9._-]{0,62}$")


def default_settings(store_id: str) -> dict[str, Any]:
    """Settings of a store nobody has configured yet."""
    return {
        "id": store_id,
        "name": store_id,
        "currency": "USD",
        "locales": ["en-US"],
        "prices_include_tax": False,
    }


def iso(ts: float | None) -> str | None:
    """A stored time as a record shows it; None stays None."""
    return None if ts is None else utc_iso(ts)


def from_iso(text: Any) -> float:
    """A record's time as seconds since the epoch; 0 when it is not one."""
    if not isinstance(text, str):
        return 0.0
    try:
        return float(calendar.timegm(time.strptime(text, _ISO)))
    except ValueError:
        return 0.0


def state_sha256(doc: dict[str, Any]) -> str:
    """The sha256 of a snapshot: over the canonical JSON of its state members."""
    return spec_hash({key: doc.get(key) for key in STATE_KEYS})


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
            "acquired_at": utc_iso(self.acquired_at),
            "expires_at": utc_iso(self.expires_at),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LockInfo:
        return cls(
            str(data["lock_id"]),
            dict(data.get("owner") or {}),
            from_iso(data.get("acquired_at")),
            from_iso(data.get("expires_at")),
        )

    def describe(self) -> str:
        o = self.owner
        who = f"{o.get('user', '?')}@{o.get('host', '?')}"
        if o.get("pid"):
            who += f" (pid {o['pid']})"
        return (
            f"lock {self.lock_id} held by {who} since {utc_iso(self.acquired_at)}, "
            f"expires {utc_iso(self.expires_at)}"
        )


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
            "created_at": utc_iso(self.created_at),
            "last_used_at": utc_iso(self.last_used_at) if self.last_used_at else None,
        }


@dataclass(slots=True)
class SnapshotMeta:
    id: str
    created_at: str
    revision: int
    resource_count: int
    sha256: str
    reason: str
    apply_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at,
            "revision": self.revision,
            "resource_count": self.resource_count,
            "sha256": self.sha256,
            "reason": self.reason,
            "apply_id": self.apply_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SnapshotMeta:
        """From a store's answer; ValueError when it is not what a store sends."""
        apply_id = data.get("apply_id")
        if not SNAPSHOT_ID.fullmatch(str(data["id"])):
            raise ValueError(f"not a snapshot ID: {data['id']!r}")
        return cls(
            str(data["id"]),
            str(data["created_at"]),
            int(data["revision"]),
            int(data["resource_count"]),
            str(data["sha256"]),
            str(data.get("reason") or ""),
            None if apply_id is None else str(apply_id),
        )


@dataclass(slots=True)
class ApplyRecord:
    id: str
    started_at: str
    finished_at: str | None
    status: str
    plan_id: str | None
    changes: dict[str, int]
    writes_done: int
    writes_total: int
    source: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "status": self.status,
            "plan_id": self.plan_id,
            "changes": dict(self.changes),
            "writes_done": self.writes_done,
            "writes_total": self.writes_total,
            "source": dict(self.source),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ApplyRecord:
        changes = data.get("changes") or {}
        finished = data.get("finished_at")
        plan_id = data.get("plan_id")
        return cls(
            str(data["id"]),
            str(data["started_at"]),
            None if finished is None else str(finished),
            str(data["status"]),
            None if plan_id is None else str(plan_id),
            {k: int(changes.get(k) or 0) for k in CHANGE_KEYS},
            int(data.get("writes_done") or 0),
            int(data.get("writes_total") or 0),
            dict(data.get("source") or {}),
        )


@dataclass(slots=True)
class DriftItem:
    """A resource changed outside storecfg: `kind` is changed, created or deleted;
    `revision` and `changed_at` say when (for a delete: the store revision it made).
    The store settings changed outside storecfg are the item `settings` (changed)."""

    address: str
    kind: str
    revision: int | None
    changed_at: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "kind": self.kind,
            "revision": self.revision,
            "changed_at": self.changed_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DriftItem:
        """From a store's answer; ValueError when it is not what a store sends."""
        revision = data.get("revision")
        changed = data.get("changed_at")
        address = str(data["address"])
        kind, _ = split_address(address)
        if address == SETTINGS_DRIFT:
            if data["kind"] != "changed":
                raise ValueError(f"settings cannot be {data['kind']!r}")
        elif not ADDRESS.fullmatch(address) or kind not in KIND_RANK:
            raise ValueError(f"not a resource address: {address!r}")
        if data["kind"] not in DRIFT_KINDS:
            raise ValueError(f"not a kind of drift: {data['kind']!r}")
        return cls(
            str(data["address"]),
            str(data["kind"]),
            None if revision is None else int(revision),
            None if changed is None else str(changed),
        )


@dataclass(slots=True)
class WriteOp:
    """One write of a batch: a put (create or update) or a delete."""

    action: str  # "put" | "delete"
    kind: str
    id: str
    spec: dict[str, Any] | None = None
    if_match: int | None = None
    create: bool = False
    idempotency_key: str | None = None
    #: consecutive writes with the same group are all or nothing (a replace's two)
    group: str | None = None
    #: the definition file the resource comes from (recorded by the store)
    source: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"op": self.action, "kind": self.kind, "id": self.id}
        if self.action == "put":
            out["spec"] = self.spec
            if self.source is not None:
                out["source"] = self.source
        if self.create:
            out["if_none_match"] = "*"
        elif self.if_match is not None:
            out["if_match"] = str(self.if_match)
        if self.idempotency_key:
            out["idempotency_key"] = self.idempotency_key
        if self.group:
            out["group"] = self.group
        return out


@dataclass(slots=True)
class WriteResult:
    """What became of one write: an item (put: id, revision and hash; the spec is not
    sent back), nothing (delete), or an error. `status` 0 means the write was not
    attempted because an earlier one failed."""

    status: int
    item: LiveResource | None = None
    error: StoreError | None = None
