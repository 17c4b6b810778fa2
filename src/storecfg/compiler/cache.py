"""The compile cache: an unchanged store definition is not parsed again, and an edit
recompiles only the files it touched.

An entry under `.storecfg/cache/` is keyed by the store directory, the var files,
the --var values and the working directory (diagnostics name files relative to
it). It records the content hash of every file the compile read, what every
include pattern matched, a fingerprint of the tool itself (version, schemas and
compiler code), and per included file the resources it defined, checked and
normalized.

* When everything still matches, the desired state comes straight from the entry.
* Otherwise the store is compiled again, but an included file whose bytes, the
  variables, the currency and the tool are all unchanged is not parsed again: its
  resources come from the entry. Cross-file checks (duplicate IDs, references,
  the rules) always run on the whole store.

An edit, a new file matching an include, a changed var or an upgraded storecfg all
invalidate what they affect. Only successful compiles are cached; deleting the
directory is always safe. Every entry is authenticated (cache_key.py): one that was
edited, or made by another user or machine, is ignored.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .._fs import atomic_write
from ..errors import Diagnostic, SourceLocation
from ..model import KINDS, DesiredState
from ..spec.graph import kind_levels
from .cache_key import cache_key, entry_mac
from .fingerprint import CACHE_FORMAT, tool_fingerprint
from .includes import IncludeError, PatternError, Tree
from .result import CompileResult, find_store_file


def _file_hash(path: str) -> str | None:
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # never block on a FIFO put in its place
            return None
        with open(path, "rb") as fh:
            return hashlib.sha256(fh.read()).hexdigest()
    except OSError:
        return None


def _entry_path(
    cache_dir: Path,
    target: Path,
    var_files: Sequence[Path],
    overrides: Sequence[str],
    var_json: Sequence[str] = (),
) -> Path:
    """Where the entry for compiling `target` with these variables is kept."""
    key = json.dumps(
        [
            os.getcwd(),
            str(find_store_file(target).resolve()),
            [str(p.resolve()) for p in var_files],
            list(overrides),
            *([list(var_json)] if var_json else []),
        ],
        separators=(",", ":"),
    )
    return cache_dir / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".json")


T = TypeVar("T")

#: the first line of an entry file: this prefix and the entry's MAC (see cache_key.py)
_MAC_PREFIX = b"hmac-sha256:"


def _read(path: Path, *, specs: bool = True) -> dict[str, Any] | None:
    """The entry at `path` if it carries a valid MAC under this user's key, else None:
    an entry edited, or written by another user or machine, is not trusted.

    The entry's body is two lines of JSON: everything but the resources' specs, then the
    specs of each unit's items. Without `specs` the second line is not decoded (most of
    the entry: a plan that only compares hashes needs none of it) and the items hold
    no spec."""
    key = cache_key()
    if key is None:
        return None
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    head, newline, body = data.partition(b"\n")
    if not newline or not head.startswith(_MAC_PREFIX):
        return None
    if not hmac.compare_digest(head[len(_MAC_PREFIX) :], entry_mac(key, path.name, body).encode()):
        return None
    header, _, spec_text = body.partition(b"\n")
    try:
        entry = json.loads(header)
        if not isinstance(entry, dict) or entry.get("format") != CACHE_FORMAT:
            return None
        if specs:
            by_unit = json.loads(spec_text)
            for real, unit in entry["units"].items():
                for item, spec in zip(unit["items"], by_unit[real], strict=True):
                    item.append(spec)
    except (ValueError, RecursionError, KeyError, TypeError, AttributeError):
        return None
    return entry


def _still_valid(entry: dict[str, Any]) -> bool:
    if entry.get("tool") != tool_fingerprint():
        return False
    for path, digest in entry["inputs"]:
        if _file_hash(path) != digest:
            return False
    root = entry["root"]
    tree = Tree(root)
    for pattern, matched in entry["globs"]:
        try:
            now = [os.path.realpath(os.path.join(root, rel)) for rel in tree.match(pattern)]
        except (IncludeError, PatternError, OSError, ValueError, RecursionError):
            return False  # whatever stops the walk is for a real compile to report
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


def _desired(entry: dict[str, Any]) -> DesiredState:
    """The desired state from the entry's per-file resources (root file first)."""
    by_kind: dict[str, dict[str, Any]] = {}
    for unit in entry["units"].values():
        for kind, rid, _index, _line, _col, spec in unit["items"]:
            by_kind.setdefault(kind, {})[rid] = spec
    resources = {k: by_kind[k] for k in KINDS if by_kind.get(k)}
    sources = {a: SourceLocation(*loc) for a, loc in entry["sources"].items()}
    return DesiredState(
        entry["settings"],
        resources,
        sources,
        entry["digests"],
        entry.get("desired_hash", ""),
        levels=entry["levels"],
        policy=entry["policy"],
        root=entry["root"],
        files=entry["definition_files"],
    )


def _answer(path: Path, build: Callable[[dict[str, Any]], T], *, specs: bool = True) -> T | None:
    """What `build` makes of the entry at `path`, if it is authentic and everything it
    was computed from is unchanged (`specs`: see _read)."""
    entry = _read(path, specs=specs)
    if entry is None:
        return None
    try:
        return build(entry) if _still_valid(entry) else None
    except (KeyError, TypeError, ValueError, AttributeError):
        return None  # a damaged entry is only a miss


