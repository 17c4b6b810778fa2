"""The command line: parse options, call one function, map errors to exit codes.

Heavy modules are imported inside the commands, so `storecfg --help` starts fast.
Nothing here computes; commands call into compiler/, store/, apply/ and print
through views/.
"""

from __future__ import annotations

import gc
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn, TypeVar

import click

from . import __version__
from .errors import DefinitionError, StorecfgError
from .escape import escape

if TYPE_CHECKING:
    from .apply.plandoc import Plan, PlanFailure, PlanOrFailure

F = TypeVar("F", bound=Callable[..., Any])

#: the longest --lock-timeout: a day
MAX_LOCK_TIMEOUT = 24 * 3600.0

EPILOG = "Docs: docs/reference.md (definition language), docs/cli.md (commands and exit codes)."


def _fail(
    message: str, hint: str | None = None, code: int = 1, lines: Sequence[str] = ()
) -> NoReturn:
    # messages quote what stores and files said: no control or bidi characters reach the terminal
    click.echo(f"Error: {escape(message)}", err=True)
    for line in lines:
        click.echo(f"  {escape(line)}", err=True)
    if hint:
        click.echo(f"  {escape(hint)}", err=True)
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
        _fail(exc.message, exc.hint, exc.exit_code, exc.lines)
    except BrokenPipeError:
        # the reader went away (`storecfg plan | head -1`): stop quietly, as other tools
        # do; what is still buffered goes nowhere instead of failing again at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
    except KeyboardInterrupt:
        _fail(
            "interrupted (Ctrl-C)",
            "Writes already sent were finished or not started; `storecfg plan` shows what is left.",
            code=130,
        )
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


def no_color_option(fn: F) -> F:
    """Accepted by every command that prints, so scripts can pass it everywhere."""
    return click.option(
        "--no-color", "no_color", is_flag=True, help="No colors (this command prints none anyway)."
    )(fn)


def var_options(fn: F) -> F:
    fn = click.option(
        "--var",
        "var_overrides",
        multiple=True,
        metavar="KEY=VALUE",
        help='Set a template variable to a string (9.50 stays "9.50"), overriding vars in '
        "store.yaml and var files. Repeatable.",
    )(fn)
    fn = click.option(
        "--var-json",
        "var_json",
        multiple=True,
        metavar="KEY=JSON",
        help='Set a template variable to a typed JSON value (10, true, ["US"], '
        '{"e1": "8.00"}), like --var otherwise. Repeatable.',
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


class _Group(click.Group):
    """The top-level group: command-line usage errors exit 1, like every other error.

    (Click's default is 2, which `plan --detailed-exitcode` uses to mean "changes": a CI
    script must not read a mistyped option as a plan with changes.)
    """

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except click.ClickException as exc:
            exc.show()
            sys.exit(1 if isinstance(exc, click.UsageError) else exc.exit_code)
        except click.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(result if isinstance(result, int) else 0)


@click.group(
    cls=_Group,
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


def target_options(fn: F) -> F:
    fn = click.option(
        "--all-targets",
        is_flag=True,
        help="Every target store.yaml defines under targets:.",
    )(fn)
    fn = click.option(
        "--target",
        "target_names",
        multiple=True,
        metavar="NAME",
        help="A target from store.yaml's targets: (its var files, store URL and token). "
        "Repeatable.",
    )(fn)
    return fn


def _select_targets(directory: Path, names: tuple[str, ...], all_targets: bool) -> list[Any] | None:
    """The targets asked for (None when no target option was given)."""
    if not names and not all_targets:
        return None
    from .compiler.result import find_store_file
    from .compiler.targets import select_targets

    return select_targets(find_store_file(directory), names, all_targets)


def _repo_root() -> Path:
    """Where annotation paths start: the GitHub workspace, else the enclosing git work
    tree, else the current directory."""
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if workspace and Path(workspace).is_dir():
        return Path(workspace).resolve()
    here = Path.cwd().resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return here


def _repo_relative(file: str, root: Path) -> str:
    if not file:
        return file
    try:
        return (Path.cwd() / file).resolve().relative_to(root).as_posix()
    except ValueError:  # outside the repository: as the user gave it
        return Path(file).as_posix()


@cli.command()
@click.argument("directories", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "github", "sarif"]),
    default="text",
    show_default=True,
    help="text: FILE:LINE:COL lines; json: a list; github: workflow commands that annotate "
    "a pull request; sarif: SARIF 2.1.0 for code scanning.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the diagnostics here instead of printing them (for example results.sarif).",
)
@click.option("--strict", is_flag=True, help="Fail on warnings too.")
@target_options
@var_options
@no_color_option
def validate(
    no_color: bool,
    directories: tuple[Path, ...],
    fmt: str,
    as_json: bool,
    output: Path | None,
    strict: bool,
    target_names: tuple[str, ...],
    all_targets: bool,
    var_files: tuple[Path, ...],
    var_overrides: tuple[str, ...],
    var_json: tuple[str, ...],
) -> None:
    """Check store definitions against the schemas and business rules.

    Needs no store. Prints one line per problem, FILE:LINE:COL: CODE ADDRESS: message,
    sorted by file and line. Exit 0 when valid, 1 when not (warnings fail only with --strict).
    With targets, each target's variables are checked; a problem they share is shown once.
    """

    def body() -> int:
        from ._fs import atomic_write
        from .compiler.compile import compile_store
        from .errors import UsageError, sort_diagnostics

        fmt_ = "json" if as_json else fmt
        runs: list[tuple[str, Path, tuple[Path, ...]]] = []
        failed = False
        for directory in directories:
            try:
                targets = _select_targets(directory, target_names, all_targets)
            except UsageError as exc:  # a missing directory: say so, check the others
                _echo_error(exc)
                failed = True
                continue
            if targets is None:
                runs.append((str(directory), directory, var_files))
            else:
                runs += [
                    (f"{directory} (target {t.name})", directory, (*t.var_files, *var_files))
                    for t in targets
                ]
        all_diags = []
        seen: set[str] = set()
        for label, directory, files in runs:
            try:
                result = compile_store(
                    directory, var_files=files, var_overrides=var_overrides, var_json=var_json
                )
            except UsageError as exc:
                _echo_error(exc)
                failed = True
                continue
            diags = [d for d in sort_diagnostics(result.diagnostics) if d.format() not in seen]
            seen.update(d.format() for d in diags)
            all_diags.extend(diags)
            failed = failed or bool(result.errors) or (strict and bool(result.warnings))
            if fmt_ == "text" and not output:
                _print_diagnostics(diags, err=False)
            click.echo(f"{label}: {_summary(result, strict)}", err=True)
        if fmt_ == "text":
            text = "".join(d.format() + "\n" for d in all_diags)
        elif fmt_ == "json":
            text = json.dumps([d.to_json() for d in all_diags], indent=2) + "\n"
        else:
            text = _annotations(fmt_, [d.to_json() for d in all_diags])
        if output:
            atomic_write(output, text.encode())
            click.echo(f"Wrote {output}", err=True)
        elif fmt_ != "text":
            click.echo(text, nl=False)
        return 1 if failed else 0

    _run(body)


