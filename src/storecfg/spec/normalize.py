"""Normalization: the canonical form of a valid spec.

Defaults filled in, amounts with the currency's decimals, rates without trailing
zeros, keys in schema order. What the store keeps and what a plan compares is always
this form, so `8` and `8.00` never show as a change.
"""

from __future__ import annotations

import copy
import decimal
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache
from typing import Any

from .paths import Path_
from .schemas import raw_schema, resolve


def plain(value: Any) -> Any:
    """Plain dict and list copies of loaded values (no position-tracking subclasses)."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def decimal_places(value: str) -> int:
    _, _, frac = value.partition(".")
    return len(frac)


# a store repeats its list prices, and a Decimal round trip per amount adds up; bounded,
# as a long-running server normalizes what clients send
@lru_cache(maxsize=4096)
def canonical_money(value: str, digits: int) -> str:
    """ "8" -> "8.00" (for 2 digits). Values with too many digits are left alone."""
    if decimal_places(value) > digits:
        return value
    try:
        amount = decimal.Decimal(value)
    except decimal.InvalidOperation:
        return value
    return str(amount.quantize(decimal.Decimal(1).scaleb(-digits)))


@lru_cache(maxsize=4096)
def canonical_rate(value: str) -> str:
    try:
        amount = decimal.Decimal(value)
    except decimal.InvalidOperation:
        return value
    text = format(amount.normalize(), "f")
    return text


@dataclass
class Shape:
    """A compiled view of one object schema for filling defaults in schema order."""

    order: list[str]
    defaults: dict[str, Any]
    children: dict[str, Shape]
    items: dict[str, Shape]
    money: frozenset[str]
    rates: frozenset[str]

    @cached_property
    def fields(self) -> tuple[tuple[str, bool, bool, Shape | None, Shape | None], ...]:
        """Per property in schema order: its name, whether it is money, whether it is a
        rate, and the shapes of an object or of a list's items (what `_normalize` asks
        of every field of every resource, looked up once)."""
        return tuple(
            (
                name,
                name in self.money,
                name in self.rates,
                self.children.get(name),
                self.items.get(name),
            )
            for name in self.order
        )

    @cached_property
    def has_money(self) -> bool:
        """Whether any amount lives in this object or below it."""
        return bool(self.money) or any(
            c.has_money for c in (*self.children.values(), *self.items.values())
        )


def shape_of(schema: dict[str, Any], base: str, depth: int = 0) -> Shape:
    schema, base = resolve(schema, base)
    order: list[str] = []
    defaults: dict[str, Any] = {}
    children: dict[str, Shape] = {}
    items: dict[str, Shape] = {}
    money: set[str] = set()
    rates: set[str] = set()
    for name, sub in schema.get("properties", {}).items():
        order.append(name)
        resolved, sub_base = resolve(sub, base)
        if "default" in sub or "default" in resolved:
            defaults[name] = sub.get("default", resolved.get("default"))
        fmt = sub.get("x-storecfg-format", resolved.get("x-storecfg-format"))
        if fmt == "money":
            money.add(name)
        elif fmt == "rate":
            rates.add(name)
        if depth < 8 and resolved.get("type") == "object" and "properties" in resolved:
            children[name] = shape_of(resolved, sub_base, depth + 1)
        item = resolved.get("items")
        if depth < 8 and isinstance(item, dict):
            item_resolved, item_base = resolve(item, sub_base)
            if item_resolved.get("type") == "object" and "properties" in item_resolved:
                items[name] = shape_of(item_resolved, item_base, depth + 1)
    return Shape(order, defaults, children, items, frozenset(money), frozenset(rates))


@cache
def kind_shape(kind: str) -> Shape:
    if kind == "store":
        return shape_of(raw_schema("store")["$defs"]["settings"], "store")
    return shape_of(raw_schema(kind), kind)


def normalize(kind: str, spec: dict[str, Any], digits: int) -> dict[str, Any]:
    """A canonical copy of a valid spec: defaults filled, money and rates canonical,
    keys in schema order. `kind` "store" normalizes store settings."""
    return _normalize(kind_shape(kind), spec, digits)


def _normalize(shape: Shape, spec: dict[str, Any], digits: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    defaults = shape.defaults
    for name, money, rate, child, each in shape.fields:
        if name in spec:
            value = spec[name]
        elif name in defaults:
            value = defaults[name]
            if isinstance(value, (dict, list)):  # never share a mutable default
                value = copy.deepcopy(value)
        else:
            continue
        if money and isinstance(value, str):
            value = canonical_money(value, digits)
        elif rate and isinstance(value, str):
            value = canonical_rate(value)
        elif child is not None and isinstance(value, dict):
            value = _normalize(child, value, digits)
        elif each is not None and isinstance(value, list):
            value = [_normalize(each, v, digits) if isinstance(v, dict) else v for v in value]
        elif isinstance(value, (dict, list)):
            value = plain(value)
        out[name] = value
    for name in spec:  # fields the schema does not know (only in invalid specs)
        if name not in out and name not in shape.order:
            out[name] = plain(spec[name])
    return out


def money_fields(kind: str, spec: dict[str, Any]) -> list[tuple[Path_, str]]:
    """(path, value) of every money field in a spec."""
    found: list[tuple[Path_, str]] = []
    _money_fields(kind_shape(kind), spec, (), found)
    return found


def _money_fields(
    shape: Shape, spec: dict[str, Any], path: Path_, found: list[tuple[Path_, str]]
) -> None:
    # a list, not nested generators: every resource of a store is walked by the rules
    for name in shape.money:
        value = spec.get(name)
        if isinstance(value, str):
            found.append(((*path, name), value))
    for name, child in shape.children.items():
        if child.has_money:
            value = spec.get(name)
            if isinstance(value, dict):
                _money_fields(child, value, (*path, name), found)
    for name, child in shape.items.items():
        if child.has_money:
            value = spec.get(name)
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, dict):
                        _money_fields(child, item, (*path, name, i), found)
