"""Semantic rules beyond the schema (SPEC 1.1), each with a stable code.

Rules look at the whole store at once (references, scenario order, tax overlaps) but
every rule is linear in the size of the store: lookups go through dicts and sets
built once, never through nested scans.
"""

from __future__ import annotations

import re
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
        findings.extend(_default_scenario(specs, known))
        findings.extend(_uncategorized(specs))
        findings.extend(_customization(specs))
        storefront = _Storefront(specs)
        findings.extend(storefront.findings)
        findings.extend(_scenario_reach(specs, storefront))
        findings.extend(_terms_reach(specs, storefront))
        findings.extend(_empty_categories(specs))
    findings.extend(_default_applies_to(specs))
    findings.extend(_screens(specs, single_resource))
    findings.extend(_periods(specs))
    findings.extend(_addons(specs))
    findings.extend(_upgrades(specs))
    findings.extend(_regions(specs))
    findings.extend(_categories(specs))
    findings.extend(_ignored_fields(specs))
    findings.extend(_order_fields(specs))
    findings.extend(_early_termination(specs))
    findings.extend(_stacks(specs))
    findings.extend(_ach_eligibility(specs))
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
                    confused = _CONFUSED.get(target)
                    if confused is not None and value in known.get(confused[0], ()):
                        yield _wrong_kind(kind, rid, spec, where, value, target, confused)
                        continue
                    hint = ""
                    if suggestions < MAX_SUGGESTIONS:
                        suggestions += 1
                        match = closest(value, known.get(target, ()))
                        hint = f"; did you mean {target}.{match}?" if match else ""
                    yield Finding(
                        "SC001", kind, rid, where, f"{target}.{value} does not exist{hint}"
                    )


#: reference target -> (the kind its IDs are mistaken for, "a ..." of each kind)
_CONFUSED = {
    "sales_categories": ("resource_categories", "a resource category", "a sales category"),
    "resource_categories": ("sales_categories", "a sales category", "a resource category"),
}


def _wrong_kind(
    kind: str,
    rid: str,
    spec: dict[str, Any],
    where: tuple[Any, ...],
    value: str,
    target: str,
    confused: tuple[str, str, str],
) -> Finding:
    """A reference that names a resource of the kind it is easily mistaken for."""
    other, is_other, is_target = confused
    what = f"{value} is {is_other} ({other}.{value}), not {is_target}"
    if kind == "screens" and target == "sales_categories" and where[:1] == ("categories",):
        stype = spec.get("type", "")
        if stype == "addons":
            use = (
                "an addons screen lists sales categories of type addons, which hold the add-on "
                "plans to up-sell; a plan's add-on resources are offered with the plan itself"
            )
        else:
            use = f"{_a(stype)} screen lists sales categories of type services"
        return Finding("SC003", kind, rid, where, f"{what}; {use}")
    return Finding("SC001", kind, rid, where, f"{target}.{value} does not exist; {what}")


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


def _default_scenario(specs: Specs, known: dict[str, set[str]]) -> Iterator[Finding]:
    scenarios = specs.get("purchase_scenarios", {})
    defaults = [rid for rid, s in scenarios.items() if s.get("default")]
    general = [rid for rid, s in scenarios.items() if "applies_to" not in s]
    for extra in defaults[1:]:
        yield Finding(
            "SC009",
            "purchase_scenarios",
            extra,
            ("default",),
            f"more than one default purchase scenario (also {defaults[0]})",
        )
    if defaults or len(general) == 1:
        return
    if known.get("purchase_scenarios", set()) - set(scenarios):
        # a scenario with errors of its own may be the default: those errors say what to fix
        return
    if len(general) > 1:
        shown = ", ".join(general[:5]) + (" ..." if len(general) > 5 else "")
        yield Finding(
            "SC009",
            "purchase_scenarios",
            general[0],
            (),
            f"no purchase scenario is the default: {len(general)} have no applies_to ({shown}); "
            "set default: true on one, or give the others applies_to",
        )
    elif scenarios:
        yield Finding(
            "SC009",
            "purchase_scenarios",
            next(iter(scenarios)),
            (),
            "no purchase scenario is the default: every one has applies_to; leave applies_to "
            "off the one for all other products (or set default: true on it)",
        )
    elif specs.get("screens"):
        first = next(iter(specs["screens"]))
        yield Finding(
            "SC009",
            "screens",
            first,
            (),
            "the store has screens but no purchase scenario; add one without applies_to "
            "(the default)",
        )


