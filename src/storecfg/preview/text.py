"""How the preview words amounts, periods, quantities, rules and regions for a customer.

Plain functions from spec values to short English text. They never fail on an
unexpected shape (a live store may hold resources written by another tool): what they
cannot read, they leave out.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

_UNIT_ADVERB = {"day": "daily", "month": "monthly", "year": "yearly"}


def name_of(spec: dict[str, Any] | None, fallback: str) -> str:
    """What a resource is called: its name, else its title, else `fallback`."""
    if not spec:
        return fallback
    return str(spec.get("name") or spec.get("title") or fallback)


def money(currency: str, amount: Any) -> str:
    """`USD 10.00`: the store's currency code and the amount as the definition writes it."""
    return f"{currency} {amount}"


def decimal(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def is_zero(amount: Any) -> bool:
    value = decimal(amount)
    return value is None or value == 0


def period(value: Any) -> tuple[int, str] | None:
    if not isinstance(value, dict):
        return None
    length, unit = value.get("length"), value.get("unit")
    if not isinstance(length, int) or isinstance(length, bool) or unit not in _UNIT_ADVERB:
        return None
    return length, str(unit)


def per_period(value: Any) -> str:
    """`per month`, `per 3 months`, `per year` (empty when unreadable)."""
    p = period(value)
    if p is None:
        return ""
    length, unit = p
    return f"per {unit}" if length == 1 else f"per {length} {unit}s"


def term(subscription: Any, billing: Any) -> str:
    """`1-year term, billed monthly`; `1-month term`, when billing matches the term."""
    sub, bill = period(subscription), period(billing)
    if sub is None:
        return ""
    text = f"{sub[0]}-{sub[1]} term"
    if bill is None or bill == sub:
        return text
    if bill[0] == 1:
        return f"{text}, billed {_UNIT_ADVERB[bill[1]]}"
    return f"{text}, billed every {bill[0]} {bill[1]}s"


def duration(value: Any) -> str:
    """`30 days`, `1 month`."""
    p = period(value)
    if p is None:
        return ""
    length, unit = p
    return f"{length} {unit}" if length == 1 else f"{length} {unit}s"


def percent_change(old: Any, new: Any) -> str:
    """`+10.0%`, `-5.0%`; empty when the old amount is zero or unreadable."""
    before, after = decimal(old), decimal(new)
    if before is None or after is None or before == 0:
        return ""
    change = (after - before) * 100 / before
    return f"{change:+.1f}%"


def _plural(unit: str, n: Any) -> str:
    if n == 1 or unit.endswith("s") or unit.isupper():
        return unit
    return unit + "s"


def start_quantity(addon: dict[str, Any]) -> str:
    """`1 user`: what a new subscription starts with (the included or minimum amount)."""
    unit = str(addon.get("unit") or "unit")
    amounts = [v for v in (addon.get("included"), addon.get("min")) if isinstance(v, int)]
    n = max(amounts, default=0)
    return f"{n} {_plural(unit, n)}" if n else ""


def quantity(addon: dict[str, Any]) -> str:
    """`1 included; 1 to 300 users`: what a customer may order of an add-on."""
    unit = str(addon.get("unit") or "unit")
    units = _plural(unit, 2)
    parts = []
    included = addon.get("included") or 0
    if included:
        parts.append(f"{included} included")
    low, high = addon.get("min") or 0, addon.get("max")
    if high is not None:
        parts.append(f"{low} to {high} {units}")
    elif low:
        parts.append(f"at least {low} {units}")
    else:
        parts.append(f"any number of {units}")
    return "; ".join(parts)


def mapping(value: Any) -> dict[str, Any]:
    """value when it is a mapping, else an empty one (for specs of unknown shape)."""
    return value if isinstance(value, dict) else {}


def rate(value: Any) -> str:
    return f"{value}%"


def rule_notes(plan: dict[str, Any], currency: str) -> list[str]:
    """The plan's ordering rules, as a customer or store manager would say them."""
    rules = mapping(plan.get("rules"))
    notes: list[str] = []
    limit = rules.get("max_active_subscriptions_per_customer")
    if limit == 1:
        notes.append("One active subscription per customer")
    elif isinstance(limit, int):
        notes.append(f"At most {limit} active subscriptions per customer")
    per_order = rules.get("max_quantity_per_order")
    if isinstance(per_order, int):
        notes.append("One per order" if per_order == 1 else f"At most {per_order} per order")
    if rules.get("reseller_self_order") is False:
        notes.append("Resellers cannot order it for themselves")
    if rules.get("cancellation") == "requires_approval":
        notes.append("Cancellation needs an account manager's approval")
    if rules.get("provisioning") == "manual":
        notes.append("Set up by an operator after the order (manual provisioning)")
    early = rules.get("early_termination")
    if isinstance(early, dict):
        fee = early.get("fee")
        if fee == "remaining_term":
            notes.append("Early termination: the rest of the term is charged")
        elif fee == "fixed":
            notes.append(f"Early termination fee: {money(currency, early.get('amount', '?'))}")
        elif fee == "none":
            notes.append("No early termination fee")
    if plan.get("auto_renew") is False:
        notes.append("Does not renew automatically")
    return notes


BILLING_MODELS = {
    "charge_before_billing_period": "charged at the start of each billing period",
    "charge_after_billing_period": "charged at the end of each billing period",
    "charge_before_subscription_period": "the whole term charged up front",
}

SCREEN_TYPES = {
    "sales_categories": "Choose services",
    "addons": "Add-ons",
    "cart_review": "Review your cart",
    "terms": "Terms and conditions",
    "payment": "Payment",
    "checkout": "Checkout",
}

PAYMENT_TYPES = {
    "credit_card": "Credit card",
    "debit_card": "Debit card",
    "ach": "ACH bank transfer",
}


def eligibility(value: Any) -> str:
    """`Net-30 payment terms; business customers only` from payment_methods[].eligibility."""
    if not isinstance(value, dict):
        return ""
    parts = []
    terms = [str(t) for t in value.get("payment_terms") or []]
    if terms:
        shown = ", ".join(t.replace("net", "Net-") if t.startswith("net") else t for t in terms)
        parts.append(f"{shown} payment terms")
    types = [str(t) for t in value.get("customer_types") or []]
    if types:
        parts.append(f"{' and '.join(types)} customers only")
    return "; ".join(parts)
