"""The quick schema check never calls an invalid resource valid (jsonschema is the oracle)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storecfg.compiler.compile import compile_store
from storecfg.spec import fastcheck
from storecfg.spec.validation import _validator

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "stores"


def _example_resources() -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for store in ("o365-reseller", "idsync-psa", "object-storage"):
        result = compile_store(EXAMPLES / store)
        assert result.desired is not None, [d.format() for d in result.errors]
        for kind, items in result.desired.resources.items():
            out.extend((kind, rid, spec) for rid, spec in items.items())
    return out


RESOURCES = _example_resources()

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 400)
    | st.floats(allow_nan=False, width=32)
    | st.sampled_from(
        ["", "8.00", "-1", "8.123", "month", "year", "US", "UK", "x" * 300, "Bad ID", "ok-id"]
    ),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["id", "name", "x"]), children, max_size=3)
    ),
    max_leaves=6,
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out.extend(_paths(v, (*prefix, i)))
    return out


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    kind, _, spec = draw(st.sampled_from(RESOURCES))
    spec = copy.deepcopy(spec)
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(spec)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = spec
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(json_values)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "nmae", "price", "unit", "min"]))] = draw(
                json_values
            )
    return kind, spec


@pytest.mark.parametrize("kind,rid,spec", RESOURCES, ids=[f"{k}.{r}" for k, r, _ in RESOURCES])
def test_valid_resources_pass_the_quick_check(kind: str, rid: str, spec: dict[str, Any]) -> None:
    assert fastcheck.is_valid(kind, spec)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_quick_check_never_accepts_what_jsonschema_rejects(
    case: tuple[str, dict[str, Any]],
) -> None:
    kind, spec = case
    if fastcheck.is_valid(kind, spec):
        assert _validator(f"{kind}.schema.json").is_valid(spec)