def _annotations(fmt: str, diags: list[dict[str, Any]]) -> str:
    """Diagnostics as GitHub workflow commands or SARIF, with repository-relative paths."""
    from .spec.codehelp import HELP
    from .spec.codes import CODES
    from .views.annotations import github_commands, sarif_log

    root = _repo_root()
    for d in diags:
        d["file"] = _repo_relative(d["file"], root)
    if fmt == "github":
        return "".join(line + "\n" for line in github_commands(diags))
    rules = [(c.code, c.title, c.severity, HELP.get(c.code, c.title)) for c in CODES.values()]
    log = sarif_log(diags, rules, version=__version__, root_uri=root.as_uri() + "/")
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _summary(result: Any, strict: bool = False) -> str:
    n_err, n_warn = len(result.errors), len(result.warnings)
    warn = f", {n_warn} warning{'s' if n_warn != 1 else ''}" if n_warn else ""
    if n_err:
        return f"invalid: {n_err} error{'s' if n_err != 1 else ''}{warn}"
    if strict and n_warn:
        return f"invalid under --strict: {n_warn} warning{'s' if n_warn != 1 else ''}"
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
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Accepted like on every command that prints results (the output is JSON anyway).",
)
@var_options
@no_color_option
def compile_cmd(
    no_color: bool,
    as_json: bool,
    directory: Path,
    output: Path | None,
    var_files: tuple[Path, ...],
    var_overrides: tuple[str, ...],
    var_json: tuple[str, ...],
) -> None:
    """Print the normalized desired state as JSON.

    The output is {"store": {...}, "resources": {KIND: {ID: SPEC}}} with defaults filled in and
    amounts in canonical form: exactly what plan compares with the live store.
    """

    def body() -> int:
        from ._fs import atomic_write
        from .compiler.compile import compile_store

        result = compile_store(
            directory, var_files=var_files, var_overrides=var_overrides, var_json=var_json
        )
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


def store_options(fn: F) -> F:
    fn = click.option(
        "--store",
        "store_url",
        metavar="URL",
        help="Live store: sqlite:///PATH (embedded) or http(s)://HOST:PORT. "
        "Default: $STORECFG_STORE, else sqlite:///.storecfg/store.db. "
        "The API token comes from $STORECFG_TOKEN.",
    )(fn)
    fn = click.option(
        "--no-color",
        is_flag=True,
        help="No colors (also when NO_COLOR is set or output is not a terminal).",
    )(fn)
    return fn


def _root_param(name: str) -> Any:
    """An option given before the command (`storecfg --store URL plan ...`)."""
    ctx = click.get_current_context(silent=True)
    return ctx.find_root().params.get(name) if ctx is not None else None


def _store_url(given: str | None) -> str | None:
    """--store after the command, else before it, else $STORECFG_STORE (None: the
    embedded store in the current directory). A plan file or a backup never chooses
    the store: the token goes only where the user says."""
    url = given or _root_param("store_url") or os.environ.get("STORECFG_STORE") or None
    if url and os.environ.get("STORECFG_TOKEN", "").strip():
        from .store.driver import plaintext_to_remote, safe_url

        if plaintext_to_remote(url):
            click.echo(
                f"Warning: {escape(safe_url(url))} is plain HTTP to another machine: the API "
                "token (STORECFG_TOKEN) and the store's content cross the network unencrypted. "
                "Use https://.",
                err=True,
            )
    return url


def _store_explicit(given: str | None) -> bool:
    """Whether the store was named on the command line (not only in the environment)."""
    return bool(given or _root_param("store_url"))


def _color(no_color: bool) -> bool:
    if no_color or _root_param("no_color") or os.environ.get("NO_COLOR"):
        return False
    return sys.stdout.isatty()


def _duration(text: str) -> float:
    from .errors import UsageError

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


def delete_options(fn: F) -> F:
    """--max-deletes and --allow-deletes, the same on plan and apply."""
    fn = click.option(
        "--allow-deletes",
        is_flag=True,
        help="Allow deletes and replaces although store.yaml says policy.deletes: deny.",
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
        "Also write the snapshot taken before the apply to DIR/STORE/ID.json "
        "($STORECFG_BACKUP_DIR); it is kept in the store either way."
    )(fn)
    fn = click.option(
        "--auto-approve",
        is_flag=True,
        help="Apply without asking for 'yes' (needed without a terminal).",
    )(fn)
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


def _settings(store_url: str | None, **kw: Any) -> Any:
    from .apply.workflow import Settings

    return Settings(
        store_url=_store_url(store_url),
        store_explicit=_store_explicit(store_url),
        notice=_notice,
        **kw,
    )


def _notice(message: str) -> None:
    click.echo(message, err=True)


def _echo_plan(plan: Plan, fmt: str, color: bool) -> None:
    if fmt == "json":
        from .views.json import render_plan as render_json

        click.echo(render_json(plan), nl=False)
    elif fmt == "markdown":
        from .views.markdown import render_plan as render_md

        click.echo(render_md(plan), nl=False)
    else:
        from .views.text import plan_lines

        # printed as rendered, a thousand lines at a time: a plan of tens of thousands of
        # creates never has to exist as one string
        chunk: list[str] = []
        for line in plan_lines(plan, color=color):
            chunk.append(line)
            if len(chunk) >= 1000:
                click.echo("\n".join(chunk))
                chunk.clear()
        if chunk:
            click.echo("\n".join(chunk))


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="PLANFILE",
    help="Save the plan here for `storecfg apply PLANFILE` (with several targets, one file "
    "per target: PLANFILE with the target name before its extension).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="text for people, json for programs (the plan file format), markdown for pull-request comments.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 with no changes, 2 with changes (in any target), 1 on error.",
)
@delete_options
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--no-cache", is_flag=True, help="Compile from scratch, ignoring .storecfg/cache.")
@target_options
@store_options
@var_options
def plan(
    directory: Path,
    out: Path | None,
    fmt: str,
    as_json: bool,
    detailed_exitcode: bool,
    max_deletes: int | None,
    allow_deletes: bool,
    no_cache: bool,
    target_names: tuple[str, ...],
    all_targets: bool,
    store_url: str | None,
    no_color: bool,
    var_files: tuple[Path, ...],
    var_overrides: tuple[str, ...],
    var_json: tuple[str, ...],
) -> None:
    """Show what would change in the live store to match DIRECTORY.

    The business impact (prices, taxes, deletions) comes first, then the deletions, then the
    other changes. Exit 0 (no changes, or changes without --detailed-exitcode), 2 (changes, with
    --detailed-exitcode), 1 (error). With several targets: one document with a section per
    target; exit 1 if any target failed, else 2 if any has changes (with --detailed-exitcode).
    A plan that fails still prints Markdown (with the errors) under --format markdown.
    """

    def body() -> int:
        from .apply.planfile import write_plan
        from .apply.workflow import plan_directory
        from .errors import StorecfgError

        fmt_ = "json" if as_json else fmt
        several = all_targets or len(set(target_names)) > 1
        options: dict[str, Any] = {
            "max_deletes": max_deletes,
            "allow_deletes": allow_deletes,
            "use_cache": not no_cache,
        }
        try:
            targets = _select_targets(directory, target_names, all_targets)
        except StorecfgError as exc:
            if fmt_ != "markdown":
                raise
            return _markdown_failure(exc, directory)
        jobs: list[tuple[Any, Callable[[], Any], tuple[Path, ...]]] = (
            [(None, lambda: _settings(store_url, **options), var_files)]
            if targets is None
            else [
                (t, _target_settings(t, store_url, options), (*t.var_files, *var_files))
                for t in targets
            ]
        )
        docs: list[tuple[str | None, PlanOrFailure]] = []
        doc: PlanOrFailure
        for t, settings, files in jobs:
            name = t.name if t is not None else None
            try:
                doc, warnings = plan_directory(
                    directory, settings(), files, var_overrides, var_json
                )
                if t is not None:
                    # which target the plan is for (informational: apply never follows it)
                    doc["target"] = {
                        "name": t.name,
                        "store_url_env": t.store_url_env,
                        "token_env": t.token_env,
                    }
            except StorecfgError as exc:
                if exc.store_id is None:  # failed before the definition was read
                    exc.store_id = _store_id_of(directory, files, var_overrides, var_json)
                if not several:
                    if fmt_ != "markdown":
                        raise
                    return _markdown_failure(exc, directory)
                _echo_error(exc, f"target {name}: ")
                docs.append((name, _failure_document(exc, directory)))
                continue
            _print_diagnostics(warnings, err=True)
            if doc["interrupted_apply"]:  # wherever the plan runs, and whatever its format
                where = f"target {name}: " if several else ""
                message = str(doc["interrupted_apply"]["message"])
                click.echo(escape(f"Warning: {where}{message}"), err=True)
            docs.append((name, doc))
        saved: list[Path] = []
        if out:
            for name, doc in docs:
                if "error" not in doc:
                    path = _target_path(out, name) if several and name else out
                    write_plan(path, doc)
                    saved.append(path)
        color = _color(no_color)
        if not several:
            doc = docs[0][1]
            assert "error" not in doc  # with one target, a failure has returned above
            if fmt_ == "markdown":
                from .views.markdown import render_plans

                note = _full_plan_note(directory, target_names, saved)
                click.echo(render_plans(docs, full_plan=note), nl=False)
            else:
                _echo_plan(doc, fmt_, color)
        elif fmt_ == "json":
            from .views.json import render_targets

            click.echo(render_targets(docs), nl=False)
        elif fmt_ == "markdown":
            from .views.markdown import render_plans

            note = _full_plan_note(directory, target_names, saved, all_targets)
            click.echo(render_plans(docs, full_plan=note), nl=False)
        else:
            from .views.text import target_outcome

            for name, doc in docs:
                click.echo(f"=== target {name} ===\n")
                if "error" in doc:
                    click.echo(f"{target_outcome(doc)} (the errors are above, on standard error)")
                else:
                    _echo_plan(doc, "text", color)
                click.echo("")
            click.echo(
                "Targets: " + "; ".join(f"{name}: {target_outcome(doc)}" for name, doc in docs)
            )
        for path in saved:
            click.echo(f"Saved the plan to {path}; apply it with: storecfg apply {path}", err=True)
        if any("error" in doc for _, doc in docs):
            return 1
        changed = any(doc["has_changes"] for _, doc in docs if "error" not in doc)
        return 2 if detailed_exitcode and changed else 0

    _run(body)


