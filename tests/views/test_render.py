"""The plan views, compared whole with reviewed files in tests/views/testdata/.

After an intended change to a view, regenerate the files with
`UPDATE_TESTDATA=1 python -m pytest tests/views` and review the diff before committing.
"""

from __future__ import annotations

import copy
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from apply.stores import STORE_ID, live_of, plan_of
from storecfg.model import DesiredState
from storecfg.store.records import default_settings
from storecfg.views import json as json_view
from storecfg.views import markdown, text

TESTDATA = Path(__file__).parent / "testdata"
UPDATE = os.environ.get("UPDATE_TESTDATA") == "1"
#: the compiled tests/apply/stores.py BASE store, frozen so that these outputs do not
#: move when the compiler's defaults do
BASE_STORE = json.loads((Path(__file__).parent / "base_store.json").read_text(encoding="utf-8"))


def base_desired(_: Path) -> DesiredState:
    return DesiredState(copy.deepcopy(BASE_STORE["store"]), copy.deepcopy(BASE_STORE["resources"]))


def _fixed(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan with its random and time-dependent fields pinned."""
    plan["plan_id"] = "00000000-0000-4000-8000-000000000000"
    plan["created_at"] = "2026-11-21T12:00:00Z"
    plan["source"] = "stores/test-store"
    plan["tool"]["version"] = "0.0.0"
    return plan


def creates(tmp: Path) -> dict[str, Any]:
    full = base_desired(tmp)
    desired = DesiredState(
        full.store,
        {
            "skus": {"sku-basic": full.resources["skus"]["sku-basic"]},
            "resource_categories": full.resources["resource_categories"],
            "service_plans": {"basic": full.resources["service_plans"]["basic"]},
        },
    )
    live = live_of(None, revision=0, settings_revision=0)
    live.settings = default_settings(STORE_ID)
    return plan_of(desired, live)


def price_update(tmp: Path) -> dict[str, Any]:
    live = live_of(base_desired(tmp))
    desired = base_desired(tmp)
    pro = desired.resources["service_plans"]["pro"]
    pro["price"]["recurring"] = "44.00"
    basic = desired.resources["service_plans"]["basic"]
    basic["resources"][0]["price"]["recurring"] = "4.50"
    basic["resources"].append(
        {
            "id": "storage",
            "name": "Extra storage",
            "unit": "GB",
            "price": {"setup": "0.00", "recurring": "0.20"},
        }
    )
    return plan_of(desired, live)


def reorder(tmp: Path) -> dict[str, Any]:
    live = live_of(base_desired(tmp))
    desired = base_desired(tmp)
    desired.resources["purchase_scenarios"]["standard"]["screens"] = [
        "choose", "cart", "more", "accept", "pay", "done"
    ]  # fmt: skip
    desired.resources["sales_categories"]["apps"]["plans"] = ["enterprise", "basic", "pro"]
    return plan_of(desired, live)


def delete(tmp: Path) -> dict[str, Any]:
    live = live_of(base_desired(tmp))
    desired = base_desired(tmp)
    del desired.resources["payment_methods"]["card"]
    del desired.resources["service_plans"]["enterprise"]
    desired.resources["service_plans"]["pro"]["upgrades_to"] = []
    desired.resources["sales_categories"]["apps"]["plans"] = ["basic", "pro"]
    return plan_of(desired, live)


def replace(tmp: Path) -> dict[str, Any]:
    live = live_of(base_desired(tmp))
    desired = base_desired(tmp)
    desired.resources["tax_rules"]["us-ca"]["region"] = "US-NY"
    desired.resources["tax_rules"]["us-ca"]["rate"] = "4"
    return plan_of(desired, live)


def no_changes(tmp: Path) -> dict[str, Any]:
    desired = base_desired(tmp)
    return plan_of(desired, live_of(desired))


def mixed(tmp: Path) -> dict[str, Any]:
    live = live_of(base_desired(tmp))
    desired = base_desired(tmp)
    desired.store["name"] = "Test Store EU"
    desired.store["prices_include_tax"] = True
    desired.resources["service_plans"]["pro"]["price"]["recurring"] = "36.00"
    desired.resources["service_plans"]["pro"]["published"] = False
    desired.resources["service_plans"]["basic"]["resources"][0]["max"] = 500
    desired.resources["purchase_scenarios"]["standard"]["screens"] = [
        "choose", "more", "accept", "cart", "pay", "done"
    ]  # fmt: skip
    del desired.resources["payment_methods"]["card"]
    desired.resources["payment_methods"]["debit"] = {
        "id": "debit",
        "type": "debit_card",
        "name": "Debit card",
        "regions": ["US"],
        "enabled": True,
    }
    desired.resources["skus"]["sku-basic"]["vendor"] = "Fabrikam"
    plan = plan_of(desired, live)
    plan["interrupted_apply"] = {
        "plan_id": "11111111-2222-4333-8444-555555555555",
        "started_at": "2026-11-21T11:58:00Z",
        "done": 3,
        "total": 7,
        "journal": ".storecfg/journal/test-store/20261121T115800Z-11111111.jsonl",
        "snapshot": "20261121T115800Z-r96",
        "message": "the last apply (plan 11111111, started 2026-11-21T11:58:00Z) was interrupted "
        "after 3 of 7 writes; this plan shows only what is left to do",
    }
    return plan


def _tax(rid: str, region: str, rate: str, **extra: Any) -> dict[str, Any]:
    rule = {"id": rid, "region": region, "rate": rate, "inclusive": False, "compound": False}
    return {**rule, "priority": 0, "stacks": False, **extra}


def taxes_and_renewal(tmp: Path) -> dict[str, Any]:
    live = live_of(base_desired(tmp))
    desired = base_desired(tmp)
    pro = desired.resources["service_plans"]["pro"]
    pro["price"]["recurring"] = "44.00"
    pro["price"]["effective"] = "next_renewal"
    taxes = desired.resources["tax_rules"]
    # GST everywhere in Canada; Ontario's HST replaces it, Quebec's QST comes on top
    taxes["ca-gst"] = _tax("ca-gst", "CA", "5")
    taxes["ca-on-hst"] = _tax("ca-on-hst", "CA-ON", "13")
    taxes["ca-qc-qst"] = _tax("ca-qc-qst", "CA-QC", "9.975", stacks=True)
    taxes["us-ca"]["rate"] = "8"  # only for the apps category
    return plan_of(desired, live)


SCENARIOS: dict[str, Callable[[Path], dict[str, Any]]] = {
    "creates": creates,
    "price-update": price_update,
    "reorder": reorder,
    "delete": delete,
    "replace": replace,
    "no-changes": no_changes,
    "mixed": mixed,
    "taxes-and-renewal": taxes_and_renewal,
}

RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "txt": lambda p: text.render_plan(p, color=False),
    "color.txt": lambda p: text.render_plan(p, color=True),
    "md": markdown.render_plan,
    "json": json_view.render_plan,
}

CASES = [(scenario, fmt) for scenario in SCENARIOS for fmt in ("txt", "md")] + [
    ("creates", "color.txt"),
    ("mixed", "color.txt"),
    ("price-update", "json"),
    ("reorder", "json"),
    ("taxes-and-renewal", "json"),
]


def _check(name: str, actual: str) -> None:
    path = TESTDATA / name
    if UPDATE:
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"{path} is missing; run with UPDATE_TESTDATA=1 and review it"
    assert actual == path.read_text(encoding="utf-8")


@pytest.mark.parametrize(("scenario", "fmt"), CASES, ids=[f"{s}.{f}" for s, f in CASES])
def test_view_matches_reviewed_output(tmp_path: Path, scenario: str, fmt: str) -> None:
    plan = _fixed(SCENARIOS[scenario](tmp_path))
    _check(f"{scenario}.{fmt}", RENDERERS[fmt](plan))


#: outputs compared by tests/views/test_markdown.py
MARKDOWN_ONLY = {"grouped.md", "failed.md", "targets.md"}


def test_every_testdata_file_is_used() -> None:
    expected = {f"{s}.{f}" for s, f in CASES} | MARKDOWN_ONLY
    assert {p.name for p in TESTDATA.iterdir()} == expected


def test_json_view_is_the_plan_document(tmp_path: Path) -> None:
    plan = _fixed(mixed(tmp_path))
    assert json.loads(json_view.render_plan(plan)) == plan


def test_plain_text_has_no_escape_codes_and_color_only_adds_them(tmp_path: Path) -> None:
    plan = _fixed(mixed(tmp_path))
    plain = text.render_plan(plan, color=False)
    colored = text.render_plan(plan, color=True)
    assert "\x1b" not in plain
    assert "\x1b[" in colored
    assert re.sub(r"\x1b\[[0-9;]*m", "", colored) == plain


def test_views_agree_on_the_summary(tmp_path: Path) -> None:
    plan = _fixed(mixed(tmp_path))
    line = text.summary_line(plan)
    assert line in text.render_plan(plan)
    assert f"**{line}**" in markdown.render_plan(plan)


def test_an_apply_of_thousands_of_creates_lists_them_without_their_fields(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from storecfg.views.prompt import Confirmation

    plan = creates(tmp_path)
    template = next(c for c in plan["changes"] if c["kind"] == "service_plans")
    many = [
        {**template, "address": f"service_plans.p{i}", "id": f"p{i}"}
        for i in range(text.BRIEF_CREATES_ABOVE + 1)
    ]
    big = {**plan, "changes": plan["changes"] + many}
    full = list(text.plan_lines(big))  # the plan command shows every field
    assert "  + service_plans.p7" in full and any("price.recurring" in line for line in full)
    assert Confirmation(color=False, auto_approve=True)(big)
    shown = capsys.readouterr().out.splitlines()
    assert '  + service_plans.p7  ("Basic")' in shown
    assert not any("price.recurring" in line for line in shown)
    assert f"  ({len(many) + 3} resources to create are listed without their fields" in "\n".join(
        shown
    )
    assert shown[-1] == text.summary_line(big)
    # a smaller apply still shows every field
    assert Confirmation(color=False, auto_approve=True)(plan)
    assert any("price.recurring" in line for line in capsys.readouterr().out.splitlines())
