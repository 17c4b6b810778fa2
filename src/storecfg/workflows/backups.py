"""Backup commands' work: the store a backup command reads (with the backup files on
this machine), and the difference between two backups, or a backup and the live store,
as a plan document."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..closing import Closing

if TYPE_CHECKING:
    from ..apply.backup import Backup
    from ..apply.plandoc import Plan
    from ..apply.workflow import Settings


class Backups(Closing):
    """The store a backup command reads, and the files beside it; a context manager
    that closes the store's driver on every path."""

    def __init__(self, settings: Settings, store_id: str | None, backup_dir: Path | None):
        from ..apply.workflow import STATE_DIR, backup_store_id
        from ..store.driver import open_store

        self.settings = settings
        self.root = backup_dir or STATE_DIR / "snapshots"
        self.driver = open_store(settings.store_url)
        try:
            self.store_id = backup_store_id(self.driver, store_id)
        except BaseException:
            self.driver.close()
            raise

    def close(self) -> None:
        self.driver.close()

    def newest(self, limit: int | None = None) -> list[Backup]:
        """Newest first: the store's snapshots and the backup files."""
        from ..apply.backup import list_backups

        return list_backups(self.driver, self.store_id, self.root, limit)

    def load(self, backup_id: str) -> tuple[Backup, dict[str, Any]]:
        """A backup and its content, checked against its sha256."""
        from ..apply.backup import load_backup

        return load_backup(self.driver, self.store_id, backup_id, self.root)

    def show(self, backup_id: str) -> tuple[Backup, dict[str, Any], str]:
        """A backup, its content, and the URL of the store it was taken from."""
        info, doc = self.load(backup_id)
        url = self.driver.url if info.in_store else doc["store"].get("url") or doc.get("store_url")
        return info, doc, str(url)

    def diff(self, backup_id: str, other_id: str | None) -> Plan:
        """What changed from `backup_id` to `other_id` (or to the live store), as a plan
        document: the changes that turned the first into the second."""
        from ..apply.backup import live_as_desired, snapshot_desired, snapshot_live
        from ..apply.plan import PlanOptions, make_plan
        from ..apply.workflow import open_snapshot_store

        first_info, first = self.load(backup_id)
        before = snapshot_live(first)
        if other_id:
            _, second = self.load(other_id)
            after = snapshot_desired(second)
            target = f"backup {other_id}"
        elif first_info.in_store:
            after = live_as_desired(self.driver.read_all(before.store_id))
            target = self.driver.url
        else:  # a file: compared with the configured store, never the URL it names
            driver = open_snapshot_store(first, backup_id, self.settings)
            try:
                after = live_as_desired(driver.read_all(before.store_id))
                target = driver.url
            finally:
                driver.close()
        return make_plan(
            after,
            before,
            store_url=f"backup {backup_id} -> {target}",
            source=None,
            options=PlanOptions(ignore_changes=False, prevent_destroy=False),
        )
