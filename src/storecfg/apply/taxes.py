"""Effective tax rates per region, and how a plan changes them.

Where several rules meet, the rate a buyer pays is not any one rule's rate:

* A subdivision rule (``CA-ON``) replaces the country's rules (``CA``) in that
  subdivision, unless it says ``stacks: true``; then both apply there. For a plan, the
  country's rules apply in the subdivision when no subdivision rule applies to the plan,
  or when every one that does stacks.
* Rules that apply are charged in ``priority`` order (a country rule before a
  subdivision rule of the same priority); a ``compound`` rule is charged on the amount
  after the rules before it.
* A rule with ``applies_to`` taxes only plans in those sales categories, so a region
  may have one rate for most plans and another for some categories.

The plan's tax summary lists, for every region whose effective rate a plan changes,
the rate before and after. Everything here is plain data; nothing prints.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable
from typing import Any

from .plandoc import Change, TaxEntry

Rule = dict[str, Any]

_HUNDRED = decimal.Decimal(100)


def _country(region: str) -> str:
    return region.split("-", 1)[0]


def _applies(rule: Rule, category: str | None) -> bool:
    """Whether `rule` taxes a plan in `category` (None: a category no rule names)."""
    applies_to = rule.get("applies_to")
    if not isinstance(applies_to, dict) or "sales_categories" not in applies_to:
        return True
    return category is not None and category in applies_to["sales_categories"]


def _rate(rule: Rule) -> decimal.Decimal:
    try:
        return decimal.Decimal(str(rule.get("rate", "0")))
    except decimal.InvalidOperation:
        return decimal.Decimal(0)


def rules_in_effect(rules: Iterable[Rule], region: str, category: str | None = None) -> list[Rule]:
    """The rules charged in `region` on a plan in `category`, in the order they apply."""
    country = _country(region)
    own = [r for r in rules if r.get("region") == region and _applies(r, category)]
    if region == country:
        chosen = [(0, r) for r in own]
    else:
        national = [r for r in rules if r.get("region") == country and _applies(r, category)]
        if own and not all(r.get("stacks") for r in own):
            national = []  # the subdivision replaces the country here
        chosen = [(0, r) for r in national] + [(1, r) for r in own]
    chosen.sort(key=lambda pair: (int(pair[1].get("priority", 0)), pair[0]))
    return [r for _, r in chosen]


def effective_rate(rules: Iterable[Rule], region: str, category: str | None = None) -> str:
    """The total tax in percent a buyer in `region` pays on a plan in `category`, as a
    decimal string ("14.975")."""
    total = decimal.Decimal(0)
    for rule in rules_in_effect(list(rules), region, category):
        rate = _rate(rule) / _HUNDRED
        total += rate * (1 + total) if rule.get("compound") else rate
    return _text(total * _HUNDRED)


def _text(value: decimal.Decimal) -> str:
    return format(value.normalize(), "f")


def _points(old: str, new: str) -> str:
    delta = decimal.Decimal(new) - decimal.Decimal(old)
    unit = "percentage point" if abs(delta) == 1 else "percentage points"
    return f"{'+' if delta >= 0 else ''}{_text(delta)} {unit}"


def _regions(rules: Iterable[Rule]) -> set[str]:
    return {r["region"] for r in rules if isinstance(r.get("region"), str)}


def _categories(rules: Iterable[Rule]) -> set[str]:
    out: set[str] = set()
    for rule in rules:
        applies_to = rule.get("applies_to")
        if isinstance(applies_to, dict):
            out.update(c for c in applies_to.get("sales_categories", []) if isinstance(c, str))
    return out


def tax_summary(before: list[Rule], after: list[Rule]) -> list[TaxEntry]:
    """One entry per region (and, where rules with applies_to make it differ, per sales
    category) whose effective rate changes from `before` to `after`:
    {"region", "sales_category" (null: plans in categories no rule names), "old", "new",
    "change", "rules"}. Regions are in order, each country before its subdivisions."""
    regions = _regions(before) | _regions(after)
    categories = sorted(_categories(before) | _categories(after))
    out: list[TaxEntry] = []
    for region in sorted(regions, key=lambda r: (_country(r), r != _country(r), r)):
        general = (effective_rate(before, region), effective_rate(after, region))
        if general[0] != general[1]:
            out.append(_entry(region, None, general, after))
        for category in categories:
            pair = (
                effective_rate(before, region, category),
                effective_rate(after, region, category),
            )
            if pair[0] != pair[1] and pair != general:
                out.append(_entry(region, category, pair, after))
    return out


def _entry(region: str, category: str | None, pair: tuple[str, str], after: list[Rule]) -> TaxEntry:
    old, new = pair
    return {
        "region": region,
        "sales_category": category,
        "old": old,
        "new": new,
        "change": _points(old, new),
        "rules": [r.get("id") for r in rules_in_effect(after, region, category)],
    }


def plan_tax_summary(changes: list[Change]) -> list[TaxEntry]:
    """The tax summary of a plan's changes (empty when no tax rule changes)."""
    taxes = [c for c in changes if c.get("kind") == "tax_rules"]
    if all(c.get("action") == "no-op" for c in taxes):
        return []
    before = [spec for c in taxes if isinstance(spec := c.get("before"), dict)]
    after = [spec for c in taxes if isinstance(spec := c.get("after"), dict)]
    return tax_summary(before, after)
