"""Make the store's own HTML and colours safe to put into a preview page.

Descriptions, terms bodies and the footer may hold HTML. The preview keeps the
formatting tags a store page uses and drops everything that could run a script or
load something from the network (scripts, images, frames, styles, event handlers,
`javascript:` links), so the preview opens from disk with no network requests.
"""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser

from markupsafe import Markup

#: tags kept, without attributes (except href on <a>)
_KEEP = frozenset(
    [
        "p",
        "br",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "s",
        "ul",
        "ol",
        "li",
        "a",
        "span",
        "small",
        "code",
        "pre",
        "h3",
        "h4",
        "h5",
        "h6",
        "blockquote",
        "hr",
        "sup",
        "sub",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    ]
)
_VOID = frozenset({"br", "hr"})
#: tags dropped with everything inside them
_DROP_CONTENT = frozenset(
    [
        "script",
        "style",
        "iframe",
        "object",
        "embed",
        "noscript",
        "template",
        "svg",
        "math",
        "textarea",
        "select",
        "head",
        "title",
    ]
)
_SAFE_HREF = re.compile(r"^(https?:|mailto:)", re.IGNORECASE)
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


class _Cleaner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.open: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _DROP_CONTENT:
            self.skipping += 1
            return
        if self.skipping or tag not in _KEEP:
            return
        if tag == "a":
            href = next((v for k, v in attrs if k == "href" and v), "")
            href = href.strip()
            if _SAFE_HREF.match(href):
                self.out.append(f'<a href="{escape(href, quote=True)}" rel="noopener noreferrer">')
            else:
                self.out.append("<a>")
        else:
            self.out.append(f"<{tag}>")
        if tag not in _VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID and not self.skipping:
            self.out.append(f"<{tag}>")

    def handle_endtag(self, tag: str) -> None:
        if tag in _DROP_CONTENT:
            self.skipping = max(0, self.skipping - 1)
            return
        if self.skipping or tag not in self.open:
            return
        while self.open:  # close what the author left open inside it
            last = self.open.pop()
            self.out.append(f"</{last}>")
            if last == tag:
                break

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(escape(data, quote=False))

    def result(self) -> str:
        self.close()
        self.out.extend(f"</{tag}>" for tag in reversed(self.open))
        return "".join(self.out)


def safe_html(text: object) -> Markup:
    """The store's HTML with only formatting tags left (plain text stays plain text)."""
    if not isinstance(text, str) or not text:
        return Markup("")
    cleaner = _Cleaner()
    cleaner.feed(text)
    return Markup(cleaner.result())


def color(value: object, default: str) -> str:
    """A #RRGGBB colour from the definition, or the default when it is not one."""
    return value if isinstance(value, str) and _COLOR.match(value) else default


def text_on(background: str) -> str:
    """Black or white, whichever reads better on `background` (#RRGGBB)."""
    r, g, b = (int(background[i : i + 2], 16) / 255 for i in (1, 3, 5))

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else float(((c + 0.055) / 1.055) ** 2.4)

    luminance = 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
    return "#000000" if luminance > 0.179 else "#ffffff"
