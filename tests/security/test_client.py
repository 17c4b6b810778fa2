"""The client side against hostile input: plan files, snapshots and cache entries that
were edited, and store servers that lie, flood, stall or loop.

Most tests run the real CLI (`python -m storecfg`) against a real `storecfg serve`
on loopback, or against a misbehaving HTTP server (tests/support/hostile.py) that
records every request it gets, so a test can show that the token never went there.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from apply.stores import BASE, STORE_YAML, edit, write_store
from storecfg.apply.planfile import legacy_checksum, plan_checksum, seal
from storecfg.compiler.cache_key import entry_mac
from storecfg.errors import StoreError
from storecfg.escape import escape
from storecfg.server.app import create_app
from storecfg.store.driver import MAX_PAGES, open_store, plaintext_to_remote, same_store_url
from storecfg.store.http import HttpDriver
from storecfg.store.http_transport import RetryPolicy
from storecfg.store.storage import Storage
from support.faults import FaultyTransport
from support.hostile import Exchange, hostile_server
from support.inprocess import LoopASGITransport
from support.server import Server, running_server, storecfg

_ids = itertools.count(1)
#: characters that must never reach a terminal or a pull-request comment raw
UNSAFE = ["\x1b", "\x07", "\x9b", "\u202e", "\u2028", "\u2029"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("server")) as srv:
        yield srv


def new_store(tmp_path: Path, prefix: str = "sec") -> str:
    """A fresh store ID and its definition in tmp_path/s (the BASE store)."""
    store_id = f"{prefix}-{next(_ids)}-{os.getpid()}"
    files = dict(BASE)
    files["store.yaml"] = STORE_YAML.replace("id: test-store", f"id: {store_id}")
    write_store(tmp_path / "s", files)
    return store_id


def run(cwd: Path, env: dict[str, str], *args: str) -> Any:
    """The real CLI, with no store configured unless `env` says so."""
    return storecfg(*args, cwd=cwd, env={"STORECFG_STORE": "", "STORECFG_TOKEN": "", **env})


def no_unsafe(text: str) -> bool:
    return not any(ch in text for ch in UNSAFE)


def recording(ex: Exchange) -> None:
    """A server that only records: every request is answered 404."""
    ex.json(404, {"error": "not_found", "message": "nothing here"})


# ------------------------------------------------------------ the token goes where the user says


def test_a_plan_file_naming_another_url_is_refused_and_nothing_is_sent_there(
    tmp_path: Path, server: Server
) -> None:
    store_id = new_store(tmp_path)
    env = server.env(store_id)
    token = env["STORECFG_TOKEN"]
    made = run(tmp_path, env, "plan", "s", "-o", "plan.json")
    assert made.returncode == 0, made.stderr
    honest = (tmp_path / "plan.json").read_text()

    with hostile_server(recording) as evil:
        doc = json.loads(honest)
        doc["store"]["url"] = evil.url
        seal(doc)  # the checksum is a plain SHA-256: whoever edits a plan can redo it
        (tmp_path / "plan.json").write_text(json.dumps(doc))
        # the store from the environment, or none at all (the embedded store): both refused
        for where in (env, {"STORECFG_TOKEN": token}):
            refused = run(tmp_path, where, "apply", "plan.json")
            assert refused.returncode == 1
            assert evil.url in refused.stderr
            configured = server.url if "STORECFG_STORE" in where else "sqlite:///"
            assert configured in refused.stderr
            assert "--store" in refused.stderr
            assert token not in refused.stdout + refused.stderr
            assert "Traceback" not in refused.stderr
        assert evil.requests == []

    # the plan's own store, named explicitly, is where it applies
    (tmp_path / "plan.json").write_text(honest)
    applied = run(tmp_path, {"STORECFG_TOKEN": token}, "apply", "plan.json", "--store", server.url)
    assert applied.returncode == 0, applied.stderr
    assert "Apply complete" in applied.stdout


def _snapshot_url(path: Path, url: str) -> None:
    """Point a snapshot at `url` and make its sha256 file match again."""
    doc = json.loads(path.read_text())
    doc["store"]["url"] = url
    data = (json.dumps(doc, ensure_ascii=False, sort_keys=True, indent=1) + "\n").encode()
    path.write_bytes(data)
    path.with_suffix(".sha256").write_text(f"{hashlib.sha256(data).hexdigest()}  {path.name}\n")


def test_backup_restore_and_diff_never_follow_the_snapshot_url(
    tmp_path: Path, server: Server
) -> None:
    store_id = new_store(tmp_path)
    env = server.env(store_id)
    token = env["STORECFG_TOKEN"]
    assert run(tmp_path, env, "apply", "s", "--auto-approve").returncode == 0
    edit(tmp_path / "s", "catalog.yaml", '"20.00"', '"25.00"')
    second = run(tmp_path, env, "apply", "s", "--auto-approve")
    assert second.returncode == 0, second.stderr
    # a snapshot file as the first release wrote it (snapshots are kept in the store now;
    # files are still read), of the store before the price change
    driver = open_store(server.url, token=token)
    try:
        newest = driver.list_snapshots(store_id, limit=1)[0][0]
        doc = driver.get_snapshot(store_id, newest.id)
    finally:
        driver.close()
    assert doc is not None
    backup_id = f"20250101T000000Z-r{doc['store']['revision']}"
    folder = tmp_path / ".storecfg" / "snapshots" / store_id
    folder.mkdir(parents=True, exist_ok=True)  # the applies left their copies
    snapshot = folder / f"{backup_id}.json"
    legacy = {key: doc[key] for key in ("format_version", "created_at", "settings", "resources")}
    legacy["settings_revision"] = doc["settings_revision"]
    legacy["store"] = {**doc["store"], "url": server.url}
    snapshot.write_text(json.dumps(legacy))

    with hostile_server(recording) as evil:
        _snapshot_url(snapshot, evil.url)
        for args in (
            ("backup", "restore", backup_id, "--auto-approve"),
            ("backup", "diff", backup_id),
        ):
            for where in (env, {"STORECFG_TOKEN": token}):
                refused = run(tmp_path, where, *args)
                assert refused.returncode == 1, refused.stdout
                assert evil.url in refused.stderr
                assert token not in refused.stdout + refused.stderr
        assert evil.requests == []

    # named explicitly, the store is restored (the snapshot's URL is only a record)
    restored = run(
        tmp_path, env, "backup", "restore", backup_id, "--auto-approve", "--store", server.url
    )
    assert restored.returncode == 0, restored.stderr
    driver = open_store(server.url, token=token)
    try:
        basic = driver.get(store_id, "service_plans", "basic")
    finally:
        driver.close()
    assert basic is not None and basic.spec["price"]["recurring"] == "20.00"


# ------------------------------------------------------------ the compile cache


def _plan_price(stdout: str) -> str:
    plan = json.loads(stdout)
    change = next(c for c in plan["changes"] if c["address"] == "service_plans.basic")
    return str(change["after"]["price"]["recurring"])


def test_an_edited_or_foreign_cache_entry_is_ignored(tmp_path: Path) -> None:
    new_store(tmp_path)
    mine, theirs = tmp_path / "home-cache", tmp_path / "other-machine-cache"
    env = {"XDG_CACHE_HOME": str(mine)}
    first = run(tmp_path, env, "plan", "s", "--format", "json")
    assert first.returncode == 0, first.stderr
    assert _plan_price(first.stdout) == "20.00"
    [entry] = (tmp_path / ".storecfg" / "cache").glob("*.json")

    # the key lives outside the project, private to the user
    key_file = mine / "storecfg" / "cache.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert not list((tmp_path / ".storecfg").rglob("*.key"))

    original = entry.read_bytes()
    assert original.count(b'"20.00"') >= 1
    mac_line, _, body = original.partition(b"\n")
    forged_body = body.replace(b'"20.00"', b'"0.01"')

    def steered(entry_bytes: bytes) -> str:
        entry.write_bytes(entry_bytes)
        result = run(tmp_path, env, "plan", "s", "--format", "json")
        assert result.returncode == 0, result.stderr
        return _plan_price(result.stdout)

    # an edit that keeps the old MAC: ignored, and the entry is written again
    assert steered(mac_line + b"\n" + forged_body) == "20.00"
    assert b'"0.01"' not in entry.read_bytes()

    # an entry vouched for by another key (another user, machine or CI job): ignored
    assert run(tmp_path, {"XDG_CACHE_HOME": str(theirs)}, "plan", "s").returncode == 0
    their_key = (theirs / "storecfg" / "cache.key").read_bytes()
    foreign = f"hmac-sha256:{entry_mac(their_key, entry.name, forged_body)}\n".encode()
    assert steered(foreign + forged_body) == "20.00"

    # control: the same edit under the user's own key would be believed, so the key,
    # kept out of the project, is what protects the cache
    own_key = key_file.read_bytes()
    own = f"hmac-sha256:{entry_mac(own_key, entry.name, forged_body)}\n".encode()
    assert steered(own + forged_body) == "0.01"


# ------------------------------------------------------------ the server's identity


def _lying_store(store_id: str) -> Callable[[Exchange], None]:
    """Answers every question about `store_id` with another store's content."""

    def respond(ex: Exchange) -> None:
        base = f"/v1/stores/{store_id}"
        path = ex.path.split("?")[0]
        if path == base:
            ex.json(
                200,
                {
                    "id": "someone-else",
                    "revision": 9,
                    "settings": {"id": "someone-else", "name": "Other", "currency": "EUR"},
                    "settings_revision": 2,
                },
            )
        elif path == base + "/lock" and ex.method == "POST":
            owner = json.loads(ex.seen.body or b"{}").get("owner", {})
            ex.json(
                201,
                {
                    "lock_id": "lock-1",
                    "owner": owner,
                    "acquired_at": "2026-01-01T00:00:00Z",
                    "expires_at": "2099-01-01T00:00:00Z",
                },
            )
        elif path == base + "/lock" and ex.method == "DELETE":
            ex.json(204, {})
        elif ex.method == "GET" and path == base + "/skus":
            item = {"id": "theirs", "revision": 1, "hash": "0" * 64}
            item["spec"] = {"id": "theirs", "name": "Theirs", "vendor": "V", "source": "custom"}
            ex.json(200, {"items": [item], "next_page_token": None})
        elif ex.method == "GET":
            ex.json(200, {"items": [], "next_page_token": None})
        else:
            ex.json(500, {"error": "error", "message": "this test never answers writes"})

    return respond


