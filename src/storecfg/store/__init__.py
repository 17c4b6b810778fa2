"""Live stores: the driver protocol, the embedded SQLite store and the HTTP client."""

from __future__ import annotations

from .driver import DEFAULT_URL, StoreDriver, open_store, safe_url

__all__ = ["DEFAULT_URL", "StoreDriver", "open_store", "safe_url"]
