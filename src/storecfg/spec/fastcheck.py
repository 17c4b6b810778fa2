"""A quick yes/no schema check, compiled once from the same JSON Schemas.

jsonschema is thorough but slow per instance; most resources in a large store are
valid. Each kind's schema is compiled here into nested closures that answer "valid?"
several times faster.

The keywords in `CHECKED` are implemented exactly as JSON Schema 2020-12 means them
(JSON equality where `false` is not `0` and `1` is `1.0`, `$ref` applying beside its
sibling keywords, boolean schemas, recursive references), and tested against the
JSON-Schema-Test-Suite. A schema using anything in `DELEGATED` is not compiled:
`is_valid` then answers False for its kind, which only means "ask jsonschema", so
jsonschema stays the authority on everything this module does not claim.
"""

from __future__ import annotations

import numbers
import re
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from functools import cache
from typing import Any

from .schemas import ecma_pattern, raw_schema

Check = Callable[[Any], bool]
#: a document name (as written before '#' in a $ref) -> the schema it holds
Loader = Callable[[str], Any]

#: keywords checked here, exactly
CHECKED = frozenset(
    {
        "type",
        "enum",
        "const",
        "pattern",
        "minLength",
        "maxLength",
        "minimum",
        "maximum",
        "properties",
        "required",
        "additionalProperties",
        "propertyNames",
        "items",
        "minItems",
        "maxItems",
        "uniqueItems",
        "oneOf",
        "anyOf",
        "not",
        "$ref",
        "$defs",
    }
)

#: keywords that only annotate: nothing to check
ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "default",
        "examples",
        "$schema",
        "$comment",
        "deprecated",
        "readOnly",
        "writeOnly",
    }
)

#: what fastcheck leaves to jsonschema: a schema using any of these is not compiled
REF_ELSEWHERE = "$ref to another document"
REF_CYCLE = "$ref cycle"
PATTERN_ELSEWHERE = "pattern that Python's re cannot compile"
DELEGATED = frozenset(
    {
        "allOf",
        "if",
        "then",
        "else",
        "dependentSchemas",
        "dependentRequired",
        "prefixItems",
        "contains",
        "minContains",
        "maxContains",
        "patternProperties",
        "unevaluatedItems",
        "unevaluatedProperties",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "multipleOf",
        "minProperties",
        "maxProperties",
        "format",
        "contentEncoding",
        "contentMediaType",
        "contentSchema",
        "$id",
        "$anchor",
        "$dynamicRef",
        "$dynamicAnchor",
        "$vocabulary",
        REF_ELSEWHERE,
        REF_CYCLE,
        PATTERN_ELSEWHERE,
    }
)


class Unsupported(Exception):
    """The schema uses `keyword`, which fastcheck delegates to jsonschema."""

    def __init__(self, keyword: str) -> None:
        super().__init__(keyword)
        self.keyword = keyword


def _always(_: Any) -> bool:
    return True


def _never(_: Any) -> bool:
    return False


def _is_integer(x: Any) -> bool:
    t = type(x)
    if t is int:
        return True
    if t is bool:
        return False
    if isinstance(x, int):
        return True
    return isinstance(x, float) and x.is_integer()


def _is_number(x: Any) -> bool:
    t = type(x)
    if t is int or t is float:
        return True
    return t is not bool and isinstance(x, numbers.Number) and not isinstance(x, bool)


def _is_string(x: Any) -> bool:
    return type(x) is str or isinstance(x, str)


_TYPES: dict[str, Check] = {
    "string": _is_string,
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda x: x is True or x is False,
    "null": lambda x: x is None,
    "object": lambda x: isinstance(x, dict),
    "array": lambda x: isinstance(x, list),
}


def json_equal(one: Any, two: Any) -> bool:
    """Equality as JSON Schema means it: true is not 1, 1 is 1.0, at any depth."""
    if one is two:
        return True
    if isinstance(one, str) or isinstance(two, str):
        return bool(one == two)
    if isinstance(one, bool) or isinstance(two, bool):
        return False  # not the same object, so not the same boolean (nor a number)
    if isinstance(one, Mapping) and isinstance(two, Mapping):
        return len(one) == len(two) and all(
            key in two and json_equal(value, two[key]) for key, value in one.items()
        )
    if isinstance(one, Sequence) and isinstance(two, Sequence):
        return len(one) == len(two) and all(json_equal(a, b) for a, b in zip(one, two, strict=True))
    if isinstance(one, (Mapping, Sequence)) or isinstance(two, (Mapping, Sequence)):
        return False
    return bool(one == two)