def test_a_server_answering_for_another_store_is_refused(tmp_path: Path) -> None:
    store_id = new_store(tmp_path)
    with hostile_server(_lying_store(store_id)) as evil:
        env = {"STORECFG_STORE": evil.url, "STORECFG_TOKEN": "sct_not-a-real-token"}
        planned = run(tmp_path, env, "plan", "s")
        assert planned.returncode == 1
        assert "someone-else" in planned.stderr and store_id in planned.stderr
        assert "delete" not in planned.stdout.lower() and "EUR" not in planned.stdout
        applied = run(tmp_path, env, "apply", "s", "--auto-approve")
        assert applied.returncode == 1
        assert "someone-else" in applied.stderr
        writes = [
            r
            for r in evil.requests
            if r.method != "GET" and not r.path.split("?")[0].endswith("/lock")
        ]
        assert writes == []


def test_an_answer_about_another_resource_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        spec = {"id": "other", "name": "Other", "vendor": "V", "source": "custom"}
        return httpx.Response(200, json={"id": "other", "spec": spec, "revision": 3})

    driver = _mock_driver(handler)
    with pytest.raises(StoreError) as err:
        driver.get("shop", "skus", "mine")
    assert "'other'" in err.value.message and err.value.status == 502


# ------------------------------------------------------------ limits on what a server sends


