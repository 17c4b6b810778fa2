"""Drift in plans, as data: what a plan lists, what an apply may acknowledge, and what
is never anybody's drift (resources policy.unmanaged leaves alone)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from storecfg.apply.drift import acknowledgeable
from storecfg.apply.plan import PlanOptions, make_plan
from storecfg.model import DesiredState

from .stores import base_desired, live_of


def item(address: str, kind: str, revision: int | None = 7) -> dict[str, Any]:
    return {"address": address, "kind": kind, "revision": revision, "changed_at": None}


def test_drift_is_carried_but_changes_nothing(tmp_path: Path) -> None:
    desired = base_desired(tmp_path)
    live = live_of(desired)
    drift = [item("service_plans.pro", "changed"), item("skus.gone", "deleted")]
    plan = make_plan(desired, live, store_url="x", drift=copy.deepcopy(drift))
    assert plan["drift"] == drift
    assert not plan["has_changes"]
    assert make_plan(desired, live, store_url="x")["drift"] == []


def test_unmanaged_resources_are_not_drift(tmp_path: Path) -> None:
    desired = base_desired(tmp_path)
    desired = DesiredState(
        desired.store,
        desired.resources,
        policy={"unmanaged": ["payment_methods.interac-*", "terms"]},
    )
    drift = [
        item("payment_methods.interac-ca", "created"),
        item("payment_methods.card", "changed"),
        item("terms.tos", "deleted"),
    ]
    plan = make_plan(desired, live_of(desired), store_url="x", drift=drift, options=PlanOptions())
    assert [d["address"] for d in plan["drift"]] == ["payment_methods.card"]


def test_what_an_apply_acknowledges(tmp_path: Path) -> None:
    desired = base_desired(tmp_path)
    live = live_of(desired)
    changed = copy.deepcopy(desired)
    changed.resources["service_plans"]["basic"]["name"] = "Basic Plus"
    drift = [
        item("service_plans.pro", "changed"),  # the definition has it as it is: no-op
        item("service_plans.basic", "changed"),  # the plan changes it back: a write
        item("skus.gone", "deleted"),  # the definition does not name it any more
        item("skus.sku-basic", "deleted"),  # still named (so the plan would create it)
    ]
    plan = make_plan(changed, live, store_url="x", drift=drift)
    plan["changes"] = [c for c in plan["changes"] if c["address"] != "skus.sku-basic"] + [
        {"address": "skus.sku-basic", "action": "create"}
    ]
    pro = live.resources["service_plans"]["pro"]
    assert acknowledgeable(plan, live) == [
        {"address": "service_plans.pro", "hash": pro.spec_digest()},
        {"address": "skus.gone", "hash": None},
    ]
