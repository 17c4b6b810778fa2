"""Field-level differences between two specs, with lists diffed by key.

Lists of objects with an `id` (add-on resources) and lists of unique references
(screens in a scenario, plans in a category) are compared by key: an insertion is
"inserted addons at 2", a reordering "moved payment from 3 to 5" — never a cascade
of index changes. Moves are the items outside the longest run that kept its order,
so the fewest items are reported as moved. Positions are 1-based.

Each difference is a plain dict (JSON-ready):
  {"op": "change", "path": "price.recurring", "old": "20.00", "new": "22.00"}
  {"op": "add" | "remove", "path": "trial", "new" | "old": ...}
  {"op": "insert", "path": "screens", "item": "addons", "at": 2}
  {"op": "remove", "path": "screens", "item": "legal", "from": 4}
  {"op": "move", "path": "screens", "item": "payment", "from": 3, "to": 5}
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

from .plandoc import DiffEntry


def join(path: str, step: str) -> str:
    return f"{path}.{step}" if path else step


def diff_specs(old: Any, new: Any, path: str = "") -> list[DiffEntry]:
    out: list[DiffEntry] = []
    _diff(old, new, path, out)
    return out


def same(a: Any, b: Any) -> bool:
    """Equal as JSON: same types all the way down (true is not 1, 1 is not 1.0)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _diff(old: Any, new: Any, path: str, out: list[DiffEntry]) -> None:
    if same(old, new):
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for key, value in new.items():
            sub = join(path, key)
            if key not in old:
                out.append({"op": "add", "path": sub, "new": value})
            else:
                _diff(old[key], value, sub, out)
        for key, value in old.items():
            if key not in new:
                out.append({"op": "remove", "path": join(path, key), "old": value})
        return
    if isinstance(old, list) and isinstance(new, list):
        _diff_list(old, new, path, out)
        return
    out.append({"op": "change", "path": path, "old": old, "new": new})


def list_key(items: list[Any]) -> str | None:
    """How a list's items are identified: 'id' (objects), 'value' (unique scalars), None."""
    if not items:
        return "value"
    if all(isinstance(i, dict) and isinstance(i.get("id"), str) for i in items):
        ids = [i["id"] for i in items]
        return "id" if len(set(ids)) == len(ids) else None
    if all(isinstance(i, (str, int)) and not isinstance(i, bool) for i in items):
        return "value" if len(set(items)) == len(items) else None
    return None


def _diff_list(old: list[Any], new: list[Any], path: str, out: list[DiffEntry]) -> None:
    old_mode, new_mode = list_key(old), list_key(new)
    # an empty list takes the other side's mode: [] -> [{id: seats}] is an insertion
    mode = new_mode if not old else old_mode if not new or old_mode == new_mode else None
    if mode is None:
        if len(old) == len(new):
            for i, (a, b) in enumerate(zip(old, new, strict=True)):
                _diff(a, b, f"{path}[{i}]", out)
        else:
            out.append({"op": "change", "path": path, "old": old, "new": new})
        return

    def key(item: Any) -> Any:
        return item["id"] if mode == "id" else item

    old_pos = {key(item): i for i, item in enumerate(old)}
    new_pos = {key(item): i for i, item in enumerate(new)}
    for i, item in enumerate(old):
        k = key(item)
        if k not in new_pos:
            entry: DiffEntry = {"op": "remove", "path": path, "item": k, "from": i + 1}
            if mode == "id":
                entry["old"] = item
            out.append(entry)
    common = [key(item) for item in new if key(item) in old_pos]
    keep = _kept_in_place(common, old_pos, new_pos)
    for i, item in enumerate(new):
        k = key(item)
        if k not in old_pos:
            entry = {"op": "insert", "path": path, "item": k, "at": i + 1}
            if mode == "id":
                entry["new"] = item
            out.append(entry)
        elif k not in keep:
            out.append({"op": "move", "path": path, "item": k, "from": old_pos[k] + 1, "to": i + 1})
    if mode == "id":
        for item in new:
            k = item["id"]
            if k in old_pos:
                _diff(old[old_pos[k]], item, f"{path}[{k}]", out)


#: lists up to this long get the tie-break below (it costs O(n^2))
_SMALL_LIST = 1500


def _kept_in_place(keys: list[Any], old_pos: dict[Any, int], new_pos: dict[Any, int]) -> set[Any]:
    """The items that did not move: a longest run that kept its relative order, and
    among runs as long, the one keeping most items at their old position (reversing
    [a, b, c] moves a and c; b stays where it was)."""
    n = len(keys)
    if n > _SMALL_LIST:
        return _longest_increasing(keys, old_pos)
    olds = [old_pos[k] for k in keys]
    same = [1 if old_pos[k] == new_pos[k] else 0 for k in keys]
    best: list[tuple[int, int]] = [(1, same[i]) for i in range(n)]
    parent = [-1] * n
    for i in range(n):
        for j in range(i):
            if olds[j] < olds[i]:
                candidate = (best[j][0] + 1, best[j][1] + same[i])
                if candidate >= best[i]:  # ties: keep the later item, move the earlier one
                    best[i] = candidate
                    parent[i] = j
    keep: set[Any] = set()
    i = max(range(n), key=lambda x: (best[x], x)) if n else -1
    while i >= 0:
        keep.add(keys[i])
        i = parent[i]
    return keep


def _longest_increasing(keys: list[Any], old_pos: dict[Any, int]) -> set[Any]:
    """Keys forming the longest subsequence whose old positions increase (O(n log n))."""
    tails: list[int] = []  # old positions
    tail_idx: list[int] = []
    parents: list[int] = [-1] * len(keys)
    for i, k in enumerate(keys):
        p = old_pos[k]
        j = bisect_left(tails, p)
        if j == len(tails):
            tails.append(p)
            tail_idx.append(i)
        else:
            tails[j] = p
            tail_idx[j] = i
        parents[i] = tail_idx[j - 1] if j > 0 else -1
    keep: set[Any] = set()
    i = tail_idx[-1] if tail_idx else -1
    while i >= 0:
        keep.add(keys[i])
        i = parents[i]
    return keep


# ---------------------------------------------------------------- field paths


def get_path(spec: Any, dotted: str) -> tuple[bool, Any]:
    """(found, value) at a dotted path; a step into a list of objects selects by id."""
    node = spec
    for step in dotted.split("."):
        if isinstance(node, dict) and step in node:
            node = node[step]
        elif isinstance(node, list):
            match = next((i for i in node if isinstance(i, dict) and i.get("id") == step), None)
            if match is None:
                return False, None
            node = match
        else:
            return False, None
    return True, node


def set_path(spec: Any, dotted: str, found: bool, value: Any) -> None:
    """Set (or, when not found, remove) the value at a dotted path, in place."""
    steps = dotted.split(".")
    node = spec
    for step in steps[:-1]:
        if isinstance(node, dict) and isinstance(node.get(step), (dict, list)):
            node = node[step]
        elif isinstance(node, list):
            node = next((i for i in node if isinstance(i, dict) and i.get("id") == step), None)
            if node is None:
                return
        else:
            return
    last = steps[-1]
    if isinstance(node, dict):
        if found:
            node[last] = value
        else:
            node.pop(last, None)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            if isinstance(item, dict) and item.get("id") == last:
                if found:
                    node[i] = value
                else:
                    del node[i]
                return
