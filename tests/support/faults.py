"""Network faults and process death, injected between the HTTP driver and a real store.

`FaultyTransport` wraps a transport that reaches the real server (for instance the
in-process ASGI transport of tests/store/asgi.py) and, request by request, follows a
script of faults: some stop a request before the server sees it, some let the server
act and then lose or spoil the answer. A kill point raises `ProcessKilled` at one
store write, and from then on every request, as if the process had died there.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

#: the server never sees the request
BEFORE = ("reset", "429", "502", "503", "500")
#: the server acts on the request, then the answer is lost or replaced
AFTER = ("lost", "502-after", "500-after")
FAULTS = BEFORE + AFTER
#: the faults the HTTP driver retries (with its idempotency keys, also for writes)
RETRIED = ("reset", "429", "502", "503", "lost", "502-after")


class ProcessKilled(BaseException):
    """The apply process died here (a BaseException: a dying process runs no handlers)."""


@dataclass
class Record:
    method: str
    path: str
    fault: str | None  # None: passed through untouched


def is_store_write(request: httpx.Request) -> bool:
    """A write to the store's content (resources, batches, settings), not to the lock."""
    return request.method in ("PUT", "POST", "DELETE") and not request.url.path.endswith("/lock")


def is_lock_request(request: httpx.Request) -> bool:
    return request.method in ("POST", "DELETE") and request.url.path.endswith("/lock")


class FaultyTransport(httpx.BaseTransport):
    """Forwards to `inner`; `faults` maps request numbers (counting from 0, retries
    included) to the fault that request meets; the others pass untouched. With `kill_at=N` the process dies at
    its N-th store write (counting from 0): before the server sees it, or with
    `kill_after` once the server has committed it. `spare(request, fault)` true lets
    that request through untouched."""

    def __init__(
        self,
        inner: httpx.BaseTransport,
        faults: Mapping[int, str] | None = None,
        *,
        kill_at: int | None = None,
        kill_after: bool = False,
        spare: Callable[[httpx.Request, str], bool] | None = None,
    ) -> None:
        unknown = set((faults or {}).values()) - set(FAULTS)
        assert not unknown, f"unknown faults {unknown}"
        self.inner = inner
        self.faults = dict(faults or {})
        self.requests = 0
        self.kill_at = kill_at
        self.kill_after = kill_after
        self.spare = spare
        self.store_writes = 0
        self.killed = False
        self.records: list[Record] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        if self.killed:
            raise ProcessKilled("the apply process is gone")
        if is_store_write(request):
            n = self.store_writes
            self.store_writes += 1
            if n == self.kill_at:
                if self.kill_after:
                    self.inner.handle_request(request)
                self.killed = True
                raise ProcessKilled(f"killed at store write {n} ({request.method} {request.url})")
        fault = self.faults.get(self.requests)
        self.requests += 1
        if fault is not None and self.spare is not None and self.spare(request, fault):
            fault = None
        self.records.append(Record(request.method, request.url.path, fault))
        if fault == "reset":
            raise httpx.ConnectError("connection reset before the request was sent")
        if fault == "429":
            return _answer(request, 429, {"Retry-After": "0"}, "rate_limited")
        if fault in ("502", "503", "500"):
            return _answer(request, int(fault), {}, "unavailable")
        response = self.inner.handle_request(request)
        if fault == "lost":
            response.close()
            raise httpx.ReadError("connection reset by peer")
        if fault in ("502-after", "500-after"):
            response.close()
            return _answer(request, int(fault[:3]), {}, "bad_gateway")
        return response

    def injected(self) -> set[str]:
        """The faults that requests met."""
        return {r.fault for r in self.records if r.fault is not None}

    def last_lock_request_failed(self) -> bool:
        """Whether the last lock request (take or release) met a fault: then the lock
        may be held although the driver gave up on it."""
        for record in reversed(self.records):
            if record.path.endswith("/lock") and record.method in ("POST", "DELETE"):
                return record.fault is not None
        return False


def _answer(
    request: httpx.Request, status: int, headers: dict[str, str], slug: str
) -> httpx.Response:
    body = {"error": slug, "message": f"injected fault {status}"}
    return httpx.Response(status, headers=headers, json=body, request=request)


def close_files_under(directory: Path) -> int:
    """Close this process's descriptors of files under `directory`, as the OS does for a
    process that died (the journal of a killed apply stays open otherwise). Linux only;
    elsewhere nothing is closed. Returns how many were closed."""
    fd_dir = Path("/proc/self/fd")
    if not fd_dir.is_dir():
        return 0
    root = str(directory.resolve())
    closed = 0
    for entry in list(fd_dir.iterdir()):
        try:
            target = os.readlink(entry)
        except OSError:
            continue
        if target.startswith(root + os.sep):
            try:
                os.close(int(entry.name))
                closed += 1
            except OSError:
                pass
    return closed
