"""Plans on the terminal: one plan in any format, several targets' plans as one
document, the Markdown of a plan that failed, and the notes around them.

Text plans are printed as they are rendered, a thousand lines at a time: a plan of
tens of thousands of creates never has to exist as one string.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Sequence
from itertools import zip_longest
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..errors import DefinitionError, StorecfgError, display_path
from .diagnostics import warning

if TYPE_CHECKING:
    from ..apply.plandoc import Plan, PlanFailure, PlanOrFailure, PlanTarget

#: lines of a text plan printed at once
CHUNK = 1000


def print_plan(plan: Plan, fmt: str, color: bool, *, brief: bool = False) -> None:
    """One plan as text, json or markdown, on standard output (`brief`: text with
    creates as one line each)."""
    if fmt == "json":
        from .json import render_plan as render_json

        click.echo(render_json(plan), nl=False)
    elif fmt == "markdown":
        from .markdown import render_plan as render_md

        click.echo(render_md(plan), nl=False)
    else:
        from .text import plan_lines

        chunk: list[str] = []
        for line in plan_lines(plan, color=color, brief=brief):
            chunk.append(line)
            if len(chunk) >= CHUNK:
                click.echo("\n".join(chunk))
                chunk.clear()
        if chunk:
            click.echo("\n".join(chunk))


def print_plans(
    docs: Sequence[tuple[str | None, PlanOrFailure]],
    fmt: str,
    color: bool,
    *,
    several: bool,
    full_plan: str | None,
) -> None:
    """The plans of one run (one target, or several as one document); a failed
    target's document says so where its plan would be."""
    if not several:
        if fmt == "markdown":
            from .markdown import render_plans

            click.echo(render_plans(docs, full_plan=full_plan), nl=False)
        else:
            doc = docs[0][1]
            assert "error" not in doc  # a single plan that failed is shown as an error
            print_plan(doc, fmt, color)
    elif fmt == "json":
        from .json import render_targets

        click.echo(render_targets(docs), nl=False)
    elif fmt == "markdown":
        from .markdown import render_plans

        click.echo(render_plans(docs, full_plan=full_plan), nl=False)
    else:
        from .text import target_outcome

        for name, doc in docs:
            click.echo(f"=== target {name} ===\n")
            if "error" in doc:
                click.echo(f"{target_outcome(doc)} (the errors are above, on standard error)")
            else:
                print_plan(doc, "text", color)
            click.echo("")
        click.echo(
            "Targets: "
            + "; ".join(f"{name}: {target_outcome(doc).rstrip('.')}" for name, doc in docs)
        )


def failed_plan_document(exc: StorecfgError, directory: Path) -> PlanFailure:
    """What Markdown shows of a plan that could not be made: the error, with the
    definition's diagnostics."""
    from .markdown import failure_document

    diagnostics = exc.diagnostics if isinstance(exc, DefinitionError) else []
    return failure_document(
        store={"id": exc.store_id},
        source=display_path(str(directory)),
        message=exc.message,
        hint=exc.hint,
        diagnostics=[d.to_json() for d in diagnostics],
    )


def print_failed_plan(doc: PlanFailure) -> None:
    """A plan that could not be made, as Markdown (for the pull request)."""
    from .markdown import render_plans

    click.echo(render_plans([(None, doc)]), nl=False)


def print_interrupted(message: str, target: str | None) -> None:
    """The warning about an interrupted last apply, wherever a plan runs."""
    where = f"target {target}: " if target is not None else ""
    warning(f"{where}{message}")


def print_saved(paths: Sequence[Path], targets: Sequence[PlanTarget | None] = ()) -> None:
    """Where each plan was saved and the command that applies it. A target's plan file
    goes to the store named by --store / $STORECFG_STORE (the file does not choose it), so
    its command names the target's store and token variables."""
    for path, target in zip_longest(paths, targets[: len(paths)]):
        command = f"storecfg apply {path}"
        if target is not None:
            if target["store_url_env"]:
                command += f' --store "${target["store_url_env"]}"'
            if target["token_env"]:
                command = f'STORECFG_TOKEN="${target["token_env"]}" {command}'
        click.echo(f"Saved the plan to {path}; apply it with: {command}", err=True)


def full_plan_note(
    directory: Path, names: Sequence[str], saved: Sequence[Path], all_targets: bool = False
) -> str:
    """Where a reader of a cut comment finds the whole plan (Markdown)."""
    from .md_text import code

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
