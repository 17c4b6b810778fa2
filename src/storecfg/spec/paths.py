"""Where in a resource: the one formatter of addresses and JSON paths.

A path is a tuple of keys and list indexes, as `Issue.path` holds it. An address names
a resource or a place in it as diagnostics show it (`service_plans.e1.price.recurring`,
`screens.pick.categories[0]`); a JSON path is the same place from the value's root
(`$.price.recurring`). `model.address` is the `kind.id` both start from.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..model import address

#: keys and list indexes, from a value's root down
Path_ = tuple[Any, ...]


def path_suffix(path: Iterable[Any]) -> str:
    """`.price.recurring`, `.categories[0]`: the steps of a path after what it starts from."""
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else f".{step}"
    return out


def format_address(kind: str, rid: str | None = None, path: Iterable[Any] = ()) -> str:
    """A resource's address (or a kind's, without an ID) and a place inside it."""
    return (address(kind, rid) if rid is not None else kind) + path_suffix(path)


def json_path(path: Iterable[Any]) -> str:
    return "$" + path_suffix(path)
