"""Options shared by several commands, declared once, and what they resolve to: the
store (after the command, before it, or from the environment), colors, durations, and
the settings the workflows take."""

from __future__ import annotations

import functools
import math
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import click

from ..errors import UsageError

if TYPE_CHECKING:
    from ..apply.workflow import Settings
    from ..workflows.targets import StoreChoice, Targets, Variables

F = TypeVar("F", bound=Callable[..., Any])

#: the longest --lock-timeout: a day
MAX_LOCK_TIMEOUT = 24 * 3600.0

#: --db of serve and token: a SQLite file or a PostgreSQL URL
DB_HELP = (
    "The store database: a SQLite file (created if missing), or a PostgreSQL database "
    "as postgresql://USER@HOST:PORT/DB (the password from PGPASSWORD or ~/.pgpass)."
)


# ------------------------------------------------------------------ declarations


#: the definition directory a command reads
directory_argument = click.argument("directory", type=click.Path(path_type=Path))


def output_dir_option(metavar: str, help_text: str) -> Callable[[F], F]:
    """-o/--output DIR (required): the folder a command writes into."""
    return click.option(
        "-o",
        "--output",
        "outdir",
        required=True,
        metavar=metavar,
        type=click.Path(path_type=Path, file_okay=False),
        help=help_text,
    )


def no_color_option(fn: F) -> F:
    """Accepted by every command that prints, so scripts can pass it everywhere."""
    return click.option(
        "--no-color", "no_color", is_flag=True, help="No colors (this command prints none anyway)."
    )(fn)


