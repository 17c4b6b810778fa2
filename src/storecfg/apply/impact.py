"""The business-level impact of a plan: what a reseller should notice before approving.

Price changes with percentages, tax rate changes, plans unpublished, deleted or
taken out of categories, scenarios whose screen order changed, payment methods and
store settings that change. Each entry is plain data plus a ready message, and a
`risk` (high / medium) the views use to put dangerous changes first.
"""

from __future__ import annotations

import decimal
from typing import Any

from .diff import get_path


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


def impact_of(plan: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    changes = plan["changes"]
    currency = (plan.get("store") or {}).get("currency")
    deleted = [c["address"] for c in changes if c["action"] == "delete"]
    replaced = [c["address"] for c in changes if c["action"] == "replace"]
    if deleted:
        items.append(
            {
                "type": "delete",
                "risk": "high",
                "addresses": deleted,
                "message": f"{len(deleted)} resource{'s' if len(deleted) != 1 else ''} will be deleted: "
                + ", ".join(deleted[:10])
                + (f" and {len(deleted) - 10} more" if len(deleted) > 10 else ""),
            }
        )
    if replaced:
        items.append(
            {
                "type": "replace",
                "risk": "high",
                "addresses": replaced,
                "message": f"{len(replaced)} resource{'s' if len(replaced) != 1 else ''} will be deleted and created again: "
                + ", ".join(replaced[:10])
                + (f" and {len(replaced) - 10} more" if len(replaced) > 10 else ""),
            }
        )
    settings = plan.get("settings") or {}
    if settings.get("action") == "update":
        before, after = settings.get("before") or {}, settings.get("after") or {}
        if before.get("currency") != after.get("currency"):
            items.append(
                {
                    "type": "currency",
                    "risk": "high",
                    "address": "store",
                    "old": before.get("currency"),
                    "new": after.get("currency"),
                    "message": f"store currency changes {before.get('currency')} -> {after.get('currency')}: "
                    "every price is read in the new currency",
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
    for change in changes:
        action, kind, addr = change["action"], change["kind"], change["address"]
        before, after = change.get("before"), change.get("after")
        if action not in ("update", "replace"):
            if kind == "tax_rules" and action in ("create", "delete"):
                spec = after if action == "create" else before
                items.append(
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
                )
            if kind == "payment_methods" and action == "delete":
                items.append(
                    {
                        "type": "payment_method",
                        "risk": "high",
                        "address": addr,
                        "message": f"{addr}: payment method removed",
                    }
                )
            continue
        if kind == "service_plans":
            old_prices, new_prices = _prices(before), _prices(after)
            effective = price_effective(after)
            for label, new in new_prices.items():
                old = old_prices.get(label)
                if old is not None and old != new:
                    pct = _pct(old, new)
                    item = {
                        "type": "price",
                        "risk": "high",
                        "address": addr,
                        "name": change.get("name"),
                        "field": label,
                        "old": old,
                        "new": new,
                        "change": pct,
                        "currency": currency,
                        **_price_context(after or {}, label),
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
        elif kind == "tax_rules":
            old_rate, new_rate = (before or {}).get("rate"), (after or {}).get("rate")
            if old_rate != new_rate:
                items.append(
                    {
                        "type": "tax_rate",
                        "risk": "high",
                        "address": addr,
                        "name": change.get("name"),
                        "region": (after or {}).get("region"),
                        "old": old_rate,
                        "new": new_rate,
                        "change": _points(str(old_rate), str(new_rate)),
                        "message": f"{addr} rate {old_rate}% -> {new_rate}% ({_points(str(old_rate), str(new_rate))})",
                    }
                )
        elif kind == "sales_categories":
            removed = [
                d["item"] for d in change["diff"] if d["op"] == "remove" and d["path"] == "plans"
            ]
            for plan_id in removed:
                items.append(
                    {
                        "type": "removed_from_category",
                        "risk": "medium",
                        "address": addr,
                        "plan": plan_id,
                        "message": f"service_plans.{plan_id} is removed from {addr}",
                    }
                )
        elif kind == "purchase_scenarios":
            ops = [
                d
                for d in change["diff"]
                if d["path"] == "screens" and d["op"] in ("move", "insert", "remove")
            ]
            if ops:
                found_b, old_screens = get_path(before, "screens")
                found_a, new_screens = get_path(after, "screens")
                items.append(
                    {
                        "type": "scenario_order",
                        "risk": "medium",
                        "address": addr,
                        "old": old_screens if found_b else None,
                        "new": new_screens if found_a else None,
                        "message": f"{addr} screen order: {' > '.join(old_screens or [])} -> {' > '.join(new_screens or [])}",
                    }
                )
        elif kind == "payment_methods":
            old_regions, new_regions = (before or {}).get("regions"), (after or {}).get("regions")
            if old_regions != new_regions:
                items.append(
                    {
                        "type": "payment_regions",
                        "risk": "medium",
                        "address": addr,
                        "old": old_regions,
                        "new": new_regions,
                        "message": f"{addr} regions {', '.join(old_regions or [])} -> {', '.join(new_regions or [])}",
                    }
                )
    order = {"high": 0, "medium": 1}
    items.sort(key=lambda i: order.get(i["risk"], 2))
    return items