def _target_settings(
    target: Any, store_url: str | None, options: dict[str, Any]
) -> Callable[[], Any]:
    """Settings for one target, made when it is planned (a missing variable fails that
    target only)."""

    def make() -> Any:
        from .apply.workflow import Settings

        given = store_url or _root_param("store_url")
        url = target.store_url(given, os.environ)
        token = target.token(url, os.environ)
        return Settings(store_url=url, store_explicit=bool(given), token=token, **options)

    return make


def _store_id_of(
    directory: Path,
    var_files: tuple[Path, ...],
    var_overrides: tuple[str, ...],
    var_json: tuple[str, ...],
) -> str | None:
    """The store ID a definition names, if it can be read at all (for the marker line
    of a plan that failed before the definition was read)."""
    from .compiler.compile import compile_store
    from .errors import StorecfgError

    try:
        return compile_store(
            directory, var_files=var_files, var_overrides=var_overrides, var_json=var_json
        ).store_id
    except StorecfgError:
        return None


def _target_path(path: Path, name: str) -> Path:
    """plan.json -> plan.us.json; plan -> plan.us."""
    return path.with_name(f"{path.stem}.{name}{path.suffix}")


def _echo_error(exc: Any, prefix: str = "") -> None:
    from .errors import DefinitionError

    if isinstance(exc, DefinitionError):
        _print_diagnostics(exc.diagnostics, err=True)
    click.echo(f"Error: {escape(prefix + exc.message)}", err=True)
    for line in exc.lines:
        click.echo(f"  {escape(line)}", err=True)
    if exc.hint:
        click.echo(f"  {escape(exc.hint)}", err=True)


def _failure_document(exc: Any, directory: Path) -> PlanFailure:
    from .errors import DefinitionError, display_path
    from .views.markdown import failure_document

    diagnostics = exc.diagnostics if isinstance(exc, DefinitionError) else []
    return failure_document(
        store={"id": exc.store_id},
        source=display_path(str(directory)),
        message=exc.message,
        hint=exc.hint,
        diagnostics=[d.to_json() for d in diagnostics],
    )


def _markdown_failure(exc: Any, directory: Path) -> int:
    """A plan that could not be made, as Markdown on standard output (for the pull
    request) and as the usual error on standard error (for the log); exit 1."""
    from .views.markdown import render_plans

    _echo_error(exc)
    doc = _failure_document(exc, directory)
    if not doc["store"]["id"]:
        doc["store"]["id"] = Path(directory).resolve().name
    click.echo(render_plans([(None, doc)]), nl=False)
    return 1


def _full_plan_note(
    directory: Path, names: tuple[str, ...], saved: list[Path], all_targets: bool = False
) -> str:
    """Where a reader of a cut comment finds the whole plan (Markdown)."""
    import re
    import shlex

    from .views.markdown import code

    args = ["storecfg", "plan", str(directory)]
    args += ["--all-targets"] if all_targets else [a for n in names for a in ("--target", n)]
    parts = [f"The whole plan: {code(shlex.join(args))}"]
    if saved:
        parts.append(
            "the plan file" + ("s " if len(saved) > 1 else " ") + ", ".join(code(p) for p in saved)
        )
    server = os.environ.get("GITHUB_SERVER_URL", "")
    repo = os.environ.get("GITHUB_REPOSITORY", "")
    run_id = os.environ.get("GITHUB_RUN_ID", "")
    if (
        re.fullmatch(r"https?://[A-Za-z0-9.:-]+", server)
        and re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repo)
        and run_id.isdigit()
    ):
        parts.append(
            f"the log and artifacts of [this workflow run]({server}/{repo}/actions/runs/{run_id})"
        )
    return ", ".join(parts[:-1]) + (" or " if len(parts) > 1 else "") + parts[-1] + "."


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "-o",
    "--output",
    "outdir",
    required=True,
    metavar="OUTDIR",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder to write the site into (created if missing; an earlier preview there is replaced).",
)
@click.option(
    "--compare-live",
    is_flag=True,
    help="Read the live store (--store, or each target's) and mark changed prices, new and "
    "removed plans.",
)
@click.option("--no-cache", is_flag=True, help="Compile from scratch, ignoring .storecfg/cache.")
@target_options
@store_options
@var_options
def preview(
    directory: Path,
    outdir: Path,
    compare_live: bool,
    no_cache: bool,
    target_names: tuple[str, ...],
    all_targets: bool,
    store_url: str | None,
    no_color: bool,
    var_files: tuple[Path, ...],
    var_overrides: tuple[str, ...],
    var_json: tuple[str, ...],
) -> None:
    """Write the storefront of DIRECTORY as a static site a reviewer opens in a browser.

    Each purchase scenario's screens in order, with categories, plans, prices in the
    store's currency, add-ons, terms, payment methods by region and the store's colours.
    The folder opens from disk (OUTDIR/index.html) and loads nothing from the network.
    With several targets, each gets its own site in OUTDIR/TARGET. Needs no store unless
    --compare-live is given. Exit 0 written, 1 error.
    """

    def body() -> int:
        from .preview import build_preview, write_site, write_sites

        options = {"use_cache": not no_cache}
        targets = _select_targets(directory, target_names, all_targets)
        jobs: list[tuple[str | None, Callable[[], Any], tuple[Path, ...]]] = (
            [(None, lambda: _settings(store_url, **options), var_files)]
            if targets is None
            else [
                (
                    t.name,
                    # a target's store (and its variables) only matter to compare with it
                    _target_settings(t, store_url, options)
                    if compare_live
                    else lambda: _settings(store_url, **options),
                    (*t.var_files, *var_files),
                )
                for t in targets
            ]
        )
        sites = []
        for name, settings, files in jobs:
            try:
                site, warnings = build_preview(
                    directory,
                    settings(),
                    files,
                    var_overrides,
                    var_json,
                    compare_live=compare_live,
                )
            except StorecfgError as exc:
                if name is not None and not exc.message.startswith(f"target {name}:"):
                    exc.message = f"target {name}: {exc.message}"
                raise
            _print_diagnostics(warnings, err=True)
            sites.append((name, site))
        # everything compiled (and read) before anything is written
        if len(sites) == 1:
            written = write_site(sites[0][1], outdir)
            shown = [(sites[0][0], sites[0][1], written.files, outdir)]
        else:
            named = [(str(name), site) for name, site in sites]
            written = write_sites(named, outdir)
            parts = written.targets or {}
            shown = [(n, s, parts[n].files, outdir / n) for n, s in named]
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
        if len(sites) > 1:
            click.echo(f"All targets: open {outdir / 'index.html'}", err=True)
        return 0

    _run(body)


