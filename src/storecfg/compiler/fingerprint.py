"""A fingerprint of the tool itself, so caches die with any change to it."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from .. import __version__
from ..spec.schemas import schema_dir

CACHE_FORMAT = 4


@cache
def tool_fingerprint() -> str:
    """Version plus the content of the schemas, the domain layer and the compiler: any
    change invalidates."""
    h = hashlib.sha256(f"storecfg {__version__} cache {CACHE_FORMAT}".encode())
    here = Path(__file__).resolve().parent
    domain = here.parent / "spec"
    sources = [*schema_dir().glob("*.schema.json"), *here.glob("*.py"), *domain.glob("*.py")]
    for path in sorted(sources):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()
