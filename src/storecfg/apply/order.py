"""The order of a plan's changes, and of an apply's writes: one place for both.

A plan lists deletes first, in reverse dependency order, then creates, updates and
replaces in dependency order (kinds as `model.KINDS` lists them; within a kind, a plan
comes after the plans it upgrades to and a category after its parent).

An apply runs them level by level, in an order that never leaves a reference dangling
(the store refuses such writes): a create comes before the writes that refer to it,
and the delete of a resource comes after every change that stops referring to it (an
update that drops the reference, the delete of what refers to it). Writes within a
level are independent and cut into batches; a replace is a delete and a create in
the same batch and one all-or-nothing group, so what refers to it never sees it
missing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Literal

from ..model import KIND_RANK, address
from ..spec.graph import dependencies, graph_levels, kind_levels
from ..store.records import WriteOp
from .plandoc import Change, Plan, Spec

#: writes per batch, and the text size (in characters) a batch aims to stay under
BATCH_SIZE = 100
BATCH_CHARS = 4 * 1024 * 1024

#: how a write is journaled: which part of its change it is
Phase = Literal["delete", "create", "update", "settings"]


def order_keys(
    specs_by_kind: Mapping[str, Mapping[str, Spec]], known: Mapping[str, int] | None = None
) -> dict[str, tuple[int, int, str]]:
    """address -> sort key (kind rank, level within kind, id). `known`: the levels of
    these very specs as `kind_levels` gives them (from the compile cache), if at hand."""
    levels = kind_levels(specs_by_kind) if known is None else known
    return {
        address(kind, rid): (KIND_RANK[kind], levels.get(address(kind, rid), 0), rid)
        for kind, specs in specs_by_kind.items()
        for rid in specs
    }


def plan_order(
    changes: list[Change],
    desired: Mapping[str, Mapping[str, Spec]],
    live: Mapping[str, Mapping[str, Spec]],
    desired_levels: Mapping[str, int] | None = None,
) -> list[Change]:
    """The plan's order: deletes first, in reverse dependency order among what the live
    store holds (`live`: specs by kind), then the rest in dependency order among what
    the definition holds (`desired`; `desired_levels`: its `kind_levels`, if known)."""
    deletes = [c for c in changes if c["action"] == "delete"]
    rest = [c for c in changes if c["action"] != "delete"]
    forward = order_keys(desired, desired_levels)
    # deletes are ordered among what the live store holds of the deleted kinds only
    gone_kinds = {c["kind"] for c in deletes}
    backward = order_keys({k: v for k, v in live.items() if k in gone_kinds})
    deletes.sort(key=lambda c: backward[c["address"]], reverse=True)
    rest.sort(key=lambda c: forward[c["address"]])
    return deletes + rest


def levels(changes: list[Change]) -> list[list[Change]]:
    """Group changes into levels that can run in parallel, in execution order.

    After every level (and every batch of one) the store's references all resolve:
    - a write comes after the creates, replaces and updates of what it refers to;
    - a delete comes after every change that stops referring to what it deletes
      (updates and replaces that drop the reference, deletes of the referrers).
    A replace deletes and creates again in one batch, so what keeps referring to it
    never sees it missing.
    """
    action = {c["address"]: c["action"] for c in changes}
    deps: dict[str, list[str]] = {a: [] for a in action}
    for c in changes:
        addr, kind = c["address"], c["kind"]
        after = set(dependencies(kind, c["after"] or {})) if c["action"] != "delete" else set()
        for target in after:  # (updates too: what a write names is written first)
            if target != addr and action.get(target) in ("create", "update", "replace"):
                deps[addr].append(target)
        if c["action"] in ("update", "replace", "delete"):
            for target in set(dependencies(kind, c["before"] or {})) - after:
                if target != addr and action.get(target) == "delete":
                    deps[target].append(addr)
    level = graph_levels(deps)
    groups: dict[int, list[Change]] = {}
    for c in changes:  # keep plan order inside a level
        groups.setdefault(level[c["address"]], []).append(c)
    return [groups[k] for k in sorted(groups)]


def _text_size(value: Any) -> int:
    """About how many characters a spec serializes to (strings dominate)."""
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, dict):
        return sum(len(k) + 4 + _text_size(v) for k, v in value.items()) + 2
    if isinstance(value, list):
        return sum(_text_size(v) + 1 for v in value) + 2
    return 8


#: kinds whose resources can hold long texts (terms bodies, custom CSS)
_LONG_TEXT_KINDS = frozenset({"terms", "customization", "service_plans"})


def batches(group: list[Change], size: int = BATCH_SIZE) -> list[list[Change]]:
    """A level's changes cut into batches of at most `size` writes and ~BATCH_CHARS."""
    out: list[list[Change]] = []
    current: list[Change] = []
    writes = chars = 0
    for change in group:
        n = 2 if change["action"] == "replace" else 1
        weight = _text_size(change.get("after")) if change["kind"] in _LONG_TEXT_KINDS else 0
        if current and (writes + n > size or chars + weight > BATCH_CHARS):
            out.append(current)
            current, writes, chars = [], 0, 0
        current.append(change)
        writes += n
        chars += weight
    if current:
        out.append(current)
    return out


def idempotency_key(plan_id: str, address: str, phase: Phase) -> str:
    """The same for every attempt at one write of one plan, and for no other write."""
    return "storecfg-" + hashlib.sha256(f"{plan_id}:{address}:{phase}".encode()).hexdigest()[:40]


def change_writes(plan_id: str, change: Change) -> list[tuple[Phase, WriteOp]]:
    """The writes one change needs, each with its journal phase: a replace is a
    delete then a create, in the same batch and one group (all or nothing)."""
    address, action, kind, rid = change["address"], change["action"], change["kind"], change["id"]
    group = address if action == "replace" else None
    source = change.get("file")
    out: list[tuple[Phase, WriteOp]] = []
    if action in ("delete", "replace"):
        key = idempotency_key(plan_id, address, "delete")
        op = WriteOp(
            "delete", kind, rid, if_match=change["revision"], idempotency_key=key, group=group
        )
        out.append(("delete", op))
    if action in ("create", "replace"):
        key = idempotency_key(plan_id, address, "create")
        op = WriteOp(
            "put",
            kind,
            rid,
            change["after"],
            create=True,
            idempotency_key=key,
            group=group,
            source=source,
        )
        out.append(("create", op))
    elif action == "update":
        key = idempotency_key(plan_id, address, "update")
        op = WriteOp(
            "put",
            kind,
            rid,
            change["after"],
            if_match=change["revision"],
            idempotency_key=key,
            source=source,
        )
        out.append(("update", op))
    return out


#: store writes per action (a replace is a delete and a create)
_WRITES = {"create": 1, "update": 1, "delete": 1, "replace": 2}


def writes_of(plan: Plan) -> int:
    """How many store writes a plan takes (a replace is a delete and a create)."""
    total = sum(_WRITES.get(c["action"], 0) for c in plan["changes"])
    return total + (1 if plan["settings"]["action"] != "no-op" else 0)
