"""Applies that go wrong: a conflicting writer, a killed process, two applies at once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from storecfg.apply import execute
from storecfg.compiler.compile import compile_store
from storecfg.errors import StoreError
from storecfg.store.http import HttpDriver
from storecfg.store.records import WriteOp
from storecfg.store.sqlite import SqliteDriver

from .conftest import Result, Target, make_target
from .stores import big_store, edit


def ok(result: Result, code: int = 0) -> Result:
    assert result.exit_code == code, result.output
    return result


def done_writes(t: Target) -> int:
    return sum(
        line.startswith('{"event": "done"')
        for path in t.journals()
        for line in path.read_text().splitlines()
    )


def wait_for(condition: Any, timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


class Apply:
    """`storecfg apply --auto-approve s` running in a subprocess (output to files: the
    plan it prints is long, and a full pipe would stall it)."""

    def __init__(self, t: Target, *args: str) -> None:
        self.out_path = t.workdir / f"apply-{id(self)}.out"
        self.err_path = t.workdir / f"apply-{id(self)}.err"
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "storecfg", "apply", "--auto-approve", "s", *args],
                cwd=t.workdir,
                env={**os.environ, **t.env, "NO_COLOR": "1"},
                stdout=out,
                stderr=err,
            )
        self.pid = self.proc.pid

    def running(self) -> bool:
        return self.proc.poll() is None

    def wait(self, timeout: float = 120) -> Result:
        code = self.proc.wait(timeout)
        return Result(code, self.out_path.read_text(), self.err_path.read_text())

    def kill(self) -> None:
        if self.running():
            self.proc.kill()
            self.proc.wait(30)


def desired_specs(t: Target) -> dict[str, dict[str, Any]]:
    result = compile_store(t.store_dir)
    assert result.desired is not None
    return {k: v for k, v in result.desired.resources.items() if v}


def live_specs(t: Target) -> dict[str, dict[str, Any]]:
    live = t.read()
    return {k: {rid: r.spec for rid, r in v.items()} for k, v in live.resources.items() if v}


# ------------------------------------------------------------------ a conflicting writer


def test_a_412_mid_apply_stops_and_forces_nothing(
    target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    ok(target.cli("apply", "s", "--auto-approve"))
    pro_revision = target.read().resources["service_plans"]["pro"].revision
    edit(target.store_dir, "catalog.yaml", 'recurring: "40.00"', 'recurring: "44.00"')
    edit(target.store_dir, "storefront.yaml", "name: Apps,", "name: Applications,")
    edit(target.store_dir, "storefront.yaml", "{id: standard,", "{id: standard, name: Standard,")
    real_send = execute._send
    raced: list[int] = []

    def racing_send(
        driver: Any, store_id: str, ops: list[WriteOp], apply_id: str | None = None
    ) -> Any:
        if any((op.kind, op.id) == ("service_plans", "pro") for op in ops) and not raced:
            # somebody edits the plan in the control panel between plan and write
            raced.append(target.put("service_plans", "pro", {"name": "Pro (control panel)"}))
        return real_send(driver, store_id, ops, apply_id)

    monkeypatch.setattr(execute, "_send", racing_send)
    result = ok(target.cli("apply", "s", "--auto-approve"), 1)
    assert raced
    err = result.stderr
    assert "Apply failed." in err
    assert (
        "  failed:        service_plans.pro (update): conflict: service_plans.pro changed in the "
        f"store since the plan was made (the plan saw it at revision {pro_revision}, it is at "
        f"revision {raced[0]} now); nothing was forced. Run `storecfg plan` again.\n" in err
    )
    assert "  not attempted: " in err and "sales_categories.apps" in err
    assert "  succeeded:     " in err
    [_, snapshot] = target.snapshots()
    assert (
        f"The store as it was before this apply is in backup {snapshot.id} (kept in the store, "
        f"a copy in .storecfg/snapshots/{target.store_id}/{snapshot.id}.json); " in err
    )
    assert f"`storecfg backup restore {snapshot.id}` puts it back" in err
    [record, _] = target.applies()
    assert record.status == "failed" and record.finished_at is not None
    assert "Traceback" not in result.output
    live = target.read()
    pro = live.resources["service_plans"]["pro"]
    assert pro.revision == raced[0]
    assert pro.spec["name"] == "Pro (control panel)" and pro.spec["price"]["recurring"] == "40.00"
    assert live.resources["sales_categories"]["apps"].spec["name"] == "Apps"
    journal = [json.loads(line) for line in target.journals()[-1].read_text().splitlines()]
    assert journal[-1]["event"] == "end" and journal[-1]["status"] == "failed"
    assert any(e["event"] == "failed" and e.get("status") == 412 for e in journal)
    # the next plan shows what is left; applying it converges
    monkeypatch.setattr(execute, "_send", real_send)
    plan = json.loads(ok(target.cli("plan", "s", "--format", "json")).stdout)
    left = {c["address"] for c in plan["changes"] if c["action"] != "no-op"}
    assert {"service_plans.pro", "sales_categories.apps"} <= left
    assert plan["interrupted_apply"] is None  # it failed and said so: not interrupted
    ok(target.cli("apply", "s", "--auto-approve"))
    ok(target.cli("plan", "s", "--detailed-exitcode"))
    assert live_specs(target) == desired_specs(target)


def test_no_snapshot_no_apply(target: Target, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise StoreError("store database is unavailable: disk I/O error", 503)

    for driver_class in (SqliteDriver, HttpDriver):
        monkeypatch.setattr(driver_class, "create_snapshot", refuse)
    result = ok(target.cli("apply", "s", "--auto-approve"), 1)
    assert "cannot take the snapshot in the store: store database is unavailable" in result.stderr
    assert "nothing was applied" in result.stderr
    assert target.read().count() == 0 and target.read().revision == 0
    [record] = target.applies()
    assert (record.status, record.writes_done) == ("failed", 0)
    monkeypatch.undo()
    # the local copy asked for cannot be written: nothing is applied either
    (target.workdir / "in-the-way").write_text("a file where the backup folder should be")
    result = ok(target.cli("apply", "s", "--auto-approve", "--backup-dir", "in-the-way/x"), 1)
    assert "cannot write the local copy of snapshot" in result.stderr
    assert "nothing was applied" in result.stderr
    assert target.read().count() == 0 and target.read().revision == 0
    # nor when the local snapshot file every apply leaves cannot be written
    (target.workdir / ".storecfg" / "snapshots").write_text("a file where the folder should be")
    result = ok(target.cli("apply", "s", "--auto-approve"), 1)
    assert "cannot write the local copy of snapshot" in result.stderr
    assert f" to .storecfg/snapshots/{target.store_id}/" in result.stderr
    assert "nothing was applied" in result.stderr
    assert target.read().count() == 0 and target.read().revision == 0


# ------------------------------------------------------------------ kill -9


def test_sigkill_midway_then_plan_and_reapply_converge(sqlite_target: Target) -> None:
    t = sqlite_target
    n = 3000
    total = n + 2  # plans, the SKU, the category
    t.write(big_store(n))
    apply = Apply(t)
    try:
        wait_for(lambda: done_writes(t) >= 300 or not apply.running(), 120, "300 writes")
        os.kill(apply.pid, signal.SIGKILL)
        killed = apply.wait(30)
    finally:
        apply.kill()
    assert killed.exit_code == -signal.SIGKILL, killed.stderr
    written = t.read().count()
    assert 300 <= written < total, "the apply finished before it was killed"

    result = ok(t.cli("plan", "s"))
    # the dead process's lock has not expired yet: it may still be running, as far as
    # the store can tell
    for out in (result.stdout, result.stderr):
        assert "Warning: the last apply (plan " in out
        assert f" of {total + 1} writes so far, and it holds the store's lock until " in out
        assert "this plan shows only what is left to do" in out
    plan = json.loads(ok(t.cli("plan", "s", "--format", "json")).stdout)
    assert plan["summary"] == {
        "create": total - written, "update": 0, "replace": 0, "delete": 0, "no-op": written
    }  # fmt: skip
    assert plan["settings"]["action"] == "no-op"  # written first, before the kill
    interrupted = plan["interrupted_apply"]
    assert interrupted["total"] == total + 1 and interrupted["done"] >= 300
    assert interrupted["snapshot"] == t.snapshots()[0].id
    assert interrupted["status"] == "running"

    # the dead apply still holds the lock; its process is gone from this host, so the
    # next apply releases it at once and says so
    driver = t.driver()
    held = driver.get_lock(t.store_id)
    driver.close()
    assert held is not None and held.owner["pid"] == apply.pid
    result = ok(t.cli("apply", "s", "--auto-approve"))
    released = result.stderr.splitlines()[0]
    assert released.startswith(f"Released the apply lock {held.lock_id} of an apply that is no")
    assert f"pid {apply.pid}" in released
    assert f"Apply complete: {total - written} created, 0 updated, 0 deleted." in result.stdout
    # its lock gone, the dead apply reads as interrupted, and says how far it got
    assert (
        f"was interrupted after {written + 1} of {total + 1} writes; "
        "this plan shows only what is left to do" in result.stdout
    )
    [latest, dead] = t.applies()
    assert dead.status == "interrupted" and 300 <= dead.writes_done == written + 1
    assert (latest.status, latest.writes_done) == ("complete", total - written)
    # over 200 writes, progress is a line every 10%
    assert result.stderr.splitlines()[-1] == f"  applied {total - written}/{total - written} (100%)"
    assert len(result.stderr.splitlines()) <= 12

    result = ok(t.cli("plan", "s", "--detailed-exitcode"))
    assert "No changes." in result.stdout and "interrupted" not in result.stdout
    live = live_specs(t)
    assert sum(len(v) for v in live.values()) == total
    assert live == desired_specs(t)


# ------------------------------------------------------------------ two applies at once


def test_two_applies_at_once_over_http(http_target: Target) -> None:
    t = http_target
    t.write(big_store(400))
    first = Apply(t)
    waiting: Apply | None = None
    try:
        wait_for(lambda: done_writes(t) >= 1 or not first.running(), 60, "the first write")
        # hold the first apply mid-way (with its lock), however fast this machine is
        os.kill(first.pid, signal.SIGSTOP)
        assert first.running() and '"event": "end"' not in t.journals()[-1].read_text()
        second = t.run("apply", "--auto-approve", "s")
        waiting = Apply(t, "--lock-timeout", "2m")
        time.sleep(0.5)
        os.kill(first.pid, signal.SIGCONT)
        done = first.wait()
        waited = waiting.wait()
    finally:
        if first.running():
            os.kill(first.pid, signal.SIGCONT)
        first.kill()
        if waiting is not None:
            waiting.kill()
    assert done.exit_code == 0, done.stderr
    assert "Apply complete: 402 created" in done.stdout
    assert second.exit_code == 1, second.output
    assert "is locked: lock " in second.stderr and f"(pid {first.pid})" in second.stderr
    assert waited.exit_code == 0, waited.stderr
    assert "No changes." in waited.stdout
    # only the first apply wrote: one snapshot, one journal
    assert len(t.snapshots()) == 1 and len(t.journals()) == 1
    ok(t.cli("plan", "s", "--detailed-exitcode"))
    assert t.read().count() == 402


# ------------------------------------------------------------------ Ctrl-C


@pytest.mark.parametrize("driver_name", ["sqlite", "http"])
def test_ctrl_c_stops_soon_releases_the_lock_and_is_reported(
    driver_name: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    t = make_target(driver_name, tmp_path, request)
    n = 2000
    total = n + 2
    t.write(big_store(n))
    apply = Apply(t)
    try:
        wait_for(lambda: done_writes(t) >= 200 or not apply.running(), 120, "200 writes")
        os.kill(apply.pid, signal.SIGINT)
        stopped = apply.wait(30)
    finally:
        apply.kill()
    assert stopped.exit_code == 130, stopped.stderr
    assert "Error: interrupted" in stopped.stderr and "Traceback" not in stopped.stderr
    written = t.read().count()
    assert written < total - 500, "Ctrl-C did not stop the queued writes"
    events = [json.loads(line) for line in t.journals()[-1].read_text().splitlines()]
    assert events[-1]["event"] == "end" and events[-1]["status"] == "interrupted"
    # the lock was released on the way out, and the next plan says what happened
    plan = json.loads(ok(t.cli("plan", "s", "--format", "json")).stdout)
    assert plan["interrupted_apply"] is not None
    assert plan["summary"]["create"] == total - written
    ok(t.cli("apply", "s", "--auto-approve"))
    assert live_specs(t) == desired_specs(t)


def test_a_create_racing_an_out_of_band_create(
    sqlite_target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = sqlite_target
    ok(t.cli("apply", "s", "--auto-approve"))
    edit(
        t.store_dir,
        "catalog.yaml",
        "skus:\n",
        "skus:\n  - {id: sku-new, name: New, vendor: V, source: custom}\n",
    )
    real_send = execute._send

    def racing_send(
        driver: Any, store_id: str, ops: list[WriteOp], apply_id: str | None = None
    ) -> Any:
        if any((op.kind, op.id) == ("skus", "sku-new") for op in ops):
            driver.put(
                store_id,
                "skus",
                "sku-new",
                {"name": "Theirs", "vendor": "V", "source": "custom"},
                create=True,
            )
        return real_send(driver, store_id, ops, apply_id)

    monkeypatch.setattr(execute, "_send", racing_send)
    result = ok(t.cli("apply", "s", "--auto-approve"), 1)
    assert (
        "failed:        skus.sku-new (create): conflict: skus.sku-new changed in the store since "
        "the plan was made (the plan saw it absent, it is at revision " in result.stderr
    )
    assert t.read().resources["skus"]["sku-new"].spec["name"] == "Theirs"
