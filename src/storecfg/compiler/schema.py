"""JSON Schema checks: one schema per kind, errors with JSON paths and friendly messages.

The schemas in schema/ are the single source of truth. Besides validation they carry
storecfg's own annotations, which this module reads once:

* ``x-storecfg-ref: KIND``  the field refers to a resource of KIND (rule SC001);
* ``x-storecfg-replace``    changing the field forces a replace (apply.diff);
* ``x-storecfg-format``     money, rate, id, region, currency: better messages and
                            canonical forms;
* ``default``               filled in by `normalize`.
"""

from __future__ import annotations

import copy
import decimal
import difflib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from ..errors import quoted
from ..model import KINDS
from .load import plain, source_text

Path_ = tuple[Any, ...]


def schema_dir() -> Path:
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "schemas", here.parent.parent / "schema"):
        if (candidate / "common.schema.json").is_file():
            return candidate
    raise FileNotFoundError("storecfg schemas not found")  # pragma: no cover - broken install


@cache
def raw_schema(name: str) -> dict[str, Any]:
    with open(schema_dir() / f"{name}.schema.json", encoding="utf-8") as fh:
        data: dict[str, Any] = json.load(fh)
    return data


BASE_URI = "https://schema.storecfg.dev/v1/"


@cache
def _registry() -> Any:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT202012

    def contents(name: str) -> dict[str, Any]:
        # without "$schema", a $ref into another file keeps our validator class (and its
        # pattern semantics) instead of switching to jsonschema's stock 2020-12 class
        return {k: v for k, v in raw_schema(name).items() if k != "$schema"}

    names = ["common", "store", "definition", *KINDS]
    return Registry().with_resources(
        (
            BASE_URI + f"{n}.schema.json",
            Resource.from_contents(contents(n), default_specification=DRAFT202012),
        )
        for n in names
    )


@cache
def ecma_pattern(pattern: str) -> str:
    """A JSON Schema pattern for Python's re: `$` means the end of the text, as in
    ECMA-262 (Python's `$` also matches before a final newline, so "aaa\\n" would pass
    ^[a-z]+$)."""
    return re.sub(r"(?<!\\)\$", r"\\Z", pattern)


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
    return _validator_class()({"$ref": BASE_URI + ref}, registry=_registry())


def _resolve(schema: dict[str, Any], base: str) -> tuple[dict[str, Any], str]:
    """Follow a local or cross-file $ref in our own schema files, for their annotations
    (keywords beside a $ref win here; fastcheck and jsonschema validate by the standard)."""
    for _ in range(32):
        if "$ref" not in schema:
            return schema, base
        ref = schema["$ref"]
        file, _, pointer = ref.partition("#")
        doc_name = file.removesuffix(".schema.json") if file else base
        target: Any = raw_schema(doc_name)
        for part in [p for p in pointer.split("/") if p]:
            target = target[int(part) if isinstance(target, list) else part]
        if not isinstance(target, dict):
            raise ValueError(f"$ref {ref!r} names no schema object")
        merged = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**target, **merged}
        base = doc_name
    raise ValueError("$ref chain does not end (a cycle?)")


@dataclass
class FieldInfo:
    """What storecfg knows about one field path of a kind (index steps are '*')."""

    ref: str | None = None
    replace: bool = False
    fmt: str | None = None


@dataclass
class KindInfo:
    kind: str
    properties: list[str]
    #: path with '*' for list items -> annotations
    fields: dict[Path_, FieldInfo] = field(default_factory=dict)

    @property
    def ref_paths(self) -> list[tuple[Path_, str]]:
        return [(p, f.ref) for p, f in self.fields.items() if f.ref]

    @property
    def replace_paths(self) -> list[Path_]:
        return [p for p, f in self.fields.items() if f.replace]


def _walk(
    schema: dict[str, Any], base: str, path: Path_, out: dict[Path_, FieldInfo], depth: int = 0
) -> None:
    if depth > 12:
        return
    annotated = schema
    schema, base = _resolve(schema, base)
    fmt = annotated.get("x-storecfg-format", schema.get("x-storecfg-format"))
    ref = annotated.get("x-storecfg-ref")
    replace = bool(annotated.get("x-storecfg-replace"))
    if path and (fmt or ref or replace):
        out[path] = FieldInfo(ref=ref, replace=replace, fmt=fmt)
    for name, sub in schema.get("properties", {}).items():
        _walk(sub, base, (*path, name), out, depth + 1)
    if isinstance(schema.get("items"), dict):
        _walk(schema["items"], base, (*path, "*"), out, depth + 1)


