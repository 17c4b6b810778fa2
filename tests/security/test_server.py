"""Findings of a security review of the store engine and the reference server, each
pinned by a regression test, mostly against a real `storecfg serve` on loopback:

1. a replace is all or nothing, and a restore is checked before anything is written;
2. stalled clients cannot hold the server (header and body deadlines, a connection cap);
3. one integer range, signed 64 bits, refused beyond it by name;
4. the server and its OpenAPI document agree (405, If-Match, settings, body keys, batch
   puts, servers, lone surrogates);
5. store databases are created 0600;
6. releasing the lock takes its ID (or an explicit force);
7. a lock left by a killed apply on this host is released by the next apply.
"""

from __future__ import annotations

import json
import os
import pty
import re
import resource
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from store.samples import plan, sku
from storecfg.apply.execute import execute
from storecfg.apply.lock import host_id
from storecfg.errors import StoreError
from storecfg.store.http import HttpDriver
from storecfg.store.http_transport import RetryPolicy
from storecfg.store.storage import Storage
from storecfg.store.values import INT64_MAX, INT64_MIN
from support.server import Server, running_server, storecfg

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "stores" / "o365-reseller"
EXAMPLE_STORE = "contoso-cloud-us"
MAX_CONNECTIONS = 40
#: how long a test waits for something the server does within a second
PATIENCE = 30.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    limits = ["--max-connections", str(MAX_CONNECTIONS), "--header-timeout", "1"]
    with running_server(
        tmp_path_factory.mktemp("server"), extra_args=[*limits, "--body-timeout", "1"]
    ) as srv:
        yield srv
    assert "Traceback" not in srv.log()


def _url(store: str, *parts: str) -> str:
    return "/".join(["/v1/stores", store, *parts])


def _get_sku(client: httpx.Client, store: str, rid: str) -> httpx.Response:
    return client.get(_url(store, "skus", rid))


# ------------------------------------------------------------------ 1. replace is atomic


def _replace_batch(rid: str, spec: dict[str, Any], revision: int) -> list[dict[str, Any]]:
    return [
        {"op": "delete", "kind": "skus", "id": rid, "if_match": revision, "group": f"skus.{rid}"},
        {
            "op": "put",
            "kind": "skus",
            "id": rid,
            "spec": spec,
            "if_none_match": "*",
            "group": f"skus.{rid}",
        },
    ]


def test_a_replace_whose_create_is_refused_changes_nothing(server: Server) -> None:
    store = "atomic-replace"
    with server.client(store) as client:
        created = client.put(
            _url(store, "skus", "o365-e3"),
            json={"spec": sku("o365-e3")},
            headers={"If-None-Match": "*"},
        )
        assert created.status_code == 201
        revision = created.json()["revision"]
        refused = sku("o365-e3", vendor="Contoso", vendor_sku="")  # vendor_sku: minLength 1
        answer = client.post(
            _url(store, "batch"), json={"operations": _replace_batch("o365-e3", refused, revision)}
        )
        assert answer.status_code == 200
        deleted, create = answer.json()["results"]
        assert create["status"] == 422
        assert deleted["status"] == 424 and deleted["error"]["error"] == "rolled_back"
        assert "operations[1]" in deleted["error"]["message"]

        kept = _get_sku(client, store, "o365-e3")
        assert kept.status_code == 200  # the row is still there, untouched
        assert kept.json()["revision"] == revision
        assert kept.json()["spec"]["vendor"] == "Microsoft"
        assert client.get(_url(store)).json()["revision"] == revision

        # and a replace that holds does both
        good = sku("o365-e3", vendor="Contoso")
        answer = client.post(
            _url(store, "batch"), json={"operations": _replace_batch("o365-e3", good, revision)}
        )
        assert [r["status"] for r in answer.json()["results"]] == [204, 201]
        assert _get_sku(client, store, "o365-e3").json()["spec"]["vendor"] == "Contoso"


def test_the_writes_of_a_group_are_consecutive(server: Server) -> None:
    store = "atomic-groups"
    ops = [
        {"op": "put", "kind": "skus", "id": "a", "spec": sku("a"), "if_none_match": "*"},
        {"op": "put", "kind": "skus", "id": "b", "spec": sku("b"), "if_none_match": "*"},
    ]
    ops[0]["group"] = ops[1]["group"] = "g"
    split = [ops[0], {"op": "delete", "kind": "skus", "id": "c"}, ops[1]]
    with server.client(store) as client:
        answer = client.post(_url(store, "batch"), json={"operations": split})
        assert answer.status_code == 400
        assert "operations[2].group" in answer.json()["message"]
        assert client.get(_url(store)).json()["revision"] == 0  # nothing was written


