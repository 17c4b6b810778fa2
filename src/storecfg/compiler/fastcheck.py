"""A quick yes/no schema check; detailed errors come from jsonschema only when it says no."""

from __future__ import annotations

from typing import Any


def is_valid(kind: str, spec: Any) -> bool:
    from .schema import _validator

    return bool(_validator(f"{kind}.schema.json").is_valid(spec))