def _mock_driver(handler: Callable[[httpx.Request], httpx.Response], **kw: Any) -> HttpDriver:
    client = httpx.Client(transport=httpx.MockTransport(handler), base_url="http://store.test/v1/")
    return HttpDriver(
        "http://store.test",
        token="sct_token",
        client=client,
        retry=RetryPolicy(attempts=3, sleep=lambda _s: None),
        **kw,
    )


def test_a_huge_answer_is_cut_off_at_the_limit(tmp_path: Path) -> None:
    store_id = new_store(tmp_path)
    mib = b" " * (1024 * 1024)

    def flood(ex: Exchange) -> None:
        ex.raw(b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n")
        for _ in range(1536):  # 1.5 GiB, if nobody stops reading
            if ex.stopped.is_set():
                return
            ex.raw(mib)
            ex.server.sent += len(mib)

    with hostile_server(flood) as evil:
        env = {"STORECFG_STORE": evil.url, "STORECFG_TOKEN": "sct_token"}
        result = run(tmp_path, env, "plan", "s")
        assert result.returncode == 1
        assert "64 MiB" in result.stderr
        assert len(evil.requests) == 1  # not asked again
        assert evil.sent < 256 * 1024 * 1024  # the client stopped reading, far before the end
    assert store_id in evil.requests[0].path


def test_a_declared_oversized_answer_is_refused_before_reading_it() -> None:
    read: list[int] = []

    def chunks() -> Iterator[bytes]:
        read.append(1)
        yield b"{}"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Length": str(10**12)}, content=chunks())

    with pytest.raises(StoreError, match="64 MiB"):
        _mock_driver(handler).store_info("shop")
    assert read == []


def _dripping(part: str) -> Callable[[Exchange], None]:
    """A server that sends a byte every 0.1 s, in the headers or in the body, and only
    stops after 4 s: well past the deadline the client is given, never long enough for
    httpx's per-read timeout to end it."""

    def respond(ex: Exchange) -> None:
        head = b"HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n"
        if part == "body":
            ex.raw(head + b"\r\n" + b'{"id": "shop", "revision": 1, "pad": "')
        else:
            ex.raw(head)
        end = time.monotonic() + 4
        while time.monotonic() < end and not ex.stopped.is_set():
            ex.raw(b"x")  # in the headers: a header line that never ends
            time.sleep(0.1)

    return respond


@pytest.mark.parametrize("part", ["headers", "body"])
def test_a_dripping_server_is_given_up_on_at_the_deadline(part: str) -> None:
    with hostile_server(_dripping(part)) as evil:
        driver = HttpDriver(
            evil.url, token="sct_token", timeout=1.0, retry=RetryPolicy(sleep=lambda _s: None)
        )
        try:
            with pytest.raises(StoreError) as err:
                driver.store_info("shop")
        finally:
            driver.close()
        assert err.value.status == 504
        assert "within 1 s" in err.value.message
        assert len(evil.requests) == 1  # a deadline is not retried


def _listing(next_token: Callable[[str | None], str | None]) -> Callable[[Exchange], None]:
    def respond(ex: Exchange) -> None:
        path, _, query = ex.path.partition("?")
        if path.count("/") == 3:  # /v1/stores/ID
            ex.json(200, {"id": path.rsplit("/", 1)[1], "revision": 1})
            return
        token = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("page_token")
        ex.json(200, {"items": [], "next_page_token": next_token(token)})

    return respond


def test_a_listing_that_repeats_its_page_token_is_refused(tmp_path: Path) -> None:
    new_store(tmp_path)
    with hostile_server(_listing(lambda _token: "again")) as evil:
        result = run(tmp_path, {"STORECFG_STORE": evil.url, "STORECFG_TOKEN": "sct_t"}, "plan", "s")
        assert result.returncode == 1
        assert "next_page_token" in result.stderr
        assert len(evil.paths("GET")) <= 3


def test_a_listing_that_never_ends_stops_at_the_page_limit() -> None:
    count = itertools.count()
    requests: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request.url.path)
        if request.url.path == "/v1/stores/shop":
            return httpx.Response(200, json={"id": "shop", "revision": 1})
        return httpx.Response(200, json={"items": [], "next_page_token": f"t{next(count)}"})

    with pytest.raises(StoreError, match="pages"):
        _mock_driver(handler).read_all("shop")
    assert len(requests) == 1 + MAX_PAGES


