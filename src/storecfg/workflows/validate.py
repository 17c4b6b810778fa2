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

    plans: list[tuple[str, Path, tuple[Path, ...]]] = []
    for directory in directories:
        try:
            targets = select_targets(directory, asked)
        except UsageError as exc:  # a missing directory: say so, check the others
            yield Checked(error=exc)
            continue
        if targets is None:
            plans.append((str(directory), directory, variables.files))
        else:
            plans += [
                (f"{directory} (target {t.name})", directory, (*t.var_files, *variables.files))
                for t in targets
            ]
    seen: set[str] = set()
    for label, directory, files in plans:
        try:
            result = compile_store(
                directory,
                var_files=files,
                var_overrides=variables.overrides,
                var_json=variables.json,
            )
        except UsageError as exc:
            yield Checked(label, error=exc)
            continue
        diags = [d for d in sort_diagnostics(result.diagnostics) if d.format() not in seen]
        seen.update(d.format() for d in diags)
        yield Checked(label, result, diags)
