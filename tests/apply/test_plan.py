"""Plans: actions, order, lifecycle rules, --max-deletes, plan files, staleness, impact."""

from __future__ import annotations

import copy
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storecfg.apply import plan as plan_mod
from storecfg.apply import planfile
from storecfg.apply.order import levels
from storecfg.apply.plandoc import FORMAT_VERSION
from storecfg.apply.planfile import check_plan_document, read_plan, stale_details, write_plan
from storecfg.errors import PlanError, UsageError
from storecfg.model import KIND_RANK, KINDS, DesiredState, LiveResource, LiveState, split_address
from storecfg.spec.fields import kind_info
from storecfg.views.text import render_plan as render_text

from .stores import STORE_ID, actions, base_desired, change, live_of, plan_of

# ------------------------------------------------------------------ actions


def test_everything_is_created_in_an_empty_store(tmp_path: Path) -> None:
    desired = base_desired(tmp_path)
    plan = plan_of(desired, live_of(None, revision=0))
    assert {c["action"] for c in plan["changes"]} == {"create"}
    assert len(plan["changes"]) == desired.count() == 20
    assert plan["summary"] == {"create": 20, "update": 0, "replace": 0, "delete": 0, "no-op": 0}
    assert plan["has_changes"] is True
    first = plan["changes"][0]
    assert first["before"] is None and first["revision"] is None
    assert first["after"] == desired.resources["skus"]["sku-basic"]
    # a fresh store has default settings: the definition's name, currency, ... are an update
    assert plan["settings"]["action"] == "update"


def test_a_matching_store_is_all_no_op(tmp_path: Path) -> None:
    desired = base_desired(tmp_path)
    plan = plan_of(desired, live_of(desired))
    assert actions(plan) == {}
    assert plan["has_changes"] is False
    assert plan["summary"]["no-op"] == 20
    assert plan["settings"]["action"] == "no-op"
    assert plan["impact"] == []


def test_an_edit_is_one_update_with_old_and_new(tmp_path: Path) -> None:
    live = live_of(base_desired(tmp_path))
    desired = base_desired(tmp_path)
    desired.resources["service_plans"]["pro"]["price"]["recurring"] = "44.00"
    plan = plan_of(desired, live)
    assert actions(plan) == {"service_plans.pro": "update"}
    c = change(plan, "service_plans.pro")
    assert c["revision"] == live.resources["service_plans"]["pro"].revision
    assert c["before"]["price"]["recurring"] == "40.00"
    assert c["after"]["price"]["recurring"] == "44.00"
    assert c["diff"] == [
        {
            "op": "change",
            "path": "price.recurring",
            "old": "40.00",
            "new": "44.00",
            "effective": "immediately",
        }
    ]


def test_a_resource_left_out_is_deleted(tmp_path: Path) -> None:
    live = live_of(base_desired(tmp_path))
    desired = base_desired(tmp_path)
    del desired.resources["payment_methods"]["card"]
    plan = plan_of(desired, live)
    assert actions(plan) == {"payment_methods.card": "delete"}
    c = change(plan, "payment_methods.card")
    assert c["after"] is None and c["before"]["type"] == "credit_card"
    assert c["revision"] == live.resources["payment_methods"]["card"].revision


REPLACE_FIELDS = [
    ("skus", "sku-basic", "vendor", "Fabrikam"),
    ("skus", "sku-basic", "source", "distributor"),
    ("service_plans", "basic", "sku", "sku-pro"),
    ("screens", "more", "type", "sales_categories"),
    ("sales_categories", "extras", "type", "services"),
    ("tax_rules", "us-ca", "region", "US-NY"),
    ("payment_methods", "card", "type", "debit_card"),
]


def test_the_schema_marks_exactly_these_fields_as_forcing_replacement() -> None:
    marked = {(k, ".".join(p)) for k in KINDS for p in kind_info(k).replace_paths}
    assert marked == {(k, f) for k, _, f, _ in REPLACE_FIELDS}


@pytest.mark.parametrize(("kind", "rid", "field", "value"), REPLACE_FIELDS)
def test_a_field_marked_x_storecfg_replace_forces_a_replace(
    tmp_path: Path, kind: str, rid: str, field: str, value: str
) -> None:
    live = live_of(base_desired(tmp_path))
    desired = base_desired(tmp_path)
    desired.resources[kind][rid][field] = value
    desired.resources[kind][rid]["name" if kind != "screens" else "title"] = "Renamed"
    plan = plan_of(desired, live)
    addr = f"{kind}.{rid}"
    assert actions(plan) == {addr: "replace"}
    c = change(plan, addr)
    assert c["replace_reasons"] == [field]
    assert {
        "op": "change",
        "path": field,
        "old": live.resources[kind][rid].spec[field],
        "new": value,
    } in c["diff"]
    assert plan["summary"]["replace"] == 1
    assert [i["type"] for i in plan["impact"] if i["risk"] == "high"][:1] == ["replace"]


