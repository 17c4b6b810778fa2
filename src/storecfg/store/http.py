"""The HTTP driver: the store API (SPEC section 3) over one keep-alive httpx.Client.

Reads are retried on connection errors and on 429/502/503/504 with exponential
backoff, full jitter and `Retry-After` (capped). Writes are retried only when they
carry an Idempotency-Key, so a retry can never apply a change twice. The token
comes from STORECFG_TOKEN and never appears in messages.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from .. import __version__
from ..errors import ConflictError, LockedError, StoreError, UsageError
from ..model import LiveState
from .driver import read_all_paged, register, safe_url
from .storage import Item, LockInfo, StoreInfo

RETRY_STATUSES = frozenset({429, 502, 503, 504})


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


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return float(value)
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
        timeout: float = 30.0,
        **_: Any,
    ) -> None:
        self.url = safe_url(url.rstrip("/"))
        token = token if token is not None else os.environ.get("STORECFG_TOKEN")
        headers = {"User-Agent": f"storecfg/{__version__}", "Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.retry = retry or RetryPolicy()
        self.client = client or httpx.Client(
            base_url=url.rstrip("/") + "/v1/",
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=10.0),
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=32),
            transport=transport,
            follow_redirects=False,
        )
        if client is not None:
            client.headers.update(headers)

    # ------------------------------------------------------------ plumbing

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
        retry: bool = True,
    ) -> httpx.Response:
        last: str = ""
        for attempt in range(self.retry.attempts):
            try:
                response = self.client.request(
                    method, path, json=json, headers=headers, params=params
                )
            except (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL) as exc:
                raise UsageError(f"store URL {self.url} cannot be used: {exc}") from exc
            except httpx.TransportError as exc:
                last = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if not retry or attempt == self.retry.attempts - 1:
                    raise StoreError(f"cannot reach the store at {self.url} ({last})", 0) from exc
                self.retry.sleep(self.retry.delay(attempt, None))
                continue
            if (
                response.status_code in RETRY_STATUSES
                and retry
                and attempt < self.retry.attempts - 1
            ):
                last = f"HTTP {response.status_code}"
                self.retry.sleep(self.retry.delay(attempt, _retry_after(response)))
                continue
            return response
        raise StoreError(f"the store at {self.url} kept failing ({last})", 503)  # pragma: no cover

    def _error(self, response: httpx.Response, what: str) -> StoreError:
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        message = str(body.get("message") or response.reason_phrase or "error")
        if status == 401:
            return StoreError(
                f"{what}: the store rejected the request (401 {message}); set STORECFG_TOKEN "
                "to a token made with `storecfg token create`",
                401,
            )
        if status == 403:
            return StoreError(
                f"{what}: forbidden (403 {message}); the token is for another store", 403
            )
        if status == 412:
            return ConflictError(f"{what}: {message}", 412, details=body)
        if status == 423:
            return LockedError(message, 423, details=body)
        if status == 429:
            return StoreError(
                f"{what}: rate limited by the store (429); try again later",
                429,
                retry_after=_retry_after(response),
            )
        return StoreError(
            f"{what}: {message} (HTTP {status})",
            status,
            diagnostics=list(body.get("diagnostics") or []),
            details=body,
        )

    @staticmethod
    def _path(*parts: str) -> str:
        return "/".join(quote(p, safe="") for p in parts)

    @staticmethod
    def _item(data: dict[str, Any]) -> Item:
        return Item(
            str(data["id"]), dict(data["spec"]), int(data["revision"]), str(data.get("hash") or "")
        )

    # ------------------------------------------------------------ API

    def list_stores(self) -> list[str]:
        response = self._request("GET", "stores")
        if response.status_code != 200:
            raise self._error(response, "list stores")
        return [str(s["id"]) for s in response.json().get("items", [])]

    def store_info(self, store_id: str) -> StoreInfo:
        response = self._request("GET", self._path("stores", store_id))
        if response.status_code != 200:
            raise self._error(response, f"store {store_id}")
        data = response.json()
        from .storage import default_settings

        return StoreInfo(
            str(data["id"]),
            int(data["revision"]),
            data.get("settings") or default_settings(store_id),
            int(data.get("settings_revision") or 0),
        )

    def list_page(
        self, store_id: str, kind: str, *, limit: int = 500, page_token: str | None = None
    ) -> tuple[list[Item], str | None]:
        params: dict[str, Any] = {"limit": limit}
        if page_token:
            params["page_token"] = page_token
        response = self._request("GET", self._path("stores", store_id, kind), params=params)
        if response.status_code != 200:
            raise self._error(response, f"list {kind}")
        data = response.json()
        return [self._item(d) for d in data.get("items", [])], data.get("next_page_token") or None

    def get(self, store_id: str, kind: str, rid: str) -> Item | None:
        response = self._request("GET", self._path("stores", store_id, kind, rid))
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._error(response, f"{kind}.{rid}")
        return self._item(response.json())

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
        headers = {"If-None-Match": "*"} if create else {"If-Match": f'"{if_match}"'}
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
        return self._item(response.json())

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
    ) -> Item:
        headers = {"If-Match": f'"{if_match}"'}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        response = self._request(
            "PUT",
            self._path("stores", store_id, "settings"),
            json={"spec": settings},
            headers=headers,
            retry=bool(idempotency_key),
        )
        if response.status_code != 200:
            raise self._error(response, "store settings")
        return self._item(response.json())

    def read_all(self, store_id: str) -> LiveState:
        return read_all_paged(self, store_id)

    def acquire_lock(self, store_id: str, owner: dict[str, Any], ttl: float) -> LockInfo:
        response = self._request(
            "POST",
            self._path("stores", store_id, "lock"),
            json={"owner": owner, "ttl_seconds": ttl},
        )
        if response.status_code not in (200, 201):
            raise self._error(response, "lock")
        return LockInfo.from_json(response.json())

    def renew_lock(self, store_id: str, lock_id: str, ttl: float) -> LockInfo:
        response = self._request(
            "POST",
            self._path("stores", store_id, "lock"),
            json={"lock_id": lock_id, "ttl_seconds": ttl},
        )
        if response.status_code not in (200, 201):
            raise self._error(response, "renew lock")
        return LockInfo.from_json(response.json())

    def release_lock(self, store_id: str, lock_id: str | None) -> None:
        params = {"lock_id": lock_id} if lock_id else None
        response = self._request("DELETE", self._path("stores", store_id, "lock"), params=params)
        if response.status_code not in (200, 204):
            raise self._error(response, "release lock")

    def get_lock(self, store_id: str) -> LockInfo | None:
        response = self._request("GET", self._path("stores", store_id, "lock"))
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._error(response, "lock")
        return LockInfo.from_json(response.json())

    def close(self) -> None:
        self.client.close()
