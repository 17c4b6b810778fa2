"""The rules judged from one resource alone (SPEC 1.1).

These run on every compile and on every write the store API receives; `store_rules`
adds the ones that need the whole store. Each is linear in the size of the store.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..errors import quoted
from .fields import field_path_problem
from .iso import COUNTRIES, COUNTRY_HINTS
from .issues import Finding
from .normalize import decimal_places, money_fields
from .suggest import closest

Specs = dict[str, dict[str, dict[str, Any]]]


def findings(
    specs: Specs, currency: str | None, digits: int | None, *, single_resource: bool = False
) -> Iterator[Finding]:
    """The findings of these rules; amounts are checked when `digits` (of `currency`)
    is known. With `single_resource`, a screen's categories are not looked up."""
    yield from _default_applies_to(specs)
    yield from _screens(specs, single_resource)
    yield from _periods(specs)
    yield from _addons(specs)
    yield from _upgrades(specs)
    yield from _regions(specs)
    yield from _categories(specs)
    yield from _ignored_fields(specs)
    yield from _order_fields(specs)
    yield from _early_termination(specs)
    yield from _stacks(specs)
    yield from _ach_eligibility(specs)
    if digits is not None:
        yield from _money_precision(specs, currency or "", digits)


def article(word: str) -> str:
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
                "SC014",
                ("categories",),
                f"{article(stype)} screen needs categories",
                kind="screens",
                id=rid,
            )
        if wants is None and "categories" in spec:
            yield Finding(
                "SC014",
                ("categories",),
                f"{article(stype)} screen shows no sales categories; remove categories",
                kind="screens",
                id=rid,
            )
        if stype == "terms" and "terms" not in spec:
            yield Finding(
                "SC014", ("terms",), "a terms screen needs terms to accept", kind="screens", id=rid
            )
        if stype != "terms" and "terms" in spec:
            yield Finding(
                "SC014",
                ("terms",),
                f"only terms screens list terms; this is {article(stype)} screen",
                kind="screens",
                id=rid,
            )
        if wants is None or single_resource:
            continue
        for i, cid in enumerate(spec.get("categories", [])):
            category = categories.get(cid)
            if category is not None and category["type"] != wants:
                yield Finding(
                    "SC003",
                    ("categories", i),
                    f"sales category {cid} has type {category['type']}; {article(stype)} screen shows only {wants} categories",
                    kind="screens",
                    id=rid,
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
                ("billing_period",),
                f"billing period {_describe_period(bill)} does not divide the subscription period "
                f"{_describe_period(sub)}",
                kind="service_plans",
                id=rid,
            )


def _addons(specs: Specs) -> Iterator[Finding]:
    for rid, spec in specs.get("service_plans", {}).items():
        seen: dict[str, int] = {}
        for i, addon in enumerate(spec.get("resources", [])):
            aid = addon["id"]
            if aid in seen:
                yield Finding(
                    "SC013",
                    ("resources", i, "id"),
                    f"add-on {aid} is defined twice in this plan (also at position {seen[aid] + 1})",
                    kind="service_plans",
                    id=rid,
                )
            seen.setdefault(aid, i)
            low, included, high = addon.get("min", 0), addon.get("included", 0), addon.get("max")
            if included < low:
                yield Finding(
                    "SC005",
                    ("resources", i, "included"),
                    f"add-on {aid}: included {included} is below min {low}",
                    kind="service_plans",
                    id=rid,
                )
            if high is not None and included > high:
                yield Finding(
                    "SC005",
                    ("resources", i, "included"),
                    f"add-on {aid}: included {included} is above max {high}",
                    kind="service_plans",
                    id=rid,
                )
            if high is not None and low > high:
                yield Finding(
                    "SC005",
                    ("resources", i, "min"),
                    f"add-on {aid}: min {low} is above max {high}",
                    kind="service_plans",
                    id=rid,
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
                    ("upgrades_to", i),
                    "a plan cannot upgrade to itself",
                    kind="service_plans",
                    id=rid,
                )
        graph[rid] = [t for t in targets if t != rid]
    for cycle in _cycles(graph):
        first = cycle[0]
        index = plans[first]["upgrades_to"].index(cycle[1])
        yield Finding(
            "SC006",
            ("upgrades_to", index),
            f"upgrade path forms a cycle: {' -> '.join(cycle)}",
            kind="service_plans",
            id=first,
        )


def _country(region: str) -> str:
    return region.split("-", 1)[0]


