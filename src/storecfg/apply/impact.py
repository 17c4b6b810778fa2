"""The business-level impact of a plan: what a reseller should notice before approving.

Price changes with percentages, tax rate changes, plans unpublished, deleted or
taken out of categories, scenarios whose screen order changed, payment methods and
store settings that change. Each entry is plain data plus a ready message, and a
`risk` (high / medium) the views use to put dangerous changes first.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable
from typing import Any

from ..model import address
from .diff import get_path
from .plandoc import Action, Change, ImpactItem, Plan, SettingsChange


def _pct(old: str, new: str) -> str:
    try:
        a, b = decimal.Decimal(old), decimal.Decimal(new)
    except (decimal.InvalidOperation, TypeError):
        return ""
    if a == 0:
        return "new charge" if b else ""
    change = (b - a) / a * 100
    return f"{'+' if change >= 0 else ''}{change.quantize(decimal.Decimal('0.1'), rounding=decimal.ROUND_HALF_UP)}%"


def _points(old: str, new: str) -> str:
    """A rate change in percentage points: "+1 percentage point", "-0.5 percentage points"."""
    try:
        delta = decimal.Decimal(new) - decimal.Decimal(old)
    except (decimal.InvalidOperation, TypeError):
        return ""
    unit = "percentage point" if abs(delta) == 1 else "percentage points"
    return f"{'+' if delta >= 0 else ''}{delta.normalize():f} {unit}"


#: how a price change reaches existing subscriptions, per `price.effective`
EFFECTIVE_WORDS = {
    "immediately": "takes effect immediately",
    "next_renewal": "takes effect at next renewal",
}


def price_effective(spec: dict[str, Any] | None) -> str:
    """When a change of a plan's price reaches existing subscriptions (`price.effective`)."""
    price = (spec or {}).get("price")
    value = price.get("effective") if isinstance(price, dict) else None
    return value if value in EFFECTIVE_WORDS else "immediately"


def _prices(spec: dict[str, Any] | None) -> dict[str, str]:
    """label -> amount for a plan's fees and its add-ons' fees."""
    out: dict[str, str] = {}
    if not spec:
        return out
    for fee, amount in (spec.get("price") or {}).items():
        if fee == "effective":
            continue
        out[f"price.{fee}"] = amount
    for addon in spec.get("resources") or []:
        for fee, amount in (addon.get("price") or {}).items():
            out[f"resources[{addon.get('id')}].price.{fee}"] = amount
    return out


def _price_context(spec: dict[str, Any], label: str) -> dict[str, Any]:
    """What an amount means, for the views: the fee, the billing period a recurring fee
    is charged per, and for an add-on its name and unit (amounts are per unit)."""
    fee = label.rsplit(".", 1)[-1]
    out: dict[str, Any] = {
        "fee": fee,
        "period": spec.get("billing_period") if fee == "recurring" else None,
        "addon": None,
        "unit": None,
    }
    if label.startswith("resources["):
        addon_id = label[len("resources[") : label.index("]")]
        addon: dict[str, Any] = next(
            (a for a in spec.get("resources") or [] if a.get("id") == addon_id), {}
        )
        out["addon"] = {"id": addon_id, "name": addon.get("name")}
        out["unit"] = addon.get("unit")
    return out


def _price_label(label: str) -> str:
    """price.recurring -> "recurring price"; resources[users].price.setup -> "add-on users setup price"."""
    fee = label.rsplit(".", 1)[-1]
    if label.startswith("resources["):
        return f"add-on {label[len('resources[') : label.index(']')]} {fee} price"
    return f"{fee} price"


def _plural(n: int, what: str) -> str:
    return f"{n} {what}{'s' if n != 1 else ''}"


def _listed(addresses: list[str]) -> str:
    more = f" and {len(addresses) - 10} more" if len(addresses) > 10 else ""
    return ", ".join(addresses[:10]) + more