def _default_applies_to(specs: Specs) -> Iterator[Finding]:
    for rid, spec in specs.get("purchase_scenarios", {}).items():
        if spec.get("default") and "applies_to" in spec:
            yield Finding(
                "SC009",
                "purchase_scenarios",
                rid,
                ("applies_to",),
                "the default scenario serves every sales category without a scenario of its own; "
                "remove applies_to, or default: true",
            )


class _Storefront:
    """Which purchase scenario a buyer walks for each sales category: the scenario whose
    applies_to names the category or, failing that, its nearest parent; else the
    default. Building it reports applies_to entries that cannot take part (SC021)."""

    def __init__(self, specs: Specs) -> None:
        self.categories = specs.get("sales_categories", {})
        scenarios = specs.get("purchase_scenarios", {})
        defaults = [rid for rid, s in scenarios.items() if s.get("default")]
        general = [rid for rid, s in scenarios.items() if "applies_to" not in s]
        self.default: str | None = (
            defaults[0] if defaults else general[0] if len(general) == 1 else None
        )
        self.claims: dict[str, str] = {}
        self.findings: list[Finding] = []
        for sid, scenario in scenarios.items():
            if scenario.get("default") or "applies_to" not in scenario:
                continue
            for i, cid in enumerate(scenario["applies_to"]["sales_categories"]):
                category = self.categories.get(cid)
                if category is None:
                    continue  # SC001
                where = ("applies_to", "sales_categories", i)
                if category["type"] != "services":
                    self.findings.append(
                        Finding(
                            "SC021",
                            "purchase_scenarios",
                            sid,
                            where,
                            f"sales category {cid} has type {category['type']}; applies_to names "
                            "services categories, whose plans a buyer picks (add-on plans are "
                            "bought in the scenario of the plan they go with)",
                        )
                    )
                elif cid in self.claims:
                    self.findings.append(
                        Finding(
                            "SC021",
                            "purchase_scenarios",
                            sid,
                            where,
                            f"sales category {cid} is already in the applies_to of purchase "
                            f"scenario {self.claims[cid]}; a category leads to one scenario",
                        )
                    )
                else:
                    self.claims[cid] = sid
        self._scenario: dict[str, str | None] = {}
        self._lineage: dict[str, frozenset[str]] = {}

    def lineage(self, cid: str) -> frozenset[str]:
        """The category and its parents (a parent cycle, SC011, ends the walk)."""
        found = self._lineage.get(cid)
        if found is None:
            chain: list[str] = []
            node: str | None = cid
            while node is not None and node not in chain and node in self.categories:
                chain.append(node)
                parent = self.categories[node].get("parent")
                node = parent if isinstance(parent, str) else None
            found = self._lineage[cid] = frozenset(chain)
        return found

    def scenario_of(self, cid: str) -> str | None:
        """The scenario a buyer walks after picking a plan in sales category `cid`."""
        if cid in self._scenario:
            return self._scenario[cid]
        found = self.default
        seen: set[str] = set()
        node: str | None = cid
        while node is not None and node not in seen and node in self.categories:
            seen.add(node)
            if node in self.claims:
                found = self.claims[node]
                break
            parent = self.categories[node].get("parent")
            node = parent if isinstance(parent, str) else None
        self._scenario[cid] = found
        return found


def _published_plans(specs: Specs) -> set[str]:
    return {pid for pid, p in specs.get("service_plans", {}).items() if p.get("published", True)}


def _scenario_reach(specs: Specs, storefront: _Storefront) -> Iterator[Finding]:
    scenarios = specs.get("purchase_scenarios", {})
    if not scenarios:
        return
    categories = storefront.categories
    published = _published_plans(specs)
    selling = {  # services categories a buyer can pick a plan in
        cid
        for cid, c in categories.items()
        if c["type"] == "services" and any(p in published for p in c["plans"])
    }
    reached = {storefront.scenario_of(cid) for cid in selling}
    default = storefront.default
    for sid, scenario in scenarios.items():
        if sid == default or scenario.get("default"):
            continue
        if "applies_to" not in scenario:
            if default is not None:
                yield Finding(
                    "SC020",
                    "purchase_scenarios",
                    sid,
                    (),
                    f"has no applies_to and is not the default ({default} is), so no sales "
                    "category leads to it; give it applies_to: {sales_categories: [...]}, "
                    "or remove it",
                )
            continue
        if sid in reached:
            continue
        listed = scenario["applies_to"]["sales_categories"]
        if any(cid not in categories for cid in listed):
            continue  # SC001 says what is missing
        reasons = [_unreached_reason(cid, sid, storefront, selling) for cid in listed]
        yield Finding(
            "SC020",
            "purchase_scenarios",
            sid,
            ("applies_to", "sales_categories"),
            "no sales category leads to this scenario: " + "; ".join(reasons),
        )


