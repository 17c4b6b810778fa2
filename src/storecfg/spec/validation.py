"""JSON Schema checks: one schema per kind, issues with paths and friendly messages.

jsonschema decides, with ECMA-262 pattern semantics (see `schemas.ecma_pattern`);
`fastcheck` answers first for the common valid case. Each jsonschema error becomes an
`Issue` whose message speaks the reseller's language (SC301-SC306).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

from ..errors import quoted
from ..model import KINDS
from .fastcheck import is_valid
from .issues import Issue
from .paths import Path_
from .schemas import BASE_URI, ecma_pattern, registry
from .suggest import did_you_mean, field_hint
from .yaml12 import source_text


@cache
def _compiled_pattern(pattern: str) -> re.Pattern[str]:
    return re.compile(ecma_pattern(pattern))


@cache
def _validator_class() -> Any:
    from jsonschema import Draft202012Validator, validators
    from jsonschema.exceptions import ValidationError

    def pattern(validator: Any, patrn: str, instance: Any, schema: dict[str, Any]) -> Any:
        if validator.is_type(instance, "string") and not _compiled_pattern(patrn).search(instance):
            yield ValidationError(f"{quoted(instance)} does not match {patrn!r}")

    return validators.extend(Draft202012Validator, {"pattern": pattern})


@cache
def _validator(ref: str) -> Any:
    return _validator_class()({"$ref": BASE_URI + ref}, registry=registry())


def validate_resource(kind: str, spec: Any) -> list[Issue]:
    """Every schema problem of one resource (empty when valid)."""
    if is_valid(kind, spec):
        return []
    return _issues(_validator(f"{kind}.schema.json"), spec, kind)


def validate_settings(settings: Any) -> list[Issue]:
    return _issues(_validator("store.schema.json#/$defs/settings"), settings, "store")


def validate_store_file(root: Any) -> list[Issue]:
    """store.yaml without its resource lists (those are checked resource by resource)."""
    rest = {k: v for k, v in root.items() if k not in KINDS}
    return _issues(_validator("store.schema.json"), rest, "store.yaml")


def _issues(validator: Any, instance: Any, kind: str) -> list[Issue]:
    out: list[Issue] = []
    for error in validator.iter_errors(instance):
        out.extend(_convert(error, kind))
    out.sort(key=lambda i: [str(p) for p in i.path])
    return out


_TYPE_NAMES = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "object": "a mapping",
    "array": "a list",
    "null": "nothing",
}


def describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"the number {value}"
    if isinstance(value, float):
        return f"the number {source_text(value)}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {shown!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


ID_RULES = "use lowercase letters, digits, '.', '_' and '-', start with a letter or digit, at most 63 characters"


def _convert(error: Any, kind: str) -> Iterator[Issue]:
    path: Path_ = tuple(error.absolute_path)
    validator = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance
    fmt = schema.get("x-storecfg-format")
    if validator == "additionalProperties" and isinstance(instance, dict):
        known = list(schema.get("properties", {}))
        for extra in [k for k in instance if k not in schema.get("properties", {})]:
            where = "key" if kind == "store.yaml" and not path else "field"
            yield Issue(
                "SC301",
                (*path, extra),
                f"unknown {where} {quoted(extra)}{field_hint(extra, known)}",
                True,
            )
        return
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        yield Issue("SC302", path, f"missing required field {missing!r}")
        return
    if validator == "oneOf" and {"url", "body"} <= set(schema.get("properties", {})):
        both = isinstance(instance, dict) and "url" in instance and "body" in instance
        yield Issue(
            "SC304",
            path,
            "give either url or body, not both" if both else "give either url or body",
        )
        return
    if fmt == "money" and validator in ("type", "pattern"):
        yield Issue("SC305", path, _money_message(instance))
        return
    if fmt == "rate" and validator in ("type", "pattern"):
        yield Issue("SC305", path, _rate_message(instance))
        return
    if fmt == "id" and validator in ("type", "pattern"):
        yield Issue("SC306", path, f"invalid ID {_shown(instance)}: {ID_RULES}")
        return
    if validator == "type":
        expected = schema.get("type")
        names = [expected] if isinstance(expected, str) else list(expected or [])
        want = " or ".join(_TYPE_NAMES.get(n, n) for n in names)
        yield Issue("SC303", path, f"expected {want}, got {describe(instance)}")
        return
    if validator == "enum":
        options = schema.get("enum", [])
        hint = (
            did_you_mean(str(instance), [str(o) for o in options])
            if isinstance(instance, str)
            else ""
        )
        yield Issue(
            "SC304",
            path,
            f"{describe(instance)} is not one of {', '.join(map(str, options))}{hint}",
        )
        return
    if validator == "const":
        yield Issue("SC304", path, f"expected {schema.get('const')!r}, got {describe(instance)}")
        return
    if validator == "pattern" and "propertyNames" in error.schema_path:
        rule = str(schema.get("description") or _parent_description(error)).rstrip(".")
        rule = rule[:1].lower() + rule[1:]
        yield Issue(
            "SC304", path, f"invalid name {_shown(instance)}" + (f": {rule}" if rule else "")
        )
        return
    if validator == "pattern":
        if fmt == "region":
            msg = f"invalid region {_shown(instance)}: use an ISO 3166-1 alpha-2 code (US, NO) or ISO 3166-2 (US-CA)"
        elif fmt == "currency":
            msg = f"invalid currency {_shown(instance)}: use an ISO 4217 code such as USD or EUR"
        else:
            msg = f"{describe(instance)} is not valid here ({schema.get('description', 'see the reference')})"
        yield Issue("SC304", path, msg)
        return
    if validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        yield Issue(
            "SC304",
            path,
            f"{_number(instance)} is {'below' if 'min' in validator.lower() else 'above'} the allowed "
            f"{'minimum' if 'min' in validator.lower() else 'maximum'} {error.validator_value}",
        )
        return
    if validator in ("minItems", "maxItems", "minLength", "maxLength"):
        yield Issue("SC304", path, _length_message(validator, instance, error.validator_value))
        return
    if validator == "anyOf" and _any_of_fields(schema):
        fields = ", ".join(_any_of_fields(schema))
        start = "must not be empty; give" if instance == {} else "needs"
        yield Issue("SC304", path, f"{start} at least one of {fields}")
        return
    if validator == "uniqueItems":
        yield Issue("SC304", path, "lists the same item more than once")
        return
    if validator == "propertyNames":
        yield Issue("SC304", path, f"invalid key: {_short_message(error)}")
        return
    yield Issue("SC304", path, _short_message(error))


def _shown(value: Any) -> str:
    """A value quoted in a message: a prefix of a string, a short repr of anything else."""
    if isinstance(value, str):
        return quoted(value)
    if isinstance(value, float):
        return _number(value)
    text = repr(value)
    return text if len(text) <= 40 else describe(value)


def _number(value: Any) -> str:
    return source_text(value) if isinstance(value, float) else str(value)


def _short_message(error: Any) -> str:
    """jsonschema's message, with the value it quotes in full cut to a prefix."""
    message = str(error.message)
    whole = repr(error.instance)
    if len(whole) > 40 and whole in message:
        message = message.replace(whole, _shown(error.instance))
    return message


