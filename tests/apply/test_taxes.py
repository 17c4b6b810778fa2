"""Effective tax rates where country and subdivision rules meet, and the plan's tax summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from storecfg.apply.taxes import effective_rate, rules_in_effect, tax_summary

from .stores import base_desired, live_of, plan_of


def rule(rid: str, region: str, rate: str, **extra: Any) -> dict[str, Any]:
    return {"id": rid, "region": region, "rate": rate, **extra}


CANADA = [
    rule("ca-gst", "CA", "5"),
    rule("ca-on-hst", "CA-ON", "13"),  # replaces GST in Ontario
    rule("ca-qc-qst", "CA-QC", "9.975", stacks=True, priority=1),  # on top of GST
    rule("ca-bc-pst", "CA-BC", "7", stacks=True),
]


@pytest.mark.parametrize(
    ("region", "rate", "rules"),
    [
        ("CA", "5", ["ca-gst"]),
        ("CA-AB", "5", ["ca-gst"]),  # no provincial rule: the country's
        ("CA-ON", "13", ["ca-on-hst"]),
        ("CA-QC", "14.975", ["ca-gst", "ca-qc-qst"]),
        ("CA-BC", "12", ["ca-gst", "ca-bc-pst"]),  # same priority: the country's first
        ("US-NY", "0", []),
    ],
)
def test_subdivision_rules_stack_or_replace(region: str, rate: str, rules: list[str]) -> None:
    assert effective_rate(CANADA, region) == rate
    assert [r["id"] for r in rules_in_effect(CANADA, region)] == rules


def test_compound_rules_are_charged_on_the_amount_after_earlier_ones() -> None:
    rules = [
        rule("ca-gst", "CA", "5"),
        rule("ca-qc-qst", "CA-QC", "10", stacks=True, priority=1, compound=True),
    ]
    # 5 % + 10 % of 105 %
    assert effective_rate(rules, "CA-QC") == "15.5"


def test_a_replacing_rule_for_some_categories_replaces_only_for_them() -> None:
    rules = [
        rule("ca-gst", "CA", "5"),
        rule("ca-on-software", "CA-ON", "13", applies_to={"sales_categories": ["software"]}),
    ]
    assert effective_rate(rules, "CA-ON") == "5"
    assert effective_rate(rules, "CA-ON", "software") == "13"


def test_one_replacing_rule_among_stacking_ones_replaces() -> None:
    rules = [
        rule("ca-gst", "CA", "5"),
        rule("ca-qc-qst", "CA-QC", "9.975", stacks=True),
        rule("ca-qc-special", "CA-QC", "1", priority=1),
    ]
    assert effective_rate(rules, "CA-QC") == "10.975"


def test_summary_lists_regions_whose_rate_changed() -> None:
    before = [rule("ca-gst", "CA", "5"), rule("ca-on-hst", "CA-ON", "13")]
    after = [
        rule("ca-gst", "CA", "5"),
        rule("ca-on-hst", "CA-ON", "13"),
        rule("ca-qc-qst", "CA-QC", "9.975", stacks=True),
    ]
    assert tax_summary(before, after) == [
        {
            "region": "CA-QC",
            "sales_category": None,
            "old": "5",
            "new": "14.975",
            "change": "+9.975 percentage points",
            "rules": ["ca-gst", "ca-qc-qst"],
        }
    ]


def test_summary_of_a_country_change_names_the_subdivisions_it_reaches() -> None:
    before = [*CANADA]
    after = [rule("ca-gst", "CA", "6"), *CANADA[1:]]
    changed = {e["region"]: (e["old"], e["new"]) for e in tax_summary(before, after)}
    # Ontario's HST replaces GST, so Ontario does not change
    assert changed == {
        "CA": ("5", "6"),
        "CA-QC": ("14.975", "15.975"),
        "CA-BC": ("12", "13"),
    }


def test_summary_per_category_only_where_it_differs() -> None:
    before = [rule("us-tx", "US-TX", "6.25")]
    after = [
        rule("us-tx", "US-TX", "6.25"),
        rule("us-tx-data", "US-TX", "1", priority=1, applies_to={"sales_categories": ["data"]}),
    ]
    assert [(e["region"], e["sales_category"], e["new"]) for e in tax_summary(before, after)] == [
        ("US-TX", "data", "7.25")
    ]


def test_stacks_in_a_plan_shows_in_its_tax_summary(tmp_path: Path) -> None:
    base = base_desired(tmp_path)
    base.resources["tax_rules"]["ca-gst"] = {
        "id": "ca-gst",
        "region": "CA",
        "rate": "5",
        "inclusive": False,
        "compound": False,
        "priority": 0,
        "stacks": False,
    }
    base.resources["tax_rules"]["ca-qc-qst"] = {
        **base.resources["tax_rules"]["ca-gst"],
        "id": "ca-qc-qst",
        "region": "CA-QC",
        "rate": "9.975",
    }
    live = live_of(base)
    desired = base_desired(tmp_path)
    desired.resources["tax_rules"] = {
        **base.resources["tax_rules"],
        "ca-qc-qst": {**base.resources["tax_rules"]["ca-qc-qst"], "stacks": True},
    }
    plan = plan_of(desired, live)
    assert plan["tax_summary"] == [
        {
            "region": "CA-QC",
            "sales_category": None,
            "old": "9.975",
            "new": "14.975",
            "change": "+5 percentage points",
            "rules": ["ca-gst", "ca-qc-qst"],
        }
    ]
    assert plan_of(desired, live_of(desired))["tax_summary"] == []
