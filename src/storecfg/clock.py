"""UTC timestamps, written one way everywhere: ISO 8601 for records, compact for file names."""

from __future__ import annotations

import time


def utc_iso(ts: float | None = None) -> str:
    """`2026-12-05T09:30:00Z`: the form every record, lock and plan file carries."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def utc_compact(ts: float | None = None) -> str:
    """`20261205T093000Z`: the form file and snapshot names start with (sorts by time)."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(ts))
