"""`storecfg init`: a starter store repository that validates and plans as it is.

The starter files live in `starter/` beside this module (`dot-NAME` is written as
`.NAME`); placeholders in them are replaced with the store's ID and name, quoted
as YAML strings. The JSON Schemas go to `schema/` so the editor modelines at the top
of every file work offline.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from .._fs import atomic_write
from ..errors import UsageError
from ..model import ID_PATTERN
from .schemas import schema_files

#: where the composite action lives, as a workflow's `uses:` names it
ACTION = "storecfg/storecfg@v0.1.0"
SCHEMA_DIR = "schema"
GITIGNORE_LINE = ".storecfg/"
_ID = re.compile(ID_PATTERN)


@dataclass
class InitResult:
    directory: Path
    written: list[str] = field(default_factory=list)
    #: the workflow file when it must move to the repository root to run, with that root
    move_workflow: tuple[str, Path] | None = None


def default_store_id(directory: Path) -> str:
    """The directory's name as a store ID (`Contoso US` -> `contoso-us`), or `my-store`."""
    name = re.sub(r"[^a-z0-9._-]+", "-", directory.resolve().name.lower()).strip("-._")[:63]
    return name if _ID.match(name) else "my-store"


def _starter_files() -> dict[str, str]:
    """Relative path (with dot- turned into .) -> text of every starter file."""
    out: dict[str, str] = {}

    def walk(node: Traversable, prefix: str) -> None:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            name = "." + child.name[4:] if child.name.startswith("dot-") else child.name
            if child.is_dir():
                walk(child, f"{prefix}{name}/")
            elif not name.endswith((".pyc", ".py")):
                out[prefix + name] = child.read_text(encoding="utf-8")

    walk(resources.files(__package__) / "starter", "")
    return out


def _git_root(directory: Path) -> Path | None:
    for parent in [directory, *directory.parents]:
        if (parent / ".git").exists():
            return parent
    return None


def _check_name(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 250 or any(ord(c) < 32 for c in name):
        raise UsageError("--name: give 1 to 250 characters on one line")
    return name


def starter(
    directory: Path, *, store_id: str, name: str, action: str = ACTION
) -> tuple[dict[str, str], tuple[str, Path] | None]:
    """The files of a starter store for `directory`: relative path -> text."""
    root = _git_root(directory.resolve())
    path, move = ".", None
    workflow = ".github/workflows/storecfg.yml"
    if root is not None and root != directory.resolve():
        # GitHub runs workflows only from the repository root: the workflow names the
        # store directory relative to that root, ready to be moved there
        path = Path(os.path.relpath(directory.resolve(), root)).as_posix()
        move = (workflow, root)
    values = {
        "__STORE_ID__": json.dumps(store_id),
        "__STORE_NAME__": json.dumps(name, ensure_ascii=False),
        "__TERMS_TITLE__": json.dumps(f"{name} terms of sale", ensure_ascii=False),
        "__ACTION__": action,
        "__PATH__": json.dumps(path),
        "__BRANCH__": "main",
    }
    files = {}
    for rel, content in _starter_files().items():
        for key, value in values.items():
            content = content.replace(key, value)
        files[rel] = content
    for schema_name, schema in schema_files().items():
        files[f"{SCHEMA_DIR}/{schema_name}"] = json.dumps(schema, indent=2) + "\n"
    return files, move


def init_store(
    directory: Path,
    *,
    store_id: str | None = None,
    name: str | None = None,
    force: bool = False,
    action: str = ACTION,
) -> InitResult:
    """Write a starter store into `directory` (created if missing).

    Existing files are never overwritten unless `force`; `.gitignore` is added to
    (one line for `.storecfg/`), never replaced.
    """
    if directory.exists() and not directory.is_dir():
        raise UsageError(f"{directory}: exists and is not a directory")
    sid = store_id or default_store_id(directory)
    if not _ID.match(sid):
        raise UsageError(
            f"invalid store ID {sid!r}: use lowercase letters, digits, '.', '_' and '-', "
            "start with a letter or digit, at most 63 characters"
        )
    files, move = starter(directory, store_id=sid, name=_check_name(name or "My Cloud Store"),
                          action=action)  # fmt: skip
    gitignore = directory / ".gitignore"
    existing = [rel for rel in files if rel != ".gitignore" and (directory / rel).exists()]
    if existing and not force:
        shown = ", ".join(existing[:8]) + (
            f" and {len(existing) - 8} more" if len(existing) > 8 else ""
        )
        raise UsageError(
            f"{directory} already has {shown}; nothing was written",
            hint="Use --force to overwrite them, or choose another directory.",
        )
    result = InitResult(directory, move_workflow=move)
    for rel, content in files.items():
        target = directory / rel
        if rel == ".gitignore" and gitignore.exists():
            current = gitignore.read_text(encoding="utf-8")
            if (
                GITIGNORE_LINE in current.splitlines()
                or "/" + GITIGNORE_LINE in current.splitlines()
            ):
                continue
            content = current + ("" if current.endswith("\n") or not current else "\n") + content
        atomic_write(target, content.encode("utf-8"))
        result.written.append(rel)
    return result
