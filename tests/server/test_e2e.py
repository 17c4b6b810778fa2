"""End to end: the real `storecfg serve` on loopback, driven by the real CLI and raw httpx."""

from __future__ import annotations

import re
import shutil
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.server import Server, running_server, storecfg

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "stores" / "o365-reseller"
EXAMPLE_STORE = "contoso-cloud-us"
TOKEN_RE = re.compile(r"^sct_[A-Za-z0-9_-]{40,}$")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("server")) as srv:
        yield srv


def _secrets_absent(server: Server, *texts: str) -> None:
    for token in server.tokens.values():
        for text in texts:
            assert token not in text
            assert token[4:] not in text


def test_token_create_prints_a_token_and_keeps_only_its_hash(tmp_path: Path) -> None:
    db = tmp_path / "tokens.db"
    result = storecfg("token", "create", "--db", str(db), "--store", "contoso-us", "--name", "ci")
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    assert TOKEN_RE.match(token), token
    assert result.stdout == token + "\n"  # nothing else on stdout: `$(storecfg token create ...)`
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert token.encode() not in raw
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT store, name FROM tokens").fetchall() == [("contoso-us", "ci")]

    bad = storecfg("token", "create", "--db", str(db), "--store", "Not A Store")
    assert bad.returncode == 1
    assert "invalid store ID 'Not A Store'" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_apply_plan_export_plan_over_http(server: Server, tmp_path: Path) -> None:
    env = server.env(EXAMPLE_STORE)
    work = tmp_path / "work"
    shutil.copytree(EXAMPLE, work / "store")

    applied = storecfg("apply", "store", "--auto-approve", cwd=work, env=env)
    assert applied.returncode == 0, applied.stderr + applied.stdout
    assert "Apply complete: 42 created, 0 updated, 0 deleted" in applied.stdout + applied.stderr

    with server.client(EXAMPLE_STORE) as client:
        live = client.get(f"/v1/stores/{EXAMPLE_STORE}").json()
    assert live["revision"] == 43  # 42 resources and the settings, one write each
    assert live["settings"]["name"] == "Contoso Cloud Store"

    planned = storecfg("plan", "store", "--detailed-exitcode", cwd=work, env=env)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "No changes" in planned.stdout

    exported = storecfg("export", "-o", "exported", cwd=work, env=env)
    assert exported.returncode == 0, exported.stderr
    assert (work / "exported" / "store.yaml").is_file()
    assert f"Exported store {EXAMPLE_STORE} (revision 43, 42 resources)" in exported.stderr

    replanned = storecfg("plan", "exported", "--detailed-exitcode", cwd=work, env=env)
    assert replanned.returncode == 0, replanned.stdout + replanned.stderr
    assert "No changes" in replanned.stdout

    # a change in the definition is a change in the plan (exit 2)
    plans = work / "store" / "catalog" / "office365.yaml"
    text = plans.read_text()
    assert 'recurring: "10.00", effective: next_renewal}' in text
    plans.write_text(text.replace('recurring: "10.00"', 'recurring: "11.00"', 1))
    changed = storecfg("plan", "store", "--detailed-exitcode", cwd=work, env=env)
    assert changed.returncode == 2, changed.stdout + changed.stderr
    assert "service_plans.o365-e1-annual" in changed.stdout
    # an annual plan: the new price reaches existing subscriptions at renewal
    assert '"10.00" -> "11.00"  # takes effect at next renewal' in changed.stdout

    for result in (applied, planned, exported, replanned, changed):
        _secrets_absent(server, result.stdout, result.stderr)
    for path in work.rglob("*"):
        if path.is_file():
            _secrets_absent(server, path.read_bytes().decode("utf-8", "replace"))


