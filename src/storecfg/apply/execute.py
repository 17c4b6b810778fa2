"""Execute a plan: record and snapshot first, then journaled writes in dependency order.

The order (levels, batches, a replace's delete and create) is order.py's. Within a
level, batches are sent with `StoreDriver.write_batch` (one round trip and one
transaction each), and over HTTP several run at once. Every write carries the
revision the plan saw (If-Match / If-None-Match) and an Idempotency-Key derived from
the plan and the address, so retries — and a re-run after a crash — never duplicate
anything; each is journaled before it is sent and after its result. On the first
failure nothing new is started; batches already running finish, and the outcome
says what succeeded, failed and was not attempted.

Before the first write the apply is recorded in the store and the store snapshots
itself (`history.ApplyRecorder`); every write carries the apply's ID, which marks it as
storecfg's and moves the record's progress in the same store transaction.

`Executor` is one run: its state (the outcome, the stop flag, the progress count) is
its attributes, and its steps are its methods.
"""

from __future__ import annotations

import concurrent.futures as cf
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
from .order import batches, change_writes, idempotency_key, levels
from .plandoc import Change, Plan, WriteAction

#: what the store settings are called in the journal, the outcome and progress
SETTINGS_ADDRESS = "store.settings"


@dataclass
class Progress:
    event: str  # "write" | "done" | "failed"
    address: str
    action: WriteAction
    done: int
    total: int
    error: str = ""


@dataclass
class Outcome:
    snapshot: SnapshotRef | None = None
    journal: Path | None = None
    succeeded: list[tuple[str, WriteAction]] = field(default_factory=list)
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (address, action, error)
    not_attempted: list[tuple[str, WriteAction]] = field(default_factory=list)
    conflict: bool = False

    @property
    def ok(self) -> bool:
        return not self.failed and not self.not_attempted

    def counts(self) -> dict[str, int]:
        out = {"create": 0, "update": 0, "delete": 0, "replace": 0, "settings": 0}
        for _, action in self.succeeded:
            out[action] = out.get(action, 0) + 1
        return out


class _Target:
    """What a failure is about: a change of the plan, or the store settings."""

    def __init__(self, address: str, action: WriteAction, revision: int | None) -> None:
        self.address, self.action, self.revision = address, action, revision

    @classmethod
    def of(cls, change: Change) -> _Target:
        action = change["action"]
        assert action != "no-op"  # no-ops are never executed
        return cls(change["address"], action, change["revision"])


class ProgressCounter:
    """Tells `progress` (if any) about each write, counting the finished ones; safe to
    call from the threads that run batches."""

    def __init__(self, progress: Callable[[Progress], None] | None, total: int) -> None:
        self.progress = progress
        self.total = total
        self.done = 0
        self._lock = threading.Lock()

    def __call__(self, event: str, address: str, action: WriteAction, error: str = "") -> None:
        if self.progress is None:
            return
        with self._lock:
            if event in ("done", "failed"):
                self.done += 1
            done = self.done
        self.progress(Progress(event, address, action, done, self.total, error))


