"""`validate`: every directory checked (each target's variables too), every problem
reported once, and a missing directory reported without stopping the others."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import Diagnostic, UsageError, sort_diagnostics
from .targets import Targets, Variables, select_targets

if TYPE_CHECKING:
    from ..compiler.result import CompileResult


@dataclass
class Checked:
    """One directory (or one target of it) checked; `diagnostics` are those not
    reported by an earlier check of the run. `error`: it could not be checked."""

    label: str = ""
    result: CompileResult | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    error: UsageError | None = None
    #: the directory, and the target checked (None without targets)
    directory: str = ""
    target: str | None = None
    #: every diagnostic of this check as formatted, those reported earlier too
    found: set[str] = field(default_factory=set)

    def failed(self, strict: bool) -> bool:
        """Not checked, or an error, or a warning under --strict."""
        if self.error is not None or self.result is None:
            return True
        return bool(self.result.errors) or (strict and bool(self.result.warnings))


def validate_directories(
    directories: Sequence[Path], asked: Targets, variables: Variables
) -> Iterator[Checked]:
    """Check each directory (with each target's var files when targets are asked for),
    one check at a time: the directories that cannot be checked come first."""
    from ..compiler.compile import compile_store

    plans: list[tuple[str, Path, tuple[Path, ...], str | None]] = []
    for directory in directories:
        try:
            targets = select_targets(directory, asked)
        except UsageError as exc:  # a missing directory: say so, check the others
            yield Checked(error=exc)
            continue
        if targets is None:
            plans.append((str(directory), directory, variables.files, None))
        else:
            plans += [
                (
                    f"{directory} (target {t.name})",
                    directory,
                    (*t.var_files, *variables.files),
                    t.name,
                )
                for t in targets
            ]
    seen: set[str] = set()
    for label, directory, files, target in plans:
        try:
            result = compile_store(
                directory,
                var_files=files,
                var_overrides=variables.overrides,
                var_json=variables.json,
            )
        except UsageError as exc:
            yield Checked(label, error=exc, directory=str(directory), target=target)
            continue
        found = {d.format() for d in result.diagnostics}
        diags = [d for d in sort_diagnostics(result.diagnostics) if d.format() not in seen]
        seen.update(found)
        yield Checked(label, result, diags, None, str(directory), target, found)


def target_notes(checks: Sequence[Checked]) -> dict[str, str]:
    """Which targets have a problem that not every target of its directory has (keyed
    by the diagnostic as formatted): the text view prints each target's problems under
    its name, annotations need it said in the message."""
    by_directory: dict[str, list[Checked]] = {}
    for check in checks:
        if check.target is not None:
            by_directory.setdefault(check.directory, []).append(check)
    notes: dict[str, str] = {}
    for group in by_directory.values():
        for check in group:
            for d in check.diagnostics:
                key = d.format()
                having = [str(c.target) for c in group if key in c.found]
                if len(having) < len(group):
                    many = "s" if len(having) > 1 else ""
                    notes[key] = f"target{many} {', '.join(having)} only"
    return notes
