"""Render Jinja2 templates in string values, in a sandbox, with strict variables.

Templates apply **per scalar**: after a file is parsed, each string value holding
``{{`` or ``{%`` is rendered on its own. Line numbers therefore stay exact, YAML
structure cannot be injected through a variable, and a string that is exactly one
``{{ expression }}`` keeps the expression's type (so ``max: "{{ vars.seats }}"``
gives an integer when ``seats`` is one).

The sandbox is Jinja2's `SandboxedEnvironment` narrowed further: only expressions
and ``{% if %}`` are allowed (no loops, assignments, macros, imports), string
methods and filters come from an allow-list, and ``*``, ``**`` and ``%`` are
checked before they run. Every result is bounded in size, so no template can use
unbounded time or memory.
"""

from __future__ import annotations

import decimal
from collections.abc import Callable, Mapping
from typing import Any

from ..errors import Diagnostic, SourceLocation
from .codes import severity
from .load import TemplateSite

MAX_OUTPUT_CHARS = 64 * 1024
MAX_TOTAL_OUTPUT = 16 * 1024 * 1024

_ALLOWED_STR_METHODS = frozenset(
    [
        "capitalize",
        "casefold",
        "count",
        "endswith",
        "find",
        "index",
        "isalnum",
        "isalpha",
        "isdecimal",
        "isdigit",
        "islower",
        "isnumeric",
        "isspace",
        "istitle",
        "isupper",
        "lower",
        "lstrip",
        "partition",
        "removeprefix",
        "removesuffix",
        "rfind",
        "rindex",
        "rpartition",
        "rsplit",
        "rstrip",
        "split",
        "splitlines",
        "startswith",
        "strip",
        "swapcase",
        "title",
        "upper",
    ]
)
_ALLOWED_FILTERS = frozenset(
    [
        "abs",
        "attr",
        "batch",
        "bool",
        "capitalize",
        "count",
        "d",
        "decimal",
        "default",
        "dictsort",
        "e",
        "escape",
        "first",
        "float",
        "groupby",
        "int",
        "items",
        "join",
        "last",
        "length",
        "list",
        "lower",
        "map",
        "max",
        "min",
        "money",
        "reject",
        "rejectattr",
        "replace",
        "reverse",
        "round",
        "select",
        "selectattr",
        "slice",
        "sort",
        "string",
        "striptags",
        "sum",
        "title",
        "tojson",
        "trim",
        "truncate",
        "unique",
        "upper",
        "urlencode",
        "wordcount",
    ]
)
_ALLOWED_GLOBALS: frozenset[str] = frozenset()


