"""Field-level diffs: lists compared by key, never a cascade of index changes."""

from __future__ import annotations

import copy
import re
from typing import Any

from deepdiff import DeepDiff
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storecfg.apply.diff import diff_specs, get_path, set_path
from storecfg.model import canonical_json

SCREENS = ["choose", "addons", "payment", "cart", "terms", "checkout"]


def test_equal_specs_have_no_diff() -> None:
    spec = {"id": "a", "screens": list(SCREENS), "price": {"setup": "0.00"}}
    assert diff_specs(spec, copy.deepcopy(spec)) == []


def test_a_move_is_one_op_with_1_based_positions() -> None:
    old = {"screens": ["choose", "addons", "payment", "cart", "checkout"]}
    new = {"screens": ["choose", "addons", "cart", "checkout", "payment"]}
    assert diff_specs(old, new) == [
        {"op": "move", "path": "screens", "item": "payment", "from": 3, "to": 5}
    ]


def test_moving_an_item_forward_reports_only_that_item() -> None:
    old = {"screens": ["a", "b", "c", "d", "e", "f"]}
    new = {"screens": ["a", "f", "b", "c", "d", "e"]}
    assert diff_specs(old, new) == [
        {"op": "move", "path": "screens", "item": "f", "from": 6, "to": 2}
    ]


def test_an_insertion_shifts_nothing_else() -> None:
    old = {"screens": ["choose", "cart", "payment", "checkout"]}
    new = {"screens": ["choose", "addons", "cart", "payment", "checkout"]}
    assert diff_specs(old, new) == [{"op": "insert", "path": "screens", "item": "addons", "at": 2}]


def test_a_removal_shifts_nothing_else() -> None:
    old = {"plans": ["e1", "e3", "e5", "f1"]}
    new = {"plans": ["e1", "e5", "f1"]}
    assert diff_specs(old, new) == [{"op": "remove", "path": "plans", "item": "e3", "from": 2}]


def test_insert_remove_and_move_together() -> None:
    old = {"screens": ["a", "b", "c", "d"]}
    new = {"screens": ["d", "a", "x", "c"]}
    ops = diff_specs(old, new)
    assert {"op": "remove", "path": "screens", "item": "b", "from": 2} in ops
    assert {"op": "insert", "path": "screens", "item": "x", "at": 3} in ops
    moves = [o for o in ops if o["op"] == "move"]
    assert moves == [{"op": "move", "path": "screens", "item": "d", "from": 4, "to": 1}]
    assert len(ops) == 3


def test_addon_resources_are_diffed_by_id() -> None:
    seats = {"id": "seats", "name": "Seats", "min": 1, "max": 300, "price": {"recurring": "5.00"}}
    storage = {"id": "storage", "name": "Storage", "min": 0, "max": 10}
    old = {"resources": [seats, storage]}
    new_seats = {**seats, "max": 500, "price": {"recurring": "5.50"}}
    new = {"resources": [storage, new_seats]}
    ops = diff_specs(old, new)
    assert ops == [
        {"op": "move", "path": "resources", "item": "seats", "from": 1, "to": 2},
        {"op": "change", "path": "resources[seats].max", "old": 300, "new": 500},
        {"op": "change", "path": "resources[seats].price.recurring", "old": "5.00", "new": "5.50"},
    ] or ops == [
        {"op": "move", "path": "resources", "item": "storage", "from": 2, "to": 1},
        {"op": "change", "path": "resources[seats].max", "old": 300, "new": 500},
        {"op": "change", "path": "resources[seats].price.recurring", "old": "5.00", "new": "5.50"},
    ]


def test_an_added_addon_carries_the_whole_item() -> None:
    old = {"resources": [{"id": "seats", "max": 5}]}
    new = {"resources": [{"id": "seats", "max": 5}, {"id": "storage", "max": 10}]}
    assert diff_specs(old, new) == [
        {
            "op": "insert",
            "path": "resources",
            "item": "storage",
            "at": 2,
            "new": {"id": "storage", "max": 10},
        }
    ]
    assert diff_specs(new, old) == [
        {
            "op": "remove",
            "path": "resources",
            "item": "storage",
            "from": 2,
            "old": {"id": "storage", "max": 10},
        }
    ]