def test_a_listing_that_repeats_a_resource_is_refused() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/stores/shop":
            return httpx.Response(200, json={"id": "shop", "revision": 1})
        token = request.url.params.get("page_token")
        item = {"id": "a", "revision": 1, "hash": "h", "spec": {}}
        return httpx.Response(200, json={"items": [item], "next_page_token": f"{token}x"})

    with pytest.raises(StoreError, match="twice"):
        _mock_driver(handler).read_all("shop")


# ------------------------------------------------------------ smaller findings


def _write_snapshot_file(folder: Path, data: bytes) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    name = "20260101T000000Z-r1"
    (folder / f"{name}.json").write_bytes(data)
    (folder / f"{name}.sha256").write_text(f"{hashlib.sha256(data).hexdigest()}  {name}.json\n")
    return name


@pytest.mark.parametrize(
    "content",
    [b"this is not JSON {", b"[1, 2]", b'{"format_version": 1, "store": {"id": "shop"}}'],
    ids=["not-json", "not-an-object", "no-revision"],
)
def test_a_damaged_snapshot_is_a_clear_error_naming_the_file(
    tmp_path: Path, content: bytes
) -> None:
    name = _write_snapshot_file(tmp_path / ".storecfg" / "snapshots" / "shop", content)
    for args in (
        ("backup", "show", name),
        ("backup", "diff", name),
        ("backup", "restore", name, "--auto-approve"),
    ):
        result = run(tmp_path, {}, *args)
        assert result.returncode == 1
        assert f"{name}.json" in result.stderr
        assert "internal error" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e999", "-1s", "48h"])
