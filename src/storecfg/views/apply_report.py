"""What an apply (or a restore) did, on the terminal: the outcome, the backup taken
before it, what failed and what was not attempted, and the notes the store could not
be told.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from ..escape import escape
from .plans import print_plan
from .text import Style

if TYPE_CHECKING:
    from ..apply.workflow import ApplyReport

#: not-attempted writes named in a failed apply's report; the rest are counted
NAMED = 10


def print_notes(report: ApplyReport) -> None:
    for note in report.notes:
        click.echo(f"Warning: {note}", err=True)
    if report.acknowledged:
        from .drift import what_changed

        click.echo(
            f"Recorded {what_changed(report.acknowledged)} changed outside storecfg as matching "
            "the definition now; they no longer count as drift.",
            err=True,
        )


def print_unchanged(report: ApplyReport, color: bool) -> None:
    """A plan file with nothing left to do: the plan (no changes), then the notes."""
    print_plan(report.plan, "text", color)
    print_notes(report)


def print_report(report: ApplyReport, color: bool) -> bool:
    """The report of an apply; False when it was cancelled or failed."""
    style = Style(color)
    print_notes(report)
    if report.cancelled:
        click.echo("\nApply cancelled; nothing was changed.", err=True)
        return False
    outcome = report.outcome
    if outcome is None:
        if not report.plan["has_changes"]:
            print_plan(report.plan, "text", color)
        return True
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
        return True
    click.echo(style("\nApply failed.", "red", "bold"), err=True)
    click.echo(f"  succeeded:     {len(outcome.succeeded)}", err=True)
    for address, action, error in outcome.failed:
        click.echo(escape(f"  failed:        {address} ({action}): {error}"), err=True)
    if outcome.not_attempted:
        names = ", ".join(a for a, _ in outcome.not_attempted[:NAMED])
        more = (
            f" and {len(outcome.not_attempted) - NAMED} more"
            if len(outcome.not_attempted) > NAMED
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
    return False


def print_target_heading(name: str, number: int, total: int) -> None:
    click.echo(f"=== target {name} ({number} of {total}) ===\n")


def print_not_applied(names: Sequence[str]) -> None:
    """Targets left alone after one failed."""
    if names:
        click.echo(f"Not applied: {', '.join(names)}.", err=True)


def print_reviewed_match(planfile: str) -> None:
    click.echo(f"The changes match the reviewed plan {planfile}.", err=True)


def print_restore_matches(backup_id: str) -> None:
    click.echo(f"The store already matches backup {backup_id}; nothing to restore.")


def blank_line() -> None:
    click.echo("")
