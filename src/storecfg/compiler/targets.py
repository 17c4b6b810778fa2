"""Targets: the named stores one definition directory serves (`targets:` in store.yaml).

A target names its var files (relative to store.yaml, inside the store directory) and
the environment variables that hold its store URL and API token, so one directory and
one CI job can plan every country's store. Targets are read as written: they decide
what the templates see, so they are never templates themselves.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import DefinitionError, Diagnostic, UsageError, display_path
from ..spec.issues import Issue, diagnostic
from ..spec.paths import format_address
from ..spec.suggest import closest
from ..spec.validation import validate_store_file
from .includes import IncludeError, Tree, did_you_mean_file
from .load import load_file
from .positions import position_of

TARGETS_KEY = "targets"


@dataclass(frozen=True)
class Target:
    name: str
    #: var files as paths usable from the current directory, in the order given
    var_files: tuple[Path, ...] = ()
    store_url_env: str | None = None
    token_env: str | None = None

    def store_url(self, given: str | None, environ: Mapping[str, str]) -> str | None:
        """The store URL for this target: --store when given, else the target's
        variable (which must then be set), else STORECFG_STORE (None: the default)."""
        if given:
            return given
        if self.store_url_env:
            value = environ.get(self.store_url_env, "").strip()
            if not value:
                raise UsageError(
                    f"target {self.name}: ${self.store_url_env} is not set; it holds the URL "
                    f"of this target's store (or give --store)"
                )
            return value
        return environ.get("STORECFG_STORE") or None

    def token(self, url: str | None, environ: Mapping[str, str]) -> str | None:
        """The API token for this target (None: the driver reads STORECFG_TOKEN)."""
        if not self.token_env:
            return None
        value = environ.get(self.token_env)
        if not value and url and url.lower().startswith(("http:", "https:")):
            raise UsageError(
                f"target {self.name}: ${self.token_env} is not set; it holds the API token "
                "of this target's store"
            )
        return value or ""


def var_file_problem(root: Path, rel: Any) -> str | None:
    """Why a target's var file cannot be used (None when it can)."""
    if not isinstance(rel, str):
        return None  # the schema reports it
    parts = Path(rel).parts
    if Path(rel).is_absolute() or rel.startswith(("/", "\\", "~")) or ".." in parts:
        return (
            f"var file {rel!r} leaves the store directory; "
            "target var files are relative to store.yaml and may not use '..'"
        )
    path = root / rel
    base = os.path.realpath(root)
    if path.is_file() and os.path.commonpath([base, os.path.realpath(path)]) != base:
        return f"var file {rel!r} links outside the store directory"
    if not path.is_file():
        try:
            hint = did_you_mean_file(Tree(str(root), display_path), rel)
        except IncludeError:  # a directory too big or unreadable to search: no hint
            hint = ""
        return f"var file {rel!r} does not exist{hint}"
    return None


def var_file_issues(root: Path, targets: Any) -> list[Issue]:
    """SC114 for each var file a target names that cannot be used, at
    ("targets", NAME, "var_files", INDEX)."""
    issues: list[Issue] = []
    for name, target in targets.items() if isinstance(targets, dict) else ():
        files = target.get("var_files") if isinstance(target, dict) else None
        for i, rel in enumerate(files if isinstance(files, list) else []):
            problem = var_file_problem(root, rel)
            if problem:
                issues.append(Issue("SC114", (TARGETS_KEY, name, "var_files", i), problem))
    return issues


def target_hint(targets: Any, root: Path, var_files: Sequence[Path]) -> str:
    """What to add to an undefined-variable message when the definition has targets
    whose var files set variables and none of them was given ("" otherwise)."""
    if not isinstance(targets, dict):
        return ""
    target_files = {
        os.path.realpath(root / rel)
        for target in targets.values()
        if isinstance(target, dict) and isinstance(target.get("var_files"), list)
        for rel in target["var_files"]
        if isinstance(rel, str)
    }
    if not target_files or target_files & {os.path.realpath(f) for f in var_files}:
        return ""  # no target sets variables, or one was chosen
    names = [str(n) for n in targets]
    shown = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    return (
        f"; store.yaml defines targets ({shown}) whose var files set variables: "
        "give --target NAME or --all-targets"
    )


def read_targets(store_file: Path) -> dict[str, Target]:
    """The targets store.yaml defines ({} when none); DefinitionError when store.yaml
    cannot be read or its targets are malformed."""
    shown = display_path(str(store_file))
    loaded = load_file(store_file, shown)
    errors = [d for d in loaded.diagnostics if d.severity == "error"]
    if errors:
        raise DefinitionError(errors)
    root = loaded.data
    if not isinstance(root, dict) or not isinstance(root.get(TARGETS_KEY), dict):
        if isinstance(root, dict) and TARGETS_KEY in root:
            pos = position_of(root, (TARGETS_KEY,)) or (1, 1)
            raise DefinitionError(
                [_diag("SC303", shown, pos, "targets must be a mapping", TARGETS_KEY)]
            )
        return {}
    diags = [
        _diag(
            issue.code,
            shown,
            position_of(root, issue.path, key=issue.at_key) or (1, 1),
            issue.message,
            _addr(issue.path),
        )
        for issue in validate_store_file({TARGETS_KEY: root[TARGETS_KEY]})
        if issue.path[:1] == (TARGETS_KEY,)
    ]
    base = store_file.parent
    diags += [
        _diag(i.code, shown, position_of(root, i.path) or (1, 1), i.message, _addr(i.path))
        for i in var_file_issues(base, root[TARGETS_KEY])
    ]
    targets: dict[str, Target] = {}
    for name, spec in root[TARGETS_KEY].items():
        if not isinstance(spec, dict):
            continue
        files = [f for f in spec.get("var_files") or [] if isinstance(f, str)]
        targets[str(name)] = Target(
            str(name),
            tuple(base / f for f in files),
            spec.get("store_url_env") if isinstance(spec.get("store_url_env"), str) else None,
            spec.get("token_env") if isinstance(spec.get("token_env"), str) else None,
        )
    if diags:
        raise DefinitionError(diags)
    return targets


def select_targets(store_file: Path, names: Sequence[str], all_targets: bool) -> list[Target]:
    """The targets `--target NAME...` or `--all-targets` ask for, in the order given
    (store.yaml's order for --all-targets)."""
    if names and all_targets:
        raise UsageError("give either --target NAME (repeatable) or --all-targets, not both")
    targets = read_targets(store_file)
    shown = display_path(str(store_file))
    if all_targets:
        if not targets:
            raise UsageError(f"--all-targets: {shown} defines no targets")
        return list(targets.values())
    out: list[Target] = []
    for name in dict.fromkeys(names):
        if name not in targets:
            known = ", ".join(targets) if targets else "none"
            match = closest(name, targets)
            hint = f"; did you mean {match!r}?" if match else ""
            raise UsageError(
                f"--target {name}: {shown} has no such target{hint} (targets: {known})"
            )
        out.append(targets[name])
    return out


def _addr(path: tuple[Any, ...]) -> str:
    return format_address(str(path[0]), None, path[1:]) if path else "-"


def _diag(code: str, file: str, pos: tuple[int, int], message: str, address: str) -> Diagnostic:
    return diagnostic(Issue(code, (), message), file, pos, address)
