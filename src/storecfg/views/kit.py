"""The project kit on the terminal: a starter store created, the JSON Schemas
written, a storefront preview written."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from ..kit.init import InitResult
    from ..preview.views import Site


def print_initialized(directory: Path, result: InitResult) -> None:
    """What was created, where a workflow must go to run, and what to do next."""
    click.echo(f"Created a starter store in {directory} ({len(result.written)} files).", err=True)
    if result.move_workflow is not None:
        workflow, root = result.move_workflow
        click.echo(
            f"GitHub runs workflows only from the repository root: move "
            f"{directory / workflow} to {root / workflow}.",
            err=True,
        )
    click.echo(
        f"Next: storecfg validate {directory}; storecfg plan {directory}; "
        f"storecfg preview {directory} -o preview",
        err=True,
    )


def print_schemas_written(written: Sequence[Path], outdir: Path) -> None:
    click.echo(f"Wrote {len(written)} JSON Schemas to {outdir}.", err=True)


def print_previews(
    shown: Sequence[tuple[str | None, Site, Sequence[str], Path]], outdir: Path
) -> None:
    """Each site written (target, site, its files, its folder), and the index of all
    targets when there are several."""
    for name, site, pages_written, folder in shown:
        pages = sum(1 for f in pages_written if f.endswith(".html"))
        comparison = site.comparison
        against = (
            f", compared with {comparison.store_url} (revision {comparison.revision})"
            if comparison is not None
            else ""
        )
        label = f"target {name}, " if name is not None else ""
        click.echo(
            f"Wrote the storefront preview of {label}store {site.store_id} to {folder} "
            f"({pages} pages{against}); open {folder / 'index.html'}",
            err=True,
        )
    if len(shown) > 1:
        click.echo(f"All targets: open {outdir / 'index.html'}", err=True)