def test_other_fields_change_in_place(tmp_path: Path) -> None:
    live = live_of(base_desired(tmp_path))
    desired = base_desired(tmp_path)
    desired.resources["skus"]["sku-basic"]["name"] = "Basic 2"
    desired.resources["tax_rules"]["us-ca"]["rate"] = "8.25"
    plan = plan_of(desired, live)
    assert actions(plan) == {"skus.sku-basic": "update", "tax_rules.us-ca": "update"}
    assert "replace_reasons" not in change(plan, "skus.sku-basic")


# ------------------------------------------------------------------ order


def _references(kind: str, spec: dict[str, Any]) -> set[str]:
    """Every address a spec refers to, read from the schemas' x-storecfg-ref paths."""
    out: set[str] = set()

    def walk(node: Any, rest: tuple[str, ...], target: str) -> None:
        if not rest:
            if isinstance(node, str):
                out.add(f"{target}.{node}")
            return
        if rest[0] == "*":
            for item in node if isinstance(node, list) else []:
                walk(item, rest[1:], target)
        elif isinstance(node, dict) and rest[0] in node:
            walk(node[rest[0]], rest[1:], target)

    for path, target in kind_info(kind).ref_paths:
        walk(spec, tuple(path), target)
    return out


def _assert_dependency_order(
    sequence: list[dict[str, Any]], spec_key: str, *, forward: bool
) -> None:
    position = {c["address"]: n for n, c in enumerate(sequence)}
    for c in sequence:
        for ref in _references(c["kind"], c[spec_key] or {}):
            if ref in position and ref != c["address"]:
                if forward:
                    assert position[ref] < position[c["address"]], f"{ref} after {c['address']}"
                else:
                    assert position[ref] > position[c["address"]], f"{ref} before {c['address']}"


def test_creates_come_after_what_they_refer_to(tmp_path: Path) -> None:
    plan = plan_of(base_desired(tmp_path), live_of(None, revision=0))
    order = [c["address"] for c in plan["changes"]]
    ranks = [KIND_RANK[split_address(a)[0]] for a in order]
    assert ranks == sorted(ranks), "kinds in model.KINDS order"
    _assert_dependency_order(plan["changes"], "after", forward=True)
    # upgrades_to targets first, parents before children, even against alphabetical order
    assert order.index("service_plans.enterprise") < order.index("service_plans.pro")
    assert order.index("service_plans.pro") < order.index("service_plans.basic")
    assert order.index("sales_categories.catalog") < order.index("sales_categories.apps")
    # and the writes execute in that order too (levels run one after another)
    flat = [c for level in levels(plan["changes"]) for c in level]
    assert sorted(c["address"] for c in flat) == sorted(order)
    _assert_dependency_order(flat, "after", forward=True)


def test_deletes_come_first_in_reverse_dependency_order(tmp_path: Path) -> None:
    live = live_of(base_desired(tmp_path))
    desired = base_desired(tmp_path)
    # keep skus and one plan; delete the rest of the catalog and the storefront
    keep = {
        "skus": desired.resources["skus"],
        "service_plans": {"enterprise": desired.resources["service_plans"]["enterprise"]},
    }
    desired.resources = copy.deepcopy(keep)
    desired.resources["skus"]["sku-new"] = {**desired.resources["skus"]["sku-pro"], "id": "sku-new"}
    plan = plan_of(desired, live)
    order = [c["action"] for c in plan["changes"] if c["action"] != "no-op"]
    assert order == ["delete"] * 17 + ["create"]
    deletes = [c for c in plan["changes"] if c["action"] == "delete"]
    ranks = [KIND_RANK[c["kind"]] for c in deletes]
    assert ranks == sorted(ranks, reverse=True)
    addrs = [c["address"] for c in deletes]
    assert addrs.index("service_plans.basic") < addrs.index("service_plans.pro")
    assert addrs.index("sales_categories.apps") < addrs.index("sales_categories.catalog")
    _assert_dependency_order(deletes, "before", forward=False)
    # execution needs no more than that: the create depends on nothing, so it may run
    # beside the first deletes
    work = [c for c in plan["changes"] if c["action"] != "no-op"]
    flat = [c for level in levels(work) for c in level]
    assert sorted(c["action"] for c in flat) == ["create"] + ["delete"] * 17
    _assert_dependency_order([c for c in flat if c["action"] == "delete"], "before", forward=False)


