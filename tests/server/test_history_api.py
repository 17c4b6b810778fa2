"""History endpoints of the store API (SPEC section 5), in-process: snapshots, apply
records, drift, the apply marker on writes, and who may read them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from store.samples import sku

from .test_api import OTHER, STORE, Api, assert_error

HISTORY_PATHS = (
    "/v1/stores/{store}/snapshots",
    "/v1/stores/{store}/snapshots/{id}",
    "/v1/stores/{store}/applies",
    "/v1/stores/{store}/applies/{id}",
    "/v1/stores/{store}/drift",
    "/v1/stores/{store}/drift/acknowledge",
)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    a = Api(tmp_path)
    yield a
    a.storage.close()


def start_apply(api: Api, apply_id: str = "a1") -> str:
    lock = api.client.post(api.url("lock"), json={"owner": {"user": "alice"}}).json()
    response = api.client.post(
        api.url("applies"),
        json={
            "id": apply_id,
            "plan_id": "p1",
            "changes": {"create": 1, "update": 0, "delete": 0, "replace": 0},
            "writes_total": 1,
            "source": {"user": "alice", "host": "ci-7", "git_commit": "abc"},
            "lock_id": lock["lock_id"],
        },
    )
    assert response.status_code == 201, response.text
    return str(lock["lock_id"])


def test_an_apply_its_snapshot_and_its_marked_writes(api: Api) -> None:
    lock_id = start_apply(api)
    snapshot = api.client.post(api.url("snapshots"), json={"reason": "apply", "apply_id": "a1"})
    assert snapshot.status_code == 201
    meta = snapshot.json()
    assert set(meta) == {
        "id", "created_at", "revision", "resource_count", "sha256", "reason", "apply_id"
    }  # fmt: skip
    assert (meta["revision"], meta["resource_count"], meta["apply_id"]) == (0, 0, "a1")
    # a retried request gets the same snapshot
    again = api.client.post(api.url("snapshots"), json={"reason": "apply", "apply_id": "a1"})
    assert (again.status_code, again.json()) == (200, meta)
    batch = api.client.post(
        api.url("batch"),
        json={
            "operations": [{"op": "put", "kind": "skus", "id": "a", "spec": sku("a"),
                            "if_none_match": "*"}],
            "apply_id": "a1",
        },
    )  # fmt: skip
    assert batch.json()["results"][0]["status"] == 201
    record = api.client.get(api.url("applies", "a1")).json()
    assert set(record) == {
        "id", "started_at", "finished_at", "status", "plan_id", "changes", "writes_done",
        "writes_total", "source",
    }  # fmt: skip
    assert (record["status"], record["writes_done"], record["writes_total"]) == ("running", 1, 1)
    assert record["source"]["git_commit"] == "abc"
    done = api.client.patch(api.url("applies", "a1"), json={"status": "complete"})
    assert done.status_code == 200 and done.json()["status"] == "complete"
    api.client.delete(api.url("lock"), params={"lock_id": lock_id})
    listed = api.client.get(api.url("applies")).json()
    assert [r["id"] for r in listed["items"]] == ["a1"] and listed["next_page_token"] is None
    snaps = api.client.get(api.url("snapshots")).json()
    assert snaps == {"items": [meta], "next_page_token": None}
    whole = api.client.get(api.url("snapshots", meta["id"])).json()
    assert {**whole, "resources": None} == {
        **meta,
        "format_version": 1,
        "store": {"id": STORE, "revision": 0},
        "settings": whole["settings"],
        "settings_revision": 0,
        "resources": None,
    }
    assert api.client.get(api.url("drift")).json() == {"items": [], "next_page_token": None}


def test_a_plain_put_is_a_change_outside_storecfg(api: Api) -> None:
    """The control panel writes without the marker; a write with it is storecfg's."""
    lock_id = start_apply(api)
    created = api.create("skus", "a", sku("a"), **{"Storecfg-Apply-Id": "a1"})
    assert created.status_code == 201
    api.client.patch(api.url("applies", "a1"), json={"status": "complete"})
    api.client.delete(api.url("lock"), params={"lock_id": lock_id})
    assert api.client.get(api.url("drift")).json()["items"] == []
    edited = api.client.put(
        api.url("skus", "a"),
        json={"spec": sku("a", name="From the panel")},
        headers={"If-Match": "1"},
    )
    assert edited.status_code == 200
    assert api.client.get(api.url("drift")).json()["items"] == [
        {
            "address": "skus.a",
            "kind": "changed",
            "revision": 2,
            "changed_at": api.client.get(api.url("drift")).json()["items"][0]["changed_at"],
        }
    ]
    # a marker naming an apply that has ended is refused, and nothing is written
    late = api.client.put(
        api.url("skus", "a"),
        json={"spec": sku("a")},
        headers={"If-Match": "2", "Storecfg-Apply-Id": "a1"},
    )
    assert_error(late, 409, "conflict", "apply a1 already ended (complete)")
    assert api.revision() == 2


