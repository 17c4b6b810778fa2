"""Render Jinja2 templates in string values, in a sandbox, with strict variables.

Templates apply **per scalar**: after a file is parsed, each string value holding
``{{`` or ``{%`` is rendered on its own. Line numbers therefore stay exact, YAML
structure cannot be injected through a variable, and a string that is exactly one
``{{ expression }}`` keeps the expression's type (so ``max: "{{ vars.seats }}"``
gives an integer when ``seats`` is one).

The sandbox is Jinja2's `ImmutableSandboxedEnvironment` narrowed further: only
expressions and ``{% if %}`` are allowed (no loops, assignments, macros, imports),
attributes, methods and filters come from allow-lists, and ``*``, ``**`` and ``%``
are checked before they run. Every value a template builds is charged to a budget
(per template and per run) and integers and decimals are bounded, so no template
can use unbounded time or memory.
"""

from __future__ import annotations

import decimal
import functools
import math
import re
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

from ..errors import Diagnostic, SourceLocation, clipped, quoted
from ..spec.codes import severity
from ..spec.normalize import plain
from ..spec.paths import json_path
from .positions import TemplateSite

MAX_OUTPUT_CHARS = 64 * 1024
MAX_TOTAL_OUTPUT = 16 * 1024 * 1024
#: characters of values one template may build on the way to its result
MAX_WORK = 1024 * 1024
#: all templates of one compile together, in seconds of rendering
MAX_SECONDS = 30.0
MAX_TOTAL_WORK = 64 * 1024 * 1024
#: integers inside a template stay below 2**MAX_INT_BITS; results fit in 64 bits, signed
MAX_INT_BITS = 256
MAX_RESULT_INT = 2**63 - 1
MIN_RESULT_INT = -(2**63)
#: characters of one template's source
MAX_TEMPLATE_CHARS = 64 * 1024
#: lexer tokens (names, operators, literals, text) of one template
MAX_TEMPLATE_TOKENS = 2_000
#: different templates compiled in one run (templates differing only in their literals,
#: text and key names count once)
MAX_SHAPES = 1_000
#: a needle or character set this short keeps str's own (quadratic) reverse search and strip
_SHORT_ARGUMENT = 32

#: decimals (the `decimal` and `money` filters) stay within 10**±99, so `|int` is cheap
_DECIMALS = decimal.Context(
    prec=34,
    Emax=99,
    Emin=-99,
    traps=[decimal.InvalidOperation, decimal.Overflow, decimal.DivisionByZero],
)

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
_ALLOWED_DICT_METHODS = frozenset(["get", "items", "keys", "values"])
_ALLOWED_LIST_METHODS = frozenset(["count", "index"])
# batch and slice are left out: they build lists as long as an argument asks for
_ALLOWED_FILTERS = frozenset(
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
_ALLOWED_GLOBALS: frozenset[str] = frozenset()
#: literal tokens a compiled template shape takes as variables (short ones only)
_LITERAL_TOKENS = frozenset(["string", "integer", "float"])
_MAX_LITERAL = 64
_KEY_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")


@functools.cache
def _attribute_names() -> frozenset[str]:
    """Names that are attributes of some value a template can reach: `x.name` must stay
    an attribute lookup for these; any other `x.name` is looked up as a key."""
    from jinja2 import StrictUndefined, Undefined
    from markupsafe import Markup

    types: list[type] = [dict, list, tuple, str, int, float, bool, type(None)]
    types += [decimal.Decimal, Undefined, StrictUndefined, Markup]
    return frozenset(name for t in types for name in dir(t))


#: Jinja2's usual globals, none of which templates here can use
_JINJA_GLOBALS = frozenset(["range", "dict", "lipsum", "cycler", "joiner", "namespace"])


class TemplateProblem(Exception):
    def __init__(self, code: str, message: str, line_offset: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.line_offset = line_offset


def _allowed_attributes(obj: Any) -> frozenset[str]:
    if isinstance(obj, str):
        return _ALLOWED_STR_METHODS
    if isinstance(obj, dict):
        return _ALLOWED_DICT_METHODS
    if isinstance(obj, (list, tuple)):
        return _ALLOWED_LIST_METHODS
    return frozenset()


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, decimal.Decimal))


