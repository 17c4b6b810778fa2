"""One template in, one value out: the sandbox for a compile run.

A `TemplateRenderer` holds the run's budget, environment and compiled shapes, so
the limits count every template of the run. A string that is exactly one
``{{ expression }}`` keeps the expression's type (``max: "{{ vars.seats }}"`` gives an
integer when ``seats`` is one); every problem is raised as a `TemplateProblem`.
"""

from __future__ import annotations

import decimal
from collections.abc import Mapping
from typing import Any

from jinja2 import TemplateError, Undefined, UndefinedError
from jinja2.environment import TemplateExpression
from jinja2.exceptions import SecurityError

from ...spec.normalize import plain
from .budget import DECIMALS, Budget
from .environment import SandboxEnvironment, Vars
from .messages import security_message, undefined_message
from .problem import TemplateProblem
from .shapes import TemplateCache


def _json_like(value: Any) -> Any:
    """A list or mapping a single expression returned, as plain YAML-like data
    (`regions: "{{ vars.regions }}"` keeps the list)."""
    if isinstance(value, Mapping):
        return {str(k): _json_like(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_like(v) for v in value]
    if isinstance(value, decimal.Decimal):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


class TemplateRenderer:
    """One sandboxed environment for a compile run (created only when a template exists).

    `variables` are the run's `vars`; `currency_digits` is what `money` rounds to."""

    def __init__(self, variables: Mapping[str, Any], currency_digits: int = 2) -> None:
        self.budget = Budget(free=(Undefined,))
        self.variables = Vars({k: plain(v) for k, v in variables.items()}, self.budget)
        self.env = SandboxEnvironment(self.budget, self.variables, currency_digits)
        self.templates = TemplateCache(self.env, self.budget)
        self.context: dict[str, Any] = {"vars": self.variables}

    @property
    def digits(self) -> int:
        """The currency's digits `money` rounds to; the compile sets them once it has
        read the store's currency (templates in store.yaml's `store` use 2)."""
        return self.env.currency_digits

    @digits.setter
    def digits(self, value: int) -> None:
        self.env.currency_digits = value

    def render(self, source: str) -> Any:
        """The value of the template `source`."""
        self.budget.check_source(source)
        compiled, literals = self.templates.get(source)
        context = {**self.context, **literals} if literals else self.context
        self.budget.begin()
        try:
            with decimal.localcontext(DECIMALS):
                if isinstance(compiled, TemplateExpression):
                    value = compiled(**context)
                    if isinstance(value, (Mapping, list, tuple)):
                        value = _json_like(value)
                    elif not isinstance(value, (str, int, float, bool, type(None))):
                        value = str(value)
                else:
                    value = compiled.render(**context)
        except UndefinedError as exc:
            raise TemplateProblem(
                "SC201", undefined_message(str(exc.message or exc), self.variables)
            ) from None
        except SecurityError as exc:
            raise TemplateProblem("SC202", security_message(str(exc))) from None
        except TemplateProblem:
            raise
        except RecursionError:
            raise TemplateProblem("SC202", "template nests too deeply") from None
        except decimal.Overflow:
            raise TemplateProblem("SC204", "a number in the template is too large") from None
        except (
            TemplateError,
            TypeError,
            ValueError,
            ArithmeticError,
            LookupError,
            NameError,
        ) as exc:
            hint = "; join strings with ~" if "concatenate" in str(exc) else ""
            raise TemplateProblem("SC202", f"template failed: {exc}{hint}") from None
        return self.budget.result(value)
