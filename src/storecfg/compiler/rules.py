"""Semantic rules beyond the schema (SPEC 1.1), each with a stable code.

Rules look at the whole store at once (references, scenario order, tax overlaps) but
every rule is linear in the size of the store: lookups go through dicts and sets
built once, never through nested scans.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..errors import quoted
from .iso import COUNTRIES, COUNTRY_HINTS, CURRENCY_DIGITS
from .schema import (
    closest,
    decimal_places,
    field_path_problem,
    kind_info,
    money_fields,
    values_at,
)

Specs = dict[str, dict[str, dict[str, Any]]]

#: how many unresolved references get a "did you mean" (each costs a scan of the IDs)
MAX_SUGGESTIONS = 200


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    kind: str
    id: str
    path: tuple[Any, ...]
    message: str


def check(
    specs: Specs,
    known: dict[str, set[str]],
    settings: dict[str, Any] | None,
    *,
    single_resource: bool = False,
    external: Callable[[str, str], object] | None = None,
) -> list[Finding]:
    """Run the rules. `specs` holds the schema-valid resources, normalized; `known`
    every ID defined (valid or not), so a broken resource does not cascade into
    reference errors elsewhere. With `single_resource`, only the rules that can be
    judged from each resource alone run (what the store API checks on a write).
    `external(kind, id)` is true for resources managed elsewhere (policy.unmanaged):
    references to them resolve in the live store, not in the definition."""
    currency = (settings or {}).get("currency")
    digits = CURRENCY_DIGITS.get(currency) if isinstance(currency, str) else None
    findings: list[Finding] = []
    if not single_resource:
        findings.extend(_references(specs, known, external))
        findings.extend(_scenarios(specs))
        findings.extend(_tax_overlaps(specs))
        findings.extend(_default_scenario(specs))
        findings.extend(_uncategorized(specs))
        findings.extend(_customization(specs))
    findings.extend(_screens(specs, single_resource))
    findings.extend(_periods(specs))
    findings.extend(_addons(specs))
    findings.extend(_upgrades(specs))
    findings.extend(_regions(specs))
    findings.extend(_categories(specs))
    findings.extend(_ignored_fields(specs))
    if digits is not None:
        findings.extend(_money_precision(specs, currency or "", digits))
    return findings


def _references(
    specs: Specs, known: dict[str, set[str]], external: Callable[[str, str], object] | None
) -> Iterator[Finding]:
    suggestions = 0
    for kind, items in specs.items():
        paths = kind_info(kind).ref_paths
        if not paths:
            continue
        for rid, spec in items.items():
            for path, target in paths:
                for where, value in values_at(spec, path):
                    if not isinstance(value, str) or value in known.get(target, ()):
                        continue
                    if external is not None and external(target, value):
                        continue
                    hint = ""
                    if suggestions < MAX_SUGGESTIONS:
                        suggestions += 1
                        match = closest(value, known.get(target, ()))
                        hint = f"; did you mean {target}.{match}?" if match else ""
                    yield Finding(
                        "SC001", kind, rid, where, f"{target}.{value} does not exist{hint}"
                    )


def _screen_types(specs: Specs) -> dict[str, str]:
    return {sid: s["type"] for sid, s in specs.get("screens", {}).items()}


def _scenarios(specs: Specs) -> Iterator[Finding]:
    types = _screen_types(specs)
    for rid, spec in specs.get("purchase_scenarios", {}).items():
        screens: list[str] = spec["screens"]
        seen: dict[str, int] = {}
        for i, sid in enumerate(screens):
            if sid in seen:
                yield Finding(
                    "SC002",
                    "purchase_scenarios",
                    rid,
                    ("screens", i),
                    f"lists screen {sid} twice (positions {seen[sid] + 1} and {i + 1})",
                )
            else:
                seen[sid] = i
        typed = [(i, sid, types[sid]) for i, sid in enumerate(screens) if sid in types]
        if len(typed) != len(screens):
            continue  # unresolved screens are reported by SC001; order checks need every type
        checkouts = [i for i, _, t in typed if t == "checkout"]
        last = len(screens) - 1
        if not checkouts:
            yield Finding(
                "SC002",
                "purchase_scenarios",
                rid,
                ("screens",),
                "has no checkout screen; the last screen must be a checkout",
            )
        elif len(checkouts) > 1:
            yield Finding(
                "SC002",
                "purchase_scenarios",
                rid,
                ("screens", checkouts[1]),
                f"has {len(checkouts)} checkout screens; exactly one is allowed, at the end",
            )
        elif checkouts[0] != last:
            yield Finding(
                "SC002",
                "purchase_scenarios",
                rid,
                ("screens", checkouts[0]),
                f"checkout screen {screens[checkouts[0]]} must be last (it is at position {checkouts[0] + 1} of {len(screens)})",
            )
        payments = [i for i, _, t in typed if t == "payment"]
        if checkouts and not payments:
            yield Finding(
                "SC002",
                "purchase_scenarios",
                rid,
                ("screens",),
                "has no payment screen before checkout",
            )
        elif checkouts and payments and payments[0] > checkouts[0]:
            yield Finding(
                "SC002",
                "purchase_scenarios",
                rid,
                ("screens", payments[0]),
                f"payment screen {screens[payments[0]]} must come before checkout",
            )
        if payments:
            first_payment = payments[0]
            for i, sid, t in typed:
                if t == "terms" and i > first_payment:
                    yield Finding(
                        "SC002",
                        "purchase_scenarios",
                        rid,
                        ("screens", i),
                        f"terms screen {sid} (position {i + 1}) must come before payment screen "
                        f"{screens[first_payment]} (position {first_payment + 1})",
                    )
        carts = [i for i, _, t in typed if t == "cart_review"]
        if carts:
            cart = carts[0]
            for i, sid, t in typed:
                if t in ("sales_categories", "addons") and i > cart:
                    yield Finding(
                        "SC002",
                        "purchase_scenarios",
                        rid,
                        ("screens", cart),
                        f"cart review screen {screens[cart]} (position {cart + 1}) must come after "
                        f"{t} screen {sid} (position {i + 1})",
                    )
                    break


def _a(word: str) -> str:
    """`word` with its indefinite article: 'an addons', 'a payment'."""
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


_SCREEN_CATEGORY_TYPE = {"sales_categories": "services", "addons": "addons"}


def _screens(specs: Specs, single_resource: bool = False) -> Iterator[Finding]:
    categories = specs.get("sales_categories", {})
    for rid, spec in specs.get("screens", {}).items():
        stype = spec["type"]
        wants = _SCREEN_CATEGORY_TYPE.get(stype)
        if wants is not None and "categories" not in spec:
            yield Finding(
                "SC014", "screens", rid, ("categories",), f"{_a(stype)} screen needs categories"
            )
        if wants is None and "categories" in spec:
            yield Finding(
                "SC014",
                "screens",
                rid,
                ("categories",),
                f"{_a(stype)} screen shows no sales categories; remove categories",
            )
        if stype == "terms" and "terms" not in spec:
            yield Finding(
                "SC014", "screens", rid, ("terms",), "a terms screen needs terms to accept"
            )
        if stype != "terms" and "terms" in spec:
            yield Finding(
                "SC014",
                "screens",
                rid,
                ("terms",),
                f"only terms screens list terms; this is {_a(stype)} screen",
            )
        if wants is None or single_resource:
            continue
        for i, cid in enumerate(spec.get("categories", [])):
            category = categories.get(cid)
            if category is not None and category["type"] != wants:
                yield Finding(
                    "SC003",
                    "screens",
                    rid,
                    ("categories", i),
                    f"sales category {cid} has type {category['type']}; {_a(stype)} screen shows only {wants} categories",
                )


def _months(period: dict[str, Any]) -> tuple[str, int]:
    unit, length = period["unit"], period["length"]
    if unit == "year":
        return "month", length * 12
    return unit, length


def _describe_period(period: dict[str, Any]) -> str:
    n, unit = period["length"], period["unit"]
    return f"{n} {unit}{'s' if n != 1 else ''}"


def _periods(specs: Specs) -> Iterator[Finding]:
    for rid, spec in specs.get("service_plans", {}).items():
        sub, bill = spec["subscription_period"], spec["billing_period"]
        sub_unit, sub_n = _months(sub)
        bill_unit, bill_n = _months(bill)
        if sub_unit != bill_unit or sub_n % bill_n != 0:
            yield Finding(
                "SC004",
                "service_plans",
                rid,
                ("billing_period",),
                f"billing period {_describe_period(bill)} does not divide the subscription period "
                f"{_describe_period(sub)}",
            )


def _addons(specs: Specs) -> Iterator[Finding]:
    for rid, spec in specs.get("service_plans", {}).items():
        seen: dict[str, int] = {}
        for i, addon in enumerate(spec.get("resources", [])):
            aid = addon["id"]
            if aid in seen:
                yield Finding(
                    "SC013",
                    "service_plans",
                    rid,
                    ("resources", i, "id"),
                    f"add-on {aid} is defined twice in this plan (also at position {seen[aid] + 1})",
                )
            seen.setdefault(aid, i)
            low, included, high = addon.get("min", 0), addon.get("included", 0), addon.get("max")
            if included < low:
                yield Finding(
                    "SC005",
                    "service_plans",
                    rid,
                    ("resources", i, "included"),
                    f"add-on {aid}: included {included} is below min {low}",
                )
            if high is not None and included > high:
                yield Finding(
                    "SC005",
                    "service_plans",
                    rid,
                    ("resources", i, "included"),
                    f"add-on {aid}: included {included} is above max {high}",
                )
            if high is not None and low > high:
                yield Finding(
                    "SC005",
                    "service_plans",
                    rid,
                    ("resources", i, "min"),
                    f"add-on {aid}: min {low} is above max {high}",
                )


def _cycles(graph: dict[str, list[str]]) -> Iterator[list[str]]:
    """Each cycle of a directed graph once (iterative DFS; linear in nodes + edges)."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    for start in graph:
        if start in state:
            continue
        path: list[str] = []
        stack: list[tuple[str, int]] = [(start, 0)]
        while stack:
            node, i = stack.pop()
            if i == 0:
                state[node] = 1
                path.append(node)
            edges = graph.get(node, [])
            if i < len(edges):
                stack.append((node, i + 1))
                nxt = edges[i]
                if nxt not in graph:
                    continue
                if state.get(nxt) == 1:
                    yield [*path[path.index(nxt) :], nxt]
                elif nxt not in state:
                    stack.append((nxt, 0))
            else:
                state[node] = 2
                path.pop()


