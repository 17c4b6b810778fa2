"""The command line: click declarations that parse options and call one function each.

Every command is a plain function that calls a workflow (workflows/, apply/, …) and a
view (views/, which owns all output), and returns its exit code; `boundary.Boundary`
maps errors to messages and exit codes in one place. Heavy modules are imported
inside the commands, so `storecfg --help` starts fast.

    definition.py  validate, compile, plan, apply
    backup.py      export, backup list|show|diff|restore, lock show|release
    review.py      drift, adopt, preview
    kit.py         init, schema
    server.py      serve, token create|list|revoke, migrate
    options.py     the options several commands share, and what they resolve to
"""

from __future__ import annotations

import gc

import click

from .. import __version__
from .backup import backup, export, lock
from .boundary import Boundary
from .definition import apply, compile_cmd, plan, validate
from .kit import init, schema
from .review import adopt, drift, preview
from .server import migrate, serve, token

EPILOG = "Docs: docs/reference.md (definition language), docs/cli.md (commands and exit codes)."


@click.group(
    cls=Boundary,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EPILOG,
)
@click.version_option(__version__, "--version", prog_name="storecfg")
@click.option(
    "--store",
    "store_url",
    metavar="URL",
    help="Live store for every command that uses one (as the commands' own --store).",
)
@click.option("--no-color", is_flag=True, help="No colors, for every command.")
def cli(store_url: str | None, no_color: bool) -> None:
    """Keep a reseller's online store in git: validate, plan and apply store definitions.

    \b
    Typical use:
      storecfg validate stores/contoso-us
      storecfg plan stores/contoso-us            # what would change in the live store
      storecfg apply stores/contoso-us           # apply it (asks for yes)

    With no --store, the embedded store at .storecfg/store.db is used.
    """


for command in (validate, compile_cmd, plan, preview, init, schema, apply, adopt, export):
    cli.add_command(command)
for command in (backup, drift, lock, serve, token, migrate):
    cli.add_command(command)


def main() -> None:
    # A command builds hundreds of thousands of long-lived objects (parsed YAML, specs)
    # and frees them at the end, never in cycles that matter: collecting the young
    # generation every 700 allocations spent a fifth of a big compile walking them.
    gc.set_threshold(50_000, 50, 1000)
    cli(prog_name="storecfg")
