"""YAML text edited in place: where each node's text is, and edits that touch only it.

`Source` holds one file's text, the data the loader reads from it (with the line and
column of every value) and, for each of those positions, the extent of the node's
text as libyaml reports it. Edits are plain `(start, end, new text)` replacements of
character ranges: a changed scalar is rewritten where it stands, in its own quoting
style; a key or a list item is added or removed as whole lines, in the file's
indentation and line endings. Nothing is dumped again, so comments, key order,
quoting and layout everywhere else stay byte for byte.

What cannot be edited by changing text alone without risk raises `Unsafe` with the
reason and line: a value shared through an anchor, a key that does not start its
line, a flow collection over several lines, a string the definition would read as a
template. Callers report those and leave the value alone.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..compiler.load import load_bytes
from ..compiler.positions import PosDict, PosList
from ..spec.yaml12 import resolve_plain

_Parser: Any
try:
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover - libyaml is present in every supported install
    _Parser = None


class NotBlock(Exception):
    """A value that a block scalar cannot hold (it is written quoted instead)."""


class Unsafe(Exception):
    """An edit that text replacement cannot make safely; `line` is where (0: unknown)."""

    def __init__(self, reason: str, line: int = 0) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


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


@dataclass
class Layout:
    """How a file writes what is added to it: indentation, quotes, flow fields."""

    indent: int = 2
    #: columns a block sequence's dashes sit right of their key (0: at the key's column)
    seq_offset: int = 2
    quote: str = '"'
    #: whether the files write a field in flow style ({...} or [...]): by the field
    #: names leading to it (`("service_plans", "price")`) and by its own name (`("*",
    #: "price")`)
    flow: dict[tuple[str, ...], bool] = field(default_factory=dict)

    def flow_for(self, names: tuple[str, ...]) -> bool | None:
        found = self.flow.get(names)
        if found is None and names:
            found = self.flow.get(("*", names[-1]))
        return found

    #: a blank line between the items of the top-level resource lists
    spaced_items: bool = False


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

    def _line_end(self, index: int) -> int:
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
        end = self._line_end(line_start)
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
                end = self._line_end(span.content_end - 1)
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
        return Edit(start, self._line_end(span.content_end), out + nl)

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
        end = self._line_end(span.content_end)
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
        end = self._line_end(max(vspan.content_end, kspan.end) - 1)
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
        pair = f"{_key_text(key)}: {_flow_value(value, layout)}"
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
        dashes = [self._dash(s) for s in item_spans]
        nl = self.newline
        edits: list[Edit] = []
        if not kept and not any(isinstance(i, New) for i in layout_items):
            return [self._empty_collection(span, owner, "[]")]
        col = dashes[0] - self._line_start(dashes[0]) if dashes else 0
        spaced = self._spaced(item_spans, dashes)
        # removals
        for i in range(len(seq)):
            if i in kept:
                continue
            start = self._comments_above(self._line_start(dashes[i]))
            end = self._line_end(item_spans[i].content_end - 1)
            if spaced and self._is_blank_line(end):
                end = self._line_end(end)
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
                end = self._line_end(item_spans[last].content_end - 1) if seq else span.end
                if spaced:
                    lines = ["", *lines[:-1]]
                block = nl.join(lines) + nl
                if end == len(self.text) and not self.text.endswith("\n"):
                    block = nl + block
                edits.append(Edit(end, end, block))
        return edits

    def _dash(self, item: Span) -> int:
        """Where the '-' of a block sequence item is (it must start its line)."""
        at = self.text.rfind("-", 0, item.start)
        if at < 0 or self.text[at + 1 : item.start].strip(" ") or not self._starts_line(at):
            raise Unsafe("a list item does not start its line with '- '", item.line)
        return at

    def _spaced(self, items: list[Span], dashes: list[int]) -> bool:
        """Whether the list's items are separated by blank lines."""
        if len(items) < 2:
            return False
        end = self._line_end(items[0].content_end - 1)
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
        end = self._line_end(max(span.content_end, span.start + 1) - 1)
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


# ---------------------------------------------------------------- layout

_SEQ_ITEM = re.compile(r"^( *)- ")


def infer_layout(sources: Iterable[Source]) -> Layout:
    """The indentation, quotes and flow fields most used in these files."""
    steps: Counter[int] = Counter()
    offsets: Counter[int] = Counter()
    quotes: Counter[str] = Counter()
    flow: Counter[tuple[str, ...]] = Counter()
    block: Counter[tuple[str, ...]] = Counter()
    spaced: Counter[bool] = Counter()
    for source in sources:
        if source.root is None:
            continue
        _layout_walk(source, source.root, source.data, steps, offsets, quotes, flow, block)
        if isinstance(source.data, PosDict):
            for value in source.data.values():
                if isinstance(value, PosList) and len(value) > 1:
                    try:
                        spans = [source.value_span(value, i) for i in range(2)]
                        dashes = [source._dash(s) for s in spans]
                    except Unsafe:
                        continue
                    spaced[source._spaced(spans, dashes)] += 1
    layout = Layout()
    if steps:
        layout.indent = steps.most_common(1)[0][0]
    if offsets:
        layout.seq_offset = offsets.most_common(1)[0][0]
    if quotes:
        layout.quote = quotes.most_common(1)[0][0]
    layout.flow = {k: flow[k] > block[k] for k in {*flow, *block}}
    layout.spaced_items = spaced.most_common(1)[0][0] if spaced else False
    return layout