class TemplateProblem(Exception):
    def __init__(self, code: str, message: str, line_offset: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.line_offset = line_offset


def _to_decimal(value: Any) -> decimal.Decimal:
    if isinstance(value, bool):
        raise TemplateProblem("SC202", "cannot turn a boolean into a number")
    if isinstance(value, float):
        value = repr(value)
    try:
        return decimal.Decimal(str(value).strip())
    except decimal.InvalidOperation:
        raise TemplateProblem("SC202", f"{value!r} is not a number") from None


def _money(value: Any, digits: int = 2) -> str:
    """`{{ price | money }}`: round half up to the currency's digits, as a string."""
    amount = _to_decimal(value)
    quantum = decimal.Decimal(1).scaleb(-int(digits))
    return str(amount.quantize(quantum, rounding=decimal.ROUND_HALF_UP))


def _replace(value: Any, old: str, new: str, count: int | None = None) -> str:
    text = str(value)
    n = text.count(old) if old else len(text) + 1
    if count is not None:
        n = min(n, count)
    if len(text) + n * max(0, len(new) - len(old)) > MAX_OUTPUT_CHARS:
        raise TemplateProblem(
            "SC204", f"result of replace() is over {MAX_OUTPUT_CHARS:,} characters"
        )
    return text.replace(old, new) if count is None else text.replace(old, new, count)


def _size(value: Any) -> int:
    try:
        return len(value)
    except TypeError:
        return 0


class _Renderer:
    """One sandboxed environment for a compile run (created only when a template exists)."""

    def __init__(self, variables: Mapping[str, Any], currency_digits: int) -> None:
        from jinja2 import StrictUndefined, nodes
        from jinja2.sandbox import SandboxedEnvironment

        outer = self

        class Env(SandboxedEnvironment):
            intercepted_binops = frozenset(["*", "**", "%"])

            def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
                return outer._binop(operator, left, right)

            def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
                if isinstance(obj, str) and attr not in _ALLOWED_STR_METHODS:
                    return False
                return bool(super().is_safe_attribute(obj, attr, value))

        env = Env(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
        filters = {k: v for k, v in env.filters.items() if k in _ALLOWED_FILTERS}
        filters["replace"] = _replace
        filters["decimal"] = _to_decimal
        filters["money"] = lambda v, digits=currency_digits: _money(v, digits)
        env.filters = filters
        env.globals = {k: v for k, v in env.globals.items() if k in _ALLOWED_GLOBALS}
        self.env = env
        self.nodes = nodes
        self.context = {"vars": dict(variables)}
        self.total = 0
        self._allowed_nodes: tuple[type, ...] = (
            nodes.Template,
            nodes.Output,
            nodes.TemplateData,
            nodes.If,
            nodes.Expr,
        )
        self._forbidden_statements: tuple[type, ...] = (
            nodes.For,
            nodes.Macro,
            nodes.CallBlock,
            nodes.FilterBlock,
            nodes.With,
            nodes.Block,
            nodes.Include,
            nodes.Import,
            nodes.FromImport,
            nodes.Extends,
            nodes.Assign,
            nodes.AssignBlock,
            nodes.Scope,
            nodes.OverlayScope,
            nodes.EvalContextModifier,
            nodes.ScopedEvalContextModifier,
        )

    def _binop(self, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if (
                    isinstance(seq, (str, list, tuple))
                    and isinstance(n, int)
                    and _size(seq) * max(n, 0) > MAX_OUTPUT_CHARS
                ):
                    raise TemplateProblem(
                        "SC204", f"repeating a value {n:,} times is over the size limit"
                    )
            return left * right
        if operator == "**":
            if isinstance(right, int) and abs(right) > 64:
                raise TemplateProblem("SC202", "exponents above 64 are not allowed")
            return left**right
        # '%': numbers only; printf-style string formatting can allocate without bound
        if isinstance(left, str):
            raise TemplateProblem(
                "SC202", "'%' string formatting is not allowed; use ~ to join strings"
            )
        return left % right

    def render(self, source: str) -> Any:
        from jinja2 import TemplateSyntaxError, UndefinedError
        from jinja2.exceptions import SecurityError

        try:
            tree = self.env.parse(source)
        except TemplateSyntaxError as exc:
            raise TemplateProblem(
                "SC203", exc.message or "template syntax error", (exc.lineno or 1) - 1
            ) from None
        self._check(tree)
        expression = self._single_expression(source, tree)
        try:
            if expression is not None:
                value = self.env.compile_expression(expression, undefined_to_none=False)(
                    **self.context
                )
                if isinstance(value, decimal.Decimal) or not isinstance(
                    value, (str, int, float, bool, type(None))
                ):
                    value = str(value)
            else:
                value = self.env.from_string(tree).render(**self.context)
        except UndefinedError as exc:
            raise TemplateProblem("SC201", _undefined_message(str(exc.message or exc))) from None
        except SecurityError as exc:
            raise TemplateProblem("SC202", f"not allowed in templates: {exc}") from None
        except TemplateProblem:
            raise
        except RecursionError:
            raise TemplateProblem("SC202", "template nests too deeply") from None
        except (
            TypeError,
            ValueError,
            ArithmeticError,
            LookupError,
            decimal.InvalidOperation,
        ) as exc:
            raise TemplateProblem("SC202", f"template failed: {exc}") from None
        if isinstance(value, str):
            if len(value) > MAX_OUTPUT_CHARS:
                raise TemplateProblem(
                    "SC204",
                    f"template output is {len(value):,} characters; the limit is {MAX_OUTPUT_CHARS:,}",
                )
            self.total += len(value)
            if self.total > MAX_TOTAL_OUTPUT:
                raise TemplateProblem(
                    "SC204", f"templates rendered more than {MAX_TOTAL_OUTPUT:,} characters in all"
                )
        return value

    def _check(self, tree: Any) -> None:
        for node in tree.find_all(self._forbidden_statements):
            name = type(node).__name__.lower()
            raise TemplateProblem(
                "SC202",
                f"'{name}' blocks are not allowed in templates; only expressions and if",
                (getattr(node, "lineno", 1) or 1) - 1,
            )

    def _single_expression(self, source: str, tree: Any) -> str | None:
        """The expression inside `{{ expr }}` when that is the whole string (keeps its type)."""
        nodes = self.nodes
        stripped = source.strip()
        if not (
            stripped.startswith("{{") and stripped.endswith("}}") and stripped.count("{{") == 1
        ):
            return None
        if len(tree.body) == 1 and isinstance(tree.body[0], nodes.Output):
            parts = tree.body[0].nodes
            if len(parts) == 1 and not isinstance(parts[0], nodes.TemplateData):
                return stripped[2:-2].strip("-").strip()
        return None


def _undefined_message(text: str) -> str:
    # jinja2 says "'dict object' has no attribute 'markup'"; say it in the user's terms
    if "has no attribute" in text:
        name = text.rsplit("attribute", 1)[-1].strip().strip("'")
        return (
            f"undefined variable vars.{name}"
            if "dict object" in text
            else f"undefined attribute {name!r}"
        )
    if "is undefined" in text:
        return f"undefined variable {text.split(' is undefined')[0].strip()}"
    return text


def render_templates(
    sites: list[TemplateSite],
    file: str,
    renderer: Callable[[], _Renderer],
    address_of: Callable[[tuple[Any, ...]], str],
    diagnostics: list[Diagnostic],
) -> None:
    """Render every template string in place; problems become diagnostics."""
    active: _Renderer | None = None
    for site in sites:
        source = site.container[site.key]
        if not isinstance(source, str):
            continue
        if active is None:
            active = renderer()
        try:
            site.container[site.key] = active.render(source)
        except TemplateProblem as exc:
            line, col = (
                (site.line + exc.line_offset, 1) if exc.line_offset else (site.line, site.column)
            )
            diagnostics.append(
                Diagnostic(
                    exc.code,
                    exc.message,
                    SourceLocation(file, line, col),
                    address_of(site.path),
                    json_path(site.path),
                    severity(exc.code),
                )
            )


def json_path(path: tuple[Any, ...]) -> str:
    out = "$"
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else f".{step}"
    return out


def make_renderer(variables: Mapping[str, Any], currency_digits: int = 2) -> _Renderer:
    return _Renderer(variables, currency_digits)