def _unreached_reason(cid: str, sid: str, storefront: _Storefront, selling: set[str]) -> str:
    category = storefront.categories[cid]
    if category["type"] != "services":
        return f"{cid} is an {category['type']} category"
    owner = storefront.claims.get(cid)
    if owner is not None and owner != sid:
        return f"{cid} leads to scenario {owner}"
    below = sorted(c for c in selling if cid in storefront.lineage(c))
    if not below:
        return f"{cid} holds no published plans"
    elsewhere = sorted({str(storefront.scenario_of(c)) for c in below})
    return f"the plans under {cid} are in subcategories with scenarios of their own ({', '.join(elsewhere)})"


def _terms_reach(specs: Specs, storefront: _Storefront) -> Iterator[Finding]:
    terms = specs.get("terms", {})
    targeted = {tid: t["applies_to"] for tid, t in terms.items() if "applies_to" in t}
    if not targeted:
        return
    categories = storefront.categories
    plans = specs.get("service_plans", {})
    screens = specs.get("screens", {})
    shows: dict[str, set[str]] = {}  # scenario -> terms on its terms screens
    upsells: dict[str, list[str]] = {}  # scenario -> addons categories on its addons screens
    for sid, scenario in specs.get("purchase_scenarios", {}).items():
        for screen_id in scenario["screens"]:
            screen = screens.get(screen_id)
            if screen is None:
                continue
            if screen["type"] == "terms":
                shows.setdefault(sid, set()).update(screen.get("terms", []))
            elif screen["type"] == "addons":
                upsells.setdefault(sid, []).extend(screen.get("categories", []))
    published = _published_plans(specs)
    # (scenario, category, plan): a plan a buyer can put in the cart, and where
    reachable: list[tuple[str, str, str]] = []
    for cid, category in categories.items():
        walks = storefront.scenario_of(cid) if category["type"] == "services" else None
        if walks is not None:
            reachable.extend((walks, cid, p) for p in category["plans"] if p in published)
    for sid, offered in upsells.items():
        for cid in offered:
            upsell = categories.get(cid)
            if upsell is not None and upsell["type"] == "addons":
                reachable.extend((sid, cid, p) for p in upsell["plans"] if p in published)
    for tid, applies in targeted.items():
        for_categories = set(applies.get("sales_categories", []))
        for_plans = set(applies.get("plans", []))
        if not for_categories <= categories.keys() or not for_plans <= plans.keys():
            continue  # SC001 says what is missing
        walked = {
            sid
            for sid, cid, pid in reachable
            if pid in for_plans or storefront.lineage(cid) & for_categories
        }
        if any(tid in shows.get(sid, ()) for sid in walked):
            continue
        if not any(tid in shown for shown in shows.values()):
            message = (
                "these terms are on no terms screen of a purchase scenario, so no buyer sees "
                "them; list them on a terms screen of the scenario for these products"
            )
        elif not walked:
            message = (
                "applies_to names no published plan a buyer can reach, so no buyer sees these terms"
            )
        else:
            names = ", ".join(sorted(walked))
            s = "s" if len(walked) != 1 else ""
            message = (
                f"buyers of these products walk purchase scenario{s} {names}, which list"
                f"{'' if s else 's'} these terms on no terms screen; add them to a terms screen there"
            )
        yield Finding("SC022", "terms", tid, ("applies_to",), message)


