"""Execute a plan: snapshot first, then journaled writes in dependency order.

Writes go level by level: deletes (dependents before what they depend on), then
creates, updates and replaces (dependencies first). Writes within a level are
independent and run in parallel on HTTP. Every write carries the revision the plan
saw (If-Match / If-None-Match) and an Idempotency-Key derived from the plan and the
address, so retries — and a re-run after a crash — never duplicate anything. On the
first failure nothing new is started; writes already running finish, and the
outcome says what succeeded, failed and was not attempted.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConflictError, StoreError
from ..model import LiveState
from ..store.driver import StoreDriver
from .backup import SnapshotInfo, write_snapshot
from .journal import Journal
from .lock import HeldLock
from .plan import _dependencies


@dataclass
class Progress:
    event: str  # "write" | "done" | "failed"
    address: str
    action: str
    done: int
    total: int
    error: str = ""


@dataclass
class Outcome:
    snapshot: SnapshotInfo | None = None
    journal: Path | None = None
    succeeded: list[tuple[str, str]] = field(default_factory=list)  # (address, action)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (address, action, error)
    not_attempted: list[tuple[str, str]] = field(default_factory=list)
    conflict: bool = False

    @property
    def ok(self) -> bool:
        return not self.failed and not self.not_attempted

    def counts(self) -> dict[str, int]:
        out = {"create": 0, "update": 0, "delete": 0, "replace": 0, "settings": 0}
        for _, action in self.succeeded:
            out[action] = out.get(action, 0) + 1
        return out


def idempotency_key(plan_id: str, address: str, phase: str) -> str:
    return "storecfg-" + hashlib.sha256(f"{plan_id}:{address}:{phase}".encode()).hexdigest()[:40]


def levels(changes: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Group changes into levels that can run in parallel, in execution order."""
    deletes = [c for c in changes if c["action"] == "delete"]
    forward = [c for c in changes if c["action"] in ("create", "update", "replace")]
    return _level(deletes, reverse=True) + _level(forward, reverse=False)


def _level(changes: list[dict[str, Any]], *, reverse: bool) -> list[list[dict[str, Any]]]:
    """Longest-path levels in the reference graph among these changes only."""
    by_address = {c["address"]: c for c in changes}
    deps: dict[str, list[str]] = {}
    for c in changes:
        spec = c["before"] if reverse else c["after"]
        refs = [
            a
            for a in set(_dependencies(c["kind"], spec or {}))
            if a in by_address and a != c["address"]
        ]
        deps[c["address"]] = refs
    if reverse:  # a delete waits for the deletes of whatever refers to it
        flipped: dict[str, list[str]] = {a: [] for a in deps}
        for a, refs in deps.items():
            for r in refs:
                flipped[r].append(a)
        deps = flipped
    level: dict[str, int] = {}
    for start in deps:
        stack: list[tuple[str, int]] = [(start, 0)]
        on_path: set[str] = set()
        while stack:
            node, i = stack[-1]
            if i == 0:
                on_path.add(node)
            edges = deps[node]
            if i < len(edges):
                stack[-1] = (node, i + 1)
                nxt = edges[i]
                if nxt not in level and nxt not in on_path:
                    stack.append((nxt, 0))
                continue
            stack.pop()
            on_path.discard(node)
            level[node] = 1 + max((level[e] for e in edges if e in level), default=-1)
    groups: dict[int, list[dict[str, Any]]] = {}
    for c in changes:  # keep plan order inside a level
        groups.setdefault(level[c["address"]], []).append(c)
    return [groups[k] for k in sorted(groups)]


