"""`plan` per target: each target planned in turn (a failed one does not stop the
others), and the plan files of a run."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import Diagnostic, StorecfgError
from .targets import Run, StoreChoice, Variables, target_path

if TYPE_CHECKING:
    from ..apply.plandoc import Plan


@dataclass
class Planned:
    """One target's plan (with the definition's warnings), or the error that kept it
    from being made."""

    name: str | None
    result: Plan | StorecfgError
    warnings: list[Diagnostic] = field(default_factory=list)


def plan_runs(
    directory: Path,
    runs: Sequence[Run],
    choice: StoreChoice,
    variables: Variables,
) -> Iterator[Planned]:
    """Plan `directory` against each run's store, one at a time. A failure names its store (for the
    marker line of the Markdown that shows it) whenever the definition can be read."""
    from ..apply.workflow import plan_directory

    for run in runs:
        try:
            doc, warnings = plan_directory(
                directory, choice.settings(run), run.var_files, variables.overrides, variables.json
            )
        except StorecfgError as exc:
            if exc.store_id is None:  # failed before the definition was read
                exc.store_id = store_id_of(directory, run.var_files, variables)
            yield Planned(run.name, exc)
            continue
        if run.target is not None:
            # which target the plan is for (informational: apply never follows it)
            doc["target"] = {
                "name": run.target.name,
                "store_url_env": run.target.store_url_env,
                "token_env": run.target.token_env,
            }
        yield Planned(run.name, doc, warnings)


def store_id_of(directory: Path, var_files: Sequence[Path], variables: Variables) -> str | None:
    """The store ID a definition names, if it can be read at all."""
    from ..compiler.compile import compile_store

    try:
        return compile_store(
            directory,
            var_files=var_files,
            var_overrides=variables.overrides,
            var_json=variables.json,
        ).store_id
    except StorecfgError:
        return None


def save_plans(out: Path, planned: Sequence[Planned], *, several: bool) -> list[Path]:
    """Write each plan that was made: to `out`, or with several targets to `out` with
    the target's name before its extension."""
    from ..apply.planfile import write_plan

    saved = []
    for p in planned:
        if not isinstance(p.result, StorecfgError):
            path = target_path(out, p.name) if several and p.name else out
            write_plan(path, p.result)
            saved.append(path)
    return saved