def _regions(specs: Specs) -> Iterator[Finding]:
    for rid, spec in specs.get("payment_methods", {}).items():
        for i, region in enumerate(spec["regions"]):
            if spec["type"] == "ach" and _country(region) != "US":
                yield Finding(
                    "SC008",
                    ("regions", i),
                    f"ACH is only available in the US, not in {region}",
                    kind="payment_methods",
                    id=rid,
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
        path,
        f"{country} is not an ISO 3166-1 country code"
        + (f"; did you mean {hint}?" if hint else ""),
        kind=kind,
        id=rid,
    )


def _default_applies_to(specs: Specs) -> Iterator[Finding]:
    for rid, spec in specs.get("purchase_scenarios", {}).items():
        if spec.get("default") and "applies_to" in spec:
            yield Finding(
                "SC009",
                ("applies_to",),
                "the default scenario serves every sales category without a scenario of its own; "
                "remove applies_to, or default: true",
                kind="purchase_scenarios",
                id=rid,
            )


def _categories(specs: Specs) -> Iterator[Finding]:
    categories = specs.get("sales_categories", {})
    graph = {cid: [c["parent"]] if c.get("parent") else [] for cid, c in categories.items()}
    for cid, c in categories.items():
        if c.get("parent") == cid:
            yield Finding(
                "SC011",
                ("parent",),
                "a category cannot be its own parent",
                kind="sales_categories",
                id=cid,
            )
            graph[cid] = []
    for cycle in _cycles(graph):
        yield Finding(
            "SC011",
            ("parent",),
            f"parent categories form a cycle: {' -> '.join(cycle)}",
            kind="sales_categories",
            id=cycle[0],
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
                ("plans",),
                f"has subcategories ({shown}), so it cannot list plans; move the plans into a subcategory",
                kind="sales_categories",
                id=cid,
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
                    yield Finding(
                        "SC019", ("lifecycle", "ignore_changes", i), problem, kind=kind, id=rid
                    )


def _money_precision(specs: Specs, currency: str, digits: int) -> Iterator[Finding]:
    for kind, items in specs.items():
        for rid, spec in items.items():
            for path, value in money_fields(kind, spec):
                places = decimal_places(value)
                if places > digits:
                    yield Finding(
                        "SC017",
                        path,
                        f"amount {quoted(value)} has {places} decimal places; {currency} allows {digits}"
                        if places != 1
                        else f"amount {quoted(value)} has 1 decimal place; {currency} allows {digits}",
                        kind=kind,
                        id=rid,
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
                    ("order_fields", i, "id"),
                    f"order field {fid} is defined twice in this plan (also at position "
                    f"{seen[fid] + 1})",
                    kind="service_plans",
                    id=rid,
                )
            seen.setdefault(fid, i)
            pattern = field.get("pattern")
            if pattern is None:
                continue
            where = ("order_fields", i, "pattern")
            if field["type"] == "checkbox":
                yield Finding(
                    "SC024",
                    where,
                    f"order field {fid} is a checkbox: the buyer only ticks it, so it takes no "
                    "pattern; remove pattern",
                    kind="service_plans",
                    id=rid,
                )
                continue
            problem = regex_problem(pattern)
            if problem is not None:
                yield Finding(
                    "SC024",
                    where,
                    f"order field {fid}: pattern is not a valid regular expression: {problem}",
                    kind="service_plans",
                    id=rid,
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
                ("rules", "early_termination"),
                'fee fixed needs an amount, for example amount: "50.00"',
                kind="service_plans",
                id=rid,
            )
        elif fee != "fixed" and "amount" in early:
            yield Finding(
                "SC026",
                ("rules", "early_termination", "amount"),
                f"amount is only for fee: fixed (fee {fee} charges {_FEE_MEANS.get(fee, fee)}); "
                "remove amount, or set fee: fixed",
                kind="service_plans",
                id=rid,
            )
        if "cancellation" in spec.get("price", {}):
            yield Finding(
                "SC026",
                ("price", "cancellation"),
                "price.cancellation and rules.early_termination both say what ending a "
                "subscription early costs; keep rules.early_termination and remove "
                "price.cancellation",
                kind="service_plans",
                id=rid,
            )


def _stacks(specs: Specs) -> Iterator[Finding]:
    for rid, spec in specs.get("tax_rules", {}).items():
        region = spec["region"]
        if spec.get("stacks") and "-" not in region:
            yield Finding(
                "SC027",
                ("stacks",),
                f"stacks is for subdivision rules (a {region}-XX rule charged on top of this "
                f"one); a rule for all of {region} already applies wherever no subdivision rule "
                "replaces it; remove stacks",
                kind="tax_rules",
                id=rid,
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
                    ("eligibility", "payment_terms", i),
                    "ACH pays the monthly invoice of accounts on Net terms; prepaid accounts pay "
                    "every purchase by card, so they cannot use ACH; remove prepaid",
                    kind="payment_methods",
                    id=rid,
                )
