"""Holding the store's apply lock: take it first, renew it while working, release it last.

The lock's owner names the process that holds it: user, host, pid, start time, and
`host_id`, which says in which process table that pid lives (on Linux the boot and
the pid namespace, so two containers with the same host name never match). A lock
whose owner is a process of this host_id that no longer runs was left by an apply
that was killed: the next apply releases it at once, and says so, instead of waiting
for it to expire.
"""

from __future__ import annotations

import calendar
import contextlib
import getpass
import hashlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .. import __version__
from ..clock import utc_iso
from ..errors import LockedError, StoreError
from ..store.driver import StoreDriver
from ..store.records import LockInfo

LOCK_TTL = 60.0


def host_id() -> str:
    """Which process table this process's pid belongs to."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:  # not Linux: one host name, one process table
        return "host:" + socket.gethostname()
    return hashlib.sha256(f"{boot}:{namespace}".encode()).hexdigest()[:16]


def lock_owner(command: str) -> dict[str, Any]:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return {
        "user": user,
        "host": socket.gethostname(),
        "host_id": host_id(),
        "pid": os.getpid(),
        "command": command,
        "tool": f"storecfg {__version__}",
        "started_at": utc_iso(),
    }


def _process_start(pid: int) -> float | None:
    """When process `pid` started (epoch seconds), None if not known; -1.0 for a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text().splitlines()
            if line.startswith("btime ")
        )
        fields = stat[stat.rindex(")") + 2 :].split()
        if fields[0] in ("Z", "X"):  # killed, not yet reaped: gone for our purpose
            return -1.0
        return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def abandoned(held: LockInfo) -> bool:
    """True when the lock was taken by a process of this host that no longer runs."""
    owner = held.owner
    pid = owner.get("pid")
    if owner.get("host_id") != host_id() or owner.get("host") != socket.gethostname():
        return False
    if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it runs, as someone else
        return False
    except OSError:
        return False
    started = _process_start(pid)
    if started is None:
        return False
    if started < 0:
        return True
    # a process that started after the lock was taken only reuses the pid of its owner
    try:
        taken = calendar.timegm(time.strptime(str(owner.get("started_at")), "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        return False
    return started > taken + 2


class HeldLock:
    def __init__(self, info: LockInfo) -> None:
        self.info = info
        self.lost = threading.Event()
        self.lost_reason = ""


def _acquire(
    driver: StoreDriver,
    store_id: str,
    owner: dict[str, Any],
    timeout: float,
    ttl: float,
    notice: Callable[[str], None] | None = None,
) -> LockInfo:
    deadline = time.monotonic() + timeout
    delay = 0.5
    released: set[str] = set()
    while True:
        try:
            return driver.acquire_lock(store_id, owner, ttl)
        except LockedError as exc:
            held = exc.details.get("lock") if isinstance(exc.details, dict) else None
            info = LockInfo.from_json(held) if isinstance(held, dict) else None
            if info is not None and info.lock_id not in released and abandoned(info):
                released.add(info.lock_id)
                with contextlib.suppress(StoreError):  # gone already, or taken over: retry
                    driver.release_lock(store_id, info.lock_id)
                    if notice is not None:
                        notice(
                            f"Released the apply lock {info.lock_id} of an apply that is no "
                            f"longer running ({_who(info)})."
                        )
                continue
            if time.monotonic() + delay > deadline:
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


def _who(info: LockInfo) -> str:
    o = info.owner
    since = utc_iso(info.acquired_at)
    return f"{o.get('user', '?')}@{o.get('host', '?')}, pid {o.get('pid', '?')}, since {since}"


@contextmanager
def held_lock(
    driver: StoreDriver,
    store_id: str,
    command: str,
    *,
    timeout: float = 0.0,
    ttl: float = LOCK_TTL,
    notice: Callable[[str], None] | None = None,
) -> Iterator[HeldLock]:
    """Take the apply lock (failing fast unless `timeout`; releasing first a lock left
    by a killed apply of this host, told to `notice`), renew it every ttl/3, release on
    exit."""
    info = _acquire(driver, store_id, lock_owner(command), timeout, ttl, notice)
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