@cli.command()
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
) -> None:
    """Create a starter store in DIRECTORY that validates and plans as it is.

    A Microsoft 365 store with two plans, a category, terms, a purchase scenario, a tax
    rule, a payment method and branding; a .gitignore for .storecfg/; the JSON Schemas in
    schema/ (every file has an editor modeline for them); and a GitHub Actions workflow
    that plans pull requests and applies the reviewed plan on merge. Existing files are
    never overwritten without --force.
    """

    def body() -> int:
        from .kit.init import init_store

        result = init_store(directory, store_id=store_id, name=name, force=force)
        click.echo(
            f"Created a starter store in {directory} ({len(result.written)} files).", err=True
        )
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
        return 0

    _run(body)


@cli.command()
@click.option(
    "-o",
    "--output",
    "outdir",
    required=True,
    metavar="DIR",
    type=click.Path(path_type=Path, file_okay=False),
    help="Folder to write the schemas into (created if missing; files of the same names are replaced).",
)
@no_color_option
def schema(no_color: bool, outdir: Path) -> None:
    """Write the JSON Schemas of store definitions, for editors and SchemaStore.

    store.schema.json (for store.yaml), definition.schema.json (for included files) and
    the files they refer to, which must stay together; plus storecfg-store.schema.json and
    storecfg-definition.schema.json, the same schemas each in one self-contained file.
    """

    def body() -> int:
        from .kit.schemas import write_schemas

        written = write_schemas(outdir)
        click.echo(f"Wrote {len(written)} JSON Schemas to {outdir}.", err=True)
        return 0

    _run(body)


class _Progress:
    """Progress of an apply: a bar on a terminal, plain lines in CI logs."""

    VERBS: ClassVar[dict[str, str]] = {
        "create": "created",
        "update": "updated",
        "delete": "deleted",
        "replace": "replaced",
        "settings": "updated",
    }

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last_pct = -1

    def __call__(self, p: Any) -> None:
        if p.event == "failed":
            self._clear()
            click.echo(escape(f"  failed  {p.address}: {p.error}"), err=True)
            return
        if p.event != "done":
            return
        if self.tty:
            width = 30
            filled = int(width * p.done / max(p.total, 1))
            bar = "#" * filled + "-" * (width - filled)
            line = f"\r  [{bar}] {p.done}/{p.total} {self.VERBS.get(p.action, p.action)} {escape(p.address)}"
            click.echo(line[:120].ljust(120), err=True, nl=False)
            if p.done == p.total:
                click.echo("", err=True)
        elif p.total <= 200:
            click.echo(f"  {self.VERBS.get(p.action, p.action)} {escape(p.address)}", err=True)
        else:
            pct = p.done * 100 // p.total
            if pct // 10 != self.last_pct // 10 or p.done == p.total:
                self.last_pct = pct
                click.echo(f"  applied {p.done}/{p.total} ({pct}%)", err=True)

    def _clear(self) -> None:
        if self.tty:
            click.echo("\r" + " " * 120 + "\r", err=True, nl=False)


def _confirm_factory(color: bool, auto_approve: bool, what: str) -> Callable[[Plan], bool]:
    def confirm(plan_doc: Plan) -> bool:
        _echo_plan(plan_doc, "text", color)
        if auto_approve:
            return True
        click.echo(
            f"\nDo you want to apply these changes to store {escape(plan_doc['store']['id'])}{what}?\n"
            "  Only 'yes' will be accepted to approve.\n"
        )
        try:
            answer = input("  Enter a value: ")
        except EOFError:
            answer = ""
        return answer.strip() == "yes"

    return confirm


def _report_notes(report: Any) -> None:
    for note in report.notes:
        click.echo(f"Warning: {note}", err=True)
    if report.acknowledged:
        n = len(report.acknowledged)
        click.echo(
            f"Recorded {n} resource{'s' if n != 1 else ''} changed outside storecfg as matching "
            "the definition now; they no longer count as drift.",
            err=True,
        )


def _report(report: Any, color: bool) -> int:
    from .views.text import Style

    style = Style(color)
    _report_notes(report)
    if report.cancelled:
        click.echo("\nApply cancelled; nothing was changed.", err=True)
        return 1
    outcome = report.outcome
    if outcome is None:
        if not report.plan["has_changes"]:
            _echo_plan(report.plan, "text", color)
        return 0
    counts = outcome.counts()
    extra = f", {counts['replace']} replaced" if counts["replace"] else ""
    settings = ", store settings updated" if counts.get("settings") else ""
    snap = outcome.snapshot
    if outcome.ok:
        click.echo(
            style(
                f"\nApply complete: {counts['create']} created, {counts['update']} updated, "
                f"{counts['delete']} deleted{extra}{settings}.",
                "green",
                "bold",
            )
        )
        if snap:
            click.echo(
                f"Backup of the store before this apply: {snap.id} (storecfg backup restore {snap.id})"
            )
            if snap.local_copy:
                click.echo(f"A copy of it is in {snap.local_copy}.")
        return 0
    click.echo(style("\nApply failed.", "red", "bold"), err=True)
    click.echo(f"  succeeded:     {len(outcome.succeeded)}", err=True)
    for address, action, error in outcome.failed:
        click.echo(escape(f"  failed:        {address} ({action}): {error}"), err=True)
    if outcome.not_attempted:
        names = ", ".join(a for a, _ in outcome.not_attempted[:10])
        more = (
            f" and {len(outcome.not_attempted) - 10} more"
            if len(outcome.not_attempted) > 10
            else ""
        )
        click.echo(
            escape(f"  not attempted: {len(outcome.not_attempted)} ({names}{more})"), err=True
        )
    if snap:
        where = f"kept in the store{f', a copy in {snap.local_copy}' if snap.local_copy else ''}"
        if not snap.in_store:
            where = str(snap.path)
        click.echo(
            f"  The store as it was before this apply is in backup {snap.id} ({where}); "
            f"`storecfg backup restore {snap.id}` puts it back.",
            err=True,
        )
    click.echo(
        "  Run `storecfg plan` to see what is left; applying again continues from here.", err=True
    )
    return 1


