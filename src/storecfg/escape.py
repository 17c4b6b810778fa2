"""Text from outside (a store's answers, resource values, files) made safe to print.

A terminal obeys control characters (ESC sequences can recolour, move the cursor,
retitle the window or hide text) and a reader is misled by bidirectional overrides
(U+202E shows `fdp.exe` as `exe.pdf`) and by line separators (U+2028 starts a line
that is not one). `escape` writes every such character as a visible escape
(`\\x1b`, `\\u202e`), so what is printed is what the data holds. Escaping is
idempotent: an escaped text holds no character that would be escaped again.
"""

from __future__ import annotations

import re

#: besides the C0 controls: DEL, the C1 controls, the bidirectional controls and the
#: Unicode line and paragraph separators
_OTHER_UNSAFE = (
    "\x7f-\x9f"
    "\u061c\u200e\u200f"  # Arabic letter mark, left-to-right and right-to-left marks
    "\u2028\u2029"  # line and paragraph separators
    "\u202a-\u202e"  # embeddings and overrides
    "\u2066-\u2069"  # isolates
)
_UNSAFE = re.compile(f"[\x00-\x1f{_OTHER_UNSAFE}]")
_UNSAFE_BUT_NEWLINE = re.compile(f"[\x00-\x09\x0b-\x1f{_OTHER_UNSAFE}]")
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _visible(match: re.Match[str]) -> str:
    ch = match.group()
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text: str, *, keep_newlines: bool = False) -> str:
    """`text` with control, bidirectional and line-separator characters escaped.

    With `keep_newlines`, `\\n` stays (for a multi-line document whose own lines are
    wanted); a value inside it should have been escaped whole before.
    """
    pattern = _UNSAFE_BUT_NEWLINE if keep_newlines else _UNSAFE
    if pattern.search(text) is None:  # the common case: nothing to do
        return text
    return pattern.sub(_visible, text)
