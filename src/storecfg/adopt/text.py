"""YAML text edited in place: where each node's text is, and edits that touch only it.

`Source` holds one file's text, the data the loader reads from it (with the line and
column of every value) and, for each of those positions, the extent of the node's
text as libyaml reports it. Edits are plain `(start, end, new text)` replacements of
character ranges: a changed scalar is rewritten where it stands, in its own quoting
style; a key or a list item is added or removed as whole lines, in the file's
indentation and line endings. Nothing is dumped again, so comments, key order,
quoting and layout everywhere else stay byte for byte.

What cannot be edited by changing text alone without risk raises `Unsafe`
(`scalars.py`) with the reason and line: a value shared through an anchor, a key that does not start its
line, a flow collection over several lines, a string the definition would read as a
template. Callers report those and leave the value alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..compiler.load import load_bytes
from ..compiler.positions import PosDict, PosList
from .emit import Layout, emit_entry, emit_item, flow_text, key_text
from .scalars import NotBlock, Unsafe, block_scalar_lines, double_quoted, scalar_text

_Parser: Any
try:
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover - libyaml is present in every supported install
    _Parser = None


@dataclass(eq=False)
class Span:
    """The text of one node: [start, end) as libyaml reports it (properties such as
    `&anchor` included), and `content_end`, where its last character of content ends
    (a block collection's `end` is where the next token starts, after any comments)."""

    kind: str  # scalar | mapping | sequence | alias
    start: int
    end: int
    line: int
    col: int
    style: str  # scalar: "" (plain), "'", '"', "|", ">"; collections: "flow" or "block"
    anchor: str | None = None
    tag: str | None = None
    in_flow: bool = False
    content_end: int = 0
    children: list[Span] = field(default_factory=list)


@dataclass(frozen=True)
class Edit:
    """Replace text[start:end] with `text`."""

    start: int
    end: int
    text: str


_NAMES = {"!": "", "'": "'", '"': '"', "|": "|", ">": ">"}
_ANY_BREAK = re.compile(r"\r(?!\n)|[\x85\u2028\u2029]")


class Source:
    """One YAML file: text, loaded data with positions, and every node's extent."""

    def __init__(self, raw: bytes, display: str, real: str = "") -> None:
        self.display = display
        #: the file's real path (a link is edited where it points)
        self.real = real or display
        self.raw = raw
        self.bom = raw.startswith(b"\xef\xbb\xbf")
        loaded = load_bytes(raw, display)
        self.diagnostics = loaded.diagnostics
        self.data: Any = loaded.data
        self.text = raw.decode("utf-8-sig") if not self.diagnostics else ""
        self.newline = "\r\n" if "\r\n" in self.text else "\n"
        #: line breaks other than \n and \r\n: line-wise edits would misplace lines
        self.odd_breaks = bool(_ANY_BREAK.search(self.text))
        self.by_pos: dict[tuple[int, int], list[Span]] = {}
        self.root: Span | None = None
        #: [start, end) of anchored nodes that an alias copies
        self.shared: list[tuple[int, int, str]] = []
        if self.data is not None:
            self._scan()

    # ------------------------------------------------------------------ reading

    def _scan(self) -> None:
        parser = _Parser(self.text) if _Parser is not None else yaml.SafeLoader(self.text)
        ev = yaml.events
        stack: list[Span] = []
        anchors: dict[str, Span] = {}
        used: set[int] = set()
        try:
            while True:
                event = parser.get_event()
                if event is None:
                    break
                start, end = event.start_mark, event.end_mark
                if isinstance(event, ev.ScalarEvent):
                    span = Span(
                        "scalar",
                        start.index,
                        end.index,
                        start.line + 1,
                        start.column + 1,
                        _NAMES.get(event.style or "!", ""),
                        event.anchor,
                        event.tag if not event.implicit[0] or event.style else None,
                        any(s.style == "flow" for s in stack),
                    )
                    span.content_end = (
                        self._block_content_end(span)
                        if span.style in "|>" and span.style
                        else end.index
                    )
                    self._add(span, stack)
                    if event.anchor is not None:
                        anchors[event.anchor] = span
                elif isinstance(event, (ev.MappingStartEvent, ev.SequenceStartEvent)):
                    kind = "mapping" if isinstance(event, ev.MappingStartEvent) else "sequence"
                    span = Span(
                        kind,
                        start.index,
                        end.index,
                        start.line + 1,
                        start.column + 1,
                        "flow" if event.flow_style else "block",
                        event.anchor,
                        event.tag,
                        any(s.style == "flow" for s in stack),
                    )
                    self._add(span, stack)
                    stack.append(span)
                    if event.anchor is not None:
                        anchors[event.anchor] = span
                elif isinstance(event, (ev.MappingEndEvent, ev.SequenceEndEvent)):
                    span = stack.pop()
                    span.end = end.index
                    if span.style == "flow":
                        span.content_end = end.index
                    else:
                        span.content_end = max(
                            (c.content_end for c in span.children), default=span.start
                        )
                elif isinstance(event, ev.AliasEvent):
                    span = Span(
                        "alias", start.index, end.index, start.line + 1, start.column + 1, ""
                    )
                    span.content_end = end.index
                    self._add(span, stack)
                    target = anchors.get(event.anchor or "")
                    if target is not None:
                        used.add(id(target))
        finally:
            if hasattr(parser, "dispose"):
                parser.dispose()
        for span in self._walk():
            if span.anchor is not None and id(span) in used:
                self.shared.append((span.start, max(span.end, span.content_end), span.anchor))

    def _walk(self) -> Iterable[Span]:
        todo = [self.root] if self.root is not None else []
        while todo:
            span = todo.pop()
            yield span
            todo.extend(span.children)

    def _add(self, span: Span, stack: list[Span]) -> None:
        self.by_pos.setdefault((span.line, span.col), []).append(span)
        if stack:
            stack[-1].children.append(span)
        elif self.root is None:
            self.root = span

    def _block_content_end(self, span: Span) -> int:
        """Where a block scalar's last line of content ends (its `end` takes in the
        blank lines after it)."""
        text = self.text[span.start : span.end]
        first_break = text.find("\n")
        if first_break < 0:
            return span.end
        body = text[first_break + 1 :]
        stripped = body.rstrip(" \r\n")
        if not stripped:
            return span.start + first_break
        return span.start + first_break + 1 + len(stripped)

    def span_at(self, pos: tuple[int, int], kind: str) -> Span:
        """The node of `kind` the loader placed at `pos`."""
        found = self.by_pos.get(pos, [])
        for span in found:
            if span.kind == "alias":
                raise Unsafe("the value is an alias (*name) of a value written elsewhere", pos[0])
        for span in found:
            if span.kind == kind:
                return span
        raise Unsafe(f"no {kind} at line {pos[0]}, column {pos[1]}", pos[0])

    def value_span(self, container: Any, key: Any) -> Span:
        """The node of container[key] (a mapping value or a list item)."""
        value = container[key]
        kind = (
            "mapping"
            if isinstance(value, dict)
            else "sequence"
            if isinstance(value, list)
            else "scalar"
        )
        pos = container.vpos[key] if isinstance(container, PosDict) else container.ipos[key]
        return self.span_at(pos, kind)

    def key_span(self, container: PosDict, key: str) -> Span:
        return self.span_at(container.kpos[key], "scalar")

    def container_span(self, container: Any) -> Span:
        kind = "mapping" if isinstance(container, PosDict) else "sequence"
        return self.span_at(container.start, kind)

    def line_of(self, index: int) -> int:
        return self.text.count("\n", 0, index) + 1

    def check_free(self, start: int, end: int) -> None:
        """Unsafe when [start, end] touches a value that an alias copies elsewhere."""
        for a, b, name in self.shared:
            if start <= b and end >= a and not (start == end == b):
                raise Unsafe(
                    f"the value is shared through the anchor &{name}; changing it here "
                    "would change every *alias of it",
                    self.line_of(start),
                )

    # -------------------------------------------------------------- line helpers

    def _line_start(self, index: int) -> int:
        return self.text.rfind("\n", 0, index) + 1

    def line_end(self, index: int) -> int:
        """Past the line break of the line holding `index` (or the end of the text)."""
        at = self.text.find("\n", index)
        return len(self.text) if at < 0 else at + 1

    def _starts_line(self, index: int) -> bool:
        return not self.text[self._line_start(index) : index].strip(" ")

    def _comments_above(self, line_start: int) -> int:
        """The start of the comment lines right above a line (no blank line between)."""
        at = line_start
        while at > 0:
            prev = self._line_start(at - 1)
            if not self.text[prev:at].strip().startswith("#"):
                break
            at = prev
        return at

    def _is_blank_line(self, line_start: int) -> bool:
        end = self.line_end(line_start)
        return line_start < len(self.text) and not self.text[line_start:end].strip()

    def _need_lines(self, line: int) -> None:
        if self.odd_breaks:
            raise Unsafe(
                "the file has line breaks other than LF and CRLF; lines cannot be "
                "added or removed safely",
                line,
            )

    def _value_start(self, span: Span) -> int:
        """Where a node's own text starts, after `&anchor` and `!tag`."""
        i = span.start
        text = self.text
        while i < span.end and text[i] in "&!":
            while i < span.end and text[i] not in " \t\r\n":
                i += 1
            while i < span.end and text[i] in " \t\r\n":
                i += 1
        return i

    # ------------------------------------------------------------------- edits

    def replace_scalar(self, span: Span, value: Any, layout: Layout) -> Edit:
        """The scalar at `span` rewritten to `value`, in its own style where it can."""
        self.check_free(span.start, span.end)
        start = self._value_start(span)
        if span.style in ("|", ">"):
            if not isinstance(value, str):
                raise Unsafe("a block scalar (| or >) would change type", span.line)
            try:
                return self._replace_block_scalar(span, start, value)
            except NotBlock:
                # a value a block scalar cannot hold (only line breaks, a carriage return)
                end = self.line_end(span.content_end - 1)
                return Edit(start, end, double_quoted(value) + self.newline)
        return Edit(start, span.end, scalar_text(value, span.style, span.in_flow, layout.quote))

    def _replace_block_scalar(self, span: Span, start: int, value: str) -> Edit:
        text = self.text
        header_end = text.find("\n", start)
        if header_end < 0:
            raise Unsafe("block scalar without content", span.line)
        header = text[start:header_end].split("#", 1)[0].rstrip(" \r")
        style = header[0]
        digits = "".join(c for c in header[1:] if c.isdigit())
        line_start = self._line_start(start)
        line_indent = len(text[line_start:start]) - len(text[line_start:start].lstrip(" "))
        body = text[header_end + 1 : span.end]
        lines = [ln.rstrip("\r") for ln in body.split("\n")]
        content = [ln for ln in lines if ln.strip()]
        if digits:
            indent = line_indent + int(digits)
        elif content:
            indent = min(len(ln) - len(ln.lstrip(" ")) for ln in content)
        else:
            indent = line_indent + 2
        new_header, new_lines = block_scalar_lines(value, style, indent, line_indent)
        nl = self.newline
        out = new_header + nl + nl.join(new_lines)
        if new_header.endswith("+"):  # the trailing newlines are in the lines themselves
            return Edit(start, span.end, out + nl)
        # clip or strip: blank lines after the content are not part of the value; keep them
        return Edit(start, self.line_end(span.content_end), out + nl)

    def insert_key(
        self,
        mapping: PosDict,
        key: str,
        value: Any,
        layout: Layout,
        *,
        before: str | None = None,
        ctx: tuple[str, ...] = (),
    ) -> Edit:
        """`key: value` added to a mapping (before the key `before`, else at its end)."""
        span = self.container_span(mapping)
        self.check_free(span.start, max(span.end, span.content_end))
        if span.style == "flow":
            return self._flow_insert(mapping, span, key, value, layout, before)
        self._need_lines(span.line)
        if not mapping:
            raise Unsafe("the mapping is empty", span.line)
        first = next(iter(mapping))
        col = mapping.kpos[first][1] - 1
        lines = emit_entry(key, value, col, layout, ctx)
        nl = self.newline
        block = nl.join(lines) + nl
        if before is not None and before in mapping:
            anchor_key = self.key_span(mapping, before)
            # a key merged in (`<<: *base`) is written elsewhere: not a place to insert at
            inside = span.start <= anchor_key.start < max(span.end, span.content_end)
            if inside and self._starts_line(anchor_key.start):
                at = self._comments_above(self._line_start(anchor_key.start))
                return Edit(at, at, block)
        end = self.line_end(span.content_end)
        if end == len(self.text) and not self.text.endswith("\n"):
            block = nl + block
        return Edit(end, end, block)

    def remove_key(self, mapping: PosDict, key: str) -> Edit:
        """`key: value` taken out of a block mapping, with the comment lines above it."""
        span = self.container_span(mapping)
        if span.style == "flow":
            return self._flow_remove(mapping, span, key)
        self._need_lines(span.line)
        if len(mapping) < 2:
            raise Unsafe("it is the mapping's only key", span.line)
        kspan = self.key_span(mapping, key)
        vspan = self.value_span(mapping, key)
        if not self._starts_line(kspan.start):
            raise Unsafe(f"the key {key!r} does not start its line", kspan.line)
        start = self._comments_above(self._line_start(kspan.start))
        end = self.line_end(max(vspan.content_end, kspan.end) - 1)
        self.check_free(start, end)
        return Edit(start, end, "")

    def _outer(self, pos: tuple[int, int]) -> Span:
        """The outermost node starting at a position (an alias too)."""
        found = self.by_pos.get(pos)
        if not found:
            raise Unsafe(f"no value at line {pos[0]}, column {pos[1]}", pos[0])
        return max(found, key=lambda s: s.end)

    def _flow_pairs(self, mapping: PosDict, span: Span) -> list[tuple[str, Span, Span]]:
        """(key, key node, value node) of a flow mapping, in the order written."""
        pairs = []
        for key in mapping:
            kspan = self.key_span(mapping, key)
            if not span.start <= kspan.start < span.end:
                raise Unsafe("the {flow} mapping has keys merged in from elsewhere", span.line)
            pairs.append((key, kspan, self._outer(mapping.vpos[key])))
        pairs.sort(key=lambda p: p[1].start)
        return pairs

    def _flow_insert(
        self,
        mapping: PosDict,
        span: Span,
        key: str,
        value: Any,
        layout: Layout,
        before: str | None,
    ) -> Edit:
        """`key: value` added to a {flow} mapping, next to the pairs already written."""
        pair = f"{key_text(key, True)}: {flow_text(value, layout)}"
        pairs = self._flow_pairs(mapping, span)
        if not pairs:
            return Edit(self._value_start(span), span.end, "{" + pair + "}")
        for name, kspan, _ in pairs:
            if name == before:
                return Edit(kspan.start, kspan.start, pair + ", ")
        end = pairs[-1][2].end
        return Edit(end, end, ", " + pair)

    def _flow_remove(self, mapping: PosDict, span: Span, key: str) -> Edit:
        """`key: value` and its comma taken out of a {flow} mapping."""
        self.check_free(span.start, span.end)
        pairs = self._flow_pairs(mapping, span)
        if len(pairs) == 1:
            return Edit(self._value_start(span), span.end, "{}")
        i = next(n for n, p in enumerate(pairs) if p[0] == key)
        if i < len(pairs) - 1:
            start, end = pairs[i][1].start, pairs[i + 1][1].start
        else:
            start, end = pairs[i - 1][2].end, pairs[i][2].end
        between = self.text[start:end].replace(self.text[pairs[i][2].start : pairs[i][2].end], "")
        if "#" in between:
            raise Unsafe("a comment sits next to the key in the {flow} mapping", span.line)
        return Edit(start, end, "")

    def edit_block_sequence(
        self,
        seq: PosList,
        layout_items: Sequence[int | New],
        layout: Layout,
        owner: tuple[PosDict, str] | None,
        ctx: tuple[str, ...] = (),
    ) -> list[Edit]:
        """A block sequence rearranged to `layout_items`: indices of the items kept (in
        their order) and New values inserted between them. Items left out are removed."""
        span = self.container_span(seq)
        self.check_free(span.start, max(span.end, span.content_end))
        self._need_lines(span.line)
        kept = [i for i in layout_items if isinstance(i, int)]
        if kept != sorted(kept) or len(set(kept)) != len(kept):
            raise Unsafe("items would move within the list", span.line)
        item_spans = [self.value_span(seq, i) for i in range(len(seq))]
        dashes = [self.dash(s) for s in item_spans]
        nl = self.newline
        edits: list[Edit] = []
        if not kept and not any(isinstance(i, New) for i in layout_items):
            return [self._empty_collection(span, owner, "[]")]
        col = dashes[0] - self._line_start(dashes[0]) if dashes else 0
        spaced = self.spaced(item_spans, dashes)
        # removals
        for i in range(len(seq)):
            if i in kept:
                continue
            start = self._comments_above(self._line_start(dashes[i]))
            end = self.line_end(item_spans[i].content_end - 1)
            if spaced and self._is_blank_line(end):
                end = self.line_end(end)
            elif spaced and start > 0 and self._is_blank_line(self._line_start(start - 1)):
                start = self._line_start(start - 1)  # the last item: the blank line before it
            edits.append(Edit(start, end, ""))
        # insertions: before the next kept item, or after the last item
        pending: list[New] = []
        groups: list[tuple[int | None, list[New]]] = []
        for entry in layout_items:
            if isinstance(entry, New):
                pending.append(entry)
            else:
                if pending:
                    groups.append((entry, pending))
                pending = []
        if pending:
            groups.append((None, pending))
        for before, news in groups:
            lines: list[str] = []
            for new in news:
                lines += emit_item(new.value, col, layout, ctx)
                if spaced:
                    lines.append("")
            if before is not None:
                at = self._comments_above(self._line_start(dashes[before]))
                edits.append(Edit(at, at, nl.join(lines) + nl))
            else:
                last = len(seq) - 1
                end = self.line_end(item_spans[last].content_end - 1) if seq else span.end
                if spaced:
                    lines = ["", *lines[:-1]]
                block = nl.join(lines) + nl
                if end == len(self.text) and not self.text.endswith("\n"):
                    block = nl + block
                edits.append(Edit(end, end, block))
        return edits

    def dash(self, item: Span) -> int:
        """Where the '-' of a block sequence item is (it must start its line)."""
        at = self.text.rfind("-", 0, item.start)
        if at < 0 or self.text[at + 1 : item.start].strip(" ") or not self._starts_line(at):
            raise Unsafe("a list item does not start its line with '- '", item.line)
        return at

    def spaced(self, items: list[Span], dashes: list[int]) -> bool:
        """Whether the list's items are separated by blank lines."""
        if len(items) < 2:
            return False
        end = self.line_end(items[0].content_end - 1)
        return any(
            self._is_blank_line(at)
            for at in _line_starts(self.text, end, self._line_start(dashes[1]))
        )

    def _empty_collection(self, span: Span, owner: tuple[PosDict, str] | None, empty: str) -> Edit:
        """A block collection that loses all its items becomes `key: []` (or {})."""
        if owner is None:
            raise Unsafe("the list would become empty", span.line)
        mapping, key = owner
        kspan = self.key_span(mapping, key)
        end = self.line_end(max(span.content_end, span.start + 1) - 1)
        return Edit(kspan.end, end, ": " + empty + self.newline)

    def rewrite_flow(self, span: Span, parts: Sequence[str]) -> Edit:
        """A one-line flow collection written again from `parts` (items, or `key: value`
        pairs), with its own brackets and padding."""
        self.check_free(span.start, span.end)
        start = self._value_start(span)
        original = self.text[start : span.end]
        if "\n" in original or "#" in original:
            raise Unsafe("a {flow} collection over several lines or with comments", span.line)
        opening, closing = original[0], original[-1]
        pad = " " if len(original) > 2 and original[1] == " " and parts else ""
        return Edit(start, span.end, opening + pad + ", ".join(parts) + pad + closing)

    def node_text(self, span: Span) -> str:
        return self.text[self._value_start(span) : span.end]

    def pair_text(self, mapping: PosDict, key: str) -> str:
        """`key: value` of a flow mapping entry, as written."""
        kspan = self.key_span(mapping, key)
        vspan = self.value_span(mapping, key)
        return self.text[kspan.start : vspan.end]

    # -------------------------------------------------------------- writing

    def render(self, edits: Iterable[Edit]) -> bytes:
        """The file's bytes with `edits` made (they must not overlap)."""
        ordered = sorted(enumerate(edits), key=lambda p: (p[1].start, p[1].end, p[0]))
        out: list[str] = []
        at = 0
        for _, edit in ordered:
            if edit.start < at:
                raise Unsafe("two edits overlap", self.line_of(edit.start))
            out.append(self.text[at : edit.start])
            text = edit.text
            if self.newline == "\r\n":
                text = re.sub(r"(?<!\r)\n", "\r\n", text)
            out.append(text)
            at = edit.end
        out.append(self.text[at:])
        data = "".join(out).encode()
        return b"\xef\xbb\xbf" + data if self.bom else data


@dataclass(frozen=True)
class New:
    """A value to insert into a list."""

    value: Any


def _line_starts(text: str, start: int, end: int) -> Iterable[int]:
    at = start
    while at < end:
        yield at
        nxt = text.find("\n", at)
        if nxt < 0:
            return
        at = nxt + 1
