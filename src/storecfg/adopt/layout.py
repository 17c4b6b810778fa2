"""The layout a definition's files use, inferred from them for what adopt adds.

The indentation, the column of list dashes, the quotes, the fields written in flow
style (by path, by field name, by schema shape, and for small mappings and lists of
scalars in general) and whether top-level items are spaced: the most common choice wins.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from ..compiler.positions import PosDict, PosList
from .emit import SCALARS, SMALL, Layout, items_key, scalar_list, shape_key, small
from .scalars import Unsafe
from .text import Source, Span


def infer_layout(sources: Iterable[Source]) -> Layout:
    """The indentation, quotes and flow fields most used in these files."""
    steps: Counter[int] = Counter()
    offsets: Counter[int] = Counter()
    quotes: Counter[str] = Counter()
    flow: Counter[tuple[str, ...]] = Counter()
    block: Counter[tuple[str, ...]] = Counter()
    spaced: Counter[bool] = Counter()
    for source in sources:
        if source.root is None:
            continue
        _layout_walk(source, source.root, source.data, steps, offsets, quotes, flow, block)
        if isinstance(source.data, PosDict):
            for value in source.data.values():
                if isinstance(value, PosList) and len(value) > 1:
                    try:
                        spans = [source.value_span(value, i) for i in range(2)]
                        dashes = [source.dash(s) for s in spans]
                    except Unsafe:
                        continue
                    spaced[source.spaced(spans, dashes)] += 1
    layout = Layout()
    if steps:
        layout.indent = steps.most_common(1)[0][0]
    if offsets:
        layout.seq_offset = offsets.most_common(1)[0][0]
    if quotes:
        layout.quote = quotes.most_common(1)[0][0]
    layout.flow = {k: flow[k] > block[k] for k in {*flow, *block}}
    layout.spaced_items = spaced.most_common(1)[0][0] if spaced else False
    return layout


def _layout_walk(
    source: Source,
    span: Span,
    data: Any,
    steps: Counter[int],
    offsets: Counter[int],
    quotes: Counter[str],
    flow: Counter[tuple[str, ...]],
    block: Counter[tuple[str, ...]],
) -> None:
    todo: list[tuple[Span, Any, tuple[str, ...], int | None]] = [(span, data, (), None)]
    while todo:
        node, value, names, parent_col = todo.pop()
        if node.kind == "scalar":
            if node.style in ("'", '"') and isinstance(value, str):
                quotes[node.style] += 1
            continue
        if node.kind not in ("mapping", "sequence"):
            continue
        if names:
            counter = flow if node.style == "flow" else block
            counter[names] += 1
            counter[("*", names[-1])] += 1
            shape = shape_key(names) if isinstance(value, dict) else None
            if shape is not None:
                counter[shape] += 1
            if small(value):
                counter[SMALL] += 1
            if scalar_list(value):
                counter[SCALARS] += 1
        if node.style == "flow":
            continue
        if node.kind == "mapping" and isinstance(value, PosDict):
            keys = node.children[0::2]
            values = node.children[1::2]
            if parent_col is not None and keys and node.col > parent_col:
                steps[node.col - parent_col] += 1
            for vspan, key in zip(values, value, strict=False):
                if vspan.kind == "sequence" and vspan.style == "block":
                    offsets[max(vspan.col - node.col, 0)] += 1
                todo.append((vspan, value.get(key), (*names, key), node.col))
        elif node.kind == "sequence" and isinstance(value, PosList):
            for child, item in zip(node.children, value, strict=False):
                if child.kind == "mapping" and names:  # `- {id: a, ...}` or `- id: a`
                    (flow if child.style == "flow" else block)[items_key(names)] += 1
                todo.append((child, item, names, None))
