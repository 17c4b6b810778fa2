"""Commands on the live store itself: export, backup list|show|diff|restore, lock
show|release."""

from __future__ import annotations

from pathlib import Path

import click

from .options import (
    apply_options,
    backup_dir_option,
    color,
    duration,
    format_option,
    json_flag,
    resolve_store_url,
    settings,
    store_id_option,
    store_options,
)

backup_files_option = backup_dir_option(
    "Also read backup files here (default .storecfg/snapshots): the first release's "
    "snapshots and copies written with --backup-dir."
)


@click.command()
@store_id_option("Which store to export (needed when the URL holds several).")
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
) -> int:
    """Write the live store as a store definition directory.

    The result validates and `storecfg plan` on it shows no changes.
    """
    from ..views.store import print_export_check, print_exported
    from ..workflows.export import check_export, export_live

    done = export_live(resolve_store_url(store_url), store_id, output, force=force)
    print_exported(done.store_id, done.revision, done.count, len(done.files), output)
    check = check_export(output)
    print_export_check(check)
    return 0 if check.ok else 1


@click.group()
def backup() -> None:
    """Backups of the live store: a snapshot taken before every apply that changes something.

    Snapshots are kept in the store itself, so these commands work from any machine and any
    directory: they read the store named by --store (or $STORECFG_STORE, else the embedded
    store). Backup files on this machine (the first release's .storecfg/snapshots, or copies
    written with --backup-dir) are listed and restored too.
    """


@backup.command("list")
@store_id_option()
@json_flag("Print as JSON.")
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
) -> int:
    """List backups, newest first: ID, store, time, store revision, resources, where, reason."""
    from ..views.backups import print_backup_list
    from ..views.output import print_json
    from ..workflows.backups import Backups

    with Backups(settings(store_url), store_id, backup_dir) as b:
        found = b.newest(limit)
    if as_json:
        print_json([x.to_json() for x in found], ensure_ascii=False)
    else:
        print_backup_list(found, b.root)
    return 0


@backup.command("show")
@click.argument("backup_id")
@store_id_option()
@json_flag("Print the whole snapshot as JSON.")
@backup_files_option
@store_options
def backup_show(
    backup_id: str,
    store_id: str | None,
    as_json: bool,
    backup_dir: Path | None,
    store_url: str | None,
    no_color: bool,
) -> int:
    """Show what a backup holds (its content is checked against its sha256 first)."""
    from ..views.backups import print_backup
    from ..views.output import print_json
    from ..workflows.backups import Backups

    with Backups(settings(store_url), store_id, backup_dir) as b:
        info, doc, url = b.show(backup_id)
    if as_json:
        print_json(doc, ensure_ascii=False)
    else:
        print_backup(info, doc, url)
    return 0


@backup.command("diff")
@click.argument("backup_id")
@click.argument("other_id", required=False)
@store_id_option()
@format_option("text", "json", "markdown")
@json_flag()
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
) -> int:
    """What changed from backup BACKUP_ID to OTHER_ID, or to the live store.

    Rendered like a plan: `backup diff A B` shows the changes that turned A into B.
    """
    from ..views.backups import print_backup_diff
    from ..workflows.backups import Backups

    with Backups(settings(store_url), store_id, backup_dir) as b:
        doc = b.diff(backup_id, other_id)
    print_backup_diff(doc, "json" if as_json else fmt, color(no_color))
    return 0


@backup.command("restore")
@click.argument("backup_id")
@store_id_option()
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
) -> int:
    """Put the live store back to a backup, with the same safety as apply.

    Checks the backup against its sha256 (a mismatch is refused), plans the store back to
    it, asks for 'yes' (or --auto-approve), takes the lock and snapshots the current state
    first. With --backup-dir, backup files are also looked for there, and the new snapshot
    is copied there.
    """
    from ..apply.workflow import restore_backup
    from ..views.apply_report import print_notes, print_report, print_restore_matches
    from ..views.progress import ApplyProgress
    from ..views.prompt import Confirmation
    from ..workflows.apply import check_can_confirm

    colored = color(no_color)
    if not auto_approve:
        check_can_confirm("restore")
    report, info = restore_backup(
        backup_id,
        settings(
            store_url,
            lock_timeout=duration(lock_timeout),
            parallelism=parallelism,
            backup_dir=backup_dir,
        ),
        store_id=store_id,
        backup_dir=backup_dir,
        confirm=Confirmation(colored, auto_approve, f" (restore backup {backup_id})"),
        progress=ApplyProgress(),
    )
    if report.outcome is None and not report.cancelled:
        print_notes(report)
        print_restore_matches(info.id)
        return 0
    return 0 if print_report(report, colored) else 1


@click.group()
def lock() -> None:
    """The store's apply lock (taken by apply and backup restore)."""


@lock.command("show")
@store_id_option()
@json_flag("Print the lock as JSON ({} when free).")
@store_options
def lock_show(store_id: str | None, as_json: bool, store_url: str | None, no_color: bool) -> int:
    """Show who holds the apply lock, if anybody."""
    from ..views.output import print_json
    from ..views.store import print_lock
    from ..workflows.locks import read_lock

    sid, held = read_lock(resolve_store_url(store_url), store_id)
    if as_json:
        print_json(held.to_json() if held is not None else {})
    else:
        print_lock(sid, held)
    return 0


@lock.command("release")
@click.argument("lock_id")
@store_id_option()
@store_options
def lock_release(lock_id: str, store_id: str | None, store_url: str | None, no_color: bool) -> int:
    """Release a stale apply lock by its ID (from the error message or `lock show`).

    Only do this when the apply that took the lock is no longer running.
    """
    from ..views.store import print_released
    from ..workflows.locks import release_lock

    print_released(lock_id, release_lock(resolve_store_url(store_url), store_id, lock_id))
    return 0