def _any_of_fields(schema: dict[str, Any]) -> list[str]:
    """The fields of `anyOf: [{required: [a]}, {required: [b]}]` (give at least one)."""
    options = schema.get("anyOf")
    if not isinstance(options, list):
        return []
    fields = []
    for option in options:
        if not isinstance(option, dict) or set(option) != {"required"}:
            return []
        fields.extend(option["required"])
    return fields


def _parent_description(error: Any) -> str:
    """The description of the propertyNames schema a key failed."""
    parent = getattr(error, "parent", None)
    schema = getattr(parent, "schema", None)
    if isinstance(schema, dict):
        names = schema.get("propertyNames")
        if isinstance(names, dict):
            return str(names.get("description", ""))
    return ""


def _length_message(validator: str, instance: Any, bound: int) -> str:
    unit = "item" if "Items" in validator else "character"
    units = f"{unit}{'s' if bound != 1 else ''}"
    size = len(instance) if isinstance(instance, (str, list)) else None
    if validator.startswith("max") and size is not None:
        have = f"is {size:,} characters long" if unit == "character" else f"has {size:,} items"
        return f"{have}; at most {bound:,} {units} allowed"
    if size == 0:
        return "must not be empty" if bound == 1 else f"needs at least {bound:,} {units}"
    word = "at least" if validator.startswith("min") else "at most"
    return f"needs {word} {bound:,} {units}"


def _money_message(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return f'an amount must be a decimal string such as "8.00", got {describe(value)}'
    if isinstance(value, (int, float)):
        return (
            f'an amount must be a quoted decimal string such as "8.00", not the number {source_text(value)} '
            f'(numbers lose cents); write "{source_text(value)}"'
        )
    if value.strip().startswith("-"):
        return f"amount {quoted(value)} is negative; prices are never negative"
    return f'amount {quoted(value)} is not a decimal string such as "8.00"'


def _rate_message(value: Any) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (
            f'a tax rate must be a quoted decimal string such as "7.25", not the number {source_text(value)}; '
            f'write "{source_text(value)}"'
        )
    return (
        f'tax rate {_shown(value)} must be a percent from "0" to "100" written as a decimal string'
    )
