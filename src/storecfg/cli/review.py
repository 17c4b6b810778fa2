"""Commands for reviewing a change and the live store beside it: drift, adopt,
preview."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .options import (
    Scope,
    color,
    directory_argument,
    file_option,
    format_option,
    json_flag,
    no_cache_option,
    output_dir_option,
    run_options,
    settings,
    store_choice,
    store_options,
    var_options,
)

if TYPE_CHECKING:
    from ..workflows.targets import Variables


@click.command()
@directory_argument
@format_option(
    "text",
    "json",
    "markdown",
    help_text="text for people, json for programs, markdown for pull-request comments.",
)
@json_flag()
@run_options
def drift(
    directory: Path,
    fmt: str,
    as_json: bool,
    scope: Scope,
) -> int:
    """List what was changed in the live store outside storecfg since the last apply.

    Reads only: it takes no lock and writes nothing. A resource has drifted when its
    content differs from what storecfg last wrote (changed), when storecfg never wrote it
    (created), or when storecfg wrote it and it is gone (deleted). Exit 0 no drift,
    2 drift (in any target), 1 error (in any target).
    """
    from ..views.diagnostics import print_error
    from ..views.drift import drift_document, print_drift
    from ..workflows.drift import drift_runs
    from ..workflows.targets import runs

    chosen = runs(directory, scope.targets, scope.variables.files)
    docs = []
    names: dict[str | None, dict[str, str]] = {}
    for d in drift_runs(
        directory, chosen, store_choice(scope.store_url, use_cache=False), scope.variables
    ):
        if d.error is not None:
            print_error(d.error, f"target {d.name}: ")
            docs.append((d.name, {"error": d.error.message}))
        else:
            docs.append((d.name, drift_document(d.store, d.drift)))
            names[d.name] = d.names
    print_drift(docs, "json" if as_json else fmt, color(scope.no_color), names)
    if any("error" in doc for _, doc in docs):
        return 1
    return 2 if any(doc["has_drift"] for _, doc in docs) else 0


@click.command()
@directory_argument
@click.argument("addresses", nargs=-1, metavar="[ADDRESS]...")
@file_option(
    "--into",
    metavar="FILE",
    help_text="Add resources created outside storecfg to FILE (store.yaml or a file the "
    "definition includes), in the file's style. Without it they are left alone.",
)
@click.option("--dry-run", is_flag=True, help="Print the edits as a unified diff; write no file.")
@json_flag("Print the report as JSON (with the diff under --dry-run).")
@click.option(
    "--target",
    "target_name",
    metavar="NAME",
    default=None,
    help="A target from store.yaml's targets: (its var files, store URL and token).",
)
@store_options
@var_options
def adopt(
    directory: Path,
    addresses: tuple[str, ...],
    into: Path | None,
    dry_run: bool,
    as_json: bool,
    target_name: str | None,
    store_url: str | None,
    no_color: bool,
    variables: Variables,
) -> int:
    """Take values changed outside storecfg back into the definition files.

    Edits the files of DIRECTORY in place for the drifted resources (only the ADDRESSes
    given, as KIND.ID, when any): only the scalars, keys and list items that differ
    change; comments, key order, quoting and layout stay. A value written as one
    variable ("{{ vars.e3_price }}") is changed where the variable is set (the last
    --var-file setting it, else vars: in store.yaml). What cannot be adopted safely (a
    computed template, a value shared through an anchor, a resource created outside
    storecfg without --into) is reported with FILE:LINE and left alone. Each resource is
    adopted whole or not at all, and only if the edited definition then compiles to
    exactly its live spec. Exit 0 when done (also with nothing to adopt), 1 on error.
    """
    from ..adopt.run import adopt_directory
    from ..views.adopt import print_adopted
    from ..workflows.targets import Targets, runs

    given = settings(store_url)
    run = runs(directory, Targets((target_name,) if target_name else ()), variables.files)[0]
    if run.target is not None:
        given = store_choice(store_url).target_settings(run.target)
    result = adopt_directory(
        directory,
        given,
        var_files=run.var_files,
        var_overrides=variables.overrides,
        var_json=variables.json,
        addresses=addresses,
        into=into,
        dry_run=dry_run,
    )
    diff = "".join(f.diff() for f in result.files)
    print_adopted(result.to_json(), diff, as_json=as_json, dry_run=dry_run)
    return 0


@click.command()
@directory_argument
@output_dir_option(
    "OUTDIR",
    "Folder to write the site into (created if missing; an earlier preview there is replaced).",
)
@click.option(
    "--compare-live",
    is_flag=True,
    help="Read the live store (--store, or each target's) and mark changed prices, new and "
    "removed plans.",
)
@no_cache_option
@run_options
def preview(
    directory: Path,
    outdir: Path,
    compare_live: bool,
    no_cache: bool,
    scope: Scope,
) -> int:
    """Write the storefront of DIRECTORY as a static site a reviewer opens in a browser.

    Each purchase scenario's screens in order, with categories, plans, prices in the
    store's currency, add-ons, terms, payment methods by region and the store's colours.
    The folder opens from disk (OUTDIR/index.html) and loads nothing from the network.
    With several targets, each gets its own site in OUTDIR/TARGET. Needs no store unless
    --compare-live is given. Exit 0 written, 1 error.
    """
    from ..views.diagnostics import print_diagnostics
    from ..views.kit import print_previews
    from ..workflows.preview import build_runs, write_previews
    from ..workflows.targets import runs

    chosen = runs(directory, scope.targets, scope.variables.files)
    choice = store_choice(scope.store_url, use_cache=not no_cache)
    built = []
    for b in build_runs(directory, chosen, choice, scope.variables, compare_live=compare_live):
        print_diagnostics(b.warnings)
        built.append(b)
    # everything compiled (and read) before anything is written
    written = write_previews(built, outdir)
    print_previews([(w.name, w.site, w.files, w.folder) for w in written], outdir)
    return 0
