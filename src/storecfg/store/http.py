"""The HTTP driver: the store API (SPEC section 3) over one keep-alive httpx.Client.

Reads are retried on connection errors and on 429/502/503/504 with exponential
backoff, full jitter and `Retry-After` (capped). Writes are retried only when they
carry an Idempotency-Key, so a retry can never apply a change twice. The token
comes from STORECFG_TOKEN and never appears in messages.

The server is not trusted to be well-behaved: one answer is read up to
MAX_RESPONSE_BYTES and within one deadline (`timeout`, for the whole request, not
per read), and an answer about another store than the one asked for is refused.
"""

from __future__ import annotations

import json as _json
import math
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import httpcore
import httpx

from .. import __version__
from ..errors import ConflictError, LockedError, StoreError, UsageError
from ..model import ID_PATTERN, LiveState, spec_hash
from .driver import (
    HistoryUnsupported,
    WriteOp,
    WriteResult,
    assign_specs,
    read_all_paged,
    register,
    results_from_json,
    safe_url,
)
from .history import ApplyRecord, DriftItem, SnapshotMeta
from .storage import InvalidSpec, Item, LockInfo, PreconditionRequired, StoreInfo

T = TypeVar("T")

RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: answers a gateway gives when it may have passed the request on before failing:
#: the server may have acted on it
_MAYBE_ACTED = frozenset({502, 504})
_TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")
_ID = re.compile(ID_PATTERN)

#: the most one answer may hold (after decompression)
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
#: seconds one request may take, from sending it to the last byte of its answer
DEFAULT_TIMEOUT = 30.0
#: the longest next_page_token taken from an answer (it is sent back in a URL)
MAX_PAGE_TOKEN = 2048


class _DeadlineExceeded(Exception):
    """The request's deadline passed (raised inside the network layer, caught in _send)."""


_deadlines = threading.local()


@contextmanager
def _deadline(seconds: float) -> Iterator[float]:
    """Every network operation of this thread, until the block ends, finishes by then."""
    previous = getattr(_deadlines, "at", None)
    at = time.monotonic() + seconds
    _deadlines.at = at
    try:
        yield at
    finally:
        _deadlines.at = previous


def _bounded(timeout: float | None) -> float | None:
    """A network operation's timeout, shortened to what is left of the deadline."""
    at: float | None = getattr(_deadlines, "at", None)
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise _DeadlineExceeded
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A connection whose every read and write ends by the current request's deadline:
    httpx's own timeouts bound each read, so a server sending a byte at a time could
    otherwise hold a request for ever."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _bounded(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _bounded(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self._inner.start_tls(ssl_context, server_hostname, _bounded(timeout))
        )

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_tcp(
            host,
            port,
            _bounded(timeout),
            local_address=local_address,
            socket_options=socket_options,
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Any = None
    ) -> httpcore.NetworkStream:
        stream = self._inner.connect_unix_socket(
            path, _bounded(timeout), socket_options=socket_options
        )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def bound_by_deadlines(client: httpx.Client) -> bool:
    """Make the connections of `client`'s own transports (the direct one and those for
    proxies from the environment) honour the per-request deadline. httpx offers no
    public hook for its network backend, so this reaches into its transports; it
    returns False when it found none to change (then only the body is bounded)."""
    transports = [getattr(client, "_transport", None)]
    transports += list(getattr(client, "_mounts", {}).values())
    found = False
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, httpcore.NetworkBackend):
            if not isinstance(backend, _DeadlineBackend):
                pool._network_backend = _DeadlineBackend(backend)  # type: ignore[union-attr]
            found = True
    return found


