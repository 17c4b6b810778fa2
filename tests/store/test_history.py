"""History kept in the store: snapshots, apply records, last-applied hashes and drift.

Every behaviour runs on both drivers (the embedded store and the HTTP driver against the
reference server in-process), which share one storage engine; the schema migration is
tested on a database file the first release wrote.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from storecfg.errors import StoreError
from storecfg.store.driver import StoreDriver
from storecfg.store.migrations import SCHEMA_VERSION
from storecfg.store.records import WriteOp, state_sha256
from storecfg.store.storage import Storage

from .conftest import STORE
from .samples import plan, sku

OWNER = {"user": "alice", "host": "ci-7", "pid": 4242}
FIXTURE_V1 = Path(__file__).parents[1] / "data" / "store-v1.db"


def start(d: StoreDriver, apply_id: str = "a1", *, lock: bool = True, **extra: Any) -> str:
    """A running apply under a freshly taken lock (returns the lock ID)."""
    lock_id = d.acquire_lock(STORE, OWNER, 60).lock_id if lock else None
    d.start_apply(
        STORE,
        {
            "id": apply_id,
            "plan_id": f"plan-{apply_id}",
            "changes": {"create": 2, "update": 0, "delete": 0, "replace": 0},
            "writes_total": 2,
            "source": {"user": "alice", "host": "ci-7"},
            "lock_id": lock_id,
            **extra,
        },
    )
    return lock_id or ""


def create(kind: str, rid: str, spec: dict[str, Any], key: str | None = None) -> WriteOp:
    return WriteOp("put", kind, rid, spec, create=True, idempotency_key=key)


def drift_of(d: StoreDriver) -> list[tuple[str, str, int | None]]:
    items, _ = d.drift_page(STORE)
    return [(i.address, i.kind, i.revision) for i in items]


# ---------------------------------------------------------------- snapshots


def test_a_snapshot_is_the_store_at_one_revision_with_its_sha256(driver: StoreDriver) -> None:
    driver.write_batch(STORE, [create("skus", "a", sku("a")), create("skus", "b", sku("b"))])
    meta = driver.create_snapshot(STORE, "before a change")
    assert (meta.revision, meta.resource_count, meta.reason) == (2, 2, "before a change")
    assert meta.id.endswith("-r2") and meta.apply_id is None
    driver.write_batch(STORE, [create("skus", "c", sku("c"))])
    doc = driver.get_snapshot(STORE, meta.id)
    assert doc is not None
    assert doc["store"] == {"id": STORE, "revision": 2}
    assert sorted(doc["resources"]["skus"]) == ["a", "b"]
    assert doc["resources"]["skus"]["a"]["revision"] == 1
    assert doc["resources"]["skus"]["a"]["spec"]["name"] == "SKU a"
    # the sha256 is over the canonical JSON of the state, so any reader can check it
    state = {k: doc[k] for k in ("store", "settings", "settings_revision", "resources")}
    canonical = json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(canonical.encode()).hexdigest() == meta.sha256 == doc["sha256"]
    assert state_sha256(doc) == meta.sha256
    assert driver.get_snapshot(STORE, "20990101T000000Z-r1") is None


def test_snapshots_are_listed_newest_first_in_pages(driver: StoreDriver) -> None:
    taken = []
    for n in range(5):
        driver.write_batch(STORE, [create("skus", f"s{n}", sku())])
        taken.append(driver.create_snapshot(STORE, f"n{n}").id)
    assert len(set(taken)) == 5  # several in one second get -2, -3 ...
    seen: list[str] = []
    token: str | None = None
    while True:
        items, token = driver.list_snapshots(STORE, limit=2, page_token=token)
        seen += [s.id for s in items]
        if not token:
            break
    assert seen == taken[::-1]
    assert [s.reason for s in driver.list_snapshots(STORE, limit=5)[0]] == [
        "n4", "n3", "n2", "n1", "n0"
    ]  # fmt: skip


def test_a_snapshot_for_an_apply_is_taken_once(driver: StoreDriver) -> None:
    start(driver)
    first = driver.create_snapshot(STORE, "apply", "a1")
    again = driver.create_snapshot(STORE, "apply", "a1")  # a retried request
    assert first == again and first.apply_id == "a1"
    assert len(driver.list_snapshots(STORE)[0]) == 1
    with pytest.raises(StoreError) as err:
        driver.create_snapshot(STORE, "apply", "no-such-apply")
    assert err.value.status == 404


def test_retention_keeps_the_newest_n_and_nothing_is_pruned_by_default(engine_db: str) -> None:
    with Storage(engine_db, keep_snapshots=2) as kept:
        for n in range(4):
            kept.put(STORE, "skus", f"s{n}", sku(), if_none_match="*")
            kept.create_snapshot(STORE, reason=f"n{n}")
            kept.create_snapshot("other", reason=f"o{n}")
        assert [s.reason for s in kept.list_snapshots(STORE)[0]] == ["n3", "n2"]
        assert [s.reason for s in kept.list_snapshots("other")[0]] == ["o3", "o2"]
    # the same database, served without retention
    with Storage(engine_db) as everything:
        everything.create_snapshot(STORE, reason="n4")
        assert [s.reason for s in everything.list_snapshots(STORE)[0]] == ["n4", "n3", "n2"]


# ---------------------------------------------------------------- apply records


def test_marked_writes_move_the_apply_progress_once(driver: StoreDriver) -> None:
    lock_id = start(driver)
    ops = [create("skus", "a", sku("a"), "k-a"), create("skus", "b", sku("b"), "k-b")]
    driver.write_batch(STORE, ops[:1], "a1")
    [record], _ = driver.list_applies(STORE)
    assert (record.status, record.writes_done, record.writes_total) == ("running", 1, 2)
    driver.write_batch(STORE, ops, "a1")  # a retried batch: the first write is a replay
    [record], _ = driver.list_applies(STORE)
    assert record.writes_done == 2
    settings = driver.store_info(STORE).settings
    driver.put_settings(STORE, {**settings, "name": "Shop"}, if_match=0, apply_id="a1")
    record = driver.update_apply(STORE, "a1", status="complete")
    assert (record.status, record.writes_done) == ("complete", 3)
    assert record.finished_at is not None and record.started_at <= record.finished_at
    assert record.changes == {"create": 2, "update": 0, "delete": 0, "replace": 0}
    assert record.source == {"user": "alice", "host": "ci-7"}
    driver.release_lock(STORE, lock_id)
    assert driver.list_applies(STORE)[0][0].status == "complete"  # not "interrupted"
    # ending it again the same way is harmless; another way is refused
    assert driver.update_apply(STORE, "a1", status="complete").status == "complete"
    with pytest.raises(StoreError) as err:
        driver.update_apply(STORE, "a1", status="failed")
    assert err.value.status == 409


def test_a_running_apply_whose_lock_is_gone_is_interrupted(driver: StoreDriver) -> None:
    lock_id = start(driver)
    assert driver.list_applies(STORE)[0][0].status == "running"
    driver.release_lock(STORE, lock_id)  # released by hand: the process was killed
    assert driver.list_applies(STORE)[0][0].status == "interrupted"
    # another apply taking the lock does not bring it back
    other = driver.acquire_lock(STORE, OWNER, 60)
    assert driver.list_applies(STORE)[0][0].status == "interrupted"
    driver.release_lock(STORE, other.lock_id)


def test_an_apply_whose_lock_expired_is_interrupted(engine_db: str) -> None:
    with Storage(engine_db) as storage:
        _, lock = storage.acquire_lock(STORE, OWNER, 1.0)
        storage.start_apply(STORE, {"id": "a1", "lock_id": lock.lock_id})
        assert storage.get_apply(STORE, "a1").status == "running"
        with storage._tx(write=True, store=STORE) as conn:  # the clock moves past the expiry
            conn.execute("UPDATE locks SET expires_at = ?", (time.time() - 1,))
        assert storage.get_apply(STORE, "a1").status == "interrupted"


def test_apply_records_are_newest_first_by_plan_and_idempotent(driver: StoreDriver) -> None:
    for n in range(3):
        lock_id = start(driver, f"a{n}")
        driver.update_apply(STORE, f"a{n}", status="complete")
        driver.release_lock(STORE, lock_id)
    assert [r.id for r in driver.list_applies(STORE)[0]] == ["a2", "a1", "a0"]
    items, token = driver.list_applies(STORE, limit=2)
    assert [r.id for r in items] == ["a2", "a1"] and token
    assert [r.id for r in driver.list_applies(STORE, limit=2, page_token=token)[0]] == ["a0"]
    assert [r.id for r in driver.list_applies(STORE, plan_id="plan-a1")[0]] == ["a1"]
    # the same record again (a retried request) is the one recorded, not a second one
    again = driver.start_apply(STORE, {"id": "a1", "plan_id": "plan-a1"})
    assert again.status == "complete" and len(driver.list_applies(STORE)[0]) == 3
    with pytest.raises(StoreError) as err:
        driver.start_apply(STORE, {"id": "a1", "plan_id": "another plan"})
    assert err.value.status == 409


def test_a_write_marked_with_an_apply_that_is_not_running_changes_nothing(
    driver: StoreDriver,
) -> None:
    for apply_id in ("nobody", "done"):
        if apply_id == "done":
            start(driver, "done", lock=False)
            driver.update_apply(STORE, "done", status="failed")
        with pytest.raises(StoreError) as err:
            driver.write_batch(STORE, [create("skus", "a", sku())], apply_id)
        assert err.value.status == 409 and apply_id in err.value.message
        assert driver.store_info(STORE).revision == 0


def test_tokens_are_never_kept_in_an_apply_record(engine_db: str) -> None:
    with Storage(engine_db) as storage:
        token = storage.create_token(STORE)
        source = {"ci_run_url": f"https://ci.example/run?t={token}", "user": token}
        record = storage.start_apply(STORE, {"id": "a1", "source": source})[1]
    assert token not in json.dumps(record.to_json())
    assert record.source["user"] == "sct_***"
    assert record.source["ci_run_url"] == "https://ci.example/run?t=sct_***"


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"id": "../x"},
        {"id": "a", "changes": {"create": -1}},
        {"id": "a", "changes": {"moved": 1}},
        {"id": "a", "writes_total": 1.5},
        {"id": "a", "source": {"nested": {"no": 1}}},
        {"id": "a", "source": {"big": "x" * 3000}},
        {"id": "a", "colour": "blue"},
    ],
)
def test_malformed_apply_records_are_refused(tmp_path: Path, body: Any) -> None:
    storage = Storage(tmp_path / "db")
    with pytest.raises(StoreError) as err:
        storage.start_apply(STORE, body)
    assert err.value.status == 400
    assert storage.list_applies(STORE)[0] == []


# ---------------------------------------------------------------- drift


def test_writes_outside_storecfg_are_drift(driver: StoreDriver) -> None:
    lock_id = start(driver)
    driver.write_batch(
        STORE,
        [create("skus", "a", sku("a")), create("skus", "b", sku("b")), create("skus", "c", sku())],
        "a1",
    )
    driver.update_apply(STORE, "a1", status="complete")
    driver.release_lock(STORE, lock_id)
    assert drift_of(driver) == []
    # the control panel: a plain update, a create and a delete (no apply ID)
    item = driver.get(STORE, "skus", "a")
    assert item is not None
    changed = driver.put(
        STORE, "skus", "a", {**item.spec, "name": "Renamed"}, if_match=item.revision
    )
    created = driver.put(STORE, "service_plans", "p", plan(sku="a"), create=True)
    driver.delete(STORE, "skus", "c")
    deleted_at = driver.store_info(STORE).revision
    assert drift_of(driver) == [
        ("service_plans.p", "created", created.revision),
        ("skus.a", "changed", changed.revision),
        ("skus.c", "deleted", deleted_at),
    ]
    items, _ = driver.drift_page(STORE)
    assert all(i.changed_at and i.changed_at.endswith("Z") for i in items)
    # putting a resource back exactly as storecfg wrote it is no drift
    driver.put(STORE, "skus", "a", item.spec, if_match=changed.revision)
    assert [a for a, _, _ in drift_of(driver)] == ["service_plans.p", "skus.c"]
    # paged
    first, token = driver.drift_page(STORE, limit=1)
    assert [i.address for i in first] == ["service_plans.p"] and token
    assert [i.address for i in driver.drift_page(STORE, limit=1, page_token=token)[0]] == ["skus.c"]


def test_storecfg_writes_and_acknowledgements_end_drift(driver: StoreDriver) -> None:
    created = driver.put(STORE, "skus", "a", sku("a"), create=True)
    driver.put(STORE, "skus", "gone", sku(), create=True)
    lock_id = start(driver)
    driver.write_batch(STORE, [create("skus", "b", sku("b"))], "a1")
    driver.update_apply(STORE, "a1", status="complete")
    driver.release_lock(STORE, lock_id)
    assert [a for a, _, _ in drift_of(driver)] == ["skus.a", "skus.gone"]
    # the definition now has skus.a as it is: storecfg records it without writing it
    revision = driver.store_info(STORE).revision
    done = driver.acknowledge(
        STORE,
        [
            {"address": "skus.a", "hash": created.hash},
            {"address": "skus.gone", "hash": "not-its-hash"},  # changed since: skipped
        ],
    )
    assert done == ["skus.a"]
    assert [a for a, _, _ in drift_of(driver)] == ["skus.gone"]
    assert driver.store_info(STORE).revision == revision  # nothing was written
    # storecfg deletes it (marked): no longer drift, nor remembered
    lock_id = start(driver, "a2")
    driver.write_batch(STORE, [WriteOp("delete", "skus", "gone")], "a2")
    driver.update_apply(STORE, "a2", status="complete")
    driver.release_lock(STORE, lock_id)
    assert drift_of(driver) == []
    # a deleted resource the definition no longer names: acknowledged as gone
    driver.delete(STORE, "skus", "b")
    assert drift_of(driver)[0][:2] == ("skus.b", "deleted")
    assert driver.acknowledge(STORE, [{"address": "skus.b", "hash": None}]) == ["skus.b"]
    assert drift_of(driver) == []


def test_settings_written_outside_storecfg_are_drift(driver: StoreDriver) -> None:
    settings = {"name": "Shop", "currency": "USD", "locales": ["en-US"]}
    # settings nobody wrote are no drift; settings written outside storecfg are
    assert drift_of(driver) == []
    first = driver.put_settings(STORE, settings, if_match=0)
    assert drift_of(driver) == [("settings", "changed", first.revision)]
    # storecfg writes them (marked with its apply): no drift
    lock_id = start(driver)
    written = driver.put_settings(
        STORE, {**settings, "name": "Shop Inc."}, if_match=first.revision, apply_id="a1"
    )
    driver.update_apply(STORE, "a1", status="complete")
    driver.release_lock(STORE, lock_id)
    assert drift_of(driver) == []
    # the control panel renames the store: drift, with when it happened
    changed = driver.put_settings(
        STORE, {**settings, "name": "Shop (sale)"}, if_match=written.revision
    )
    driver.put(STORE, "skus", "a", sku("a"), create=True)
    assert drift_of(driver) == [
        ("settings", "changed", changed.revision),
        ("skus.a", "created", changed.revision + 1),
    ]
    items, _ = driver.drift_page(STORE)
    assert items[0].changed_at and items[0].changed_at.endswith("Z")
    first_page, token = driver.drift_page(STORE, limit=1)
    assert [i.address for i in first_page] == ["settings"] and token
    assert [i.address for i in driver.drift_page(STORE, page_token=token)[0]] == ["skus.a"]
    # putting them back as storecfg wrote them is no drift
    back = driver.put_settings(STORE, {**settings, "name": "Shop Inc."}, if_match=changed.revision)
    assert [a for a, _, _ in drift_of(driver)] == ["skus.a"]
    # acknowledged with the hash of the live settings: storecfg's, without a write
    renamed = driver.put_settings(STORE, {**settings, "name": "Shop Two"}, if_match=back.revision)
    revision = driver.store_info(STORE).revision
    assert driver.acknowledge(STORE, [{"address": "settings", "hash": "not-their-hash"}]) == []
    done = driver.acknowledge(STORE, [{"address": "settings", "hash": renamed.hash}])
    assert done == ["settings"]
    assert [a for a, _, _ in drift_of(driver)] == ["skus.a"]
    assert driver.store_info(STORE).revision == revision
    with pytest.raises(StoreError) as err:
        driver.acknowledge(STORE, [{"address": "settings", "hash": None}])
    assert err.value.status == 400


# ---------------------------------------------------------------- migration


def _dump(db: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(query).fetchall()


def test_a_first_release_database_is_upgraded_in_place(tmp_path: Path) -> None:
    """tests/data/store-v1.db was written by the first release's storage engine (schema
    version 1): a store with settings, a SKU, a plan, a deleted SKU, another store, a
    token and an idempotency key."""
    db = tmp_path / "store.db"
    shutil.copy(FIXTURE_V1, db)
    assert _dump(db, "PRAGMA user_version") == [(1,)]
    resources = "SELECT store, kind, id, spec, hash, revision FROM resources ORDER BY 1, 2, 3"
    before = {
        "resources": _dump(db, resources),
        "stores": _dump(db, "SELECT id, revision, settings, settings_revision FROM stores"),
        "tokens": _dump(db, "SELECT hash, store, name FROM tokens"),
        "idempotency": _dump(db, "SELECT store, key, fingerprint, status, body FROM idempotency"),
    }
    storage = Storage(db)
    assert _dump(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)] and SCHEMA_VERSION == 5
    # 5: resources became an ordinary table (large specs stay in their rows)
    table = "SELECT sql FROM sqlite_master WHERE name = 'resources'"
    assert "WITHOUT ROWID" not in _dump(db, table)[0][0]
    assert before == {
        "resources": _dump(db, resources),
        "stores": _dump(db, "SELECT id, revision, settings, settings_revision FROM stores"),
        "tokens": _dump(db, "SELECT hash, store, name FROM tokens"),
        "idempotency": _dump(db, "SELECT store, key, fingerprint, status, body FROM idempotency"),
    }
    live = storage.read_all("contoso-us")
    assert live.revision == 5 and live.settings["name"] == "Contoso"
    assert live.revisions() == {"skus.o365-e1": 2, "service_plans.o365-e1-monthly": 3}
    # the store as it was at the upgrade is the baseline: nothing reads as drift
    assert storage.drift("contoso-us")[0] == [] and storage.drift("other")[0] == []
    assert storage.list_snapshots("contoso-us")[0] == []
    assert storage.list_applies("contoso-us")[0] == []
    # and history works from then on
    meta = storage.create_snapshot("contoso-us", reason="first")[1]
    assert (meta.revision, meta.resource_count) == (5, 2)
    storage.put("contoso-us", "skus", "new", sku(), if_none_match="*")
    assert [i.address for i in storage.drift("contoso-us")[0]] == ["skus.new"]
    # the settings as they were at the upgrade are the baseline too
    settings = {k: v for k, v in live.settings.items() if k != "id"}
    storage.put_settings("contoso-us", {**settings, "name": "Contoso (sale)"}, if_match="*")
    assert [i.address for i in storage.drift("contoso-us")[0]] == ["settings", "skus.new"]
    storage.close()
    # opening it again changes nothing more
    Storage(db).close()
    assert _dump(db, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert len(_dump(db, "SELECT * FROM snapshots")) == 1
