"""The HTTP driver: the store API (SPEC section 3) over one keep-alive httpx.Client.

Requests go through http_transport.py: reads are retried on connection errors and on
429/502/503/504, writes only when they carry an Idempotency-Key, so a retry can never
apply a change twice; one answer is read within a size limit and one deadline. The
token comes from STORECFG_TOKEN and never appears in messages.

The server is not trusted to be well-behaved: an answer that is not the JSON the API
promises is a clear error, and an answer about another store (or another resource)
than the one asked for is refused. The wire format itself is wire.py's.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx

from .. import __version__
from ..closing import Closing
from ..errors import ConflictError, LockedError, StoreError, UsageError
from ..model import ID_PATTERN, LiveResource, LiveState, address, spec_hash, split_address
from .driver import (
    HistoryUnsupported,
    assign_specs,
    read_all_paged,
    register,
    safe_url,
)
from .http_transport import (
    DEFAULT_TIMEOUT,
    MAX_RESPONSE_BYTES,
    Answer,
    Requester,
    RetryPolicy,
    bound_by_deadlines,
    json_object,
    retry_after,
)
from .records import (
    ApplyRecord,
    DriftItem,
    LockInfo,
    SnapshotMeta,
    StoreInfo,
    WriteOp,
    WriteResult,
    default_settings,
)
from .wire import InvalidSpec, PreconditionRequired, apply_update_body, etag, results_from_json

T = TypeVar("T")

_TOKEN_CHARS = re.compile(r"[\x21-\x7e]+")
_ID = re.compile(ID_PATTERN)
#: the longest next_page_token taken from an answer (it is sent back in a URL)
MAX_PAGE_TOKEN = 2048


@register("http", "https")
class HttpDriver(Closing):
    default_parallelism = 8
    batch_size = 100  # a request of bounded size and time; several run at once

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
        self._requester = Requester(
            self.client, url, self.retry, timeout, max_response_bytes, self._scrub
        )

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

    def _request(self, method: str, path: str, **options: Any) -> Answer:
        """The answer to a request (see Requester.send for the options)."""
        return self._requester.send(method, path, **options)[0]

    def _error(self, response: Answer, what: str) -> StoreError:
        status = response.status_code
        body = self._scrub_json(json_object(response))
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
                retry_after=retry_after(response),
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

    def _item(self, data: dict[str, Any], what: str, expected: str | None = None) -> LiveResource:
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
        return LiveResource(
            spec,
            int(data["revision"]),
            digest,
            source if isinstance(source, str) else None,
            id=rid,
        )

    def _store_info(self, data: dict[str, Any], store_id: str) -> StoreInfo:
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
    ) -> tuple[list[LiveResource], str | None]:
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

    def get(self, store_id: str, kind: str, rid: str) -> LiveResource | None:
        response = self._request("GET", self._path("stores", store_id, kind, rid))
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise self._error(response, address(kind, rid))
        return self._read(
            response, address(kind, rid), lambda data: self._item(data, address(kind, rid), rid)
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
    ) -> LiveResource:
        headers: dict[str, str] = {}
        if create:
            headers["If-None-Match"] = "*"
        elif if_match is not None:
            headers["If-Match"] = etag(if_match)
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
            raise self._error(response, address(kind, rid))
        return self._read(
            response, address(kind, rid), lambda data: self._item(data, address(kind, rid), rid)
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
            headers["If-Match"] = etag(if_match)
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        response = self._request(
            "DELETE",
            self._path("stores", store_id, kind, rid),
            headers=headers,
            retry=bool(idempotency_key),
        )
        if response.status_code not in (200, 204):
            raise self._error(response, address(kind, rid))

    def put_settings(
        self,
        store_id: str,
        settings: dict[str, Any],
        *,
        if_match: int,
        idempotency_key: str | None = None,
        apply_id: str | None = None,
    ) -> LiveResource:
        headers = {"If-Match": etag(if_match)}
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

    def vouch(self, specs: Mapping[str, Mapping[str, Any]]) -> None:
        """The server checks every spec it receives, whoever compiled it."""

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
        found: dict[str, LiveResource] = {}
        for addr in addresses:
            kind, rid = split_address(addr)
            item = self.get(live.store_id, kind, rid)
            if item is not None:
                found[addr] = item
        assign_specs(live, found, addresses)

    def acquire_lock(self, store_id: str, owner: dict[str, Any], ttl: float) -> LockInfo:
        response, lost = self._requester.send(
            "POST",
            self._path("stores", store_id, "lock"),
            json={"owner": owner, "ttl_seconds": ttl},
        )
        if response.status_code == 423 and lost:
            # the lost attempt may have taken the lock: if it is held by exactly this
            # owner (user, host, pid, start time), it is ours
            held = json_object(response).get("lock")
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
        response, lost = self._requester.send(
            "DELETE", self._path("stores", store_id, "lock"), params=params
        )
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
        body = apply_update_body(status, writes_done)
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
