"""The reference store server: the store API of SPEC section 3 as an ASGI app.

Starlette routes over the same `Storage` the embedded driver uses, so the two can
never disagree. Handlers are module-level async functions; what they share (the
storage, the rate limiter) is a `ServerState` on `app.state`. They call the storage
directly: each call is one short transaction, cheaper than a hop to a thread pool.
Errors are raised, never answered by hand: the exception handlers at the end turn
`ApiError`s and `StoreError`s into the API's error bodies (wire.py) in one place, and
anything else into a plain 500. Access logs name method, path, status and time, never
headers, so tokens cannot leak into them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..errors import StoreError
from ..model import LiveResource
from ..store.locks import DEFAULT_LOCK_TTL
from ..store.storage import Storage
from ..store.values import json_body
from ..store.wire import DEFAULT_PAGE, error_json, etag, resource_json, slug

log = logging.getLogger("storecfg.server")

MAX_BODY = 1024 * 1024
#: the methods of the history paths below a store, where a resource's would be
_HISTORY_METHODS = {"snapshots": "GET", "applies": "GET, PATCH", "drift/acknowledge": "POST"}
#: the header that marks a write as storecfg's: the ID of the running apply that makes it
APPLY_HEADER = "storecfg-apply-id"
MAX_BATCH_BODY = 16 * 1024 * 1024
#: seconds from a request's headers to the last byte of its body
BODY_TIMEOUT = 60.0
#: Starlette answers HEAD on every GET route; it must never fall through to a write
_SAFE = ("GET", "HEAD")


class ApiError(Exception):
    """A request the API refuses before the storage sees it: `status`, a message, and
    what else the error body (or, for retry_after and allow, a header) carries."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def _error_response(
    status: int, message: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    body = {"error": slug(status), "message": message, **extra}
    return JSONResponse(body, status_code=status, headers=headers)


class RateLimiter:
    """A token bucket per API token: `rate` requests per second, bursts up to `rate`."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.buckets: dict[str, tuple[float, float]] = {}

    def check(self, key: str) -> float | None:
        """None when allowed, else seconds to wait."""
        now = time.monotonic()
        tokens, last = self.buckets.get(key, (self.rate, now))
        tokens = min(self.rate, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self.buckets[key] = (tokens - 1, now)
            return None
        self.buckets[key] = (tokens, now)
        return (1 - tokens) / self.rate


class BodyTimeout(ApiError):
    def __init__(self, seconds: float) -> None:
        super().__init__(
            408, f"the request body did not arrive within {seconds:g} s of its headers"
        )


class _BodyDeadline:
    """A request's body must arrive within `seconds` of its headers; past that, reading
    it raises BodyTimeout (answered 408, and the connection closed) instead of holding a
    connection and a task for a client that stalled."""

    def __init__(self, app: Any, seconds: float) -> None:
        self.app = app
        self.seconds = seconds
        # Starlette attributes callers may reach for
        self.router = getattr(app, "router", None)
        self.state = getattr(app, "state", None)

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.seconds
        complete = False

        async def timed_receive() -> Any:
            nonlocal complete
            if complete:  # the body is in: what is left to hear is a disconnect
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0.0))
            except TimeoutError:
                raise BodyTimeout(self.seconds) from None
            if message.get("type") != "http.request" or not message.get("more_body", False):
                complete = True
            return message

        await self.app(scope, timed_receive, send)


@dataclass
class ServerState:
    """What every handler shares, kept on `app.state.server`."""

    storage: Storage
    limiter: RateLimiter | None = None
    #: the OpenAPI document, bundled on first request
    openapi: dict[str, Any] = field(default_factory=dict)


def _server(request: Request) -> ServerState:
    state: ServerState = request.app.state.server
    return state


def _storage(request: Request) -> Storage:
    return _server(request).storage


def create_app(
    storage: Storage,
    *,
    rate_limit: float = 0.0,
    access_log: bool = True,
    body_timeout: float = BODY_TIMEOUT,
) -> Starlette:
    """The ASGI app serving `storage` (closed when the app shuts down)."""
    app = Starlette(
        routes=ROUTES,
        lifespan=_lifespan,
        exception_handlers=EXCEPTION_HANDLERS,
        # anything the handlers above do not answer: a plain 500, on the way out
        middleware=[Middleware(ExceptionMiddleware, handlers={Exception: internal_error})],
    )
    app.state.server = ServerState(storage, RateLimiter(rate_limit) if rate_limit > 0 else None)
    outer: Any = _BodyDeadline(app, body_timeout)
    if access_log:
        outer = _AccessLog(outer)
    return outer  # type: ignore[no-any-return]


@contextlib.asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    yield
    app.state.server.storage.close()


# ---------------------------------------------------------------- requests


def authorize(request: Request, store: str | None) -> str:
    """The store the request's bearer token is for (401, 403, 429 otherwise)."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "missing bearer token")
    server = _server(request)
    info = server.storage.token_info(token.strip(), touch=True)
    if info is None:
        raise ApiError(401, "invalid token")
    owner = info.store
    if server.limiter is not None:
        wait = server.limiter.check(owner + token[-8:])
        if wait is not None:
            raise ApiError(429, "too many requests", retry_after=math.ceil(wait))
    if store is not None and store != owner:
        raise ApiError(403, f"this token is not valid for store {store}")
    if info.read_only and request.method not in _SAFE:
        # every write, lock and restore: a read-only token plans, never applies
        raise ApiError(
            403,
            f"token {info.id} is read-only: it can read store {owner} but not write, "
            "lock or restore it",
            read_only=True,
        )
    return owner


