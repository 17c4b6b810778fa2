"""Backups on the terminal: the list (a table), one backup's content, and a restore
that had nothing to do."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..escape import escape
from .tables import table_lines

if TYPE_CHECKING:
    from ..apply.backup import Backup


def print_backup_list(found: Sequence[Backup], root: Path) -> None:
    """Newest first: ID, store, time, revision, resources, where, reason."""
    if not found:
        click.echo(
            "No backups yet: one is taken before every apply that changes something.",
            err=True,
        )
        return
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
    for line in table_lines(rows):
        click.echo(escape(line))
    if any(not x.in_store for x in found):
        click.echo(
            escape(
                f"('file': a backup file on this machine, under {root}; the others are "
                "kept in the store.)"
            ),
            err=True,
        )


def print_backup(info: Backup, doc: dict[str, Any], url: str) -> None:
    """What a backup holds (checked against its sha256 before it is shown)."""
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
