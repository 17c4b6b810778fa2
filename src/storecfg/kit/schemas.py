"""The JSON Schemas of the definition language, written out for editors and SchemaStore.

Two shapes of the same schemas:
- the per-kind files exactly as storecfg validates with them (`store.schema.json`,
  `definition.schema.json`, `common.schema.json`, one per kind), which refer to each
  other by relative path and so must stay together in one folder;
- two self-contained bundles, `storecfg-store.schema.json` and
  `storecfg-definition.schema.json`, every referenced file inlined under `$defs`, for
  a catalog such as SchemaStore that serves one file per file pattern.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from .._fs import atomic_write
from ..errors import UsageError
from ..model import KINDS
from ..spec.schemas import raw_schema

#: per-kind files, in the order they are written
NAMES: tuple[str, ...] = ("store", "definition", "common", *KINDS)
#: the bundles: file name -> root schema
BUNDLES: dict[str, str] = {
    "storecfg-store.schema.json": "store",
    "storecfg-definition.schema.json": "definition",
}
_FILE_REF = re.compile(r"^([a-z_]+)\.schema\.json(#.*)?$")


def _rewrite(node: Any, here: str, root: str) -> Any:
    """Point every $ref of schema `here` into the bundle of `root`."""
    if isinstance(node, list):
        return [_rewrite(item, here, root) for item in node]
    if not isinstance(node, dict):
        return node
    out = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            out[key] = _bundle_ref(value, here, root)
        else:
            out[key] = _rewrite(value, here, root)
    return out


def _bundle_ref(ref: str, here: str, root: str) -> str:
    if ref.startswith("#"):
        target, fragment = here, ref[1:]
    else:
        match = _FILE_REF.match(ref)
        if match is None:
            raise ValueError(f"{here}.schema.json: cannot bundle $ref {ref!r}")
        target, fragment = match.group(1), (match.group(2) or "#")[1:]
    base = "#" if target == root else f"#/$defs/storecfg.{target}"
    return base + fragment


def _references(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                match = _FILE_REF.match(value)
                if match:
                    found.add(match.group(1))
            else:
                found |= _references(value)
    elif isinstance(node, list):
        for item in node:
            found |= _references(item)
    return found


def bundle(root: str) -> dict[str, Any]:
    """One self-contained schema for `root` ("store" or "definition")."""
    needed, todo = set(), [root]
    while todo:
        name = todo.pop()
        for other in _references(raw_schema(name)):
            if other not in needed and other != root:
                needed.add(other)
                todo.append(other)
    doc: dict[str, Any] = _rewrite(copy.deepcopy(raw_schema(root)), root, root)
    defs = dict(doc.get("$defs", {}))
    for name in sorted(needed):
        sub = _rewrite(copy.deepcopy(raw_schema(name)), name, root)
        sub.pop("$schema", None)  # "$schema" belongs at the root of a document only
        defs[f"storecfg.{name}"] = sub
    doc["$defs"] = defs
    return doc


def schema_files() -> dict[str, dict[str, Any]]:
    """File name -> schema, for every file `storecfg schema -o` writes."""
    files = {f"{name}.schema.json": raw_schema(name) for name in NAMES}
    files.update({name: bundle(root) for name, root in BUNDLES.items()})
    return files


def write_schemas(outdir: Path) -> list[Path]:
    """Write every schema into outdir (created if missing); files of the same names are
    replaced, so running it again after an upgrade refreshes them."""
    if outdir.exists() and not outdir.is_dir():
        raise UsageError(f"-o {outdir}: exists and is not a directory")
    written = []
    for name, schema in schema_files().items():
        path = outdir / name
        atomic_write(path, (json.dumps(schema, indent=2, ensure_ascii=False) + "\n").encode())
        written.append(path)
    return written