def _upgrades(specs: Specs) -> Iterator[Finding]:
    plans = specs.get("service_plans", {})
    graph: dict[str, list[str]] = {}
    for rid, spec in plans.items():
        targets = spec.get("upgrades_to", [])
        for i, target in enumerate(targets):
            if target == rid:
                yield Finding(
                    "SC006",
                    "service_plans",
                    rid,
                    ("upgrades_to", i),
                    "a plan cannot upgrade to itself",
                )
        graph[rid] = [t for t in targets if t != rid]
    for cycle in _cycles(graph):
        first = cycle[0]
        index = plans[first]["upgrades_to"].index(cycle[1])
        yield Finding(
            "SC006",
            "service_plans",
            first,
            ("upgrades_to", index),
            f"upgrade path forms a cycle: {' -> '.join(cycle)}",
        )


def _tax_overlaps(specs: Specs) -> Iterator[Finding]:
    groups: dict[tuple[str, int], tuple[str | None, dict[str, str]]] = {}
    for rid, spec in specs.get("tax_rules", {}).items():
        key = (spec["region"], spec.get("priority", 0))
        everything, by_category = groups.get(key, (None, {}))
        cats = spec.get("applies_to", {}).get("sales_categories")
        clash: str | None = None
        if cats is None:
            clash = everything or next(iter(by_category.values()), None)
            everything = everything or rid
        else:
            clash = everything
            if clash is None:
                clash = next((by_category[c] for c in cats if c in by_category), None)
            for c in cats:
                by_category.setdefault(c, rid)
        groups[key] = (everything, by_category)
        if clash is not None:
            yield Finding(
                "SC007",
                "tax_rules",
                rid,
                ("region",),
                f"overlaps tax rule {clash}: same region {key[0]} and priority {key[1]} "
                "and both apply to the same sales categories",
            )