def test_first_addon_added_to_an_empty_list() -> None:
    old: dict[str, Any] = {"resources": []}
    new = {"resources": [{"id": "seats", "max": 5}]}
    assert diff_specs(old, new) == [
        {"op": "insert", "path": "resources", "item": "seats", "at": 1, "new": new["resources"][0]}
    ]
    assert diff_specs(new, old) == [
        {
            "op": "remove",
            "path": "resources",
            "item": "seats",
            "from": 1,
            "old": new["resources"][0],
        }
    ]


def test_scalar_fields_added_removed_changed() -> None:
    old = {"name": "A", "trial": {"length": 1, "unit": "month"}, "published": True}
    new = {"name": "B", "published": False, "auto_renew": True}
    assert diff_specs(old, new) == [
        {"op": "change", "path": "name", "old": "A", "new": "B"},
        {"op": "change", "path": "published", "old": True, "new": False},
        {"op": "add", "path": "auto_renew", "new": True},
        {"op": "remove", "path": "trial", "old": {"length": 1, "unit": "month"}},
    ]


def test_true_is_not_1() -> None:
    # The plan compares canonical JSON, where true and 1 differ; the diff must agree.
    assert diff_specs({"a": True}, {"a": 1}) == [
        {"op": "change", "path": "a", "old": True, "new": 1}
    ]
    assert diff_specs({"a": [0, 1]}, {"a": [False, 1]}) != []


def test_lists_with_duplicates_fall_back_to_positions() -> None:
    assert diff_specs({"x": ["a", "a", "b"]}, {"x": ["a", "b", "b"]}) == [
        {"op": "change", "path": "x[1]", "old": "a", "new": "b"}
    ]
    assert diff_specs({"x": ["a", "a"]}, {"x": ["a", "a", "a"]}) == [
        {"op": "change", "path": "x", "old": ["a", "a"], "new": ["a", "a", "a"]}
    ]


def test_get_and_set_path_select_list_items_by_id() -> None:
    spec = {"resources": [{"id": "seats", "max": 5}], "price": {"recurring": "1.00"}}
    assert get_path(spec, "resources.seats.max") == (True, 5)
    assert get_path(spec, "resources.nope.max") == (False, None)
    assert get_path(spec, "price.setup") == (False, None)
    set_path(spec, "resources.seats.max", True, 9)
    set_path(spec, "price.recurring", False, None)
    assert spec == {"resources": [{"id": "seats", "max": 9}], "price": {}}


# ------------------------------------------------------------------ properties

SCALARS = st.sampled_from([0, 1, 2, True, False, "x", "y", "", "1", None])
IDS = st.sampled_from(["p", "q", "r", "s", "t", "u"])
KEYS = st.sampled_from(["a", "b", "c", "d"])


def _objects_with_ids(children: st.SearchStrategy[Any]) -> st.SearchStrategy[list[Any]]:
    def build(keys: list[str]) -> st.SearchStrategy[list[Any]]:
        return st.tuples(*[st.dictionaries(KEYS, children, max_size=3) for _ in keys]).map(
            lambda ds: [{**d, "id": k} for d, k in zip(ds, keys, strict=True)]
        )

    return st.lists(IDS, unique=True, max_size=5).flatmap(build)


VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.dictionaries(KEYS, children, max_size=4),
        st.lists(IDS, unique=True, max_size=6),
        st.lists(SCALARS, max_size=4),
        _objects_with_ids(children),
    ),
    max_leaves=20,
)
SPECS = st.dictionaries(KEYS, VALUES, max_size=5)


