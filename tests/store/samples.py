"""Valid resource specs (as a store definition would write them) for store tests."""

from __future__ import annotations

from typing import Any

#: the fields of one diagnostic, exactly as `storecfg validate --json` prints them
DIAGNOSTIC_FIELDS = {"file", "line", "column", "code", "severity", "address", "path", "message"}


def sku(rid: str = "o365-e1", **extra: Any) -> dict[str, Any]:
    return {"name": f"SKU {rid}", "vendor": "Microsoft", "source": "distributor", **extra}


def plan(rid: str = "o365-e1-monthly", *, recurring: str = "8", **extra: Any) -> dict[str, Any]:
    return {
        "name": f"Plan {rid}",
        "sku": "o365-e1",
        "subscription_period": {"length": 1, "unit": "month"},
        "billing_period": {"length": 1, "unit": "month"},
        "price": {"setup": "0", "recurring": recurring},
        **extra,
    }


def terms(rid: str = "mca", **extra: Any) -> dict[str, Any]:
    return {
        "title": "Customer agreement",
        "version": "2024-01",
        "url": "https://example.com/t",
        **extra,
    }