# ------------------------------------------------------------------ lifecycle


def test_ignore_changes_hides_an_out_of_band_edit(tmp_path: Path) -> None:
    desired = base_desired(tmp_path)
    desired.resources["service_plans"]["pro"]["lifecycle"] = {
        "ignore_changes": ["price.recurring", "resources.users.max"]
    }
    desired.resources["service_plans"]["basic"]["lifecycle"] = {
        "ignore_changes": ["resources.users.max", "description"]
    }
    live = live_of(desired)
    # somebody edits the live store in the control panel
    live.resources["service_plans"]["pro"].spec["price"]["recurring"] = "45.00"
    basic = live.resources["service_plans"]["basic"].spec
    basic["resources"][0]["max"] = 999
    basic["description"] = "Set in the control panel"
    plan = plan_of(desired, live)
    assert actions(plan) == {}
    # a real change elsewhere in the resource keeps the live value of the ignored field
    desired.resources["service_plans"]["pro"]["name"] = "Pro 2"
    desired.resources["service_plans"]["basic"]["name"] = "Basic 2"
    plan = plan_of(desired, live)
    assert actions(plan) == {"service_plans.pro": "update", "service_plans.basic": "update"}
    pro = change(plan, "service_plans.pro")
    assert pro["after"]["price"]["recurring"] == "45.00"
    assert pro["diff"] == [{"op": "change", "path": "name", "old": "Pro", "new": "Pro 2"}]
    basic_change = change(plan, "service_plans.basic")
    assert basic_change["after"]["resources"][0]["max"] == 999
    assert basic_change["after"]["description"] == "Set in the control panel"
    assert basic_change["diff"] == [
        {"op": "change", "path": "name", "old": "Basic", "new": "Basic 2"}
    ]
    # a restore puts everything back, ignored fields included
    restore = plan_of(desired, live, ignore_changes=False)
    assert change(restore, "service_plans.pro")["after"]["price"]["recurring"] == "40.00"


def _protected(tmp_path: Path) -> tuple[Any, LiveState]:
    desired = base_desired(tmp_path)
    desired.resources["tax_rules"]["us-ca"]["lifecycle"] = {"prevent_destroy": True}
    return desired, live_of(desired)


def test_prevent_destroy_blocks_a_delete(tmp_path: Path) -> None:
    desired, live = _protected(tmp_path)
    del desired.resources["tax_rules"]["us-ca"]
    with pytest.raises(PlanError) as err:
        plan_of(desired, live)
    assert "tax_rules.us-ca (delete)" in err.value.message
    assert "prevent_destroy" in err.value.message
    assert "prevent_destroy: false" in (err.value.hint or "")


def test_prevent_destroy_blocks_a_replace(tmp_path: Path) -> None:
    desired, live = _protected(tmp_path)
    desired.resources["tax_rules"]["us-ca"]["region"] = "US-NY"
    with pytest.raises(PlanError) as err:
        plan_of(desired, live)
    assert "tax_rules.us-ca (replace: region changed)" in err.value.message


def test_prevent_destroy_outlives_the_lifecycle_block(tmp_path: Path) -> None:
    desired, live = _protected(tmp_path)
    # the block is removed from the YAML: the live spec keeps the protection
    del desired.resources["tax_rules"]["us-ca"]["lifecycle"]
    plan = plan_of(desired, live)
    assert actions(plan) == {}
    desired.resources["tax_rules"]["us-ca"]["name"] = "California"
    plan = plan_of(desired, live)
    update = change(plan, "tax_rules.us-ca")
    assert update["action"] == "update"
    assert update["after"]["lifecycle"] == {"prevent_destroy": True}
    assert update["diff"] == [{"op": "add", "path": "name", "new": "California"}]
    # after that update is applied, deleting is still refused
    live.resources["tax_rules"]["us-ca"] = LiveResource(update["after"], 200)
    gone = copy.deepcopy(desired)
    del gone.resources["tax_rules"]["us-ca"]
    with pytest.raises(PlanError, match=r"tax_rules\.us-ca \(delete\)"):
        plan_of(gone, live)
    # `prevent_destroy: false` is applied first ...
    desired.resources["tax_rules"]["us-ca"]["lifecycle"] = {"prevent_destroy": False}
    plan = plan_of(desired, live)
    unprotect = change(plan, "tax_rules.us-ca")
    assert unprotect["diff"] == [
        {"op": "change", "path": "lifecycle.prevent_destroy", "old": True, "new": False}
    ]
    # ... but in the same plan it does not allow the delete yet
    replaced = copy.deepcopy(desired)
    replaced.resources["tax_rules"]["us-ca"]["region"] = "US-NY"
    with pytest.raises(PlanError):
        plan_of(replaced, live)
    live.resources["tax_rules"]["us-ca"] = LiveResource(unprotect["after"], 201)
    # then the delete goes through
    assert actions(plan_of(gone, live)) == {"tax_rules.us-ca": "delete"}


