"""Execute a plan: record and snapshot first, then journaled writes in dependency order.

Writes go level by level, in an order that never leaves a reference dangling (the
store refuses such writes): a create comes before the writes that refer to it, and
the delete of a resource comes after every change that stops referring to it (an
update that drops the reference, the delete of what refers to it). Writes within a
level are independent: they are sent in batches (`StoreDriver.write_batch`, one round trip
and one transaction per batch), and over HTTP several batches run at once. Every
write carries the revision the plan saw (If-Match / If-None-Match) and an
Idempotency-Key derived from the plan and the address, so retries — and a re-run
after a crash — never duplicate anything; each is journaled before it is sent and
after its result. On the first failure nothing new is started; batches already
running finish, and the outcome says what succeeded, failed and was not attempted.

Before the first write the apply is recorded in the store and the store snapshots
itself (`history.ApplyRecorder`); every write carries the apply's ID, which marks it as
storecfg's and moves the record's progress in the same store transaction.
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
from ..store.records import WriteOp, WriteResult
from .history import ApplyRecorder, SnapshotRef
from .journal import Journal
from .lock import HeldLock
from .plan import _dependencies, graph_levels


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
    snapshot: SnapshotRef | None = None
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
    """Group changes into levels that can run in parallel, in execution order.

    After every level (and every batch of one) the store's references all resolve:
    - a write comes after the creates, replaces and updates of what it refers to;
    - a delete comes after every change that stops referring to what it deletes
      (updates and replaces that drop the reference, deletes of the referrers).
    A replace deletes and creates again in one batch, so what keeps referring to it
    never sees it missing.
    """
    action = {c["address"]: c["action"] for c in changes}
    deps: dict[str, list[str]] = {a: [] for a in action}
    for c in changes:
        addr, kind = c["address"], c["kind"]
        after = set(_dependencies(kind, c["after"] or {})) if c["action"] != "delete" else set()
        for target in after:  # (updates too: what a write names is written first)
            if target != addr and action.get(target) in ("create", "update", "replace"):
                deps[addr].append(target)
        if c["action"] in ("update", "replace", "delete"):
            for target in set(_dependencies(kind, c["before"] or {})) - after:
                if target != addr and action.get(target) == "delete":
                    deps[target].append(addr)
    level = graph_levels(deps)
    groups: dict[int, list[dict[str, Any]]] = {}
    for c in changes:  # keep plan order inside a level
        groups.setdefault(level[c["address"]], []).append(c)
    return [groups[k] for k in sorted(groups)]


#: writes per batch, and the text size (in characters) a batch aims to stay under
BATCH_SIZE = 100
BATCH_CHARS = 4 * 1024 * 1024


def _ops(plan_id: str, change: dict[str, Any]) -> list[tuple[str, WriteOp]]:
    """The writes one change needs, each with its journal phase: a replace is a
    delete then a create, in the same batch and one group (all or nothing)."""
    address, action, kind, rid = change["address"], change["action"], change["kind"], change["id"]
    group = address if action == "replace" else None
    out: list[tuple[str, WriteOp]] = []
    if action in ("delete", "replace"):
        key = idempotency_key(plan_id, address, "delete")
        out.append(
            (
                "delete",
                WriteOp(
                    "delete",
                    kind,
                    rid,
                    if_match=change["revision"],
                    idempotency_key=key,
                    group=group,
                ),
            )
        )
    source = change.get("file")
    if action in ("create", "replace"):
        key = idempotency_key(plan_id, address, "create")
        op = WriteOp(
            "put", kind, rid, change["after"], create=True, idempotency_key=key, group=group
        )
        op.source = source
        out.append(("create", op))
    elif action == "update":
        key = idempotency_key(plan_id, address, "update")
        out.append(
            (
                "update",
                WriteOp(
                    "put",
                    kind,
                    rid,
                    change["after"],
                    if_match=change["revision"],
                    idempotency_key=key,
                    source=source,
                ),
            )
        )
    return out


def _text_size(value: Any) -> int:
    """About how many characters a spec serializes to (strings dominate)."""
    if isinstance(value, str):
        return len(value) + 2
    if isinstance(value, dict):
        return sum(len(k) + 4 + _text_size(v) for k, v in value.items()) + 2
    if isinstance(value, list):
        return sum(_text_size(v) + 1 for v in value) + 2
    return 8


#: kinds whose resources can hold long texts (terms bodies, custom CSS)
_LONG_TEXT_KINDS = frozenset({"terms", "customization", "service_plans"})


def batches(group: list[dict[str, Any]], size: int = BATCH_SIZE) -> list[list[dict[str, Any]]]:
    """A level's changes cut into batches of at most `size` writes and ~BATCH_CHARS."""
    out: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    writes = chars = 0
    for change in group:
        n = 2 if change["action"] == "replace" else 1
        weight = _text_size(change.get("after")) if change["kind"] in _LONG_TEXT_KINDS else 0
        if current and (writes + n > size or chars + weight > BATCH_CHARS):
            out.append(current)
            current, writes, chars = [], 0, 0
        current.append(change)
        writes += n
        chars += weight
    if current:
        out.append(current)
    return out


