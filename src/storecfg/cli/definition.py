"""Commands on a definition directory: validate, compile, plan, apply."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..errors import DefinitionError, StorecfgError
from .options import (
    Scope,
    apply_options,
    color,
    delete_options,
    directory_argument,
    duration,
    file_option,
    format_option,
    json_flag,
    no_cache_option,
    no_color_option,
    run_options,
    settings,
    store_choice,
    target_options,
    var_options,
)

if TYPE_CHECKING:
    from ..apply.plandoc import PlanOrFailure
    from ..apply.workflow import ApplyReport
    from ..workflows.targets import Run, StoreChoice, Targets, Variables


@click.command()
@click.argument("directories", nargs=-1, required=True, type=click.Path(path_type=Path))
@format_option(
    "text",
    "json",
    "github",
    "sarif",
    help_text="text: FILE:LINE:COL lines; json: a list; github: workflow commands that annotate "
    "a pull request; sarif: SARIF 2.1.0 for code scanning.",
)
@json_flag()
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
    targets: Targets,
    variables: Variables,
) -> int:
    """Check store definitions against the schemas and business rules.

    Needs no store. Prints one line per problem, FILE:LINE:COL: CODE ADDRESS: message,
    sorted by file and line. Exit 0 when valid, 1 when not (warnings fail only with --strict).
    With targets, each target's variables are checked; a problem they share is shown once.
    """
    from .._fs import atomic_write
    from ..views.diagnostics import print_error
    from ..views.output import print_document, print_written
    from ..views.validate import print_checked, render
    from ..workflows.validate import target_notes, validate_directories

    fmt = "json" if as_json else fmt
    failed = False
    diagnostics = []
    checks = []
    for check in validate_directories(directories, targets, variables):
        checks.append(check)
        failed = failed or check.failed(strict)
        if check.error is not None:
            print_error(check.error)
            continue
        assert check.result is not None
        diagnostics += check.diagnostics
        print_checked(
            check.label,
            check.result,
            check.diagnostics,
            strict=strict,
            show=fmt == "text" and not output,
        )
    text = render(fmt, diagnostics, target_notes(checks))
    if output:
        atomic_write(output, text.encode())
        print_written(output)
    elif fmt != "text":
        print_document(text)
    return 1 if failed else 0


@click.command(name="compile")
@directory_argument
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write the JSON here instead of printing it.",
)
@json_flag("Accepted like on every command that prints results (the output is JSON anyway).")
@var_options
@no_color_option
def compile_cmd(
    no_color: bool,
    as_json: bool,
    directory: Path,
    output: Path | None,
    variables: Variables,
) -> int:
    """Print the normalized desired state as JSON.

    The output is {"store": {...}, "resources": {KIND: {ID: SPEC}}} with defaults filled in and
    amounts in canonical form: exactly what plan compares with the live store.
    """
    from .._fs import atomic_write
    from ..compiler.compile import compile_store
    from ..views.diagnostics import print_diagnostics
    from ..views.output import print_document, print_written

    result = compile_store(
        directory,
        var_files=variables.files,
        var_overrides=variables.overrides,
        var_json=variables.json,
    )
    if not result.ok or result.desired is None:
        raise DefinitionError(result.errors, result.warnings)
    print_diagnostics(result.warnings)
    text = json.dumps(result.desired.to_json(), indent=2, ensure_ascii=False) + "\n"
    if output:
        atomic_write(output, text.encode())
        print_written(output)
    else:
        print_document(text)
    return 0


@click.command()
@directory_argument
@click.option(
    "-o",
    "--out",
    "out",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="PLANFILE",
    help="Save the plan here for `storecfg apply PLANFILE` (with several targets, one file "
    "per target: PLANFILE with the target name before its extension).",
)
@format_option(
    "text",
    "json",
    "markdown",
    help_text="text for people, json for programs (the plan file format), markdown for pull-request comments.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 with no changes, 2 with changes (in any target), 1 on error.",
)
@delete_options
@json_flag()
@no_cache_option
@run_options
def plan(
    directory: Path,
    out: Path | None,
    fmt: str,
    as_json: bool,
    detailed_exitcode: bool,
    max_deletes: int | None,
    allow_deletes: bool,
    no_cache: bool,
    scope: Scope,
) -> int:
    """Show what would change in the live store to match DIRECTORY.

    The business impact (prices, taxes, deletions) comes first, then the deletions, then the
    other changes. Exit 0 (no changes, or changes without --detailed-exitcode), 2 (changes, with
    --detailed-exitcode), 1 (error). With several targets: one document with a section per
    target; exit 1 if any target failed, else 2 if any has changes (with --detailed-exitcode).
    A plan that fails still prints Markdown (with the errors) under --format markdown.
    """
    from ..views.diagnostics import print_diagnostics, print_error
    from ..views.plans import (
        failed_plan_document,
        full_plan_note,
        print_interrupted,
        print_plans,
        print_saved,
    )
    from ..workflows.plan import plan_runs, save_plans
    from ..workflows.targets import runs

    fmt = "json" if as_json else fmt
    several = scope.targets.several()
    choice = store_choice(
        scope.store_url,
        max_deletes=max_deletes,
        allow_deletes=allow_deletes,
        use_cache=not no_cache,
        # the text view shows no unchanged resource; every other output lists them all
        list_unchanged=fmt != "text" or out is not None,
    )
    try:
        chosen = runs(directory, scope.targets, scope.variables.files)
    except StorecfgError as exc:
        if fmt != "markdown":
            raise
        return _plan_failed(exc, directory)
    planned = []
    for p in plan_runs(directory, chosen, choice, scope.variables):
        if isinstance(p.result, StorecfgError):
            if not several:
                if fmt != "markdown":
                    raise p.result
                return _plan_failed(p.result, directory)
            print_error(p.result, f"target {p.name}: ")
        else:
            print_diagnostics(p.warnings)
            interrupted = p.result["interrupted_apply"]
            if interrupted:  # wherever the plan runs, and whatever its format
                print_interrupted(interrupted["message"], p.name if several else None)
        planned.append(p)
    saved = save_plans(out, planned, several=several) if out else []
    note = (
        full_plan_note(directory, scope.targets.names, saved, scope.targets.all)
        if fmt == "markdown"
        else None
    )
    docs: list[tuple[str | None, PlanOrFailure]] = [
        (
            p.name,
            failed_plan_document(p.result, directory)
            if isinstance(p.result, StorecfgError)
            else p.result,
        )
        for p in planned
    ]
    print_plans(docs, fmt, color(scope.no_color), several=several, full_plan=note)
    print_saved(
        saved,
        [p.result.get("target") for p in planned if not isinstance(p.result, StorecfgError)],
    )
    if any(isinstance(p.result, StorecfgError) for p in planned):
        return 1
    changed = any(doc["has_changes"] for _, doc in docs if "error" not in doc)
    return 2 if detailed_exitcode and changed else 0


def _plan_failed(exc: StorecfgError, directory: Path) -> int:
    """A plan that could not be made, as Markdown on standard output (for the pull
    request) and as the usual error on standard error (for the log); exit 1."""
    from ..views.diagnostics import print_error
    from ..views.plans import failed_plan_document, print_failed_plan

    print_error(exc)
    doc = failed_plan_document(exc, directory)
    if not doc["store"]["id"]:
        doc["store"]["id"] = Path(directory).resolve().name
    print_failed_plan(doc)
    return 1


@click.command()
@click.argument("target", metavar="DIR|PLANFILE", type=click.Path(path_type=Path))
@file_option(
    "--reviewed",
    metavar="PLANFILE",
    help_text="Plan DIR now and apply only if its changes are exactly those of this reviewed "
    "plan file (address, action, resulting spec); otherwise list the differences and exit 1.",
)
@delete_options
@apply_options
@run_options
def apply(
    target: Path,
    reviewed: Path | None,
    max_deletes: int | None,
    allow_deletes: bool,
    auto_approve: bool,
    lock_timeout: str,
    parallelism: int | None,
    backup_dir: Path | None,
    scope: Scope,
) -> int:
    """Apply a definition directory (plans, asks, applies) or a saved plan file.

    Takes the store's apply lock, writes a snapshot backup, then writes in dependency order
    with revision checks and idempotency keys, journaling every write. A saved plan is refused
    if the store changed since it was made. With --reviewed PLANFILE, DIR is planned again and
    applied (without asking) only if it makes exactly the reviewed changes. With targets,
    each target is applied in turn (asking for each on a terminal, and with --reviewed
    checked against its own plan file); the first that fails stops the rest.
    """
    from ..apply.planfile import read_plan
    from ..apply.workflow import apply_directory, apply_planfile, apply_reviewed
    from ..views.apply_report import print_reviewed_match, print_unchanged
    from ..views.diagnostics import print_diagnostics
    from ..views.progress import ApplyProgress
    from ..views.prompt import Confirmation
    from ..workflows.apply import (
        check_can_confirm,
        check_plan_file_alone,
        check_reviewed_target,
        is_plan_file,
    )
    from ..workflows.targets import runs

    colored = color(scope.no_color)
    options: dict[str, Any] = {
        "lock_timeout": duration(lock_timeout),
        "parallelism": parallelism,
        "max_deletes": max_deletes,
        "allow_deletes": allow_deletes,
    }
    given = settings(scope.store_url, backup_dir=backup_dir, **options)
    planfile = is_plan_file(target, targets_given=scope.targets.given())
    if not planfile:
        chosen = runs(target, scope.targets, scope.variables.files)
        if chosen[0].target is not None:
            if reviewed is None and not auto_approve:
                check_can_confirm()
            several = scope.targets.all or len(chosen) > 1
            choice = store_choice(
                scope.store_url, target_options={**options, "backup_dir": backup_dir}
            )
            for number, run in enumerate(chosen, 1):
                if not _apply_target(
                    target, run, number, chosen, choice, reviewed, several, auto_approve,
                    colored, scope.variables,
                ):  # fmt: skip
                    return 1
            return 0
    if reviewed is not None:
        check_reviewed_target(target, planfile=planfile)
        report = apply_reviewed(
            target,
            read_plan(reviewed),
            str(reviewed),
            given,
            var_files=scope.variables.files,
            var_overrides=scope.variables.overrides,
            var_json=scope.variables.json,
            progress=ApplyProgress(),
        )
        print_diagnostics(report.warnings)
        if report.outcome is not None:
            print_reviewed_match(str(reviewed))
        return _reported(report, colored)
    if planfile:
        check_plan_file_alone(variables_given=scope.variables.given())
        report = apply_planfile(read_plan(target), given, progress=ApplyProgress())
        if report.outcome is None and report.plan["has_changes"] is False:
            print_unchanged(report, colored)
            return 0
        return _reported(report, colored)
    if not auto_approve:
        check_can_confirm(alternative=" (or apply a saved plan file)")
    report = apply_directory(
        target,
        given,
        var_files=scope.variables.files,
        var_overrides=scope.variables.overrides,
        var_json=scope.variables.json,
        confirm=Confirmation(colored, auto_approve),
        progress=ApplyProgress(),
    )
    print_diagnostics(report.warnings)
    return _reported(report, colored)


def _apply_target(
    directory: Path,
    run: Run,
    number: int,
    chosen: list[Run],
    choice: StoreChoice,
    reviewed: Path | None,
    several: bool,
    auto_approve: bool,
    colored: bool,
    variables: Variables,
) -> bool:
    """Apply one target of several in turn; False (and the targets left) when it failed."""
    from ..apply.planfile import read_plan
    from ..apply.workflow import apply_directory, apply_reviewed
    from ..views.apply_report import (
        blank_line,
        print_not_applied,
        print_report,
        print_target_heading,
    )
    from ..views.diagnostics import print_diagnostics
    from ..views.progress import ApplyProgress
    from ..views.prompt import Confirmation
    from ..workflows.targets import target_path

    assert run.target is not None and run.name is not None
    print_target_heading(run.name, number, len(chosen))
    if reviewed is not None:
        # the plan file `plan -o` wrote for this target
        planfile = target_path(reviewed, run.name) if several else reviewed
        report = apply_reviewed(
            directory,
            read_plan(planfile),
            str(planfile),
            choice.target_settings(run.target),
            var_files=run.var_files,
            var_overrides=variables.overrides,
            var_json=variables.json,
            progress=ApplyProgress(),
        )
    else:
        report = apply_directory(
            directory,
            choice.target_settings(run.target),
            var_files=run.var_files,
            var_overrides=variables.overrides,
            var_json=variables.json,
            confirm=Confirmation(colored, auto_approve, f" (target {run.name})"),
            progress=ApplyProgress(),
        )
    print_diagnostics(report.warnings)
    if not print_report(report, colored):
        print_not_applied([r.name for r in chosen[number:] if r.name is not None])
        return False
    blank_line()
    return True


def _reported(report: ApplyReport, colored: bool) -> int:
    """Exit 0 when the apply went through (or had nothing to do), else 1."""
    from ..views.apply_report import print_report

    return 0 if print_report(report, colored) else 1