def _weight(value: Any, limit: int) -> int:
    """About how many characters `value` takes; stops counting once over `limit`."""
    total = 0
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            total += len(item)
        elif _is_int(item):
            total += item.bit_length() // 3 + 1
        elif isinstance(item, Mapping):
            total += 2 * len(item) + 2
            if total <= limit:
                todo.extend(item.keys())
                todo.extend(item.values())
        elif isinstance(item, Collection):
            total += len(item) + 2
            if total <= limit:
                todo.extend(item)
        else:
            total += 8
        if total > limit:
            break
    return total


_VALUE_KINDS = {
    "str": "text",
    "int": "number",
    "float": "number",
    "Decimal": "number",
    "dict": "mapping",
    "list": "list",
    "tuple": "list",
    "bool": "boolean",
}


def _short(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


def _security_message(text: str) -> str:
    """Jinja's sandbox messages, without its internal class names."""
    match = re.match(r"access to attribute '([^']*)' of '([^']*)' object is unsafe", text)
    if match:
        attribute, owner = match.groups()
        if owner.endswith("Undefined"):
            return f"not allowed in templates: attribute '{attribute}' of an undefined variable"
        kind = _VALUE_KINDS.get(owner, owner)
        return f"not allowed in templates: attribute '{attribute}' of a {kind} value"
    return f"not allowed in templates: {text.rstrip('.')}"


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


def _to_decimal(value: Any) -> decimal.Decimal:
    if isinstance(value, bool):
        raise TemplateProblem("SC202", "cannot turn a boolean into a number")
    if isinstance(value, float):
        value = repr(value)
    text = str(value).strip()
    try:
        amount = _DECIMALS.create_decimal(text)
    except decimal.Overflow:
        raise TemplateProblem("SC204", f"{text[:40]!r} is too large a number") from None
    except decimal.InvalidOperation:
        amount = decimal.Decimal("NaN")
    if not amount.is_finite():
        raise TemplateProblem("SC202", f"{text[:40]!r} is not a number")
    return amount


def _money(value: Any, digits: int = 2) -> str:
    """`{{ price | money }}`: round half up to the currency's digits, as a string."""
    amount = _to_decimal(value)
    quantum = decimal.Decimal(1).scaleb(-int(digits), _DECIMALS)
    return str(amount.quantize(quantum, rounding=decimal.ROUND_HALF_UP, context=_DECIMALS))


def _small_indent(tojson: Callable[..., Any]) -> Callable[..., Any]:
    """tojson with indent limited to 0-8 spaces (json.dumps would build any width)."""

    @functools.wraps(tojson)
    def guarded(eval_ctx: Any, value: Any, indent: Any = None) -> Any:
        if indent is not None and not (isinstance(indent, int) and 0 <= indent <= 8):
            raise TemplateProblem("SC202", "tojson indent must be a whole number from 0 to 8")
        return tojson(eval_ctx, value, indent)

    return guarded


def _wrapped_like(owner: str, value: Any) -> Any:
    """A result of a str method of `owner` with its type: Markup methods give Markup."""
    cls = type(owner)
    if cls is str:
        return value
    if isinstance(value, str):
        return cls(value)
    if isinstance(value, list):
        return [cls(v) for v in value]
    if isinstance(value, tuple):
        return tuple(cls(v) for v in value)
    return value


def _reverse_find(text: str, sub: str, start: Any, end: Any) -> int:
    """str.rfind in linear time: a forward search in the reversed text."""
    first, last, _ = slice(start, end).indices(len(text))
    window = text[first:last]
    at = window[::-1].find(sub[::-1])
    return -1 if at < 0 else first + len(window) - at - len(sub)


def _strip(text: str, chars: str, left: bool, right: bool) -> str:
    """str.strip with a long set of characters, in linear time."""
    allowed = frozenset(chars)
    first, last = 0, len(text)
    if left:
        while first < last and text[first] in allowed:
            first += 1
    if right:
        while last > first and text[last - 1] in allowed:
            last -= 1
    return text[first:last]


def bounded_str_method(owner: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The str methods whose search CPython does in O(n*m) time (reverse searches, and
    strip with a set of characters), done in O(n+m) when the argument is long.

    Returns NotImplemented for any other call (short arguments, other methods, unusual
    arguments): the method itself is then cheap enough, or raises what it raises."""
    if name in _STRIPPERS:
        chars = args[0] if len(args) == 1 and not kwargs else None
        if not isinstance(chars, str) or len(chars) <= _SHORT_ARGUMENT:
            return NotImplemented
        left, right = name != "rstrip", name != "lstrip"
        distinct = "".join(dict.fromkeys(chars))
        if len(distinct) <= _SHORT_ARGUMENT:  # the same set, short: str's own strip is fast
            return getattr(owner, name)(distinct)
        return _wrapped_like(owner, _strip(str(owner), distinct, left, right))
    text = str(owner)
    if name in ("rfind", "rindex", "rpartition"):
        if kwargs or not args or not isinstance(args[0], str) or len(args[0]) <= _SHORT_ARGUMENT:
            return NotImplemented
        if name == "rpartition":
            if len(args) != 1:
                return NotImplemented
            sep = args[0]
            at = _reverse_find(text, sep, None, None)
            found = ("", "", text) if at < 0 else (text[:at], sep, text[at + len(sep) :])
            return _wrapped_like(owner, found)
        if len(args) > 3 or not all(a is None or _is_int(a) for a in args[1:]):
            return NotImplemented
        start, end = [*args[1:], None, None][:2]
        at = _reverse_find(text, args[0], start, end)
        if at < 0 and name == "rindex":
            raise ValueError("substring not found")
        return at
    if name == "rsplit":
        params: dict[str, Any] = dict(zip(("sep", "maxsplit"), args, strict=False))
        if len(args) > 2 or set(kwargs) - {"sep", "maxsplit"} or set(kwargs) & set(params):
            return NotImplemented
        params.update(kwargs)
        separator, maxsplit = params.get("sep"), params.get("maxsplit", -1)
        if (
            not isinstance(separator, str)
            or len(separator) <= _SHORT_ARGUMENT
            or not _is_int(maxsplit)
        ):
            return NotImplemented
        parts = text[::-1].split(separator[::-1], maxsplit)
        return _wrapped_like(owner, [part[::-1] for part in reversed(parts)])
    return NotImplemented


_STRIPPERS = frozenset(["strip", "lstrip", "rstrip"])
_BOUNDED_METHODS = frozenset(["rfind", "rindex", "rpartition", "rsplit", *_STRIPPERS])


def _trim(value: Any, chars: Any = None) -> str:
    """The trim filter, with strip bounded like the method."""
    text = str(value)
    if isinstance(chars, str):
        done = bounded_str_method(text, "strip", (chars,), {})
        if done is not NotImplemented:
            return str(done)
    return text.strip(chars)


def _replace(value: Any, old: str, new: str, count: int | None = None) -> str:
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


class _Renderer:
    """One sandboxed environment for a compile run (created only when a template exists)."""

    def __init__(self, variables: Mapping[str, Any], currency_digits: int) -> None:
        from jinja2 import StrictUndefined, Undefined, nodes
        from jinja2.environment import TemplateExpression
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        outer = self

        class Vars(dict[str, Any]):
            """`vars`: printing it is charged like any other value."""

            def __repr__(self) -> str:
                outer._charge(_weight(self, outer._room()))
                return dict.__repr__(self)

            __str__ = __repr__

        class Env(ImmutableSandboxedEnvironment):
            intercepted_binops = frozenset(["*", "**", "%"])

            def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
                return outer._binop(operator, left, right)

            def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
                if attr not in _allowed_attributes(obj):
                    return False
                return bool(super().is_safe_attribute(obj, attr, value))

            def wrap_str_format(self, value: Any) -> None:
                # str.format is not on the allow-list ('{:>999999999}' allocates at will)
                return None

            def getattr(self, obj: Any, attribute: str) -> Any:
                # keys before methods: vars.items is the variable 'items'
                if isinstance(obj, dict) and attribute in obj:
                    return outer._charged(obj[attribute])
                if isinstance(obj, dict) and not hasattr(obj, attribute):
                    return outer._missing(obj, attribute)
                return outer._charged(super().getattr(obj, attribute))

            def getitem(self, obj: Any, argument: Any) -> Any:
                if isinstance(obj, dict) and isinstance(argument, str) and argument not in obj:
                    return outer._missing(obj, argument)
                return outer._charged(super().getitem(obj, argument))

            def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
                owner = getattr(__obj, "__self__", None)
                if isinstance(owner, str) and getattr(__obj, "__name__", "") in _BOUNDED_METHODS:
                    outer._charge(len(owner))  # the search reads the whole text
                    done = bounded_str_method(owner, __obj.__name__, args, kwargs)
                    if done is not NotImplemented:
                        return outer._charged(done)
                return outer._charged(super().call(__context, __obj, *args, **kwargs))

        env = Env(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
        filters: dict[str, Callable[..., Any]] = {
            k: v for k, v in env.filters.items() if k in _ALLOWED_FILTERS
        }
        filters["replace"] = _replace
        filters["trim"] = _trim
        filters["decimal"] = _to_decimal
        filters["money"] = lambda v, digits=None: _money(
            v, outer.digits if digits is None else digits
        )
        filters["join"] = self._join_guard(filters["join"])
        filters["tojson"] = _small_indent(filters["tojson"])
        filters["sum"] = self._sum_guard(filters["sum"])
        env.filters = {name: self._guard(fn) for name, fn in filters.items()}
        # a test runs once per item in select/reject: charge what it looks at each time
        tests: dict[str, Any] = dict(env.tests)
        env.tests = {name: self._test_guard(fn) for name, fn in tests.items()}
        env.globals = {k: v for k, v in env.globals.items() if k in _ALLOWED_GLOBALS}
        self.env = env
        self.nodes = nodes
        self.undefined_type = Undefined
        self.expression_type = TemplateExpression
        self.variables = Vars({k: plain(v) for k, v in variables.items()})
        self.context = {"vars": self.variables}
        self.digits = currency_digits
        self.total = 0
        self.work = 0
        self.total_work = 0
        self.deadline = time.monotonic() + MAX_SECONDS
        self._cache: dict[str, Any] = {}
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

    # ------------------------------------------------------------ budgets

    def _room(self) -> int:
        return MAX_WORK - self.work + 1

    def _charge(self, amount: int) -> None:
        # refused work is not counted: Jinja's constant folding retries refused steps
        if time.monotonic() > self.deadline:
            raise TemplateProblem(
                "SC204", f"templates took more than {MAX_SECONDS:g} seconds in all"
            )
        if self.work + amount > MAX_WORK:
            raise TemplateProblem(
                "SC204", f"template builds more than {MAX_WORK:,} characters of values on the way"
            )
        if self.total_work + amount > MAX_TOTAL_WORK:
            raise TemplateProblem(
                "SC204", f"templates built more than {MAX_TOTAL_WORK:,} characters in all"
            )
        self.work += amount
        self.total_work += amount

    def _charged(self, value: Any) -> Any:
        if not isinstance(value, self.undefined_type):
            self._charge(_weight(value, self._room()))
        return value

    def _guard(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """A filter that charges its input and its result."""
        offset = 1 if getattr(fn, "jinja_pass_arg", None) is not None else 0

        @functools.wraps(fn)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if len(args) > offset:
                self._charged(args[offset])
            return self._charged(fn(*args, **kwargs))

        return guarded

    def _test_guard(self, test: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(test)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            for arg in args:
                self._charge(_weight(arg, self._room()))
            return test(*args, **kwargs)

        return guarded

    def _join_guard(self, join: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(join)
        def guarded(eval_ctx: Any, value: Any, d: Any = "", attribute: Any = None) -> Any:
            items = list(value) if not isinstance(value, self.undefined_type) else value
            if isinstance(items, list):
                self._charge(len(str(d)) * len(items))
            return join(eval_ctx, items, d, attribute)

        return guarded

    def _sum_guard(self, total: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(total)
        def guarded(environment: Any, iterable: Any, attribute: Any = None, start: Any = 0) -> Any:
            # summing lists copies them again and again; numbers only
            if not _is_number(start):
                raise TemplateProblem("SC202", "sum adds numbers only")
            return total(environment, iterable, attribute, start)

        return guarded

    def _binop(self, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and _is_int(n):
                    size = _weight(seq, MAX_WORK) * max(n, 0)
                    if size > MAX_OUTPUT_CHARS:
                        raise TemplateProblem(
                            "SC204", f"repeating a value {n:,} times is over the size limit"
                        )
                    self._charge(size)
            if _is_int(left) and _is_int(right):
                self._check_bits(left.bit_length() + right.bit_length())
            return left * right
        if operator == "**":
            if isinstance(right, int) and abs(right) > 64:
                raise TemplateProblem("SC202", "exponents above 64 are not allowed")
            if _is_int(left) and _is_int(right) and right > 0:
                self._check_bits(left.bit_length() * right)
            return left**right
        # '%': numbers only; printf-style string formatting can allocate without bound
        if isinstance(left, str):
            raise TemplateProblem(
                "SC202", "'%' string formatting is not allowed; use ~ to join strings"
            )
        return left % right

    @staticmethod
    def _check_bits(bits: int) -> None:
        if bits > MAX_INT_BITS:
            raise TemplateProblem("SC204", f"a number in the template is over {MAX_INT_BITS} bits")

    # ------------------------------------------------------------ messages

    def _missing(self, obj: dict[str, Any], name: str) -> Any:
        """The undefined value for a missing key, with a message in the user's terms."""
        from ..spec.suggest import closest

        if obj is self.variables:
            match = closest(name, obj)
            hint = (
                f"undefined variable vars.{name}; did you mean vars.{match}?"
                if match
                else f"undefined variable vars.{name}; set it under vars in store.yaml, "
                f"in a --var-file or with --var {name}=VALUE"
            )
        else:
            keys = ", ".join(_short(k) for k in sorted(map(str, obj))[:10]) or "none"
            hint = f"no key {quoted(name)} in this mapping (its keys: {keys})"
        return self.env.undefined(hint=hint, obj=obj, name=name)

    def _undefined_message(self, text: str) -> str:
        if text.endswith(" is undefined"):
            name = text[: -len(" is undefined")].strip().strip("'")
            if name in _JINJA_GLOBALS:
                raise TemplateProblem("SC202", f"{name}() is not available in templates")
            if name in self.variables:
                return f"undefined variable {name}; did you mean vars.{name}?"
            return f"undefined variable {name}; template variables are written vars.NAME"
        if "has no attribute" in text:
            return f"undefined attribute {text.rsplit('attribute', 1)[-1].strip()}"
        return text

    # ------------------------------------------------------------ rendering

    def render(self, source: str) -> Any:
        from jinja2 import TemplateError, UndefinedError
        from jinja2.exceptions import SecurityError

        if len(source) > MAX_TEMPLATE_CHARS:
            raise TemplateProblem(
                "SC206",
                f"template is {len(source):,} characters; the limit is {MAX_TEMPLATE_CHARS:,}",
            )
        compiled, literals = self._compile(source)
        context = {**self.context, **literals} if literals else self.context
        self.work = 0
        try:
            with decimal.localcontext(_DECIMALS):
                if isinstance(compiled, self.expression_type):
                    value = compiled(**context)
                    if isinstance(value, (Mapping, list, tuple)):
                        value = _json_like(value)
                    elif not isinstance(value, (str, int, float, bool, type(None))):
                        value = str(value)
                else:
                    value = compiled.render(**context)
        except UndefinedError as exc:
            raise TemplateProblem(
                "SC201", self._undefined_message(str(exc.message or exc))
            ) from None
        except SecurityError as exc:
            raise TemplateProblem("SC202", _security_message(str(exc))) from None
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
        return self._result(value)

    def _result(self, value: Any) -> Any:
        if isinstance(value, str):
            value = str(value)  # Markup from escape or tojson -> plain str
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
        elif _is_int(value) and value > MAX_RESULT_INT:
            raise TemplateProblem(
                "SC204", f"template result is over the largest whole number {MAX_RESULT_INT:,}"
            )
        elif _is_int(value) and value < MIN_RESULT_INT:
            raise TemplateProblem(
                "SC204", f"template result is under the smallest whole number {MIN_RESULT_INT:,}"
            )
        return value

    def _compile(self, source: str) -> tuple[Any, dict[str, Any]]:
        """The compiled template for `source` and the literals to run it with.

        Templates that differ only in their literals (`'8.00' | money` in one plan,
        `'9.50' | money` in the next), their text around the expressions or the keys they
        look up (`vars.cost.e1`, `vars.cost.e3`) share one compiled shape, with those
        passed as variables: compiling costs milliseconds, running microseconds."""
        shape, literals = self._shape(source)
        if literals:
            compiled = self._cached(shape)
            if not isinstance(compiled, TemplateProblem):
                return compiled, literals
            # the shape does not compile where the template as written may: use that
        compiled = self._cached(source)
        if isinstance(compiled, TemplateProblem):
            raise compiled
        return compiled, {}

    def _cached(self, source: str) -> Any:
        """Compile once per source; a problem is remembered as well."""
        cached = self._cache.get(source)
        if cached is None:
            # compiling is the costly step (a 64 KiB template takes about a second):
            # it runs under the same deadline as rendering, for a bounded number of shapes
            if time.monotonic() > self.deadline:
                raise TemplateProblem(
                    "SC204", f"templates took more than {MAX_SECONDS:g} seconds in all"
                )
            if len(self._cache) >= MAX_SHAPES:
                raise TemplateProblem(
                    "SC206",
                    f"more than {MAX_SHAPES:,} different templates in one run; templates that "
                    "differ only in literals, text and key names count once",
                )
            try:
                cached = self._compile_new(source)
            except TemplateProblem as exc:
                cached = exc
            self._cache[source] = cached
        return cached

    def _shape(self, source: str) -> tuple[str, dict[str, Any]]:
        """`source` with its small literals, its text and the key names it looks up
        replaced by names (`__k0`, ...): `price {{ vars.cost.e1 | money }}` becomes
        `{{ __k0 }}{{ vars[__k1][__k2] | money }}`.

        A key name becomes a subscript only when no value a template can reach has an
        attribute of that name, so the lookup means the same (see `Env.getattr`). Text
        keeps its line breaks inside the `{{ }}`, so line numbers do not move."""
        from jinja2 import TemplateSyntaxError

        lexer = self.env.lexer
        parts: list[str] = []
        literals: dict[str, Any] = {}
        previous = ""
        dot_at = -1  # where in `parts` a '.' that may start a key lookup is
        raw_block = False
        attributes = _attribute_names()
        try:
            for count, (lineno, kind, raw) in enumerate(lexer.tokeniter(source, None)):
                if count >= MAX_TEMPLATE_TOKENS:
                    raise TemplateProblem(
                        "SC206",
                        f"template has more than {MAX_TEMPLATE_TOKENS:,} parts (names, "
                        "operators, values, text); split it or move data into variables",
                    )
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

    def _compile_new(self, source: str) -> Any:
        from jinja2 import TemplateSyntaxError

        nodes = self.nodes
        self.work = 0  # compiling folds constants through the same filters
        try:
            tree = self.env.parse(source)
            self._check(tree)
            expression = self._single_expression(tree)
            if expression is None:
                return self.env.from_string(tree)
            body = [nodes.Assign(nodes.Name("result", "store"), expression, lineno=1)]
            template = self.env.from_string(nodes.Template(body, lineno=1))
            return self.expression_type(template, False)
        except TemplateSyntaxError as exc:
            raise TemplateProblem(
                "SC203", exc.message or "template syntax error", (exc.lineno or 1) - 1
            ) from None
        except (RecursionError, MemoryError, SyntaxError):
            raise TemplateProblem("SC203", "template nests too deeply") from None
        except (ValueError, OverflowError) as exc:  # e.g. a 5000-digit number
            raise TemplateProblem("SC203", f"template cannot be read: {exc}") from None

    def _check(self, tree: Any) -> None:
        from ..spec.suggest import did_you_mean

        nodes = self.nodes
        for node in tree.find_all(self._forbidden_statements):
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
            known = self.env.filters if isinstance(node, nodes.Filter) else self.env.tests
            what = "filter" if isinstance(node, nodes.Filter) else "test"
            if node.name in known:
                continue
            if isinstance(node, nodes.Filter) and node.name in _jinja_filters():
                raise TemplateProblem(
                    "SC202", f"filter {quoted(node.name)} is not allowed in templates", offset
                )
            raise TemplateProblem(
                "SC203",
                f"unknown {what} {quoted(node.name)}{did_you_mean(node.name, known)}",
                offset,
            )

    def _single_expression(self, tree: Any) -> Any:
        """The expression when the template is one `{{ expr }}` (it keeps its type)."""
        nodes = self.nodes
        if len(tree.body) == 1 and isinstance(tree.body[0], nodes.Output):
            parts = tree.body[0].nodes
            if len(parts) == 1 and not isinstance(parts[0], nodes.TemplateData):
                return parts[0]
        return None


@functools.cache
def _jinja_filters() -> frozenset[str]:
    from jinja2.filters import FILTERS

    return frozenset(FILTERS)


def render_templates(
    sites: list[TemplateSite],
    file: str,
    renderer: Callable[[], _Renderer],
    address_of: Callable[[tuple[Any, ...]], str],
    diagnostics: list[Diagnostic],
) -> list[tuple[Any, ...]]:
    """Render every template string in place; problems become diagnostics.

    Returns the paths whose template failed (their value is left as written)."""
    failed: list[tuple[Any, ...]] = []
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
            failed.append(site.path)
            if site.literal:  # a '|' block: its text starts on the line after the '|'
                line, col = site.line + 1 + exc.line_offset, 1
            else:  # other scalars fold their lines: point at the start
                line, col = site.line, site.column
            diagnostics.append(
                Diagnostic(
                    exc.code,
                    clipped(exc.message),
                    SourceLocation(file, line, col),
                    address_of(site.path),
                    json_path(site.path),
                    severity(exc.code),
                )
            )
    return failed


def make_renderer(variables: Mapping[str, Any], currency_digits: int = 2) -> _Renderer:
    return _Renderer(variables, currency_digits)