def _size(n: int) -> str:
    return (
        f"{n // (1024 * 1024)} MiB" if n >= 1024 * 1024 and n % (1024 * 1024) == 0 else f"{n} bytes"
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


@dataclass(slots=True)
class Answer:
    """A whole answer of the store, read within the limits."""

    status_code: int
    headers: httpx.Headers
    content: bytes
    reason_phrase: str = ""

    def json(self) -> Any:
        return _json.loads(self.content, parse_constant=_reject_constant)


class RetryPolicy:
    def __init__(
        self,
        attempts: int = 6,
        base: float = 0.2,
        cap: float = 8.0,
        max_retry_after: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.attempts = attempts
        self.base = base
        self.cap = cap
        self.max_retry_after = max_retry_after
        self.sleep = sleep

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        return random.uniform(0, min(self.cap, self.base * (2**attempt)))


def _json_object(response: Answer) -> dict[str, Any]:
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return {}
    return body if isinstance(body, dict) else {}


def _retry_after(response: Answer) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
        return seconds if math.isfinite(seconds) else None  # "nan" would break sleep()
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


@register("http", "https")
class HttpDriver:
    default_parallelism = 8

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        client: httpx.Client | None = None,
        transport: httpx.BaseTransport | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
        **_: Any,
    ) -> None:
        url = url.strip().rstrip("/")
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            raise UsageError(f"the store URL {safe_url(url)!r} is not a valid URL") from None
        if parts.username is not None or parts.password is not None:
            # httpx would send them as Basic auth in place of the bearer token
            raise UsageError(
                f"the store URL {safe_url(url)} must not carry a user name or password: "
                "storecfg authenticates with the token in STORECFG_TOKEN"
            )
        # scheme and host are case-insensitive: shown and compared in lower case
        url = parts._replace(scheme=parts.scheme.lower(), netloc=parts.netloc.lower()).geturl()
        self.url = url
        token = token if token is not None else os.environ.get("STORECFG_TOKEN")
        # a token read from a file often ends in a newline; anything else that is not
        # visible ASCII cannot go into a header, and the library error would quote it
        token = (token or "").strip()
        if token and not _TOKEN_CHARS.fullmatch(token):
            raise UsageError(
                "STORECFG_TOKEN holds spaces, control or non-ASCII characters; "
                "set it to the token exactly as `storecfg token create` printed it"
            )
        self._token = token
        headers = {"User-Agent": f"storecfg/{__version__}", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self.client = client or httpx.Client(
            base_url=url + "/v1/",
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=32),
            transport=transport,
            follow_redirects=False,
        )
        if client is not None:
            client.headers.update(headers)
        bound_by_deadlines(self.client)

    # ------------------------------------------------------------ plumbing

    def _scrub(self, text: str) -> str:
        """`text` without the token (library messages may quote headers)."""
        return text.replace(self._token, "***") if self._token else text

    def _scrub_json(self, data: Any) -> Any:
        """`data` (a decoded JSON body) with the token taken out of every string."""
        if isinstance(data, str):
            return self._scrub(data)
        if isinstance(data, dict):
            return {self._scrub(str(k)): self._scrub_json(v) for k, v in data.items()}
        if isinstance(data, list):
            return [self._scrub_json(v) for v in data]
        return data

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        retry: bool = True,
    ) -> Answer:
        return self._send(method, path, json=json, headers=headers, params=params, retry=retry)[0]

    def _send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        retry: bool = True,
    ) -> tuple[Answer, bool]:
        """(answer, whether an earlier attempt may have reached the server: lost to a
        transport error, or answered 502/504 by a gateway).

        After such an attempt the server may have acted on the request already.
        """
        last: str = ""
        lost = False
        for attempt in range(self.retry.attempts):
            try:
                response = self._attempt(method, path, json=json, headers=headers, params=params)
            except (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL) as exc:
                raise UsageError(
                    f"store URL {self.url} cannot be used: {self._scrub(str(exc))}"
                ) from None
            except _DeadlineExceeded:
                # not retried: a store this slow would only make the wait longer
                raise StoreError(
                    f"the store at {self.url} did not answer {method} {path} within "
                    f"{self.timeout:g} s; giving up",
                    504,
                ) from None
            except httpx.TransportError as exc:
                text = self._scrub(str(exc))
                last = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
                if not retry or attempt == self.retry.attempts - 1:
                    raise StoreError(f"cannot reach the store at {self.url} ({last})", 0) from None
                lost = True
                self.retry.sleep(self.retry.delay(attempt, None))
                continue
            if (
                response.status_code in RETRY_STATUSES
                and retry
                and attempt < self.retry.attempts - 1
            ):
                last = f"HTTP {response.status_code}"
                if response.status_code in _MAYBE_ACTED:
                    lost = True
                self.retry.sleep(self.retry.delay(attempt, _retry_after(response)))
                continue
            return response, lost
        raise StoreError(f"the store at {self.url} kept failing ({last})", 503)  # pragma: no cover

    def _attempt(
        self,
        method: str,
        path: str,
        *,
        json: Any,
        headers: dict[str, str] | None,
        params: dict[str, Any] | None,
    ) -> Answer:
        """One request and its whole answer, within the deadline and the size limit."""
        request = self.client.build_request(method, path, json=json, headers=headers, params=params)
        with _deadline(self.timeout) as deadline:
            try:
                response = self.client.send(request, stream=True)
            except httpx.TimeoutException:
                if time.monotonic() >= deadline:
                    raise _DeadlineExceeded from None
                raise
            try:
                return Answer(
                    response.status_code,
                    response.headers,
                    self._body(response, method, path, deadline),
                    response.reason_phrase,
                )
            except httpx.TimeoutException:
                if time.monotonic() >= deadline:
                    raise _DeadlineExceeded from None
                raise
            finally:
                response.close()

    def _body(self, response: httpx.Response, method: str, path: str, deadline: float) -> bytes:
        limit = self.max_response_bytes
        too_large = StoreError(
            f"the store at {self.url} answered {method} {path} with more than "
            f"{_size(limit)}; storecfg reads at most that much of one answer",
            502,
        )
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large  # refused before reading a byte of it
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
            if time.monotonic() >= deadline:
                raise _DeadlineExceeded
        return b"".join(chunks)

    def _error(self, response: Answer, what: str) -> StoreError:
        status = response.status_code
        body = self._scrub_json(_json_object(response))
        message = self._scrub(str(body.get("message") or response.reason_phrase or "error"))
        # the server's message usually names the resource already; do not say it twice
        prefix = "" if message.startswith(what) else f"{what}: "
        if status == 401:
            return StoreError(
                f"{prefix}the store rejected the request (401 {message}); set STORECFG_TOKEN "
                "to a token made with `storecfg token create`",
                401,
            )
        if status == 403 and body.get("read_only") is True:
            return StoreError(
                f"{prefix}forbidden (403 {message}); writes, locks and restores need a token "
                "made without --read-only",
                403,
                details=body,
            )
        if status == 403:
            return StoreError(
                f"{prefix}forbidden (403 {message}); the token is for another store", 403
            )
        if status == 412:
            return ConflictError(f"{prefix}{message}", 412, details=body)
        if status == 423:
            return LockedError(message, 423, details=body)
        if status == 428:
            return PreconditionRequired(f"{prefix}{message}", 428, details=body)
        diagnostics = list(body.get("diagnostics") or [])
        if status == 422 and diagnostics:
            return InvalidSpec(f"{prefix}{message}", 422, diagnostics=diagnostics, details=body)
        if status == 429:
            return StoreError(
                f"{prefix}rate limited by the store (429); try again later",
                429,
                retry_after=_retry_after(response),
            )
        return StoreError(
            f"{prefix}{message} (HTTP {status})", status, diagnostics=diagnostics, details=body
        )

    def _read(self, response: Answer, what: str, build: Callable[[Any], T]) -> T:
        """`build(body)`, or a StoreError when the body is not the JSON the API promises."""
        try:
            return build(response.json())
        except (ValueError, KeyError, TypeError, AttributeError, OverflowError, RecursionError):
            raise StoreError(
                f"{what}: the store at {self.url} sent an answer storecfg cannot read "
                f"(HTTP {response.status_code}, {response.headers.get('content-type', 'no content type')})",
                502,
            ) from None

    @staticmethod
    def _path(*parts: str) -> str:
        return "/".join(quote(p, safe="") for p in parts)

    def _item(self, data: dict[str, Any], what: str, expected: str | None = None) -> Item:
        """An item of an answer; its id must be a valid ID, and `expected` when given (the
        resource asked for: an answer about another one is not taken for it)."""
        rid = data["id"]
        if not isinstance(rid, str) or not _ID.fullmatch(rid):
            raise ValueError("not an ID")
        if expected is not None and rid != expected:
            raise StoreError(
                f"{what}: the store at {self.url} answered about {rid!r} instead; "
                "storecfg stopped before changing anything more",
                502,
            )
        spec = data.get("spec") or {}
        if not isinstance(spec, dict):
            raise TypeError("spec is not an object")
        # GET and PUT answers carry no hash; the embedded driver's items always do
        digest = str(data.get("hash") or spec_hash(spec))
        source = data.get("source")
        return Item(
            rid, spec, int(data["revision"]), digest, source if isinstance(source, str) else None
        )

    def _store_info(self, data: dict[str, Any], store_id: str) -> StoreInfo:
        from .storage import default_settings

        if data["id"] != store_id:
            # a server (or a proxy) answering for another store: planning against it
            # would delete our resources and write someone else's settings
            raise StoreError(
                f"the store at {self.url} answered for store {str(data['id'])!r} when asked for "
                f"store {store_id!r}; storecfg stopped before changing anything",
                502,
            )
        settings = data.get("settings") or default_settings(store_id)
        if not isinstance(settings, dict):
            raise TypeError("settings is not an object")
        return StoreInfo(
            store_id, int(data["revision"]), settings, int(data.get("settings_revision") or 0)
        )

    @staticmethod
    def _page_token(data: dict[str, Any]) -> str | None:
        token = data.get("next_page_token") or None
        if token is not None and (not isinstance(token, str) or len(token) > MAX_PAGE_TOKEN):
            raise ValueError("next_page_token is not a string of a sensible length")
        return token

    # ------------------------------------------------------------ API

    def list_stores(self) -> list[str]:
        response = self._request("GET", "stores")
        if response.status_code != 200:
            raise self._error(response, "list stores")
        return self._read(
            response, "list stores", lambda data: [str(s["id"]) for s in data.get("items", [])]
        )

    def store_info(self, store_id: str) -> StoreInfo:
        response = self._request("GET", self._path("stores", store_id))
        if response.status_code != 200:
            raise self._error(response, f"store {store_id}")
        return self._read(
            response, f"store {store_id}", lambda data: self._store_info(data, store_id)
        )

    def list_page(
        self,
        store_id: str,
        kind: str,
        *,
        limit: int = 500,
        page_token: str | None = None,
        specs: bool = True,
    ) -> tuple[list[Item], str | None]:
        params: dict[str, Any] = {"limit": limit}
        if not specs:
            params["view"] = "meta"  # id, revision and hash only: a fraction of the bytes
        if page_token:
            params["page_token"] = page_token
        response = self._request("GET", self._path("stores", store_id, kind), params=params)
        if response.status_code != 200:
            raise self._error(response, f"list {kind}")
        return self._read(
            response,
            f"list {kind}",
            lambda data: (
                [self._item(d, f"list {kind}") for d in data["items"]],
                self._page_token(data),
            ),
        )

    def get(self, store_id: str, kind: str, rid: str) -> Item | None:
        response = self._request("GET", self._path("stores", store_id, kind, rid))
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._error(response, f"{kind}.{rid}")
        return self._read(
            response, f"{kind}.{rid}", lambda data: self._item(data, f"{kind}.{rid}", rid)
        )

    def put(
        self,
        store_id: str,
        kind: str,
        rid: str,
        spec: dict[str, Any],
        *,
        if_match: int | None = None,
        create: bool = False,
        idempotency_key: str | None = None,
    ) -> Item:
        headers: dict[str, str] = {}
        if create:
            headers["If-None-Match"] = "*"
        elif if_match is not None:
            headers["If-Match"] = f'"{if_match}"'
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        response = self._request(
            "PUT",
            self._path("stores", store_id, kind, rid),
            json={"spec": spec},
            headers=headers,
            retry=bool(idempotency_key),
        )
        if response.status_code not in (200, 201):
            raise self._error(response, f"{kind}.{rid}")
        return self._read(
            response, f"{kind}.{rid}", lambda data: self._item(data, f"{kind}.{rid}", rid)
        )

    def delete(
        self,
        store_id: str,
        kind: str,
        rid: str,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
    ) -> None:
        headers: dict[str, str] = {}
        if if_match is not None:
            headers["If-Match"] = f'"{if_match}"'
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        response = self._request(
            "DELETE",
            self._path("stores", store_id, kind, rid),
            headers=headers,
            retry=bool(idempotency_key),
        )
        if response.status_code not in (200, 204):
            raise self._error(response, f"{kind}.{rid}")

    def put_settings(
        self,
        store_id: str,
        settings: dict[str, Any],
        *,
        if_match: int,
        idempotency_key: str | None = None,
        apply_id: str | None = None,
    ) -> Item:
        headers = {"If-Match": f'"{if_match}"'}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if apply_id:
            headers["Storecfg-Apply-Id"] = apply_id
        response = self._request(
            "PUT",
            self._path("stores", store_id, "settings"),
            json={"spec": settings},
            headers=headers,
            retry=bool(idempotency_key),
        )
        if response.status_code != 200:
            raise self._error(response, "store settings")
        return self._read(
            response, "store settings", lambda data: self._item(data, "store settings", "settings")
        )

    def write_batch(
        self, store_id: str, ops: list[WriteOp], apply_id: str | None = None
    ) -> list[WriteResult]:
        """POST /v1/stores/{store}/batch; retried (safely) only when every write has a key."""
        body: dict[str, Any] = {"operations": [op.to_json() for op in ops]}
        if apply_id:
            body["apply_id"] = apply_id
        response = self._request(
            "POST",
            self._path("stores", store_id, "batch"),
            json=body,
            retry=all(op.idempotency_key for op in ops),
        )
        if response.status_code != 200:
            raise self._error(response, f"batch of {len(ops)} writes")
        return self._read(
            response, "batch", lambda body: results_from_json(body["results"], self.url)
        )

    def read_all(self, store_id: str, *, specs: bool = True) -> LiveState:
        return read_all_paged(self, store_id, specs=specs)

    def fill_specs(self, live: LiveState, addresses: list[str]) -> None:
        """One GET per resource over the kept-alive connection; past a few hundred,
        one more whole read is cheaper."""
        if len(addresses) > 300:
            full = read_all_paged(self, live.store_id)
            if full.revision != live.revision:
                raise StoreError(f"store {live.store_id} changed while it was read; try again", 409)
            live.resources = full.resources
            return
        found: dict[str, Item] = {}
        for addr in addresses:
            kind, _, rid = addr.partition(".")
            item = self.get(live.store_id, kind, rid)
            if item is not None:
                found[addr] = item
        assign_specs(live, found, addresses)

    def acquire_lock(self, store_id: str, owner: dict[str, Any], ttl: float) -> LockInfo:
        response, lost = self._send(
            "POST",
            self._path("stores", store_id, "lock"),
            json={"owner": owner, "ttl_seconds": ttl},
        )
        if response.status_code == 423 and lost:
            # the lost attempt may have taken the lock: if it is held by exactly this
            # owner (user, host, pid, start time), it is ours
            held = _json_object(response).get("lock")
            if isinstance(held, dict) and held.get("owner") == owner:
                return LockInfo.from_json(held)
        if response.status_code not in (200, 201):
            raise self._error(response, "lock")
        return self._read(response, "lock", LockInfo.from_json)

    def renew_lock(self, store_id: str, lock_id: str, ttl: float) -> LockInfo:
        response = self._request(
            "POST",
            self._path("stores", store_id, "lock"),
            json={"lock_id": lock_id, "ttl_seconds": ttl},
        )
        if response.status_code not in (200, 201):
            raise self._error(response, "renew lock")
        return self._read(response, "lock", LockInfo.from_json)

    def release_lock(self, store_id: str, lock_id: str) -> None:
        params = {"lock_id": lock_id}
        response, lost = self._send("DELETE", self._path("stores", store_id, "lock"), params=params)
        if response.status_code == 404 and lost:
            return  # the lost attempt released it
        if response.status_code not in (200, 204):
            raise self._error(response, "release lock")

    def get_lock(self, store_id: str) -> LockInfo | None:
        response = self._request("GET", self._path("stores", store_id, "lock"))
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._error(response, "lock")
        return self._read(response, "lock", LockInfo.from_json)

    # ------------------------------------------------------------ history

    def _history(
        self,
        method: str,
        path: tuple[str, ...],
        what: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        ok: tuple[int, ...] = (200,),
    ) -> Any:
        """A history request; its body as JSON. Every history write is safe to repeat
        (an apply and its snapshot are named by the apply ID), so all are retried."""
        response = self._request(
            method, self._path("stores", *path), json=json, params=params, retry=True
        )
        if response.status_code == 405 or (response.status_code == 404 and len(path) == 2):
            # a store API from before history: the collection itself is unknown
            raise HistoryUnsupported(
                f"the store at {self.url} keeps no history (no {path[1]} in its API); "
                "upgrade its server",
                response.status_code,
            )
        if response.status_code not in ok:
            raise self._error(response, what)
        return self._read(response, what, lambda body: body)

    def create_snapshot(
        self, store_id: str, reason: str, apply_id: str | None = None
    ) -> SnapshotMeta:
        body: dict[str, Any] = {"reason": reason}
        if apply_id:
            body["apply_id"] = apply_id
        data = self._history("POST", (store_id, "snapshots"), "snapshot", json=body, ok=(200, 201))
        return self._read_as(data, "snapshot", SnapshotMeta.from_json)

    def list_snapshots(
        self, store_id: str, *, limit: int = 100, page_token: str | None = None
    ) -> tuple[list[SnapshotMeta], str | None]:
        params: dict[str, Any] = {"limit": limit}
        if page_token:
            params["page_token"] = page_token
        data = self._history("GET", (store_id, "snapshots"), "list snapshots", params=params)
        return self._read_as(
            data,
            "list snapshots",
            lambda d: (
                [SnapshotMeta.from_json(i) for i in d["items"]],
                d.get("next_page_token") or None,
            ),
        )

    def get_snapshot(self, store_id: str, snapshot_id: str) -> dict[str, Any] | None:
        response = self._request("GET", self._path("stores", store_id, "snapshots", snapshot_id))
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._error(response, f"snapshot {snapshot_id}")
        return self._read(response, f"snapshot {snapshot_id}", lambda body: dict(body))

    def start_apply(self, store_id: str, record: dict[str, Any]) -> ApplyRecord:
        data = self._history(
            "POST",
            (store_id, "applies"),
            "record the apply",
            json=self._scrub_json(record),
            ok=(200, 201),
        )
        return self._read_as(data, "apply record", ApplyRecord.from_json)

    def update_apply(
        self,
        store_id: str,
        apply_id: str,
        *,
        status: str | None = None,
        writes_done: int | None = None,
    ) -> ApplyRecord:
        body: dict[str, Any] = {}
        if status is not None:
            body["status"] = status
        if writes_done is not None:
            body["writes_done"] = writes_done
        data = self._history(
            "PATCH", (store_id, "applies", apply_id), f"apply {apply_id}", json=body
        )
        return self._read_as(data, "apply record", ApplyRecord.from_json)

    def list_applies(
        self,
        store_id: str,
        *,
        limit: int = 100,
        page_token: str | None = None,
        plan_id: str | None = None,
    ) -> tuple[list[ApplyRecord], str | None]:
        params: dict[str, Any] = {"limit": limit}
        if page_token:
            params["page_token"] = page_token
        if plan_id:
            params["plan_id"] = plan_id
        data = self._history("GET", (store_id, "applies"), "list applies", params=params)
        return self._read_as(
            data,
            "list applies",
            lambda d: (
                [ApplyRecord.from_json(i) for i in d["items"]],
                d.get("next_page_token") or None,
            ),
        )

    def drift_page(
        self, store_id: str, *, limit: int = 500, page_token: str | None = None
    ) -> tuple[list[DriftItem], str | None]:
        params: dict[str, Any] = {"limit": limit}
        if page_token:
            params["page_token"] = page_token
        data = self._history("GET", (store_id, "drift"), "drift", params=params)
        return self._read_as(
            data,
            "drift",
            lambda d: (
                [DriftItem.from_json(i) for i in d["items"]],
                d.get("next_page_token") or None,
            ),
        )

    def acknowledge(
        self, store_id: str, items: list[dict[str, Any]], apply_id: str | None = None
    ) -> list[str]:
        body: dict[str, Any] = {"items": items}
        if apply_id:
            body["apply_id"] = apply_id
        data = self._history(
            "POST", (store_id, "drift", "acknowledge"), "acknowledge drift", json=body
        )
        return self._read_as(
            data, "acknowledge drift", lambda d: [str(a) for a in d["acknowledged"]]
        )

    def _read_as(self, data: Any, what: str, build: Callable[[Any], T]) -> T:
        """`build(data)` for a decoded body, or a StoreError when it is not the promised JSON."""
        try:
            return build(data)
        except (ValueError, KeyError, TypeError, AttributeError):
            raise StoreError(
                f"{what}: the store at {self.url} sent an answer storecfg cannot read", 502
            ) from None

    def close(self) -> None:
        self.client.close()
