"""The filters and tests templates get, each charged to the run's budget.

Jinja2's allowed filters (see `policy.ALLOWED_FILTERS`), some narrowed (`replace`,
`trim`, `join`, `sum`, `tojson`), and storecfg's own `decimal` and `money`. Every
filter charges its input and its result; every test what it looks at, each time it
runs (a test runs once per item in select/reject).
"""

from __future__ import annotations

import decimal
import functools
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import Undefined, pass_environment
from jinja2.filters import FILTERS

from . import strings
from .budget import DECIMALS, MAX_OUTPUT_CHARS, Budget, weight
from .policy import ALLOWED_FILTERS
from .problem import TemplateProblem


def _to_decimal(value: Any) -> decimal.Decimal:
    """`{{ price | decimal }}`: a number or numeric text as a bounded decimal."""
    if isinstance(value, bool):
        raise TemplateProblem("SC202", "cannot turn a boolean into a number")
    if isinstance(value, float):
        value = repr(value)
    text = str(value).strip()
    try:
        amount = DECIMALS.create_decimal(text)
    except decimal.Overflow:
        raise TemplateProblem("SC204", f"{text[:40]!r} is too large a number") from None
    except decimal.InvalidOperation:
        amount = decimal.Decimal("NaN")
    if not amount.is_finite():
        raise TemplateProblem("SC202", f"{text[:40]!r} is not a number")
    return amount


def round_money(value: Any, digits: int = 2) -> str:
    """`{{ price | money }}`: round half up to the currency's digits, as a string."""
    amount = _to_decimal(value)
    quantum = decimal.Decimal(1).scaleb(-int(digits), DECIMALS)
    return str(amount.quantize(quantum, rounding=decimal.ROUND_HALF_UP, context=DECIMALS))


def _trim(value: Any, chars: Any = None) -> str:
    """The trim filter, with strip bounded like the method."""
    text = str(value)
    if isinstance(chars, str):
        done = strings.bounded_str_method(text, "strip", (chars,), {})
        if done is not NotImplemented:
            return str(done)
    return text.strip(chars)


def _replace(value: Any, old: str, new: str, count: int | None = None) -> str:
    """The replace filter, refusing a result over the output cap before building it."""
    text = str(value)
    n = text.count(old) if old else len(text) + 1
    if count is not None and count < 0:
        count = None  # Python replaces every occurrence for a negative count
    if count is not None:
        n = min(n, count)
    if len(text) + n * max(0, len(new) - len(old)) > MAX_OUTPUT_CHARS:
        raise TemplateProblem(
            "SC204", f"result of replace() is over {MAX_OUTPUT_CHARS:,} characters"
        )
    return text.replace(old, new) if count is None else text.replace(old, new, count)


# The narrowed Jinja2 filters below take Jinja's names (functools.wraps), so a call
# with wrong arguments is reported as a call of the filter the template wrote.


@functools.wraps(FILTERS["tojson"])
def _small_indent_tojson(eval_ctx: Any, value: Any, indent: Any = None) -> Any:
    """tojson with indent limited to 0-8 spaces (json.dumps would build any width)."""
    if indent is not None and not (isinstance(indent, int) and 0 <= indent <= 8):
        raise TemplateProblem("SC202", "tojson indent must be a whole number from 0 to 8")
    return FILTERS["tojson"](eval_ctx, value, indent)


@functools.wraps(FILTERS["sum"])
def _numbers_only_sum(
    environment: Any, iterable: Any, attribute: Any = None, start: Any = 0
) -> Any:
    """sum, for numbers only: summing lists copies them again and again."""
    if not isinstance(start, (int, float, decimal.Decimal)):
        raise TemplateProblem("SC202", "sum adds numbers only")
    return FILTERS["sum"](environment, iterable, attribute, start)


@functools.wraps(FILTERS["join"])
def _join_arguments(
    eval_ctx: Any, value: Any, d: Any = "", attribute: Any = None
) -> tuple[Any, Any, Any, Any]:
    """The arguments of a join call, checked as join checks them."""
    return eval_ctx, value, d, attribute


@pass_environment
def money(environment: Any, value: Any, digits: int | None = None) -> str:
    """`money`, with the digits of the store's currency when the template gives none
    (the environment's `currency_digits`: set once the currency is known)."""
    return round_money(value, environment.currency_digits if digits is None else digits)


def _pass_arg_of(wrapped: Callable[..., Any], wrapper: object) -> None:
    """Have Jinja call `wrapper` with the leading argument (environment, eval context)
    it passes `wrapped`."""
    if hasattr(wrapped, "jinja_pass_arg"):
        wrapper.jinja_pass_arg = wrapped.jinja_pass_arg  # type: ignore[attr-defined]


class ChargedJoin:
    """join, charging the separators it puts between the items."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget
        _pass_arg_of(FILTERS["join"], self)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        eval_ctx, value, d, attribute = _join_arguments(*args, **kwargs)
        items = list(value) if not isinstance(value, Undefined) else value
        if isinstance(items, list):
            self.budget.charge(len(str(d)) * len(items))
        return FILTERS["join"](eval_ctx, items, d, attribute)


class ChargedFilter:
    """A filter that charges its input and its result."""

    def __init__(self, wrapped: Callable[..., Any], budget: Budget) -> None:
        self.wrapped = wrapped
        self.budget = budget
        self.offset = 1 if getattr(wrapped, "jinja_pass_arg", None) is not None else 0
        _pass_arg_of(wrapped, self)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if len(args) > self.offset:
            self.budget.charged(args[self.offset])
        return self.budget.charged(self.wrapped(*args, **kwargs))


class ChargedTest:
    """A test that charges every argument it looks at."""

    def __init__(self, wrapped: Callable[..., Any], budget: Budget) -> None:
        self.wrapped = wrapped
        self.budget = budget
        _pass_arg_of(wrapped, self)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        for arg in args:
            self.budget.charge(weight(arg, self.budget.room()))
        return self.wrapped(*args, **kwargs)


def sandbox_filters(
    jinja: Mapping[str, Callable[..., Any]], budget: Budget
) -> dict[str, Callable[..., Any]]:
    """The filters templates get, from Jinja2's own (`jinja`)."""
    filters: dict[str, Callable[..., Any]] = {
        k: v for k, v in jinja.items() if k in ALLOWED_FILTERS
    }
    filters["replace"] = _replace
    filters["trim"] = _trim
    filters["decimal"] = _to_decimal
    filters["money"] = money
    filters["join"] = ChargedJoin(budget)
    filters["tojson"] = _small_indent_tojson
    filters["sum"] = _numbers_only_sum
    return {name: ChargedFilter(fn, budget) for name, fn in filters.items()}


def sandbox_tests(jinja: Mapping[str, Any], budget: Budget) -> dict[str, Any]:
    """Jinja2's tests (`jinja`), each charged to the budget."""
    return {name: ChargedTest(fn, budget) for name, fn in jinja.items()}
