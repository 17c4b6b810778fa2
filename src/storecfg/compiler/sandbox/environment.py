"""The Jinja2 environment templates run in: the policy applied, every value charged.

`SandboxEnvironment` is Jinja2's `ImmutableSandboxedEnvironment` with the allow-lists
of `policy.py`, the filters of `filters.py`, and every attribute, item, call result
and operator charged to one `Budget`. `Vars` is the `vars` mapping templates see.
"""

from __future__ import annotations

import operator as op
from collections.abc import Callable, Mapping
from typing import Any

from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from . import strings
from .budget import Budget, weight
from .filters import sandbox_filters, sandbox_tests
from .messages import missing_key
from .policy import ALLOWED_GLOBALS, allowed_attributes, refuse_binop

_BINOPS: dict[str, Callable[[Any, Any], Any]] = {"*": op.mul, "**": op.pow, "%": op.mod}


class Vars(dict[str, Any]):
    """`vars`: printing it is charged like any other value."""

    def __init__(self, values: Mapping[str, Any], budget: Budget) -> None:
        super().__init__(values)
        self._budget = budget

    def __repr__(self) -> str:
        self._budget.charge(weight(self, self._budget.room()))
        return dict.__repr__(self)

    __str__ = __repr__


class SandboxEnvironment(ImmutableSandboxedEnvironment):
    """Templates' environment for one compile run: `budget` pays for every value,
    `variables` is what `vars` names (for the wording of a missing variable),
    `currency_digits` what `money` rounds to."""

    intercepted_binops = frozenset(_BINOPS)

    def __init__(self, budget: Budget, variables: Vars, currency_digits: int) -> None:
        super().__init__(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
        self.budget = budget
        self.variables = variables
        self.currency_digits = currency_digits
        self.filters = sandbox_filters(self.filters, budget)
        self.tests = sandbox_tests(self.tests, budget)
        self.globals = {k: v for k, v in self.globals.items() if k in ALLOWED_GLOBALS}

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        refuse_binop(operator, left, right)
        self.budget.charge_binop(operator, left, right)
        return _BINOPS[operator](left, right)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if attr not in allowed_attributes(obj):
            return False
        return bool(super().is_safe_attribute(obj, attr, value))

    def wrap_str_format(self, value: Any) -> None:
        # str.format is not on the allow-list ('{:>999999999}' allocates at will)
        return None

    def getattr(self, obj: Any, attribute: str) -> Any:
        # keys before methods: vars.items is the variable 'items'
        if isinstance(obj, dict) and attribute in obj:
            return self.budget.charged(obj[attribute])
        if isinstance(obj, dict) and not hasattr(obj, attribute):
            return self.missing(obj, attribute)
        return self.budget.charged(super().getattr(obj, attribute))

    def getitem(self, obj: Any, argument: Any) -> Any:
        if isinstance(obj, dict) and isinstance(argument, str) and argument not in obj:
            return self.missing(obj, argument)
        return self.budget.charged(super().getitem(obj, argument))

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str) and getattr(__obj, "__name__", "") in strings.BOUNDED_METHODS:
            __self.budget.charge(len(owner))  # the search reads the whole text
            done = strings.bounded_str_method(owner, __obj.__name__, args, kwargs)
            if done is not NotImplemented:
                return __self.budget.charged(done)
        return __self.budget.charged(super().call(__context, __obj, *args, **kwargs))

    def missing(self, obj: dict[str, Any], name: str) -> Any:
        """The undefined value for a missing key, with a message in the user's terms."""
        hint = missing_key(obj, name, is_vars=obj is self.variables)
        return self.undefined(hint=hint, obj=obj, name=name)
