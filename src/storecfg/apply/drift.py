"""Drift: resources changed outside storecfg since it last wrote them.

The store remembers the spec hash of every resource as storecfg last wrote it. A
resource whose hash differs now was `changed`, one that storecfg never wrote was
`created`, one that storecfg wrote and is gone was `deleted` — by somebody else (the
control panel, a script with the API). The store settings, likewise remembered, are the
item `settings` (`changed`) when somebody else wrote them; they come first, as in a plan. `find_drift` lists them with the live spec of
each, for whatever needs to look at the values (`plan` shows the list; taking the
values back into the definition builds on the specs).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..model import KIND_RANK, LiveState, spec_hash, split_address
from ..store.driver import HistoryUnsupported, StoreDriver
from ..store.records import SETTINGS_DRIFT, DriftItem
from .plandoc import DriftEntry, Plan

CHANGED, CREATED, DELETED = "changed", "created", "deleted"
#: past this many specs to fetch one by one, one whole read is cheaper
_FETCH_ONE_BY_ONE = 300


@dataclass
class Drift:
    """One drifted resource. `revision` and `changed_at` say when it happened (for a
    delete: the store revision the delete made); `spec` is the live spec (None for a
    delete, or when it was not asked for)."""

    address: str
    kind: str  # changed | created | deleted
    revision: int | None
    changed_at: str | None
    spec: dict[str, Any] | None = None

    @property
    def resource_kind(self) -> str:
        return split_address(self.address)[0]

    @property
    def resource_id(self) -> str:
        return split_address(self.address)[1]

    def to_json(self) -> DriftEntry:
        """As plans and `storecfg drift --format json` show it."""
        return {
            "address": self.address,
            "kind": self.kind,
            "revision": self.revision,
            "changed_at": self.changed_at,
        }


def _order(address: str) -> tuple[int, str]:
    if address == SETTINGS_DRIFT:
        return -1, ""
    kind, rid = split_address(address)
    return KIND_RANK.get(kind, 99), rid


def read_drift(driver: StoreDriver, store_id: str) -> list[Drift] | None:
    """Every drifted resource of the store, in plan order (kinds in dependency order,
    then by ID), without specs; None when the store keeps no history."""
    items: list[DriftItem] = []
    token: str | None = None
    try:
        while True:
            page, token = driver.drift_page(store_id, page_token=token)
            items.extend(page)
            if not token:
                break
    except HistoryUnsupported:
        return None
    drift = [Drift(i.address, i.kind, i.revision, i.changed_at) for i in items]
    drift.sort(key=lambda d: _order(d.address))
    return drift


def find_drift(
    driver: StoreDriver,
    store_id: str,
    *,
    live: LiveState | None = None,
    addresses: Iterable[str] | None = None,
) -> list[Drift]:
    """Every drifted resource (only those of `addresses` when given) with its live spec.

    Specs come from `live` when it was read with them, else from the store. A store
    that keeps no history has no drift to tell: the list is empty.
    """
    drift = read_drift(driver, store_id) or []
    if addresses is not None:
        wanted = set(addresses)
        drift = [d for d in drift if d.address in wanted]
    for d in drift:
        if d.address == SETTINGS_DRIFT:
            d.spec = live.settings if live is not None else driver.store_info(store_id).settings
    present = [d for d in drift if d.kind != DELETED and d.address != SETTINGS_DRIFT]
    missing = []
    for d in present:
        res = _live(live, d.address)
        if res is not None and (res.spec or not res.hash):
            d.spec = res.spec
        else:
            missing.append(d)
    if len(missing) > _FETCH_ONE_BY_ONE:
        full = driver.read_all(store_id)
        for d in missing:
            res = _live(full, d.address)
            d.spec = res.spec if res is not None else None
    else:
        for d in missing:
            kind, rid = split_address(d.address)
            item = driver.get(store_id, kind, rid)
            d.spec = item.spec if item is not None else None
    return drift


def _live(live: LiveState | None, address: str) -> Any:
    if live is None:
        return None
    kind, rid = split_address(address)
    return live.resources.get(kind, {}).get(rid)


def acknowledgeable(plan: Plan, live: LiveState) -> list[dict[str, Any]]:
    """What an apply of `plan` may record as storecfg's own without writing it: the
    drifted resources (the plan's `drift`) that the definition now agrees with — the
    plan leaves them (or the settings) as they are, or does not name a deleted one at all. Items for
    `StoreDriver.acknowledge`."""
    actions = {c["address"]: c["action"] for c in plan["changes"]}
    out: list[dict[str, Any]] = []
    for d in plan.get("drift") or []:
        address, action = d["address"], actions.get(d["address"])
        if address == SETTINGS_DRIFT:
            if plan["settings"]["action"] == "no-op":
                out.append({"address": address, "hash": spec_hash(live.settings)})
        elif d["kind"] == DELETED:
            if action is None:
                out.append({"address": address, "hash": None})
        elif action == "no-op":
            res = _live(live, address)
            if res is not None:
                out.append({"address": address, "hash": res.spec_digest()})
    return out
