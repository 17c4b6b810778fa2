"""A store API from before history (no snapshots, apply records or drift in it): apply
still snapshots first — to a local file, as the first release did — and says so."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from store.asgi import SyncASGITransport
from storecfg.apply.backup import list_snapshots
from storecfg.apply.workflow import Settings, apply_directory, plan_directory
from storecfg.server.app import create_app
from storecfg.store.driver import StoreDriver, register
from storecfg.store.http import HttpDriver
from storecfg.store.http_transport import RetryPolicy
from storecfg.store.storage import Storage

from .stores import BASE, STORE_ID, edit, write_store

SCHEME = "oldstore+http"
_HISTORY = re.compile(r"/v1/stores/[^/]+/(snapshots|applies|drift)(/|$)")
_STATE: dict[str, Any] = {}


class OldServer(httpx.BaseTransport):
    """The reference server, minus the history endpoints (answered as the first release
    answered them: an unknown kind, or a method the path does not take)."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.history_requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        match = _HISTORY.search(request.url.path)
        if match:
            self.history_requests += 1
            if request.method == "GET":
                body = {"error": "not_found", "message": f"unknown resource kind {match[1]!r}"}
                return httpx.Response(404, json=body)
            return httpx.Response(405, json={"error": "method_not_allowed", "message": "no"})
        body = json.loads(request.content) if request.content else None
        if isinstance(body, dict) and "apply_id" in body:  # the first release knew no marker
            return httpx.Response(400, json={"error": "bad_request", "message": "batch body"})
        return self.inner.handle_request(request)


@register(SCHEME)
def _old_driver(url: str, *, token: str | None = None, **_: Any) -> StoreDriver:
    client = httpx.Client(transport=_STATE["transport"], base_url="http://old.test/v1/")
    return HttpDriver(
        "http://old.test", token=_STATE["token"], client=client, retry=RetryPolicy(attempts=1)
    )


@pytest.fixture
def old_server(tmp_path: Path) -> OldServer:
    storage = Storage(tmp_path / "server.db")
    _STATE["token"] = storage.create_token(STORE_ID)
    transport = OldServer(SyncASGITransport(create_app(storage, access_log=False)))
    _STATE["transport"] = transport
    return transport


def test_apply_against_a_store_without_history_snapshots_to_a_file(
    tmp_path: Path, old_server: OldServer
) -> None:
    definition = write_store(tmp_path / "s", dict(BASE))
    settings = Settings(store_url=f"{SCHEME}://old", state_dir=tmp_path / ".storecfg")
    report = apply_directory(definition, settings)
    assert report.outcome is not None and report.outcome.ok
    snapshot = report.outcome.snapshot
    assert snapshot is not None and not snapshot.in_store
    [info] = list_snapshots(tmp_path / ".storecfg" / "snapshots", STORE_ID)
    assert (info.id, info.path, info.revision, info.verified) == (
        snapshot.id,
        snapshot.path,
        0,
        True,
    )
    assert any("keeps no history" in note for note in report.notes)
    assert old_server.history_requests > 0
    # plans work too: no drift to tell, and the journal says the last apply finished
    edit(definition, "catalog.yaml", 'recurring: "40.00"', 'recurring: "44.00"')
    plan, _ = plan_directory(definition, settings)
    assert plan["drift"] == [] and plan["interrupted_apply"] is None and plan["has_changes"]
