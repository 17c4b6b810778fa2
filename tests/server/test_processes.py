"""Several `storecfg serve` processes on one PostgreSQL database (SPEC section 10).

Two real server processes share a throwaway database, directly or through PgBouncer in
transaction mode; the CLI and raw HTTP talk to one or the other. What one process writes, the other serves; the apply lock, the
preconditions and the idempotency keys hold across them; concurrent read-modify-writes
through both lose no update.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.server import Server, running_server, storecfg

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "stores" / "o365-reseller"
EXAMPLE_STORE = "contoso-cloud-us"
STORE = "shop"


@pytest.fixture(params=["direct", "pgbouncer"])
def servers(
    request: pytest.FixtureRequest, tmp_path: Path, pg_url: str
) -> Iterator[tuple[Server, Server]]:
    """Two servers on one database: connected to PostgreSQL directly, or through
    PgBouncer in transaction mode (two server connections shared by both)."""
    db = pg_url
    if request.param == "pgbouncer":
        db = request.getfixturevalue("pgbouncer").url(pg_url.rsplit("/", 1)[1])
    with (
        running_server(tmp_path, db=db, name="a") as a,
        running_server(tmp_path, db=db, name="b") as b,
    ):
        b.tokens = a.tokens  # one database, so one set of tokens
        a.token(STORE)  # made now, not by racing threads
        yield a, b


def _sku(name: str) -> dict[str, object]:
    return {"spec": {"name": name, "vendor": "Contoso", "source": "custom"}}


def test_plans_through_one_server_see_applies_through_the_other(
    servers: tuple[Server, Server], tmp_path: Path
) -> None:
    a, b = servers
    work = tmp_path / "work"
    shutil.copytree(EXAMPLE, work / "store")

    applied = storecfg("apply", "store", "--auto-approve", cwd=work, env=a.env(EXAMPLE_STORE))
    assert applied.returncode == 0, applied.stderr + applied.stdout
    planned = storecfg("plan", "store", "--detailed-exitcode", cwd=work, env=b.env(EXAMPLE_STORE))
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "No changes" in planned.stdout

    store_yaml = work / "store" / "store.yaml"
    store_yaml.write_text(store_yaml.read_text().replace("Contoso Cloud Store", "Contoso Store"))
    changed = storecfg("plan", "store", "--detailed-exitcode", cwd=work, env=a.env(EXAMPLE_STORE))
    assert changed.returncode == 2, changed.stdout + changed.stderr
    applied = storecfg("apply", "store", "--auto-approve", cwd=work, env=b.env(EXAMPLE_STORE))
    assert applied.returncode == 0, applied.stderr + applied.stdout
    again = storecfg("plan", "store", "--detailed-exitcode", cwd=work, env=a.env(EXAMPLE_STORE))
    assert again.returncode == 0, again.stdout + again.stderr

    with a.client(EXAMPLE_STORE) as ca, b.client(EXAMPLE_STORE) as cb:
        seen = [c.get(f"/v1/stores/{EXAMPLE_STORE}").json() for c in (ca, cb)]
    assert seen[0] == seen[1]
    assert seen[0]["settings"]["name"] == "Contoso Store"


def test_the_apply_lock_is_exclusive_across_servers(servers: tuple[Server, Server]) -> None:
    a, b = servers
    url = f"/v1/stores/{STORE}/lock"
    with a.client(STORE) as ca, b.client(STORE) as cb:
        taken = ca.post(url, json={"owner": {"user": "alice"}, "ttl_seconds": 60})
        assert taken.status_code == 201, taken.text
        lock_id = taken.json()["lock_id"]

        refused = cb.post(url, json={"owner": {"user": "bob"}, "ttl_seconds": 60})
        assert refused.status_code == 423, refused.text
        assert refused.json()["lock"]["lock_id"] == lock_id
        assert cb.get(url).json()["owner"] == {"user": "alice"}

        renewed = cb.post(url, json={"lock_id": lock_id, "ttl_seconds": 60})
        assert renewed.status_code == 200, renewed.text  # the holder may renew through any server
        assert cb.delete(url, params={"lock_id": "not-the-lock"}).status_code == 423
        assert cb.delete(url, params={"lock_id": lock_id}).status_code == 204

        retaken = ca.post(url, json={"owner": {"user": "bob"}, "ttl_seconds": 60})
        assert retaken.status_code == 201, retaken.text
        assert retaken.json()["lock_id"] != lock_id


def test_only_one_of_many_concurrent_lock_requests_wins(servers: tuple[Server, Server]) -> None:
    a, b = servers
    url = f"/v1/stores/{STORE}/lock"
    statuses: list[int] = []
    barrier = threading.Barrier(8)

    def take(server: Server, n: int) -> None:
        with server.client(STORE) as client:
            barrier.wait()
            r = client.post(url, json={"owner": {"user": f"runner-{n}"}, "ttl_seconds": 60})
            statuses.append(r.status_code)

    threads = [threading.Thread(target=take, args=((a, b)[n % 2], n)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(statuses) == [201] + [423] * 7


def test_an_idempotency_key_replayed_through_the_other_server_returns_the_first_result(
    servers: tuple[Server, Server],
) -> None:
    a, b = servers
    url = f"/v1/stores/{STORE}/skus/o365"
    headers = {"If-None-Match": "*", "Idempotency-Key": "apply-1/skus.o365"}
    with a.client(STORE) as ca, b.client(STORE) as cb:
        first = ca.put(url, json=_sku("Office"), headers=headers)
        assert first.status_code == 201, first.text
        replay = cb.put(url, json=_sku("Office"), headers=headers)
        assert (replay.status_code, replay.json()) == (201, first.json())
        assert replay.headers["etag"] == first.headers["etag"]
        assert cb.get(f"/v1/stores/{STORE}").json()["revision"] == 1  # written once

        other = cb.put(url, json=_sku("Something else"), headers=headers)
        assert other.status_code == 422, other.text
        assert ca.get(url).json()["spec"]["name"] == "Office"


def test_concurrent_idempotent_retries_through_both_servers_write_once(
    servers: tuple[Server, Server],
) -> None:
    """The same request with the same key, sent at once through both servers (a client
    retrying after a timeout): both answer the first result, the store moves once."""
    a, b = servers
    answers: list[tuple[int, Any]] = []
    barrier = threading.Barrier(10)

    def send(server: Server) -> None:
        with server.client(STORE) as client:
            barrier.wait()
            r = client.put(
                f"/v1/stores/{STORE}/skus/once",
                json=_sku("Once"),
                headers={"If-None-Match": "*", "Idempotency-Key": "k-once"},
            )
            answers.append((r.status_code, r.json()))

    threads = [threading.Thread(target=send, args=((a, b)[n % 2],)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(answers) == 10
    assert {status for status, _ in answers} == {201}
    assert all(body == answers[0][1] for _, body in answers)
    with a.client(STORE) as client:
        assert client.get(f"/v1/stores/{STORE}").json()["revision"] == 1


def test_concurrent_read_modify_writes_through_both_servers_lose_no_update(
    servers: tuple[Server, Server],
) -> None:
    """40 clients, half on each server, each add one to a counter kept in a resource:
    read it, write it back with If-Match, and on 412 read again. All 40 increments land."""
    a, b = servers
    url = f"/v1/stores/{STORE}/skus/counter"
    with a.client(STORE) as client:
        created = client.put(url, json=_sku("count 0"), headers={"If-None-Match": "*"})
        assert created.status_code == 201, created.text
    conflicts: list[int] = []
    errors: list[str] = []
    barrier = threading.Barrier(40)

    def increment(server: Server) -> None:
        with httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {server.token(STORE)}"},
            timeout=60,
        ) as client:
            barrier.wait()
            for _ in range(200):
                current = client.get(url)
                if current.status_code != 200:
                    errors.append(current.text)
                    return
                count = int(current.json()["spec"]["name"].split()[1])
                written = client.put(
                    url,
                    json=_sku(f"count {count + 1}"),
                    headers={"If-Match": current.headers["etag"]},
                )
                if written.status_code == 200:
                    return
                if written.status_code != 412:
                    errors.append(written.text)
                    return
                conflicts.append(1)
            errors.append("gave up after 200 conflicts")

    threads = [threading.Thread(target=increment, args=((a, b)[n % 2],)) for n in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    with b.client(STORE) as client:
        final = client.get(url).json()
        store = client.get(f"/v1/stores/{STORE}").json()
    assert final["spec"]["name"] == "count 40"
    assert final["revision"] == store["revision"] == 41  # the create and 40 updates
    assert conflicts, "the clients never raced: the test proved nothing"


def test_a_server_on_a_read_only_replica_serves_plans_and_refuses_writes(
    tmp_path: Path, pg_cluster: Any, pg_url: str
) -> None:
    """The deployment sketch's replica: reads (a pull request's plan) may go to a server
    on a hot standby; writes, locks and tokens are refused there, plainly."""
    from support.postgres import Unavailable

    try:
        replica = pg_cluster.start_replica()
    except Unavailable as exc:
        pytest.fail(f"could not start a replica: {exc}")
    try:
        work = tmp_path / "work"
        shutil.copytree(EXAMPLE, work / "store")
        replica_url = replica.url(pg_url.rsplit("/", 1)[1])
        with running_server(tmp_path, db=pg_url, name="primary") as primary:
            env = primary.env(EXAMPLE_STORE)
            applied = storecfg("apply", "store", "--auto-approve", cwd=work, env=env)
            assert applied.returncode == 0, applied.stderr + applied.stdout
            with primary.client(EXAMPLE_STORE) as client:
                revision = client.get(f"/v1/stores/{EXAMPLE_STORE}").json()["revision"]
            with running_server(tmp_path, db=replica_url, name="replica") as on_replica:
                on_replica.tokens = primary.tokens
                with on_replica.client(EXAMPLE_STORE) as client:
                    deadline = time.monotonic() + 30  # replication is asynchronous
                    while time.monotonic() < deadline:
                        seen = client.get(f"/v1/stores/{EXAMPLE_STORE}")
                        if seen.status_code == 200 and seen.json()["revision"] == revision:
                            break
                        time.sleep(0.1)
                    assert seen.json()["revision"] == revision
                    refused = client.put(
                        f"/v1/stores/{EXAMPLE_STORE}/skus/new",
                        json=_sku("New"),
                        headers={"If-None-Match": "*"},
                    )
                    assert refused.status_code == 503, refused.text
                    assert "read-only replica" in refused.json()["message"]
                    locked = client.post(f"/v1/stores/{EXAMPLE_STORE}/lock", json={})
                    assert locked.status_code == 503, locked.text
                planned = storecfg(
                    "plan",
                    "store",
                    "--detailed-exitcode",
                    cwd=work,
                    env=on_replica.env(EXAMPLE_STORE),
                )
                assert planned.returncode == 0, planned.stdout + planned.stderr
                assert "No changes" in planned.stdout
    finally:
        replica.stop()
