"""`validate` on the terminal: a summary per directory (and target), and the
diagnostics as text, JSON, GitHub workflow commands or SARIF with paths relative to
the repository.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .. import __version__
from ..errors import Diagnostic
from .diagnostics import print_diagnostics

if TYPE_CHECKING:
    from ..compiler.result import CompileResult


def _s(n: int) -> str:
    return "s" if n != 1 else ""


def summary(result: CompileResult, strict: bool = False) -> str:
    """`valid (12 resources in 3 files)`, `invalid: 2 errors, 1 warning`."""
    n_err, n_warn = len(result.errors), len(result.warnings)
    warn = f", {n_warn} warning{_s(n_warn)}" if n_warn else ""
    if n_err:
        return f"invalid: {n_err} error{_s(n_err)}{warn}"
    if strict and n_warn:
        return f"invalid under --strict: {n_warn} warning{_s(n_warn)}"
    count = result.desired.count() if result.desired else 0
    files = len(result.files)
    return f"valid ({count} resource{_s(count)} in {files} file{_s(files)}{warn})"


def print_checked(
    label: str,
    result: CompileResult,
    diagnostics: Sequence[Diagnostic],
    *,
    strict: bool,
    show: bool,
) -> None:
    """One directory (or target) checked: its new diagnostics when `show`, then its summary."""
    if show:
        print_diagnostics(diagnostics, err=False)
    click.echo(f"{label}: {summary(result, strict)}", err=True)


def render(
    fmt: str, diagnostics: Sequence[Diagnostic], notes: Mapping[str, str] | None = None
) -> str:
    """Every diagnostic of the run in one document of format `fmt`; in annotations a
    diagnostic's note (by the diagnostic as formatted: which targets have it) ends its
    message."""
    if fmt == "text":
        return "".join(d.format() + "\n" for d in diagnostics)
    if fmt == "json":
        return json.dumps([d.to_json() for d in diagnostics], indent=2) + "\n"
    return _annotations(fmt, diagnostics, notes or {})


def repo_root() -> Path:
    """Where annotation paths start: the GitHub workspace, else the enclosing git work
    tree, else the current directory."""
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if workspace and Path(workspace).is_dir():
        return Path(workspace).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return here


def repo_relative(file: str, root: Path) -> str:
    if not file:
        return file
    try:
        return (Path.cwd() / file).resolve().relative_to(root).as_posix()
    except ValueError:  # outside the repository: as the user gave it
        return Path(file).as_posix()


def _annotations(fmt: str, diagnostics: Sequence[Diagnostic], notes: Mapping[str, str]) -> str:
    """Diagnostics as GitHub workflow commands or SARIF, with repository-relative paths."""
    from ..spec.codehelp import HELP
    from ..spec.codes import CODES
    from .annotations import github_commands, sarif_log

    root = repo_root()
    diags = [d.to_json() for d in diagnostics]
    for d, diagnostic in zip(diags, diagnostics, strict=True):
        d["file"] = repo_relative(d["file"], root)
        note = notes.get(diagnostic.format())
        if note:
            d["message"] += f" ({note})"
    if fmt == "github":
        return "".join(line + "\n" for line in github_commands(diags))
    rules = [(c.code, c.title, c.severity, HELP.get(c.code, c.title)) for c in CODES.values()]
    log = sarif_log(diags, rules, version=__version__, root_uri=root.as_uri() + "/")
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
