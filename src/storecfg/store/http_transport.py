"""One request to a store and its whole answer, bounded: the HTTP driver's transport.

Reads are retried on connection errors and on 429/502/503/504 with exponential
backoff, full jitter and `Retry-After` (capped); a request the caller does not mark
as safe to repeat is sent once. One answer is read up to `max_response_bytes` and
within one deadline (`timeout`, for the whole request, not per read): a server sending
a byte at a time cannot hold a request for ever.
"""

from __future__ import annotations

import json as _json
import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from ..errors import StoreError, UsageError

RETRY_STATUSES = frozenset({429, 502, 503, 504})
#: answers a gateway gives when it may have passed the request on before failing:
#: the server may have acted on it
_MAYBE_ACTED = frozenset({502, 504})

#: the most one answer may hold (after decompression)
MAX_RESPONSE_BYTES = 64 * 1024 * 1024
#: seconds one request may take, from sending it to the last byte of its answer
DEFAULT_TIMEOUT = 30.0


class DeadlineExceeded(Exception):
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
        raise DeadlineExceeded
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


def json_object(response: Answer) -> dict[str, Any]:
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return {}
    return body if isinstance(body, dict) else {}


def retry_after(response: Answer) -> float | None:
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


@dataclass
class Requester:
    """Sends requests over `client` to the store at `url`, within the deadline, the size
    limit and the retry policy. `scrub` takes secrets out of library messages."""

    client: httpx.Client
    url: str
    retry: RetryPolicy
    timeout: float
    max_response_bytes: int
    scrub: Callable[[str], str]

    def send(
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
                    f"store URL {self.url} cannot be used: {self.scrub(str(exc))}"
                ) from None
            except DeadlineExceeded:
                # not retried: a store this slow would only make the wait longer
                raise StoreError(
                    f"the store at {self.url} did not answer {method} {path} within "
                    f"{self.timeout:g} s; giving up",
                    504,
                ) from None
            except httpx.TransportError as exc:
                text = self.scrub(str(exc))
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
                self.retry.sleep(self.retry.delay(attempt, retry_after(response)))
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
                    raise DeadlineExceeded from None
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
                    raise DeadlineExceeded from None
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
                raise DeadlineExceeded
        return b"".join(chunks)
