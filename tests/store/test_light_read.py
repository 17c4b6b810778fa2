"""A plan reads revisions and hashes of the whole store, and specs only of what differs."""

from __future__ import annotations

from pathlib import Path

import pytest

from storecfg.apply.workflow import read_for_plan
from storecfg.model import DesiredState
from storecfg.server.app import create_app
from storecfg.store.driver import StoreDriver
from storecfg.store.storage import Storage

from .asgi import asgi_client
from .conftest import STORE
from .samples import sku


def test_a_light_read_has_revisions_and_hashes_but_no_specs(driver: StoreDriver) -> None:
    for rid in ("a", "b"):
        driver.put(STORE, "skus", rid, sku(), create=True)
    full = driver.read_all(STORE)
    light = driver.read_all(STORE, specs=False)
    assert light.revision == full.revision
    assert {r: (x.revision, x.hash) for r, x in light.resources["skus"].items()} == {
        r: (x.revision, x.spec_digest()) for r, x in full.resources["skus"].items()
    }
    assert all(x.spec == {} for x in light.resources["skus"].values())
    driver.fill_specs(light, ["skus.b"])
    assert light.resources["skus"]["b"].spec == full.resources["skus"]["b"].spec
    assert light.resources["skus"]["a"].spec == {}


def test_read_for_plan_fetches_only_what_differs(driver: StoreDriver) -> None:
    specs = {}
    for rid in ("same", "edited", "gone"):
        specs[rid] = driver.put(STORE, "skus", rid, sku(), create=True).spec
    desired = DesiredState(
        driver.store_info(STORE).settings,
        {"skus": {"same": specs["same"], "edited": {**specs["edited"], "name": "New name"}}},
    )
    live = read_for_plan(driver, desired)
    fetched = {rid for rid, res in live.resources["skus"].items() if res.spec}
    assert fetched == {"edited", "gone"}


def test_the_meta_view_over_http(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "db")
    token = storage.create_token(STORE)
    storage.put(STORE, "skus", "a", sku(), if_none_match="*")
    with asgi_client(create_app(storage, access_log=False)) as client:
        auth = {"Authorization": f"Bearer {token}"}
        meta = client.get(f"/v1/stores/{STORE}/skus", params={"view": "meta"}, headers=auth)
        assert meta.status_code == 200
        [item] = meta.json()["items"]
        assert set(item) == {"id", "revision", "hash"}
        bad = client.get(f"/v1/stores/{STORE}/skus", params={"view": "all"}, headers=auth)
        assert bad.status_code == 400


def test_a_resource_deleted_while_the_store_is_read_is_a_conflict(driver: StoreDriver) -> None:
    from storecfg.errors import StoreError

    driver.put(STORE, "skus", "a", sku(), create=True)
    light = driver.read_all(STORE, specs=False)
    driver.delete(STORE, "skus", "a")
    with pytest.raises(StoreError) as info:
        driver.fill_specs(light, ["skus.a"])
    assert info.value.status == 409 and "deleted while the store was read" in info.value.message