def test_prevent_destroy_set_only_in_the_definition_blocks_a_replace(tmp_path: Path) -> None:
    desired = base_desired(tmp_path)
    live = live_of(desired)
    desired.resources["payment_methods"]["card"]["type"] = "debit_card"
    desired.resources["payment_methods"]["card"]["lifecycle"] = {"prevent_destroy": True}
    with pytest.raises(PlanError, match=r"payment_methods\.card \(replace: type changed\)"):
        plan_of(desired, live)


def test_max_deletes(tmp_path: Path) -> None:
    live = live_of(base_desired(tmp_path))
    desired = base_desired(tmp_path)
    del desired.resources["payment_methods"]["card"]
    desired.resources["skus"]["sku-basic"]["vendor"] = "Fabrikam"  # a replace counts too
    with pytest.raises(PlanError) as err:
        plan_of(desired, live, max_deletes=1)
    assert "deletes or replaces 2 resources, more than --max-deletes 1" in err.value.message
    assert "payment_methods.card" in err.value.message and "skus.sku-basic" in err.value.message
    assert plan_of(desired, live, max_deletes=2)["summary"]["delete"] == 1
    assert actions(plan_of(base_desired(tmp_path), live, max_deletes=0)) == {}


# ------------------------------------------------------------------ plan files


def test_plan_document_fields(tmp_path: Path) -> None:
    desired = base_desired(tmp_path)
    live = live_of(desired, revision=77, settings_revision=5)
    desired.resources["service_plans"]["pro"]["price"]["recurring"] = "44.00"
    plan = plan_of(desired, live)
    assert plan["format_version"] == FORMAT_VERSION == 1
    assert plan["store"] == {
        "id": STORE_ID,
        "url": "sqlite:///test.db",
        "revision": 77,
        "name": "Test Store",
        "currency": "USD",
    }
    pro = next(c for c in plan["changes"] if c["address"] == "service_plans.pro")
    assert pro["name"] == "Pro"
    [price] = [i for i in plan["impact"] if i["type"] == "price"]
    assert {k: price[k] for k in ("name", "currency", "fee", "period", "addon", "unit")} == {
        "name": "Pro",
        "currency": "USD",
        "fee": "recurring",
        "period": {"length": 1, "unit": "month"},
        "addon": None,
        "unit": None,
    }
    assert plan["settings_revision"] == 5
    assert plan["desired_state_hash"] == desired.hash()
    assert plan["desired_state_hash"].startswith("sha256:")
    assert plan["live_revisions"] == live.revisions()
    assert (
        plan["live_revisions"]["service_plans.pro"]
        == live.resources["service_plans"]["pro"].revision
    )
    assert len(plan["live_revisions"]) == 20
    assert [c["address"] for c in plan["changes"]][:3] == [
        "skus.sku-basic",
        "skus.sku-pro",
        "resource_categories.seats",
    ]
    assert check_plan_document(plan) is None
    json.dumps(plan)  # JSON-ready


def test_write_plan_is_private_and_round_trips(tmp_path: Path) -> None:
    desired = base_desired(tmp_path)
    plan = plan_of(desired, live_of(None, revision=0))
    path = tmp_path / "out" / "plan.json"
    write_plan(path, plan)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_plan(path) == plan
    assert sorted(p.name for p in path.parent.iterdir()) == ["plan.json"]


def test_write_plan_replaces_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "plan.json"
    first = plan_of(base_desired(tmp_path), live_of(None, revision=0))
    write_plan(path, first)
    before = path.read_bytes()

    def fail(*_: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError):
        write_plan(path, {**first, "plan_id": "other"})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["plan.json"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not a storecfg plan file"),
        ("[]", "expected a JSON object"),
        ('{"format_version": 99}', "format_version 99 is not supported"),
        ('{"format_version": 1, "plan_id": "x"}', "missing 'store'"),
    ],
)
def test_read_plan_refuses_other_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "plan.json"
    path.write_text(content)
    with pytest.raises(UsageError, match=message):
        read_plan(path)
    with pytest.raises(UsageError, match="no such plan file"):
        read_plan(tmp_path / "missing.json")