def _authorized_store(request: Request) -> str:
    """The store of the path, once the token is found valid for it."""
    store_id: str = request.path_params["store"]
    authorize(request, store_id)
    return store_id


def resource_response(res: LiveResource, status: int = 200) -> JSONResponse:
    return JSONResponse(
        resource_json(res), status_code=status, headers={"ETag": etag(res.revision)}
    )


async def read_json(
    request: Request, empty: Any = None, limit: int = MAX_BODY, *, numbers: bool = True
) -> Any:
    """The JSON body; `empty` when there is none (a JSON `null` is not "none").

    Integers past 64 bits, lone surrogates and infinities are JSON, but nothing to
    store: refused (400) here, by field; `numbers=False` leaves the integers of
    specs to the storage engine, which checks every spec it writes."""
    too_large = ApiError(413, f"request body is over {limit} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large  # refused before reading a byte of it
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body.strip():
        return empty
    try:
        return json_body(body, numbers=numbers)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, f"request body is not JSON: {exc}") from None
    except RecursionError:
        raise ApiError(400, "request body nests too deeply") from None


def page(request: Request) -> tuple[int, str | None]:
    try:
        limit = int(request.query_params.get("limit", DEFAULT_PAGE))
    except ValueError:
        raise ApiError(400, "limit must be a whole number") from None
    return limit, request.query_params.get("page_token")


def _page_response(items: list[Any], next_token: str | None) -> JSONResponse:
    return JSONResponse({"items": [i.to_json() for i in items], "next_page_token": next_token})


# ---------------------------------------------------------------- handlers


async def healthz(request: Request) -> Response:
    _storage(request).list_stores()
    return JSONResponse({"status": "ok"})


async def openapi(request: Request) -> Response:
    server = _server(request)
    if not server.openapi:
        from .openapi import bundled_openapi

        server.openapi = bundled_openapi()
    # the server is the one that answered, at whatever address the client used:
    # a URL relative to this document (below a prefix when one is mounted)
    root = str(request.scope.get("root_path") or "").rstrip("/")
    return JSONResponse({**server.openapi, "servers": [{"url": root + "/"}]})


async def stores(request: Request) -> Response:
    owner = authorize(request, None)
    info = _storage(request).store_info(owner)
    return JSONResponse({"items": [{"id": info.id, "revision": info.revision}]})


