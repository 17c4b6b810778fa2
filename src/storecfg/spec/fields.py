"""What storecfg knows about each field of a kind: references, replace, formats.

Read once from the schemas' annotations (see `schemas`); a field path uses '*' for
every item of a list.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ..errors import quoted
from .paths import Path_
from .schemas import raw_schema, resolve
from .suggest import did_you_mean


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
    schema, base = resolve(schema, base)
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
    node, base = resolve(raw_schema(kind), kind)
    walked: list[str] = []
    for step in dotted.split("."):
        props = node.get("properties")
        if props is not None:
            if step not in props or (not walked and step in ("id", "lifecycle")):
                known = [p for p in props if walked or p not in ("id", "lifecycle")]
                where = f"{'.'.join(walked)} has" if walked else f"{kind} have"
                return f"{where} no field {quoted(step)}{did_you_mean(step, known)}"
            node, base = resolve(props[step], base)
        elif node.get("type") == "array" and isinstance(node.get("items"), dict):
            node, base = resolve(node["items"], base)  # the step is an item's ID
        else:
            return f"{'.'.join(walked)} is a single value; it has no field {quoted(step)}"
        walked.append(step)
    return None
