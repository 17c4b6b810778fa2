"""storecfg: a reseller's online store as code (validate, plan, apply, back up)."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