async def store(request: Request) -> Response:
    store_id = _authorized_store(request)
    info = _storage(request).store_info(store_id)
    # like every other answer about one thing, the revision is also the ETag
    return JSONResponse(info.to_json(), headers={"ETag": etag(info.revision)})


async def settings(request: Request) -> Response:
    store_id = _authorized_store(request)
    storage = _storage(request)
    if request.method in _SAFE:
        info = storage.store_info(store_id)
        return resource_response(LiveResource(info.settings, info.settings_revision, id="settings"))
    body = await read_json(request, numbers=False)
    _, item = storage.put_settings(
        store_id,
        body,
        if_match=request.headers.get("if-match"),
        idempotency_key=request.headers.get("idempotency-key"),
        apply_id=request.headers.get(APPLY_HEADER),
    )
    return resource_response(item)


async def lock(request: Request) -> Response:
    store_id = _authorized_store(request)
    storage = _storage(request)
    if request.method in _SAFE:
        held = storage.get_lock(store_id)
        if held is None:
            raise ApiError(404, f"store {store_id} is not locked")
        return JSONResponse(held.to_json())
    if request.method == "DELETE":
        force = request.query_params.get("force", "false")
        if force not in ("true", "false"):
            raise ApiError(400, "force must be true or false")
        # the lock may also be named as POST names it to renew: in the body. An empty
        # lock_id, in either, names no lock: never "whichever is held", nor another's
        body = await read_json(request, empty={})
        if not isinstance(body, dict):
            raise ApiError(400, "lock release body must be a JSON object")
        lock_id, named = request.query_params.get("lock_id"), body.get("lock_id")
        if lock_id == "" or (named is not None and (not isinstance(named, str) or not named)):
            raise ApiError(400, "lock_id must be a non-empty string")
        lock_id = lock_id if lock_id is not None else named
        storage.release_lock(store_id, lock_id, force=force == "true")
        return Response(status_code=204)
    body = await read_json(request, empty={})
    if not isinstance(body, dict):
        raise ApiError(400, "lock request body must be a JSON object")
    owner = body.get("owner", {})
    if not isinstance(owner, dict):
        raise ApiError(400, "owner must be a JSON object")
    ttl = body.get("ttl_seconds", DEFAULT_LOCK_TTL)
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or abs(ttl) > 1e9:
        raise ApiError(400, "ttl_seconds must be a number from 1 to 3600")
    lock_id = body.get("lock_id")
    if lock_id is not None and (not isinstance(lock_id, str) or not lock_id):
        raise ApiError(400, "lock_id must be a non-empty string")
    status, info = storage.acquire_lock(store_id, owner, float(ttl), lock_id=lock_id)
    return JSONResponse(info.to_json(), status_code=status)


async def batch(request: Request) -> Response:
    store_id = _authorized_store(request)
    body = await read_json(request, limit=MAX_BATCH_BODY, numbers=False)
    if (
        not isinstance(body, dict)
        or "operations" not in body
        or set(body) - {"operations", "apply_id"}
    ):
        raise ApiError(400, 'a batch body is {"operations": [...], "apply_id"?: ID}')
    apply_id = body.get("apply_id")
    if "apply_id" in body and not isinstance(apply_id, str):
        raise ApiError(400, "apply_id must be a string")
    results = _storage(request).batch(store_id, body["operations"], apply_id=apply_id)
    return JSONResponse({"results": results})


