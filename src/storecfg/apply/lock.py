"""Holding the store's apply lock: take it first, renew it while working, release it last."""

from __future__ import annotations

import contextlib
import getpass
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .. import __version__
from ..errors import LockedError, StoreError
from ..store.driver import StoreDriver
from ..store.storage import LockInfo

LOCK_TTL = 60.0


def lock_owner(command: str) -> dict[str, Any]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return {
        "user": user,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "command": command,
        "tool": f"storecfg {__version__}",
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


class HeldLock:
    def __init__(self, info: LockInfo) -> None:
        self.info = info
        self.lost = threading.Event()
        self.lost_reason = ""


def _acquire(
    driver: StoreDriver, store_id: str, owner: dict[str, Any], timeout: float, ttl: float
) -> LockInfo:
    deadline = time.monotonic() + timeout
    delay = 0.5
    while True:
        try:
            return driver.acquire_lock(store_id, owner, ttl)
        except LockedError as exc:
            if time.monotonic() + delay > deadline:
                held = exc.details.get("lock") if isinstance(exc.details, dict) else None
                info = LockInfo.from_json(held) if held else None
                message = f"store {store_id} is locked: {info.describe()}" if info else exc.message
                error = LockedError(
                    message + (f" (waited {timeout:g}s)" if timeout else ""),
                    423,
                    details=exc.details,
                )
                if info:
                    error.hint = (
                        "Wait for that apply (--lock-timeout 5m waits), or, if it is no longer "
                        f"running, release the lock: storecfg lock release {info.lock_id}"
                    )
                raise error from None
            time.sleep(delay)
            delay = min(delay * 1.5, 5.0)


@contextmanager
def held_lock(
    driver: StoreDriver, store_id: str, command: str, *, timeout: float = 0.0, ttl: float = LOCK_TTL
) -> Iterator[HeldLock]:
    """Take the apply lock (failing fast unless `timeout`), renew it every ttl/3, release on exit."""
    info = _acquire(driver, store_id, lock_owner(command), timeout, ttl)
    handle = HeldLock(info)
    stop = threading.Event()

    def renew() -> None:
        # the lock is ours until `valid_until` (local clock); past it, it may be gone
        valid_until = time.monotonic() + ttl
        while not stop.wait(ttl / 3):
            try:
                handle.info = driver.renew_lock(store_id, info.lock_id, ttl)
                valid_until = time.monotonic() + ttl
                continue
            except StoreError as exc:
                transient = exc.status in (0, 429, 502, 503, 504)
                reason = exc.message
            except Exception as exc:  # the thread must never die silently holding our promise
                transient = False
                reason = f"{type(exc).__name__}: {exc}"
            if transient and time.monotonic() + ttl / 3 < valid_until - ttl / 12:
                continue  # there is time for another try before it expires
            handle.lost_reason = (
                reason if not transient else f"could not renew it in time ({reason})"
            )
            handle.lost.set()
            return

    thread = threading.Thread(target=renew, name="storecfg-lock-renewal", daemon=True)
    thread.start()
    try:
        yield handle
    finally:
        stop.set()
        thread.join(timeout=5)
        with contextlib.suppress(StoreError):  # expired or released by hand: nothing to release
            driver.release_lock(store_id, info.lock_id)
