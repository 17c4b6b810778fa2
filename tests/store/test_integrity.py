"""Referential integrity, recorded source files and token management in the storage engine.

The same engine backs the embedded store and the server, so these hold for both; the
server's own tests check the HTTP shape of the same answers.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from storecfg.errors import StoreError
from storecfg.store.migrations import MIGRATIONS
from storecfg.store.storage import Storage
from storecfg.store.wire import DanglingReference

from .conftest import STORE
from .samples import plan, sku


def create(storage: Storage, kind: str, rid: str, spec: dict[str, Any], **kw: Any) -> Any:
    return storage.put(STORE, kind, rid, spec, if_none_match="*", **kw)


def revision(storage: Storage) -> int:
    return storage.store_info(STORE).revision


def category(*plans: str) -> dict[str, Any]:
    return {"name": "Office", "type": "services", "plans": list(plans)}


def catalog(storage: Storage) -> None:
    """A SKU, two plans of it, and a category listing both."""
    create(storage, "skus", "o365-e1", sku())
    create(storage, "service_plans", "a", plan("a"))
    create(storage, "service_plans", "b", plan("b"))
    create(storage, "sales_categories", "office", category("a", "b"))


# ---------------------------------------------------------------- single writes


def test_a_put_that_names_a_missing_resource_is_409_and_writes_nothing(storage: Storage) -> None:
    create(storage, "skus", "o365-e1", sku())
    before = revision(storage)
    with pytest.raises(DanglingReference) as err:
        create(storage, "sales_categories", "office", category("ghost"))
    exc = err.value
    assert exc.status == 409
    assert exc.details["referring"] == ["sales_categories.office"]
    assert exc.details["missing"] == ["service_plans.ghost"]
    assert exc.details["references"] == [
        {
            "referring": "sales_categories.office",
            "field": "plans[0]",
            "missing": "service_plans.ghost",
        }
    ]
    assert "sales_categories.office" in exc.message and "service_plans.ghost" in exc.message
    assert revision(storage) == before
    with pytest.raises(StoreError) as gone:
        storage.get(STORE, "sales_categories", "office")
    assert gone.value.status == 404


def test_an_update_that_adds_a_dangling_reference_is_refused_too(storage: Storage) -> None:
    catalog(storage)
    current = storage.get(STORE, "sales_categories", "office")
    before = revision(storage)
    with pytest.raises(DanglingReference) as err:
        storage.put(
            STORE,
            "sales_categories",
            "office",
            category("a", "b", "c"),
            if_match=str(current.revision),
        )
    assert err.value.details["missing"] == ["service_plans.c"]
    assert revision(storage) == before
    assert storage.get(STORE, "sales_categories", "office").spec["plans"] == ["a", "b"]


def test_deleting_a_resource_another_still_names_is_409(storage: Storage) -> None:
    catalog(storage)
    before = revision(storage)
    with pytest.raises(DanglingReference) as err:
        storage.delete(STORE, "service_plans", "a")
    assert err.value.status == 409
    assert err.value.details["referring"] == ["sales_categories.office"]
    assert err.value.details["missing"] == ["service_plans.a"]
    assert revision(storage) == before
    assert storage.get(STORE, "service_plans", "a").id == "a"
    # the SKU is named by both plans: both are named in the refusal
    with pytest.raises(DanglingReference) as sku_err:
        storage.delete(STORE, "skus", "o365-e1")
    assert sku_err.value.details["referring"] == ["service_plans.a", "service_plans.b"]


def test_once_nothing_names_it_the_delete_goes_through(storage: Storage) -> None:
    catalog(storage)
    office = storage.get(STORE, "sales_categories", "office")
    storage.put(STORE, "sales_categories", "office", category("b"), if_match=str(office.revision))
    assert storage.delete(STORE, "service_plans", "a") == 204
    # a resource may name itself out of existence: its own references go with it
    storage.delete(STORE, "sales_categories", "office")
    storage.delete(STORE, "service_plans", "b")
    assert storage.delete(STORE, "skus", "o365-e1") == 204


def test_nested_and_list_references_are_checked(storage: Storage) -> None:
    create(storage, "skus", "o365-e1", sku())
    addon = {
        "id": "extra",
        "name": "Extra",
        "unit": "GB",
        "included": 0,
        "price": {"setup": "0", "recurring": "1"},
        "category": "storage",
    }
    with pytest.raises(DanglingReference) as err:
        create(storage, "service_plans", "a", plan("a", resources=[addon]))
    assert err.value.details["references"][0]["field"] == "resources[0].category"
    assert err.value.details["missing"] == ["resource_categories.storage"]
    create(storage, "resource_categories", "storage", {"name": "Storage"})
    create(storage, "service_plans", "a", plan("a", resources=[addon]))
    with pytest.raises(DanglingReference):
        storage.delete(STORE, "resource_categories", "storage")


# ---------------------------------------------------------------- batches


def _put(kind: str, rid: str, spec: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"op": "put", "kind": kind, "id": rid, "spec": spec, **extra}


def _delete(kind: str, rid: str) -> dict[str, Any]:
    return {"op": "delete", "kind": kind, "id": rid}


@pytest.mark.parametrize("order", ["update-first", "delete-first"])
def test_a_batch_is_checked_as_a_whole(storage: Storage, order: str) -> None:
    catalog(storage)
    office = storage.get(STORE, "sales_categories", "office")
    update = _put("sales_categories", "office", category("b"), if_match=office.revision)
    ops = [update, _delete("service_plans", "a")]
    if order == "delete-first":
        ops.reverse()
    results = storage.batch(STORE, ops)
    assert sorted(r["status"] for r in results) == [200, 204]
    with pytest.raises(StoreError):
        storage.get(STORE, "service_plans", "a")


def test_a_batch_may_create_what_it_refers_to_later_in_the_batch(storage: Storage) -> None:
    results = storage.batch(
        STORE,
        [
            _put("sales_categories", "office", category("a"), if_none_match="*"),
            _put("service_plans", "a", plan("a"), if_none_match="*"),
            _put("skus", "o365-e1", sku(), if_none_match="*"),
        ],
    )
    assert [r["status"] for r in results] == [201, 201, 201]


def test_a_batch_that_would_leave_a_reference_dangling_is_undone_entirely(
    storage: Storage,
) -> None:
    catalog(storage)
    before = revision(storage)
    results = storage.batch(
        STORE,
        [
            _put("skus", "new", sku("new"), if_none_match="*"),
            _delete("service_plans", "a"),
            _put("service_plans", "c", plan("c"), if_none_match="*"),
        ],
    )
    assert [r["status"] for r in results] == [0, 409, 0]
    error = results[1]["error"]
    assert error["error"] == "dangling_reference"
    assert error["referring"] == ["sales_categories.office"]
    assert error["missing"] == ["service_plans.a"]
    assert results[0]["error"]["error"] == "rolled_back"
    assert revision(storage) == before
    for kind, rid in (("skus", "new"), ("service_plans", "c")):
        with pytest.raises(StoreError):
            storage.get(STORE, kind, rid)
    assert storage.get(STORE, "service_plans", "a").id == "a"


def test_a_batch_that_stops_early_is_judged_on_the_writes_it_kept(storage: Storage) -> None:
    """A precondition failure keeps the writes before it; if those alone would leave a
    reference dangling (the update that would have fixed it was never reached), none
    is kept."""
    catalog(storage)
    before = revision(storage)
    results = storage.batch(
        STORE,
        [
            _delete("service_plans", "a"),
            _put("skus", "o365-e1", sku(), if_none_match="*"),  # exists: 412
            _put("sales_categories", "office", category("b"), if_match=1),
        ],
    )
    assert [r["status"] for r in results] == [409, 412, 0]
    assert revision(storage) == before


# ---------------------------------------------------------------- existing databases


def test_an_existing_database_gets_its_references_indexed(tmp_path: Path) -> None:
    """A database written before referential integrity (schema version 1) is migrated
    and its references indexed, so its first delete is already checked."""
    db = tmp_path / "old.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(MIGRATIONS[0])
        conn.execute("PRAGMA user_version = 1")
        conn.execute("INSERT INTO stores (id, revision, created_at) VALUES (?, 3, 0)", (STORE,))
        conn.execute(
            "INSERT INTO tokens (hash, store, name, created_at) VALUES ('abc', ?, 'old', 0)",
            (STORE,),
        )
        for rev, (kind, rid, spec) in enumerate(
            [
                ("skus", "o365-e1", {"id": "o365-e1", **sku()}),
                ("service_plans", "a", {"id": "a", **plan("a")}),
                ("sales_categories", "office", {"id": "office", **category("a")}),
            ],
            start=1,
        ):
            conn.execute(
                "INSERT INTO resources (store, kind, id, spec, hash, revision, updated_at) "
                "VALUES (?,?,?,?,?,?,0)",
                (STORE, kind, rid, json.dumps(spec), "h", rev),
            )
    storage = Storage(db)
    try:
        with pytest.raises(DanglingReference):
            storage.delete(STORE, "service_plans", "a")
        (old,) = storage.list_tokens()
        assert old.id.startswith("tok_") and old.name == "old" and not old.read_only
    finally:
        storage.close()


# ---------------------------------------------------------------- source files


def test_the_source_file_is_recorded_and_kept_by_writes_that_name_none(storage: Storage) -> None:
    create(storage, "skus", "o365-e1", {"spec": sku(), "source": "catalog/skus.yaml"})
    assert storage.get(STORE, "skus", "o365-e1").source == "catalog/skus.yaml"
    current = storage.get(STORE, "skus", "o365-e1")
    storage.put(STORE, "skus", "o365-e1", sku(name="Renamed"), if_match=str(current.revision))
    assert storage.get(STORE, "skus", "o365-e1").source == "catalog/skus.yaml"
    storage.batch(
        STORE, [_put("skus", "o365-e1", sku(), if_match=current.revision + 1, source="skus.yaml")]
    )
    assert storage.read_all(STORE, specs=False).resources["skus"]["o365-e1"].source == "skus.yaml"
    items, _ = storage.list(STORE, "skus", specs=False)
    assert items[0].source == "skus.yaml"
    for bad in ("", "a\nb.yaml", "\x1b[31mred.yaml", "x" * 501):
        with pytest.raises(StoreError) as err:
            storage.batch(STORE, [_put("skus", "x", sku("x"), source=bad)])
        assert err.value.status == 400
        with pytest.raises(StoreError) as single:
            create(storage, "skus", "x", {"spec": sku("x"), "source": bad})
        assert single.value.status == 400


# ---------------------------------------------------------------- tokens


def test_tokens_are_listed_without_their_secret_and_revoked_by_id(storage: Storage) -> None:
    ci = storage.create_token(STORE, "ci")
    pr = storage.create_token(STORE, "pull requests", read_only=True)
    storage.create_token("other")
    listed = storage.list_tokens(STORE)
    assert [(t.name, t.read_only) for t in listed] == [("ci", False), ("pull requests", True)]
    assert all(t.id.startswith("tok_") and t.last_used_at is None for t in listed)
    text = repr(listed) + repr([t.to_json() for t in listed])
    assert ci not in text and pr not in text and ci[4:] not in text
    assert len(storage.list_tokens()) == 3

    info = storage.token_info(pr)
    assert info is not None and info.read_only and info.store == STORE
    revoked = storage.revoke_token(listed[1].id)
    assert revoked.name == "pull requests"
    assert storage.token_info(pr) is None
    assert storage.token_info(ci) is not None
    with pytest.raises(StoreError) as err:
        storage.revoke_token(listed[1].id)
    assert err.value.status == 404


def test_last_use_is_recorded_at_most_once_a_minute(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = storage.create_token(STORE)
    now = [1_000_000.0]
    monkeypatch.setattr(time, "time", lambda: now[0])
    assert storage.token_info(token) is not None
    assert storage.list_tokens()[0].last_used_at is None  # a plain lookup is no use
    storage.token_info(token, touch=True)
    assert storage.list_tokens()[0].last_used_at == 1_000_000.0
    now[0] += 30
    storage.token_info(token, touch=True)
    assert storage.list_tokens()[0].last_used_at == 1_000_000.0
    now[0] += 31
    storage.token_info(token, touch=True)
    assert storage.list_tokens()[0].last_used_at == 1_000_061.0
    assert time.time() == 1_000_061.0