async def collection(request: Request) -> Response:
    store_id, kind = request.path_params["store"], request.path_params["kind"]
    if kind == "batch":  # the batch route takes POST only; not a kind to list
        raise ApiError(405, "Method Not Allowed", allow="POST")
    authorize(request, store_id)
    try:
        limit = int(request.query_params.get("limit", DEFAULT_PAGE))
    except ValueError:
        raise ApiError(400, "limit must be a whole number") from None
    if limit < 1:
        raise ApiError(400, "limit must be at least 1")
    view = request.query_params.get("view", "full")
    if view not in ("full", "meta"):
        raise ApiError(400, "view must be full or meta")
    items, token = _storage(request).list(
        store_id,
        kind,
        limit=limit,
        page_token=request.query_params.get("page_token"),
        specs=view == "full",
    )
    if view == "meta":
        rows = [
            {"id": i.id, "revision": i.revision, "hash": i.hash}
            | ({"source": i.source} if i.source is not None else {})
            for i in items
        ]
    else:
        rows = [{**resource_json(i), "hash": i.hash} for i in items]
    return JSONResponse({"items": rows, "next_page_token": token})


async def resource(request: Request) -> Response:
    store_id, kind, rid = (
        request.path_params["store"],
        request.path_params["kind"],
        request.path_params["id"],
    )
    # history paths take other methods than resources: the rest are 405, not kinds
    allow = _HISTORY_METHODS.get(kind if kind != "drift" else f"drift/{rid}")
    if allow is not None:
        raise ApiError(405, "Method Not Allowed", allow=allow)
    authorize(request, store_id)
    storage = _storage(request)
    if request.method in _SAFE:
        return resource_response(storage.get(store_id, kind, rid))
    key = request.headers.get("idempotency-key")
    marker = request.headers.get(APPLY_HEADER)
    if request.method == "DELETE":
        storage.delete(
            store_id,
            kind,
            rid,
            if_match=request.headers.get("if-match"),
            idempotency_key=key,
            apply_id=marker,
        )
        return Response(status_code=204)
    body = await read_json(request, numbers=False)
    status, item = storage.put(
        store_id,
        kind,
        rid,
        body,
        if_match=request.headers.get("if-match"),
        if_none_match=request.headers.get("if-none-match"),
        idempotency_key=key,
        apply_id=marker,
    )
    return resource_response(item, status)


# ---------------------------------------------------------------- history


async def snapshots(request: Request) -> Response:
    store_id = _authorized_store(request)
    storage = _storage(request)
    if request.method in _SAFE:
        limit, token = page(request)
        return _page_response(*storage.list_snapshots(store_id, limit=limit, page_token=token))
    body = await read_json(request, empty={})
    if not isinstance(body, dict) or set(body) - {"reason", "apply_id"}:
        raise ApiError(400, 'a snapshot request is {"reason"?, "apply_id"?}')
    status, meta = storage.create_snapshot(
        store_id, reason=body.get("reason", "snapshot"), apply_id=body.get("apply_id")
    )
    return JSONResponse(meta.to_json(), status_code=status)


async def snapshot(request: Request) -> Response:
    store_id = _authorized_store(request)
    return JSONResponse(_storage(request).get_snapshot(store_id, request.path_params["id"]))


async def applies(request: Request) -> Response:
    store_id = _authorized_store(request)
    storage = _storage(request)
    if request.method in _SAFE:
        limit, token = page(request)
        return _page_response(
            *storage.list_applies(
                store_id,
                limit=limit,
                page_token=token,
                plan_id=request.query_params.get("plan_id"),
            )
        )
    body = await read_json(request, empty={})
    status, record = storage.start_apply(store_id, body)
    return JSONResponse(record.to_json(), status_code=status)


async def apply_record(request: Request) -> Response:
    store_id = _authorized_store(request)
    apply_id = request.path_params["id"]
    storage = _storage(request)
    if request.method in _SAFE:
        return JSONResponse(storage.get_apply(store_id, apply_id).to_json())
    body = await read_json(request, empty={})
    return JSONResponse(storage.update_apply(store_id, apply_id, body).to_json())


async def drift(request: Request) -> Response:
    store_id = _authorized_store(request)
    limit, token = page(request)
    return _page_response(*_storage(request).drift(store_id, limit=limit, page_token=token))


