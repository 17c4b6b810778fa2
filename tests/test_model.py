"""The desired state's hashes: what docs/plan-format.md says desired_state_hash is."""

from __future__ import annotations

import hashlib

from storecfg.model import DesiredState, canonical_json, spec_hash


def test_the_state_hash_is_the_sha256_of_the_canonical_json_of_the_whole_state() -> None:
    resources = {
        "skus": {
            "b": {"ü": "\u2028", "a": [1, {"z": None}], "n": 1.5},
            "a": {},
            "ä": {"k": "v", "é": '"quoted"'},
            "B": {"x": True},
        },
        "terms": {},  # an empty kind is left out of the state, as store.yaml leaves it
        "screens": {"s": {"x": "1"}},
    }
    state = DesiredState(store={"id": "x", "é": 1}, resources=resources)
    whole = canonical_json(
        {"store": state.store, "resources": {k: v for k, v in resources.items() if v}}
    )
    assert state.hash() == "sha256:" + hashlib.sha256(whole.encode()).hexdigest()
    for kind, items in resources.items():
        for rid, spec in items.items():
            assert state.digests[f"{kind}.{rid}"] == spec_hash(spec) == state.digest(kind, rid)


def test_an_empty_state_has_a_hash_too() -> None:
    state = DesiredState(store={"id": "x"}, resources={})
    whole = canonical_json({"resources": {}, "store": {"id": "x"}})
    assert state.hash() == "sha256:" + hashlib.sha256(whole.encode()).hexdigest()