def test_history_is_403_for_another_stores_token_and_nothing_written(api: Api) -> None:
    lock_id = start_apply(api)
    meta = api.client.post(api.url("snapshots"), json={"reason": "apply", "apply_id": "a1"}).json()
    api.client.delete(api.url("lock"), params={"lock_id": lock_id})
    attempts: list[tuple[str, str, Any]] = [
        ("GET", api.url("snapshots"), None),
        ("GET", api.url("snapshots", meta["id"]), None),
        ("GET", api.url("applies"), None),
        ("GET", api.url("applies", "a1"), None),
        ("GET", api.url("drift"), None),
        ("POST", api.url("snapshots"), {"reason": "mallory"}),
        ("POST", api.url("applies"), {"id": "m1"}),
        ("PATCH", api.url("applies", "a1"), {"status": "failed"}),
        ("POST", api.url("drift", "acknowledge"), {"items": []}),
    ]
    for method, path, body in attempts:
        response = api.rival.request(method, path, json=body)
        assert_error(response, 403, "forbidden", f"not valid for store {STORE}")
        assert api.anon.request(method, path, json=body).status_code == 401
    assert [s["id"] for s in api.client.get(api.url("snapshots")).json()["items"]] == [meta["id"]]
    [record] = api.client.get(api.url("applies")).json()["items"]
    assert record["status"] == "interrupted"  # not "failed": the rival changed nothing
    # the rival's own store has no history, and the rival sees only that
    rival = api.rival.get(f"/v1/stores/{OTHER}/snapshots").json()
    assert rival == {"items": [], "next_page_token": None}


def test_bad_history_requests_are_400_or_404(api: Api) -> None:
    cases: list[tuple[str, str, Any, int]] = [
        ("GET", api.url("snapshots") + "?limit=0", None, 400),
        ("GET", api.url("snapshots") + "?limit=x", None, 400),
        ("GET", api.url("applies") + "?page_token=nonsense", None, 400),
        ("GET", api.url("drift") + "?limit=1001", None, 400),
        ("GET", api.url("snapshots", "20990101T000000Z-r1"), None, 404),
        ("GET", api.url("applies", "nope"), None, 404),
        ("PATCH", api.url("applies", "nope"), {"status": "complete"}, 404),
        ("POST", api.url("snapshots"), {"reason": 7}, 400),
        ("POST", api.url("snapshots"), {"apply_id": "nope"}, 404),
        ("POST", api.url("applies"), {"id": "a", "status": "complete"}, 400),
        ("POST", api.url("drift", "acknowledge"), {"items": [{"address": "nope"}]}, 400),
        ("POST", api.url("batch"), {"operations": [], "apply_id": 3}, 400),
    ]
    for method, path, body, status in cases:
        response = api.client.request(method, path, json=body)
        assert response.status_code == status, (method, path, response.text)
        assert response.json()["error"]


def test_history_is_in_the_openapi_document(api: Api) -> None:
    doc = api.anon.get("/openapi.json").json()
    for path in HISTORY_PATHS:
        assert path in doc["paths"], path
    assert {"get", "post"} <= set(doc["paths"]["/v1/stores/{store}/snapshots"])
    listed = doc["paths"]["/v1/stores/{store}/applies"]["get"]["responses"]["200"]
    assert listed["content"]["application/json"]["schema"]["$ref"].endswith("/ApplyList")
    record = doc["components"]["schemas"]["ApplyRecord"]
    assert record["properties"]["status"]["enum"] == [
        "running",
        "complete",
        "failed",
        "interrupted",
    ]
    drift = doc["components"]["schemas"]["DriftItem"]
    assert drift["properties"]["kind"]["enum"] == ["changed", "created", "deleted"]
    put = doc["paths"]["/v1/stores/{store}/skus/{id}"]["put"]
    assert "Storecfg-Apply-Id" in {p["name"] for p in put["parameters"]}
