"""Semantic rules beyond the schema (SPEC 1.1), each with a stable code.

`check` runs them: the rules judged from one resource alone (`resource_rules`, also
what the store API checks on a write) and those that need the whole store
(`store_rules`). Each finding is an `Issue` of one resource.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import resource_rules, store_rules
from .iso import CURRENCY_DIGITS
from .issues import Finding
from .resource_rules import Specs


def check(
    specs: Specs,
    known: dict[str, set[str]],
    settings: dict[str, Any] | None,
    *,
    single_resource: bool = False,
    external: Callable[[str, str], object] | None = None,
) -> list[Finding]:
    """Run the rules. `specs` holds the schema-valid resources, normalized; `known`
    every ID defined (valid or not), so a broken resource does not cascade into
    reference errors elsewhere. With `single_resource`, only the rules that can be
    judged from each resource alone run (what the store API checks on a write).
    `external(kind, id)` is true for resources managed elsewhere (policy.unmanaged):
    references to them resolve in the live store, not in the definition."""
    currency = (settings or {}).get("currency")
    digits = CURRENCY_DIGITS.get(currency) if isinstance(currency, str) else None
    findings: list[Finding] = []
    if not single_resource:
        findings.extend(store_rules.findings(specs, known, external))
    findings.extend(
        resource_rules.findings(specs, currency, digits, single_resource=single_resource)
    )
    return findings