def test_pagination_over_http_returns_every_item_once(server: Server) -> None:
    store = "paging"
    ids = [f"term-{i:03d}" for i in range(23)]
    with server.client(store) as client:
        for rid in reversed(ids):
            spec = {"title": rid, "version": "1", "url": "https://example.com/t"}
            response = client.put(
                f"/v1/stores/{store}/terms/{rid}",
                json={"spec": spec},
                headers={"If-None-Match": "*"},
            )
            assert response.status_code == 201
        for limit in (1, 5, 1000):
            seen: list[str] = []
            params: dict[str, str | int] = {"limit": limit}
            while True:
                body = client.get(f"/v1/stores/{store}/terms", params=params).json()
                seen += [item["id"] for item in body["items"]]
                if body["next_page_token"] is None:
                    break
                params = {"limit": limit, "page_token": body["next_page_token"]}
            assert seen == ids, limit


def test_cli_errors_never_show_the_token(server: Server, tmp_path: Path) -> None:
    work = tmp_path / "work"
    shutil.copytree(EXAMPLE, work / "store")
    wrong = server.token("somebody-else")

    forbidden = storecfg(
        "plan", "store", cwd=work, env={"STORECFG_STORE": server.url, "STORECFG_TOKEN": wrong}
    )
    assert forbidden.returncode == 1
    assert "403" in forbidden.stderr
    assert "the token is for another store" in forbidden.stderr
    assert "Traceback" not in forbidden.stderr

    bogus = "sct_" + "x" * 43
    unauthorized = storecfg(
        "apply",
        "store",
        "--auto-approve",
        cwd=work,
        env={"STORECFG_STORE": server.url, "STORECFG_TOKEN": bogus},
    )
    assert unauthorized.returncode == 1
    assert "401" in unauthorized.stderr
    assert bogus not in unauthorized.stdout + unauthorized.stderr

    newline = storecfg(
        "plan",
        "store",
        cwd=work,
        env={"STORECFG_STORE": server.url, "STORECFG_TOKEN": wrong + "\nX-Injected: 1"},
    )
    assert newline.returncode == 1
    assert "STORECFG_TOKEN" in newline.stderr

    for result in (forbidden, unauthorized, newline):
        _secrets_absent(server, result.stdout, result.stderr)
    with server.client(EXAMPLE_STORE) as client:  # nothing was written by the refused apply
        assert client.get(f"/v1/stores/{EXAMPLE_STORE}").status_code == 200
    with httpx.Client(base_url=server.url) as anon:
        assert anon.get(f"/v1/stores/{EXAMPLE_STORE}").status_code == 401


def test_the_access_log_has_requests_but_never_a_token(server: Server) -> None:
    store = "logged"
    with server.client(store) as client:
        assert client.get(f"/v1/stores/{store}").status_code == 200
        assert client.get(f"/v1/stores/{store}/skus", params={"limit": 3}).status_code == 200
    with httpx.Client(base_url=server.url) as anon:
        leaked = server.token(store)
        assert (
            anon.get(
                f"/v1/stores/{store}", headers={"Authorization": f"Bearer {leaked}x"}
            ).status_code
            == 401
        )
    # the server logs a request just after answering it: give the last line a moment
    deadline = time.monotonic() + 5
    while f"GET /v1/stores/{store} 401 " not in server.log() and time.monotonic() < deadline:
        time.sleep(0.02)
    log = server.log()
    assert re.search(rf"INFO GET /v1/stores/{store} 200 [0-9.]+ms", log), log[-2000:]
    assert re.search(rf"INFO GET /v1/stores/{store}/skus 200 [0-9.]+ms", log)
    assert re.search(rf"INFO GET /v1/stores/{store} 401 ", log)
    _secrets_absent(server, log)


def test_sigterm_stops_the_server_cleanly(tmp_path: Path) -> None:
    with running_server(tmp_path, stores=["s1"]) as srv:
        with srv.client("s1") as client:
            assert client.get("/v1/stores/s1").status_code == 200
        srv.process.send_signal(signal.SIGTERM)
        assert srv.process.wait(timeout=15) == 0
    log = srv.log()
    assert "storecfg store server on http://127.0.0.1:" in log
    assert log.rstrip().endswith("storecfg store server stopped")
    assert "Traceback" not in log
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{srv.url}/healthz", timeout=2)
