"""What a YAML scalar means: the YAML 1.2 core schema, as storecfg reads it.

Only true/false are booleans (``NO`` stays a string), ``0755`` and ``22:22`` are
strings, there are no implicit timestamps, and whole numbers must fit in 64 bits.
The loader reads files with these meanings, and export writes strings so that they
read back as themselves.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import quoted

#: whole numbers must fit in 64 bits, signed (the store keeps them as such)
MAX_INT = 2**63 - 1
MIN_INT = -(2**63)

_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)\Z")
_OCT = re.compile(r"0o[0-7]+\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*|[0-9]+(?=[eE]))(?:[eE][-+]?[0-9]+)?\Z")
_INF = re.compile(r"[-+]?\.(?:inf|Inf|INF)\Z")
_NAN = re.compile(r"\.(?:nan|NaN|NAN)\Z")
_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_TRUE = frozenset(("true", "True", "TRUE"))
_FALSE = frozenset(("false", "False", "FALSE"))
_NUMERIC_START = frozenset("0123456789+-.")
#: how a plain scalar that `resolve_plain` may read as other than itself begins (a
#: loader may skip the call for any other first character)
MAY_RESOLVE = frozenset(("", "~", *"nNtTfF", *_NUMERIC_START))

TAG = "tag:yaml.org,2002:"


class NumberTooLarge(ValueError):
    """A plain scalar reads as a whole number outside the signed 64-bit range."""

    def __init__(self, text: str) -> None:
        shown = text if len(text) <= 30 else text[:12] + "..." + text[-12:]
        small = text.startswith("-")
        super().__init__(
            f"number {shown} is too {'small' if small else 'large'} (the limit is "
            f"{MIN_INT if small else MAX_INT:,}); quote it if it is text"
        )


def _checked_int(text: str, digits: str, base: int) -> int:
    if len(digits) > 64:  # far past 2**63 in any base; also avoids int() on huge strings
        raise NumberTooLarge(text)
    value = int(digits, base)
    if not MIN_INT <= value <= MAX_INT:
        raise NumberTooLarge(text)
    return value


class SourceFloat(float):
    """A float that remembers how it was written, so messages can quote `12.00`, not 12.0."""

    text: str

    def __new__(cls, text: str) -> SourceFloat:
        obj = super().__new__(cls, text)
        obj.text = text
        return obj


def source_text(value: Any) -> str:
    """How a number was written in the file (falls back to repr), for messages: a
    number written with more than 40 characters is cut to a prefix."""
    text: str = getattr(value, "text", None) or repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def resolve_plain(value: str) -> Any:
    """The meaning of a plain (unquoted) scalar under the YAML 1.2 core schema.

    Raises `NumberTooLarge` for whole numbers outside the 64-bit range."""
    if not value or value[0] in "~nNtTfF":
        if value in _NULLS:
            return None
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        return value
    if value[0] in _NUMERIC_START:
        if _INT.match(value):
            return _checked_int(value, value, 10)
        if _FLOAT.match(value):
            return SourceFloat(value)
        if _OCT.match(value):
            return _checked_int(value, value[2:], 8)
        if _HEX.match(value):
            return _checked_int(value, value[2:], 16)
        if _INF.match(value):
            return float("-inf") if value[0] == "-" else float("inf")
        if _NAN.match(value):
            return float("nan")
    return value


_EXPLICIT_TYPES: dict[str, type | tuple[type, ...]] = {
    "int": int,
    "float": (int, float),
    "bool": bool,
    "null": type(None),
}


def explicit_scalar(tag: str, value: str) -> Any:
    """A scalar with an explicit standard tag (``!!str 10``)."""
    name = tag[len(TAG) :] if tag.startswith(TAG) else tag
    if name == "str":
        return value
    resolved: Any = resolve_plain(value)
    expected = _EXPLICIT_TYPES.get(name)
    if expected is None:
        raise ValueError(f"unsupported tag {shown_tag(tag)}")
    fits = isinstance(resolved, expected) and (name == "bool" or not isinstance(resolved, bool))
    if not fits:
        raise ValueError(f"{quoted(value)} is not a valid !!{name}")
    return float(resolved) if name == "float" else resolved


def shown_tag(tag: str) -> str:
    """A tag as written: `!!python/object` rather than `tag:yaml.org,2002:python/object`."""
    return quoted("!!" + tag[len(TAG) :] if tag.startswith(TAG) else tag)
