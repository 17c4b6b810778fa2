"""plan / apply / export / backup / lock end to end, on the embedded store and over HTTP."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import stat
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from storecfg.model import LiveState

from .conftest import Result, Target
from .stores import edit

# ------------------------------------------------------------------ helpers


def ok(result: Result, code: int = 0) -> Result:
    assert result.exit_code == code, result.output
    return result


def plan_json(t: Target, *args: str) -> dict[str, Any]:
    result = ok(t.cli("plan", "s", "--format", "json", *args))
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def applied(t: Target) -> Result:
    return ok(t.cli("apply", "s", "--auto-approve"))


def specs(live: LiveState) -> dict[str, Any]:
    """What a store holds, without revisions."""
    return {
        "settings": live.settings,
        "resources": {
            kind: {rid: r.spec for rid, r in items.items()}
            for kind, items in live.resources.items()
            if items
        },
    }


def not_noop(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in plan["changes"] if c["action"] != "no-op"]


# ------------------------------------------------------------------ apply and plan


def test_apply_then_plan_is_empty(target: Target) -> None:
    ok(target.cli("plan", "s", "--detailed-exitcode"), 2)
    result = applied(target)
    assert (
        "Apply complete: 20 created, 0 updated, 0 deleted, store settings updated." in result.stdout
    )
    assert re.search(r"Backup of the store before this apply: \d{8}T\d{6}Z-r0 ", result.stdout)
    # progress in CI logs: one line per write (up to 200 writes)
    progress = result.stderr.splitlines()
    assert progress[0] == "  updated store.settings" and len(progress) == 21
    assert "  created service_plans.enterprise" in progress
    result = ok(target.cli("plan", "s", "--detailed-exitcode"))
    assert "No changes. The live store matches the definition." in result.stdout
    live = target.read()
    assert live.count() == 20
    assert live.settings["name"] == "Test Store"


def test_one_price_edit_is_one_update(target: Target) -> None:
    applied(target)
    before = target.read().resources["service_plans"]["pro"].revision
    edit(target.store_dir, "catalog.yaml", 'recurring: "40.00"', 'recurring: "44.00"')
    ok(target.cli("plan", "s", "--detailed-exitcode"), 2)
    plan = plan_json(target)
    [change] = not_noop(plan)
    assert change["address"] == "service_plans.pro"
    assert change["action"] == "update"
    assert change["revision"] == before
    assert change["diff"] == [
        {
            "op": "change",
            "path": "price.recurring",
            "old": "40.00",
            "new": "44.00",
            "effective": "immediately",
        }
    ]
    text = ok(target.cli("plan", "s")).stdout
    assert "service_plans.pro recurring price 40.00 -> 44.00 (+10.0%)" in text
    assert '~ price.recurring: "40.00" -> "44.00"' in text
    assert "Plan: 0 to create, 1 to update, 0 to delete." in text
    assert "Apply complete: 0 created, 1 updated, 0 deleted." in applied(target).stdout
    assert target.read().resources["service_plans"]["pro"].spec["price"]["recurring"] == "44.00"
    ok(target.cli("plan", "s", "--detailed-exitcode"))


def test_a_reordered_scenario_is_a_move(target: Target) -> None:
    applied(target)
    edit(
        target.store_dir,
        "storefront.yaml",
        "screens: [choose, more, cart, accept, pay, done]",
        "screens: [choose, more, accept, pay, cart, done]",
    )
    text = ok(target.cli("plan", "s")).stdout
    assert "~ screens: moved cart from 3 to 5" in text
    [change] = not_noop(plan_json(target))
    assert change["diff"] == [{"op": "move", "path": "screens", "item": "cart", "from": 3, "to": 5}]
    applied(target)
    live = target.read()
    assert live.resources["purchase_scenarios"]["standard"].spec["screens"] == [
        "choose", "more", "accept", "pay", "cart", "done"
    ]  # fmt: skip


def test_without_a_terminal_apply_needs_auto_approve(target: Target) -> None:
    revision = target.read().revision
    result = ok(target.cli("apply", "s"), 1)
    assert "pass --auto-approve" in result.stderr
    assert "Traceback" not in result.output
    assert target.read().revision == revision
    assert target.snapshots() == [] and target.journals() == []
    # the real CLI with stdin from a pipe: the same
    result = ok(target.run("apply", "s", input="yes\n"), 1)
    assert "pass --auto-approve" in result.stderr
    assert target.read().revision == revision


def _pty_apply(t: Target, answer: str) -> tuple[int, str]:
    import pexpect

    child = pexpect.spawn(
        sys.executable,
        ["-m", "storecfg", "apply", "s"],
        cwd=str(t.workdir),
        env={**_environ(), **t.env, "NO_COLOR": "1"},
        encoding="utf-8",
        timeout=60,
    )
    child.expect("Only 'yes' will be accepted to approve.")
    child.expect("Enter a value: ")
    child.sendline(answer)
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus, child.before


def _environ() -> dict[str, str]:
    import os

    return dict(os.environ)


def test_a_declined_prompt_writes_nothing(target: Target) -> None:
    revision = target.read().revision
    code, output = _pty_apply(target, "no")
    assert code == 1
    assert "Apply cancelled; nothing was changed." in output
    assert target.read().revision == revision
    assert target.snapshots() == [] and target.journals() == []
    code, output = _pty_apply(target, "yes")
    assert code == 0, output
    assert "Apply complete: 20 created" in output
    assert target.read().count() == 20


def test_a_stale_plan_file_is_refused_naming_what_changed(target: Target) -> None:
    applied(target)
    edit(target.store_dir, "catalog.yaml", 'recurring: "40.00"', 'recurring: "44.00"')
    ok(target.cli("plan", "s", "-o", "plan.json"))
    old = target.read().resources["service_plans"]["enterprise"].revision
    new = target.put("service_plans", "enterprise", {"name": "Enterprise (edited)"})
    revision = target.read().revision
    result = ok(target.cli("apply", "plan.json"), 1)
    assert "the plan is stale" in result.stderr
    assert f"service_plans.enterprise changed (revision {old} -> {new})" in result.stderr
    assert "Run `storecfg plan` again" in result.stderr
    live = target.read()
    assert live.revision == revision
    assert live.resources["service_plans"]["pro"].spec["price"]["recurring"] == "40.00"


def test_a_plan_file_is_applied_once(target: Target) -> None:
    ok(target.cli("plan", "s", "-o", "plan.json"))  # made on an empty store
    assert json.loads((target.workdir / "plan.json").read_text())["store"]["revision"] == 0
    result = ok(target.cli("apply", "plan.json"))
    assert "Apply complete: 20 created" in result.stdout
    revision = target.read().revision
    result = ok(target.cli("apply", "plan.json"), 1)
    assert "this plan was already applied" in result.stderr
    # without the journal (another checkout, a fresh CI runner) the store still knows
    shutil.rmtree(target.workdir / ".storecfg" / "journal")
    result = ok(target.cli("apply", "plan.json"), 1)
    assert "this plan was already applied" in result.stderr
    assert target.read().revision == revision


def test_restore_returns_the_store_to_the_snapshot(target: Target) -> None:
    applied(target)
    before = target.read()
    edit(target.store_dir, "catalog.yaml", 'recurring: "40.00"', 'recurring: "44.00"')
    edit(
        target.store_dir,
        "storefront.yaml",
        "  - {id: card, type: credit_card, regions: [US]}\n",
        "",
    )
    edit(target.store_dir, "storefront.yaml", "more, cart, accept", "more, accept, cart")
    applied(target)
    [first, second] = target.snapshots()
    backup_id = second.id
    assert backup_id.endswith(f"-r{before.revision}")
    assert specs(target.read()) != specs(before)
    result = ok(target.cli("backup", "restore", backup_id, "--auto-approve"))
    assert "Apply complete: 1 created, 2 updated, 0 deleted." in result.stdout
    assert specs(target.read()) == specs(before)
    # back to the empty store of the first snapshot
    result = ok(target.cli("backup", "restore", first.id, "--auto-approve"))
    assert "0 created, 0 updated, 20 deleted" in result.stdout
    live = target.read()
    assert live.count() == 0
    assert live.settings["name"] == target.store_id
    result = ok(target.cli("backup", "restore", first.id, "--auto-approve"))
    assert "nothing to restore" in result.stdout
    # every restore took a snapshot of its own first, and is on record
    assert [s.reason for s in target.snapshots()][2:] == [
        f"restore of {second.id}", f"restore of {first.id}"
    ]  # fmt: skip
    assert [r.status for r in target.applies()] == ["complete"] * 4


def test_export_then_plan_is_empty(target: Target) -> None:
    applied(target)
    result = ok(target.cli("export", "--store-id", target.store_id, "-o", "exported"))
    assert f"Exported store {target.store_id}" in result.stderr
    ok(target.cli("validate", "exported"))
    result = ok(target.cli("plan", "exported", "--detailed-exitcode"))
    assert "No changes." in result.stdout


@pytest.mark.parametrize(
    ("example", "args"),
    [
        ("o365-reseller", ()),
        ("idsync-psa", ()),
        ("object-storage", ()),
        ("multi-country", ("--var-file", "s/vars/ca.yaml")),
    ],
)
def test_examples_apply_export_and_plan_to_no_changes(
    sqlite_target: Target, example: str, args: tuple[str, ...]
) -> None:
    t = sqlite_target
    shutil.rmtree(t.store_dir)
    shutil.copytree(Path(__file__).parents[2] / "examples" / "stores" / example, t.store_dir)
    ok(t.cli("apply", "s", "--auto-approve", *args))
    ok(t.cli("plan", "s", "--detailed-exitcode", *args))
    ok(t.cli("export", "-o", "exported"))
    result = ok(t.cli("plan", "exported", "--detailed-exitcode"))
    assert "No changes." in result.stdout


def test_ignore_changes_hides_an_out_of_band_edit(target: Target) -> None:
    edit(
        target.store_dir,
        "catalog.yaml",
        "    upgrades_to: [enterprise]\n",
        "    upgrades_to: [enterprise]\n    lifecycle: {ignore_changes: [price.recurring]}\n",
    )
    applied(target)
    target.put("service_plans", "pro", {"price": {"setup": "0.00", "recurring": "45.00"}})
    ok(target.cli("plan", "s", "--detailed-exitcode"))
    edit(target.store_dir, "catalog.yaml", "name: Pro\n", "name: Pro Plus\n")
    [change] = not_noop(plan_json(target))
    assert change["diff"] == [{"op": "change", "path": "name", "old": "Pro", "new": "Pro Plus"}]
    applied(target)
    spec = target.read().resources["service_plans"]["pro"].spec
    assert spec["name"] == "Pro Plus"
    assert spec["price"]["recurring"] == "45.00"
    ok(target.cli("plan", "s", "--detailed-exitcode"))


# ------------------------------------------------------------------ backups


def test_snapshots_are_kept_in_the_store_with_a_correct_sha256(target: Target) -> None:
    applied(target)
    [snapshot] = target.snapshots()
    assert re.fullmatch(r"\d{8}T\d{6}Z-r0", snapshot.id)
    assert (snapshot.revision, snapshot.resource_count, snapshot.reason) == (0, 0, "apply")
    [record] = target.applies()
    assert snapshot.apply_id == record.id
    driver = target.driver()
    try:
        doc = driver.get_snapshot(target.store_id, snapshot.id)
    finally:
        driver.close()
    assert doc is not None
    assert doc["store"] == {"id": target.store_id, "revision": 0} and doc["resources"] == {}
    state = {k: doc[k] for k in ("store", "settings", "settings_revision", "resources")}
    canonical = json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(canonical.encode()).hexdigest() == snapshot.sha256 == doc["sha256"]
    # on this machine: the journal, and the local snapshot file (mode 0600, with its sha256)
    folder = target.workdir / ".storecfg" / "snapshots" / target.store_id
    assert sorted(p.name for p in folder.iterdir()) == [
        f"{snapshot.id}.json",
        f"{snapshot.id}.sha256",
    ]
    path = folder / f"{snapshot.id}.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.with_suffix(".sha256").stat().st_mode) == 0o600
    side = path.with_suffix(".sha256").read_text()
    assert side == f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n"
    local = json.loads(path.read_text())
    assert (local["id"], local["sha256"], local["resources"]) == (snapshot.id, snapshot.sha256, {})
    token = target.env.get("STORECFG_TOKEN")
    for written in [*target.journals(), path]:
        assert token is None or token not in written.read_text()


def test_a_local_copy_of_the_snapshot_with_backup_dir(target: Target) -> None:
    result = ok(target.cli("apply", "s", "--auto-approve", "--backup-dir", "copies"))
    [snapshot] = target.snapshots()
    path = target.workdir / "copies" / target.store_id / f"{snapshot.id}.json"
    assert f"A copy of it is in copies/{target.store_id}/{snapshot.id}.json." in result.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    side = path.with_suffix(".sha256")
    assert stat.S_IMODE(side.stat().st_mode) == 0o600
    assert side.read_text() == f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {path.name}\n"
    doc = json.loads(path.read_text())
    assert (doc["id"], doc["sha256"], doc["resources"]) == (snapshot.id, snapshot.sha256, {})
    token = target.env.get("STORECFG_TOKEN")
    assert token is None or token not in path.read_text()
    # the copy is a backup of its own: listed (the store's entry wins) and restorable
    listed = json.loads(ok(target.cli("backup", "list", "--json", "--backup-dir", "copies")).stdout)
    assert [(b["id"], b["source"]) for b in listed] == [(snapshot.id, "store")]


def test_a_no_op_apply_writes_no_snapshot(target: Target) -> None:
    applied(target)
    assert len(target.snapshots()) == 1 and len(target.journals()) == 1
    revision = target.read().revision
    result = applied(target)
    assert "No changes." in result.stdout
    assert len(target.snapshots()) == 1 and len(target.journals()) == 1
    assert len(target.applies()) == 1
    assert target.read().revision == revision


def test_backup_list_show_and_diff(target: Target) -> None:
    applied(target)
    edit(target.store_dir, "catalog.yaml", 'recurring: "40.00"', 'recurring: "44.00"')
    applied(target)
    first, second = (s.id for s in target.snapshots())
    live = target.read()

    lines = ok(target.cli("backup", "list")).stdout.splitlines()
    assert lines[0].split() == [
        "ID", "STORE", "CREATED", "REVISION", "RESOURCES", "WHERE", "REASON"
    ]  # fmt: skip
    rows = [line.split() for line in lines[1:]]
    # newest first, as the store API lists them
    assert [(r[0], r[1], r[3], r[4], r[5], r[6]) for r in rows] == [
        (second, target.store_id, second.rsplit("-r", 1)[1], "20", "store", "apply"),
        (first, target.store_id, "0", "0", "store", "apply"),
    ]
    listed = json.loads(ok(target.cli("backup", "list", "--json")).stdout)
    assert [b["id"] for b in listed] == [second, first]
    assert ok(target.cli("backup", "list", "--limit", "1")).stdout.count("\n") == 2

    shown = ok(target.cli("backup", "show", second)).stdout
    assert f"Backup {second}\n" in shown
    assert f"  store:     {target.store_id} ({target.driver().url})" in shown
    assert "  where:     kept in the store\n" in shown
    assert "  resources: 20\n" in shown and "    service_plans: 3\n" in shown
    assert "verified" in shown
    doc = json.loads(ok(target.cli("backup", "show", second, "--json")).stdout)
    assert doc["resources"]["service_plans"]["pro"]["spec"]["price"]["recurring"] == "40.00"

    diff = ok(target.cli("backup", "diff", first, second)).stdout
    assert "Plan: 20 to create, 0 to update, 0 to delete; store settings to set." in diff
    diff = ok(target.cli("backup", "diff", second)).stdout  # against the live store
    assert '~ price.recurring: "40.00" -> "44.00"' in diff
    assert "Plan: 0 to create, 1 to update, 0 to delete." in diff
    diff_json = json.loads(ok(target.cli("backup", "diff", second, "--format", "json")).stdout)
    [change] = not_noop(diff_json)
    assert change["address"] == "service_plans.pro"
    assert live.revision > int(second.rsplit("-r", 1)[1])

    result = ok(target.cli("backup", "show", "20990101T000000Z-r1"), 1)
    assert "has no backup '20990101T000000Z-r1'" in result.stderr
    assert f"Known backups: {second}, {first}" in result.stderr


def _damage_snapshot(t: Target, snapshot_id: str) -> None:
    """Edit a snapshot inside the store database, behind the store's back."""
    import sqlite3
    import zlib

    conn = sqlite3.connect(t.db_path())
    try:
        [content] = conn.execute(
            "SELECT content FROM snapshots WHERE store = ? AND id = ?", (t.store_id, snapshot_id)
        ).fetchone()
        state = json.loads(zlib.decompress(content))
        state["settings"]["name"] = "Edited behind the store's back"
        conn.execute(
            "UPDATE snapshots SET content = ? WHERE store = ? AND id = ?",
            (zlib.compress(json.dumps(state).encode()), t.store_id, snapshot_id),
        )
        conn.commit()
    finally:
        conn.close()