@cache
def kind_info(kind: str) -> KindInfo:
    schema = raw_schema(kind)
    info = KindInfo(kind, list(schema.get("properties", {})))
    _walk(schema, kind, (), info.fields)
    return info


@cache
def settings_info() -> KindInfo:
    schema = raw_schema("store")["$defs"]["settings"]
    info = KindInfo("store", list(schema.get("properties", {})))
    _walk(schema, "store", (), info.fields)
    return info


def values_at(spec: Any, path: Path_, prefix: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    """(concrete path, value) at a schema path where '*' stands for every list item."""
    if not path:
        yield prefix, spec
        return
    step, rest = path[0], path[1:]
    if step == "*":
        if isinstance(spec, list):
            for i, item in enumerate(spec):
                yield from values_at(item, rest, (*prefix, i))
    elif isinstance(spec, dict) and step in spec:
        yield from values_at(spec[step], rest, (*prefix, step))


def field_path_problem(kind: str, dotted: str) -> str | None:
    """Why a dotted field path (as in lifecycle.ignore_changes) names no field of the
    kind, or None when it does. A step into a list of objects is an item's ID."""
    node, base = _resolve(raw_schema(kind), kind)
    walked: list[str] = []
    for step in dotted.split("."):
        props = node.get("properties")
        if props is not None:
            if step not in props or (not walked and step in ("id", "lifecycle")):
                known = [p for p in props if walked or p not in ("id", "lifecycle")]
                where = f"{'.'.join(walked)} has" if walked else f"{kind} have"
                return f"{where} no field {quoted(step)}{did_you_mean(step, known)}"
            node, base = _resolve(props[step], base)
        elif node.get("type") == "array" and isinstance(node.get("items"), dict):
            node, base = _resolve(node["items"], base)  # the step is an item's ID
        else:
            return f"{'.'.join(walked)} is a single value; it has no field {quoted(step)}"
        walked.append(step)
    return None


# ---------------------------------------------------------------- validation


@dataclass(frozen=True, slots=True)
class SchemaIssue:
    path: Path_
    code: str
    message: str
    at_key: bool = False


def validate_resource(kind: str, spec: Any) -> list[SchemaIssue]:
    """Every schema problem of one resource (empty when valid)."""
    from .fastcheck import is_valid

    if is_valid(kind, spec):
        return []
    return _issues(_validator(f"{kind}.schema.json"), spec, kind)


def validate_settings(settings: Any) -> list[SchemaIssue]:
    return _issues(_validator("store.schema.json#/$defs/settings"), settings, "store")


def validate_store_file(root: Any) -> list[SchemaIssue]:
    """store.yaml without its resource lists (those are checked resource by resource)."""
    rest = {k: v for k, v in root.items() if k not in KINDS}
    return _issues(_validator("store.schema.json"), rest, "store.yaml")


def _issues(validator: Any, instance: Any, kind: str) -> list[SchemaIssue]:
    out: list[SchemaIssue] = []
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


def closest(word: str, candidates: Any) -> str | None:
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def did_you_mean(word: str, candidates: Any) -> str:
    match = closest(word, candidates)
    return f"; did you mean {match!r}?" if match else ""


def field_hint(word: str, known: list[str]) -> str:
    """Names the known field closest to an unknown one: "did you mean" for a likely typo,
    else the nearest by spelling (a field that contains the word, or that it contains,
    first), so the message always says what the schema does know (unless the word is far
    longer than any field name)."""
    if not known:
        return ""
    hint = did_you_mean(word, known)
    if hint or len(word) > 100:  # no field name is that long: not worth comparing
        return hint
    lowered = word.lower()

    def ratio(a: str, b: str) -> float:
        return difflib.SequenceMatcher(None, a, b).ratio()

    def nearness(name: str) -> tuple[bool, float, float]:
        contained = name in lowered or lowered in name
        # word by word, so `colour_scheme` finds `primary_color`
        words = max(ratio(a, b) for a in lowered.split("_") for b in name.split("_"))
        return (contained, words, ratio(lowered, name))

    return f"; the closest known field is {max(known, key=nearness)!r}"


ID_RULES = "use lowercase letters, digits, '.', '_' and '-', start with a letter or digit, at most 63 characters"


def _convert(error: Any, kind: str) -> Iterator[SchemaIssue]:
    path: Path_ = tuple(error.absolute_path)
    validator = error.validator
    schema = error.schema if isinstance(error.schema, dict) else {}
    instance = error.instance
    fmt = schema.get("x-storecfg-format")
    if validator == "additionalProperties" and isinstance(instance, dict):
        known = list(schema.get("properties", {}))
        for extra in [k for k in instance if k not in schema.get("properties", {})]:
            where = "key" if kind == "store.yaml" and not path else "field"
            yield SchemaIssue(
                (*path, extra),
                "SC301",
                f"unknown {where} {quoted(extra)}{field_hint(extra, known)}",
                True,
            )
        return
    if validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        yield SchemaIssue(path, "SC302", f"missing required field {missing!r}")
        return
    if validator == "oneOf" and {"url", "body"} <= set(schema.get("properties", {})):
        both = isinstance(instance, dict) and "url" in instance and "body" in instance
        yield SchemaIssue(
            path,
            "SC304",
            "give either url or body, not both" if both else "give either url or body",
        )
        return
    if fmt == "money" and validator in ("type", "pattern"):
        yield SchemaIssue(path, "SC305", _money_message(instance))
        return
    if fmt == "rate" and validator in ("type", "pattern"):
        yield SchemaIssue(path, "SC305", _rate_message(instance))
        return
    if fmt == "id" and validator in ("type", "pattern"):
        yield SchemaIssue(path, "SC306", f"invalid ID {_shown(instance)}: {ID_RULES}")
        return
    if validator == "type":
        expected = schema.get("type")
        names = [expected] if isinstance(expected, str) else list(expected or [])
        want = " or ".join(_TYPE_NAMES.get(n, n) for n in names)
        yield SchemaIssue(path, "SC303", f"expected {want}, got {describe(instance)}")
        return
    if validator == "enum":
        options = schema.get("enum", [])
        hint = (
            did_you_mean(str(instance), [str(o) for o in options])
            if isinstance(instance, str)
            else ""
        )
        yield SchemaIssue(
            path,
            "SC304",
            f"{describe(instance)} is not one of {', '.join(map(str, options))}{hint}",
        )
        return
    if validator == "const":
        yield SchemaIssue(
            path, "SC304", f"expected {schema.get('const')!r}, got {describe(instance)}"
        )
        return
    if validator == "pattern" and "propertyNames" in error.schema_path:
        rule = str(schema.get("description") or _parent_description(error)).rstrip(".")
        rule = rule[:1].lower() + rule[1:]
        yield SchemaIssue(
            path, "SC304", f"invalid name {_shown(instance)}" + (f": {rule}" if rule else "")
        )
        return
    if validator == "pattern":
        if fmt == "region":
            msg = f"invalid region {_shown(instance)}: use an ISO 3166-1 alpha-2 code (US, NO) or ISO 3166-2 (US-CA)"
        elif fmt == "currency":
            msg = f"invalid currency {_shown(instance)}: use an ISO 4217 code such as USD or EUR"
        else:
            msg = f"{describe(instance)} is not valid here ({schema.get('description', 'see the reference')})"
        yield SchemaIssue(path, "SC304", msg)
        return
    if validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        yield SchemaIssue(
            path,
            "SC304",
            f"{_number(instance)} is {'below' if 'min' in validator.lower() else 'above'} the allowed "
            f"{'minimum' if 'min' in validator.lower() else 'maximum'} {error.validator_value}",
        )
        return
    if validator in ("minItems", "maxItems", "minLength", "maxLength"):
        yield SchemaIssue(
            path, "SC304", _length_message(validator, instance, error.validator_value)
        )
        return
    if validator == "anyOf" and _any_of_fields(schema):
        fields = ", ".join(_any_of_fields(schema))
        start = "must not be empty; give" if instance == {} else "needs"
        yield SchemaIssue(path, "SC304", f"{start} at least one of {fields}")
        return
    if validator == "uniqueItems":
        yield SchemaIssue(path, "SC304", "lists the same item more than once")
        return
    if validator == "propertyNames":
        yield SchemaIssue(path, "SC304", f"invalid key: {_short_message(error)}")
        return
    yield SchemaIssue(path, "SC304", _short_message(error))


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


# ---------------------------------------------------------------- normalization


def decimal_places(value: str) -> int:
    _, _, frac = value.partition(".")
    return len(frac)


def canonical_money(value: str, digits: int) -> str:
    """ "8" -> "8.00" (for 2 digits). Values with too many digits are left alone."""
    if decimal_places(value) > digits:
        return value
    try:
        amount = decimal.Decimal(value)
    except decimal.InvalidOperation:
        return value
    return str(amount.quantize(decimal.Decimal(1).scaleb(-digits)))


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
    def has_money(self) -> bool:
        """Whether any amount lives in this object or below it."""
        return bool(self.money) or any(
            c.has_money for c in (*self.children.values(), *self.items.values())
        )


def _shape(schema: dict[str, Any], base: str, depth: int = 0) -> Shape:
    schema, base = _resolve(schema, base)
    order: list[str] = []
    defaults: dict[str, Any] = {}
    children: dict[str, Shape] = {}
    items: dict[str, Shape] = {}
    money: set[str] = set()
    rates: set[str] = set()
    for name, sub in schema.get("properties", {}).items():
        order.append(name)
        resolved, sub_base = _resolve(sub, base)
        if "default" in sub or "default" in resolved:
            defaults[name] = sub.get("default", resolved.get("default"))
        fmt = sub.get("x-storecfg-format", resolved.get("x-storecfg-format"))
        if fmt == "money":
            money.add(name)
        elif fmt == "rate":
            rates.add(name)
        if depth < 8 and resolved.get("type") == "object" and "properties" in resolved:
            children[name] = _shape(resolved, sub_base, depth + 1)
        item = resolved.get("items")
        if depth < 8 and isinstance(item, dict):
            item_resolved, item_base = _resolve(item, sub_base)
            if item_resolved.get("type") == "object" and "properties" in item_resolved:
                items[name] = _shape(item_resolved, item_base, depth + 1)
    return Shape(order, defaults, children, items, frozenset(money), frozenset(rates))


@cache
def kind_shape(kind: str) -> Shape:
    """The shape of a kind's schema (`store`: the store settings): its fields in
    schema order, their defaults, nested objects and money fields."""
    if kind == "store":
        return _shape(raw_schema("store")["$defs"]["settings"], "store")
    return _shape(raw_schema(kind), kind)


def normalize(kind: str, spec: dict[str, Any], digits: int) -> dict[str, Any]:
    """A canonical copy of a valid spec: defaults filled, money and rates canonical,
    keys in schema order. `kind` "store" normalizes store settings."""
    return _normalize(kind_shape(kind), spec, digits)


def _normalize(shape: Shape, spec: dict[str, Any], digits: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in shape.order:
        if name in spec:
            value = spec[name]
        elif name in shape.defaults:
            value = shape.defaults[name]
            if isinstance(value, (dict, list)):  # never share a mutable default
                value = copy.deepcopy(value)
        else:
            continue
        if name in shape.money and isinstance(value, str):
            value = canonical_money(value, digits)
        elif name in shape.rates and isinstance(value, str):
            value = canonical_rate(value)
        elif name in shape.children and isinstance(value, dict):
            value = _normalize(shape.children[name], value, digits)
        elif name in shape.items and isinstance(value, list):
            sub = shape.items[name]
            value = [_normalize(sub, v, digits) if isinstance(v, dict) else v for v in value]
        elif isinstance(value, (dict, list)):
            value = plain(value)
        out[name] = value
    for name in spec:  # fields the schema does not know (only in invalid specs)
        if name not in out and name not in shape.order:
            out[name] = plain(spec[name])
    return out


def money_fields(kind: str, spec: dict[str, Any]) -> Iterator[tuple[Path_, str]]:
    """(path, value) of every money field in a spec."""
    yield from _money_fields(kind_shape(kind), spec, ())


def _money_fields(shape: Shape, spec: dict[str, Any], path: Path_) -> Iterator[tuple[Path_, str]]:
    for name in shape.money:
        value = spec.get(name)
        if isinstance(value, str):
            yield (*path, name), value
    for name, child in shape.children.items():
        value = spec.get(name)
        if isinstance(value, dict) and child.has_money:
            yield from _money_fields(child, value, (*path, name))
    for name, child in shape.items.items():
        value = spec.get(name)
        if isinstance(value, list) and child.has_money:
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    yield from _money_fields(child, item, (*path, name, i))