def test_a_lock_timeout_that_would_wait_for_ever_is_refused(tmp_path: Path, value: str) -> None:
    new_store(tmp_path)
    result = run(tmp_path, {}, "apply", "s", "--auto-approve", "--lock-timeout", value)
    assert result.returncode == 1
    assert "--lock-timeout" in result.stderr
    assert not (tmp_path / ".storecfg" / "store.db").exists()  # nothing was applied


def test_an_upper_case_scheme_is_just_a_url(tmp_path: Path, server: Server) -> None:
    store_id = new_store(tmp_path)
    env = server.env(store_id)
    upper = server.url.replace("http://", "HTTP://")
    result = run(tmp_path, {"STORECFG_TOKEN": env["STORECFG_TOKEN"]}, "plan", "s", "--store", upper)
    assert result.returncode == 0, result.stderr
    assert "password" not in result.stderr
    assert f"({server.url}, revision" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ("backup", "list", "--store-id", "../../x"),
        ("backup", "show", "20260101T000000Z-r1", "--store-id", "../../x"),
        ("backup", "diff", "20260101T000000Z-r1", "--store-id", "../../x"),
        ("backup", "restore", "20260101T000000Z-r1", "--store-id", "../../x", "--auto-approve"),
    ],
    ids=["list", "show", "diff", "restore"],
)
def test_a_store_id_cannot_reach_outside_the_snapshots(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    # a readable, valid-looking snapshot where ../../x from .storecfg/snapshots leads
    doc = {"format_version": 1, "store": {"id": "x", "revision": 1}, "settings": {}}
    _write_snapshot_file(tmp_path / "x", json.dumps(doc).encode())
    result = run(tmp_path, {}, *args, "--json") if args[1] == "list" else run(tmp_path, {}, *args)
    assert result.returncode == 1
    assert "invalid store ID" in result.stderr
    assert "20260101T000000Z" not in result.stdout


def test_plain_http_to_another_machine_with_a_token_is_warned_about(
    tmp_path: Path, server: Server
) -> None:
    store_id = new_store(tmp_path)
    token = server.env(store_id)["STORECFG_TOKEN"]
    # 0.0.0.0 reaches this machine's server but is not a loopback address
    remote = server.url.replace("127.0.0.1", "0.0.0.0")
    warned = run(tmp_path, {"STORECFG_TOKEN": token}, "lock", "show", "--store", remote)
    assert warned.returncode == 0, warned.stderr
    assert "Warning" in warned.stderr and "plain HTTP" in warned.stderr
    assert token not in warned.stderr
    for env, url in (({"STORECFG_TOKEN": token}, server.url), ({}, remote)):
        quiet = run(tmp_path, env, "lock", "show", "--store", url)
        assert "plain HTTP" not in quiet.stderr


@pytest.mark.parametrize(
    ("url", "remote"),
    [
        ("http://store.example.com:8700", True),
        ("http://10.0.0.5", True),
        ("HTTP://Store.Example.com", True),
        ("https://store.example.com", False),
        ("http://127.0.0.1:8700", False),
        ("http://127.8.0.1", False),
        ("http://localhost:8700", False),
        ("http://[::1]:8700", False),
        ("sqlite:///.storecfg/store.db", False),
    ],
)
def test_which_urls_are_plain_http_to_another_machine(url: str, remote: bool) -> None:
    assert plaintext_to_remote(url) is remote


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("http://h:8700", "http://h:8700/", True),
        ("HTTP://H:8700", "http://h:8700", True),
        ("http://h:80/api", "http://h/api/", True),
        ("https://h", "https://h:443", True),
        ("http://h:8700", "http://h:8701", False),
        ("http://h", "https://h", False),
        ("http://h/a", "http://h/b", False),
        ("sqlite:////x/store.db", "sqlite:////y/store.db", False),
    ],
)
def test_when_two_store_urls_are_the_same_store(a: str, b: str, same: bool) -> None:
    assert same_store_url(a, b) is same


