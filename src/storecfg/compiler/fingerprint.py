"""A fingerprint of the tool itself, so caches die with any change to it."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from .. import __version__

CACHE_FORMAT = 2


@cache
def tool_fingerprint() -> str:
    """Version plus the content of the schemas and the compiler: any change invalidates."""
    from .schema import schema_dir

    h = hashlib.sha256(f"storecfg {__version__} cache {CACHE_FORMAT}".encode())
    here = Path(__file__).resolve().parent
    for path in sorted([*schema_dir().glob("*.schema.json"), *here.glob("*.py")]):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()