def test_a_damaged_backup_is_not_restored(target: Target) -> None:
    applied(target)
    edit(target.store_dir, "catalog.yaml", 'recurring: "40.00"', 'recurring: "44.00"')
    applied(target)
    [_, snapshot] = target.snapshots()
    _damage_snapshot(target, snapshot.id)
    revision = target.read().revision
    for command in (("restore", "--auto-approve"), ("show",), ("diff",)):
        result = ok(target.cli("backup", command[0], snapshot.id, *command[1:]), 1)
        assert f"backup {snapshot.id} does not match its sha256" in result.stderr
        assert "Traceback" not in result.output
    assert target.read().revision == revision


def test_first_release_snapshot_files_are_still_backups(target: Target) -> None:
    """Snapshot files that the first release wrote under .storecfg/snapshots are listed
    (as files), shown, diffed and restored; a damaged one is refused."""
    from storecfg.apply.backup import list_snapshots, write_snapshot

    applied(target)
    before = target.read()
    driver = target.driver()
    root = target.workdir / ".storecfg" / "snapshots"
    try:
        written = write_snapshot(before, root, driver.url)
    finally:
        driver.close()
    # as if written a year ago (and so unlike any ID the store gives)
    old_id = f"20250101T000000Z-r{before.revision}"
    for suffix in (".json", ".sha256"):
        written.path.with_suffix(suffix).rename(written.path.with_name(old_id + suffix))
    [info] = [s for s in list_snapshots(root, target.store_id) if s.id == old_id]
    edit(target.store_dir, "catalog.yaml", 'recurring: "40.00"', 'recurring: "44.00"')
    applied(target)
    listed = json.loads(ok(target.cli("backup", "list", "--json")).stdout)
    assert [(b["id"], b["source"]) for b in listed if b["source"] == "file"] == [(info.id, "file")]
    text = ok(target.cli("backup", "list"))
    assert "'file': a backup file on this machine" in text.stderr
    shown = ok(target.cli("backup", "show", info.id)).stdout
    assert "before backups lived in the store" in shown
    result = ok(target.cli("backup", "restore", info.id, "--auto-approve"))
    assert "Apply complete: 0 created, 1 updated, 0 deleted." in result.stdout
    assert specs(target.read()) == specs(before)
    info.path.write_text(info.path.read_text().replace('"40.00"', '"41.00"'))
    result = ok(target.cli("backup", "restore", info.id, "--auto-approve"), 1)
    assert "does not match its sha256 file" in result.stderr
    lines = ok(target.cli("backup", "list")).stdout
    assert "sha256 MISMATCH" in lines