def _country(region: str) -> str:
    return region.split("-", 1)[0]


def _regions(specs: Specs) -> Iterator[Finding]:
    for rid, spec in specs.get("payment_methods", {}).items():
        for i, region in enumerate(spec["regions"]):
            if spec["type"] == "ach" and _country(region) != "US":
                yield Finding(
                    "SC008",
                    "payment_methods",
                    rid,
                    ("regions", i),
                    f"ACH is only available in the US, not in {region}",
                )
            yield from _unknown_region("payment_methods", rid, ("regions", i), region)
    for rid, spec in specs.get("tax_rules", {}).items():
        yield from _unknown_region("tax_rules", rid, ("region",), spec["region"])


def _unknown_region(kind: str, rid: str, path: tuple[Any, ...], region: str) -> Iterator[Finding]:
    country = _country(region)
    if country in COUNTRIES:
        return
    hint = COUNTRY_HINTS.get(country) or closest(country, COUNTRIES)
    yield Finding(
        "SC016",
        kind,
        rid,
        path,
        f"{country} is not an ISO 3166-1 country code"
        + (f"; did you mean {hint}?" if hint else ""),
    )


def _default_scenario(specs: Specs) -> Iterator[Finding]:
    scenarios = specs.get("purchase_scenarios", {})
    defaults = [rid for rid, s in scenarios.items() if s.get("default")]
    for extra in defaults[1:]:
        yield Finding(
            "SC009",
            "purchase_scenarios",
            extra,
            ("default",),
            f"more than one default purchase scenario (also {defaults[0]})",
        )
    if not defaults and specs.get("screens"):
        if scenarios:
            first = next(iter(scenarios))
            yield Finding(
                "SC009",
                "purchase_scenarios",
                first,
                (),
                "no purchase scenario is the default; set default: true on one",
            )
        else:
            first = next(iter(specs["screens"]))
            yield Finding(
                "SC009",
                "screens",
                first,
                (),
                "the store has screens but no purchase scenario; add one with default: true",
            )