@st.composite
def mutated(draw: st.DrawFn, value: Any) -> Any:
    """A value like `value`: lists reordered, items dropped and added, leaves changed."""
    if isinstance(value, dict):
        out = {}
        for key, v in value.items():
            choice = draw(st.sampled_from(["keep", "keep", "mutate", "drop"]))
            if key == "id" or choice == "keep":
                out[key] = v
            elif choice == "mutate":
                out[key] = draw(mutated(v))
        if draw(st.booleans()):
            key = draw(KEYS)
            if key not in out:
                out[key] = draw(VALUES)
        return out
    if isinstance(value, list):
        items = draw(st.permutations(value)) if draw(st.booleans()) else list(value)
        if items and draw(st.booleans()):
            del items[draw(st.integers(0, len(items) - 1))]
        is_objects = bool(value) and all(isinstance(i, dict) and "id" in i for i in value)
        if is_objects:
            items = [draw(mutated(i)) if draw(st.booleans()) else i for i in items]
            new_id = draw(IDS)
            if draw(st.booleans()) and all(i["id"] != new_id for i in items):
                items.insert(draw(st.integers(0, len(items))), {"id": new_id, "a": draw(SCALARS)})
        elif draw(st.booleans()):
            extra = draw(IDS)
            if extra not in items:
                items.insert(draw(st.integers(0, len(items))), extra)
        return items
    return draw(SCALARS) if draw(st.booleans()) else value


@st.composite
def spec_pairs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    a = draw(SPECS)
    how = draw(st.sampled_from(["same", "mutated", "mutated", "independent"]))
    if how == "same":
        return a, copy.deepcopy(a)
    if how == "mutated":
        return a, draw(mutated(a))
    return a, draw(SPECS)


_TOKEN = re.compile(r"\[([^\]]*)\]|\.?([^.\[]+)")


def _steps(path: str) -> list[tuple[str, str]]:
    """'a.b[q].c' -> [('key', 'a'), ('key', 'b'), ('item', 'q'), ('key', 'c')]"""
    out = []
    for m in _TOKEN.finditer(path):
        out.append(("item", m.group(1)) if m.group(1) is not None else ("key", m.group(2)))
    return out


def _keyed_by_id(items: list[Any]) -> bool:
    ids = [i.get("id") for i in items if isinstance(i, dict)]
    return (
        len(ids) == len(items)
        and all(isinstance(i, str) for i in ids)
        and len(set(ids)) == len(ids)
    )


def _child(node: Any, step: tuple[str, str]) -> Any:
    kind, name = step
    if kind == "key":
        return node[name]
    if _keyed_by_id(node) and any(i["id"] == name for i in node):
        return next(i for i in node if i["id"] == name)
    return node[int(name)]  # lists diffed by position (not keyed on both sides)


def _set_child(node: Any, step: tuple[str, str], value: Any) -> None:
    kind, name = step
    if kind == "key":
        node[name] = value
    elif _keyed_by_id(node) and any(i["id"] == name for i in node):
        node[next(n for n, i in enumerate(node) if i["id"] == name)] = value
    else:
        node[int(name)] = value


def _resolve(doc: Any, steps: list[tuple[str, str]]) -> Any:
    for step in steps:
        doc = _child(doc, step)
    return doc


def _rebuild_list(items: list[Any], batch: list[dict[str, Any]]) -> list[Any]:
    def key(item: Any) -> Any:
        return item["id"] if isinstance(item, dict) else item

    by_key = {key(i): i for i in items}
    removed, moved, placed = set(), set(), {}
    for op in batch:
        if op["op"] == "remove":
            assert key(items[op["from"] - 1]) == op["item"], op
            removed.add(op["item"])
        elif op["op"] == "move":
            assert key(items[op["from"] - 1]) == op["item"], op
            moved.add(op["item"])
            placed[op["to"] - 1] = by_key[op["item"]]
        else:
            assert op["op"] == "insert", op
            placed[op["at"] - 1] = op.get("new", op["item"])
    rest = iter(i for i in items if key(i) not in removed | moved)
    size = len(items) - len(removed) - len(moved) + len(placed)
    return [placed[n] if n in placed else next(rest) for n in range(size)]