def _frozen(value: Any) -> Any:
    """A hashable stand-in with JSON equality (for uniqueItems)."""
    if isinstance(value, str):
        return ("s", value)
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, Mapping):
        return ("o", frozenset((k, _frozen(v)) for k, v in value.items()))
    if isinstance(value, Sequence):
        return ("a", tuple(_frozen(v) for v in value))
    if value is None:
        return ("z", None)
    return ("n", value)


def _unique(values: list[Any]) -> bool:
    if all(type(v) is str for v in values):
        return len(set(values)) == len(values)
    try:
        return len({_frozen(v) for v in values}) == len(values)
    except TypeError:  # something unhashable that JSON does not have: compare pairwise
        return not any(json_equal(a, b) for i, a in enumerate(values) for b in values[i + 1 :])


def _pointer(document: Any, fragment: str) -> Any:
    """The subschema a JSON pointer fragment (`/$defs/a~1b`) names."""
    if fragment and not fragment.startswith("/"):
        raise Unsupported("$anchor")
    node = document
    for raw in fragment.split("/")[1:] if fragment else []:
        token = urllib.parse.unquote(raw).replace("~1", "/").replace("~0", "~")
        if isinstance(node, list):
            if not re.fullmatch(r"0|[1-9][0-9]*", token) or int(token) >= len(node):
                raise Unsupported(REF_ELSEWHERE)  # nothing there: jsonschema reports it
            node = node[int(token)]
        elif isinstance(node, dict) and token in node:
            node = node[token]
        else:
            raise Unsupported(REF_ELSEWHERE)
    return node


class _Builder:
    """Compiles one schema document (and the documents its $refs name)."""

    def __init__(self, root: Any, name: str, loader: Loader | None) -> None:
        self.documents: dict[str, Any] = {name: root}
        self.loader = loader
        #: compiled $ref targets; a None cell is being compiled (a recursive schema)
        self.refs: dict[tuple[str, str], list[Check | None]] = {}
        #: $refs followed since the instance was last descended into (cycle check)
        self.chain: list[tuple[str, str]] = []

    def document(self, name: str) -> Any:
        found = self.documents.get(name)
        if found is None:
            if self.loader is None:
                raise Unsupported(REF_ELSEWHERE)
            try:
                found = self.loader(name)
            except (KeyError, OSError, ValueError):
                raise Unsupported(REF_ELSEWHERE) from None
            self.documents[name] = found
        return found

    def ref(self, ref: Any, doc: str) -> Check:
        if not isinstance(ref, str):
            raise Unsupported(REF_ELSEWHERE)
        file, _, fragment = ref.partition("#")
        target_doc = file or doc
        key = (target_doc, fragment)
        if key in self.chain:
            raise Unsupported(REF_CYCLE)  # a $ref that comes back to itself checks nothing
        cell = self.refs.get(key)
        if cell is None:
            cell = [None]
            self.refs[key] = cell
            target = _pointer(self.document(target_doc), fragment)
            self.chain.append(key)
            try:
                cell[0] = self.schema(target, target_doc)
            finally:
                self.chain.pop()
        compiled = cell[0]
        if compiled is not None:
            return compiled
        recursive = cell  # still being compiled: look it up when it runs

        def deferred(x: Any) -> bool:
            check = recursive[0]
            assert check is not None
            return check(x)

        return deferred

    def below(self, schema: Any, doc: str) -> Check:
        """A subschema applied to a part of the instance (a property, an item)."""
        saved, self.chain = self.chain, []
        try:
            return self.schema(schema, doc)
        finally:
            self.chain = saved

    def schema(self, schema: Any, doc: str) -> Check:
        if schema is True:
            return _always
        if schema is False:
            return _never
        if not isinstance(schema, dict):
            raise Unsupported("a schema that is not an object or a boolean")
        for key in schema:
            if key in DELEGATED:
                raise Unsupported(key)
            if key not in CHECKED and key not in ANNOTATIONS and not key.startswith("x-"):
                raise Unsupported(key)
        checks: list[Check] = []
        kind = schema.get("type")
        # a check told its type is required tests the type itself (one closure, not two)
        fused = kind if kind in ("object", "array", "string", "integer", "number") else None
        if kind is not None and fused is None:
            if isinstance(kind, str):
                checks.append(_TYPES[kind])
            else:
                checks.append(_any([_TYPES[t] for t in kind]))
        if "enum" in schema:
            checks.append(_enum(schema["enum"]))
        if "const" in schema:
            checks.append(_enum([schema["const"]]))
        if fused == "string" or schema.keys() & {"pattern", "minLength", "maxLength"}:
            checks.append(_string(schema, fused == "string"))
        if fused in ("integer", "number") or schema.keys() & {"minimum", "maximum"}:
            checks.append(_number(schema, fused))
        if fused == "object" or schema.keys() & {
            "properties",
            "required",
            "additionalProperties",
            "propertyNames",
        }:
            checks.append(self.object(schema, doc, fused == "object"))
        if fused == "array" or schema.keys() & {"items", "minItems", "maxItems", "uniqueItems"}:
            checks.append(self.array(schema, doc, fused == "array"))
        if "oneOf" in schema:
            checks.append(_exactly_one([self.schema(s, doc) for s in schema["oneOf"]]))
        if "anyOf" in schema:
            checks.append(_any([self.schema(s, doc) for s in schema["anyOf"]]))
        if "not" in schema:
            checks.append(_negate(self.schema(schema["not"], doc)))
        if "$ref" in schema:
            checks.append(self.ref(schema["$ref"], doc))
        if not checks:
            return _always
        if len(checks) == 1:
            return checks[0]
        return _all(checks)

    def object(self, schema: dict[str, Any], doc: str, strict: bool) -> Check:
        props = {name: self.below(sub, doc) for name, sub in schema.get("properties", {}).items()}
        required = tuple(schema.get("required", ()))
        extra_schema = schema.get("additionalProperties", True)
        extra: Check | None = None if extra_schema is True else self.below(extra_schema, doc)
        names: Check | None = (
            self.below(schema["propertyNames"], doc) if "propertyNames" in schema else None
        )

        def check(x: Any) -> bool:
            if not isinstance(x, dict):
                return not strict  # object keywords alone apply to objects only
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

    def array(self, schema: dict[str, Any], doc: str, strict: bool) -> Check:
        items = schema.get("items", True)
        if isinstance(items, list):
            raise Unsupported("prefixItems")  # the array form of items is older drafts' prefixItems
        item: Check | None = None if items is True else self.below(items, doc)
        low, high = schema.get("minItems", 0), schema.get("maxItems")
        unique = schema.get("uniqueItems") is True

        def check(x: Any) -> bool:
            if not isinstance(x, list):
                return not strict  # array keywords alone apply to arrays only
            n = len(x)
            if n < low or (high is not None and n > high):
                return False
            if item is not None:
                for value in x:
                    if not item(value):
                        return False
            return not unique or _unique(x)

        return check


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
    if all(type(v) is str for v in values):
        strings = frozenset(values)
        return lambda x: _is_string(x) and x in strings
    allowed = list(values)
    return lambda x: any(json_equal(x, v) for v in allowed)