def _uncategorized(specs: Specs) -> Iterator[Finding]:
    listed = {pid for c in specs.get("sales_categories", {}).values() for pid in c.get("plans", [])}
    for rid, spec in specs.get("service_plans", {}).items():
        if spec.get("published", True) and rid not in listed:
            yield Finding(
                "SC010",
                "service_plans",
                rid,
                (),
                "published plan is in no sales category, so customers cannot find it; "
                "add it to a category or set published: false",
            )


def _categories(specs: Specs) -> Iterator[Finding]:
    categories = specs.get("sales_categories", {})
    graph = {cid: [c["parent"]] if c.get("parent") else [] for cid, c in categories.items()}
    for cid, c in categories.items():
        if c.get("parent") == cid:
            yield Finding(
                "SC011", "sales_categories", cid, ("parent",), "a category cannot be its own parent"
            )
            graph[cid] = []
    for cycle in _cycles(graph):
        yield Finding(
            "SC011",
            "sales_categories",
            cycle[0],
            ("parent",),
            f"parent categories form a cycle: {' -> '.join(cycle)}",
        )
    children: dict[str, list[str]] = {}
    for cid, c in categories.items():
        parent = c.get("parent")
        if parent in categories:
            children.setdefault(parent, []).append(cid)
    for cid, subs in children.items():
        if categories[cid].get("plans"):
            shown = ", ".join(subs[:3]) + (" ..." if len(subs) > 3 else "")
            yield Finding(
                "SC011",
                "sales_categories",
                cid,
                ("plans",),
                f"has subcategories ({shown}), so it cannot list plans; move the plans into a subcategory",
            )


def _customization(specs: Specs) -> Iterator[Finding]:
    items = list(specs.get("customization", {}))
    for extra in items[1:]:
        yield Finding(
            "SC015",
            "customization",
            extra,
            (),
            f"a store has one customization resource; {items[0]} is already defined",
        )


def _ignored_fields(specs: Specs) -> Iterator[Finding]:
    for kind, items in specs.items():
        for rid, spec in items.items():
            lifecycle = spec.get("lifecycle")
            if not isinstance(lifecycle, dict):
                continue
            for i, path in enumerate(lifecycle.get("ignore_changes") or []):
                problem = field_path_problem(kind, path)
                if problem is not None:
                    yield Finding("SC019", kind, rid, ("lifecycle", "ignore_changes", i), problem)


def _money_precision(specs: Specs, currency: str, digits: int) -> Iterator[Finding]:
    for kind, items in specs.items():
        for rid, spec in items.items():
            for path, value in money_fields(kind, spec):
                places = decimal_places(value)
                if places > digits:
                    yield Finding(
                        "SC017",
                        kind,
                        rid,
                        path,
                        f"amount {quoted(value)} has {places} decimal places; {currency} allows {digits}"
                        if places != 1
                        else f"amount {quoted(value)} has 1 decimal place; {currency} allows {digits}",
                    )