@cli.command()
@click.argument("target", metavar="DIR|PLANFILE", type=click.Path(path_type=Path))
@click.option(
    "--reviewed",
    "reviewed",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="PLANFILE",
    default=None,
    help="Plan DIR now and apply only if its changes are exactly those of this reviewed "
    "plan file (address, action, resulting spec); otherwise list the differences and exit 1.",
)
@delete_options
@apply_options
@target_options
@store_options
@var_options
def apply(
    target: Path,
    reviewed: Path | None,
    max_deletes: int | None,
    allow_deletes: bool,
    auto_approve: bool,
    lock_timeout: str,
    parallelism: int | None,
    backup_dir: Path | None,
    target_names: tuple[str, ...],
    all_targets: bool,
    store_url: str | None,
    no_color: bool,
    var_files: tuple[Path, ...],
    var_overrides: tuple[str, ...],
    var_json: tuple[str, ...],
) -> None:
    """Apply a definition directory (plans, asks, applies) or a saved plan file.

    Takes the store's apply lock, writes a snapshot backup, then writes in dependency order
    with revision checks and idempotency keys, journaling every write. A saved plan is refused
    if the store changed since it was made. With --reviewed PLANFILE, DIR is planned again and
    applied (without asking) only if it makes exactly the reviewed changes. With targets,
    each target is applied in turn (asking for each on a terminal, and with --reviewed
    checked against its own plan file); the first that fails stops the rest.
    """

    def body() -> int:
        from .apply.planfile import read_plan
        from .apply.workflow import apply_directory, apply_planfile, apply_reviewed
        from .errors import UsageError

        color = _color(no_color)
        settings = _settings(
            store_url,
            lock_timeout=_duration(lock_timeout),
            parallelism=parallelism,
            backup_dir=backup_dir,
            max_deletes=max_deletes,
            allow_deletes=allow_deletes,
        )
        if not target.exists():
            raise UsageError(f"{target}: no such store directory or plan file")
        is_planfile = target.is_file() and target.name != "store.yaml"
        if (target_names or all_targets) and is_planfile:
            raise UsageError(
                "--target and --all-targets apply to a definition directory; a plan file "
                "already names its store"
            )
        targets = None if is_planfile else _select_targets(target, target_names, all_targets)
        if targets is not None:
            if reviewed is None and not auto_approve and not sys.stdin.isatty():
                raise UsageError(
                    "apply asks for confirmation on a terminal; without one, pass --auto-approve"
                )
            options = {
                "lock_timeout": _duration(lock_timeout),
                "parallelism": parallelism,
                "max_deletes": max_deletes,
                "allow_deletes": allow_deletes,
            }
            several = all_targets or len(targets) > 1
            for number, t in enumerate(targets, 1):
                click.echo(f"=== target {t.name} ({number} of {len(targets)}) ===\n")
                if reviewed is not None:
                    # the plan file `plan -o` wrote for this target
                    planfile = _target_path(reviewed, t.name) if several else reviewed
                    report = apply_reviewed(
                        target,
                        read_plan(planfile),
                        str(planfile),
                        _target_settings(t, store_url, options)(),
                        var_files=(*t.var_files, *var_files),
                        var_overrides=var_overrides,
                        var_json=var_json,
                        progress=_Progress(),
                    )
                else:
                    report = apply_directory(
                        target,
                        _target_settings(t, store_url, options)(),
                        var_files=(*t.var_files, *var_files),
                        var_overrides=var_overrides,
                        var_json=var_json,
                        confirm=_confirm_factory(color, auto_approve, f" (target {t.name})"),
                        progress=_Progress(),
                    )
                _print_diagnostics(report.warnings, err=True)
                if _report(report, color) != 0:
                    rest = [u.name for u in targets[number:]]
                    if rest:
                        click.echo(f"Not applied: {', '.join(rest)}.", err=True)
                    return 1
                click.echo("")
            return 0
        if reviewed is not None:
            if is_planfile:
                raise UsageError(
                    "--reviewed PLANFILE checks a definition directory against a reviewed plan: "
                    f"give the directory, not {target}"
                )
            report = apply_reviewed(
                target,
                read_plan(reviewed),
                str(reviewed),
                settings,
                var_files=var_files,
                var_overrides=var_overrides,
                var_json=var_json,
                progress=_Progress(),
            )
            _print_diagnostics(report.warnings, err=True)
            if report.outcome is not None:
                click.echo(f"The changes match the reviewed plan {reviewed}.", err=True)
            return _report(report, color)
        if is_planfile:
            if var_files or var_overrides or var_json:
                raise UsageError(
                    "--var, --var-json and --var-file apply to a definition directory; a plan file is "
                    "applied exactly as it was made"
                )
            plan_doc = read_plan(target)
            report = apply_planfile(plan_doc, settings, progress=_Progress())
            if report.outcome is None and report.plan["has_changes"] is False:
                _echo_plan(report.plan, "text", color)
                _report_notes(report)
                return 0
            return _report(report, color)
        if not auto_approve and not sys.stdin.isatty():
            raise UsageError(
                "apply asks for confirmation on a terminal; without one, pass --auto-approve "
                "(or apply a saved plan file)"
            )
        report = apply_directory(
            target,
            settings,
            var_files=var_files,
            var_overrides=var_overrides,
            var_json=var_json,
            confirm=_confirm_factory(color, auto_approve, ""),
            progress=_Progress(),
        )
        _print_diagnostics(report.warnings, err=True)
        return _report(report, color)

    _run(body)


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.argument("addresses", nargs=-1, metavar="[ADDRESS]...")
@click.option(
    "--into",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    default=None,
    help="Add resources created outside storecfg to FILE (store.yaml or a file the "
    "definition includes), in the file's style. Without it they are left alone.",
)
@click.option("--dry-run", is_flag=True, help="Print the edits as a unified diff; write no file.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the report as JSON (with the diff under --dry-run).",
)
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
    var_files: tuple[Path, ...],
    var_overrides: tuple[str, ...],
    var_json: tuple[str, ...],
) -> None:
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

    def body() -> int:
        from .adopt.run import adopt_directory
        from .views import adopt as view

        settings = _settings(store_url)
        files = var_files
        targets = _select_targets(directory, (target_name,) if target_name else (), False)
        if targets:
            settings = _target_settings(targets[0], store_url, {})()
            files = (*targets[0].var_files, *var_files)
        result = adopt_directory(
            directory,
            settings,
            var_files=files,
            var_overrides=var_overrides,
            var_json=var_json,
            addresses=addresses,
            into=into,
            dry_run=dry_run,
        )
        doc = result.to_json()
        diff = "".join(f.diff() for f in result.files)
        if as_json:
            if dry_run:
                doc["diff"] = diff
            click.echo(view.render_json(doc), nl=False)
            return 0
        if dry_run:  # the diff alone on stdout, so it can be saved and applied as a patch
            click.echo(diff, nl=False)
        for line in view.report_lines(doc):
            click.echo(line, err=dry_run)
        return 0

    _run(body)


