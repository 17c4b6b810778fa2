"""The command line: parse options, call one function, map errors to exit codes.

Heavy modules are imported inside the commands, so `storecfg --help` starts fast.
Nothing here computes; commands call into compiler/, store/, apply/ and print
through views/.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from . import __version__
from .errors import DefinitionError, StorecfgError

F = TypeVar("F", bound=Callable[..., Any])

EPILOG = "Docs: docs/reference.md (definition language), docs/cli.md (commands and exit codes)."


def _fail(message: str, hint: str | None = None, code: int = 1) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    if hint:
        click.echo(f"  {hint}", err=True)
    sys.exit(code)


def _print_diagnostics(diagnostics: list[Any], *, err: bool) -> None:
    for d in diagnostics:
        click.echo(d.format(), err=err)


def _run(fn: Callable[[], int | None]) -> None:
    """Run a command body: StorecfgError -> message + exit code, never a traceback."""
    try:
        code = fn()
    except DefinitionError as exc:
        _print_diagnostics(exc.diagnostics, err=True)
        _fail(str(exc))
    except StorecfgError as exc:
        _fail(exc.message, exc.hint, exc.exit_code)
    except KeyboardInterrupt:
        _fail("interrupted", code=130)
    except click.exceptions.Exit:
        raise
    except (click.ClickException, click.Abort):
        raise
    except Exception as exc:  # a bug: say so plainly; STORECFG_DEBUG=1 shows the traceback
        if os.environ.get("STORECFG_DEBUG"):
            raise
        _fail(
            f"internal error: {type(exc).__name__}: {exc}",
            "This is a bug in storecfg; rerun with STORECFG_DEBUG=1 for details and report it.",
        )
    sys.exit(code or 0)


def var_options(fn: F) -> F:
    fn = click.option(
        "--var",
        "var_overrides",
        multiple=True,
        metavar="KEY=VALUE",
        help="Set a template variable, overriding vars in store.yaml and var files. Repeatable.",
    )(fn)
    fn = click.option(
        "--var-file",
        "var_files",
        multiple=True,
        metavar="FILE",
        type=click.Path(path_type=Path, dir_okay=False),
        help="YAML file of template variables (for example one per country). Repeatable; later files win.",
    )(fn)
    return fn


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog=EPILOG,
)
@click.version_option(__version__, "--version", prog_name="storecfg")
def cli() -> None:
    """Keep a reseller's online store in git: validate, plan and apply store definitions.

    \b
    Typical use:
      storecfg validate stores/contoso-us
      storecfg plan stores/contoso-us            # what would change in the live store
      storecfg apply stores/contoso-us           # apply it (asks for yes)

    With no --store, the embedded store at .storecfg/store.db is used.
    """


@cli.command()
@click.argument("directories", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print diagnostics as a JSON list.")
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@var_options
def validate(
    directories: tuple[Path, ...],
    as_json: bool,
    strict: bool,
    var_files: tuple[Path, ...],
    var_overrides: tuple[str, ...],
) -> None:
    """Check store definitions against the schemas and business rules.

    Needs no store. Prints one line per problem, FILE:LINE:COL: CODE ADDRESS: message,
    sorted by file and line. Exit 0 when valid, 1 when not (warnings fail only with --strict).
    """

    def body() -> int:
        from .compiler.compile import compile_store
        from .errors import sort_diagnostics

        failed = False
        all_diags = []
        for directory in directories:
            result = compile_store(directory, var_files=var_files, var_overrides=var_overrides)
            diags = sort_diagnostics(result.diagnostics)
            all_diags.extend(diags)
            bad = bool(result.errors) or (strict and bool(result.warnings))
            failed = failed or bad
            if not as_json:
                _print_diagnostics(diags, err=False)
                summary = _summary(result)
                click.echo(f"{directory}: {summary}", err=True)
        if as_json:
            click.echo(json.dumps([d.to_json() for d in all_diags], indent=2))
        return 1 if failed else 0

    _run(body)


def _summary(result: Any) -> str:
    n_err, n_warn = len(result.errors), len(result.warnings)
    warn = f", {n_warn} warning{'s' if n_warn != 1 else ''}" if n_warn else ""
    if n_err:
        return f"invalid: {n_err} error{'s' if n_err != 1 else ''}{warn}"
    count = result.desired.count() if result.desired else 0
    return f"valid ({count} resource{'s' if count != 1 else ''} in {len(result.files)} file{'s' if len(result.files) != 1 else ''}{warn})"


@cli.command(name="compile")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the JSON here instead of printing it.",
)
@var_options
def compile_cmd(
    directory: Path,
    output: Path | None,
    var_files: tuple[Path, ...],
    var_overrides: tuple[str, ...],
) -> None:
    """Print the normalized desired state as JSON.

    The output is {"store": {...}, "resources": {KIND: {ID: SPEC}}} with defaults filled in and
    amounts in canonical form: exactly what plan compares with the live store.
    """

    def body() -> int:
        from ._fs import atomic_write
        from .compiler.compile import compile_store

        result = compile_store(directory, var_files=var_files, var_overrides=var_overrides)
        if not result.ok or result.desired is None:
            raise DefinitionError(result.errors, result.warnings)
        _print_diagnostics(result.warnings, err=True)
        text = json.dumps(result.desired.to_json(), indent=2, ensure_ascii=False) + "\n"
        if output:
            atomic_write(output, text.encode())
            click.echo(f"Wrote {output}", err=True)
        else:
            click.echo(text, nl=False)
        return 0

    _run(body)


@cli.command()
@click.option(
    "--db",
    "db",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="SQLite database file (created if missing).",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8700,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on.",
)
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0),
    default=0,
    show_default=True,
    help="Requests per second allowed per token; over it the server answers 429 with Retry-After. 0 is off.",
)
@click.option("--quiet", is_flag=True, help="No access log.")
def serve(db: Path, host: str, port: int, rate_limit: float, quiet: bool) -> None:
    """Run the reference store server (the store API) on HOST:PORT.

    Clients need a token for their store: `storecfg token create --db FILE --store ID`.
    Stops cleanly on SIGTERM or Ctrl-C.
    """

    def body() -> int:
        from .server.run import run_server

        run_server(db, host, port, rate_limit=rate_limit, access_log=not quiet)
        return 0

    _run(body)


@cli.group()
def token() -> None:
    """API tokens for the reference store server."""


@token.command("create")
@click.option(
    "--db",
    "db",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="The server's SQLite database file.",
)
@click.option(
    "--store", "store_id", required=True, help="The store the token is for (created if missing)."
)
@click.option("--name", default=None, help="A note on what the token is for.")
def token_create(db: Path, store_id: str, name: str | None) -> None:
    """Print a new API token for one store.

    The database keeps only a hash of the token: store it now (for example as the
    STORECFG_TOKEN secret of your CI); it cannot be shown again.
    """

    def body() -> int:
        import re

        from .errors import UsageError
        from .model import ID_PATTERN
        from .store.storage import Storage

        if not re.match(ID_PATTERN, store_id):
            raise UsageError(
                f"invalid store ID {store_id!r}: use lowercase letters, digits, '.', '_' and '-'"
            )
        storage = Storage(db)
        try:
            click.echo(storage.create_token(store_id, name))
        finally:
            storage.close()
        return 0

    _run(body)


def main() -> None:
    cli(prog_name="storecfg")


if __name__ == "__main__":  # pragma: no cover
    main()
