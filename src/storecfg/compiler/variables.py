"""Variables given on the command line: `--var KEY=VALUE` and `--var-json KEY=JSON`."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

from ..errors import UsageError, quoted
from ..spec.yaml12 import MAX_INT, MIN_INT
from .load import MAX_DEPTH


def _split_var(option: str, form: str, pair: str) -> tuple[str, str]:
    key, sep, value = pair.partition("=")
    key = key.strip()
    if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        raise UsageError(f"{option} needs {form} with KEY a variable name, got {quoted(pair)}")
    return key, value


def parse_var_overrides(pairs: Sequence[str], json_pairs: Sequence[str] = ()) -> dict[str, Any]:
    """`--var KEY=VALUE` values, always strings (as Terraform's -var: `9.50` stays "9.50"),
    and `--var-json KEY=JSON` values, typed. A later value of a key wins; a key given
    with both options is an error."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, value = _split_var("--var", "KEY=VALUE", pair)
        out[key] = value
    typed: dict[str, Any] = {}
    for pair in json_pairs:
        key, text = _split_var("--var-json", "KEY=JSON", pair)
        if key in out:
            raise UsageError(f"variable {key} is set with both --var and --var-json; set it once")
        typed[key] = _json_var(key, text)
    out.update(typed)
    return out


def _json_var(key: str, text: str) -> Any:
    """One --var-json value: JSON, with whole numbers in the 64-bit range and at most
    the nesting YAML files may have."""

    def no_constant(name: str) -> Any:
        raise ValueError(f"{name} is not a JSON number")

    try:
        value = json.loads(text, parse_constant=no_constant)
    except RecursionError:
        raise UsageError(f"--var-json {key}: nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        where = f" at character {exc.pos + 1}" if isinstance(exc, json.JSONDecodeError) else ""
        raise UsageError(
            f"--var-json {key}: not JSON ({reason}{where}); a string needs double quotes, "
            f"or use --var {key}=VALUE"
        ) from None
    todo: list[tuple[Any, int]] = [(value, 1)]
    while todo:
        item, depth = todo.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                raise UsageError(f"--var-json {key}: nested deeper than {MAX_DEPTH} levels")
            todo.extend((v, depth + 1) for v in (item.values() if isinstance(item, dict) else item))
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int) and not MIN_INT <= item <= MAX_INT:
            raise UsageError(
                f"--var-json {key}: whole number {quoted(str(item))} is outside "
                f"{MIN_INT:,} to {MAX_INT:,}"
            )
        elif isinstance(item, float) and not math.isfinite(item):
            raise UsageError(f"--var-json {key}: number is too large")
    return value
