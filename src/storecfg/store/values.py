"""What JSON a store can keep: signed 64-bit integers, finite numbers, valid Unicode.

JSON can carry more than that (integers of any size, lone surrogates in escapes,
and, in Python's reading, infinities); the store refuses such values with a 400 that
names the field, on every path a value comes in by: request bodies (`json_body`),
specs written (`checked_json`), snapshots restored (`check_values`). Also the rule
for the definition file a write names (`valid_source`).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from ..errors import StoreError

#: the one integer range of storecfg (SQLite's, and every common JSON parser's):
#: signed 64 bits
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
INT64_RANGE = "-9223372036854775808 to 9223372036854775807 (signed 64-bit)"

#: a run of 19 digits (an integer past 64 bits) in JSON text, once every digit is a 9
_TO_NINES = bytes.maketrans(b"0123456789", b"9999999999")
_LONG_RUN = b"9" * 19
#: the JSON escape of a surrogate (lone ones cannot be stored, or even answered)
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _step(key: Any) -> str:
    if isinstance(key, int):
        return f"[{key}]"
    if isinstance(key, str) and _FIELD_NAME.fullmatch(key):
        return f".{key}"
    return f"[{json.dumps(key)}]"


def _unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def bad_value(value: Any) -> tuple[str, str] | None:
    """The first value (in document order) that JSON can carry but the store cannot
    keep, as (path such as `.resources[0].max`, what is wrong), or None: integers
    outside the signed 64-bit range, non-finite numbers, text with lone surrogates."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:  # no recursion: the nesting is as deep as the JSON parser allowed
        node, path = stack.pop()
        if isinstance(node, dict):
            for key in node:
                if isinstance(key, str) and not _unicode(key):
                    return path + _step(key.encode("utf-8", "backslashreplace").decode()), (
                        "the field name holds a lone surrogate (not valid Unicode)"
                    )
            stack.extend((v, path + _step(k)) for k, v in reversed(node.items()))
        elif isinstance(node, list):
            stack.extend((node[i], f"{path}[{i}]") for i in range(len(node) - 1, -1, -1))
        elif isinstance(node, bool):
            continue
        elif isinstance(node, int):
            if not INT64_MIN <= node <= INT64_MAX:
                shown = str(node) if abs(node) < 10**40 else "an integer of over 40 digits"
                return path, f"{shown} is outside the integer range {INT64_RANGE}"
        elif isinstance(node, float):
            if not math.isfinite(node):
                return path, f"{node} is not a finite number"
        elif isinstance(node, str) and not _unicode(node):
            return path, "the text holds a lone surrogate (not valid Unicode)"
    return None


def check_values(value: Any, where: str) -> None:
    """Refuse (400) a value `bad_value` finds fault with, naming `where` and the field."""
    found = bad_value(value)
    if found is not None:
        path, problem = found
        raise StoreError(f"{where}{path}: {problem}", 400)


def checked_json(value: Any, where: str) -> tuple[str, bytes]:
    """`value` as canonical JSON (what `model.canonical_json` writes) and its UTF-8
    bytes; a StoreError (400, naming `where` and the field) when it holds what the store
    cannot keep. The serialization refuses non-finite numbers and lone surrogates by
    itself, and one pass over the bytes finds long digit runs: valid values cost
    (almost) nothing more than the serialization a write needs anyway."""
    try:
        text = json.dumps(
            value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
        data = text.encode()
    except (ValueError, UnicodeEncodeError):
        check_values(value, where)
        raise  # not a value problem (a cycle?): not the client's doing
    if _LONG_RUN in data.translate(_TO_NINES):
        check_values(value, where)  # often a run of digits in a text: then nothing
    return text, data


def json_body(raw: bytes, *, numbers: bool = True) -> Any:
    """A request body parsed as JSON; a StoreError (400, naming the field) when it holds
    a lone surrogate, a non-finite number or (with `numbers`) an integer outside the
    signed 64-bit range. `numbers=False` leaves the integers of specs to the write that
    stores them. ValueError when it is not JSON."""
    huge: list[str] = []

    def number(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            huge.append(text)
        return value

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    data = json.loads(raw, parse_constant=constant, parse_float=number)
    if (
        huge
        or (b"\\" in raw and _SURROGATE_ESCAPE.search(raw))
        or (numbers and _LONG_RUN in raw.translate(_TO_NINES))
    ):
        found = bad_value(data)
        if found is not None:
            path, problem = found
            where = f"field {path.lstrip('.')}" if path else "the request body"
            raise StoreError(f"request body is refused: {where}: {problem}", 400)
    return data


#: the longest definition file path a write may name
MAX_SOURCE = 500
SOURCE_RULE = "{where} must be a file path of 1 to " + str(MAX_SOURCE) + " printable characters"


def valid_source(value: Any) -> bool:
    """A file path of 1 to MAX_SOURCE characters, none a control character (plans print it)."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_SOURCE
        and not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value)
    )