def apply_ops(doc: dict[str, Any], ops: list[dict[str, Any]]) -> dict[str, Any]:
    """Replay a diff on a copy of `doc` (the test's own reading of the diff format)."""
    root = {"": copy.deepcopy(doc)}
    n = 0
    while n < len(ops):
        op = ops[n]
        steps = [("key", ""), *_steps(op["path"])]
        if "item" in op:  # a batch of list ops on one path
            batch = [op]
            while n + 1 < len(ops) and "item" in ops[n + 1] and ops[n + 1]["path"] == op["path"]:
                n += 1
                batch.append(ops[n])
            parent = _resolve(root, steps[:-1])
            _set_child(parent, steps[-1], _rebuild_list(_child(parent, steps[-1]), batch))
        else:
            parent = _resolve(root, steps[:-1])
            if op["op"] == "remove":
                del parent[steps[-1][1]]
            else:
                if op["op"] == "change":
                    assert canonical_json(_child(parent, steps[-1])) == canonical_json(op["old"])
                else:
                    assert steps[-1][1] not in parent
                _set_child(parent, steps[-1], op["new"])
        n += 1
    return root[""]


def _tagged(value: Any) -> Any:
    """`value` with booleans spelled out: deepdiff takes [true, 1] and [1, true] for equal
    lists (it hashes list items, and hash(True) == hash(1)); JSON does not."""
    if isinstance(value, bool):
        return f"<{str(value).lower()}>"
    if isinstance(value, dict):
        return {k: _tagged(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tagged(v) for v in value]
    return value


def deepdiff(a: Any, b: Any) -> Any:
    return DeepDiff(_tagged(a), _tagged(b))


def _top_keys_deepdiff(a: dict[str, Any], b: dict[str, Any]) -> set[str]:
    """Top-level fields deepdiff sees added, removed or changed."""
    return {k for k in a.keys() | b.keys() if k not in a or k not in b or deepdiff(a[k], b[k])}


def _top_keys(ops: list[dict[str, Any]]) -> set[str]:
    return {_steps(op["path"])[0][1] for op in ops}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec_pairs())
def test_diff_agrees_with_deepdiff(pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    a, b = pair
    ops = diff_specs(a, b)
    oracle = deepdiff(a, b)
    assert (ops == []) == (not oracle), (ops, oracle)
    # every top-level field deepdiff sees changed is in the diff, and no other
    assert _top_keys(ops) == _top_keys_deepdiff(a, b)
    # replaying the diff on `a` gives exactly `b` (types included)
    assert canonical_json(apply_ops(a, ops)) == canonical_json(b)


@settings(max_examples=200, deadline=None)
@given(st.lists(IDS, unique=True, min_size=1), st.data())
def test_reorders_report_the_fewest_moves(items: list[str], data: st.DataObject) -> None:
    new = data.draw(st.permutations(items))
    ops = diff_specs({"s": items}, {"s": new})
    assert all(op["op"] == "move" for op in ops)
    # the items that did not move keep their relative order, and no larger such set exists
    kept = [i for i in new if i not in {op["item"] for op in ops}]
    assert kept == [i for i in items if i in kept]
    assert len(kept) == _lis(items, new)
    assert canonical_json(apply_ops({"s": items}, ops)) == canonical_json({"s": new})


def _lis(old: list[str], new: list[str]) -> int:
    pos = [old.index(i) for i in new]
    best = [1] * len(pos)
    for i in range(len(pos)):
        for j in range(i):
            if pos[j] < pos[i]:
                best[i] = max(best[i], best[j] + 1)
    return max(best, default=0)


def test_a_reversal_keeps_the_middle_item_in_place() -> None:
    ops = diff_specs({"plans": ["e1", "e3", "e5"]}, {"plans": ["e5", "e3", "e1"]})
    assert ops == [
        {"op": "move", "path": "plans", "item": "e5", "from": 3, "to": 1},
        {"op": "move", "path": "plans", "item": "e1", "from": 1, "to": 3},
    ]
    assert all(op["from"] != op["to"] for op in ops)