def _empty_categories(specs: Specs) -> Iterator[Finding]:
    categories = specs.get("sales_categories", {})
    parents = {c.get("parent") for c in categories.values()}
    for cid, c in categories.items():
        if c["type"] == "services" and not c["plans"] and cid not in parents:
            yield Finding(
                "SC023",
                "sales_categories",
                cid,
                ("plans",),
                "services category lists no plans and has no subcategories, so customers would "
                "find it empty; add plans, or remove the category",
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


#: a JavaScript named group, `(?<name>`, which Python writes `(?P<name>`
_JS_NAMED_GROUP = re.compile(r"(?<!\\)\(\?<(?=[A-Za-z_])")


def regex_problem(pattern: str) -> str | None:
    """Why `pattern` is not a regular expression, or None when it is one. Storefronts
    match patterns in the browser, so JavaScript's named groups are accepted too."""
    groups = [m.start() for m in _JS_NAMED_GROUP.finditer(pattern)]
    try:
        re.compile(_JS_NAMED_GROUP.sub("(?P<", pattern))
    except re.error as exc:
        if exc.pos is None:
            return exc.msg
        # each "(?<" became one character longer
        shift = sum(1 for i, start in enumerate(groups) if start + i < exc.pos)
        return f"{exc.msg} (at character {exc.pos - shift + 1})"
    except (OverflowError, RecursionError, ValueError) as exc:
        return str(exc) or type(exc).__name__
    return None


def _order_fields(specs: Specs) -> Iterator[Finding]:
    for rid, spec in specs.get("service_plans", {}).items():
        seen: dict[str, int] = {}
        for i, field in enumerate(spec.get("order_fields", [])):
            fid = field["id"]
            if fid in seen:
                yield Finding(
                    "SC025",
                    "service_plans",
                    rid,
                    ("order_fields", i, "id"),
                    f"order field {fid} is defined twice in this plan (also at position "
                    f"{seen[fid] + 1})",
                )
            seen.setdefault(fid, i)
            pattern = field.get("pattern")
            if pattern is None:
                continue
            where = ("order_fields", i, "pattern")
            if field["type"] == "checkbox":
                yield Finding(
                    "SC024",
                    "service_plans",
                    rid,
                    where,
                    f"order field {fid} is a checkbox: the buyer only ticks it, so it takes no "
                    "pattern; remove pattern",
                )
                continue
            problem = regex_problem(pattern)
            if problem is not None:
                yield Finding(
                    "SC024",
                    "service_plans",
                    rid,
                    where,
                    f"order field {fid}: pattern is not a valid regular expression: {problem}",
                )


_FEE_MEANS = {"none": "nothing", "remaining_term": "the fees of the rest of the term"}


def _early_termination(specs: Specs) -> Iterator[Finding]:
    for rid, spec in specs.get("service_plans", {}).items():
        rules = spec.get("rules")
        early = rules.get("early_termination") if isinstance(rules, dict) else None
        if early is None:
            continue
        fee = early["fee"]
        if fee == "fixed" and "amount" not in early:
            yield Finding(
                "SC026",
                "service_plans",
                rid,
                ("rules", "early_termination"),
                'fee fixed needs an amount, for example amount: "50.00"',
            )
        elif fee != "fixed" and "amount" in early:
            yield Finding(
                "SC026",
                "service_plans",
                rid,
                ("rules", "early_termination", "amount"),
                f"amount is only for fee: fixed (fee {fee} charges {_FEE_MEANS.get(fee, fee)}); "
                "remove amount, or set fee: fixed",
            )
        if "cancellation" in spec.get("price", {}):
            yield Finding(
                "SC026",
                "service_plans",
                rid,
                ("price", "cancellation"),
                "price.cancellation and rules.early_termination both say what ending a "
                "subscription early costs; keep rules.early_termination and remove "
                "price.cancellation",
            )


def _stacks(specs: Specs) -> Iterator[Finding]:
    for rid, spec in specs.get("tax_rules", {}).items():
        region = spec["region"]
        if spec.get("stacks") and "-" not in region:
            yield Finding(
                "SC027",
                "tax_rules",
                rid,
                ("stacks",),
                f"stacks is for subdivision rules (a {region}-XX rule charged on top of this "
                f"one); a rule for all of {region} already applies wherever no subdivision rule "
                "replaces it; remove stacks",
            )


def _ach_eligibility(specs: Specs) -> Iterator[Finding]:
    for rid, spec in specs.get("payment_methods", {}).items():
        if spec["type"] != "ach":
            continue
        eligibility = spec.get("eligibility") or {}
        for i, term in enumerate(eligibility.get("payment_terms", [])):
            if term == "prepaid":
                yield Finding(
                    "SC028",
                    "payment_methods",
                    rid,
                    ("eligibility", "payment_terms", i),
                    "ACH pays the monthly invoice of accounts on Net terms; prepaid accounts pay "
                    "every purchase by card, so they cannot use ACH; remove prepaid",
                )