# ------------------------------------------------------------------ the lock


def _hold_lock(t: Target, ttl: float = 600) -> str:
    driver = t.driver()
    try:
        owner = {"user": "alice", "host": "ci-runner-7", "pid": 4242, "command": "apply"}
        return driver.acquire_lock(t.store_id, owner, ttl).lock_id
    finally:
        driver.close()


def test_a_held_lock_fails_fast_naming_the_holder(target: Target) -> None:
    lock_id = _hold_lock(target)
    started = time.monotonic()
    result = ok(target.cli("apply", "s", "--auto-approve"), 1)
    assert time.monotonic() - started < 5
    assert (
        f"store {target.store_id} is locked: lock {lock_id} held by alice@ci-runner-7 (pid 4242)"
        in result.stderr
    )
    assert f"storecfg lock release {lock_id}" in result.stderr
    assert target.read().count() == 0 and target.snapshots() == []
    shown = ok(target.cli("lock", "show", "--store-id", target.store_id)).stdout
    assert "alice@ci-runner-7 (pid 4242)" in shown and f"storecfg lock release {lock_id}" in shown


def test_lock_timeout_waits_for_the_lock(target: Target) -> None:
    lock_id = _hold_lock(target)

    def release() -> None:
        time.sleep(1.0)
        driver = target.driver()
        driver.release_lock(target.store_id, lock_id)
        driver.close()

    thread = threading.Thread(target=release)
    thread.start()
    started = time.monotonic()
    result = target.cli("apply", "s", "--auto-approve", "--lock-timeout", "20s")
    thread.join()
    ok(result)
    assert time.monotonic() - started >= 1.0
    assert target.read().count() == 20


