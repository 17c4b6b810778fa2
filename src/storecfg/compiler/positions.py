"""Loaded YAML values that remember where they were written.

Mappings come back from the loader as `PosDict` and sequences as `PosList`: ordinary
dict and list objects that also remember where each of their values started, so a
diagnostic can name the line and column of any value, and template strings can be
found and rendered in place.
"""

from __future__ import annotations

from typing import Any, NamedTuple

Pos = tuple[int, int]  # 1-based line, column


class PosDict(dict[str, Any]):
    """A mapping that remembers where it, each key and each value started."""

    __slots__ = ("kpos", "start", "vpos")

    def __init__(self, start: Pos = (0, 0)) -> None:
        super().__init__()
        self.start = start
        self.kpos: dict[str, Pos] = {}
        self.vpos: dict[str, Pos] = {}


class PosList(list[Any]):
    """A sequence that remembers where it and each item started."""

    __slots__ = ("ipos", "start")

    def __init__(self, start: Pos = (0, 0)) -> None:
        super().__init__()
        self.start = start
        self.ipos: list[Pos] = []


def position_of(root: Any, path: tuple[Any, ...], *, key: bool = False) -> Pos | None:
    """Where the value at `path` starts (or its key, with key=True).

    A path that runs past what exists (a missing field) gives the position of the
    deepest container that does exist.
    """
    node = root
    pos: Pos | None = getattr(root, "start", None)
    for i, step in enumerate(path):
        last = i == len(path) - 1
        if isinstance(node, PosDict) and isinstance(step, str) and step in node:
            pos = node.kpos[step] if (last and key) else node.vpos[step]
            node = node[step]
        elif isinstance(node, PosList) and isinstance(step, int) and 0 <= step < len(node):
            pos = node.ipos[step]
            node = node[step]
        else:
            break
    return pos


class TemplateSite(NamedTuple):
    container: Any
    key: Any
    line: int
    column: int
    path: tuple[Any, ...]
    #: a literal block scalar ('|'): its lines map one to one to the file's lines
    literal: bool = False


def is_template(value: Any) -> bool:
    return type(value) is str and ("{{" in value or "{%" in value)


def has_template(value: Any) -> bool:
    """Whether a value holds a template string anywhere."""
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
        elif is_template(item):
            return True
    return False


def copy_positioned(value: Any) -> Any:
    """A deep copy keeping positions, so an aliased value is never shared."""
    if type(value) is PosDict:
        new = PosDict(value.start)
        new.kpos = dict(value.kpos)
        new.vpos = dict(value.vpos)
        for k, v in value.items():
            new[k] = copy_positioned(v)
        return new
    if type(value) is PosList:
        newl = PosList(value.start)
        newl.ipos = list(value.ipos)
        newl.extend(copy_positioned(v) for v in value)
        return newl
    return value


def find_templates(root: Any) -> list[TemplateSite]:
    """Every template string in a tree (used when aliases or merges copied values)."""
    sites: list[TemplateSite] = []
    todo: list[tuple[Any, tuple[Any, ...]]] = [(root, ())]
    while todo:
        node, path = todo.pop()
        if isinstance(node, dict):
            items: Any = node.items()
        elif isinstance(node, list):
            items = enumerate(node)
        else:
            continue
        for key, value in items:
            if isinstance(value, str):
                if "{{" in value or "{%" in value:
                    pos = (
                        node.vpos.get(key, node.start)
                        if isinstance(node, PosDict)
                        else (node.ipos[key] if isinstance(node, PosList) else (0, 0))
                    )
                    sites.append(TemplateSite(node, key, pos[0], pos[1], (*path, key)))
            elif isinstance(value, (dict, list)):
                todo.append((value, (*path, key)))
    sites.sort(key=lambda s: (s.line, s.column))
    return sites