EVIL = "Evil \x1b]0;owned\x07\x1b[2J\x9b31m\u202egnp.exe\u2028next line\u2029end"


def test_store_values_cannot_drive_the_terminal_or_mislead_a_reviewer(
    tmp_path: Path, server: Server
) -> None:
    store_id = new_store(tmp_path)
    env = server.env(store_id)
    assert run(tmp_path, env, "apply", "s", "--auto-approve").returncode == 0
    with server.client(store_id) as client:
        # somebody in the control panel: an odd name on a plan, an extra SKU
        plan = client.get(f"/v1/stores/{store_id}/service_plans/basic").json()
        renamed = client.put(
            f"/v1/stores/{store_id}/service_plans/basic",
            json={"spec": {**plan["spec"], "name": EVIL}},
            headers={"If-Match": f'"{plan["revision"]}"'},
        )
        assert renamed.status_code == 200, renamed.text
        spec = {"id": "evil", "name": EVIL, "vendor": EVIL, "source": "custom"}
        created = client.put(
            f"/v1/stores/{store_id}/skus/evil", json={"spec": spec}, headers={"If-None-Match": "*"}
        )
        assert created.status_code == 201, created.text
    for fmt in ("text", "markdown"):
        result = run(tmp_path, env, "plan", "s", "--format", fmt)
        assert result.returncode == 0, result.stderr
        assert no_unsafe(result.stdout), fmt
        assert "\\u202egnp.exe" in result.stdout, fmt  # shown, visibly
        assert "skus.evil" in result.stdout


