"""The template budget on its own: what a run may spend, with a clock the test turns."""

from __future__ import annotations

import pytest
from markupsafe import Markup

from storecfg.compiler.sandbox import budget as caps
from storecfg.compiler.sandbox.budget import Budget, weight
from storecfg.compiler.sandbox.problem import TemplateProblem


class Clock:
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def refusal(call: object, *args: object) -> tuple[str, str]:
    with pytest.raises(TemplateProblem) as caught:
        call(*args)  # type: ignore[operator]
    return caught.value.code, caught.value.message


def test_weight_counts_characters_of_nested_values() -> None:
    assert weight("abcd", 100) == 4
    assert weight(2**30, 100) == 11  # 31 bits, about 3 bits a digit
    assert weight(["ab", "c"], 100) == (2 + 2) + 2 + 1
    assert weight({"k": "vv"}, 100) == (2 + 2) + 1 + 2
    assert weight(None, 100) == 8


def test_weight_stops_counting_past_the_limit() -> None:
    assert weight(["x" * 10] * 3, 100) == 5 + 30
    assert weight(["x" * 10] * 3, 10) == 5 + 10  # over after the first item
    assert weight(["x" * 10] * 1_000_000, 50) == 1_000_002  # the items are not read


def test_work_is_charged_per_template_and_per_run() -> None:
    budget = Budget()
    budget.charge(10)
    budget.charge(5)
    assert (budget.work, budget.total_work) == (15, 15)
    budget.begin()
    budget.charge(1)
    assert (budget.work, budget.total_work) == (1, 16)


def test_one_template_may_not_build_more_than_its_share() -> None:
    budget = Budget()
    budget.charge(caps.MAX_WORK - 1)
    assert refusal(budget.charge, 2) == (
        "SC204",
        f"template builds more than {caps.MAX_WORK:,} characters of values on the way",
    )
    assert budget.work == caps.MAX_WORK - 1  # refused work is not counted
    budget.charge(1)
    assert budget.room() == 1


def test_the_run_may_not_build_more_than_its_total() -> None:
    budget = Budget()
    budget.total_work = caps.MAX_TOTAL_WORK - 3
    budget.charge(3)
    budget.begin()
    assert refusal(budget.charge, 1) == (
        "SC204",
        f"templates built more than {caps.MAX_TOTAL_WORK:,} characters in all",
    )


def test_the_deadline_covers_the_whole_run() -> None:
    clock = Clock()
    budget = Budget(clock=clock, seconds=30)
    clock.now += 30
    budget.charge(1)
    budget.check_deadline()
    budget.admit_compile(0)
    clock.now += 0.001
    expected = ("SC204", "templates took more than 30 seconds in all")
    assert refusal(budget.charge, 1) == expected
    assert refusal(budget.check_deadline) == expected
    assert refusal(budget.admit_compile, 0) == expected


class Free:
    """A type the budget is told not to charge."""


def test_charged_values_pass_through_and_free_types_cost_nothing() -> None:
    budget = Budget(free=(Free,))
    free = Free()
    assert budget.charged(free) is free
    assert budget.work == 0
    assert budget.charged("abc") == "abc"
    assert budget.work == 3


def test_repeating_text_is_charged_before_it_is_built() -> None:
    budget = Budget()
    budget.charge_binop("*", "ab", 10)
    budget.charge_binop("*", 10, ["ab"])
    assert budget.work == 2 * 10 + (3 + 2) * 10
    too_many = caps.MAX_OUTPUT_CHARS // 2 + 1
    assert refusal(budget.charge_binop, "*", "ab", too_many) == (
        "SC204",
        f"repeating a value {too_many:,} times is over the size limit",
    )
    budget.charge_binop("*", "ab", -5)  # an empty result costs nothing
    assert budget.work == 70


def test_integers_stay_within_their_bits() -> None:
    budget = Budget()
    budget.charge_binop("*", 2**127, 2**127)
    budget.charge_binop("**", 2, 128)
    bits = f"a number in the template is over {caps.MAX_INT_BITS} bits"
    assert refusal(budget.charge_binop, "*", 2**200, 2**100) == ("SC204", bits)
    assert refusal(budget.charge_binop, "**", 3, 200) == ("SC204", bits)
    budget.charge_binop("**", 2, -300)  # a fraction: no big integer
    budget.charge_binop("%", 2**300, 7)
    assert budget.work == 0


def test_source_tokens_and_shapes_are_capped() -> None:
    budget = Budget()
    budget.check_source("x" * caps.MAX_TEMPLATE_CHARS)
    over = caps.MAX_TEMPLATE_CHARS + 1
    assert refusal(budget.check_source, "x" * over) == (
        "SC206",
        f"template is {over:,} characters; the limit is {caps.MAX_TEMPLATE_CHARS:,}",
    )
    budget.check_tokens(caps.MAX_TEMPLATE_TOKENS - 1)
    assert refusal(budget.check_tokens, caps.MAX_TEMPLATE_TOKENS)[0] == "SC206"
    budget.admit_compile(caps.MAX_SHAPES - 1)
    code, message = refusal(budget.admit_compile, caps.MAX_SHAPES)
    assert code == "SC206"
    assert message.startswith(f"more than {caps.MAX_SHAPES:,} different templates in one run")


def test_results_fit_the_output_caps() -> None:
    budget = Budget()
    result = budget.result(Markup("<b>"))
    assert (type(result), result) == (str, "<b>")
    assert budget.result(2**63 - 1) == 2**63 - 1
    assert budget.result(-(2**63)) == -(2**63)
    assert budget.result(True) is True
    assert refusal(budget.result, 2**63)[0] == "SC204"
    assert refusal(budget.result, -(2**63) - 1)[0] == "SC204"
    assert refusal(budget.result, "x" * (caps.MAX_OUTPUT_CHARS + 1))[0] == "SC204"


def test_the_run_may_not_render_more_than_its_total_output() -> None:
    budget = Budget()
    budget.total_output = caps.MAX_TOTAL_OUTPUT - 2
    budget.result("ab")
    assert refusal(budget.result, "c") == (
        "SC204",
        f"templates rendered more than {caps.MAX_TOTAL_OUTPUT:,} characters in all",
    )
