"""A synchronous httpx transport that calls an ASGI app in-process (no sockets).

httpx's own ASGITransport is async-only; the HTTP driver is synchronous.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx


class SyncASGITransport(httpx.BaseTransport):
    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def call() -> httpx.Response:
            forwarded = httpx.Request(
                request.method, request.url, headers=request.headers, content=body
            )
            response = await self._inner.handle_async_request(forwarded)
            content = await response.aread()
            return httpx.Response(
                response.status_code, headers=response.headers, content=content, request=request
            )

        return asyncio.run(call())


def asgi_client(app: Any, base_url: str = "http://testserver", **kw: Any) -> httpx.Client:
    return httpx.Client(transport=SyncASGITransport(app), base_url=base_url, **kw)
