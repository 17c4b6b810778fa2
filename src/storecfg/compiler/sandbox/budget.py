"""What templates may spend: one deadline for a run, and caps on sizes and numbers.

Every value a template builds is charged to a `Budget`, per template and per run, by
about how many characters it takes (`weight`). Results, integers inside a template,
the source of one template and the number of different template shapes compiled are
capped too, so no template can use unbounded time or memory.
"""

from __future__ import annotations

import decimal
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

from .problem import TemplateProblem

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

#: decimals (the `decimal` and `money` filters) stay within 10**±99, so `|int` is cheap
DECIMALS = decimal.Context(
    prec=34,
    Emax=99,
    Emin=-99,
    traps=[decimal.InvalidOperation, decimal.Overflow, decimal.DivisionByZero],
)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def weight(value: Any, limit: int) -> int:
    """About how many characters `value` takes; stops counting once over `limit`."""
    total = 0
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, str):
            total += len(item)
        elif is_int(item):
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


def check_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise TemplateProblem("SC204", f"a number in the template is over {MAX_INT_BITS} bits")


class Budget:
    """What the templates of one compile run have spent, and the caps they must keep.

    `work` counts the template being rendered (or compiled), `total_work` and
    `total_output` the whole run. `free` lists types never charged (Jinja's undefined
    values: they raise when used). `clock` and `seconds` set the run's deadline."""

    def __init__(
        self,
        free: tuple[type, ...] = (),
        *,
        clock: Callable[[], float] = time.monotonic,
        seconds: float = MAX_SECONDS,
    ) -> None:
        self.free = free
        self.clock = clock
        self.seconds = seconds
        self.deadline = clock() + seconds
        self.work = 0
        self.total_work = 0
        self.total_output = 0

    def begin(self) -> None:
        """A new template starts (or is compiled: compiling folds constants through the
        same filters): its own work starts from nothing."""
        self.work = 0

    def room(self) -> int:
        """How far `weight` needs to count to tell whether a value still fits."""
        return MAX_WORK - self.work + 1

    def check_deadline(self) -> None:
        if self.clock() > self.deadline:
            raise TemplateProblem(
                "SC204", f"templates took more than {self.seconds:g} seconds in all"
            )

    def charge(self, amount: int) -> None:
        # refused work is not counted: Jinja's constant folding retries refused steps
        self.check_deadline()
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

    def charged(self, value: Any) -> Any:
        """`value`, once its weight is charged."""
        if not isinstance(value, self.free):
            self.charge(weight(value, self.room()))
        return value

    def charge_binop(self, operator: str, left: Any, right: Any) -> None:
        """Charge what `left OPERATOR right` would build before it runs: repeating a
        text or list, and integers growing past MAX_INT_BITS."""
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and is_int(n):
                    size = weight(seq, MAX_WORK) * max(n, 0)
                    if size > MAX_OUTPUT_CHARS:
                        raise TemplateProblem(
                            "SC204", f"repeating a value {n:,} times is over the size limit"
                        )
                    self.charge(size)
            if is_int(left) and is_int(right):
                check_bits(left.bit_length() + right.bit_length())
        elif operator == "**" and is_int(left) and is_int(right) and right > 0:
            check_bits(left.bit_length() * right)

    def check_source(self, source: str) -> None:
        if len(source) > MAX_TEMPLATE_CHARS:
            raise TemplateProblem(
                "SC206",
                f"template is {len(source):,} characters; the limit is {MAX_TEMPLATE_CHARS:,}",
            )

    def check_tokens(self, count: int) -> None:
        """Refuse a template once its lexer has given `count` tokens past the cap."""
        if count >= MAX_TEMPLATE_TOKENS:
            raise TemplateProblem(
                "SC206",
                f"template has more than {MAX_TEMPLATE_TOKENS:,} parts (names, "
                "operators, values, text); split it or move data into variables",
            )

    def admit_compile(self, compiled: int) -> None:
        """Whether one more template shape may be compiled, `compiled` being done.

        Compiling is the costly step (a 64 KiB template takes about a second): it runs
        under the same deadline as rendering, for a bounded number of shapes."""
        self.check_deadline()
        if compiled >= MAX_SHAPES:
            raise TemplateProblem(
                "SC206",
                f"more than {MAX_SHAPES:,} different templates in one run; templates that "
                "differ only in literals, text and key names count once",
            )

    def result(self, value: Any) -> Any:
        """A template's result, once it is known to fit the output caps."""
        if isinstance(value, str):
            value = str(value)  # Markup from escape or tojson -> plain str
            if len(value) > MAX_OUTPUT_CHARS:
                raise TemplateProblem(
                    "SC204",
                    f"template output is {len(value):,} characters; the limit is {MAX_OUTPUT_CHARS:,}",
                )
            self.total_output += len(value)
            if self.total_output > MAX_TOTAL_OUTPUT:
                raise TemplateProblem(
                    "SC204", f"templates rendered more than {MAX_TOTAL_OUTPUT:,} characters in all"
                )
        elif is_int(value) and value > MAX_RESULT_INT:
            raise TemplateProblem(
                "SC204", f"template result is over the largest whole number {MAX_RESULT_INT:,}"
            )
        elif is_int(value) and value < MIN_RESULT_INT:
            raise TemplateProblem(
                "SC204", f"template result is under the smallest whole number {MIN_RESULT_INT:,}"
            )
        return value
