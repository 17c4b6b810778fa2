"""Reading a whole store over HTTP costs a request per page (of 500), never one per resource."""

from __future__ import annotations

import math
from pathlib import Path

import httpx

from storecfg.model import KINDS
from storecfg.server.app import create_app
from storecfg.store.driver import PAGE_SIZE
from storecfg.store.http import HttpDriver
from storecfg.store.http_transport import RetryPolicy
from storecfg.store.storage import Storage

from .asgi import SyncASGITransport
from .samples import sku, terms


class Counting(httpx.BaseTransport):
    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return self.inner.handle_request(request)


def test_a_whole_store_read_is_a_request_per_page(tmp_path: Path) -> None:
    storage = Storage(tmp_path / "db")
    token = storage.create_token("shop")
    counts = {"skus": 1234, "terms": 7}
    for kind, n in counts.items():
        make = sku if kind == "skus" else terms
        for start in range(0, n, 1000):
            ops = [
                {
                    "op": "put",
                    "kind": kind,
                    "id": f"{kind[:1]}{i}",
                    "spec": make(),
                    "if_none_match": "*",
                }
                for i in range(start, min(n, start + 1000))
            ]
            assert all(r["status"] == 201 for r in storage.batch("shop", ops))
    transport = Counting(SyncASGITransport(create_app(storage, access_log=False)))
    client = httpx.Client(transport=transport, base_url="http://testserver/v1/")
    driver = HttpDriver(
        "http://testserver", token=token, client=client, retry=RetryPolicy(attempts=1)
    )
    live = driver.read_all("shop")
    assert live.count() == sum(counts.values())
    pages = sum(max(1, math.ceil(counts.get(kind, 0) / PAGE_SIZE)) for kind in KINDS)
    assert PAGE_SIZE >= 100
    # the store revision before and after, then the pages of every kind
    assert len(transport.paths) == 2 + pages
    assert transport.paths.count("/v1/stores/shop/skus") == math.ceil(1234 / PAGE_SIZE)