def test_stale_details_name_what_changed(tmp_path: Path) -> None:
    desired = base_desired(tmp_path)
    live = live_of(desired)
    plan = plan_of(desired, live)
    assert stale_details(plan, live) == []
    later = copy.deepcopy(live)
    later.revision += 4
    later.resources["service_plans"]["pro"].revision = 101
    del later.resources["payment_methods"]["card"]
    later.resources["skus"]["sku-new"] = LiveResource({"id": "sku-new"}, 102)
    later.settings_revision = 103
    card_rev = live.resources["payment_methods"]["card"].revision
    pro_rev = live.resources["service_plans"]["pro"].revision
    assert stale_details(plan, later) == [
        "skus.sku-new was created (revision 102)",
        f"service_plans.pro changed (revision {pro_rev} -> 101)",
        f"payment_methods.card was deleted (it was at revision {card_rev})",
        "store settings changed (revision 1 -> 103)",
    ]


# ------------------------------------------------------------------ impact


def _impact(plan: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [i for i in plan["impact"] if i["type"] == kind]


def test_impact_of_price_changes(tmp_path: Path) -> None:
    live = live_of(base_desired(tmp_path))
    desired = base_desired(tmp_path)
    plans = desired.resources["service_plans"]
    plans["pro"]["price"]["recurring"] = "44.00"  # +10%
    plans["enterprise"]["price"]["recurring"] = "787.50"  # -12.5%
    plans["enterprise"]["price"]["setup"] = "0.00"  # -100%
    plans["basic"]["resources"][0]["price"]["recurring"] = "5.49"  # +9.8%
    prices = {
        (i["address"], i["field"]): (i["old"], i["new"], i["change"], i["message"])
        for i in _impact(plan_of(desired, live), "price")
    }
    assert prices == {
        ("service_plans.pro", "price.recurring"): (
            "40.00",
            "44.00",
            "+10.0%",
            "service_plans.pro recurring price 40.00 -> 44.00 (+10.0%), takes effect immediately",
        ),
        ("service_plans.enterprise", "price.recurring"): (
            "900.00",
            "787.50",
            "-12.5%",
            "service_plans.enterprise recurring price 900.00 -> 787.50 (-12.5%), "
            "takes effect immediately",
        ),
        ("service_plans.enterprise", "price.setup"): (
            "100.00",
            "0.00",
            "-100.0%",
            "service_plans.enterprise setup price 100.00 -> 0.00 (-100.0%)",
        ),
        ("service_plans.basic", "resources[users].price.recurring"): (
            "5.00",
            "5.49",
            "+9.8%",
            "service_plans.basic add-on users recurring price 5.00 -> 5.49 (+9.8%)",
        ),
    }


def test_impact_of_a_new_charge(tmp_path: Path) -> None:
    live = live_of(base_desired(tmp_path))
    desired = base_desired(tmp_path)
    desired.resources["service_plans"]["pro"]["price"]["setup"] = "25.00"
    [item] = _impact(plan_of(desired, live), "price")
    assert item["message"] == "service_plans.pro setup price 0.00 -> 25.00 (new charge)"


def test_impact_of_tax_changes(tmp_path: Path) -> None:
    live = live_of(base_desired(tmp_path))
    desired = base_desired(tmp_path)
    desired.resources["tax_rules"]["us-ca"]["rate"] = "8.25"
    desired.resources["tax_rules"]["us-ny"] = {
        **desired.resources["tax_rules"]["us-ca"],
        "id": "us-ny",
        "region": "US-NY",
        "rate": "4",
    }
    plan = plan_of(desired, live)
    [rate] = _impact(plan, "tax_rate")
    assert (rate["old"], rate["new"], rate["change"]) == ("7.25", "8.25", "+1 percentage point")
    assert rate["message"] == "tax_rules.us-ca rate 7.25% -> 8.25% (+1 percentage point)"
    [added] = _impact(plan, "tax_rule")
    assert added["message"] == "tax_rules.us-ny: tax rule added (US-NY 4%)"
    desired.resources["tax_rules"]["us-ca"]["rate"] = "6.75"
    [rate] = _impact(plan_of(desired, live), "tax_rate")
    assert rate["change"] == "-0.5 percentage points"


def test_impact_of_unpublishing_and_removing_from_a_category(tmp_path: Path) -> None:
    live = live_of(base_desired(tmp_path))
    desired = base_desired(tmp_path)
    desired.resources["service_plans"]["pro"]["published"] = False
    desired.resources["sales_categories"]["apps"]["plans"] = ["basic", "enterprise"]
    plan = plan_of(desired, live)
    assert [i["message"] for i in _impact(plan, "unpublished")] == [
        "service_plans.pro is unpublished: customers can no longer buy it"
    ]
    [removed] = _impact(plan, "removed_from_category")
    assert removed["risk"] == "medium"
    assert removed["message"] == "service_plans.pro is removed from sales_categories.apps"


def test_impact_of_a_reordered_scenario(tmp_path: Path) -> None:
    live = live_of(base_desired(tmp_path))
    desired = base_desired(tmp_path)
    desired.resources["purchase_scenarios"]["standard"]["screens"] = [
        "choose",
        "more",
        "accept",
        "cart",
        "pay",
        "done",
    ]
    plan = plan_of(desired, live)
    assert change(plan, "purchase_scenarios.standard")["diff"] == [
        {"op": "move", "path": "screens", "item": "accept", "from": 4, "to": 3}
    ]
    [item] = _impact(plan, "scenario_order")
    assert item["message"] == (
        "purchase_scenarios.standard screen order: choose > more > cart > accept > pay > done"
        " -> choose > more > accept > cart > pay > done"
    )


def test_impact_lists_risky_items_first(tmp_path: Path) -> None:
    live = live_of(base_desired(tmp_path))
    desired = base_desired(tmp_path)
    desired.resources["sales_categories"]["apps"]["plans"] = ["basic", "pro"]
    desired.resources["service_plans"]["pro"]["price"]["recurring"] = "50.00"
    del desired.resources["payment_methods"]["card"]
    desired.store["currency"] = "EUR"
    plan = plan_of(desired, live)
    types = [i["type"] for i in plan["impact"]]
    assert types[-1] == "removed_from_category"
    assert set(types[:-1]) == {"delete", "currency", "price", "payment_method"}
    assert types[0] == "delete"
    [currency] = _impact(plan, "currency")
    assert currency["message"] == (
        "store currency changes USD -> EUR: every price is read in the new currency"
    )


def test_make_plan_refuses_nothing_when_told_so(tmp_path: Path) -> None:
    # `backup diff` shows a protected resource's deletion instead of refusing it
    desired, live = _protected(tmp_path)
    del desired.resources["tax_rules"]["us-ca"]
    plan = plan_mod.make_plan(
        desired, live, store_url="x", options=plan_mod.PlanOptions(prevent_destroy=False)
    )
    assert actions(plan) == {"tax_rules.us-ca": "delete"}


def test_plan_file_over_http_holds_no_token(tmp_path: Path) -> None:
    from support.server import running_server, storecfg

    from .stores import write_store

    write_store(tmp_path / "s")
    with running_server(tmp_path, stores=[STORE_ID]) as server:
        env = server.env(STORE_ID)
        token = env["STORECFG_TOKEN"]
        result = storecfg("plan", "s", "-o", "plan.json", "--format", "json", cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr
    path = tmp_path / "plan.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert token not in text and token not in result.stdout and token not in result.stderr
    assert token[4:20] not in text  # not even a part of it
    plan = json.loads(text)
    assert json.loads(result.stdout)["changes"] == plan["changes"]
    assert plan["store"] == {
        "id": STORE_ID,
        "url": server.url,
        "revision": plan["store"]["revision"],
        "name": "Test Store",
        "currency": "USD",
    }
    assert plan["summary"]["create"] == 20
    assert "Saved the plan to plan.json; apply it with: storecfg apply plan.json" in result.stderr


# ------------------------------------------------------------------ order, as a property


@st.composite
def store_pairs(draw: st.DrawFn) -> tuple[DesiredState, LiveState]:
    """A live store and a desired one over the same small, acyclic reference graph."""
    plan_ids = draw(st.permutations(["p1", "p2", "p3", "p4", "p5"]))  # a topological order
    cat_ids = draw(st.permutations(["c1", "c2", "c3", "c4"]))
    universe: dict[str, dict[str, Any]] = {
        "skus": {s: {"id": s, "vendor": "V"} for s in ("s1", "s2")},
        "service_plans": {},
        "sales_categories": {},
        "screens": {},
        "purchase_scenarios": {},
    }
    for n, pid in enumerate(plan_ids):
        later = plan_ids[n + 1 :]
        universe["service_plans"][pid] = {
            "id": pid,
            "sku": draw(st.sampled_from(["s1", "s2"])),
            "upgrades_to": draw(st.lists(st.sampled_from(later), unique=True)) if later else [],
        }
    for n, cid in enumerate(cat_ids):
        spec: dict[str, Any] = {
            "id": cid,
            "type": "services",
            "plans": draw(st.lists(st.sampled_from(plan_ids), unique=True)),
        }
        if n + 1 < len(cat_ids) and draw(st.booleans()):
            spec["parent"] = draw(st.sampled_from(cat_ids[n + 1 :]))
        universe["sales_categories"][cid] = spec
    for sid in ("x1", "x2", "x3"):
        universe["screens"][sid] = {
            "id": sid,
            "type": "sales_categories",
            "categories": draw(st.lists(st.sampled_from(cat_ids), unique=True)),
        }
    universe["purchase_scenarios"]["buy"] = {
        "id": "buy",
        "screens": draw(st.permutations(["x1", "x2", "x3"])),
    }

    def subset(edit: bool) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for kind, items in universe.items():
            for rid, spec in items.items():
                if draw(st.integers(0, 3)):
                    spec = copy.deepcopy(spec)
                    if edit and draw(st.booleans()):
                        spec["name"] = "changed"
                    if edit and kind == "skus" and draw(st.booleans()):
                        spec["vendor"] = "W"  # a replace
                    out.setdefault(kind, {})[rid] = spec
        return out

    live = LiveState(STORE_ID, 50, {"id": STORE_ID}, 1)
    for kind, items in subset(edit=False).items():
        live.resources[kind] = {rid: LiveResource(spec, 1) for rid, spec in items.items()}
    return DesiredState({"id": STORE_ID}, subset(edit=True)), live


@settings(max_examples=150, deadline=None)
@given(store_pairs())
def test_order_respects_references_for_any_store(pair: tuple[DesiredState, LiveState]) -> None:
    desired, live = pair
    plan = plan_of(desired, live)
    addresses = [c["address"] for c in plan["changes"]]
    assert len(addresses) == len(set(addresses))
    assert set(addresses) == {
        f"{k}.{r}"
        for k in KINDS
        for r in {*desired.resources.get(k, {}), *live.resources.get(k, {})}
    }
    work = [c for c in plan["changes"] if c["action"] != "no-op"]
    kinds_of = [c["action"] == "delete" for c in work]
    assert kinds_of == sorted(kinds_of, reverse=True), "the plan shows deletes first"
    for sequence in (work, [c for level in levels(work) for c in level]):
        deletes = [c for c in sequence if c["action"] == "delete"]
        writes = [c for c in sequence if c["action"] != "delete"]
        _assert_dependency_order(writes, "after", forward=True)
        _assert_dependency_order(deletes, "before", forward=False)
    _assert_levels_never_dangle(levels(work), live, desired)


def _dangling(state: dict[str, dict[str, Any]]) -> set[tuple[str, str]]:
    return {
        (addr, ref)
        for addr, spec in state.items()
        for ref in _references(addr.split(".")[0], spec)
        if ref not in state
    }


def _assert_levels_never_dangle(
    groups: list[list[dict[str, Any]]], live: LiveState, desired: DesiredState
) -> None:
    """Executed level by level (as the store sees it after each batch), no reference
    dangles that dangles neither before the apply nor after it."""
    state = {
        f"{k}.{r}": res.spec for k, items in live.resources.items() for r, res in items.items()
    }
    final = {
        f"{k}.{r}": spec for k, items in desired.resources.items() for r, spec in items.items()
    }
    allowed = _dangling(state) | _dangling(final)
    for group in groups:
        for c in group:
            if c["action"] == "delete":
                del state[c["address"]]
            else:
                state[c["address"]] = c["after"]
        assert _dangling(state) <= allowed, [c["address"] for c in group]


def test_an_update_that_drops_a_reference_runs_before_the_delete_it_enables(
    tmp_path: Path,
) -> None:
    desired = base_desired(tmp_path)
    live = live_of(desired)
    # the category stops listing `basic`, which goes away; a new plan replaces it there
    del desired.resources["service_plans"]["basic"]
    new = {**desired.resources["service_plans"]["pro"], "id": "starter", "upgrades_to": []}
    desired.resources["service_plans"]["starter"] = new
    desired.resources["sales_categories"]["apps"]["plans"] = ["starter", "pro", "enterprise"]
    plan = plan_of(desired, live)
    assert actions(plan) == {
        "service_plans.basic": "delete",
        "service_plans.starter": "create",
        "sales_categories.apps": "update",
    }
    order = [c["address"] for level in levels(plan["changes"]) for c in level]
    assert order.index("service_plans.starter") < order.index("sales_categories.apps")
    assert order.index("sales_categories.apps") < order.index("service_plans.basic")
    _assert_levels_never_dangle(levels(plan["changes"]), live, desired)


def test_settings_never_set_are_set_not_changed(tmp_path: Path) -> None:
    from storecfg.store.records import default_settings

    desired = base_desired(tmp_path)
    desired.store = {**desired.store, "currency": "EUR", "name": "Euro Shop"}
    fresh = LiveState(STORE_ID, 0, default_settings(STORE_ID), 0)
    plan = plan_of(desired, fresh)
    assert plan["settings"]["action"] == "create"
    assert not [
        i for i in plan["impact"] if i["type"] == "currency"
    ]  # USD was a default, not a choice
    configured = LiveState(STORE_ID, 5, {**default_settings(STORE_ID), "name": "Euro Shop"}, 5)
    plan = plan_of(desired, configured)
    assert plan["settings"]["action"] == "update"
    assert [i["message"] for i in plan["impact"] if i["type"] == "currency"] == [
        "store currency changes USD -> EUR: every price is read in the new currency"
    ]
    # a store nobody configured, exported and planned: its default settings are a no-op
    same = LiveState(STORE_ID, 0, dict(desired.store), 0)
    assert plan_of(desired, same)["settings"]["action"] == "no-op"


def test_a_plan_file_edited_after_it_was_made_is_refused(tmp_path: Path) -> None:
    desired = base_desired(tmp_path)
    plan = plan_of(desired, live_of({}))
    path = tmp_path / "plan.json"
    planfile.write_plan(path, plan)
    assert planfile.read_plan(path)["checksum"].startswith("sha256:")
    edited = json.loads(path.read_text())
    first = next(c for c in edited["changes"] if c["action"] == "create")
    first["after"]["name"] = "Not what was reviewed"
    path.write_text(json.dumps(edited))
    with pytest.raises(UsageError) as info:
        planfile.read_plan(path)
    assert "was changed after it was made" in info.value.message
    del edited["checksum"]
    path.write_text(json.dumps(edited))
    with pytest.raises(UsageError):
        planfile.read_plan(path)


def test_changes_say_where_their_resource_is_defined(tmp_path: Path) -> None:
    from .stores import compile_dir, write_store

    desired = compile_dir(write_store(tmp_path / "src"))
    plan = plan_of(desired, live_of({}))
    sources = {c["address"]: c["source"] for c in plan["changes"]}
    assert all(isinstance(src, str) and src.rsplit(":", 1)[1].isdigit() for src in sources.values())
    first = next(iter(desired.sources.items()))
    assert sources[first[0]] == f"{first[1].file}:{first[1].line}"


def test_price_changes_say_when_they_reach_existing_subscriptions(tmp_path: Path) -> None:
    live = live_of(base_desired(tmp_path))
    desired = base_desired(tmp_path)
    plans = desired.resources["service_plans"]
    plans["pro"]["price"].update(recurring="44.00", setup="10.00", effective="next_renewal")
    plans["basic"]["resources"][0]["price"]["recurring"] = "5.49"
    plan = plan_of(desired, live)
    notes = {d["path"]: d.get("effective") for d in change(plan, "service_plans.pro")["diff"]}
    # a setup fee only concerns new orders; the setting itself is a plain change
    assert notes == {
        "price.setup": None,
        "price.recurring": "next_renewal",
        "price.effective": None,
    }
    assert "effective" not in change(plan, "service_plans.basic")["diff"][0]  # an add-on's price
    messages = {i["field"]: i["message"] for i in _impact(plan, "price")}
    assert messages["price.recurring"] == (
        "service_plans.pro recurring price 40.00 -> 44.00 (+10.0%), takes effect at next renewal"
    )
    assert messages["price.setup"] == "service_plans.pro setup price 0.00 -> 10.00 (new charge)"
    text = render_text(plan)
    assert '~ price.recurring: "40.00" -> "44.00"  # takes effect at next renewal' in text
    assert '~ price.setup: "0.00" -> "10.00"\n' in text
