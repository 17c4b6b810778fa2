"""One value as YAML scalar text that reads back as the same value.

Plain where YAML 1.2 core reads it back unchanged and YAML 1.1 readers would read it
as the same string too (`yes`, `off`, `1_000`, `1:30`, `2024-01-01` are quoted), else
quoted in the file's style,
or as a block scalar (`|`, `>`) for text over several lines. A value the definition
would read as a template, or that no scalar can hold, raises `Unsafe`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import yaml

from ..spec.yaml12 import resolve_plain


class NotBlock(Exception):
    """A value that a block scalar cannot hold (it is written quoted instead)."""


class Unsafe(Exception):
    """An edit that text replacement cannot make safely; `line` is where (0: unknown)."""

    def __init__(self, reason: str, line: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


_PLAIN_START_BAD = set("-?:,[]{}#&*!|>'\"%@` \t")
_FLOW_BAD = set(",[]{}")
#: characters a YAML stream may hold as they are (besides tab, LF and CR)
_PRINTABLE = re.compile(
    "[\x09\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]*\\Z"
)


def is_template_text(value: str) -> bool:
    return "{{" in value or "{%" in value


def _check_not_template(value: str) -> None:
    if is_template_text(value):
        raise Unsafe(
            "the live value holds '{{' or '{%', which the definition would read as a template"
        )


#: booleans of YAML 1.1 that PyYAML leaves out but other readers take as booleans
_YAML11_BOOLS = frozenset({"y", "Y", "n", "N"})
_STR_TAG = "tag:yaml.org,2002:str"
#: YAML 1.1 implicit typing, as PyYAML (and most YAML 1.1 readers) resolve plain scalars
_resolve_yaml11: Callable[[type[yaml.ScalarNode], str, tuple[bool, bool]], str] = (
    yaml.resolver.Resolver().resolve
)


def yaml11_string(value: str) -> bool:
    """Whether a YAML 1.1 reader reads plain `value` as a string (not `yes` -> true,
    `0777` -> 511, `1:30` -> 90, `2024-01-01` -> a date, `~` -> null, `<<` -> merge)."""
    if value in _YAML11_BOOLS:
        return False
    return _resolve_yaml11(yaml.ScalarNode, value, (True, False)) == _STR_TAG


def plain_ok(value: str, flow: bool) -> bool:
    """Whether `value` can be written without quotes and read back as the same string."""
    if not value or value[0] in _PLAIN_START_BAD or value[-1] in " \t:":
        return False
    if not _PRINTABLE.match(value) or any(c in value for c in "\t\n\r"):
        return False
    if ": " in value or " #" in value or (flow and any(c in _FLOW_BAD for c in value)):
        return False
    if flow and ":" in value:
        return False
    try:
        if resolve_plain(value) != value or not isinstance(resolve_plain(value), str):
            return False
    except ValueError:
        return False
    return value not in ("---", "...") and yaml11_string(value)


def double_quoted(value: str) -> str:
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif _PRINTABLE.match(ch) and ch not in "\x85\u2028\u2029\ufeff":
            out.append(ch)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def single_quoted(value: str) -> str | None:
    if any(c in value for c in "\n\r\t") or not _PRINTABLE.match(value):
        return None
    return "'" + value.replace("'", "''") + "'"


def scalar_text(value: Any, style: str, flow: bool, quote: str) -> str:
    """`value` as a scalar in (or as close as it gets to) `style`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise Unsafe("the live value is not a finite number")
        text = repr(value)
        return text if resolve_plain(text) == value else json.dumps(value)
    if not isinstance(value, str):
        raise Unsafe(f"cannot write a {type(value).__name__} as a scalar")
    _check_not_template(value)
    if style == '"':
        return double_quoted(value)
    if style == "'" or (not plain_ok(value, flow) and quote == "'"):
        single = single_quoted(value)
        if single is not None:
            return single
    elif plain_ok(value, flow):
        return value
    return double_quoted(value)


def block_scalar_lines(
    value: str, style: str, indent: int, parent_indent: int
) -> tuple[str, list[str]]:
    """The header (`|`, `>-`, `|2+` ...) and content lines of a block scalar."""
    _check_not_template(value)
    body = value.rstrip("\n")
    if "\r" in value or not _PRINTABLE.match(value.replace("\n", "")) or not body.strip():
        raise NotBlock()
    trailing = len(value) - len(body)
    chomp = "-" if trailing == 0 else "" if trailing == 1 else "+"
    lines = body.split("\n")
    if style == ">":
        if any(ln[:1] in (" ", "\t") for ln in lines) or any(
            ln.endswith((" ", "\t")) for ln in lines
        ):
            style = "|"  # folding would change such lines: write them as they are
        else:
            # folding turns a single line break between two lines into a space: each
            # break between lines of text takes one more (blank) line
            folded: list[str] = []
            seen_text = False
            for ln in lines:
                if ln and seen_text:
                    folded.append("")
                folded.append(ln)
                seen_text = seen_text or bool(ln)
            lines = folded
    indicator = ""
    first = next((ln for ln in lines if ln), "")
    if first[:1] == " ":
        indicator = str(max(indent - parent_indent, 1))
    pad = " " * indent
    out = [pad + ln if ln else "" for ln in lines]
    if chomp == "+":
        out += [""] * (trailing - 1)
    return style + indicator + chomp, out