def _result(entry: dict[str, Any]) -> CompileResult:
    return CompileResult(
        _desired(entry),
        [_diag_from_json(d) for d in entry["warnings"]],
        entry["files"],
        [p for p, _ in entry["inputs"]],
        {p: d for p, d in entry["inputs"]},
        [(p, m) for p, m in entry["globs"]],
    )


def load_entry(path: Path) -> CompileResult | None:
    """The cached result, if everything it was computed from is unchanged."""
    return _answer(path, _result)


@dataclass(frozen=True)
class CachedDigests:
    """What a cached compile says without its specs: enough for a plan that finds the
    store already matching (apply/plan.py unchanged_plan)."""

    store: dict[str, Any]
    #: address -> spec hash of every resource of the definition
    digests: dict[str, str]
    desired_hash: str
    policy: dict[str, Any]
    warnings: list[Diagnostic]


def cached_digests(
    target: Path,
    *,
    var_files: Sequence[Path] = (),
    var_overrides: Sequence[str] = (),
    var_json: Sequence[str] = (),
    cache_dir: Path,
) -> CachedDigests | None:
    """The digests of the cache entry for this compile if it is still valid (nothing it
    was computed from has changed), without decoding a single spec; else None."""

    def digests(entry: dict[str, Any]) -> CachedDigests:
        return CachedDigests(
            entry["settings"],
            entry["digests"],
            entry["desired_hash"],
            entry["policy"],
            [_diag_from_json(d) for d in entry["warnings"]],
        )

    path = _entry_path(cache_dir, target, var_files, var_overrides, var_json)
    return _answer(path, digests, specs=False)


def reusable_units(path: Path) -> dict[str, Any] | None:
    """Per-file results of the last compile, even if the whole entry is stale."""
    entry = _read(path)
    if entry is None or entry.get("tool") != tool_fingerprint():
        return None
    units = entry.get("units")
    if not isinstance(units, dict) or not all(isinstance(u, dict) for u in units.values()):
        return None
    return units


def save_entry(path: Path, result: CompileResult, root_items: list[Any]) -> None:
    desired = result.desired
    if desired is None or not result.ok:
        return
    # the hashes of the bytes that were compiled, not of the files as they are now:
    # an edit made meanwhile must make the entry stale, not be recorded as compiled
    if any(p not in result.digests for p in result.inputs):
        return
    inputs = [[p, result.digests[p]] for p in result.inputs]
    desired.hash_all()
    digests = desired.digests
    if desired.levels is None:
        desired.levels = kind_levels(desired.resources)
    units: dict[str, Any] = {"": {"hash": "", "context": "", "items": root_items}}
    for unit in result.units:
        units[unit.real] = unit.to_cache()
    # the specs on a line of their own (see _read): each item loses its last field
    specs = {real: [item[-1] for item in unit["items"]] for real, unit in units.items()}
    units = {
        real: {**unit, "items": [list(item[:-1]) for item in unit["items"]]}
        for real, unit in units.items()
    }
    entry = {
        "format": CACHE_FORMAT,
        "tool": tool_fingerprint(),
        "root": desired.root or (str(Path(result.inputs[0]).parent) if result.inputs else ""),
        "inputs": inputs,
        "globs": [[p, m] for p, m in result.globs],
        "files": result.files,
        "settings": desired.store,
        "units": units,
        "sources": {a: [loc.file, loc.line, loc.column] for a, loc in desired.sources.items()},
        "digests": digests,
        "desired_hash": desired.hash(),
        "levels": desired.levels,
        "policy": desired.policy,
        "definition_files": desired.files,
        "warnings": [d.to_json() for d in result.warnings],
    }
    key = cache_key()
    if key is None:
        return  # no key to vouch for the entry: nothing is cached
    encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    body = (encode(entry) + "\n" + encode(specs)).encode()
    mac = entry_mac(key, path.name, body).encode()
    with contextlib.suppress(
        OSError
    ):  # a cache that cannot be written only makes the next run slower
        atomic_write(path, _MAC_PREFIX + mac + b"\n" + body, mode=0o600, durable=False)


def compile_cached(
    target: Path,
    *,
    var_files: Sequence[Path] = (),
    var_overrides: Sequence[str] = (),
    var_json: Sequence[str] = (),
    cache_dir: Path | None = None,
) -> CompileResult:
    """compile_store, answered from the cache as far as nothing it read has changed."""
    if cache_dir is None:
        from .compile import compile_store

        return compile_store(
            target, var_files=var_files, var_overrides=var_overrides, var_json=var_json
        )
    entry_path = _entry_path(cache_dir, target, var_files, var_overrides, var_json)
    cached = load_entry(entry_path)
    if cached is not None:
        return cached
    # imported only now: an answer from the cache needs none of the compiler (YAML,
    # schemas, rules, templates), and a warm no-op plan is mostly start-up
    from .compile import compile_store

    result = compile_store(
        target,
        var_files=var_files,
        var_overrides=var_overrides,
        var_json=var_json,
        unit_cache=reusable_units(entry_path),
    )
    if result.desired is not None and result.ok:
        # resources written in store.yaml itself: everything not from an included file
        included = {(k, r) for u in result.units for k, r, *_ in u.items}
        complete = len(included) + len(result.root_items) == result.desired.count()
        if complete:
            save_entry(entry_path, result, result.root_items)
    return result