def test_lock_release_frees_a_stale_lock(target: Target) -> None:
    lock_id = _hold_lock(target)
    ok(target.cli("apply", "s", "--auto-approve"), 1)
    result = ok(target.cli("lock", "release", lock_id, "--store-id", target.store_id))
    assert f"Released lock {lock_id} on store {target.store_id}." in result.stdout
    assert "is not locked" in ok(target.cli("lock", "show", "--store-id", target.store_id)).stdout
    applied(target)
    # the apply released its own lock
    assert "is not locked" in ok(target.cli("lock", "show", "--store-id", target.store_id)).stdout
    result = ok(target.cli("lock", "release", "no-such-lock", "--store-id", target.store_id), 1)
    assert "not locked" in result.stderr


def test_replace_and_delete_are_applied(target: Target) -> None:
    applied(target)
    before = target.read()
    edit(target.store_dir, "storefront.yaml", "region: US-CA", "region: US-NY")
    edit(
        target.store_dir,
        "storefront.yaml",
        "  - {id: card, type: credit_card, regions: [US]}\n",
        "",
    )
    text = ok(target.cli("plan", "s")).stdout
    assert "-/+ tax_rules.us-ca  (replace: region cannot change in place)" in text
    assert '~ region: "US-CA" -> "US-NY"  # forces replacement' in text
    assert "Resources to DELETE (1):\n  - payment_methods.card\n" in text
    assert (
        "Plan: 1 to create, 0 to update, 2 to delete (1 replaced: deleted and created again)."
        in text
    )
    result = ok(target.cli("plan", "s", "--max-deletes", "1"), 1)
    assert (
        "Error: the plan deletes or replaces 2 resources, more than --max-deletes 1: "
        "payment_methods.card, tax_rules.us-ca" in result.stderr
    )
    ok(target.cli("plan", "s", "--max-deletes", "2"))
    result = applied(target)
    assert "Apply complete: 0 created, 0 updated, 1 deleted, 1 replaced." in result.stdout
    live = target.read()
    assert "card" not in live.resources.get("payment_methods", {})
    rule = live.resources["tax_rules"]["us-ca"]
    assert rule.spec["region"] == "US-NY" and rule.revision > before.revision
    events = [json.loads(line) for line in target.journals()[-1].read_text().splitlines()]
    replace = [e["event"] for e in events if e.get("address") == "tax_rules.us-ca"]
    # both writes of the replace go out in one batch: delete, then create
    assert replace == ["begin", "begin", "deleted", "done"]
    ok(target.cli("plan", "s", "--detailed-exitcode"))


