"""The live store's housekeeping on the terminal: an export and its check, and the
apply lock."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..escape import escape
from .diagnostics import print_diagnostics

if TYPE_CHECKING:
    from ..compiler.result import CompileResult
    from ..store.records import LockInfo


def print_exported(store_id: str, revision: int, resources: int, files: int, output: Path) -> None:
    click.echo(
        f"Exported store {store_id} (revision {revision}, {resources} "
        f"resources) to {output}: {files} files.",
        err=True,
    )


def print_export_check(check: CompileResult) -> None:
    """Why an exported definition will not validate (nothing when it will)."""
    if not check.ok:
        print_diagnostics(check.errors)
        click.echo(
            "Error: the live store breaks the rules above, so the exported definition does not "
            "validate; fix the files before planning.",
            err=True,
        )


def print_lock(store_id: str, held: LockInfo | None) -> None:
    """Who holds the apply lock, and how to release it if that apply is gone."""
    if held is None:
        click.echo(f"Store {store_id} is not locked.")
        return
    click.echo(escape(f"Store {store_id}: {held.describe()}"))
    click.echo(
        escape(
            f"If that apply is gone, release the lock with: storecfg lock release {held.lock_id}"
        )
    )


def print_released(lock_id: str, store_id: str) -> None:
    click.echo(escape(f"Released lock {lock_id} on store {store_id}."))