def _deletes_and_replaces(changes: list[Change]) -> list[ImpactItem]:
    items: list[ImpactItem] = []
    deleted = [c["address"] for c in changes if c["action"] == "delete"]
    replaced = [c["address"] for c in changes if c["action"] == "replace"]
    if deleted:
        items.append(
            {
                "type": "delete",
                "risk": "high",
                "addresses": deleted,
                "message": f"{_plural(len(deleted), 'resource')} will be deleted: "
                + _listed(deleted),
            }
        )
    if replaced:
        items.append(
            {
                "type": "replace",
                "risk": "high",
                "addresses": replaced,
                "message": f"{_plural(len(replaced), 'resource')} will be deleted and created "
                "again: " + _listed(replaced),
            }
        )
    return items


def _settings(settings: SettingsChange) -> list[ImpactItem]:
    if settings["action"] != "update":
        return []
    items: list[ImpactItem] = []
    before, after = settings["before"] or {}, settings["after"] or {}
    if before.get("currency") != after.get("currency"):
        items.append(
            {
                "type": "currency",
                "risk": "high",
                "address": "store",
                "old": before.get("currency"),
                "new": after.get("currency"),
                "message": f"store currency changes {before.get('currency')} -> "
                f"{after.get('currency')}: every price is read in the new currency",
            }
        )
    if before.get("prices_include_tax") != after.get("prices_include_tax"):
        items.append(
            {
                "type": "tax_display",
                "risk": "high",
                "address": "store",
                "old": before.get("prices_include_tax"),
                "new": after.get("prices_include_tax"),
                "message": "prices will be shown "
                + ("including" if after.get("prices_include_tax") else "excluding")
                + " tax",
            }
        )
    return items


# ---------------------------------------------------------------- per kind: created or deleted


def _tax_rule_added_or_removed(change: Change, currency: str | None) -> list[ImpactItem]:
    action, addr = change["action"], change["address"]
    spec = (change.get("after") if action == "create" else change.get("before")) or {}
    return [
        {
            "type": "tax_rule",
            "risk": "high",
            "address": addr,
            "name": change.get("name"),
            "region": spec.get("region"),
            "rate": spec.get("rate"),
            "action": action,
            "message": f"{addr}: tax rule {'added' if action == 'create' else 'removed'} "
            f"({spec.get('region')} {spec.get('rate')}%)",
        }
    ]


def _payment_method_removed(change: Change, currency: str | None) -> list[ImpactItem]:
    if change["action"] != "delete":
        return []
    addr = change["address"]
    return [
        {
            "type": "payment_method",
            "risk": "high",
            "address": addr,
            "message": f"{addr}: payment method removed",
        }
    ]


# ---------------------------------------------------------------- per kind: updated or replaced


def _service_plan_changed(change: Change, currency: str | None) -> list[ImpactItem]:
    addr, before, after = change["address"], change.get("before"), change.get("after")
    items: list[ImpactItem] = []
    old_prices, new_prices = _prices(before), _prices(after)
    effective = price_effective(after)
    for label, new in new_prices.items():
        old = old_prices.get(label)
        if old is None or old == new:
            continue
        pct = _pct(old, new)
        context = _price_context(after or {}, label)
        item: ImpactItem = {
            "type": "price",
            "risk": "high",
            "address": addr,
            "name": change.get("name"),
            "field": label,
            "old": old,
            "new": new,
            "change": pct,
            "currency": currency,
            "fee": context["fee"],
            "period": context["period"],
            "addon": context["addon"],
            "unit": context["unit"],
            "message": f"{addr} {_price_label(label)} {old} -> {new}"
            + (f" ({pct})" if pct else ""),
        }
        # the plan's own fees (not add-ons'); a setup fee concerns new orders only
        if label.startswith("price.") and label != "price.setup":
            item["effective"] = effective
            item["message"] += f", {EFFECTIVE_WORDS[effective]}"
        items.append(item)
    if (before or {}).get("published", True) and not (after or {}).get("published", True):
        items.append(
            {
                "type": "unpublished",
                "risk": "high",
                "address": addr,
                "message": f"{addr} is unpublished: customers can no longer buy it",
            }
        )
    return items