def test_the_embedded_store_rolls_a_group_back_too(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "store.db")
    _, item = storage.put("s", "skus", "o365-e3", sku("o365-e3"), if_none_match="*")
    results = storage.batch("s", _replace_batch("o365-e3", {"name": "no vendor"}, item.revision))
    assert [r["status"] for r in results] == [424, 422]
    assert storage.get("s", "skus", "o365-e3").revision == item.revision
    storage.close()


def _replace_plan(url: str, rid: str, revision: int, after: dict[str, Any]) -> dict[str, Any]:
    return {
        "plan_id": f"replace-{rid}",
        "store": {"url": url},
        "settings": {"action": "no-op"},
        "changes": [
            {
                "address": f"skus.{rid}",
                "kind": "skus",
                "id": rid,
                "action": "replace",
                "revision": revision,
                "before": sku(rid),
                "after": after,
            }
        ],
    }


def test_apply_reports_a_refused_replace_as_nothing_changed(server: Server, tmp_path: Path) -> None:
    store = "atomic-apply"
    driver = HttpDriver(server.url, token=server.token(store))
    try:
        item = driver.put(
            store, "skus", "o365-e3", {"id": "o365-e3", **sku("o365-e3")}, create=True
        )
        live = driver.read_all(store)
        after = {"id": "o365-e3", **sku("o365-e3", vendor="Contoso", vendor_sku="")}
        outcome = execute(
            _replace_plan(driver.url, "o365-e3", item.revision, after),
            driver,
            live,
            state_dir=tmp_path,
        )
        [(address, action, message)] = outcome.failed
        assert (address, action) == ("skus.o365-e3", "replace")
        assert "Nothing changed: the delete of skus.o365-e3 was rolled back with it." in message
        assert "NOT re-created" not in message
        kept = driver.get(store, "skus", "o365-e3")
        assert kept is not None and kept.revision == item.revision
    finally:
        driver.close()


def test_a_delete_without_its_create_is_reported_loudly(tmp_path: Path) -> None:
    """A store that keeps the delete of a refused replace (one that knows no groups) is
    never reported as if nothing happened."""

    def old_store(request: httpx.Request) -> httpx.Response:
        if not request.url.path.endswith("/batch"):  # nor does it keep history
            return httpx.Response(405, json={"error": "method_not_allowed", "message": "no"})
        ops = json.loads(request.content)["operations"]
        assert [op.get("group") for op in ops] == ["skus.o365-e3", "skus.o365-e3"]
        error = {"error": "unprocessable", "message": "skus.o365-e3 is invalid"}
        return httpx.Response(
            200, json={"results": [{"status": 204}, {"status": 422, "error": error}]}
        )

    driver = HttpDriver(
        "http://store.test",
        token="t",
        transport=httpx.MockTransport(old_store),
        retry=RetryPolicy(attempts=1),
    )
    from storecfg.model import LiveState

    live = LiveState("s", 1, {}, 0)
    outcome = execute(
        _replace_plan(driver.url, "o365-e3", 1, {"id": "o365-e3", **sku("o365-e3")}),
        driver,
        live,
        state_dir=tmp_path,
    )
    [(_, _, message)] = outcome.failed
    assert message.startswith("skus.o365-e3 was deleted and NOT re-created: ")
    journal = next((tmp_path / "journal").rglob("*.jsonl")).read_text()
    assert '"event": "deleted"' in journal


def _write_backup(workdir: Path, store: str, doc: dict[str, Any]) -> str:
    import hashlib

    folder = workdir / ".storecfg" / "snapshots" / store
    folder.mkdir(parents=True)
    name = "20260101T000000Z-r1"
    data = (json.dumps(doc, indent=1) + "\n").encode()
    (folder / f"{name}.json").write_bytes(data)
    (folder / f"{name}.sha256").write_text(f"{hashlib.sha256(data).hexdigest()}  {name}.json\n")
    return name


