"""A quick yes/no schema check, compiled once from the same JSON Schemas.

jsonschema is thorough but slow per instance; most resources in a large store are
valid. Each kind's schema is compiled here into nested closures that answer "valid?"
several times faster. The check is sound in one direction only: it may answer "no"
for a valid resource (then jsonschema decides and finds nothing), but it answers
"yes" only when jsonschema would. Keywords it does not know make it answer "no"
for that schema, so jsonschema stays the authority on everything.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

Check = Callable[[Any], bool]

_ANNOTATIONS = frozenset(
    {
        "description",
        "title",
        "default",
        "examples",
        "$schema",
        "$id",
        "$comment",
        "$defs",
        "deprecated",
        "readOnly",
        "writeOnly",
    }
)


def _never(_: Any) -> bool:
    return False


def _is_integer(x: Any) -> bool:
    t = type(x)
    return t is int or (t is float and x.is_integer())


def _is_number(x: Any) -> bool:
    t = type(x)
    return t is int or t is float


_TYPES: dict[str, Check] = {
    "string": lambda x: type(x) is str,
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda x: type(x) is bool,
    "null": lambda x: x is None,
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
}


class _Unsupported(Exception):
    pass


def _compile(schema: Any, base: str, depth: int = 0) -> Check:
    from .schema import _resolve

    if schema is True:
        return lambda _: True
    if schema is False:
        return _never
    if not isinstance(schema, dict) or depth > 20:
        raise _Unsupported
    schema, base = _resolve(schema, base)
    checks: list[Check] = []
    keys = set(schema) - _ANNOTATIONS - {k for k in schema if k.startswith("x-")}

    kind = schema.get("type")
    # a builder told its type is required checks the type itself (one closure, not two)
    fused = kind if kind in ("object", "array", "string", "integer", "number") else None
    if kind is not None:
        if fused is None:
            checks.append(
                _TYPES[kind] if isinstance(kind, str) else _any([_TYPES[t] for t in kind])
            )
        keys.discard("type")
    if "enum" in keys:
        checks.append(_enum(schema["enum"]))
        keys.discard("enum")
    if "const" in keys:
        checks.append(_enum([schema["const"]]))
        keys.discard("const")
    if fused == "string" or keys & {"pattern", "minLength", "maxLength"}:
        checks.append(_string(schema, keys, fused == "string"))
    if fused in ("integer", "number") or keys & {"minimum", "maximum"}:
        checks.append(_number(schema, keys, fused))
    if fused == "object" or keys & {
        "properties",
        "required",
        "additionalProperties",
        "propertyNames",
        "minProperties",
    }:
        checks.append(_object(schema, base, keys, depth, fused == "object"))
    if fused == "array" or keys & {"items", "minItems", "maxItems", "uniqueItems"}:
        checks.append(_array(schema, base, keys, depth, fused == "array"))
    if "oneOf" in keys:
        checks.append(_exactly_one([_compile(sub, base, depth + 1) for sub in schema["oneOf"]]))
        keys.discard("oneOf")
    if "anyOf" in keys:
        checks.append(_any([_compile(sub, base, depth + 1) for sub in schema["anyOf"]]))
        keys.discard("anyOf")
    if "not" in keys:
        checks.append(_negate(_compile(schema["not"], base, depth + 1)))
        keys.discard("not")
    if keys:
        raise _Unsupported(sorted(keys))
    if not checks:
        return lambda _: True
    if len(checks) == 1:
        return checks[0]
    return _all(checks)


def _all(checks: list[Check]) -> Check:
    if len(checks) == 2:
        first, second = checks
        return lambda x: first(x) and second(x)
    return lambda x: all(c(x) for c in checks)


def _any(checks: list[Check]) -> Check:
    return lambda x: any(c(x) for c in checks)


def _exactly_one(checks: list[Check]) -> Check:
    return lambda x: sum(1 for c in checks if c(x)) == 1


def _negate(check: Check) -> Check:
    return lambda x: not check(x)


def _enum(values: list[Any]) -> Check:
    """JSON equality: true is not 1, and 1 is 1.0."""
    if all(type(v) is str for v in values):
        strings = frozenset(values)
        return lambda x: type(x) is str and x in strings
    allowed = [(type(v) is bool, v) for v in values]
    return lambda x: any((type(x) is bool) == is_bool and x == v for is_bool, v in allowed)


def _string(schema: dict[str, Any], keys: set[str], strict: bool) -> Check:
    keys -= {"pattern", "minLength", "maxLength"}
    from .schema import ecma_pattern

    pattern = re.compile(ecma_pattern(schema["pattern"])).search if "pattern" in schema else None
    low = schema.get("minLength", 0)
    high = schema.get("maxLength")

    def check(x: Any) -> bool:
        if type(x) is not str:
            return not strict  # string keywords alone apply to strings only
        n = len(x)
        if n < low or (high is not None and n > high):
            return False
        return pattern is None or pattern(x) is not None

    return check


def _number(schema: dict[str, Any], keys: set[str], kind: str | None) -> Check:
    keys -= {"minimum", "maximum"}
    low, high = schema.get("minimum"), schema.get("maximum")
    is_kind = _TYPES[kind] if kind else None

    def check(x: Any) -> bool:
        if is_kind is not None:
            if not is_kind(x):
                return False
        elif not _is_number(x):
            return True  # number keywords alone apply to numbers only
        return (low is None or x >= low) and (high is None or x <= high)

    return check


def _object(schema: dict[str, Any], base: str, keys: set[str], depth: int, strict: bool) -> Check:
    keys -= {"properties", "required", "additionalProperties", "propertyNames", "minProperties"}
    least = schema.get("minProperties", 0)
    props = {
        name: _compile(sub, base, depth + 1) for name, sub in schema.get("properties", {}).items()
    }
    required = tuple(schema.get("required", ()))
    extra_schema = schema.get("additionalProperties", True)
    extra: Check | None = None if extra_schema is True else _compile(extra_schema, base, depth + 1)
    names: Check | None = (
        _compile(schema["propertyNames"], base, depth + 1) if "propertyNames" in schema else None
    )

    def check(x: Any) -> bool:
        if not isinstance(x, dict):
            return not strict
        if len(x) < least:
            return False
        for name in required:
            if name not in x:
                return False
        for name, value in x.items():
            if names is not None and not names(name):
                return False
            sub = props.get(name)
            if sub is not None:
                if not sub(value):
                    return False
            elif extra is not None and not extra(value):
                return False
        return True

    return check


def _array(schema: dict[str, Any], base: str, keys: set[str], depth: int, strict: bool) -> Check:
    keys -= {"items", "minItems", "maxItems", "uniqueItems"}
    item = _compile(schema["items"], base, depth + 1) if "items" in schema else None
    low, high = schema.get("minItems", 0), schema.get("maxItems")
    unique = bool(schema.get("uniqueItems"))

    def check(x: Any) -> bool:
        if not isinstance(x, list):
            return not strict
        n = len(x)
        if n < low or (high is not None and n > high):
            return False
        if item is not None:
            for value in x:
                if not item(value):
                    return False
        # uniqueness is judged here for lists of strings only; anything else goes to jsonschema
        return not unique or (all(type(v) is str for v in x) and len(set(x)) == n)

    return check


@cache
def _kind_check(kind: str) -> Check:
    from .schema import raw_schema

    try:
        return _compile(raw_schema(kind), kind)
    except (_Unsupported, KeyError, re.error):
        return _never  # jsonschema alone decides for this kind


def is_valid(kind: str, spec: Any) -> bool:
    """True only if `spec` is valid against the kind's schema (False may be a false alarm)."""
    return _kind_check(kind)(spec)
