"""Jinja2's errors reworded in the user's terms: `vars.NAME`, text, numbers and lists,
never Jinja's own class names."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ...errors import quoted
from ...spec.suggest import closest
from .policy import JINJA_GLOBALS
from .problem import TemplateProblem

_VALUE_KINDS = {
    "str": "text",
    "int": "number",
    "float": "number",
    "Decimal": "number",
    "dict": "mapping",
    "list": "list",
    "tuple": "list",
    "bool": "boolean",
}


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


def security_message(text: str) -> str:
    """Jinja's sandbox messages, without its internal class names."""
    match = re.match(r"access to attribute '([^']*)' of '([^']*)' object is unsafe", text)
    if match:
        attribute, owner = match.groups()
        if owner.endswith("Undefined"):
            return f"not allowed in templates: attribute '{attribute}' of an undefined variable"
        kind = _VALUE_KINDS.get(owner, owner)
        return f"not allowed in templates: attribute '{attribute}' of a {kind} value"
    return f"not allowed in templates: {text.rstrip('.')}"


def missing_key(obj: Mapping[str, Any], name: str, *, is_vars: bool) -> str:
    """Why `obj.name` has no value: an unset variable (with the closest one or where to
    set it) when `obj` is `vars`, else the keys the mapping has."""
    if is_vars:
        match = closest(name, obj)
        return (
            f"undefined variable vars.{name}; did you mean vars.{match}?"
            if match
            else f"undefined variable vars.{name}; set it under vars in store.yaml, "
            f"in a --var-file or with --var {name}=VALUE"
        )
    keys = ", ".join(_short(k) for k in sorted(map(str, obj))[:10]) or "none"
    return f"no key {quoted(name)} in this mapping (its keys: {keys})"


def undefined_message(text: str, variables: Mapping[str, Any]) -> str:
    """Jinja's "is undefined" and "has no attribute" errors, with a hint; a name that
    is one of Jinja's usual globals is refused outright."""
    if text.endswith(" is undefined"):
        name = text[: -len(" is undefined")].strip().strip("'")
        if name in JINJA_GLOBALS:
            raise TemplateProblem("SC202", f"{name}() is not available in templates")
        if name in variables:
            return f"undefined variable {name}; did you mean vars.{name}?"
        return f"undefined variable {name}; template variables are written vars.NAME"
    if "has no attribute" in text:
        return f"undefined attribute {text.rsplit('attribute', 1)[-1].strip()}"
    return text
