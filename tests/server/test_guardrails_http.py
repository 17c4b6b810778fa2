"""The real `storecfg serve` on loopback: read-only and revoked tokens, token listing,
and the 409 of a write that would leave a reference dangling."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from store.samples import plan, sku
from support.server import Server, running_server, storecfg

STORE = "guarded"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("server")) as srv:
        yield srv


def _token(server: Server, *args: str) -> str:
    result = storecfg("token", "create", "--db", str(server.db), "--store", STORE, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_dangling_references_are_409_naming_both_ends(server: Server) -> None:
    with server.client(STORE) as client:
        base = f"/v1/stores/{STORE}"
        assert (
            client.put(
                f"{base}/skus/o365-e1", json={"spec": sku()}, headers={"If-None-Match": "*"}
            ).status_code
            == 201
        )
        revision = client.get(base).json()["revision"]
        missing = client.put(
            f"{base}/service_plans/p",
            json={"spec": plan("p", upgrades_to=["nowhere"])},
            headers={"If-None-Match": "*"},
        )
        assert missing.status_code == 409
        body = missing.json()
        assert body["error"] == "dangling_reference"
        assert body["referring"] == ["service_plans.p"]
        assert body["missing"] == ["service_plans.nowhere"]
        assert body["references"] == [
            {
                "referring": "service_plans.p",
                "field": "upgrades_to[0]",
                "missing": "service_plans.nowhere",
            }
        ]
        assert client.get(base).json()["revision"] == revision  # nothing written

        created = client.put(
            f"{base}/service_plans/p",
            json={"spec": plan("p"), "source": "catalog/plans.yaml"},
            headers={"If-None-Match": "*"},
        )
        assert created.status_code == 201
        assert created.json()["source"] == "catalog/plans.yaml"
        listed = client.get(f"{base}/service_plans", params={"view": "meta"}).json()
        assert listed["items"][0]["source"] == "catalog/plans.yaml"

        revision = client.get(base).json()["revision"]
        refused = client.delete(f"{base}/skus/o365-e1")
        assert refused.status_code == 409
        assert refused.json()["referring"] == ["service_plans.p"]
        assert refused.json()["missing"] == ["skus.o365-e1"]
        batch = client.post(
            f"{base}/batch",
            json={"operations": [{"op": "delete", "kind": "skus", "id": "o365-e1"}]},
        )
        assert batch.status_code == 200
        assert batch.json()["results"][0]["status"] == 409
        assert batch.json()["results"][0]["error"]["missing"] == ["skus.o365-e1"]
        assert client.get(base).json()["revision"] == revision


def test_a_read_only_token_reads_and_nothing_else(server: Server) -> None:
    writer = server.client(STORE)
    writer.put(
        f"/v1/stores/{STORE}/terms/tos",
        json={"spec": {"title": "T", "version": "1", "url": "https://example.com/t"}},
        headers={"If-None-Match": "*"},
    )
    token = _token(server, "--read-only", "--name", "pr-plans")
    base = f"/v1/stores/{STORE}"
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as reader:
        revision = reader.get(base).json()["revision"]
        assert reader.get(f"{base}/terms").status_code == 200
        assert reader.get(f"{base}/terms/tos").status_code == 200
        assert reader.get(f"{base}/lock").status_code == 404  # free: reading it is fine
        spec = {"spec": {"title": "T", "version": "2", "url": "https://example.com/t"}}
        refused = [
            reader.put(f"{base}/terms/tos", json=spec, headers={"If-Match": "*"}),
            reader.put(f"{base}/terms/new", json=spec, headers={"If-None-Match": "*"}),
            reader.delete(f"{base}/terms/tos"),
            reader.post(
                f"{base}/batch",
                json={"operations": [{"op": "delete", "kind": "terms", "id": "tos"}]},
            ),
            reader.post(f"{base}/lock", json={"owner": {"user": "x"}}),
            reader.delete(f"{base}/lock"),
            reader.put(
                f"{base}/settings",
                json={"spec": {"name": "X", "currency": "USD"}},
                headers={"If-Match": "*"},
            ),
        ]
        for response in refused:
            assert response.status_code == 403, (response.request.method, response.request.url)
            assert response.json()["read_only"] is True
        assert reader.get(base).json()["revision"] == revision
        assert reader.get(f"{base}/lock").status_code == 404
    writer.close()

    listed = storecfg("token", "list", "--db", str(server.db), "--store", STORE, "--json")
    assert listed.returncode == 0, listed.stderr
    rows = {r["name"]: r for r in json.loads(listed.stdout)}
    assert rows["pr-plans"]["read_only"] is True
    assert rows["pr-plans"]["last_used_at"] is not None
    assert token not in listed.stdout and token[4:] not in listed.stdout

    table = storecfg("token", "list", "--db", str(server.db), "--store", STORE)
    assert table.returncode == 0, table.stderr
    header, *lines = table.stdout.splitlines()
    assert header.split() == ["ID", "STORE", "NAME", "READ-ONLY", "CREATED", "LAST", "USED"]
    row = next(line for line in lines if "pr-plans" in line)
    assert rows["pr-plans"]["id"] in row and " yes " in row
    assert token not in table.stdout


def test_a_revoked_token_is_401_from_then_on(server: Server) -> None:
    token = _token(server, "--name", "leaked")
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{server.url}/v1/stores/{STORE}", headers=headers).status_code == 200
    listed = json.loads(storecfg("token", "list", "--db", str(server.db), "--json").stdout)
    token_id = next(r["id"] for r in listed if r["name"] == "leaked")
    revoked = storecfg("token", "revoke", "--db", str(server.db), token_id)
    assert revoked.returncode == 0, revoked.stderr
    assert token_id in revoked.stdout and token not in revoked.stdout
    assert httpx.get(f"{server.url}/v1/stores/{STORE}", headers=headers).status_code == 401
    again = storecfg("token", "revoke", "--db", str(server.db), token_id)
    assert again.returncode == 1
    assert f"no token '{token_id}'" in again.stderr and "Traceback" not in again.stderr
    missing = storecfg("token", "list", "--db", str(server.db) + ".nope")
    assert missing.returncode == 1 and "no such database" in missing.stderr
    assert not Path(str(server.db) + ".nope").exists()
