"""New values written as YAML lines, in the layout the definition's files use.

`Layout` says how the files indent, quote and which fields they write in flow style
(`{...}`, `[...]`); `emit_entry` and `emit_item` give the lines of a new key or list
item, `flow_text` a value written inline. A field the files have not written yet
takes the style they use for objects of the same schema shape (`trial` as periods
are written), else for small mappings or lists of scalars in general.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from ..model import KINDS
from ..spec.normalize import Shape, kind_shape
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
        """The style of the field at `names`: as written at that path, else as fields
        of that name are written, else as objects of its schema shape are written."""
        found = self.flow.get(names)
        if found is None and names:
            found = self.flow.get(("*", names[-1]))
        if found is None:
            shape = shape_key(names)
            if shape is not None:
                found = self.flow.get(shape)
        return found

    #: a blank line between the items of the top-level resource lists
    spaced_items: bool = False


#: the key under which small mappings (a few scalars, like periods) are counted
SMALL = ("<small mapping>",)
#: the key under which lists of scalars (`[a, b]`) are counted
SCALARS = ("<list of scalars>",)


def shape_at(names: tuple[str, ...]) -> Shape | None:
    """The schema shape of the object at `names` (a resource kind or "store", then field
    names; list positions left out), or None where no object schema describes it."""
    if not names or (names[0] not in KINDS and names[0] != "store"):
        return None
    shape: Shape | None = kind_shape(names[0])
    for name in names[1:]:
        if shape is None:
            return None
        shape = shape.children.get(name) or shape.items.get(name)
    return shape


@cache
def shape_key(names: tuple[str, ...]) -> tuple[str, ...] | None:
    """A key naming the schema shape at `names` by its fields in schema order (every
    period is `("<shape>", "length", "unit")`), for the style of objects of that shape."""
    shape = shape_at(names) if len(names) > 1 else None
    return ("<shape>", *shape.order) if shape is not None and shape.order else None


def scalar_list(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and not any(isinstance(v, (dict, list)) for v in value)
    )


def small(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and 0 < len(value) <= 4
        and not any(isinstance(v, (dict, list)) for v in value.values())
    )


_MAX_FLOW = 80
#: the longest `{...}` of a list item written in flow style (items are whole resources
#: or add-ons: longer than the values in _MAX_FLOW)
_MAX_FLOW_ITEM = 120


def items_key(names: tuple[str, ...]) -> tuple[str, ...]:
    """The key under which the style of the items of the list at `names` is counted."""
    return (*names, "[]")


def flow_text(value: Any, layout: Layout) -> str:
    """`value` written inline (`{a: 1}`, `[x, y]`), as in a flow collection."""
    if isinstance(value, dict):
        pairs = (f"{key_text(k, True)}: {flow_text(v, layout)}" for k, v in value.items())
        return "{" + ", ".join(pairs) + "}"
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
    if known is None and scalar_list(value):
        known = layout.flow.get(SCALARS)
    if known is not None:
        return known and len(flow_text(value, layout)) <= _MAX_FLOW
    simple = all(not isinstance(v, (dict, list)) for v in _values(value))
    return isinstance(value, list) and simple and len(flow_text(value, layout)) <= _MAX_FLOW


def _values(value: Any) -> Iterable[Any]:
    return value.values() if isinstance(value, dict) else value


def key_text(key: str, flow: bool = False) -> str:
    """A mapping key (in a {flow} mapping: `flow`), quoted only where it must be."""
    return key if plain_ok(key, flow) else double_quoted(key)


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
    if isinstance(value, dict) and value and ctx and layout.flow.get(items_key(ctx)):
        inline = flow_text(value, layout)  # as the file writes this list's items
        if len(inline) <= _MAX_FLOW_ITEM and "\n" not in inline:
            return [f"{pad}- {inline}"]
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
