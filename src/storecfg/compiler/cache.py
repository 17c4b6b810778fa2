"""The compile cache: an unchanged store definition is not parsed again.

An entry under `.storecfg/cache/` is keyed by the store directory, the var files,
the --var values and the working directory (diagnostics name files relative to
it). It records the content hash of every file the compile read, what every
include pattern matched, and a fingerprint of the tool itself (version, schemas
and compiler code). It is used only when all of those still match, so an edit, a
new file matching an include, a changed var or an upgraded storecfg all invalidate
it. Only successful compiles are cached; deleting the directory is always safe.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from .. import __version__
from .._fs import atomic_write
from ..errors import Diagnostic, SourceLocation
from ..model import DesiredState, spec_hash
from .compile import CompileResult, compile_store, find_store_file

CACHE_FORMAT = 1


@cache
def tool_fingerprint() -> str:
    """Version plus the content of the schemas and the compiler: any change invalidates."""
    from .schema import schema_dir

    h = hashlib.sha256(f"storecfg {__version__} cache {CACHE_FORMAT}".encode())
    here = Path(__file__).resolve().parent
    for path in sorted([*schema_dir().glob("*.schema.json"), *here.glob("*.py")]):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def _file_hash(path: str) -> str | None:
    try:
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except OSError:
        return None


def _entry_path(
    cache_dir: Path, store_file: Path, var_files: Sequence[Path], overrides: Sequence[str]
) -> Path:
    key = json.dumps(
        [
            os.getcwd(),
            str(store_file.resolve()),
            [str(p.resolve()) for p in var_files],
            list(overrides),
        ],
        separators=(",", ":"),
    )
    return cache_dir / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")


def _still_valid(entry: dict[str, Any]) -> bool:
    if entry.get("format") != CACHE_FORMAT or entry.get("tool") != tool_fingerprint():
        return False
    for path, digest in entry["inputs"]:
        if _file_hash(path) != digest:
            return False
    root = Path(entry["root"])
    for pattern, matched in entry["globs"]:
        try:
            now = [str(m.resolve()) for m in sorted(root.glob(pattern))]
        except (ValueError, OSError):
            return False
        if now != matched:
            return False
    return True


def _diag_from_json(d: dict[str, Any]) -> Diagnostic:
    return Diagnostic(
        d["code"],
        d["message"],
        SourceLocation(d["file"], d["line"], d["column"]),
        d["address"],
        d["path"],
        d["severity"],
    )


def load_entry(path: Path) -> CompileResult | None:
    try:
        with open(path, encoding="utf-8") as fh:
            entry = json.load(fh)
    except (OSError, ValueError):
        return None
    try:
        if not _still_valid(entry):
            return None
        desired = DesiredState(
            entry["desired"]["store"],
            entry["desired"]["resources"],
            {a: SourceLocation(*loc) for a, loc in entry["sources"].items()},
            entry["digests"],
        )
        warnings = [_diag_from_json(d) for d in entry["warnings"]]
    except (KeyError, TypeError, ValueError):
        return None
    return CompileResult(
        desired,
        warnings,
        entry["files"],
        [p for p, _ in entry["inputs"]],
        [(p, m) for p, m in entry["globs"]],
    )


def save_entry(path: Path, result: CompileResult) -> None:
    desired = result.desired
    if desired is None or not result.ok:
        return
    inputs = []
    for p in result.inputs:
        digest = _file_hash(p)
        if digest is None:
            return
        inputs.append([p, digest])
    root = str(Path(result.inputs[0]).parent) if result.inputs else ""
    digests = {
        f"{kind}.{rid}": desired.digests.get(f"{kind}.{rid}") or spec_hash(spec)
        for kind, items in desired.resources.items()
        for rid, spec in items.items()
    }
    desired.digests.update(digests)
    entry = {
        "format": CACHE_FORMAT,
        "tool": tool_fingerprint(),
        "root": root,
        "inputs": inputs,
        "globs": [[p, m] for p, m in result.globs],
        "files": result.files,
        "desired": {"store": desired.store, "resources": desired.resources},
        "sources": {a: [loc.file, loc.line, loc.column] for a, loc in desired.sources.items()},
        "digests": digests,
        "warnings": [d.to_json() for d in result.warnings],
    }
    with contextlib.suppress(OSError):  # a cache that cannot be written is only a slower next run
        atomic_write(
            path, json.dumps(entry, separators=(",", ":"), ensure_ascii=False).encode(), mode=0o600
        )


def compile_cached(
    target: Path,
    *,
    var_files: Sequence[Path] = (),
    var_overrides: Sequence[str] = (),
    cache_dir: Path | None = None,
) -> CompileResult:
    """compile_store, answered from the cache when nothing it read has changed."""
    if cache_dir is None:
        return compile_store(target, var_files=var_files, var_overrides=var_overrides)
    store_file = find_store_file(target)
    entry_path = _entry_path(cache_dir, store_file, var_files, var_overrides)
    cached = load_entry(entry_path)
    if cached is not None:
        return cached
    result = compile_store(target, var_files=var_files, var_overrides=var_overrides)
    save_entry(entry_path, result)
    return result