#: the key under which small mappings (a few scalars, like periods) are counted
_SMALL = ("<small mapping>",)


def _small(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and 0 < len(value) <= 4
        and not any(isinstance(v, (dict, list)) for v in value.values())
    )


def _layout_walk(
    source: Source,
    span: Span,
    data: Any,
    steps: Counter[int],
    offsets: Counter[int],
    quotes: Counter[str],
    flow: Counter[tuple[str, ...]],
    block: Counter[tuple[str, ...]],
) -> None:
    todo: list[tuple[Span, Any, tuple[str, ...], int | None]] = [(span, data, (), None)]
    while todo:
        node, value, names, parent_col = todo.pop()
        if node.kind == "scalar":
            if node.style in ("'", '"') and isinstance(value, str):
                quotes[node.style] += 1
            continue
        if node.kind not in ("mapping", "sequence"):
            continue
        if names:
            counter = flow if node.style == "flow" else block
            counter[names] += 1
            counter[("*", names[-1])] += 1
            if _small(value):
                counter[_SMALL] += 1
        if node.style == "flow":
            continue
        if node.kind == "mapping" and isinstance(value, PosDict):
            keys = node.children[0::2]
            values = node.children[1::2]
            if parent_col is not None and keys and node.col > parent_col:
                steps[node.col - parent_col] += 1
            for vspan, key in zip(values, value, strict=False):
                if vspan.kind == "sequence" and vspan.style == "block":
                    offsets[max(vspan.col - node.col, 0)] += 1
                todo.append((vspan, value.get(key), (*names, key), node.col))
        elif node.kind == "sequence" and isinstance(value, PosList):
            for child, item in zip(node.children, value, strict=False):
                todo.append((child, item, names, None))


# ---------------------------------------------------------------- scalars

_PLAIN_START_BAD = set("-?:,[]{}#&*!|>'\"%@` \t")
_FLOW_BAD = set(",[]{}")
#: characters a YAML stream may hold as they are (besides tab, LF and CR)
_PRINTABLE = re.compile(
    "[\x09\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]*\\Z"
)


def is_template_text(value: str) -> bool:
    return "{{" in value or "{%" in value


def _check_not_template(value: str) -> None:
    if is_template_text(value):
        raise Unsafe(
            "the live value holds '{{' or '{%', which the definition would read as a template"
        )


def plain_ok(value: str, flow: bool) -> bool:
    """Whether `value` can be written without quotes and read back as the same string."""
    if not value or value[0] in _PLAIN_START_BAD or value[-1] in " \t:":
        return False
    if not _PRINTABLE.match(value) or any(c in value for c in "\t\n\r"):
        return False
    if ": " in value or " #" in value or (flow and any(c in _FLOW_BAD for c in value)):
        return False
    if flow and ":" in value:
        return False
    try:
        if resolve_plain(value) != value or not isinstance(resolve_plain(value), str):
            return False
    except ValueError:
        return False
    return value not in ("---", "...")


def double_quoted(value: str) -> str:
    out = ['"']
    for ch in value:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ch == "\r":
            out.append("\\r")
        elif _PRINTABLE.match(ch) and ch not in "\x85\u2028\u2029\ufeff":
            out.append(ch)
        elif code <= 0xFF:
            out.append(f"\\x{code:02x}")
        elif code <= 0xFFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    out.append('"')
    return "".join(out)


def single_quoted(value: str) -> str | None:
    if any(c in value for c in "\n\r\t") or not _PRINTABLE.match(value):
        return None
    return "'" + value.replace("'", "''") + "'"