def test_a_protected_resource_is_not_deleted(target: Target) -> None:
    edit(
        target.store_dir,
        "storefront.yaml",
        'url: "https://example.com/tos"}',
        'url: "https://example.com/tos", lifecycle: {prevent_destroy: true}}',
    )
    applied(target)
    # the lifecycle block goes, then the resource goes: still refused
    edit(target.store_dir, "storefront.yaml", ", lifecycle: {prevent_destroy: true}}", "}")
    ok(target.cli("plan", "s", "--detailed-exitcode"))
    edit(
        target.store_dir,
        "storefront.yaml",
        'terms:\n  - {id: tos, title: Terms of service, version: "1", url: "https://example.com/tos"}\n',
        "",
    )
    edit(
        target.store_dir,
        "storefront.yaml",
        "  - {id: accept, type: terms, title: Accept, terms: [tos]}\n",
        "",
    )
    edit(target.store_dir, "storefront.yaml", "cart, accept, pay", "cart, pay")
    revision = target.read().revision
    result = ok(target.cli("apply", "s", "--auto-approve"), 1)
    assert (
        "Error: the plan would destroy resources protected by lifecycle.prevent_destroy: "
        "terms.tos (delete)\n" in result.stderr
    )
    assert "apply `prevent_destroy: false` on them first" in result.stderr
    assert target.read().revision == revision
    assert len(target.snapshots()) == 1