def test_a_backup_the_store_would_refuse_is_not_restored_at_all(
    server: Server, tmp_path: Path
) -> None:
    store = "restore-refused"
    env = server.env(store)
    with server.client(store) as client:
        client.put(
            _url(store, "skus", "o365-e3"),
            json={"spec": sku("o365-e3")},
            headers={"If-None-Match": "*"},
        ).raise_for_status()
        revision = client.get(_url(store)).json()["revision"]
    settings = {"id": store, "name": store, "currency": "USD", "locales": ["en-US"]}
    refused = {"id": "o365-e3", **sku("o365-e3", vendor="Contoso", vendor_sku="")}
    huge = {"id": "e3-monthly", **plan("e3-monthly", sort_order=10**20)}
    backup = _write_backup(
        tmp_path,
        store,
        {
            "format_version": 1,
            "created_at": "2026-01-01T00:00:00Z",
            "store": {"id": store, "revision": 1, "url": server.url},
            "settings": settings,
            "settings_revision": 0,
            "resources": {
                "skus": {"o365-e3": {"spec": refused, "revision": 1}},
                "service_plans": {"e3-monthly": {"spec": huge, "revision": 1}},
            },
        },
    )
    result = storecfg("backup", "restore", backup, "--auto-approve", cwd=tmp_path, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"backup {backup} cannot be restored" in result.stderr
    assert "nothing was changed" in result.stderr
    assert "skus.o365-e3.vendor_sku" in result.stderr
    assert "service_plans.e3-monthly.sort_order: 100000000000000000000 is outside" in result.stderr
    assert "Traceback" not in result.stderr
    with server.client(store) as client:
        kept = _get_sku(client, store, "o365-e3")
        assert kept.status_code == 200 and kept.json()["spec"]["vendor"] == "Microsoft"
        assert client.get(_url(store)).json()["revision"] == revision  # nothing written
        assert client.get(_url(store, "lock")).status_code == 404  # and no lock left


# ------------------------------------------------------------------ 2. slow clients


def _open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _closed_by_server(sock: socket.socket, timeout: float) -> bool:
    """True when the server closed (or refused) the connection within `timeout`."""
    sock.settimeout(timeout)
    try:
        data = sock.recv(4096)
    except (ConnectionResetError, BrokenPipeError):
        return True
    except TimeoutError:
        return False
    return data == b"" or data.startswith(b"HTTP/1.1 503")


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts descriptors in /proc")
def test_stalled_connections_do_not_hold_the_server(server: Server) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1024:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(1024, hard), hard))
    host, port = server.url.removeprefix("http://").split(":")
    stalled: list[socket.socket] = []
    try:
        for _ in range(300):  # each sends half its headers, then nothing
            sock = socket.create_connection((host, int(port)), timeout=5)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            stalled.append(sock)
        # the server holds at most its limit of them (the rest are refused at once)
        assert _open_fds(server.process.pid) <= MAX_CONNECTIONS + 64

        deadline = time.monotonic() + PATIENCE
        while True:  # and answers again once the stalled ones are dropped
            try:
                if httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "healthz never answered"
            time.sleep(0.2)
        assert all(_closed_by_server(sock, PATIENCE) for sock in stalled)
    finally:
        for sock in stalled:
            sock.close()


def test_a_connection_over_the_limit_is_answered_503(tmp_path: Path) -> None:
    with running_server(tmp_path, extra_args=["--max-connections", "5"]) as roomy:
        host, port = roomy.url.removeprefix("http://").split(":")
        held = [socket.create_connection((host, int(port))) for _ in range(5)]
        try:
            for sock in held:
                sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # and stall (10 s allowed)
            with socket.create_connection((host, int(port)), timeout=PATIENCE) as extra:
                answer = _read_all(extra)  # sent nothing: answered and closed all the same
            head, _, body = answer.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
            assert b"retry-after: 1" in head
            assert json.loads(body)["error"] == "unavailable"
        finally:
            for sock in held:
                sock.close()
        assert "at the limit of 5 connections" in roomy.log()