@cli.command()
@click.option(
    "--store-id", default=None, help="Which store to export (needed when the URL holds several)."
)
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Directory to write store.yaml and the resource files into.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing store.yaml in the directory.")
@store_options
def export(
    store_id: str | None, output: Path, force: bool, store_url: str | None, no_color: bool
) -> None:
    """Write the live store as a store definition directory.

    The result validates and `storecfg plan` on it shows no changes.
    """

    def body() -> int:
        from .apply.workflow import resolve_store_id
        from .compiler.compile import compile_store
        from .store.driver import open_store
        from .store.export import export_store

        driver = open_store(_store_url(store_url))
        try:
            sid = resolve_store_id(driver, store_id)
            live = driver.read_all(sid)
            files = export_store(live, output, store_url=driver.url, force=force)
        finally:
            driver.close()
        click.echo(
            f"Exported store {sid} (revision {live.revision}, {live.count()} resources) to {output}: "
            f"{len(files)} files.",
            err=True,
        )
        check = compile_store(output)
        if not check.ok:
            _print_diagnostics(check.errors, err=True)
            click.echo(
                "Error: the live store breaks the rules above, so the exported definition does not "
                "validate; fix the files before planning.",
                err=True,
            )
            return 1
        return 0

    _run(body)


backup_store_id = click.option(
    "--store-id", default=None, help="Which store (needed when the URL holds several)."
)
backup_files_option = backup_dir_option(
    "Also read backup files here (default .storecfg/snapshots): the first release's "
    "snapshots and copies written with --backup-dir."
)


@cli.group()
def backup() -> None:
    """Backups of the live store: a snapshot taken before every apply that changes something.

    Snapshots are kept in the store itself, so these commands work from any machine and any
    directory: they read the store named by --store (or $STORECFG_STORE, else the embedded
    store). Backup files on this machine (the first release's .storecfg/snapshots, or copies
    written with --backup-dir) are listed and restored too.
    """


class _Backups:
    """The store a backup command reads (and the files beside it)."""

    def __init__(self, store_url: str | None, store_id: str | None, backup_dir: Path | None):
        from .apply.workflow import STATE_DIR, backup_store_id
        from .store.driver import open_store

        self.root = backup_dir or STATE_DIR / "snapshots"
        self.driver = open_store(_store_url(store_url))
        try:
            self.store_id = backup_store_id(self.driver, store_id)
        except BaseException:
            self.driver.close()
            raise

    def __enter__(self) -> _Backups:
        return self

    def __exit__(self, *exc: object) -> None:
        self.driver.close()

    def load(self, backup_id: str) -> tuple[Any, dict[str, Any]]:
        from .apply.backup import load_backup

        return load_backup(self.driver, self.store_id, backup_id, self.root)


def _human_size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


