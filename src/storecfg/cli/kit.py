"""Commands that start a project: init (a starter store), schema (the JSON Schemas
for editors)."""

from __future__ import annotations

from pathlib import Path

import click

from .options import (
    no_color_option,
    output_dir_option,
)


@click.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option(
    "--store-id",
    default=None,
    metavar="ID",
    help="The live store's ID (default: the directory's name, e.g. contoso-us).",
)
@click.option("--name", default=None, help="The store's name (default: My Cloud Store).")
@click.option("--force", is_flag=True, help="Overwrite files that exist already.")
@no_color_option
def init(
    no_color: bool, directory: Path, store_id: str | None, name: str | None, force: bool
) -> int:
    """Create a starter store in DIRECTORY that validates and plans as it is.

    A Microsoft 365 store with two plans, a category, terms, a purchase scenario, a tax
    rule, a payment method and branding; a .gitignore for .storecfg/; the JSON Schemas in
    schema/ (every file has an editor modeline for them); and a GitHub Actions workflow
    that plans pull requests and applies the reviewed plan on merge. Existing files are
    never overwritten without --force.
    """
    from ..kit.init import init_store
    from ..views.kit import print_initialized

    print_initialized(directory, init_store(directory, store_id=store_id, name=name, force=force))
    return 0


@click.command()
@output_dir_option(
    "DIR",
    "Folder to write the schemas into (created if missing; files of the same names are replaced).",
)
@no_color_option
def schema(no_color: bool, outdir: Path) -> int:
    """Write the JSON Schemas of store definitions, for editors and SchemaStore.

    store.schema.json (for store.yaml), definition.schema.json (for included files) and
    the files they refer to, which must stay together; plus storecfg-store.schema.json and
    storecfg-definition.schema.json, the same schemas each in one self-contained file.
    """
    from ..kit.schemas import write_schemas
    from ..views.kit import print_schemas_written

    print_schemas_written(write_schemas(outdir), outdir)
    return 0
