"""The store's apply lock, shown and released by hand (`storecfg lock`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..store.records import LockInfo


def read_lock(store_url: str | None, store_id: str | None) -> tuple[str, LockInfo | None]:
    """The store (the one given, or the only one the URL holds) and its lock, if held."""
    from ..apply.workflow import resolve_store_id
    from ..store.driver import open_store

    driver = open_store(store_url)
    try:
        sid = resolve_store_id(driver, store_id)
        return sid, driver.get_lock(sid)
    finally:
        driver.close()


def release_lock(store_url: str | None, store_id: str | None, lock_id: str) -> str:
    """Release the lock `lock_id`; returns the store it was released on."""
    from ..apply.workflow import resolve_store_id
    from ..store.driver import open_store

    driver = open_store(store_url)
    try:
        sid = resolve_store_id(driver, store_id)
        driver.release_lock(sid, lock_id)
        return sid
    finally:
        driver.close()
