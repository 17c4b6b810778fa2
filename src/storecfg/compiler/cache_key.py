"""The key that authenticates compile cache entries.

The cache lives in the project (`.storecfg/cache/`), where whoever can write the
project can write it too: a pull request, an unpacked archive, a CI cache shared
between branches. An entry steers what plan shows and apply writes, so each one
carries an HMAC-SHA256 made with a key kept outside the project, in the user's own
cache directory: `$XDG_CACHE_HOME/storecfg/cache.key` (else
`~/.cache/storecfg/cache.key`), created on first use with mode 0600 in a 0700
directory. An entry without a valid MAC under this key (edited, or made on another
machine or by another user) is ignored and the store is compiled again.

A key that is not a private regular file of ours is not used; then nothing is
cached (compiles are only slower).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import stat
import tempfile
from pathlib import Path

KEY_BYTES = 32
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def key_path() -> Path | None:
    """Where the key lives, or None when there is no home to keep it in."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if os.path.isabs(base):  # the XDG spec: a relative value is to be ignored
        return Path(base) / "storecfg" / "cache.key"
    home = os.path.expanduser("~")
    if not os.path.isabs(home):
        return None
    return Path(home) / ".cache" / "storecfg" / "cache.key"


def cache_key() -> bytes | None:
    """The key (created if there is none yet), or None when it cannot be used."""
    path = key_path()
    if path is None:
        return None
    try:
        return _read_key(path)
    except FileNotFoundError:
        pass
    try:
        _create_key(path)
        return _read_key(path)
    except OSError:
        return None


def _read_key(path: Path) -> bytes | None:
    """The key at `path`; FileNotFoundError when there is none; None when the file is
    not a private regular file of this user holding exactly one key."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW)
    except FileNotFoundError:
        raise
    except OSError:
        return None  # a symlink, unreadable, ...
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_mode & 0o077:
            return None
        if hasattr(os, "getuid") and info.st_uid != os.getuid():
            return None
        data = fh.read(KEY_BYTES + 1)
    return data if len(data) == KEY_BYTES else None


def _create_key(path: Path) -> None:
    """Write a new key, complete, under a temporary name, then link it into place: a
    process that made one first keeps its key, and no reader sees half a key."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".cache.key.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(secrets.token_bytes(KEY_BYTES))
            fh.flush()
            os.fsync(fh.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def entry_mac(key: bytes, name: str, body: bytes) -> str:
    """The MAC of a cache entry: its file name (an entry is valid only where it was
    written) and its bytes."""
    return hmac.new(key, name.encode() + b"\n" + body, hashlib.sha256).hexdigest()
