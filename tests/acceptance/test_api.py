"""SPEC section 3 (the store API), against a real `storecfg serve` process."""

from __future__ import annotations

from support.server import Server


def test_the_apply_lock_is_taken_held_and_released_by_its_id(server: Server) -> None:
    url = "/v1/stores/lock-check/lock"
    with server.client("lock-check") as client:
        taken = client.post(url, json={"owner": {"user": "ci"}, "ttl_seconds": 60})
        assert taken.status_code == 201, taken.text
        lock = taken.json()
        assert lock["owner"] == {"user": "ci"} and lock["expires_at"]
        held = client.post(url, json={"owner": {"user": "other"}})
        assert held.status_code == 423
        assert held.json()["lock"]["lock_id"] == lock["lock_id"]

        # naming no lock releases nothing; naming another is 423
        assert client.delete(url).status_code == 400
        other = client.request("DELETE", url, json={"lock_id": "not-this-one"})
        assert other.status_code == 423
        assert client.get(url).json()["lock_id"] == lock["lock_id"]

        # the lock named in the body, as POST names it to renew
        released = client.request("DELETE", url, json={"lock_id": lock["lock_id"]})
        assert released.status_code == 204, released.text
        assert client.get(url).status_code == 404
        again = client.post(url)
        assert again.status_code == 201
        query = client.delete(url, params={"lock_id": again.json()["lock_id"]})
        assert query.status_code == 204


def test_the_store_revision_is_the_etag_and_moves_on_every_write(server: Server) -> None:
    with server.client("etag-check") as client:
        first = client.get("/v1/stores/etag-check")
        assert first.status_code == 200
        revision = first.json()["revision"]
        assert first.headers["etag"] == f'"{revision}"'
        spec = {"id": "x", "name": "X", "vendor": "V", "source": "custom"}
        made = client.put(
            "/v1/stores/etag-check/skus/x", json={"spec": spec}, headers={"If-None-Match": "*"}
        )
        assert made.status_code == 201
        assert made.headers["etag"] == f'"{made.json()["revision"]}"'
        after = client.get("/v1/stores/etag-check")
        assert after.json()["revision"] != revision
        assert after.headers["etag"] == f'"{after.json()["revision"]}"'
        assert client.delete("/v1/stores/etag-check/skus/x").status_code == 204
        assert client.get("/v1/stores/etag-check").json()["revision"] != after.json()["revision"]