@backup.command("list")
@backup_store_id
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, metavar="N", help="Only the newest N."
)
@backup_files_option
@store_options
def backup_list(
    store_id: str | None,
    as_json: bool,
    limit: int | None,
    backup_dir: Path | None,
    store_url: str | None,
    no_color: bool,
) -> None:
    """List backups, newest first: ID, store, time, store revision, resources, where, reason."""

    def body() -> int:
        from .apply.backup import list_backups

        with _Backups(store_url, store_id, backup_dir) as b:
            found = list_backups(b.driver, b.store_id, b.root, limit)
        if as_json:
            click.echo(json.dumps([x.to_json() for x in found], indent=2, ensure_ascii=False))
            return 0
        if not found:
            click.echo(
                "No backups yet: one is taken before every apply that changes something.",
                err=True,
            )
            return 0
        rows = [("ID", "STORE", "CREATED", "REVISION", "RESOURCES", "WHERE", "REASON")]
        for x in found:
            reason = x.reason or ""
            if x.verified is False:
                reason += " [sha256 MISMATCH: damaged or edited]"
            where = "store" if x.in_store else "file"
            rows.append(
                (
                    x.id,
                    x.store_id,
                    x.created_at,
                    str(x.revision),
                    str(x.resource_count),
                    where,
                    reason,
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            line = "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            click.echo(escape(line))
        if any(not x.in_store for x in found):
            click.echo(
                escape(
                    f"('file': a backup file on this machine, under {b.root}; the others are "
                    "kept in the store.)"
                ),
                err=True,
            )
        return 0

    _run(body)


@backup.command("show")
@click.argument("backup_id")
@backup_store_id
@click.option("--json", "as_json", is_flag=True, help="Print the whole snapshot as JSON.")
@backup_files_option
@store_options
def backup_show(
    backup_id: str,
    store_id: str | None,
    as_json: bool,
    backup_dir: Path | None,
    store_url: str | None,
    no_color: bool,
) -> None:
    """Show what a backup holds (its content is checked against its sha256 first)."""

    def body() -> int:
        with _Backups(store_url, store_id, backup_dir) as b:
            info, doc = b.load(backup_id)
            url = b.driver.url if info.in_store else doc["store"].get("url") or doc.get("store_url")
        if as_json:
            click.echo(json.dumps(doc, indent=2, ensure_ascii=False))
            return 0
        where = (
            "kept in the store"
            if info.in_store
            else f"file {info.path}"
            + (
                " (a copy written with --backup-dir)"
                if info.apply_id or "sha256" in doc
                else " (written on the machine that applied, before backups lived in the store)"
            )
        )
        lines = [
            f"Backup {info.id}",
            f"  store:     {doc['store']['id']} ({url})",
            f"  where:     {where}",
            f"  created:   {doc.get('created_at', '')}",
            f"  revision:  {doc['store']['revision']}",
        ]
        if info.reason:
            lines.append(f"  reason:    {info.reason}")
        if info.apply_id:
            lines.append(f"  apply:     {info.apply_id}")
        lines += [
            f"  sha256:    {info.sha256} (verified)",
            f"  settings:  {json.dumps(doc['settings'], ensure_ascii=False)}",
            f"  resources: {info.resource_count}",
        ]
        lines += [f"    {kind}: {len(items)}" for kind, items in doc.get("resources", {}).items()]
        for line in lines:
            click.echo(escape(line))
        return 0

    _run(body)


@backup.command("diff")
@click.argument("backup_id")
@click.argument("other_id", required=False)
@backup_store_id
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@backup_files_option
@store_options
def backup_diff(
    backup_id: str,
    other_id: str | None,
    store_id: str | None,
    fmt: str,
    as_json: bool,
    backup_dir: Path | None,
    store_url: str | None,
    no_color: bool,
) -> None:
    """What changed from backup BACKUP_ID to OTHER_ID, or to the live store.

    Rendered like a plan: `backup diff A B` shows the changes that turned A into B.
    """

    def body() -> int:
        from .apply.backup import live_as_desired, snapshot_desired, snapshot_live
        from .apply.plan import PlanOptions, make_plan
        from .apply.workflow import open_snapshot_store

        with _Backups(store_url, store_id, backup_dir) as b:
            first_info, first = b.load(backup_id)
            before = snapshot_live(first)
            if other_id:
                _, second = b.load(other_id)
                after = snapshot_desired(second)
                target = f"backup {other_id}"
            elif first_info.in_store:
                after = live_as_desired(b.driver.read_all(before.store_id))
                target = b.driver.url
            else:  # a file: compared with the configured store, never the URL it names
                driver = open_snapshot_store(first, backup_id, _settings(store_url))
                try:
                    after = live_as_desired(driver.read_all(before.store_id))
                    target = driver.url
                finally:
                    driver.close()
        doc = make_plan(
            after,
            before,
            store_url=f"backup {backup_id} -> {target}",
            source=None,
            options=PlanOptions(ignore_changes=False, prevent_destroy=False),
        )
        _echo_plan(doc, "json" if as_json else fmt, _color(no_color))
        return 0

    _run(body)


@backup.command("restore")
@click.argument("backup_id")
@backup_store_id
@apply_options
@store_options
def backup_restore(
    backup_id: str,
    store_id: str | None,
    auto_approve: bool,
    lock_timeout: str,
    parallelism: int | None,
    backup_dir: Path | None,
    store_url: str | None,
    no_color: bool,
) -> None:
    """Put the live store back to a backup, with the same safety as apply.

    Checks the backup against its sha256 (a mismatch is refused), plans the store back to
    it, asks for 'yes' (or --auto-approve), takes the lock and snapshots the current state
    first. With --backup-dir, backup files are also looked for there, and the new snapshot
    is copied there.
    """

    def body() -> int:
        from .apply.workflow import restore_backup
        from .errors import UsageError

        color = _color(no_color)
        if not auto_approve and not sys.stdin.isatty():
            raise UsageError(
                "restore asks for confirmation on a terminal; without one, pass --auto-approve"
            )
        settings = _settings(
            store_url,
            lock_timeout=_duration(lock_timeout),
            parallelism=parallelism,
            backup_dir=backup_dir,
        )
        report, info = restore_backup(
            backup_id,
            settings,
            store_id=store_id,
            backup_dir=backup_dir,
            confirm=_confirm_factory(color, auto_approve, f" (restore backup {backup_id})"),
            progress=_Progress(),
        )
        if report.outcome is None and not report.cancelled:
            _report_notes(report)
            click.echo(f"The store already matches backup {info.id}; nothing to restore.")
            return 0
        return _report(report, color)

    _run(body)


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="text for people, json for programs, markdown for pull-request comments.",
)
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@target_options
@store_options
@var_options
def drift(
    directory: Path,
    fmt: str,
    as_json: bool,
    target_names: tuple[str, ...],
    all_targets: bool,
    store_url: str | None,
    no_color: bool,
    var_files: tuple[Path, ...],
    var_overrides: tuple[str, ...],
    var_json: tuple[str, ...],
) -> None:
    """List what was changed in the live store outside storecfg since the last apply.

    Reads only: it takes no lock and writes nothing. A resource has drifted when its
    content differs from what storecfg last wrote (changed), when storecfg never wrote it
    (created), or when storecfg wrote it and it is gone (deleted). Exit 0 no drift,
    2 drift (in any target), 1 error (in any target).
    """

    def body() -> int:
        from .apply.workflow import drift_directory
        from .errors import StorecfgError
        from .views import drift as view

        fmt_ = "json" if as_json else fmt
        options: dict[str, Any] = {"use_cache": False}
        targets = _select_targets(directory, target_names, all_targets)
        jobs: list[tuple[str | None, Callable[[], Any], tuple[Path, ...]]] = (
            [(None, lambda: _settings(store_url, **options), var_files)]
            if targets is None
            else [
                (t.name, _target_settings(t, store_url, options), (*t.var_files, *var_files))
                for t in targets
            ]
        )
        several = len(jobs) > 1
        docs: list[tuple[str | None, dict[str, Any]]] = []
        for name, settings, files in jobs:
            try:
                store, found = drift_directory(
                    directory, settings(), files, var_overrides, var_json
                )
            except StorecfgError as exc:
                if not several:
                    raise
                _echo_error(exc, f"target {name}: ")
                docs.append((name, {"error": exc.message}))
                continue
            docs.append((name, view.drift_document(store, [d.to_json() for d in found])))
        color = _color(no_color)
        if not several:
            doc = docs[0][1]
            if fmt_ == "json":
                click.echo(view.render_json(doc), nl=False)
            elif fmt_ == "markdown":
                click.echo(view.render_markdown(doc), nl=False)
            else:
                click.echo(view.render_text(doc, color=color), nl=False)
        elif fmt_ == "json":
            click.echo(view.render_targets_json(docs), nl=False)
        else:
            for name, doc in docs:
                if fmt_ == "markdown":
                    click.echo(view.render_target_markdown(str(name), doc), nl=False)
                elif "error" in doc:
                    click.echo(f"=== target {name} ===\n\nfailed (the error is above)\n")
                else:
                    click.echo(f"=== target {name} ===\n")
                    click.echo(view.render_text(doc, color=color))
        if any("error" in doc for _, doc in docs):
            return 1
        return 2 if any(doc["has_drift"] for _, doc in docs) else 0

    _run(body)


@cli.group()
def lock() -> None:
    """The store's apply lock (taken by apply and backup restore)."""


@lock.command("show")
@click.option("--store-id", default=None, help="Which store (needed when the URL holds several).")
@click.option("--json", "as_json", is_flag=True, help="Print the lock as JSON ({} when free).")
@store_options
def lock_show(store_id: str | None, as_json: bool, store_url: str | None, no_color: bool) -> None:
    """Show who holds the apply lock, if anybody."""

    def body() -> int:
        from .apply.workflow import resolve_store_id
        from .store.driver import open_store

        driver = open_store(_store_url(store_url))
        try:
            sid = resolve_store_id(driver, store_id)
            held = driver.get_lock(sid)
        finally:
            driver.close()
        if as_json:
            click.echo(json.dumps(held.to_json() if held is not None else {}, indent=2))
        elif held is None:
            click.echo(f"Store {sid} is not locked.")
        else:
            click.echo(escape(f"Store {sid}: {held.describe()}"))
            click.echo(
                escape(
                    f"If that apply is gone, release the lock with: storecfg lock release {held.lock_id}"
                )
            )
        return 0

    _run(body)


@lock.command("release")
@click.argument("lock_id")
@click.option("--store-id", default=None, help="Which store (needed when the URL holds several).")
@store_options
def lock_release(lock_id: str, store_id: str | None, store_url: str | None, no_color: bool) -> None:
    """Release a stale apply lock by its ID (from the error message or `lock show`).

    Only do this when the apply that took the lock is no longer running.
    """

    def body() -> int:
        from .apply.workflow import resolve_store_id
        from .store.driver import open_store

        driver = open_store(_store_url(store_url))
        try:
            sid = resolve_store_id(driver, store_id)
            driver.release_lock(sid, lock_id)
        finally:
            driver.close()
        click.echo(escape(f"Released lock {lock_id} on store {sid}."))
        return 0

    _run(body)


#: --db of serve and token: a SQLite file or a PostgreSQL URL
DB_HELP = (
    "The store database: a SQLite file (created if missing), or a PostgreSQL database "
    "as postgresql://USER@HOST:PORT/DB (the password from PGPASSWORD or ~/.pgpass)."
)


@cli.command()
@click.option("--db", "db", required=True, metavar="FILE|URL", help=DB_HELP)
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
    envvar="STORECFG_RATE_LIMIT",
    help="Requests per second allowed per token ($STORECFG_RATE_LIMIT); over it the server "
    "answers 429 with Retry-After. 0 is off.",
)
@click.option("--quiet", is_flag=True, help="No access log.")
@click.option(
    "--keep-snapshots",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Keep the newest N snapshots of each store, pruning older ones as new ones are "
    "taken. Default: keep them all.",
)
@click.option(
    "--max-connections",
    type=click.IntRange(1, 100_000),
    default=512,
    show_default=True,
    help="Connections open at once; one more is answered 503 and closed.",
)
@click.option(
    "--header-timeout",
    type=click.FloatRange(min=0.1, max=3600),
    default=10.0,
    show_default=True,
    metavar="SECONDS",
    help="A connection is closed when a request's headers take longer than this.",
)
@click.option(
    "--body-timeout",
    type=click.FloatRange(min=0.1, max=3600),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="A request whose body takes longer than this after its headers is answered 408.",
)
def serve(
    db: str,
    host: str,
    port: int,
    rate_limit: float,
    quiet: bool,
    keep_snapshots: int | None,
    max_connections: int,
    header_timeout: float,
    body_timeout: float,
) -> None:
    """Run the reference store server (the store API) on HOST:PORT.

    Clients need a token for their store: `storecfg token create --db FILE --store ID`.
    On PostgreSQL any number of servers may serve one database at once.
    Stops cleanly on SIGTERM or Ctrl-C.
    """

    def body() -> int:
        from .server.run import run_server

        run_server(
            _db_target(db),
            host,
            port,
            rate_limit=rate_limit,
            access_log=not quiet,
            keep_snapshots=keep_snapshots,
            max_connections=max_connections,
            header_timeout=header_timeout,
            body_timeout=body_timeout,
        )
        return 0

    _run(body)


