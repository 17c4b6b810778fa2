"""A synchronous httpx transport to an ASGI app in-process, on one long-lived event loop.

Like tests/store/asgi.py, but without a new event loop per request (most of the cost
of a small request): for tests that send thousands of them. Requests from several
threads take turns.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import httpx


class LoopASGITransport(httpx.BaseTransport):
    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._loop = asyncio.new_event_loop()
        self._turn = threading.Lock()

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

        with self._turn:
            return self._loop.run_until_complete(call())

    def shutdown(self) -> None:
        """Close the event loop (not `close`: httpx closes a client's transport with it)."""
        with self._turn:
            self._loop.close()
