"""Templates compiled once per shape: literals, text and key names become variables.

Templates that differ only in their literals (`'8.00' | money` in one plan, `'9.50' |
money` in the next), their text around the expressions or the keys they look up
(`vars.cost.e1`, `vars.cost.e3`) share one compiled shape, with those passed as
variables: compiling costs milliseconds, running microseconds.
"""

from __future__ import annotations

import math
import re
from typing import Any

from jinja2 import TemplateSyntaxError, nodes
from jinja2.environment import TemplateExpression

from .budget import Budget
from .environment import SandboxEnvironment
from .policy import attribute_names, check_tree
from .problem import TemplateProblem

#: literal tokens a compiled template shape takes as variables (short ones only)
_LITERAL_TOKENS = frozenset(["string", "integer", "float"])
_MAX_LITERAL = 64
_KEY_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


def single_expression(tree: nodes.Template) -> nodes.Expr | None:
    """The expression when the template is one `{{ expr }}` (it keeps its type)."""
    if len(tree.body) == 1 and isinstance(tree.body[0], nodes.Output):
        parts = tree.body[0].nodes
        if len(parts) == 1 and not isinstance(parts[0], nodes.TemplateData):
            return parts[0]
    return None


class TemplateCache:
    """The compiled templates of one run, by shape, within the budget's caps.

    `get` gives what `source` runs as: a `TemplateExpression` (one expression, which
    keeps its type) or a `Template`, with the literals to run it with. A template that
    does not compile is remembered as its `TemplateProblem`."""

    def __init__(self, env: SandboxEnvironment, budget: Budget) -> None:
        self.env = env
        self.budget = budget
        self.cache: dict[str, Any] = {}

    def get(self, source: str) -> tuple[Any, dict[str, Any]]:
        """The compiled template for `source` and the literals to run it with."""
        shape, literals = self.shape(source)
        if literals:
            compiled = self.cached(shape)
            if not isinstance(compiled, TemplateProblem):
                return compiled, literals
            # the shape does not compile where the template as written may: use that
        compiled = self.cached(source)
        if isinstance(compiled, TemplateProblem):
            raise compiled
        return compiled, {}

    def cached(self, source: str) -> Any:
        """Compile once per source; a problem is remembered as well."""
        cached = self.cache.get(source)
        if cached is None:
            self.budget.admit_compile(len(self.cache))
            try:
                cached = self.compile_new(source)
            except TemplateProblem as exc:
                cached = exc
            self.cache[source] = cached
        return cached

    def shape(self, source: str) -> tuple[str, dict[str, Any]]:
        """`source` with its small literals, its text and the key names it looks up
        replaced by names (`__k0`, ...): `price {{ vars.cost.e1 | money }}` becomes
        `{{ __k0 }}{{ vars[__k1][__k2] | money }}`.

        A key name becomes a subscript only when no value a template can reach has an
        attribute of that name, so the lookup means the same (see
        `SandboxEnvironment.getattr`). Text keeps its line breaks inside the `{{ }}`, so
        line numbers do not move."""
        lexer = self.env.lexer
        parts: list[str] = []
        literals: dict[str, Any] = {}
        previous = ""
        dot_at = -1  # where in `parts` a '.' that may start a key lookup is
        raw_block = False
        attributes = attribute_names()
        try:
            for count, (lineno, kind, raw) in enumerate(lexer.tokeniter(source, None)):
                self.budget.check_tokens(count)
                if kind == "raw_begin" or kind == "raw_end":
                    raw_block = kind == "raw_begin"
                name = f"__k{len(literals)}"
                if kind in _LITERAL_TOKENS and previous != "." and len(raw) <= _MAX_LITERAL:
                    value: Any = next(iter(lexer.wrap(iter([(lineno, kind, raw)])))).value
                    if isinstance(value, float) and not math.isfinite(value):
                        return source, {}
                    literals[name] = value
                    parts.append(name)
                elif kind == "data" and raw and not raw_block:
                    literals[name] = next(iter(lexer.wrap(iter([(lineno, kind, raw)])))).value
                    parts.append("{{ " + name + "\n" * raw.count("\n") + " }}")
                elif (
                    kind == "name"
                    and dot_at >= 0
                    and raw not in attributes
                    and _KEY_NAME.match(raw) is not None
                ):
                    del parts[dot_at:]
                    literals[name] = raw
                    parts.append(f"[{name}]")
                else:
                    parts.append(raw)
                if kind == "operator" and raw == ".":
                    dot_at = len(parts) - 1
                elif kind != "whitespace":
                    dot_at = -1
                if kind != "whitespace":
                    previous = raw if kind == "operator" else kind
        except (TemplateSyntaxError, ValueError, OverflowError, StopIteration):
            return source, {}
        return "".join(parts), literals

    def compile_new(self, source: str) -> Any:
        """Parse, check against the policy and compile `source`."""
        self.budget.begin()  # compiling folds constants through the same filters
        try:
            tree = self.env.parse(source)
            check_tree(tree, self.env.filters, self.env.tests)
            expression = single_expression(tree)
            if expression is None:
                return self.env.from_string(tree)
            body = [nodes.Assign(nodes.Name("result", "store"), expression, lineno=1)]
            template = self.env.from_string(nodes.Template(body, lineno=1))
            return TemplateExpression(template, False)
        except TemplateSyntaxError as exc:
            raise TemplateProblem(
                "SC203", exc.message or "template syntax error", (exc.lineno or 1) - 1
            ) from None
        except (RecursionError, MemoryError, SyntaxError):
            raise TemplateProblem("SC203", "template nests too deeply") from None
        except (ValueError, OverflowError) as exc:  # e.g. a 5000-digit number
            raise TemplateProblem("SC203", f"template cannot be read: {exc}") from None
