"""References between resources as a graph: what a spec refers to, and how deep each
resource sits in its own kind's references. The plan's order (apply/order.py) is made
of these; the compile cache keeps the depths so that a plan from the cache does not
walk every spec again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..model import address
from .fields import kind_info, values_at

Spec = dict[str, Any]


def dependencies(kind: str, spec: Spec, *, same_kind: bool = False) -> Iterable[str]:
    """Addresses this spec refers to (with `same_kind`, only those of its own kind)."""
    for path, target in kind_info(kind).ref_paths:
        if same_kind and target != kind:
            continue
        for _, value in values_at(spec, path):
            if isinstance(value, str):
                yield address(target, value)


def graph_levels(edges: dict[str, list[str]]) -> dict[str, int]:
    """Longest-path depth of each node (0 for nodes with no edges): a node comes after
    everything its edges point to. Edges to unknown nodes and cycle edges are ignored
    (iterative depth-first search, linear in nodes and edges)."""
    level: dict[str, int] = {}
    for start in edges:
        if start in level:
            continue
        stack: list[tuple[str, int]] = [(start, 0)]
        on_path: set[str] = {start}
        while stack:
            node, i = stack[-1]
            targets = edges[node]
            if i < len(targets):
                stack[-1] = (node, i + 1)
                nxt = targets[i]
                if nxt in edges and nxt not in level and nxt not in on_path:
                    on_path.add(nxt)
                    stack.append((nxt, 0))
                continue
            stack.pop()
            on_path.discard(node)
            level[node] = 1 + max((level[t] for t in targets if t in level), default=-1)
    return level


def kind_levels(specs_by_kind: Mapping[str, Mapping[str, Spec]]) -> dict[str, int]:
    """address -> depth of the resource in its kind's own reference graph (a plan after
    the plans it upgrades to, a category after its parent), for depths above 0 only."""
    out: dict[str, int] = {}
    for kind, specs in specs_by_kind.items():
        if not any(target == kind for _, target in kind_info(kind).ref_paths):
            continue
        prefix = len(kind) + 1
        edges = {
            rid: [a[prefix:] for a in dependencies(kind, spec, same_kind=True) if a[prefix:] != rid]
            for rid, spec in specs.items()
        }
        out.update((address(kind, rid), n) for rid, n in graph_levels(edges).items() if n)
    return out