def execute(
    plan: dict[str, Any],
    driver: StoreDriver,
    live: LiveState,
    *,
    state_dir: Path,
    parallelism: int | None = None,
    lock: HeldLock | None = None,
    progress: Callable[[Progress], None] | None = None,
    batch_size: int = BATCH_SIZE,
    recorder: ApplyRecorder | None = None,
) -> Outcome:
    """Apply `plan` to the store `live` was read from (under the apply lock)."""
    outcome = Outcome()
    changes = [c for c in plan["changes"] if c["action"] != "no-op"]
    settings = plan["settings"]
    if not changes and settings["action"] == "no-op":
        return outcome
    store_id, plan_id = live.store_id, plan["plan_id"]
    if recorder is None:
        from .provenance import collect

        recorder = ApplyRecorder(
            driver,
            store_id,
            plan,
            source=collect(None, "apply"),
            lock_id=lock.info.lock_id if lock is not None else None,
            reason="apply",
            state_dir=state_dir,
        )
    # Record and snapshot first: if either cannot be done, nothing is applied.
    outcome.snapshot = recorder.begin(live)
    apply_id = recorder.apply_id
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

    def halted() -> bool:
        return stop.is_set() or (lock is not None and lock.lost.is_set())

    def fail(
        change: dict[str, Any],
        exc: StoreError,
        *,
        unknown: bool = False,
        note: str = "",
        after: str = "",
    ) -> None:
        stop.set()
        if isinstance(exc, ConflictError):
            outcome.conflict = True
        address, action = change["address"], change["action"]
        message = _failure_message(change, exc)
        if unknown:
            message += " (the store may or may not have applied it; `storecfg plan` tells)"
        if note:
            message = f"{note}: {message}"
        if after:
            message = f"{message} {after}"
        journal.write(
            "failed",
            address=address,
            action=action,
            status=exc.status,
            error=message,
            outcome="unknown" if unknown else "refused",
        )
        outcome.failed.append((address, action, message))
        report("failed", address, action, message)

    def run_settings() -> None:
        address = "store.settings"
        if halted():
            outcome.not_attempted.append((address, "settings"))
            return
        key = idempotency_key(plan_id, address, "settings")
        journal.write("begin", address=address, action="settings", key=key)
        report("write", address, "settings")
        try:
            item = driver.put_settings(
                store_id,
                settings["after"],
                if_match=settings["revision"],
                idempotency_key=key,
                apply_id=apply_id,
            )
        except StoreError as exc:
            fail({"address": address, "action": "settings", "revision": settings["revision"]}, exc)
            return
        journal.write("done", address=address, action="settings", revision=item.revision)
        outcome.succeeded.append((address, "settings"))
        report("done", address, "settings")

    def run_batch(chunk: list[dict[str, Any]]) -> None:
        if halted():
            outcome.not_attempted.extend((c["address"], c["action"]) for c in chunk)
            return
        planned = [(change, _ops(plan_id, change)) for change in chunk]
        journal.write_many(
            [
                {
                    "event": "begin",
                    "address": c["address"],
                    "action": c["action"],
                    "phase": phase,
                    "key": op.idempotency_key,
                    "revision": c["revision"],
                }
                for c, ops in planned
                for phase, op in ops
            ]
        )
        for change in chunk:
            report("write", change["address"], change["action"])
        try:
            results = iter(
                _send(driver, store_id, [op for _, ops in planned for _, op in ops], apply_id)
            )
        except StoreError as exc:
            # the request as a whole failed: what the store did is unknown, plan will tell
            for change in chunk:
                fail(change, exc, unknown=exc.status in (0, 500, 502, 503, 504))
            return
        events: list[dict[str, Any]] = []
        for change, ops in planned:
            address, action = change["address"], change["action"]
            outcomes = [next(results, WriteResult(0)) for _ in ops]
            # the first write that failed for itself: not one rolled back with it (424)
            error = next(
                (r.error for r in outcomes if r.error is not None and r.status not in (0, 424)),
                None,
            )
            # a replace whose delete held and whose create did not: the resource is gone
            # (a store that keeps a group all or nothing never answers so; say it loudly)
            deleted = action == "replace" and outcomes[0].error is None and outcomes[0].status != 0
            if error is not None or (deleted and outcomes[-1].status == 0):
                if deleted:
                    events.append({"event": "deleted", "address": address, "action": action})
                journal.write_many(events)
                events = []
                if error is None:  # the store did not answer for the create
                    error = StoreError("the store did not report the create", 502)
                note = after = ""
                if deleted:
                    note = f"{address} was deleted and NOT re-created"
                elif action == "replace" and outcomes[0].status == 424:
                    after = f"Nothing changed: the delete of {address} was rolled back with it."
                fail(change, error, note=note, after=after)
            elif any(r.status == 0 for r in outcomes):
                outcome.not_attempted.append((address, action))
            else:
                revision = outcomes[-1].item.revision if outcomes[-1].item is not None else None
                if action == "replace":
                    events.append({"event": "deleted", "address": address, "action": action})
                events.append(
                    {"event": "done", "address": address, "action": action, "revision": revision}
                )
                outcome.succeeded.append((address, action))
                report("done", address, action)
        journal.write_many(events)

    try:
        if settings["action"] != "no-op":
            run_settings()
        workers = max(1, parallelism or driver.default_parallelism)
        pool = (
            cf.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="storecfg-apply")
            if workers > 1
            else None
        )
        try:
            for group in levels(changes):
                chunks = batches(group, batch_size)
                if halted():
                    outcome.not_attempted.extend((c["address"], c["action"]) for c in group)
                    continue
                if pool is None or len(chunks) == 1:
                    for chunk in chunks:
                        run_batch(chunk)
                else:
                    futures = [pool.submit(run_batch, chunk) for chunk in chunks]
                    for fut in cf.as_completed(futures):
                        fut.result()
        except BaseException:
            stop.set()  # Ctrl-C: the batches still queued in this level are not started
            raise
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=False)
    except KeyboardInterrupt:
        stop.set()
        journal.write("end", sync=True, status="interrupted", succeeded=len(outcome.succeeded))
        journal.close()
        recorder.finish("interrupted")
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
    recorder.finish(status)
    return outcome


def _send(
    driver: StoreDriver, store_id: str, ops: list[WriteOp], apply_id: str | None = None
) -> list[WriteResult]:
    """One batch to the store (a seam for tests that race another writer)."""
    return driver.write_batch(store_id, ops, apply_id)


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
