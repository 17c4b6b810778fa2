"""Checking included files in forked worker processes, for large uncached compiles.

Workers are forked from the compiling process, so they share the compile's state as it
is when they start; each checks whole files with the compile's own `check_file`, and
the results are merged in file order by the compile, so units and diagnostics come out
exactly as from a compile in one process.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Protocol

from ..errors import Diagnostic
from .load import Loaded, load_bytes
from .positions import find_templates
from .result import Unit

if TYPE_CHECKING:
    from multiprocessing.pool import AsyncResult, Pool

#: uncached bytes of YAML from which a compile checks files in several processes
PARALLEL_MIN_BYTES = 2**20

#: what a worker answers for one file: its unit and diagnostics, or None to check it here
Checked = tuple[Unit | None, list[Diagnostic]] | None


class FileChecker(Protocol):
    """What a worker needs of the compile that forked it."""

    diags: list[Diagnostic]

    def check_file(
        self, shown: str, real: str, loaded: Loaded, digest: str, context: str
    ) -> Unit | None: ...


#: the compile (and its context key) that forked the workers
_FORKED: tuple[FileChecker, str] | None = None


def cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def start(
    checker: FileChecker, todo: list[tuple[str, str, bytes, str]], context: str
) -> tuple[Pool | None, dict[str, AsyncResult[Checked]]]:
    """Start checking `todo` (shown name, real path, bytes, digest of each file) in
    worker processes, when there are enough files to pay for starting the workers.

    Returns the pool (to terminate when done) and the pending answer per file; no pool
    and no answers when the files are checked in this process."""
    jobs = min(cpus(), len(todo))
    if jobs < 2 or sum(len(t[2]) for t in todo) < PARALLEL_MIN_BYTES:
        return None, {}
    import threading

    if threading.active_count() > 1:
        return None, {}  # a fork copies only this thread, and any lock another one holds
    import multiprocessing

    global _FORKED
    _FORKED = (checker, context)
    try:
        pool = multiprocessing.get_context("fork").Pool(jobs)
    except (OSError, ValueError):
        return None, {}
    finally:
        _FORKED = None
    # the largest files first, so no worker is left with a big one at the end
    todo.sort(key=lambda t: -len(t[2]))
    started = {t[0]: pool.apply_async(_check_forked, t) for t in todo}
    pool.close()
    return pool, started


def _check_forked(shown: str, real: str, raw: bytes, digest: str) -> Checked:
    """In a worker: check one file as the forking compile would."""
    assert _FORKED is not None
    checker, context = _FORKED
    loaded = load_bytes(raw, shown, Loaded(shown))
    if loaded.data is not None and (
        loaded.templates or (loaded.copied and find_templates(loaded.data))
    ):
        return None
    checker.diags = []
    unit = checker.check_file(shown, real, loaded, digest, context)
    return unit, checker.diags
