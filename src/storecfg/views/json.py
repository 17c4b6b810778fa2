"""Plans as JSON: the plan document itself (format_version 1, see docs/plan-format.md)."""

from __future__ import annotations

import json
from typing import Any


def render_plan(plan: dict[str, Any]) -> str:
    from ..apply.plan import seal

    return json.dumps(seal(plan), indent=2, ensure_ascii=False) + "\n"
