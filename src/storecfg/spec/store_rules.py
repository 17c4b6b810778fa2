"""The rules that need the whole store (SPEC 1.1): references, scenarios, the storefront.

What a buyer walks through (which purchase scenario a sales category leads to, which
terms they see) is worked out once, by `_Storefront`. Every rule is linear in the size
of the store: lookups go through dicts and sets built once, never nested scans.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .fields import kind_info, values_at
from .issues import Finding
from .resource_rules import Specs, article
from .suggest import closest


def findings(
    specs: Specs, known: dict[str, set[str]], external: Callable[[str, str], object] | None
) -> Iterator[Finding]:
    """The findings of these rules (see `rules.check` for `known` and `external`)."""
    yield from _references(specs, known, external)
    yield from _scenarios(specs)
    yield from _tax_overlaps(specs)
    yield from _default_scenario(specs, known)
    yield from _uncategorized(specs)
    yield from _customization(specs)
    storefront = _Storefront(specs)
    yield from storefront.findings
    yield from _scenario_reach(specs, storefront)
    yield from _terms_reach(specs, storefront)
    yield from _empty_categories(specs)


#: how many unresolved references get a "did you mean" (each costs a scan of the IDs)
MAX_SUGGESTIONS = 200


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
                        "SC001", where, f"{target}.{value} does not exist{hint}", kind=kind, id=rid
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
            use = f"{article(stype)} screen lists sales categories of type services"
        return Finding("SC003", where, f"{what}; {use}", kind=kind, id=rid)
    return Finding("SC001", where, f"{target}.{value} does not exist; {what}", kind=kind, id=rid)


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
                    ("screens", i),
                    f"lists screen {sid} twice (positions {seen[sid] + 1} and {i + 1})",
                    kind="purchase_scenarios",
                    id=rid,
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
                ("screens",),
                "has no checkout screen; the last screen must be a checkout",
                kind="purchase_scenarios",
                id=rid,
            )
        elif len(checkouts) > 1:
            yield Finding(
                "SC002",
                ("screens", checkouts[1]),
                f"has {len(checkouts)} checkout screens; exactly one is allowed, at the end",
                kind="purchase_scenarios",
                id=rid,
            )
        elif checkouts[0] != last:
            yield Finding(
                "SC002",
                ("screens", checkouts[0]),
                f"checkout screen {screens[checkouts[0]]} must be last (it is at position {checkouts[0] + 1} of {len(screens)})",
                kind="purchase_scenarios",
                id=rid,
            )
        payments = [i for i, _, t in typed if t == "payment"]
        if checkouts and not payments:
            yield Finding(
                "SC002",
                ("screens",),
                "has no payment screen before checkout",
                kind="purchase_scenarios",
                id=rid,
            )
        elif checkouts and payments and payments[0] > checkouts[0]:
            yield Finding(
                "SC002",
                ("screens", payments[0]),
                f"payment screen {screens[payments[0]]} must come before checkout",
                kind="purchase_scenarios",
                id=rid,
            )
        if payments:
            first_payment = payments[0]
            for i, sid, t in typed:
                if t == "terms" and i > first_payment:
                    yield Finding(
                        "SC002",
                        ("screens", i),
                        f"terms screen {sid} (position {i + 1}) must come before payment screen "
                        f"{screens[first_payment]} (position {first_payment + 1})",
                        kind="purchase_scenarios",
                        id=rid,
                    )
        carts = [i for i, _, t in typed if t == "cart_review"]
        if carts:
            cart = carts[0]
            for i, sid, t in typed:
                if t in ("sales_categories", "addons") and i > cart:
                    yield Finding(
                        "SC002",
                        ("screens", cart),
                        f"cart review screen {screens[cart]} (position {cart + 1}) must come after "
                        f"{t} screen {sid} (position {i + 1})",
                        kind="purchase_scenarios",
                        id=rid,
                    )
                    break


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
                ("region",),
                f"overlaps tax rule {clash}: same region {key[0]} and priority {key[1]} "
                "and both apply to the same sales categories",
                kind="tax_rules",
                id=rid,
            )


def _default_scenario(specs: Specs, known: dict[str, set[str]]) -> Iterator[Finding]:
    scenarios = specs.get("purchase_scenarios", {})
    defaults = [rid for rid, s in scenarios.items() if s.get("default")]
    general = [rid for rid, s in scenarios.items() if "applies_to" not in s]
    for extra in defaults[1:]:
        yield Finding(
            "SC009",
            ("default",),
            f"more than one default purchase scenario (also {defaults[0]})",
            kind="purchase_scenarios",
            id=extra,
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
            (),
            f"no purchase scenario is the default: {len(general)} have no applies_to ({shown}); "
            "set default: true on one, or give the others applies_to",
            kind="purchase_scenarios",
            id=general[0],
        )
    elif scenarios:
        yield Finding(
            "SC009",
            (),
            "no purchase scenario is the default: every one has applies_to; leave applies_to "
            "off the one for all other products (or set default: true on it)",
            kind="purchase_scenarios",
            id=next(iter(scenarios)),
        )
    elif specs.get("screens"):
        first = next(iter(specs["screens"]))
        yield Finding(
            "SC009",
            (),
            "the store has screens but no purchase scenario; add one without applies_to "
            "(the default)",
            kind="screens",
            id=first,
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
                            where,
                            f"sales category {cid} has type {category['type']}; applies_to names "
                            "services categories, whose plans a buyer picks (add-on plans are "
                            "bought in the scenario of the plan they go with)",
                            kind="purchase_scenarios",
                            id=sid,
                        )
                    )
                elif cid in self.claims:
                    self.findings.append(
                        Finding(
                            "SC021",
                            where,
                            f"sales category {cid} is already in the applies_to of purchase "
                            f"scenario {self.claims[cid]}; a category leads to one scenario",
                            kind="purchase_scenarios",
                            id=sid,
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
                    (),
                    f"has no applies_to and is not the default ({default} is), so no sales "
                    "category leads to it; give it applies_to: {sales_categories: [...]}, "
                    "or remove it",
                    kind="purchase_scenarios",
                    id=sid,
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
            ("applies_to", "sales_categories"),
            "no sales category leads to this scenario: " + "; ".join(reasons),
            kind="purchase_scenarios",
            id=sid,
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
        yield Finding("SC022", ("applies_to",), message, kind="terms", id=tid)


def _empty_categories(specs: Specs) -> Iterator[Finding]:
    categories = specs.get("sales_categories", {})
    parents = {c.get("parent") for c in categories.values()}
    for cid, c in categories.items():
        if c["type"] == "services" and not c["plans"] and cid not in parents:
            yield Finding(
                "SC023",
                ("plans",),
                "services category lists no plans and has no subcategories, so customers would "
                "find it empty; add plans, or remove the category",
                kind="sales_categories",
                id=cid,
            )


def _uncategorized(specs: Specs) -> Iterator[Finding]:
    listed = {pid for c in specs.get("sales_categories", {}).values() for pid in c.get("plans", [])}
    for rid, spec in specs.get("service_plans", {}).items():
        if spec.get("published", True) and rid not in listed:
            yield Finding(
                "SC010",
                (),
                "published plan is in no sales category, so customers cannot find it; "
                "add it to a category or set published: false",
                kind="service_plans",
                id=rid,
            )


def _customization(specs: Specs) -> Iterator[Finding]:
    items = list(specs.get("customization", {}))
    for extra in items[1:]:
        yield Finding(
            "SC015",
            (),
            f"a store has one customization resource; {items[0]} is already defined",
            kind="customization",
            id=extra,
        )
