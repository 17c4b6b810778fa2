"""New values written as YAML lines, in the layout the definition's files use.

`Layout` says how the files indent, quote and which fields they write in flow style
(`{...}`, `[...]`); `emit_entry` and `emit_item` give the lines of a new key or list
item, `flow_text` a value written inline.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .scalars import NotBlock, block_scalar_lines, double_quoted, plain_ok, scalar_text


@dataclass
class Layout:
    """How a file writes what is added to it: indentation, quotes, flow fields."""

    indent: int = 2
    #: columns a block sequence's dashes sit right of their key (0: at the key's column)
    seq_offset: int = 2
    quote: str = '"'
    #: whether the files write a field in flow style ({...} or [...]): by the field
    #: names leading to it (`("service_plans", "price")`) and by its own name (`("*",
    #: "price")`)
    flow: dict[tuple[str, ...], bool] = field(default_factory=dict)

    def flow_for(self, names: tuple[str, ...]) -> bool | None:
        found = self.flow.get(names)
        if found is None and names:
            found = self.flow.get(("*", names[-1]))
        return found

    #: a blank line between the items of the top-level resource lists
    spaced_items: bool = False


#: the key under which small mappings (a few scalars, like periods) are counted
SMALL = ("<small mapping>",)


def small(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and 0 < len(value) <= 4
        and not any(isinstance(v, (dict, list)) for v in value.values())
    )


_MAX_FLOW = 80


def flow_text(value: Any, layout: Layout) -> str:
    """`value` written inline (`{a: 1}`, `[x, y]`), as in a flow collection."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow_text(v, layout)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow_text(v, layout) for v in value) + "]"
    if isinstance(value, str) and "\n" in value:
        return double_quoted(value)
    return scalar_text(value, "", True, layout.quote)


def _use_flow(names: tuple[str, ...], value: Any, layout: Layout) -> bool:
    if not value:
        return True  # {} and []
    known = layout.flow_for(names)
    if known is None and small(value):
        known = layout.flow.get(SMALL)
    if known is not None:
        return known and len(flow_text(value, layout)) <= _MAX_FLOW
    simple = all(not isinstance(v, (dict, list)) for v in _values(value))
    return isinstance(value, list) and simple and len(flow_text(value, layout)) <= _MAX_FLOW


def _values(value: Any) -> Iterable[Any]:
    return value.values() if isinstance(value, dict) else value


def key_text(key: str) -> str:
    """A mapping key, quoted only where it must be."""
    return key if plain_ok(key, False) else double_quoted(key)


def emit_entry(
    key: str, value: Any, col: int, layout: Layout, ctx: tuple[str, ...] = ()
) -> list[str]:
    """Lines of `key: value` in a block mapping whose keys start at column `col`
    (0-based); `ctx` names the fields leading to the mapping (for the file's style)."""
    pad = " " * col
    name = key_text(key)
    names = (*ctx, key)
    if isinstance(value, (dict, list)):
        if _use_flow(names, value, layout):
            return [f"{pad}{name}: {flow_text(value, layout)}"]
        if isinstance(value, dict):
            lines = [f"{pad}{name}:"]
            for k, v in value.items():
                lines += emit_entry(k, v, col + layout.indent, layout, names)
            return lines
        lines = [f"{pad}{name}:"]
        for item in value:
            lines += emit_item(item, col + layout.seq_offset, layout, names)
        return lines
    if isinstance(value, str) and "\n" in value:
        try:
            header, body = block_scalar_lines(value, "|", col + layout.indent, col)
            return [f"{pad}{name}: {header}", *body]
        except NotBlock:
            pass
    return [f"{pad}{name}: {scalar_text(value, '', False, layout.quote)}"]


def emit_item(value: Any, col: int, layout: Layout, ctx: tuple[str, ...] = ()) -> list[str]:
    """Lines of one block sequence item whose dash is at column `col`; `ctx` names the
    fields leading to the list."""
    pad = " " * col
    if isinstance(value, dict) and value:
        lines: list[str] = []
        for k, v in value.items():
            lines += emit_entry(k, v, col + 2, layout, ctx)
        lines[0] = pad + "- " + lines[0][col + 2 :]
        return lines
    if isinstance(value, (dict, list)):
        return [f"{pad}- {flow_text(value, layout)}"]
    if isinstance(value, str) and "\n" in value:
        try:
            header, body = block_scalar_lines(value, "|", col + 2, col)
            return [f"{pad}- {header}", *body]
        except NotBlock:
            pass
    return [f"{pad}- {scalar_text(value, '', False, layout.quote)}"]
