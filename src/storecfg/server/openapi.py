"""schema/openapi.yaml bundled into one self-contained document for /openapi.json.

The YAML file refers to the resource schemas by file name; here those files are
hoisted into components/schemas and every $ref is rewritten to point there. A
reference marked `x-id-from-url: true` (the spec of a PUT, whose URL names the
resource) points to a copy of the schema in which `id` is not required.
"""

from __future__ import annotations

import copy
from typing import Any

import yaml

from ..spec.schemas import raw_schema, schema_dir


def _name(file: str) -> str:
    return file.removeprefix("./").removesuffix(".schema.json")


def _rewrite(node: Any, current: str | None) -> Any:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                out[key] = _target(value, current)
            elif key in ("$schema", "$id"):
                continue
            else:
                out[key] = _rewrite(value, current)
        return out
    if isinstance(node, list):
        return [_rewrite(v, current) for v in node]
    return node


def _target(ref: str, current: str | None) -> str:
    file, _, pointer = ref.partition("#")
    name = _name(file) if file else current
    if name is None:
        return ref  # a reference inside openapi.yaml itself
    if pointer.startswith("/$defs/"):
        return f"#/components/schemas/{name}__{pointer.split('/')[2]}"
    return f"#/components/schemas/{name}"


def _files_referenced(node: Any, found: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if (
                key == "$ref"
                and isinstance(value, str)
                and value.split("#")[0].endswith(".schema.json")
            ):
                found.add(_name(value.split("#")[0]))
            else:
                _files_referenced(value, found)
    elif isinstance(node, list):
        for v in node:
            _files_referenced(v, found)


def bundled_openapi() -> dict[str, Any]:
    with open(schema_dir() / "openapi.yaml", encoding="utf-8") as fh:
        doc: dict[str, Any] = yaml.safe_load(fh)
    files: set[str] = set()
    _files_referenced(doc, files)
    pending = sorted(files)
    seen: set[str] = set()
    schemas: dict[str, Any] = {}
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        raw = copy.deepcopy(raw_schema(name))
        more: set[str] = set()
        _files_referenced(raw, more)
        pending.extend(sorted(more - seen))
        for def_name, definition in raw.pop("$defs", {}).items():
            schemas[f"{name}__{def_name}"] = _rewrite(definition, name)
        if raw.get("type") or raw.get("properties"):
            schemas[name] = _rewrite(raw, name)
    result: dict[str, Any] = _rewrite(doc, None)
    result.setdefault("components", {}).setdefault("schemas", {}).update(schemas)
    _id_from_url(result, result["components"]["schemas"])
    return result


def _id_from_url(node: Any, schemas: dict[str, Any]) -> None:
    """Point every `x-id-from-url` reference at a copy of its schema without `id` required."""
    if isinstance(node, dict):
        if node.pop("x-id-from-url", False) and isinstance(node.get("$ref"), str):
            name = node["$ref"].rsplit("/", 1)[1]
            variant = f"{name}__request"
            if variant not in schemas:
                schema = copy.deepcopy(schemas[name])
                schema["required"] = [f for f in schema.get("required", []) if f != "id"]
                schemas[variant] = schema
            node["$ref"] = f"#/components/schemas/{variant}"
        for value in list(node.values()):
            _id_from_url(value, schemas)
    elif isinstance(node, list):
        for value in node:
            _id_from_url(value, schemas)