def test_a_server_error_message_is_printed_escaped(tmp_path: Path) -> None:
    new_store(tmp_path)

    def respond(ex: Exchange) -> None:
        message = "nope\x1b[2J\u202e\nError: none, Apply complete: 9 created."
        ex.json(500, {"error": "error", "message": message})

    with hostile_server(respond) as evil:
        env = {"STORECFG_STORE": evil.url, "STORECFG_TOKEN": "sct_t"}
        result = storecfg("plan", "s", cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert no_unsafe(result.stderr)
    assert "\\x1b[2J" in result.stderr
    # the message's newline stays inside one line: it cannot forge another
    assert not any(line.startswith("Apply complete") for line in result.stderr.splitlines())


def test_the_escaping_helper() -> None:
    assert escape("a\x1bb\u202ec\u2028d\ne\x9b\x7f") == "a\\x1bb\\u202ec\\u2028d\\ne\\x9b\\x7f"
    assert escape("line\nnext\x1b", keep_newlines=True) == "line\nnext\\x1b"
    assert escape(escape(EVIL)) == escape(EVIL)  # escaping twice changes nothing more
    assert escape("Prix: 20,00 € – Ünïcode") == "Prix: 20,00 € – Ünïcode"


def test_the_plan_checksum_covers_the_whole_document(tmp_path: Path) -> None:
    new_store(tmp_path)
    assert run(tmp_path, {}, "plan", "s", "-o", "plan.json").returncode == 0
    honest = json.loads((tmp_path / "plan.json").read_text())
    assert honest["checksum"] == plan_checksum(honest)

    def refused(doc: dict[str, Any]) -> str:
        (tmp_path / "plan.json").write_text(json.dumps(doc))
        result = run(tmp_path, {}, "apply", "plan.json")
        assert result.returncode == 1
        assert not (tmp_path / ".storecfg" / "store.db").exists()
        return result.stderr

    # what a reviewer reads, edited after the review
    for key, value in (
        ("summary", {**honest["summary"], "create": 0}),
        ("has_changes", False),
        ("impact", []),
    ):
        assert "changed after it was made" in refused({**honest, key: value})
    # a plan sealed the old way (over part of the document only)
    legacy = {**honest, "summary": {**honest["summary"], "delete": 0}}
    legacy["checksum"] = legacy_checksum(legacy)
    assert "older storecfg" in refused(legacy)


def test_a_plan_file_cannot_name_paths_through_its_ids(tmp_path: Path) -> None:
    new_store(tmp_path)
    assert run(tmp_path, {}, "plan", "s", "-o", "plan.json").returncode == 0
    honest = json.loads((tmp_path / "plan.json").read_text())
    for doc in (
        {**honest, "plan_id": "../../../escape"},
        {**honest, "store": {**honest["store"], "id": "../x"}},
    ):
        (tmp_path / "plan.json").write_text(json.dumps(seal(doc)))
        result = run(tmp_path, {}, "apply", "plan.json")
        assert result.returncode == 1
        assert "not a valid storecfg plan file" in result.stderr
    assert not (tmp_path / "escape").exists()


# ------------------------------------------------------------ lock requests behind a gateway


def test_a_lock_released_behind_a_gateway_error_counts_as_released(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "server.db")
    server = LoopASGITransport(create_app(storage, access_log=False))
    transport = FaultyTransport(server, {1: "502-after"})  # 0: take it, 1: release it
    client = httpx.Client(transport=transport, base_url="http://store.test/v1/")
    driver = HttpDriver(
        "http://store.test",
        token=storage.create_token("shop"),
        client=client,
        retry=RetryPolicy(sleep=lambda _seconds: None),
    )
    try:
        lock = driver.acquire_lock("shop", {"user": "alice", "pid": 1}, 60)
        driver.release_lock("shop", lock.lock_id)  # the retry finds it gone: ours, released
        assert storage.get_lock("shop") is None
        assert [r.fault for r in transport.records] == [None, "502-after", None]
    finally:
        driver.close()
        server.shutdown()
        storage.close()


def test_a_gateway_error_is_not_taken_for_an_unsent_request() -> None:
    """A 503 is the server refusing: the request was not acted on, and a 423 after it is
    somebody else's lock, never ours."""
    answers = iter(
        [
            httpx.Response(503, json={"message": "busy"}),
            httpx.Response(
                423,
                json={
                    "message": "locked",
                    "lock": {"lock_id": "x", "owner": {"user": "alice", "pid": 1}},
                },
            ),
        ]
    )
    driver = _mock_driver(lambda _request: next(answers))
    with pytest.raises(StoreError) as err:
        driver.acquire_lock("shop", {"user": "alice", "pid": 1}, 60)
    assert err.value.status == 423