class Executor:
    """One run of a plan's writes against one store, journaled, after its snapshot."""

    def __init__(
        self,
        plan: Plan,
        driver: StoreDriver,
        store_id: str,
        journal: Journal,
        outcome: Outcome,
        *,
        apply_id: str | None,
        lock: HeldLock | None,
        report: ProgressCounter,
        parallelism: int | None,
        batch_size: int | None,
    ) -> None:
        self.plan = plan
        self.plan_id = plan["plan_id"]
        self.driver = driver
        self.store_id = store_id
        self.journal = journal
        self.outcome = outcome
        self.apply_id = apply_id
        self.lock = lock
        self.report = report
        self.workers = max(1, parallelism or driver.default_parallelism)
        self.batch_size = batch_size or driver.batch_size
        #: set on the first failure (and on Ctrl-C): nothing new is started
        self.stop = threading.Event()

    def halted(self) -> bool:
        return self.stop.is_set() or (self.lock is not None and self.lock.lost.is_set())

    def run(self, changes: list[Change]) -> None:
        """The settings first, then the changes level by level (batches of a level at
        once on a pool when there are several workers)."""
        if self.plan["settings"]["action"] != "no-op":
            self.run_settings()
        pool = (
            cf.ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="storecfg-apply")
            if self.workers > 1
            else None
        )
        try:
            for group in levels(changes):
                chunks = batches(group, self.batch_size)
                if self.halted():
                    self.outcome.not_attempted.extend(_pairs(group))
                    continue
                if pool is None or len(chunks) == 1:
                    for chunk in chunks:
                        self.run_batch(chunk)
                else:
                    futures = [pool.submit(self.run_batch, chunk) for chunk in chunks]
                    for fut in cf.as_completed(futures):
                        fut.result()
        except BaseException:
            self.stop.set()  # Ctrl-C: the batches still queued in this level are not started
            raise
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=False)

    def fail(
        self,
        target: _Target,
        exc: StoreError,
        *,
        unknown: bool = False,
        note: str = "",
        after: str = "",
    ) -> None:
        """Record a write that failed (`unknown`: the store may have applied it) and stop."""
        self.stop.set()
        if isinstance(exc, ConflictError):
            self.outcome.conflict = True
        message = failure_message(target.address, target.revision, exc)
        if unknown:
            message += " (the store may or may not have applied it; `storecfg plan` tells)"
        if note:
            message = f"{note}: {message}"
        if after:
            message = f"{message} {after}"
        self.journal.write(
            "failed",
            address=target.address,
            action=target.action,
            status=exc.status,
            error=message,
            outcome="unknown" if unknown else "refused",
        )
        self.outcome.failed.append((target.address, target.action, message))
        self.report("failed", target.address, target.action, message)

    def run_settings(self) -> None:
        address, settings = SETTINGS_ADDRESS, self.plan["settings"]
        if self.halted():
            self.outcome.not_attempted.append((address, "settings"))
            return
        key = idempotency_key(self.plan_id, address, "settings")
        self.journal.write("begin", address=address, action="settings", key=key)
        self.report("write", address, "settings")
        try:
            item = self.driver.put_settings(
                self.store_id,
                settings["after"],
                if_match=settings["revision"],
                idempotency_key=key,
                apply_id=self.apply_id,
            )
        except StoreError as exc:
            self.fail(_Target(address, "settings", settings["revision"]), exc)
            return
        self.journal.write("done", address=address, action="settings", revision=item.revision)
        self.outcome.succeeded.append((address, "settings"))
        self.report("done", address, "settings")

    def run_batch(self, chunk: list[Change]) -> None:
        """One batch: journaled, sent, and each change's result journaled and counted."""
        if self.halted():
            self.outcome.not_attempted.extend(_pairs(chunk))
            return
        planned = [(_Target.of(change), change_writes(self.plan_id, change)) for change in chunk]
        self.journal.write_many(
            [
                {
                    "event": "begin",
                    "address": target.address,
                    "action": target.action,
                    "phase": phase,
                    "key": op.idempotency_key,
                    "revision": target.revision,
                }
                for target, ops in planned
                for phase, op in ops
            ]
        )
        for target, _ in planned:
            self.report("write", target.address, target.action)
        try:
            results = iter(
                _send(
                    self.driver,
                    self.store_id,
                    [op for _, ops in planned for _, op in ops],
                    self.apply_id,
                )
            )
        except StoreError as exc:
            # the request as a whole failed: what the store did is unknown, plan will tell
            for target, _ in planned:
                self.fail(target, exc, unknown=exc.status in (0, 500, 502, 503, 504))
            return
        events: list[dict[str, Any]] = []
        for target, ops in planned:
            outcomes = [next(results, WriteResult(0)) for _ in ops]
            events = self._settle(target, outcomes, events)
        self.journal.write_many(events)

    def _settle(
        self, target: _Target, outcomes: list[WriteResult], events: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Take in the results of one change's writes; returns the journal events still
        to write (a failure writes those before it at once, to keep their order)."""
        address, action = target.address, target.action
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
            self.journal.write_many(events)
            if error is None:  # the store did not answer for the create
                error = StoreError("the store did not report the create", 502)
            note = after = ""
            if deleted:
                note = f"{address} was deleted and NOT re-created"
            elif action == "replace" and outcomes[0].status == 424:
                after = f"Nothing changed: the delete of {address} was rolled back with it."
            self.fail(target, error, note=note, after=after)
            return []
        if any(r.status == 0 for r in outcomes):
            self.outcome.not_attempted.append((address, action))
            return events
        revision = outcomes[-1].item.revision if outcomes[-1].item is not None else None
        if action == "replace":
            events.append({"event": "deleted", "address": address, "action": action})
        events.append({"event": "done", "address": address, "action": action, "revision": revision})
        self.outcome.succeeded.append((address, action))
        self.report("done", address, action)
        return events


def _pairs(changes: list[Change]) -> list[tuple[str, WriteAction]]:
    return [(t.address, t.action) for t in map(_Target.of, changes)]


def execute(
    plan: Plan,
    driver: StoreDriver,
    live: LiveState,
    *,
    state_dir: Path,
    parallelism: int | None = None,
    lock: HeldLock | None = None,
    progress: Callable[[Progress], None] | None = None,
    batch_size: int | None = None,
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
    total = len(changes) + (1 if settings["action"] != "no-op" else 0)
    with Journal(state_dir / "journal", store_id, plan_id) as journal:
        outcome.journal = journal.path
        journal.write(
            "start",
            sync=True,
            plan_id=plan_id,
            store=store_id,
            revision=live.revision,
            total=total,
            snapshot=outcome.snapshot.id,
        )
        executor = Executor(
            plan,
            driver,
            store_id,
            journal,
            outcome,
            apply_id=recorder.apply_id,
            lock=lock,
            report=ProgressCounter(progress, total),
            parallelism=parallelism,
            batch_size=batch_size,
        )
        try:
            executor.run(changes)
        except KeyboardInterrupt:
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
    recorder.finish(status)
    return outcome


def _send(
    driver: StoreDriver, store_id: str, ops: list[WriteOp], apply_id: str | None = None
) -> list[WriteResult]:
    """One batch to the store (a seam for tests that race another writer)."""
    return driver.write_batch(store_id, ops, apply_id)


def failure_message(address: str, revision: int | None, exc: StoreError) -> str:
    """Why the write of `address` (planned at `revision`) failed, for people."""
    if isinstance(exc, ConflictError):
        if "current_revision" in exc.details:
            saw = revision
            now = exc.details["current_revision"]
            detail = (
                f"the plan saw it {'absent' if saw is None else f'at revision {saw}'}, "
                f"it is {'gone' if now is None else f'at revision {now}'} now"
            )
        else:
            detail = exc.message
        return (
            f"conflict: {address} changed in the store since the plan was made "
            f"({detail}); nothing was forced. Run `storecfg plan` again."
        )
    if exc.diagnostics:
        lines = "; ".join(f"{d.get('address')}: {d.get('message')}" for d in exc.diagnostics[:5])
        return f"{exc.message} [{lines}]"
    return exc.message
