"""Batched writes: in order, one transaction, the same checks as single writes, stop at
the first failure, idempotent per write; the same answers from both drivers."""

from __future__ import annotations

from pathlib import Path

import pytest

from storecfg.errors import ConflictError, StoreError
from storecfg.server.app import create_app
from storecfg.store.driver import StoreDriver
from storecfg.store.records import WriteOp
from storecfg.store.storage import Storage

from .asgi import asgi_client
from .conftest import STORE
from .samples import plan, sku


def create(kind: str, rid: str, spec: dict[str, object], key: str | None = None) -> WriteOp:
    return WriteOp("put", kind, rid, spec, create=True, idempotency_key=key)


def test_writes_apply_in_order_with_revisions(driver: StoreDriver) -> None:
    results = driver.write_batch(
        STORE,
        [create("skus", "o365-e1", sku(), "k1"), create("service_plans", "p1", plan(), "k2")],
    )
    assert [r.status for r in results] == [201, 201]
    assert [r.item.revision for r in results if r.item] == [1, 2]
    stored = driver.get(STORE, "service_plans", "p1")
    assert stored is not None and stored.spec["price"]["recurring"] == "8.00"
    assert results[1].item is not None and results[1].item.hash == stored.hash
    assert driver.store_info(STORE).revision == 2
    update = WriteOp(
        "put", "skus", "o365-e1", sku(name="Renamed"), if_match=1, idempotency_key="k3"
    )
    delete = WriteOp("delete", "service_plans", "p1", if_match=2, idempotency_key="k4")
    results = driver.write_batch(STORE, [update, delete])
    assert [r.status for r in results] == [200, 204]
    assert driver.get(STORE, "service_plans", "p1") is None
    sku_now = driver.get(STORE, "skus", "o365-e1")
    assert sku_now is not None and sku_now.spec["name"] == "Renamed" and sku_now.revision == 3


def test_the_first_failure_stops_the_batch_and_keeps_what_came_before(driver: StoreDriver) -> None:
    driver.write_batch(STORE, [create("skus", "a", sku(), "ka")])
    results = driver.write_batch(
        STORE,
        [
            create("skus", "b", sku(), "kb"),
            create("skus", "a", sku(), "ka2"),  # exists: 412
            create("skus", "c", sku(), "kc"),
        ],
    )
    assert [r.status for r in results] == [201, 412, 0]
    assert isinstance(results[1].error, ConflictError)
    assert "already exists" in results[1].error.message
    assert results[2].error is not None and "not attempted" in results[2].error.message
    assert driver.get(STORE, "skus", "b") is not None
    assert driver.get(STORE, "skus", "c") is None
    assert driver.store_info(STORE).revision == 2


def test_an_invalid_spec_fails_with_the_validate_diagnostics(driver: StoreDriver) -> None:
    results = driver.write_batch(STORE, [create("service_plans", "p", plan(recurring="-1"), "k")])
    assert results[0].status == 422
    error = results[0].error
    assert isinstance(error, StoreError)
    assert [d["code"] for d in error.diagnostics] == ["SC305"]
    assert error.diagnostics[0]["address"] == "service_plans.p.price.recurring"


def test_a_replayed_batch_changes_nothing(driver: StoreDriver) -> None:
    ops = [create("skus", "a", sku(), "key-a"), create("skus", "b", sku(), "key-b")]
    first = driver.write_batch(STORE, ops)
    again = driver.write_batch(STORE, ops)
    assert [(r.status, r.item.revision if r.item else None) for r in again] == [
        (r.status, r.item.revision if r.item else None) for r in first
    ]
    assert driver.store_info(STORE).revision == 2
    # the same key with another request is refused
    other = driver.write_batch(STORE, [create("skus", "a", sku(name="Other"), "key-a")])
    assert other[0].status == 422 and other[0].error is not None
    assert "different request" in other[0].error.message


def test_malformed_batches_are_refused_whole(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "db")
    for bad in (
        [],
        [{"op": "patch", "kind": "skus", "id": "a"}],
        [{"op": "put", "kind": "skus", "id": "a"}],
        [{"op": "delete", "kind": "skus", "id": "a", "extra": 1}],
        "nope",
    ):
        with pytest.raises(StoreError) as info:
            storage.batch(STORE, bad)
        assert info.value.status == 400
    assert storage.store_info(STORE).revision == 0


def test_the_batch_endpoint_checks_the_token_and_the_body(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "db")
    token = storage.create_token(STORE)
    other = storage.create_token("other")
    app = create_app(storage, access_log=False)
    body = {
        "operations": [
            {"op": "put", "kind": "skus", "id": "a", "spec": sku(), "if_none_match": "*"}
        ]
    }
    with asgi_client(app) as client:
        assert client.post(f"/v1/stores/{STORE}/batch", json=body).status_code == 401
        forbidden = client.post(
            f"/v1/stores/{STORE}/batch", json=body, headers={"Authorization": f"Bearer {other}"}
        )
        assert forbidden.status_code == 403
        assert storage.store_info(STORE).revision == 0
        auth = {"Authorization": f"Bearer {token}"}
        assert (
            client.post(f"/v1/stores/{STORE}/batch", json={"ops": []}, headers=auth).status_code
            == 400
        )
        ok = client.post(f"/v1/stores/{STORE}/batch", json=body, headers=auth)
        assert ok.status_code == 200
        assert ok.json()["results"][0]["status"] == 201
        assert ok.json()["results"][0]["item"]["revision"] == 1


def test_a_failure_without_an_error_object_is_still_a_failure() -> None:
    from storecfg.store.wire import results_from_json

    results = results_from_json(
        [
            {"status": 201, "item": {"id": "a", "revision": 1, "hash": "h"}},
            {"status": 503},
            {"status": 0},
        ],
        "test",
    )
    assert [r.status for r in results] == [201, 503, 0]
    assert results[0].error is None
    assert results[1].error is not None and "write failed (status 503)" in results[1].error.message
    assert results[2].error is not None and "not attempted" in results[2].error.message
