"""The seam between storecfg and a live store: the `StoreDriver` protocol.

Drivers are registered by URL scheme: `sqlite:///PATH` is the embedded store,
`http://` and `https://` the store API. Every driver speaks in the same terms
(`LiveResource`, `LiveState` and the records of records.py) and raises only
`StoreError`. A driver is a context manager: `with open_store(url) as driver:` closes
its connections (or its HTTP client) on every way out of the block.
"""

from __future__ import annotations

import importlib
import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Protocol, Self
from urllib.parse import urlsplit, urlunsplit

from ..errors import StoreError, UsageError
from ..model import ID_PATTERN, KINDS, LiveResource, LiveState, address, split_address
from .records import ApplyRecord, DriftItem, LockInfo, SnapshotMeta, StoreInfo, WriteOp, WriteResult

DEFAULT_URL = "sqlite:///.storecfg/store.db"
PAGE_SIZE = 500
#: the most resources one read of a store takes in, and the most pages it asks for
#: (a store that lists for ever is refused, not followed)
MAX_RESOURCES = 500_000
MAX_PAGES = 2_000


class HistoryUnsupported(StoreError):
    """The store keeps no history (a store API from before snapshots, apply records
    and drift lived in the store)."""


class StoreDriver(Protocol):
    #: the store URL as it may be shown and recorded (never with credentials)
    url: str
    #: how many writes apply runs at once against this kind of store
    default_parallelism: int
    #: how many writes apply sends in one batch (one transaction of the store)
    batch_size: int

    def list_stores(self) -> list[str]: ...

    def store_info(self, store_id: str) -> StoreInfo: ...

    def list_page(
        self,
        store_id: str,
        kind: str,
        *,
        limit: int = PAGE_SIZE,
        page_token: str | None = None,
        specs: bool = True,
    ) -> tuple[list[LiveResource], str | None]: ...

    def get(self, store_id: str, kind: str, rid: str) -> LiveResource | None: ...

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
    ) -> LiveResource: ...

    def delete(
        self,
        store_id: str,
        kind: str,
        rid: str,
        *,
        if_match: int | None = None,
        idempotency_key: str | None = None,
    ) -> None: ...

    def put_settings(
        self,
        store_id: str,
        settings: dict[str, Any],
        *,
        if_match: int,
        idempotency_key: str | None = None,
        apply_id: str | None = None,
    ) -> LiveResource: ...

    def vouch(self, specs: Mapping[str, Mapping[str, Any]]) -> None:
        """Specs (kind -> id -> spec) this process compiled and checked against the
        schemas and rules. A store in this process may take exactly these objects
        without checking them again; a store elsewhere checks what it receives."""

    def write_batch(
        self, store_id: str, ops: list[WriteOp], apply_id: str | None = None
    ) -> list[WriteResult]:
        """Several writes in one round trip, in order, stopping at the first failure;
        the writes of a group are all or nothing (status 424: rolled back). With
        `apply_id` they are storecfg's writes, made by that running apply."""
        ...

    def read_all(self, store_id: str, *, specs: bool = True) -> LiveState:
        """The whole store, consistently. With specs=False every resource has its
        revision and hash but an empty spec: `fill_specs` fetches the ones needed."""
        ...

    def fill_specs(self, live: LiveState, addresses: list[str]) -> None:
        """Fetch the specs of these resources into a LiveState read with specs=False."""
        ...

    def acquire_lock(self, store_id: str, owner: dict[str, Any], ttl: float) -> LockInfo: ...

    def renew_lock(self, store_id: str, lock_id: str, ttl: float) -> LockInfo: ...

    def release_lock(self, store_id: str, lock_id: str) -> None:
        """Release the lock `lock_id`; another lock held is LockedError, none is 404."""
        ...

    def get_lock(self, store_id: str) -> LockInfo | None: ...

    # history (SPEC section 5); HistoryUnsupported from stores that keep none

    def create_snapshot(
        self, store_id: str, reason: str, apply_id: str | None = None
    ) -> SnapshotMeta:
        """Save the whole store in the store, at one revision."""
        ...

    def list_snapshots(
        self, store_id: str, *, limit: int = 100, page_token: str | None = None
    ) -> tuple[list[SnapshotMeta], str | None]:
        """One page of snapshots, newest first."""
        ...

    def get_snapshot(self, store_id: str, snapshot_id: str) -> dict[str, Any] | None:
        """A whole snapshot (metadata and state), or None when there is none by that ID."""
        ...

    def start_apply(self, store_id: str, record: dict[str, Any]) -> ApplyRecord: ...

    def update_apply(
        self,
        store_id: str,
        apply_id: str,
        *,
        status: str | None = None,
        writes_done: int | None = None,
    ) -> ApplyRecord: ...

    def list_applies(
        self,
        store_id: str,
        *,
        limit: int = 100,
        page_token: str | None = None,
        plan_id: str | None = None,
    ) -> tuple[list[ApplyRecord], str | None]:
        """One page of apply records, newest first."""
        ...

    def drift_page(
        self, store_id: str, *, limit: int = PAGE_SIZE, page_token: str | None = None
    ) -> tuple[list[DriftItem], str | None]:
        """One page of the resources changed outside storecfg."""
        ...

    def acknowledge(
        self, store_id: str, items: list[dict[str, Any]], apply_id: str | None = None
    ) -> list[str]:
        """Record live resources as storecfg's without writing them (see Storage.acknowledge)."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...


_REGISTRY: dict[str, Callable[..., StoreDriver]] = {}
#: where the built-in drivers live, by URL scheme
_MODULES = {"sqlite": ".sqlite", "http": ".http", "https": ".http"}


def register(*schemes: str) -> Callable[[Callable[..., StoreDriver]], Callable[..., StoreDriver]]:
    def deco(factory: Callable[..., StoreDriver]) -> Callable[..., StoreDriver]:
        for scheme in schemes:
            _REGISTRY[scheme] = factory
        return factory

    return deco


def safe_url(url: str) -> str:
    """The URL without user:password, fit for printing and plan files."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        parts = parts._replace(netloc=host)
    return urlunsplit(parts)


