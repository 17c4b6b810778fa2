"""How apply cuts a dependency level into batches."""

from __future__ import annotations

from typing import Any

from storecfg.apply.order import BATCH_CHARS, batches, change_writes, idempotency_key


def change(rid: str, action: str = "create", kind: str = "skus", text: str = "") -> dict[str, Any]:
    after = None if action == "delete" else {"id": rid, "name": "x", "description": text}
    return {
        "address": f"{kind}.{rid}",
        "kind": kind,
        "id": rid,
        "action": action,
        "revision": None if action == "create" else 7,
        "after": after,
    }


def test_batches_hold_at_most_the_batch_size_in_writes() -> None:
    group = [change(f"s{i}") for i in range(250)]
    cut = batches(group, 100)
    assert [len(b) for b in cut] == [100, 100, 50]
    assert [c["id"] for b in cut for c in b] == [c["id"] for c in group]  # order kept


def test_a_replace_counts_as_two_writes_and_is_never_split() -> None:
    group = [change("a"), change("b", "replace"), change("c")]
    assert [[c["id"] for c in b] for b in batches(group, 2)] == [["a"], ["b"], ["c"]]
    [(first_phase, first), (second_phase, second)] = change_writes("plan-1", group[1])
    assert (first_phase, first.action, first.if_match) == ("delete", "delete", 7)
    assert (second_phase, second.action, second.create) == ("create", "put", True)
    assert first.idempotency_key == idempotency_key("plan-1", "skus.b", "delete")
    assert first.idempotency_key != second.idempotency_key


def test_long_texts_start_a_new_batch() -> None:
    big = "x" * (BATCH_CHARS // 3)
    group = [change(f"t{i}", kind="terms", text=big) for i in range(7)]
    cut = batches(group, 100)
    assert [len(b) for b in cut] == [2, 2, 2, 1]


def test_keys_are_stable_per_plan_and_address() -> None:
    assert idempotency_key("p", "skus.a", "create") == idempotency_key("p", "skus.a", "create")
    assert idempotency_key("p", "skus.a", "create") != idempotency_key("q", "skus.a", "create")
