"""The str methods CPython does in O(n*m) time, done in O(n+m) for templates.

Reverse searches (`rfind`, `rindex`, `rpartition`, `rsplit`) and `strip` with a set of
characters take time proportional to the text times the argument; with a long
argument a template could spend seconds in one call. These versions give the same
answers in linear time.
"""

from __future__ import annotations

from typing import Any

from .budget import is_int

#: a needle or character set this short keeps str's own (quadratic) reverse search and strip
SHORT_ARGUMENT = 32
STRIPPERS = frozenset(["strip", "lstrip", "rstrip"])
BOUNDED_METHODS = frozenset(["rfind", "rindex", "rpartition", "rsplit", *STRIPPERS])


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
    if name in STRIPPERS:
        chars = args[0] if len(args) == 1 and not kwargs else None
        if not isinstance(chars, str) or len(chars) <= SHORT_ARGUMENT:
            return NotImplemented
        left, right = name != "rstrip", name != "lstrip"
        distinct = "".join(dict.fromkeys(chars))
        if len(distinct) <= SHORT_ARGUMENT:  # the same set, short: str's own strip is fast
            return getattr(owner, name)(distinct)
        return _wrapped_like(owner, _strip(str(owner), distinct, left, right))
    text = str(owner)
    if name in ("rfind", "rindex", "rpartition"):
        if kwargs or not args or not isinstance(args[0], str) or len(args[0]) <= SHORT_ARGUMENT:
            return NotImplemented
        if name == "rpartition":
            if len(args) != 1:
                return NotImplemented
            sep = args[0]
            at = _reverse_find(text, sep, None, None)
            found = ("", "", text) if at < 0 else (text[:at], sep, text[at + len(sep) :])
            return _wrapped_like(owner, found)
        if len(args) > 3 or not all(a is None or is_int(a) for a in args[1:]):
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
            or len(separator) <= SHORT_ARGUMENT
            or not is_int(maxsplit)
        ):
            return NotImplemented
        parts = text[::-1].split(separator[::-1], maxsplit)
        return _wrapped_like(owner, [part[::-1] for part in reversed(parts)])
    return NotImplemented