async def acknowledge(request: Request) -> Response:
    store_id = _authorized_store(request)
    body = await read_json(request, limit=MAX_BATCH_BODY)
    if not isinstance(body, dict) or "items" not in body or set(body) - {"items", "apply_id"}:
        raise ApiError(400, 'an acknowledgement is {"items": [...], "apply_id"?}')
    done = _storage(request).acknowledge(store_id, body["items"], apply_id=body.get("apply_id"))
    return JSONResponse({"acknowledged": done})


ROUTES = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/openapi.json", openapi, methods=["GET"]),
    Route("/v1/stores", stores, methods=["GET"]),
    Route("/v1/stores/{store}", store, methods=["GET"]),
    Route("/v1/stores/{store}/settings", settings, methods=["GET", "PUT"]),
    Route("/v1/stores/{store}/lock", lock, methods=["GET", "POST", "DELETE"]),
    Route("/v1/stores/{store}/batch", batch, methods=["POST"]),
    Route("/v1/stores/{store}/snapshots", snapshots, methods=["GET", "POST"]),
    Route("/v1/stores/{store}/snapshots/{id}", snapshot, methods=["GET"]),
    Route("/v1/stores/{store}/applies", applies, methods=["GET", "POST"]),
    Route("/v1/stores/{store}/applies/{id}", apply_record, methods=["GET", "PATCH"]),
    Route("/v1/stores/{store}/drift", drift, methods=["GET"]),
    Route("/v1/stores/{store}/drift/acknowledge", acknowledge, methods=["POST"]),
    Route("/v1/stores/{store}/{kind}", collection, methods=["GET"]),
    Route("/v1/stores/{store}/{kind}/{id}", resource, methods=["GET", "PUT", "DELETE"]),
]


# ---------------------------------------------------------------- errors


async def api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    extra = dict(exc.extra)
    headers: dict[str, str] = {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra.pop("retry_after"))
    if "allow" in extra:
        headers["Allow"] = str(extra.pop("allow"))
    if exc.status == 401:
        headers = {"WWW-Authenticate": 'Bearer realm="storecfg"'}
    if exc.status == 408:  # the rest of the body may still come: not on this connection
        headers["Connection"] = "close"
    return _error_response(exc.status, exc.message, headers or None, **extra)


async def store_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StoreError)
    return JSONResponse(error_json(exc), status_code=exc.status or 500)


async def client_gone(request: Request, exc: Exception) -> Response:
    return Response(status_code=400)  # nobody is left to read it


async def http_error(request: Request, exc: Exception) -> Response:
    # unknown paths and methods answer in the same JSON shape as every other error
    status = getattr(exc, "status_code", 500)
    headers = getattr(exc, "headers", None)
    detail = str(getattr(exc, "detail", "") or "error")
    return _error_response(status, detail, headers=headers)


async def internal_error(request: Request, exc: Exception) -> Response:
    # never a stack trace or internals on the wire (the log has them)
    log.exception("internal error on %s %s", request.method, request.url.path)
    return _error_response(500, "internal server error")


EXCEPTION_HANDLERS: dict[Any, Callable[[Request, Exception], Any]] = {
    ApiError: api_error,
    StoreError: store_error,
    ClientDisconnect: client_gone,
    HTTPException: http_error,
}


def _loggable(text: str) -> str:
    """Visible ASCII only: anything else is %-escaped, so a path cannot forge log lines."""
    return "".join(c if " " < c < "\x7f" else f"%{ord(c):02X}" for c in text)


class _AccessLog:
    """One line per request: method, path, status, milliseconds. No headers, ever."""

    def __init__(self, app: Any) -> None:
        self.app = app
        # Starlette attributes callers may reach for
        self.router = getattr(app, "router", None)
        self.state = getattr(app, "state", None)

    async def __call__(
        self, scope: dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [0]

        async def send_wrapper(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            # the path as sent (still percent-encoded), so a %0A cannot forge a log line
            raw = scope.get("raw_path")
            path = raw.decode("latin-1") if raw else scope["path"]
            log.info(
                "%s %s %d %.1fms",
                scope["method"],
                _loggable(path),
                status[0],
                (time.perf_counter() - start) * 1000,
            )
