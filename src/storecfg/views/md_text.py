"""Markdown text for a store manager: escaping what a store's data holds, and the
words a plan is told in (kinds, periods, amounts, fees, field-level facts).

Shared by the plan comment (markdown.py) and the drift views; nothing here knows the
layout of a comment or its length limit.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Mapping
from typing import Any

from ..escape import escape

#: kind -> (singular, plural) as a store manager says it
KIND_WORDS: dict[str, tuple[str, str]] = {
    "skus": ("SKU", "SKUs"),
    "resource_categories": ("resource category", "resource categories"),
    "service_plans": ("plan", "plans"),
    "sales_categories": ("sales category", "sales categories"),
    "terms": ("terms document", "terms documents"),
    "screens": ("screen", "screens"),
    "purchase_scenarios": ("purchase scenario", "purchase scenarios"),
    "tax_rules": ("tax rule", "tax rules"),
    "payment_methods": ("payment method", "payment methods"),
    "customization": ("branding", "branding"),
}

_FEE_WORDS = {
    "recurring": "recurring price",
    "setup": "setup fee",
    "renewal": "renewal fee",
    "cancellation": "cancellation fee",
}


# ------------------------------------------------------------------ escaping

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>|~#!])")
_SHORTCODE = re.compile(r":(?=[A-Za-z][A-Za-z0-9_+-]*:)")


def clean(text: str) -> str:
    """Control characters, bidirectional overrides and line breaks as visible escapes
    (`\\x1b`, `\\u202e`, `\\n`): a value shows what it holds and never starts a new
    Markdown block."""
    return escape(text)


def text(value: Any) -> str:
    """Text from a definition (a name, a message) as inline Markdown that shows it as it is."""
    out = _MD_SPECIAL.sub(r"\\\1", clean(str(value)))
    # no @mentions, no HTML entities, no emoji shortcodes from a store's data
    out = out.replace("&", "&amp;").replace("@", "&#64;")
    return _SHORTCODE.sub("&#58;", out)


def code(value: Any) -> str:
    """A code span that holds any text (a fence longer than its own backtick runs)."""
    body = clean(str(value))
    longest = max((len(run) for run in re.findall(r"`+", body)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if body.startswith("`") or body.endswith("`") or not body.strip() else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def comment_safe(value: str) -> str:
    """Text that cannot end an HTML comment."""
    return re.sub(r"[^A-Za-z0-9._/@+=, -]", "_", value).replace("--", "-_")


# ------------------------------------------------------------------ words


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def kind_word(kind: str, n: int = 1) -> str:
    one, many = KIND_WORDS.get(kind, (kind, kind))
    return one if n == 1 else many


def named(name: Any, rid: str) -> str:
    """`**Office 365 E3** (`o365-e3`)`, or the ID alone for a resource without a name."""
    if name:
        return f"**{text(name)}** ({code(rid)})"
    return code(rid)


def period_words(period: Any) -> str:
    """{length: 1, unit: month} -> "month"; {length: 3, unit: month} -> "3 months"."""
    if not isinstance(period, dict):
        return ""
    length, unit = period.get("length"), period.get("unit")
    if not isinstance(unit, str):
        return ""
    return unit if length == 1 else f"{length} {unit}s"


def amount(currency: Any, value: Any) -> str:
    return f"{currency} {value}" if currency else str(value)


def per_words(item: Mapping[str, Any]) -> str:
    """ "per user per month", "per month", "per user (one-time)", "(one-time)"."""
    parts = []
    if item.get("unit"):
        parts.append(f"per {clean(str(item['unit']))}")
    fee = item.get("fee")
    if fee == "recurring":
        period = period_words(item.get("period"))
        if period:
            parts.append(f"per {period}")
    elif fee == "setup":
        parts.append("(one-time)")
    elif fee == "renewal":
        parts.append("at each renewal")
    elif fee == "cancellation":
        parts.append("on early cancellation")
    return " ".join(parts)


def fee_words(item: Mapping[str, Any]) -> str:
    """ "recurring price", or "add-on **Extra users** setup fee"."""
    words = _FEE_WORDS.get(str(item.get("fee")), f"{item.get('fee')} price")
    addon = item.get("addon")
    if isinstance(addon, dict):
        label = text(addon["name"]) if addon.get("name") else code(addon.get("id"))
        return f"add-on {label} {words}"
    return words


def pct_text(change: Any) -> str:
    return str(change) if change else ""


def is_decrease(item: Mapping[str, Any]) -> bool:
    try:
        return decimal.Decimal(str(item["new"])) < decimal.Decimal(str(item["old"]))
    except (decimal.InvalidOperation, KeyError):
        return False


def short(value: Any) -> str | None:
    """A value short enough to show inline (None for long text and structures)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str) and len(value) <= 40 and "\n" not in value:
        return value
    if isinstance(value, list) and all(isinstance(v, str | int) for v in value):
        joined = ", ".join(str(v) for v in value)
        return joined if len(joined) <= 60 else None
    return None


def fact(d: Mapping[str, Any]) -> str:
    """One field-level difference in words (values shown when short)."""
    op, path = d["op"], code(d["path"])
    if op == "change":
        old, new = short(d.get("old")), short(d.get("new"))
        if old is not None and new is not None:
            return f"{path} {code(old)} → {code(new)}"
        return f"{path} changed"
    if op == "add":
        new = short(d.get("new"))
        return f"{path} set to {code(new)}" if new is not None else f"{path} set"
    if op == "remove" and "item" not in d:
        return f"{path} removed"
    if op == "insert":
        return f"{path}: added {code(d['item'])}"
    if op == "remove":
        return f"{path}: removed {code(d['item'])}"
    if op == "move":
        return f"{path}: moved {code(d['item'])} from {d['from']} to {d['to']}"
    return f"{path} changed"


def is_price_path(kind: str, path: str) -> bool:
    if kind != "service_plans":
        return False
    return (
        path == "price"
        or path.startswith("price.")
        or bool(re.match(r"resources\[[^]]*\]\.price", path))
    )