def format_option(*choices: str, help_text: str | None = None) -> Callable[[F], F]:
    """--format CHOICE, text by default."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default="text",
        show_default=True,
        help=help_text,
    )


# each group in the order its options are applied: help lists them the other way round
_VARIABLES = (
    click.option(
        "--var",
        "var_overrides",
        multiple=True,
        metavar="KEY=VALUE",
        help='Set a template variable to a string (9.50 stays "9.50"), overriding vars in '
        "store.yaml and var files. Repeatable.",
    ),
    click.option(
        "--var-json",
        "var_json",
        multiple=True,
        metavar="KEY=JSON",
        help='Set a template variable to a typed JSON value (10, true, ["US"], '
        '{"e1": "8.00"}), like --var otherwise. Repeatable.',
    ),
    click.option(
        "--var-file",
        "var_files",
        multiple=True,
        metavar="FILE",
        type=click.Path(path_type=Path, dir_okay=False),
        help="YAML file of template variables (for example one per country). Repeatable; later files win.",
    ),
)
_STORE = (
    click.option(
        "--store",
        "store_url",
        metavar="URL",
        help="Live store: sqlite:///PATH (embedded) or http(s)://HOST:PORT. "
        "Default: $STORECFG_STORE, else sqlite:///.storecfg/store.db. "
        "The API token comes from $STORECFG_TOKEN.",
    ),
    click.option(
        "--no-color",
        is_flag=True,
        help="No colors (also when NO_COLOR is set or output is not a terminal).",
    ),
)
_TARGETS = (
    click.option(
        "--all-targets",
        is_flag=True,
        help="Every target store.yaml defines under targets:.",
    ),
    click.option(
        "--target",
        "target_names",
        multiple=True,
        metavar="NAME",
        help="A target from store.yaml's targets: (its var files, store URL and token). "
        "Repeatable.",
    ),
)


def _declare(fn: Any, *groups: tuple[Callable[[Any], Any], ...]) -> Any:
    for group in groups:
        for option in group:
            fn = option(fn)
    return fn


def var_options(fn: F) -> F:
    """--var-file, --var and --var-json, which reach the command as one argument,
    `variables` (a workflows.targets.Variables)."""

    @functools.wraps(fn)
    def packed(
        *args: Any,
        var_files: tuple[Path, ...],
        var_overrides: tuple[str, ...],
        var_json: tuple[str, ...],
        **kwargs: Any,
    ) -> Any:
        from ..workflows.targets import Variables

        return fn(*args, variables=Variables(var_files, var_overrides, var_json), **kwargs)

    return cast(F, _declare(packed, _VARIABLES))


def target_options(fn: F) -> F:
    """--target and --all-targets, which reach the command as one argument, `targets`
    (a workflows.targets.Targets)."""

    @functools.wraps(fn)
    def packed(*args: Any, target_names: tuple[str, ...], all_targets: bool, **kwargs: Any) -> Any:
        from ..workflows.targets import Targets

        return fn(*args, targets=Targets(target_names, all_targets), **kwargs)

    return cast(F, _declare(packed, _TARGETS))


def store_options(fn: F) -> F:
    """--store URL and --no-color, as `store_url` and `no_color`."""
    return cast(F, _declare(fn, _STORE))


@dataclass(frozen=True)
class Scope:
    """What a command that works on a definition's live store (or its targets'
    stores) was told: the targets, --store as given, --no-color, the variables."""

    targets: Targets
    store_url: str | None
    no_color: bool
    variables: Variables


def run_options(fn: F) -> F:
    """--target/--all-targets, --store/--no-color and the variables, which reach the
    command as one argument, `scope` (a Scope)."""

    @functools.wraps(fn)
    def packed(
        *args: Any,
        target_names: tuple[str, ...],
        all_targets: bool,
        store_url: str | None,
        no_color: bool,
        var_files: tuple[Path, ...],
        var_overrides: tuple[str, ...],
        var_json: tuple[str, ...],
        **kwargs: Any,
    ) -> Any:
        from ..workflows.targets import Targets, Variables

        scope = Scope(
            Targets(target_names, all_targets),
            store_url,
            no_color,
            Variables(var_files, var_overrides, var_json),
        )
        return fn(*args, scope=scope, **kwargs)

    return cast(F, _declare(packed, _VARIABLES, _STORE, _TARGETS))


def json_flag(help_text: str = "Same as --format json.") -> Callable[[F], F]:
    return click.option("--json", "as_json", is_flag=True, help=help_text)


def no_cache_option(fn: F) -> F:
    return click.option(
        "--no-cache", is_flag=True, help="Compile from scratch, ignoring .storecfg/cache."
    )(fn)


def store_id_option(
    help_text: str = "Which store (needed when the URL holds several).",
) -> Callable[[F], F]:
    return click.option("--store-id", default=None, help=help_text)


def db_option(fn: F) -> F:
    return click.option("--db", "db", required=True, metavar="FILE|URL", help=DB_HELP)(fn)


def backup_dir_option(help_text: str) -> Callable[[F], F]:
    return click.option(
        "--backup-dir",
        "backup_dir",
        metavar="DIR",
        envvar="STORECFG_BACKUP_DIR",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help=help_text,
    )


def flag(name: str, help_text: str) -> Callable[[F], F]:
    """An on/off option, off unless given."""
    return click.option(name, is_flag=True, help=help_text)


def file_option(*decls: str, help_text: str, metavar: str | None = None) -> Callable[[F], F]:
    """An option that names a file (never a directory)."""
    return click.option(
        *decls, type=click.Path(path_type=Path, dir_okay=False), metavar=metavar, help=help_text
    )


def delete_options(fn: F) -> F:
    """--max-deletes and --allow-deletes, the same on plan and apply."""
    fn = flag(
        "--allow-deletes",
        "Allow deletes and replaces although store.yaml says policy.deletes: deny.",
    )(fn)
    fn = click.option(
        "--max-deletes",
        type=click.IntRange(min=0),
        default=None,
        metavar="N",
        help="Fail if the plan would delete (or replace) more than N resources.",
    )(fn)
    return fn


def apply_options(fn: F) -> F:
    fn = backup_dir_option(
        "Write the local copy of the snapshot taken before the apply to DIR/STORE/ID.json "
        "instead of .storecfg/snapshots/STORE/ ($STORECFG_BACKUP_DIR); the snapshot is "
        "kept in the store either way."
    )(fn)
    fn = flag("--auto-approve", "Apply without asking for 'yes' (needed without a terminal).")(fn)
    fn = click.option(
        "--lock-timeout",
        default="0s",
        show_default=True,
        metavar="DURATION",
        help="How long to wait for another apply's lock (0s: fail at once; e.g. 30s, 5m).",
    )(fn)
    fn = click.option(
        "--parallelism",
        type=click.IntRange(1, 64),
        default=None,
        help="Writes at once within a dependency level (default 8 over HTTP, 1 embedded).",
    )(fn)
    return fn


# ------------------------------------------------------------------ resolution


def _root_param(name: str) -> Any:
    """An option given before the command (`storecfg --store URL plan ...`)."""
    ctx = click.get_current_context(silent=True)
    return ctx.find_root().params.get(name) if ctx is not None else None


def resolve_store_url(given: str | None) -> str | None:
    """--store after the command, else before it, else $STORECFG_STORE (None: the
    embedded store in the current directory). A plan file or a backup never chooses
    the store: the token goes only where the user says."""
    url = given or _root_param("store_url") or os.environ.get("STORECFG_STORE") or None
    if url and os.environ.get("STORECFG_TOKEN", "").strip():
        from ..store.driver import plaintext_to_remote, safe_url
        from ..views.diagnostics import plaintext_warning

        if plaintext_to_remote(url):
            plaintext_warning(safe_url(url))
    return url


def given_store_url(given: str | None) -> str | None:
    """--store as given on the command line (after the command, else before it)."""
    return given or _root_param("store_url")


def color(no_color: bool) -> bool:
    if no_color or _root_param("no_color") or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def duration(text: str) -> float:
    """--lock-timeout in seconds: 0, 30s, 5m, 1h; finite, not negative, at most a day."""
    units = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0}
    value = text.strip().lower()
    number = value.rstrip("smh")
    unit = value[len(number) :]
    try:
        seconds = float(number) * units[unit]
    except (ValueError, KeyError):
        raise UsageError(
            f"--lock-timeout takes a duration such as 0, 30s or 5m, got {text!r}"
        ) from None
    # nan compares false with everything and inf never passes: both would wait for ever
    if not math.isfinite(seconds):
        raise UsageError(f"--lock-timeout takes a finite duration such as 30s or 5m, got {text!r}")
    if seconds < 0:
        raise UsageError("--lock-timeout cannot be negative")
    if seconds > MAX_LOCK_TIMEOUT:
        raise UsageError(
            f"--lock-timeout is at most {MAX_LOCK_TIMEOUT / 3600:g}h (an apply lock is held "
            f"for minutes, not days), got {text!r}"
        )
    return seconds


def settings(given: str | None, **options: Any) -> Settings:
    """The workflows' settings for the store the user named (or the default one)."""
    from ..apply.workflow import Settings
    from ..views.diagnostics import notice

    return Settings(
        store_url=resolve_store_url(given),
        store_explicit=bool(given_store_url(given)),
        notice=notice,
        **options,
    )


def store_choice(
    given: str | None, target_options: dict[str, Any] | None = None, **options: Any
) -> StoreChoice:
    """The store of each run of a command: `settings(given, **options)` without a
    target, a target's store (with `target_options`, by default `options`) with one."""
    from ..views.diagnostics import notice
    from ..workflows.targets import StoreChoice

    chosen = options if target_options is None else target_options
    return StoreChoice(
        default=lambda: settings(given, **options),
        given_url=given_store_url(given),
        target_options={"notice": notice, **chosen},
    )
