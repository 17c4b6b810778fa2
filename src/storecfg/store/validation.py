"""Validation of one resource as the store API receives it.

The same JSON Schemas and the same rules `validate` uses, restricted to the rules
that can be judged from a single resource (references to other resources are the
definition's business, not the store's). Diagnostics have the same fields as
`validate --json` prints; "file" is "<request>".
"""

from __future__ import annotations

from typing import Any

from ..compiler import rules
from ..compiler.codes import severity
from ..compiler.compile import format_address
from ..compiler.iso import CURRENCY_DIGITS, currency_digits
from ..compiler.render import json_path
from ..compiler.schema import normalize, validate_resource, validate_settings

_SOURCE = "<request>"


def _diag(code: str, address: str, path: tuple[Any, ...], message: str) -> dict[str, Any]:
    return {
        "file": _SOURCE,
        "line": 0,
        "column": 0,
        "code": code,
        "severity": severity(code),
        "address": address,
        "path": json_path(path),
        "message": message,
    }


def check_resource(
    kind: str, rid: str, spec: dict[str, Any], settings: dict[str, Any]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(errors, normalized spec). Errors empty means the spec is accepted."""
    issues = validate_resource(kind, spec)
    if issues:
        return [
            _diag(i.code, format_address(kind, rid, i.path), i.path, i.message) for i in issues
        ], spec
    currency = settings.get("currency", "USD")
    normalized = normalize(kind, spec, currency_digits(currency))
    found = [
        f
        for f in rules.check({kind: {rid: normalized}}, {}, settings, single_resource=True)
        if severity(f.code) == "error"
    ]
    return [
        _diag(f.code, format_address(kind, rid, f.path), f.path, f.message) for f in found
    ], normalized


def check_settings(store_id: str, settings: dict[str, Any]) -> list[dict[str, Any]]:
    out = [
        _diag(i.code, format_address("store", None, i.path), i.path, i.message)
        for i in validate_settings(settings)
    ]
    if not out and settings.get("id") != store_id:
        out.append(
            _diag(
                "SC304",
                "store.id",
                ("id",),
                f"settings id {settings.get('id')!r} is not the store {store_id!r}",
            )
        )
    if not out and settings.get("currency") not in CURRENCY_DIGITS:
        out.append(
            _diag(
                "SC018",
                "store.currency",
                ("currency",),
                f"{settings.get('currency')} is not an ISO 4217 currency code",
            )
        )
    return out