def _raw(server: Server, data: bytes) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=PATIENCE)
    sock.sendall(data)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_stalled_body_is_408_and_the_connection_closed(server: Server) -> None:
    token = server.token("slow-body")
    head = (
        f"PUT /v1/stores/slow-body/skus/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        "If-None-Match: *\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    )
    sock = _raw(server, head.encode() + b'{"spec": ')
    with sock:
        answer = _read_all(sock)  # ends: the server closes the connection
    status, _, rest = answer.partition(b"\r\n")
    assert status == b"HTTP/1.1 408 Request Timeout"
    assert b"connection: close" in rest.lower()
    assert json.loads(rest.split(b"\r\n\r\n", 1)[1])["error"] == "timeout"
    assert token not in server.log()


def test_the_header_deadline_ends_with_the_headers(tmp_path: Path) -> None:
    """A body that takes longer than the header deadline (but not the body's) is read,
    also when the request names another client (X-Forwarded-For is not trusted)."""
    limits = ["--header-timeout", "1", "--body-timeout", "30"]
    with running_server(tmp_path, stores=["slow"], extra_args=limits) as srv:
        body = json.dumps({"spec": sku("late")}).encode()
        head = (
            f"PUT /v1/stores/slow/skus/late HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {srv.token('slow')}\r\nIf-None-Match: *\r\n"
            "X-Forwarded-For: 203.0.113.9\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        with _raw(srv, head.encode()) as sock:
            time.sleep(2)  # past the header deadline, well within the body's
            sock.sendall(body)
            answer = _read_all(sock)
        assert answer.startswith(b"HTTP/1.1 201 "), answer[:200]


def test_headers_past_the_limit_are_431(server: Server) -> None:
    header = b"X-Padding: " + b"a" * 70_000 + b"\r\n"
    sock = _raw(server, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + header)
    with sock:
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")


def test_requests_in_time_are_served_on_one_connection(server: Server) -> None:
    with httpx.Client(base_url=server.url) as client:  # keep-alive: the deadlines re-arm
        for _ in range(3):
            assert client.get("/healthz").status_code == 200


# ------------------------------------------------------------------ 3. one integer range


@pytest.mark.parametrize(
    ("value", "status"),
    [(INT64_MAX, 201), (INT64_MAX + 1, 400), (10**20, 400), (-(10**19), 400)],
)
def test_integers_past_64_bits_are_refused_by_name(server: Server, value: int, status: int) -> None:
    store = "int-range"
    rid = f"p{abs(value) % 1000}-{status}"
    body = {"spec": plan(rid, sort_order=value)}
    with server.client(store) as client:
        client.put(  # what the plan refers to (201, or 412 once there)
            _url(store, "skus", "o365-e1"), json={"spec": sku()}, headers={"If-None-Match": "*"}
        )
        answer = client.put(
            _url(store, "service_plans", rid), json=body, headers={"If-None-Match": "*"}
        )
        assert answer.status_code == status, answer.text
        if status == 400:
            message = answer.json()["message"]
            assert message.startswith(f"service_plans.{rid}.sort_order: ")
            assert "outside the integer range" in message
            assert client.get(_url(store, "service_plans", rid)).status_code == 404
            put = {"op": "put", "kind": "service_plans", "id": rid, "if_none_match": "*", **body}
            batch = client.post(_url(store, "batch"), json={"operations": [put]})
            [result] = batch.json()["results"]  # as the single PUT answers
            assert result["status"] == 400
            assert result["error"]["message"] == message
            assert client.get(_url(store, "service_plans", rid)).status_code == 404


def test_a_number_past_every_float_is_refused_by_name(server: Server) -> None:
    body = b'{"spec": {"name": "P", "sku": "s", "sort_order": 1e400}}'
    with server.client("int-range") as client:
        answer = client.put(
            _url("int-range", "service_plans", "inf"),
            content=body,
            headers={"If-None-Match": "*", "Content-Type": "application/json"},
        )
    assert answer.status_code == 400
    assert "field spec.sort_order: inf is not a finite number" in answer.json()["message"]


def test_a_lock_owner_holds_64_bit_integers_only(server: Server) -> None:
    with server.client("int-lock") as client:
        answer = client.post(_url("int-lock", "lock"), json={"owner": {"pid": 10**20}})
        assert answer.status_code == 400
        assert "field owner.pid" in answer.json()["message"]
        assert client.get(_url("int-lock", "lock")).status_code == 404


def test_the_embedded_store_refuses_them_too(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "store.db")
    for value in (INT64_MIN - 1, INT64_MAX + 1):
        with pytest.raises(StoreError) as err:
            storage.put("s", "service_plans", "p", plan("p", sort_order=value), if_none_match="*")
        assert err.value.status == 400
        assert err.value.message.startswith("service_plans.p.sort_order: ")
    assert storage.store_info("s").revision == 0
    storage.close()


def test_export_works_after_a_refused_big_integer(server: Server, tmp_path: Path) -> None:
    store = "int-export"
    with server.client(store) as client:
        client.put(
            _url(store, "skus", "o365-e1"), json={"spec": sku()}, headers={"If-None-Match": "*"}
        ).raise_for_status()
        refused = client.put(
            _url(store, "skus", "o365-e2"),
            json={"spec": {**sku("o365-e2"), "x": 123456789012345678901}},
            headers={"If-None-Match": "*"},
        )
        assert refused.status_code == 400
    exported = storecfg("export", "-o", "out", cwd=tmp_path, env=server.env(store))
    assert exported.returncode == 0, exported.stderr


def test_the_document_states_the_range(server: Server) -> None:
    doc = httpx.get(f"{server.url}/openapi.json").json()
    assert str(INT64_MAX) in doc["info"]["description"]
    assert str(INT64_MIN) in doc["info"]["description"]
    if_match = doc["components"]["schemas"]["WriteOperation"]["properties"]["if_match"]
    assert (if_match["minimum"], if_match["maximum"]) == (INT64_MIN, INT64_MAX)


# ------------------------------------------------------------------ 4. server and document agree


@pytest.fixture(scope="module")
def document(server: Server) -> dict[str, Any]:
    doc: dict[str, Any] = httpx.get(f"{server.url}/openapi.json").json()
    return doc


def test_get_of_the_batch_endpoint_is_405(server: Server) -> None:
    with server.client("agree") as client:
        for method in ("GET", "HEAD"):
            answer = client.request(method, _url("agree", "batch"))
            assert answer.status_code == 405
            assert answer.headers["allow"] == "POST"


def test_if_match_is_never_empty(server: Server, document: dict[str, Any]) -> None:
    params = [
        p
        for item in document["paths"].values()
        for op in item.values()
        if isinstance(op, dict)
        for p in op.get("parameters", [])
        if p["name"] == "If-Match"
    ]
    assert len(params) == 21  # settings, and update and delete of 10 kinds
    assert all(p["schema"]["minLength"] == 1 for p in params)
    with server.client("agree") as client:
        answer = client.put(
            _url("agree", "skus", "x"), json={"spec": sku("x")}, headers={"If-Match": ""}
        )
        assert answer.status_code == 400


def test_settings_need_if_match_as_documented(server: Server, document: dict[str, Any]) -> None:
    put = document["paths"]["/v1/stores/{store}/settings"]["put"]
    [if_match] = [p for p in put["parameters"] if p["name"] == "If-Match"]
    assert if_match["required"] is True
    assert "428" in put["responses"]
    with server.client("agree") as client:
        answer = client.put(_url("agree", "settings"), json={"spec": {"name": "Shop"}})
        assert answer.status_code == 428


def test_a_key_beside_spec_is_refused_by_name(server: Server, document: dict[str, Any]) -> None:
    with server.client("agree") as client:
        for path in (_url("agree", "skus", "extra"), _url("agree", "settings")):
            answer = client.put(
                path,
                json={"spec": sku("extra"), "spce": 1, "metadata": {}},
                headers={"If-None-Match": "*", "If-Match": "*"},
            )
            assert answer.status_code == 400
            message = answer.json()["message"]
            assert '"metadata", "spce"' in message and "name" not in message
    body = document["paths"]["/v1/stores/{store}/skus/{id}"]["put"]["requestBody"]
    assert body["content"]["application/json"]["schema"]["additionalProperties"] is False


def test_a_batch_put_needs_a_spec_as_documented(server: Server, document: dict[str, Any]) -> None:
    schema = document["components"]["schemas"]["WriteOperation"]
    bare_put = {"op": "put", "kind": "skus", "id": "x", "if_none_match": "*"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bare_put, schema)
    jsonschema.validate({"op": "delete", "kind": "skus", "id": "x"}, schema)
    with server.client("agree") as client:
        answer = client.post(_url("agree", "batch"), json={"operations": [bare_put]})
        assert answer.status_code == 400
        assert "operations[0].spec" in answer.json()["message"]


def test_the_document_names_the_server_it_came_from(server: Server) -> None:
    port = server.url.rsplit(":", 1)[1]
    text = httpx.get(f"{server.url}/openapi.json").text
    assert json.loads(text)["servers"] == [{"url": "/"}]  # relative: wherever it was fetched
    assert ":8700" not in text and f":{port}" not in text and "127.0.0.1" not in text


def test_a_lone_surrogate_is_400_not_500(server: Server, tmp_path: Path) -> None:
    body = b'{"spec": {"name": "\\ud800", "vendor": "Microsoft", "source": "custom"}}'
    with server.client("agree") as client:
        answer = client.put(
            _url("agree", "skus", "surrogate"),
            content=body,
            headers={"If-None-Match": "*", "Content-Type": "application/json"},
        )
        assert answer.status_code == 400, answer.text
        assert "field spec.name" in answer.json()["message"]
        pair = body.replace(b"\\ud800", b"\\ud83d\\ude00")  # a proper pair is fine
        answer = client.put(
            _url("agree", "skus", "surrogate"),
            content=pair,
            headers={"If-None-Match": "*", "Content-Type": "application/json"},
        )
        assert answer.status_code == 201, answer.text
    storage = Storage(tmp_path / "store.db")
    with pytest.raises(StoreError) as err:
        storage.put("s", "skus", "x", sku("x", name="\ud800"), if_none_match="*")
    assert err.value.status == 400 and err.value.message.startswith("skus.x.name: ")
    storage.close()
    assert "Traceback" not in server.log()


# ------------------------------------------------------------------ 5. private databases


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def _modes(folder: Path, name: str) -> dict[str, int]:
    return {p.name: p.stat().st_mode & 0o777 for p in folder.glob(f"{name}*")}


def test_server_databases_are_created_0600(tmp_path: Path, umask_022: None) -> None:
    assert (
        storecfg("token", "create", "--db", "store.db", "--store", "s", cwd=tmp_path).returncode
        == 0
    )
    (tmp_path / "srv").mkdir()
    with running_server(tmp_path / "srv", stores=["s"]) as srv:  # serve creates -wal, -shm
        with srv.client("s") as client:
            assert client.get("/v1/stores/s").status_code == 200
        modes = _modes(srv.db.parent, "server.db")
        assert {"server.db", "server.db-wal", "server.db-shm"} <= set(modes)
        assert set(modes.values()) == {0o600}, modes
    assert _modes(tmp_path, "store.db")["store.db"] == 0o600


def test_the_embedded_store_is_created_0600(tmp_path: Path, umask_022: None) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "store")
    assert "STORECFG_STORE" not in os.environ  # the default store: .storecfg/store.db here
    result = storecfg("apply", "store", "--auto-approve", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    modes = _modes(tmp_path / ".storecfg", "store.db")
    assert "store.db" in modes
    assert set(modes.values()) == {0o600}, modes


# ------------------------------------------------------------------ 6. releasing the lock


def test_releasing_the_lock_takes_its_id(server: Server, tmp_path: Path) -> None:
    store = "lock-release"
    with server.client(store) as client:
        lock = client.post(_url(store, "lock"), json={"owner": {"user": "alice"}}).json()
        anonymous = client.delete(_url(store, "lock"))
        assert anonymous.status_code == 400
        assert "lock_id" in anonymous.json()["message"]
        assert client.get(_url(store, "lock")).json()["lock_id"] == lock["lock_id"]
        assert client.delete(_url(store, "lock"), params={"force": "maybe"}).status_code == 400

        # the CLI's release passes the ID
        released = storecfg(
            "lock", "release", lock["lock_id"], "--store-id", store, env=server.env(store)
        )
        assert released.returncode == 0, released.stderr
        assert client.get(_url(store, "lock")).status_code == 404

        client.post(_url(store, "lock"), json={}).raise_for_status()
        forced = client.delete(_url(store, "lock"), params={"force": "true"})
        assert forced.status_code == 204
        assert client.get(_url(store, "lock")).status_code == 404


# ------------------------------------------------------------------ 7. a killed apply's lock


def _kill_at_the_prompt(workdir: Path, env: dict[str, str]) -> int:
    """Start `storecfg apply` on a terminal, wait until it asks (holding the lock), kill
    it with SIGKILL; returns its pid."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "storecfg", "apply", "store"],
        cwd=workdir,
        env={**os.environ, "NO_COLOR": "1", **env},
        stdin=follower,
        stdout=follower,
        stderr=follower,
        start_new_session=True,
    )
    os.close(follower)
    seen = b""
    deadline = time.monotonic() + 120
    try:
        while b"Enter a value:" not in seen:
            assert time.monotonic() < deadline and process.poll() is None, seen.decode()
            ready, _, _ = select.select([leader], [], [], 1.0)
            if ready:
                seen += os.read(leader, 65536)
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        os.close(leader)
    return process.pid


def test_a_killed_applys_lock_is_released_by_the_next_apply(server: Server, tmp_path: Path) -> None:
    shutil.copytree(EXAMPLE, tmp_path / "store")
    env = server.env(EXAMPLE_STORE)
    pid = _kill_at_the_prompt(tmp_path, env)
    with server.client(EXAMPLE_STORE) as client:
        held = client.get(_url(EXAMPLE_STORE, "lock")).json()
    assert held["owner"]["pid"] == pid and held["owner"]["host_id"] == host_id()

    result = storecfg("apply", "store", "--auto-approve", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"Released the apply lock {held['lock_id']} of an apply that is no")
    assert f"pid {pid}," in first
    assert re.search(r"Apply complete: [1-9]\d* created, 0 updated, 0 deleted", result.stdout)


def _small_store(workdir: Path, store: str) -> None:
    (workdir / "store").mkdir()
    (workdir / "store" / "store.yaml").write_text(
        f"apiVersion: storecfg/v1\nstore: {{id: {store}, name: Shop, currency: USD, "
        "locales: [en-US]}\ninclude: [catalog.yaml]\n"
    )
    (workdir / "store" / "catalog.yaml").write_text(
        "skus:\n  - {id: a, name: A, vendor: Contoso, source: custom}\n"
    )


def _lock_as(server: Server, store: str, owner: dict[str, Any]) -> str:
    with server.client(store) as client:
        answer = client.post(_url(store, "lock"), json={"owner": owner, "ttl_seconds": 600})
        assert answer.status_code == 201, answer.text
        return str(answer.json()["lock_id"])


def _owner(pid: int, **extra: Any) -> dict[str, Any]:
    return {
        "user": "ci",
        "host": socket.gethostname(),
        "host_id": host_id(),
        "pid": pid,
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        **extra,
    }


@pytest.mark.parametrize(
    "case", ["running here", "another host", "another pid namespace", "no host_id"]
)
def test_a_lock_of_a_running_or_unknown_process_is_waited_for(
    server: Server, tmp_path: Path, case: str
) -> None:
    store = f"lock-kept-{case.replace(' ', '-')}"
    owners = {
        "running here": _owner(os.getpid()),
        "another host": _owner(999_999, host="elsewhere"),
        "another pid namespace": _owner(999_999, host_id="0123456789abcdef"),
        "no host_id": {k: v for k, v in _owner(999_999).items() if k != "host_id"},
    }
    lock_id = _lock_as(server, store, owners[case])
    _small_store(tmp_path, store)
    result = storecfg("apply", "store", "--auto-approve", cwd=tmp_path, env=server.env(store))
    assert result.returncode == 1
    assert f"store {store} is locked" in result.stderr
    assert "Released" not in result.stderr
    with server.client(store) as client:
        assert client.get(_url(store, "lock")).json()["lock_id"] == lock_id
        client.delete(_url(store, "lock"), params={"lock_id": lock_id}).raise_for_status()


def test_a_reused_pid_does_not_keep_a_dead_applys_lock(server: Server, tmp_path: Path) -> None:
    store = "lock-reused-pid"
    # a process that runs now, but started after the lock was taken: not its owner
    newer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        an_hour_ago = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 3600))
        lock_id = _lock_as(server, store, _owner(newer.pid, started_at=an_hour_ago))
        _small_store(tmp_path, store)
        result = storecfg("apply", "store", "--auto-approve", cwd=tmp_path, env=server.env(store))
        assert result.returncode == 0, result.stderr
        assert f"Released the apply lock {lock_id}" in result.stderr
    finally:
        newer.kill()
        newer.wait()
