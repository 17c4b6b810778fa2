"""The server database on the terminal: API tokens (never the token itself, once it
is handed out) and a database copied to another."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from ..escape import escape
from .tables import table_lines

if TYPE_CHECKING:
    from ..store.copy import CopyReport
    from ..store.records import TokenInfo


def print_new_token(token: str) -> None:
    """The token itself: shown once, on standard output, for a secret store to take."""
    click.echo(token)


def print_tokens(tokens: Sequence[TokenInfo], store_id: str | None) -> None:
    """ID, store, name, read-only, created, last used."""
    if not tokens:
        click.echo("No tokens" + (f" for store {store_id}." if store_id else "."), err=True)
        return
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
    for line in table_lines(rows):
        click.echo(line)


def print_revoked(info: TokenInfo) -> None:
    name = f" ({info.name})" if info.name else ""
    click.echo(f"Revoked token {info.id}{name} of store {info.store}.")


def print_copied(report: CopyReport) -> None:
    """The tables copied with their row counts, and the stores they hold."""
    click.echo(escape(f"Copied {report.source} to {report.target}:"))
    width = max(len(t.table) for t in report.tables)
    for t in report.tables:
        click.echo(f"  {t.table.ljust(width)}  {t.rows:>9,}")
    names = ", ".join(report.stores) if report.stores else "none"
    click.echo(escape(f"Stores: {names}."))
    click.echo("Checked: every table's row count and content hash match in the target.")