def _tax_rate_changed(change: Change, currency: str | None) -> list[ImpactItem]:
    addr = change["address"]
    before, after = change.get("before") or {}, change.get("after") or {}
    old_rate, new_rate = before.get("rate"), after.get("rate")
    if old_rate == new_rate:
        return []
    points = _points(str(old_rate), str(new_rate))
    return [
        {
            "type": "tax_rate",
            "risk": "high",
            "address": addr,
            "name": change.get("name"),
            "region": after.get("region"),
            "old": old_rate,
            "new": new_rate,
            "change": points,
            "message": f"{addr} rate {old_rate}% -> {new_rate}% ({points})",
        }
    ]


def _category_changed(change: Change, currency: str | None) -> list[ImpactItem]:
    addr = change["address"]
    removed = [d["item"] for d in change["diff"] if d["op"] == "remove" and d["path"] == "plans"]
    return [
        {
            "type": "removed_from_category",
            "risk": "medium",
            "address": addr,
            "plan": plan_id,
            "message": f"{address('service_plans', plan_id)} is removed from {addr}",
        }
        for plan_id in removed
    ]


def _scenario_changed(change: Change, currency: str | None) -> list[ImpactItem]:
    addr = change["address"]
    moved = any(
        d["path"] == "screens" and d["op"] in ("move", "insert", "remove") for d in change["diff"]
    )
    if not moved:
        return []
    found_b, old_screens = get_path(change.get("before"), "screens")
    found_a, new_screens = get_path(change.get("after"), "screens")
    return [
        {
            "type": "scenario_order",
            "risk": "medium",
            "address": addr,
            "old": old_screens if found_b else None,
            "new": new_screens if found_a else None,
            "message": f"{addr} screen order: {' > '.join(old_screens or [])} -> "
            f"{' > '.join(new_screens or [])}",
        }
    ]


def _payment_regions_changed(change: Change, currency: str | None) -> list[ImpactItem]:
    addr = change["address"]
    old_regions = (change.get("before") or {}).get("regions")
    new_regions = (change.get("after") or {}).get("regions")
    if old_regions == new_regions:
        return []
    return [
        {
            "type": "payment_regions",
            "risk": "medium",
            "address": addr,
            "old": old_regions,
            "new": new_regions,
            "message": f"{addr} regions {', '.join(old_regions or [])} -> "
            f"{', '.join(new_regions or [])}",
        }
    ]


#: what a change of a resource means for the business: (change, store currency) -> notes
KindImpact = Callable[[Change, str | None], list[ImpactItem]]

#: for creates and deletes, by kind
ADDED_OR_REMOVED: dict[str, KindImpact] = {
    "tax_rules": _tax_rule_added_or_removed,
    "payment_methods": _payment_method_removed,
}
#: for updates and replaces, by kind
CHANGED: dict[str, KindImpact] = {
    "service_plans": _service_plan_changed,
    "tax_rules": _tax_rate_changed,
    "sales_categories": _category_changed,
    "purchase_scenarios": _scenario_changed,
    "payment_methods": _payment_regions_changed,
}
_BY_ACTION: dict[Action, dict[str, KindImpact]] = {
    "create": ADDED_OR_REMOVED,
    "delete": ADDED_OR_REMOVED,
    "update": CHANGED,
    "replace": CHANGED,
}
_RISK_ORDER = {"high": 0, "medium": 1}


def impact_of(plan: Plan) -> list[ImpactItem]:
    """The plan's impact notes, high risk first (otherwise in plan order)."""
    changes = plan["changes"]
    currency = plan["store"].get("currency")
    items = _deletes_and_replaces(changes) + _settings(plan["settings"])
    for change in changes:
        table = _BY_ACTION.get(change["action"])
        describe = table.get(change["kind"]) if table is not None else None
        if describe is not None:
            items += describe(change, currency)
    items.sort(key=lambda i: _RISK_ORDER.get(i["risk"], 2))
    return items
