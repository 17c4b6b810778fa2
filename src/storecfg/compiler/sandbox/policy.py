"""What templates may touch: statements, attributes, methods, filters and operators.

Only expressions and ``{% if %}`` are allowed (no loops, assignments, macros,
imports); attributes, methods, filters and globals come from allow-lists; ``%`` does
not format strings and exponents stay small. What a template may *spend* is the
budget's business (`budget.py`).
"""

from __future__ import annotations

import decimal
import functools
import math
from typing import Any

from ...errors import quoted
from ...spec.suggest import did_you_mean
from .problem import TemplateProblem

ALLOWED_STR_METHODS = frozenset(
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
ALLOWED_DICT_METHODS = frozenset(["get", "items", "keys", "values"])
ALLOWED_LIST_METHODS = frozenset(["count", "index"])
# batch and slice are left out: they build lists as long as an argument asks for
ALLOWED_FILTERS = frozenset(
    [
        "abs",
        "attr",
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
ALLOWED_GLOBALS: frozenset[str] = frozenset()
#: Jinja2's usual globals, none of which templates here can use
JINJA_GLOBALS = frozenset(["range", "dict", "lipsum", "cycler", "joiner", "namespace"])
#: the largest exponent `**` takes
MAX_EXPONENT = 64


def allowed_attributes(obj: Any) -> frozenset[str]:
    """The methods a template may call on `obj` (nothing else is an attribute)."""
    if isinstance(obj, str):
        return ALLOWED_STR_METHODS
    if isinstance(obj, dict):
        return ALLOWED_DICT_METHODS
    if isinstance(obj, (list, tuple)):
        return ALLOWED_LIST_METHODS
    return frozenset()


@functools.cache
def attribute_names() -> frozenset[str]:
    """Names that are attributes of some value a template can reach: `x.name` must stay
    an attribute lookup for these; any other `x.name` is looked up as a key."""
    from jinja2 import StrictUndefined, Undefined
    from markupsafe import Markup

    types: list[type] = [dict, list, tuple, str, int, float, bool, type(None)]
    types += [decimal.Decimal, Undefined, StrictUndefined, Markup]
    return frozenset(name for t in types for name in dir(t))


@functools.cache
def jinja_filters() -> frozenset[str]:
    """Every filter Jinja2 has, allowed here or not."""
    from jinja2.filters import FILTERS

    return frozenset(FILTERS)


@functools.cache
def forbidden_statements() -> tuple[type, ...]:
    """The template nodes of every statement but `if`."""
    from jinja2 import nodes

    return (
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


def check_tree(tree: Any, filters: dict[str, Any], tests: dict[str, Any]) -> None:
    """Refuse a parsed template that uses a statement, filter or test it may not, or
    a number too large to read. `filters` and `tests` are those the sandbox offers."""
    from jinja2 import nodes

    for node in tree.find_all(forbidden_statements()):
        name = type(node).__name__.lower()
        raise TemplateProblem(
            "SC202",
            f"'{name}' blocks are not allowed in templates; only expressions and if",
            (getattr(node, "lineno", 1) or 1) - 1,
        )
    for node in tree.find_all((nodes.Filter, nodes.Test, nodes.Const)):
        offset = (getattr(node, "lineno", 1) or 1) - 1
        if isinstance(node, nodes.Const):
            if isinstance(node.value, float) and not math.isfinite(node.value):
                raise TemplateProblem("SC203", "number is too large", offset)
            continue
        known = filters if isinstance(node, nodes.Filter) else tests
        what = "filter" if isinstance(node, nodes.Filter) else "test"
        if node.name in known:
            continue
        if isinstance(node, nodes.Filter) and node.name in jinja_filters():
            raise TemplateProblem(
                "SC202", f"filter {quoted(node.name)} is not allowed in templates", offset
            )
        raise TemplateProblem(
            "SC203",
            f"unknown {what} {quoted(node.name)}{did_you_mean(node.name, known)}",
            offset,
        )


def refuse_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse what `*`, `**` and `%` may not do at any size: large exponents, and
    printf-style string formatting (it can allocate without bound)."""
    if operator == "**" and isinstance(right, int) and abs(right) > MAX_EXPONENT:
        raise TemplateProblem("SC202", f"exponents above {MAX_EXPONENT} are not allowed")
    if operator == "%" and isinstance(left, str):
        raise TemplateProblem(
            "SC202", "'%' string formatting is not allowed; use ~ to join strings"
        )
