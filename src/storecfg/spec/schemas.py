"""The JSON Schema files of the definition language, and their `$ref` resolver.

The schemas in schema/ are the single source of truth (validation, normalization,
references, the OpenAPI document and the files `storecfg schema` writes all read them
here). Besides validation they carry storecfg's own annotations:

* ``x-storecfg-ref: KIND``  the field refers to a resource of KIND (rule SC001);
* ``x-storecfg-replace``    changing the field forces a replace (apply.diff);
* ``x-storecfg-format``     money, rate, id, region, currency: better messages and
                            canonical forms;
* ``default``               filled in by `normalize`.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from ..model import KINDS


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
def registry() -> Any:
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


def resolve(schema: dict[str, Any], base: str) -> tuple[dict[str, Any], str]:
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