def check_store_id(store_id: str) -> str:
    """`store_id` if it is a valid store ID (it names directories and URL paths), else
    a UsageError."""
    if not re.fullmatch(ID_PATTERN, store_id):
        raise UsageError(
            f"invalid store ID {store_id!r}: use lowercase letters, digits, '.', '_' and '-', "
            "starting with a letter or digit"
        )
    return store_id


def same_store_url(a: str, b: str) -> bool:
    """Whether two store URLs name the same store (scheme and host in any case, a
    default port written or not, a trailing slash or not)."""
    return _url_key(a) == _url_key(b)


def _url_key(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return scheme + url[len(scheme) :].rstrip("/")
    try:
        port = parts.port
    except ValueError:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, 80 if scheme == "http" else 443) else f"{host}:{port}"
    return urlunsplit((scheme, netloc, parts.path.rstrip("/"), parts.query, ""))


def plaintext_to_remote(url: str) -> bool:
    """Whether `url` is plain http:// to a host other than this machine (loopback)."""
    parts = urlsplit(url.strip())
    if parts.scheme.lower() != "http":
        return False
    host = (parts.hostname or "").rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def assign_specs(
    live: LiveState, items: dict[str, LiveResource], wanted: list[str] | None = None
) -> None:
    """Put fetched specs (by address) into a LiveState read without them. A wanted
    resource that is gone, or at another revision, was changed while it was read."""
    for addr in wanted or []:
        if addr not in items:
            raise StoreError(f"{addr} was deleted while the store was read; try again", 409)
    for addr, item in items.items():
        kind, rid = split_address(addr)
        current = live.resources.get(kind, {}).get(rid)
        if current is not None and current.revision == item.revision:
            current.spec = item.spec
        elif current is not None:
            raise StoreError(f"{addr} changed while it was read; try again", 409)


def open_store(url: str | None = None, *, token: str | None = None, **options: Any) -> StoreDriver:
    """A driver for `url` (default: the embedded store in the current directory)."""
    url = (url or os.environ.get("STORECFG_STORE") or DEFAULT_URL).strip()
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme:
        url = scheme + url[len(scheme) :]  # HTTP://, SQLITE:/// as their lower-case selves
    if scheme not in _REGISTRY and scheme in _MODULES:
        # a driver registers itself when imported; import only the one asked for
        # (the HTTP stack costs a tenth of a second to import)
        importlib.import_module(_MODULES[scheme], __package__)
    factory = _REGISTRY.get(scheme)
    if factory is None:
        raise UsageError(
            f"unsupported store URL {safe_url(url)!r}: use sqlite:///PATH or http(s)://HOST:PORT[/PREFIX]"
        )
    return factory(url, token=token, **options)


def read_all_paged(
    driver: Any, store_id: str, attempts: int = 5, *, specs: bool = True
) -> LiveState:
    """A consistent read through paged listing: the store revision must not move
    between the first and the last request, or the read starts again."""
    for _ in range(attempts):
        before = driver.store_info(store_id)
        live = LiveState(store_id, before.revision, before.settings, before.settings_revision)
        pages = resources = 0
        for kind in KINDS:
            token: str | None = None
            tokens: set[str] = set()
            bucket: dict[str, LiveResource] = {}
            while True:
                pages += 1
                if pages > MAX_PAGES:
                    raise StoreError(
                        f"store {store_id} took more than {MAX_PAGES:,} pages to list; "
                        "storecfg stops there rather than follow a listing that may never end",
                        502,
                    )
                items, token = driver.list_page(
                    store_id, kind, limit=PAGE_SIZE, page_token=token, specs=specs
                )
                resources += len(items)
                if resources > MAX_RESOURCES:
                    raise StoreError(
                        f"store {store_id} holds more than {MAX_RESOURCES:,} resources, "
                        "more than storecfg reads",
                        502,
                    )
                for item in items:
                    if item.id in bucket:
                        raise StoreError(
                            f"the store listed {address(kind, item.id)} twice while store {store_id} "
                            "was read; a listing that repeats itself cannot be trusted",
                            502,
                        )
                    bucket[item.id] = item
                if not token:
                    break
                if token in tokens:
                    raise StoreError(
                        f"the store sent the same next_page_token twice while listing {kind} "
                        f"of store {store_id}; a listing that loops cannot be read",
                        502,
                    )
                tokens.add(token)
            if bucket:
                live.resources[kind] = bucket
        after = driver.store_info(store_id)
        if after.revision == before.revision:
            return live
    raise StoreError(f"store {store_id} kept changing while it was read; try again", 409)
