"""Plans as JSON: the plan document itself (format_version 1, see docs/plan-format.md)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..apply.plandoc import Plan, PlanOrFailure


def render_plan(plan: Plan) -> str:
    from ..apply.planfile import seal

    return json.dumps(seal(plan), indent=2, ensure_ascii=False) + "\n"


def render_targets(docs: Sequence[tuple[str | None, PlanOrFailure]]) -> str:
    """Several targets' plans as one document: each target with its plan document, or
    with the error that kept it from being made."""
    from ..apply.plandoc import FORMAT_VERSION
    from ..apply.planfile import seal

    targets: list[dict[str, Any]] = []
    for name, doc in docs:
        if "error" in doc:
            targets.append({"target": name, "store": doc.get("store"), "error": doc["error"]})
        else:
            targets.append({"target": name, "plan": seal(doc)})
    combined = {
        "format_version": FORMAT_VERSION,
        "targets": targets,
        "has_changes": any(d.get("has_changes") for _, d in docs if "error" not in d),
        "failed": [name for name, d in docs if "error" in d],
    }
    return json.dumps(combined, indent=2, ensure_ascii=False) + "\n"