@cli.group()
def token() -> None:
    """API tokens for the reference store server."""


@token.command("create")
@click.option("--db", "db", required=True, metavar="FILE|URL", help=DB_HELP)
@click.option(
    "--store", "store_id", required=True, help="The store the token is for (created if missing)."
)
@click.option("--name", default=None, help="A note on what the token is for.")
@click.option(
    "--read-only",
    is_flag=True,
    help="Reads only (plan, drift, backup list): every write, lock and restore is 403.",
)
def token_create(db: str, store_id: str, name: str | None, read_only: bool) -> None:
    """Print a new API token for one store.

    The database keeps only a hash of the token: store it now (for example as the
    STORECFG_TOKEN secret of your CI); it cannot be shown again. A --read-only token
    suits pull-request jobs, which plan but never apply.
    """

    def body() -> int:
        import re

        from .errors import UsageError
        from .model import ID_PATTERN
        from .store.storage import Storage

        if not re.fullmatch(ID_PATTERN, store_id):
            raise UsageError(
                f"invalid store ID {store_id!r}: use lowercase letters, digits, '.', '_' and '-'"
            )
        storage = Storage(_db_target(db))
        try:
            click.echo(storage.create_token(store_id, name, read_only=read_only))
        finally:
            storage.close()
        return 0

    _run(body)


@cli.command("migrate")
@click.option(
    "--from",
    "source",
    required=True,
    metavar="URL",
    help="The database to copy: sqlite:///PATH (or a file path), or postgresql://...",
)
@click.option(
    "--to",
    "target",
    required=True,
    metavar="URL",
    help="The database to copy into: postgresql://USER@HOST:PORT/DB (or sqlite:///PATH).",
)
@click.option(
    "--force",
    is_flag=True,
    help="Copy into a target that already holds other stores (a store on both sides is "
    "still refused, never overwritten).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def migrate(source: str, target: str, force: bool, as_json: bool) -> None:
    """Copy a whole store database, with its history and tokens, to another database.

    For moving the reference server from SQLite to PostgreSQL: `storecfg migrate --from
    sqlite:///server.db --to postgresql://storecfg@db/stores`. Tokens move as the
    hashes they are kept as, so every token keeps working. The copy is checked before it
    is committed (row counts and content hashes of every table); on any difference
    nothing is written. Stop the servers on the source first: writes made after the
    copy started are not in it.
    """

    def body() -> int:
        from .errors import UsageError
        from .store.copy import copy_database
        from .store.storage import Storage

        src, dst = _existing_db(source, "--from"), None
        try:
            dst = Storage(_db_target(target))
            if src.engine.display == dst.engine.display:
                raise UsageError("--from and --to are the same database")
            report = copy_database(src, dst, force=force)
        finally:
            src.close()
            if dst is not None:
                dst.close()
        if as_json:
            click.echo(json.dumps(report.to_json(), indent=2))
            return 0
        click.echo(escape(f"Copied {report.source} to {report.target}:"))
        width = max(len(t.table) for t in report.tables)
        for t in report.tables:
            click.echo(f"  {t.table.ljust(width)}  {t.rows:>9,}")
        names = ", ".join(report.stores) if report.stores else "none"
        click.echo(escape(f"Stores: {names}."))
        click.echo("Checked: every table's row count and content hash match in the target.")
        return 0

    _run(body)


def _existing_db(db: str, option: str = "--db") -> Any:
    """The Storage of a server database that must exist already (listing or revoking
    tokens never creates one)."""
    from .errors import UsageError
    from .store.engine import is_postgres_url
    from .store.storage import Storage

    if not is_postgres_url(db):
        path = Path(db.removeprefix("sqlite:///"))
        if not path.is_file():
            raise UsageError(f"{option} {path}: no such database file")
    return Storage(_db_target(db))


@token.command("list")
@click.option("--db", "db", required=True, metavar="FILE|URL", help=DB_HELP)
@click.option("--store", "store_id", default=None, help="Only the tokens of this store.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def token_list(db: str, store_id: str | None, as_json: bool) -> None:
    """List API tokens: ID, store, name, read-only, created, last used (never the token).

    Last use is recorded at most once a minute per token.
    """

    def body() -> int:
        storage = _existing_db(db)
        try:
            tokens = storage.list_tokens(store_id)
        finally:
            storage.close()
        if as_json:
            click.echo(json.dumps([t.to_json() for t in tokens], indent=2))
            return 0
        if not tokens:
            click.echo("No tokens" + (f" for store {store_id}." if store_id else "."), err=True)
            return 0
        rows = [("ID", "STORE", "NAME", "READ-ONLY", "CREATED", "LAST USED")]
        for t in tokens:
            data = t.to_json()
            rows.append(
                (
                    t.id,
                    t.store,
                    t.name or "-",
                    "yes" if t.read_only else "no",
                    data["created_at"],
                    data["last_used_at"] or "never",
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip())
        return 0

    _run(body)


@token.command("revoke")
@click.option("--db", "db", required=True, metavar="FILE|URL", help=DB_HELP)
@click.argument("token_id", metavar="ID")
def token_revoke(db: str, token_id: str) -> None:
    """Revoke a token by its ID (from `token list`): from now on the server answers 401."""

    def body() -> int:
        storage = _existing_db(db)
        try:
            info = storage.revoke_token(token_id)
        finally:
            storage.close()
        name = f" ({info.name})" if info.name else ""
        click.echo(f"Revoked token {info.id}{name} of store {info.store}.")
        return 0

    _run(body)


def _db_target(db: str) -> str:
    """--db as the storage takes it. A PostgreSQL URL is taken as it is; a SQLite file
    in a directory that does not exist is a typo, not a new place to create."""
    from .errors import UsageError
    from .store.engine import is_postgres_url

    if is_postgres_url(db):
        return db
    db = db.removeprefix("sqlite:///")
    if "://" in db:
        raise UsageError(
            f"--db {db}: give a SQLite file path or a postgresql://USER@HOST:PORT/DB URL"
        )
    path = Path(db)
    if not path.parent.is_dir():
        raise UsageError(f"--db {path}: the directory {path.parent} does not exist")
    if path.is_dir():
        raise UsageError(f"--db {path}: is a directory; give a database file")
    return str(path)


def main() -> None:
    # A command builds hundreds of thousands of long-lived objects (parsed YAML, specs)
    # and frees them at the end, never in cycles that matter: collecting the young
    # generation every 700 allocations spent a fifth of a big compile walking them.
    gc.set_threshold(50_000, 50, 1000)
    cli(prog_name="storecfg")


if __name__ == "__main__":  # pragma: no cover
    main()
