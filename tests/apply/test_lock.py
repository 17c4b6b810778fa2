"""The apply lock: renewed while held, released at the end, and a lost lock stops writes."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from storecfg.apply.execute import execute
from storecfg.apply.lock import held_lock
from storecfg.errors import LockedError, StoreError
from storecfg.store.sqlite import SqliteDriver

from .stores import base_desired, plan_of


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[SqliteDriver]:
    d = SqliteDriver(f"sqlite:///{tmp_path / 'live.db'}")
    yield d
    d.close()


def test_the_lock_is_renewed_past_its_ttl_and_released(driver: SqliteDriver) -> None:
    with held_lock(driver, "shop", "apply", ttl=1.2) as lock:
        time.sleep(2.0)
        held = driver.get_lock("shop")
        assert held is not None and held.lock_id == lock.info.lock_id
        assert held.owner["command"] == "apply" and held.owner["pid"] > 0
        assert not lock.lost.is_set()
        with pytest.raises(LockedError), held_lock(driver, "shop", "apply"):
            pass
    assert driver.get_lock("shop") is None


def test_a_lost_lock_stops_the_apply(driver: SqliteDriver, tmp_path: Path) -> None:
    desired = base_desired(tmp_path)
    live = driver.read_all("test-store")
    plan = plan_of(desired, live)
    with held_lock(driver, "test-store", "apply", ttl=1.2) as lock:
        driver.release_lock("test-store", lock.info.lock_id)  # somebody ran `lock release`
        deadline = time.monotonic() + 5
        while not lock.lost.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert lock.lost.is_set()
        assert "no longer held" in lock.lost_reason
        outcome = execute(plan, driver, live, state_dir=tmp_path / "state", lock=lock)
    assert not outcome.ok
    assert outcome.succeeded == []
    assert len(outcome.not_attempted) == 21  # the settings and every resource
    assert outcome.failed == [("-", "lock", f"lost the apply lock: {lock.lost_reason}")]
    assert driver.read_all("test-store").count() == 0


def test_waiting_for_a_lock_gives_up_at_the_timeout(driver: SqliteDriver) -> None:
    other = driver.acquire_lock("shop", {"user": "bob", "host": "h", "pid": 1}, 60)
    started = time.monotonic()
    with pytest.raises(LockedError) as err, held_lock(driver, "shop", "apply", timeout=1.0):
        pass
    assert 0.5 <= time.monotonic() - started < 4
    assert err.value.message.endswith("(waited 1s)")
    assert f"lock {other.lock_id} held by bob@h (pid 1)" in err.value.message
    assert err.value.hint and f"storecfg lock release {other.lock_id}" in err.value.hint


class _FailingRenewals(SqliteDriver):
    """Renewals fail with `error` (the lock itself is taken and released normally)."""

    error: Exception = RuntimeError("unset")

    def renew_lock(self, store_id: str, lock_id: str, ttl: float) -> Any:
        raise self.error


@pytest.mark.parametrize(
    "error, reason",
    [
        (sqlite3.OperationalError("disk I/O error"), "OperationalError: disk I/O error"),
        (StoreError("store unreachable", 0), "could not renew it in time (store unreachable)"),
    ],
)
def test_a_lock_that_cannot_be_renewed_is_lost_before_it_expires(
    tmp_path: Path, error: Exception, reason: str
) -> None:
    d = _FailingRenewals(f"sqlite:///{tmp_path / 'live.db'}")
    d.error = error
    ttl = 1.2
    started = time.monotonic()
    with held_lock(d, "shop", "apply", ttl=ttl) as lock:
        assert lock.lost.wait(5)
        # lost while the lock is still ours in the store: nothing can have taken it yet
        assert time.monotonic() - started < ttl
        assert lock.lost_reason == reason
    d.close()
