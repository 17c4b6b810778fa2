"""`drift` per target: each target's store read in turn (reads only); a failed
target does not stop the others."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import StorecfgError
from .targets import Run, StoreChoice, Variables

if TYPE_CHECKING:
    from ..apply.plandoc import DriftEntry


@dataclass
class Drifted:
    """One target's store (`{"id", "url", "revision"}`) and its drift as JSON, with the
    names the definition gives the drifted resources (by address), or the error that
    kept it from being read."""

    name: str | None
    store: dict[str, Any] = field(default_factory=dict)
    drift: list[DriftEntry] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)
    error: StorecfgError | None = None


def drift_runs(
    directory: Path,
    runs: Sequence[Run],
    choice: StoreChoice,
    variables: Variables,
) -> Iterator[Drifted]:
    """The drift of each run's store, one at a time. With one run its error is raised; with several
    it is kept with that target."""
    from ..apply.workflow import drift_directory

    for run in runs:
        try:
            store, found, names = drift_directory(
                directory, choice.settings(run), run.var_files, variables.overrides, variables.json
            )
        except StorecfgError as exc:
            if len(runs) == 1:
                raise
            yield Drifted(run.name, error=exc)
            continue
        yield Drifted(run.name, store, [d.to_json() for d in found], names)