def execute(
    plan: dict[str, Any],
    driver: StoreDriver,
    live: LiveState,
    *,
    state_dir: Path,
    parallelism: int | None = None,
    lock: HeldLock | None = None,
    progress: Callable[[Progress], None] | None = None,
) -> Outcome:
    """Apply `plan` to the store `live` was read from (under the apply lock)."""
    outcome = Outcome()
    changes = [c for c in plan["changes"] if c["action"] != "no-op"]
    settings = plan["settings"]
    if not changes and settings["action"] == "no-op":
        return outcome
    store_id, plan_id = live.store_id, plan["plan_id"]
    # Snapshot first: if it cannot be written, nothing is applied.
    outcome.snapshot = write_snapshot(live, state_dir / "snapshots", plan["store"]["url"])
    journal = Journal(state_dir / "journal", store_id, plan_id)
    outcome.journal = journal.path
    total = len(changes) + (1 if settings["action"] != "no-op" else 0)
    journal.write(
        "start",
        sync=True,
        plan_id=plan_id,
        store=store_id,
        revision=live.revision,
        total=total,
        snapshot=outcome.snapshot.id,
    )
    stop = threading.Event()
    counter = [0]
    count_lock = threading.Lock()

    def report(event: str, address: str, action: str, error: str = "") -> None:
        if progress is not None:
            with count_lock:
                if event in ("done", "failed"):
                    counter[0] += 1
                done = counter[0]
            progress(Progress(event, address, action, done, total, error))

    def run(change: dict[str, Any]) -> None:
        address, action = change["address"], change["action"]
        if stop.is_set() or (lock is not None and lock.lost.is_set()):
            outcome.not_attempted.append((address, action))
            return
        report("write", address, action)
        try:
            _write(driver, store_id, plan_id, change, journal)
        except StoreError as exc:
            stop.set()
            if isinstance(exc, ConflictError):
                outcome.conflict = True
            message = _failure_message(change, exc)
            journal.write(
                "failed", address=address, action=action, status=exc.status, error=message
            )
            outcome.failed.append((address, action, message))
            report("failed", address, action, message)
            return
        outcome.succeeded.append((address, action))
        report("done", address, action)

    try:
        if settings["action"] != "no-op":
            settings_change = {
                "address": "store.settings",
                "kind": "store",
                "action": "settings",
                "after": settings["after"],
                "revision": settings["revision"],
            }
            run(settings_change)
        workers = max(1, parallelism or driver.default_parallelism)
        pool = (
            cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="storecfg-apply")
            if workers > 1
            else None
        )
        try:
            for group in levels(changes):
                if stop.is_set() or (lock is not None and lock.lost.is_set()):
                    outcome.not_attempted.extend((c["address"], c["action"]) for c in group)
                    continue
                if pool is None or len(group) == 1:
                    for change in group:
                        run(change)
                else:
                    futures = [pool.submit(run, c) for c in group]
                    for fut in cf.as_completed(futures):
                        fut.result()
        except BaseException:
            stop.set()  # Ctrl-C: the writes still queued in this level are not started
            raise
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=False)
    except KeyboardInterrupt:
        stop.set()
        journal.write("end", sync=True, status="interrupted", succeeded=len(outcome.succeeded))
        journal.close()
        raise
    if lock is not None and lock.lost.is_set() and not outcome.failed:
        outcome.failed.append(("-", "lock", f"lost the apply lock: {lock.lost_reason}"))
    status = "complete" if outcome.ok else "failed"
    journal.write(
        "end",
        sync=True,
        status=status,
        succeeded=len(outcome.succeeded),
        failed=len(outcome.failed),
        not_attempted=len(outcome.not_attempted),
    )
    journal.close()
    return outcome


def _failure_message(change: dict[str, Any], exc: StoreError) -> str:
    if isinstance(exc, ConflictError):
        if "current_revision" in exc.details:
            saw = change.get("revision")
            now = exc.details["current_revision"]
            detail = (
                f"the plan saw it {'absent' if saw is None else f'at revision {saw}'}, "
                f"it is {'gone' if now is None else f'at revision {now}'} now"
            )
        else:
            detail = exc.message
        return (
            f"conflict: {change['address']} changed in the store since the plan was made "
            f"({detail}); nothing was forced. Run `storecfg plan` again."
        )
    if exc.diagnostics:
        lines = "; ".join(f"{d.get('address')}: {d.get('message')}" for d in exc.diagnostics[:5])
        return f"{exc.message} [{lines}]"
    return exc.message


def _write(
    driver: StoreDriver, store_id: str, plan_id: str, change: dict[str, Any], journal: Journal
) -> None:
    address, action = change["address"], change["action"]
    kind, rid = change["kind"], change.get("id", "")
    if action == "settings":
        key = idempotency_key(plan_id, address, "settings")
        journal.write("begin", address=address, action=action, key=key)
        item = driver.put_settings(
            store_id, change["after"], if_match=change["revision"], idempotency_key=key
        )
        journal.write("done", address=address, action=action, revision=item.revision)
        return
    if action in ("delete", "replace"):
        key = idempotency_key(plan_id, address, "delete")
        journal.write(
            "begin", address=address, action="delete", key=key, revision=change["revision"]
        )
        driver.delete(store_id, kind, rid, if_match=change["revision"], idempotency_key=key)
        if action == "delete":
            journal.write("done", address=address, action=action)
            return
        journal.write("deleted", address=address, action=action)
    if action in ("create", "replace"):
        key = idempotency_key(plan_id, address, "create")
        journal.write("begin", address=address, action=action, key=key)
        item = driver.put(store_id, kind, rid, change["after"], create=True, idempotency_key=key)
    else:
        key = idempotency_key(plan_id, address, "update")
        journal.write("begin", address=address, action=action, key=key, revision=change["revision"])
        item = driver.put(
            store_id, kind, rid, change["after"], if_match=change["revision"], idempotency_key=key
        )
    journal.write("done", address=address, action=action, revision=item.revision)
