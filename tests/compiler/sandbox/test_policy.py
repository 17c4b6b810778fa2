"""The template policy on its own: which statements, attributes, filters and operators
templates may use, checked on parsed templates without rendering them."""

from __future__ import annotations

from typing import Any

import jinja2
import pytest
from jinja2.filters import FILTERS
from markupsafe import Markup

from storecfg.compiler.sandbox.policy import (
    ALLOWED_FILTERS,
    ALLOWED_GLOBALS,
    MAX_EXPONENT,
    allowed_attributes,
    attribute_names,
    check_tree,
    refuse_binop,
)
from storecfg.compiler.sandbox.problem import TemplateProblem

ENV = jinja2.Environment()
OFFERED_FILTERS = {name: FILTERS.get(name) for name in ALLOWED_FILTERS}
OFFERED_TESTS = dict(ENV.tests)


def check(source: str) -> None:
    check_tree(ENV.parse(source), OFFERED_FILTERS, OFFERED_TESTS)


def refused(source: str) -> tuple[str, str, int]:
    with pytest.raises(TemplateProblem) as caught:
        check(source)
    return caught.value.code, caught.value.message, caught.value.line_offset


@pytest.mark.parametrize(
    "source",
    [
        "plain text",
        "{{ vars.a | money }}",
        "{% if vars.x is defined %}a{% elif vars.y %}b{% else %}c{% endif %}",
        "{{ vars.l | select('odd') | join(',') }}",
        "{{ 1.5 * 2 }}",
    ],
)
def test_expressions_and_if_are_allowed(source: str) -> None:
    check(source)


@pytest.mark.parametrize(
    ("source", "name", "offset"),
    [
        ("{% for x in y %}{% endfor %}", "for", 0),
        ("a\nb\n{% set x = 1 %}", "assign", 2),
        ("{% macro m() %}{% endmacro %}", "macro", 0),
        ("{% include 'x' %}", "include", 0),
        ("{% import 'x' as y %}", "import", 0),
        ("{% with a = 1 %}{% endwith %}", "with", 0),
        ("{% filter upper %}x{% endfilter %}", "filterblock", 0),
    ],
)
def test_every_other_statement_is_refused(source: str, name: str, offset: int) -> None:
    assert refused(source) == (
        "SC202",
        f"'{name}' blocks are not allowed in templates; only expressions and if",
        offset,
    )


def test_a_jinja_filter_left_out_is_refused_and_an_unknown_one_named() -> None:
    assert refused("{{ x | batch(2) }}") == (
        "SC202",
        "filter 'batch' is not allowed in templates",
        0,
    )
    assert refused("\n{{ x | uper }}") == (
        "SC203",
        "unknown filter 'uper'; did you mean 'upper'?",
        1,
    )
    assert refused("{{ x is nosuchtest }}")[:2] == ("SC203", "unknown test 'nosuchtest'")


def test_filters_that_build_unbounded_lists_are_left_out() -> None:
    assert {"batch", "slice"}.isdisjoint(ALLOWED_FILTERS)
    assert {"decimal", "money"} <= ALLOWED_FILTERS
    assert {"decimal", "money"}.isdisjoint(FILTERS)
    assert frozenset() == ALLOWED_GLOBALS


def test_a_number_too_large_to_read_is_refused() -> None:
    assert refused("{{ 1e400 }}") == ("SC203", "number is too large", 0)


@pytest.mark.parametrize(
    ("value", "allowed", "not_allowed"),
    [
        ("text", "upper", "format"),
        (Markup("<b>"), "split", "format_map"),
        ({"a": 1}, "items", "pop"),
        ([1], "index", "append"),
        ((1,), "count", "__class__"),
        (3, None, "bit_length"),
    ],
)
def test_only_allow_listed_methods_are_attributes(
    value: Any, allowed: str | None, not_allowed: str
) -> None:
    names = allowed_attributes(value)
    if allowed is not None:
        assert allowed in names
    assert not_allowed not in names


def test_attribute_names_decide_what_a_dotted_name_means() -> None:
    names = attribute_names()
    assert {"items", "upper", "real", "append"} <= names
    assert {"e1", "cost", "seats"}.isdisjoint(names)


def test_operators_refused_at_any_size() -> None:
    refuse_binop("**", 2, MAX_EXPONENT)
    refuse_binop("**", 2, -MAX_EXPONENT)
    refuse_binop("%", 7, 3)
    refuse_binop("*", "ab", 10**9)  # its size is the budget's business
    with pytest.raises(TemplateProblem) as caught:
        refuse_binop("**", 2, MAX_EXPONENT + 1)
    assert (caught.value.code, caught.value.message) == (
        "SC202",
        f"exponents above {MAX_EXPONENT} are not allowed",
    )
    with pytest.raises(TemplateProblem) as caught:
        refuse_binop("%", "%s", 1)
    assert caught.value.code == "SC202"
    assert "string formatting is not allowed" in caught.value.message