def scalar_text(value: Any, style: str, flow: bool, quote: str) -> str:
    """`value` as a scalar in (or as close as it gets to) `style`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise Unsafe("the live value is not a finite number")
        text = repr(value)
        return text if resolve_plain(text) == value else json.dumps(value)
    if not isinstance(value, str):
        raise Unsafe(f"cannot write a {type(value).__name__} as a scalar")
    _check_not_template(value)
    if style == '"':
        return double_quoted(value)
    if style == "'" or (not plain_ok(value, flow) and quote == "'"):
        single = single_quoted(value)
        if single is not None:
            return single
    elif plain_ok(value, flow):
        return value
    return double_quoted(value)


def block_scalar_lines(
    value: str, style: str, indent: int, parent_indent: int
) -> tuple[str, list[str]]:
    """The header (`|`, `>-`, `|2+` ...) and content lines of a block scalar."""
    _check_not_template(value)
    body = value.rstrip("\n")
    if "\r" in value or not _PRINTABLE.match(value.replace("\n", "")) or not body.strip():
        raise NotBlock()
    trailing = len(value) - len(body)
    chomp = "-" if trailing == 0 else "" if trailing == 1 else "+"
    lines = body.split("\n")
    if style == ">":
        if any(ln[:1] in (" ", "\t") for ln in lines) or any(
            ln.endswith((" ", "\t")) for ln in lines
        ):
            style = "|"  # folding would change such lines: write them as they are
        else:
            # folding turns a single line break between two lines into a space: each
            # break between lines of text takes one more (blank) line
            folded: list[str] = []
            seen_text = False
            for ln in lines:
                if ln and seen_text:
                    folded.append("")
                folded.append(ln)
                seen_text = seen_text or bool(ln)
            lines = folded
    indicator = ""
    first = next((ln for ln in lines if ln), "")
    if first[:1] == " ":
        indicator = str(max(indent - parent_indent, 1))
    pad = " " * indent
    out = [pad + ln if ln else "" for ln in lines]
    if chomp == "+":
        out += [""] * (trailing - 1)
    return style + indicator + chomp, out


# ---------------------------------------------------------------- new values

_MAX_FLOW = 80


def _flow_value(value: Any, layout: Layout) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow_value(v, layout)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow_value(v, layout) for v in value) + "]"
    if isinstance(value, str) and "\n" in value:
        return double_quoted(value)
    return scalar_text(value, "", True, layout.quote)


def _use_flow(names: tuple[str, ...], value: Any, layout: Layout) -> bool:
    if not value:
        return True  # {} and []
    known = layout.flow_for(names)
    if known is None and _small(value):
        known = layout.flow.get(_SMALL)
    if known is not None:
        return known and len(_flow_value(value, layout)) <= _MAX_FLOW
    simple = all(not isinstance(v, (dict, list)) for v in _values(value))
    return isinstance(value, list) and simple and len(_flow_value(value, layout)) <= _MAX_FLOW


def _values(value: Any) -> Iterable[Any]:
    return value.values() if isinstance(value, dict) else value


def _key_text(key: str) -> str:
    return key if plain_ok(key, False) else double_quoted(key)


def emit_entry(
    key: str, value: Any, col: int, layout: Layout, ctx: tuple[str, ...] = ()
) -> list[str]:
    """Lines of `key: value` in a block mapping whose keys start at column `col`
    (0-based); `ctx` names the fields leading to the mapping (for the file's style)."""
    pad = " " * col
    name = _key_text(key)
    names = (*ctx, key)
    if isinstance(value, (dict, list)):
        if _use_flow(names, value, layout):
            return [f"{pad}{name}: {_flow_value(value, layout)}"]
        if isinstance(value, dict):
            lines = [f"{pad}{name}:"]
            for k, v in value.items():
                lines += emit_entry(k, v, col + layout.indent, layout, names)
            return lines
        lines = [f"{pad}{name}:"]
        for item in value:
            lines += emit_item(item, col + layout.seq_offset, layout, names)
        return lines
    if isinstance(value, str) and "\n" in value:
        try:
            header, body = block_scalar_lines(value, "|", col + layout.indent, col)
            return [f"{pad}{name}: {header}", *body]
        except NotBlock:
            pass
    return [f"{pad}{name}: {scalar_text(value, '', False, layout.quote)}"]


def emit_item(value: Any, col: int, layout: Layout, ctx: tuple[str, ...] = ()) -> list[str]:
    """Lines of one block sequence item whose dash is at column `col`; `ctx` names the
    fields leading to the list."""
    pad = " " * col
    if isinstance(value, dict) and value:
        lines: list[str] = []
        for k, v in value.items():
            lines += emit_entry(k, v, col + 2, layout, ctx)
        lines[0] = pad + "- " + lines[0][col + 2 :]
        return lines
    if isinstance(value, (dict, list)):
        return [f"{pad}- {_flow_value(value, layout)}"]
    if isinstance(value, str) and "\n" in value:
        try:
            header, body = block_scalar_lines(value, "|", col + 2, col)
            return [f"{pad}- {header}", *body]
        except NotBlock:
            pass
    return [f"{pad}- {scalar_text(value, '', False, layout.quote)}"]


def flow_item_text(value: Any, layout: Layout) -> str:
    """A value as an item of a flow collection."""
    return _flow_value(value, layout)


__all__ = [
    "Edit",
    "Layout",
    "New",
    "Source",
    "Span",
    "Unsafe",
    "block_scalar_lines",
    "double_quoted",
    "emit_entry",
    "emit_item",
    "flow_item_text",
    "infer_layout",
    "plain_ok",
    "scalar_text",
]