# ------------------------------------------------------------------ the reseller's world


def test_a_stacking_province_shows_its_rate_in_every_plan_format(target: Target) -> None:
    edit(
        target.store_dir,
        "storefront.yaml",
        "tax_rules:\n",
        'tax_rules:\n  - {id: ca-gst, region: CA, rate: "5"}\n'
        '  - {id: ca-qc-qst, region: CA-QC, rate: "9.975", priority: 1}\n',
    )
    applied(target)
    # Quebec's QST now comes on top of GST instead of replacing it
    edit(target.store_dir, "storefront.yaml", "priority: 1}", "priority: 1, stacks: true}")
    result = target.run("plan", "s", "--format", "json", "--detailed-exitcode")
    assert result.exit_code == 2, result.output
    assert json.loads(result.stdout)["tax_summary"] == [
        {
            "region": "CA-QC",
            "sales_category": None,
            "old": "9.975",
            "new": "14.975",
            "change": "+5 percentage points",
            "rules": ["ca-gst", "ca-qc-qst"],
        }
    ]
    line = "CA-QC: 9.975% -> 14.975% (+5 percentage points; rules ca-gst, ca-qc-qst)"
    text = ok(target.run("plan", "s")).stdout
    assert "Tax summary (effective rate per region that changed):\n  " + line in text
    markdown = ok(target.run("plan", "s", "--format", "markdown")).stdout
    summary = "### Tax summary (effective rate per region that changed)\n\n- "
    assert summary + line.replace(" -> ", " → ") in markdown
    applied(target)
    assert target.read().resources["tax_rules"]["ca-qc-qst"].spec["stacks"] is True
    ok(target.run("plan", "s", "--detailed-exitcode"))


def test_validate_strict_fails_on_a_scenario_no_category_leads_to(sqlite_target: Target) -> None:
    edit(
        sqlite_target.store_dir,
        "storefront.yaml",
        "purchase_scenarios:\n",
        "purchase_scenarios:\n  - {id: express, screens: [pay, done]}\n",
    )
    plain = ok(sqlite_target.run("validate", "s"))
    assert "SC020 purchase_scenarios.express: warning: has no applies_to" in plain.stdout
    strict = sqlite_target.run("validate", "--strict", "s")
    assert strict.exit_code == 1
    assert "SC020 purchase_scenarios.express" in strict.stdout
    assert "invalid under --strict: 1 warning" in strict.stderr
