"""`preview` per target: every target's storefront built (and the live store read,
to compare) before any site is written."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import StorecfgError
from .targets import Run, StoreChoice, Variables

if TYPE_CHECKING:
    from ..preview.views import Site


@dataclass
class Built:
    name: str | None
    site: Site
    warnings: list[Any] = field(default_factory=list)


@dataclass
class Written:
    """One site written: its target, what it shows, its files and its folder."""

    name: str | None
    site: Site
    files: list[str]
    folder: Path


def build_runs(
    directory: Path,
    runs: Sequence[Run],
    choice: StoreChoice,
    variables: Variables,
    *,
    compare_live: bool,
) -> Iterator[Built]:
    """Each run's storefront, one at a time. A target's store (and its variables) only matter to
    compare with it; an error names its target."""
    from ..preview import build_preview

    for run in runs:
        settings = choice.settings(run) if compare_live else choice.default()
        try:
            site, warnings = build_preview(
                directory,
                settings,
                run.var_files,
                variables.overrides,
                variables.json,
                compare_live=compare_live,
            )
        except StorecfgError as exc:
            if run.name is not None and not exc.message.startswith(f"target {run.name}:"):
                exc.message = f"target {run.name}: {exc.message}"
            raise
        yield Built(run.name, site, warnings)


def write_previews(built: Sequence[Built], outdir: Path) -> list[Written]:
    """One site in `outdir`, or with several targets one in `outdir`/TARGET and an
    index of them."""
    from ..preview import write_site, write_sites

    if len(built) == 1:
        written = write_site(built[0].site, outdir)
        return [Written(built[0].name, built[0].site, written.files, outdir)]
    named = [(str(b.name), b.site) for b in built]
    written = write_sites(named, outdir)
    parts = written.targets or {}
    return [Written(n, s, parts[n].files, outdir / n) for n, s in named]
