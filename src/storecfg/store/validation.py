"""Validation of one resource as the store API receives it.

The same JSON Schemas and the same rules `validate` uses, restricted to the rules
that can be judged from a single resource (references to other resources are the
definition's business, not the store's). Diagnostics have the same fields as
`validate --json` prints; "file" is "<request>".
"""

from __future__ import annotations

from typing import Any

from ..spec import rules
from ..spec.iso import CURRENCY_DIGITS, currency_digits
from ..spec.issues import Issue, diagnostic
from ..spec.normalize import normalize
from ..spec.paths import format_address
from ..spec.validation import validate_resource, validate_settings

_SOURCE = "<request>"


def _diag(issue: Issue, address: str) -> dict[str, Any]:
    return diagnostic(issue, _SOURCE, None, address).to_json()


def check_resource(
    kind: str, rid: str, spec: dict[str, Any], settings: dict[str, Any]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(errors, normalized spec). Errors empty means the spec is accepted."""
    issues = validate_resource(kind, spec)
    if issues:
        return [_diag(i, format_address(kind, rid, i.path)) for i in issues], spec
    currency = settings.get("currency", "USD")
    normalized = normalize(kind, spec, currency_digits(currency))
    found = [
        f
        for f in rules.check({kind: {rid: normalized}}, {}, settings, single_resource=True)
        if f.severity == "error"
    ]
    return [_diag(f, f.address) for f in found], normalized


def check_settings(store_id: str, settings: dict[str, Any]) -> list[dict[str, Any]]:
    out = [_diag(i, format_address("store", None, i.path)) for i in validate_settings(settings)]
    if not out and settings.get("id") != store_id:
        message = f"settings id {settings.get('id')!r} is not the store {store_id!r}"
        out.append(_diag(Issue("SC304", ("id",), message), "store.id"))
    if not out and settings.get("currency") not in CURRENCY_DIGITS:
        message = f"{settings.get('currency')} is not an ISO 4217 currency code"
        out.append(_diag(Issue("SC018", ("currency",), message), "store.currency"))
    return out
