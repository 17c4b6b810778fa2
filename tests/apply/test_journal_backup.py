"""The apply journal and the snapshot files, as units."""

from __future__ import annotations

import contextlib
import json
import os
import stat
from pathlib import Path

import pytest

from storecfg.apply import journal
from storecfg.apply.backup import (
    find_snapshot,
    list_snapshots,
    load_snapshot,
    snapshot_desired,
    snapshot_live,
    write_snapshot,
)
from storecfg.errors import StorecfgError, UsageError

from .stores import base_desired, live_of


def _journal(root: Path, plan_id: str, *, end: str | None, done: int = 2) -> Path:
    j = journal.Journal(root, "shop", plan_id)
    j.write("start", sync=True, plan_id=plan_id, store="shop", revision=1, total=5, snapshot="S")
    for n in range(done):
        j.write("begin", address=f"skus.s{n}", action="create", key="k")
        j.write("done", address=f"skus.s{n}", action="create", revision=n + 2)
    if end:
        j.write("end", sync=True, status=end)
    j.close()
    return j.path


def test_an_apply_without_an_end_line_was_interrupted(tmp_path: Path) -> None:
    path = _journal(tmp_path, "aaaaaaaa-1111", end=None, done=2)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    found = journal.last_interrupted(tmp_path, "shop")
    assert found is not None
    assert (found["plan_id"], found["done"], found["total"], found["snapshot"]) == (
        "aaaaaaaa-1111", 2, 5, "S"
    )  # fmt: skip
    assert found["message"].startswith("the last apply (plan aaaaaaaa, started ")
    assert found["message"].endswith(
        "was interrupted after 2 of 5 writes; this plan shows only what is left to do"
    )
    assert journal.was_applied(tmp_path, "shop", "aaaaaaaa-1111") is None


def test_a_torn_last_line_is_tolerated(tmp_path: Path) -> None:
    path = _journal(tmp_path, "bbbbbbbb-2222", end=None, done=3)
    with open(path, "a") as fh:
        fh.write('{"event": "done", "addr')  # killed in the middle of a line
    found = journal.last_interrupted(tmp_path, "shop")
    assert found is not None and found["done"] == 3


def test_only_the_newest_apply_counts_even_within_one_second(tmp_path: Path) -> None:
    # plan ids sort the other way round from start order
    _journal(tmp_path, "ffffffff-old", end=None)
    _journal(tmp_path, "00000000-new", end="complete")
    assert journal.last_interrupted(tmp_path, "shop") is None
    assert journal.was_applied(tmp_path, "shop", "00000000-new") is not None
    _journal(tmp_path, "88888888-newest", end=None)
    found = journal.last_interrupted(tmp_path, "shop")
    assert found is not None and found["plan_id"] == "88888888-newest"


def test_a_failed_apply_is_not_applied_nor_interrupted(tmp_path: Path) -> None:
    _journal(tmp_path, "cccccccc-3333", end="failed")
    assert journal.last_interrupted(tmp_path, "shop") is None
    assert journal.was_applied(tmp_path, "shop", "cccccccc-3333") is None


def test_snapshots_round_trip_and_sort_by_time_then_revision(tmp_path: Path) -> None:
    desired = base_desired(tmp_path)
    root = tmp_path / "snaps"
    infos = [
        write_snapshot(live_of(desired, revision=r), root, "sqlite:///x.db") for r in (9, 10, 10)
    ]
    listed = list_snapshots(root)
    same_second = len({i.id[:16] for i in infos}) == 1
    if same_second:  # r9 before r10 (not by name), and the second r10 gets a -2
        assert [i.id[17:] for i in listed] == ["r9", "r10", "r10-2"]
    assert [i.id for i in listed] == [i.id for i in infos]
    info = find_snapshot(root, infos[0].id)
    assert info.verified and info.resources == 20 and info.revision == 9
    doc = load_snapshot(info)
    assert doc["store"] == {"id": "test-store", "url": "sqlite:///x.db", "revision": 9}
    assert snapshot_desired(doc).resources == desired.resources
    assert snapshot_live(doc).revisions() == live_of(desired, revision=9).revisions()


def test_a_snapshot_that_does_not_match_its_hash_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "snaps"
    info = write_snapshot(live_of(base_desired(tmp_path)), root, "sqlite:///x.db")
    doc = json.loads(info.path.read_text())
    doc["settings"]["name"] = "Edited"
    info.path.write_text(json.dumps(doc))
    damaged = find_snapshot(root, info.id)
    assert not damaged.verified
    with pytest.raises(StorecfgError, match="does not match its sha256 file"):
        load_snapshot(damaged)


def test_find_snapshot_names_the_known_ones(tmp_path: Path) -> None:
    root = tmp_path / "snaps"
    with pytest.raises(UsageError, match="There are no backups yet"):
        find_snapshot(root, "20260101T000000Z-r1")
    info = write_snapshot(live_of(base_desired(tmp_path)), root, "sqlite:///x.db")
    with pytest.raises(UsageError, match=f"Known backups: {info.id}"):
        find_snapshot(root, "20260101T000000Z-r1")
    assert find_snapshot(root, info.id + ".json").id == info.id


def test_an_apply_stopped_with_ctrl_c_was_interrupted(tmp_path: Path) -> None:
    _journal(tmp_path, "dddddddd-4444", end="interrupted", done=1)
    found = journal.last_interrupted(tmp_path, "shop")
    assert found is not None and found["done"] == 1


def _open_files() -> set[str]:
    fds = Path("/proc/self/fd")
    out = set()
    for fd in fds.iterdir():
        with contextlib.suppress(OSError):  # closed since it was listed
            out.add(os.readlink(fd))
    return out


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_the_journal_is_closed_when_an_apply_stops_on_any_error(tmp_path: Path) -> None:
    """Not only Ctrl-C: an error in the middle of an apply (here, from whatever shows
    its progress) leaves no journal file open."""
    from storecfg.apply.execute import Progress, execute
    from storecfg.store.sqlite import SqliteDriver

    from .stores import plan_of

    driver = SqliteDriver(f"sqlite:///{tmp_path / 'live.db'}")
    try:
        live = driver.read_all("test-store")
        plan = plan_of(base_desired(tmp_path), live)

        def broken(event: Progress) -> None:
            if event.event == "done":
                raise RuntimeError("the terminal went away")

        with pytest.raises(RuntimeError):
            execute(plan, driver, live, state_dir=tmp_path / "state", progress=broken)
        [path] = (tmp_path / "state" / "journal" / "test-store").glob("*.jsonl")
        assert str(path) not in _open_files()
        events = [json.loads(line)["event"] for line in path.read_text().splitlines()]
        assert events[0] == "start" and "done" in events
    finally:
        driver.close()
