"""Small file-system helpers: atomic writes with fsync and a chosen mode."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path


def atomic_write(path: Path, data: bytes, mode: int = 0o644, *, durable: bool = True) -> None:
    """Write `data` to `path` so readers see the old file or the new one, never half.

    Temp file in the same directory, fsync, rename, fsync of the directory. Without
    `durable` there is no fsync: for a file that may be lost in a crash, never a
    backup (a cache entry that a crash damages fails its check and is a miss).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except FileExistsError as exc:  # a file where a directory of the path should be
        raise NotADirectoryError(errno.ENOTDIR, "a file is in the way", exc.filename) from exc
    except OSError as exc:  # the error names the file asked for, not the temp file
        raise OSError(exc.errno, exc.strerror, str(path)) from exc
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    if durable:
        fsync_dir(path.parent)


def fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