def _string(schema: dict[str, Any], strict: bool) -> Check:
    try:
        pattern = (
            re.compile(ecma_pattern(schema["pattern"])).search if "pattern" in schema else None
        )
    except re.error:
        raise Unsupported(PATTERN_ELSEWHERE) from None
    low = schema.get("minLength", 0)
    high = schema.get("maxLength")

    def check(x: Any) -> bool:
        if not _is_string(x):
            return not strict  # string keywords alone apply to strings only
        n = len(x)
        if n < low or (high is not None and n > high):
            return False
        return pattern is None or pattern(x) is not None

    return check


def _number(schema: dict[str, Any], kind: str | None) -> Check:
    low, high = schema.get("minimum"), schema.get("maximum")
    is_kind = _TYPES[kind] if kind else None

    def check(x: Any) -> bool:
        if is_kind is not None:
            if not is_kind(x):
                return False
        elif not _is_number(x):
            return True  # number keywords alone apply to numbers only
        # as jsonschema compares: NaN is neither below nor above anything
        return not ((low is not None and x < low) or (high is not None and x > high))

    return check


def compile_schema(schema: Any, loader: Loader | None = None, name: str = "") -> Check:
    """A check for `schema`; raises `Unsupported` when it uses a delegated keyword.

    `loader` gives the documents that a `$ref` names before its '#'."""
    return _Builder(schema, name, loader).schema(schema, name)


def _storecfg_schema(name: str) -> Any:
    if not name.endswith(".schema.json"):
        raise KeyError(name)
    return raw_schema(name.removesuffix(".schema.json"))


@cache
def _kind_check(kind: str) -> Check:
    try:
        return compile_schema(raw_schema(kind), _storecfg_schema, f"{kind}.schema.json")
    except (Unsupported, KeyError):
        return _never  # jsonschema alone decides for this kind


def is_valid(kind: str, spec: Any) -> bool:
    """True only if `spec` is valid against the kind's schema (False may be a false alarm)."""
    try:
        return _kind_check(kind)(spec)
    except RecursionError:  # a value nested deeper than Python recurses: ask jsonschema
        return False
