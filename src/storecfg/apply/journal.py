"""The apply journal: every write recorded before and after it happens.

One JSON-lines file per apply under `.storecfg/journal/STORE/`. Each line is
written with a single `write()` on an O_APPEND descriptor, so after a crash — even
kill -9 — the file holds every line written before it; an apply whose journal has
no `end` line (killed) or ends `interrupted` (Ctrl-C) was interrupted, and the next
plan says so. (Lines are fsynced at
start and end; a power cut can lose the lines in between, never reorder them.)
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from ..clock import utc_compact, utc_iso
from ..closing import Closing
from ..errors import StorecfgError
from .plandoc import InterruptedApply


class Journal(Closing):
    """One apply's journal file, open from the start of the apply to its end: a context
    manager, closed on every way out of the `with` block (an error, Ctrl-C, or none)."""

    def __init__(self, directory: Path, store_id: str, plan_id: str) -> None:
        self.dir = directory / store_id
        # microseconds, so that names sort in start order even within one second
        now = time.time()
        stamp = utc_compact(now).removesuffix("Z") + f".{int(now % 1 * 1e6):06d}Z"
        self.path = self.dir / f"{stamp}-{plan_id[:8]}.jsonl"
        self._lock = threading.Lock()
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            raise StorecfgError(
                f"cannot write the apply journal in {self.dir}: {exc.strerror}"
            ) from exc

    def write(self, event: str, sync: bool = False, **fields: Any) -> None:
        line = json.dumps({"event": event, "time": utc_iso(), **fields}, ensure_ascii=False) + "\n"
        with self._lock:
            os.write(self._fd, line.encode())
            if sync:
                os.fsync(self._fd)

    def write_many(self, events: list[dict[str, Any]]) -> None:
        """Several events in one write() (each still its own line)."""
        if not events:
            return
        now = utc_iso()
        text = "".join(json.dumps({**e, "time": now}, ensure_ascii=False) + "\n" for e in events)
        with self._lock:
            os.write(self._fd, text.encode())

    def close(self) -> None:
        """Close the file (again: nothing happens)."""
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


def _read(path: Path) -> list[dict[str, Any]]:
    events = []
    try:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    events.append(json.loads(line))
                except ValueError:
                    break  # a torn last line after a crash
    except OSError:
        return []
    return events


def journals(directory: Path, store_id: str) -> list[Path]:
    folder = directory / store_id
    if not folder.is_dir():
        return []
    return sorted(folder.glob("*.jsonl"))


def _last_line(path: Path) -> dict[str, Any]:
    """The journal's last event, read from the end of the file."""
    try:
        with open(path, "rb") as fh:
            fh.seek(0, os.SEEK_END)
            size = fh.tell()
            fh.seek(max(0, size - 4096))
            tail = fh.read().splitlines()
        event = json.loads(tail[-1]) if tail else {}
    except (OSError, ValueError):
        return {}
    return event if isinstance(event, dict) else {}


def last_interrupted(directory: Path, store_id: str) -> InterruptedApply | None:
    """The newest apply of this store, if it never finished."""
    files = journals(directory, store_id)
    if not files:
        return None
    last = _last_line(files[-1])
    if last.get("event") == "end" and last.get("status") != "interrupted":
        return None  # finished (the usual case): no need to read thousands of lines
    events = _read(files[-1])
    ends = [e for e in events if e.get("event") == "end"]
    if not events or events[0].get("event") != "start":
        return None
    if ends and ends[-1].get("status") != "interrupted":  # Ctrl-C writes an end line too
        return None
    start = events[0]
    done = sum(1 for e in events if e.get("event") == "done")
    total = start.get("total", 0)
    return {
        "plan_id": start.get("plan_id"),
        "started_at": start.get("time"),
        "done": done,
        "total": total,
        "journal": str(files[-1]),
        "snapshot": start.get("snapshot"),
        "message": (
            f"the last apply (plan {str(start.get('plan_id'))[:8]}, started {start.get('time')}) was interrupted "
            f"after {done} of {total} writes; this plan shows only what is left to do"
        ),
    }


def was_applied(directory: Path, store_id: str, plan_id: str) -> str | None:
    """When this plan was applied to completion, if it was."""
    for path in reversed(journals(directory, store_id)):
        if plan_id[:8] not in path.name:
            continue
        events = _read(path)
        if events and events[0].get("plan_id") == plan_id:
            for e in events:
                if e.get("event") == "end" and e.get("status") == "complete":
                    return str(e.get("time"))
    return None
