"""Read YAML files safely, with the source position of every value.

Documents are built straight from libyaml's event stream (no node graph), which is
both faster than PyYAML's constructor and lets us enforce limits as we go:

* YAML 1.2 core-schema meanings (`spec.yaml12`): only true/false are booleans
  (``NO`` stays a string), ``0755`` and ``22:22`` are strings, there are no
  implicit timestamps;
* duplicate keys are errors; tabs used for indentation get their own message;
* a file size limit, a nesting depth limit and a budget for alias expansion, so a
  billion-laughs file is refused in milliseconds with bounded memory.

Mappings come back as `PosDict` and sequences as `PosList` (see `positions`):
ordinary dict and list objects that also remember where each of their values started.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..errors import Diagnostic, quoted
from ..spec.issues import Issue, diagnostic
from ..spec.yaml12 import (
    MAY_RESOLVE,
    TAG,
    NumberTooLarge,
    explicit_scalar,
    resolve_plain,
    shown_tag,
)
from .positions import (
    Pos,
    PosDict,
    PosList,
    TemplateSite,
    copy_positioned,
    has_template,
    is_template,
)

_Parser: Any
try:  # libyaml's parser; the pure-Python one is a slow but equivalent fallback
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover - libyaml is present in every supported install
    _Parser = None

MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIAS_NODES = 100_000
#: characters (of strings, keys included) that aliases may copy in one file
MAX_ALIAS_CHARS = 4 * 1024 * 1024
MAX_SCALAR_CHARS = 1024 * 1024


@dataclass
class Loaded:
    """One parsed file: its data, diagnostics, and where template strings are."""

    path: str
    data: Any = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    #: every string holding '{{' or '{%'
    templates: list[TemplateSite] = field(default_factory=list)
    #: aliases or merge keys copied values around: `templates` may miss some
    copied: bool = False


class _Stop(Exception):
    """Loading cannot go on; the diagnostic is already recorded."""


#: libyaml's wording -> the usual cause, in a reseller's terms
_HINTS = {
    "mapping values are not allowed in this context": "put quotes around a value that contains ': '",
    "found character that cannot start any token": "put quotes around a value that starts with @, ` or %",
    "did not find expected '-' indicator": "check the indentation of this line",
    "did not find expected key": "check the indentation of this line",
}

#: what libyaml was reading when a file ended too early -> what to tell the user
_UNCLOSED = {
    "while parsing a flow sequence": "'[' is never closed",
    "while parsing a flow mapping": "'{' is never closed",
    "while scanning a quoted scalar": "quoted string is never closed",
}


def read_source(path: Path, display: str | None = None) -> tuple[bytes | None, Loaded]:
    """A file's bytes (None when it is too large or unreadable, with the diagnostic)."""
    shown = display or str(path)
    out = Loaded(shown)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            out.diagnostics.append(
                _diag(
                    "SC105", shown, 1, 1, f"file is {size:,} bytes; the limit is {MAX_FILE_BYTES:,}"
                )
            )
            return None, out
        return path.read_bytes(), out
    except OSError as exc:
        out.diagnostics.append(
            _diag("SC109", shown, 1, 1, f"cannot read file: {exc.strerror or exc}")
        )
        return None, out


def load_file(path: Path, display: str | None = None) -> Loaded:
    """Read and parse one YAML file. Problems come back as diagnostics, never raised."""
    raw, out = read_source(path, display)
    return out if raw is None else load_bytes(raw, out.path, out)


def load_bytes(raw: bytes, display: str, out: Loaded | None = None) -> Loaded:
    out = out or Loaded(display)
    if len(raw) > MAX_FILE_BYTES:
        out.diagnostics.append(
            _diag(
                "SC105",
                display,
                1,
                1,
                f"file is {len(raw):,} bytes; the limit is {MAX_FILE_BYTES:,}",
            )
        )
        return out
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        line_start = raw.rfind(b"\n", 0, exc.start) + 1
        col = len(raw[line_start : exc.start].decode("utf-8", "replace")) + 1
        out.diagnostics.append(
            _diag(
                "SC109",
                display,
                line,
                col,
                f"file is not UTF-8 (byte 0x{raw[exc.start]:02x} cannot be read); save it as UTF-8",
            )
        )
        return out
    try:
        out.data = _Builder(text, display, out).build()
    except _Stop:
        out.data = None
    return out


def _diag(
    code: str, file: str, line: int, col: int, message: str, address: str = "-"
) -> Diagnostic:
    return diagnostic(Issue(code, (), message), file, (line, col), address)


class _Frame:
    __slots__ = ("anchor", "container", "key", "key_pos", "merges", "nodes_at", "templates_at")

    def __init__(
        self, container: Any, anchor: str | None, templates_at: int = 0, nodes_at: int = 0
    ) -> None:
        self.container = container
        self.anchor = anchor
        #: how many template strings were seen before this container began
        self.templates_at = templates_at
        #: how many values were read before this container began
        self.nodes_at = nodes_at
        self.key: Any = _NOKEY
        self.key_pos: Pos = (0, 0)
        self.merges: list[tuple[Any, Pos]] | None = None


_NOKEY = object()
_INCOMPLETE = object()


#: what may follow an anchor or alias name that libyaml ended at a ':' (YAML 1.2 goes on)
_NAME_REST = re.compile(r"[^\s,\[\]{}]*")
_BREAKS = " \t\r\n\x85\u2028\u2029,[]{}"


class _Builder:
    def __init__(self, text: str, display: str, out: Loaded, probing: bool = False) -> None:
        self.text = text
        self.display = display
        self.out = out
        #: a re-read of part of the file, looking for the depth limit only
        self.probing = probing
        self.anchors: dict[str, tuple[Any, int, bool]] = {}
        #: characters of an anchored value, measured when an alias first copies it
        self.anchor_chars: dict[str, int] = {}
        self.alias_nodes = 0
        self.alias_chars = 0
        self.stack: list[_Frame] = []
        self.root: Any = None
        self.documents = 0

    def fail(self, code: str, line: int, col: int, message: str) -> _Stop:
        self.out.diagnostics.append(_diag(code, self.display, line, col, message))
        return _Stop()

    def build(self) -> Any:
        parser = _Parser(self.text) if _Parser is not None else yaml.SafeLoader(self.text)
        try:
            self._run(parser)
        except yaml.MarkedYAMLError as exc:
            if not self.probing:
                self._depth_before(exc)
            raise self._syntax(exc) from None
        except yaml.reader.ReaderError as exc:  # a character YAML does not allow
            line, col = self._offset_position(exc.position)
            char = exc.character if isinstance(exc.character, int) else ord(exc.character)
            raise self.fail(
                "SC101",
                line,
                col,
                f"character U+{char:04X} is not allowed in YAML ({exc.reason}); "
                "write it as an escape in a double-quoted string",
            ) from None
        except yaml.YAMLError as exc:  # pragma: no cover - other errors from libyaml are marked
            raise self.fail("SC101", 1, 1, " ".join(str(exc).split())) from None
        except RecursionError:  # pragma: no cover - the depth limit comes first
            raise self.fail("SC106", 1, 1, "nesting is too deep") from None
        finally:
            if hasattr(parser, "dispose"):
                parser.dispose()
        return self.root

    def _depth_before(self, exc: yaml.MarkedYAMLError) -> None:
        """Our nesting limit, if the text before a parse error breaks it.

        libyaml reads ahead of the events it hands out and has a nesting limit of its
        own in newer releases: `[[[[...` can fail there before our limit has seen its
        65th level. Reading the text up to the error again finds it, whatever the
        library's version and wording."""
        mark = exc.problem_mark or exc.context_mark
        if mark is None or not 0 < mark.index <= len(self.text):
            return
        probe = Loaded(self.display)
        with contextlib.suppress(_Stop):
            _Builder(self.text[: mark.index], self.display, probe, probing=True).build()
        for found in probe.diagnostics:
            if found.code == "SC106":
                self.out.diagnostics.append(found)
                raise _Stop()

    def _offset_position(self, offset: int) -> Pos:
        """Line and column of a character offset (libyaml counts UTF-8 bytes)."""
        if _Parser is not None:
            offset = len(self.text.encode("utf-8")[:offset].decode("utf-8", "ignore"))
        before = self.text[:offset]
        return before.count("\n") + 1, offset - (before.rfind("\n") + 1) + 1

    def _only_blank_after(self, mark: Any) -> bool:
        """Whether nothing but whitespace follows `mark` (the error is at the end of the file)."""
        if mark is None:
            return False
        lines = self.text.split("\n")
        if mark.line >= len(lines):
            return True
        rest = lines[mark.line][mark.column :]
        return not rest.strip() and not any(x.strip() for x in lines[mark.line + 1 :])

    def _syntax(self, exc: yaml.MarkedYAMLError) -> _Stop:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or "invalid YAML"
        at_tab = (
            mark is not None and 0 <= mark.index < len(self.text) and self.text[mark.index] == "\t"
        )
        if at_tab:
            assert mark is not None
            return self._tab(exc, mark, line, col, problem)
        message = problem
        opened = exc.context_mark
        if exc.context and opened and opened is not mark and self._only_blank_after(mark):
            # the file ended inside a bracket or quote: point at where it was opened
            unclosed = _UNCLOSED.get(exc.context, f"{problem} ({exc.context} that starts here)")
            return self.fail("SC101", opened.line + 1, opened.column + 1, unclosed)
        if exc.context and exc.context_mark and exc.context_mark is not mark:
            message = f"{problem} ({exc.context} at line {exc.context_mark.line + 1})"
        elif exc.context:
            message = f"{problem} ({exc.context})"
        hint = _HINTS.get(problem)  # libyaml's context adds nothing once the cause is named
        return self.fail("SC101", line, col, f"{problem}; {hint}" if hint else message)

    def _tab(
        self, exc: yaml.MarkedYAMLError, mark: Any, line: int, col: int, problem: str
    ) -> _Stop:
        """A parse error at a tab: SC103 only when the tab indents the line."""
        text = self.text
        before = text[mark.index - mark.column : mark.index]
        written = before.rstrip(" \t")
        if written:  # a tab after '-', ':' or '?': separation, not indentation
            return self.fail(
                "SC101",
                line,
                col,
                f"{problem} (a tab after {written[-1]!r}); separate with a space instead",
            )
        header = exc.context_mark
        if (
            header is not None
            and 0 <= header.index < len(text)
            and text[header.index] in "|>"
            and self._tab_in_block_scalar(header, mark)
        ):
            return self.fail(
                "SC101",
                line,
                col,
                f"{problem} (in the block scalar that starts at line {header.line + 1}); "
                "storecfg's YAML reader cannot read a tab at the start of a line's text: "
                'write the value as a double-quoted string with "\\t"',
            )
        return self.fail(
            "SC103", line, col, "tab character used for indentation; YAML indents with spaces"
        )

    def _tab_in_block_scalar(self, header: Any, mark: Any) -> bool:
        """Whether the spaces before the tab already indent the text of a `|` or `>`
        scalar (the tab is then part of the text, which libyaml cannot read)."""
        lines = self.text.split("\n", mark.line + 1)
        spaces = len(lines[mark.line]) - len(lines[mark.line].lstrip(" "))
        header_line = lines[header.line]
        parent = len(header_line) - len(header_line.lstrip(" "))
        if spaces <= parent:
            return False
        for between in lines[header.line + 1 : mark.line]:  # the first line of text sets the indent
            if between.strip(" \r"):
                return spaces >= len(between) - len(between.lstrip(" "))
        return True

    def _misread_name(self, sigil: str, name: str, start: Any, end: Any) -> tuple[str, Pos] | None:
        """The whole name and place of an anchor or alias that libyaml cut short at a ':'.

        YAML 1.2 allows ':' inside `&an:chor`; libyaml ends the name there and reads the
        rest as the value (":chor value"), silently."""
        text = self.text
        at = text.find(sigil + name, start.index, max(end.index, start.index) + len(name) + 2)
        after = at + 1 + len(name)
        if (
            at < 0
            or text[after : after + 1] != ":"
            or text[after + 1 : after + 2] in ("", *_BREAKS)
        ):
            return None
        match = _NAME_REST.match(text, after)
        whole = name + (match.group() if match else "")
        return whole, (start.line + 1, start.column + 1 + (at - start.index))

    def _check_name(self, sigil: str, name: str, event: Any) -> None:
        found = self._misread_name(sigil, name, event.start_mark, event.end_mark)
        if found is None:
            return
        whole, (line, col) = found
        what = "anchor" if sigil == "&" else "alias"
        raise self.fail(
            "SC110",
            line,
            col,
            f"{what} name {quoted(sigil + whole)} holds ':', which YAML readers split "
            "differently; use letters, digits, '-' and '_' "
            f"(for example {quoted(sigil + whole.replace(':', '-'))})",
        )

    def _alias_chars(self, name: str, value: Any) -> int:
        """Characters an alias copies (strings and keys; 1 for any other value)."""
        chars = self.anchor_chars.get(name)
        if chars is None:
            chars = 0
            todo = [value]
            while todo:
                item = todo.pop()
                if type(item) is str:
                    chars += len(item)
                elif isinstance(item, dict):
                    chars += 1 + sum(len(k) for k in item)
                    todo.extend(item.values())
                elif isinstance(item, list):
                    chars += 1
                    todo.extend(item)
                else:
                    chars += 1
            self.anchor_chars[name] = chars
        return chars

    def _run(self, parser: Any) -> None:
        get_event = parser.get_event
        ev = yaml.events
        scalar_t, map_t, seq_t = ev.ScalarEvent, ev.MappingStartEvent, ev.SequenceStartEvent
        map_end_t, seq_end_t, alias_t = ev.MappingEndEvent, ev.SequenceEndEvent, ev.AliasEvent
        doc_start_t = ev.DocumentStartEvent
        stack = self.stack
        templates = self.out.templates
        # The innermost open container is kept in locals: most events are scalars placed
        # into it. Its frame is stack[-1]; `key` and `key_pos` are written back to the
        # frame before anything that reads the stack (`_emit`, `_site`, a nested container).
        top: _Frame | None = None
        container: Any = None
        in_list = False
        key: Any = _NOKEY
        key_pos: Pos = (0, 0)
        #: values read so far, an alias counting all it copies (a container's weight)
        nodes = 0
        while True:
            event = get_event()
            if event is None:
                break
            t = type(event)
            if t is scalar_t:
                mark = event.start_mark
                line = mark.line + 1
                col = mark.column + 1
                value = event.value
                tag = event.tag
                style = event.style  # libyaml says '' where PyYAML says None: plain
                if not style and tag is None and event.implicit[0]:
                    if value[:1] in MAY_RESOLVE:  # any other plain scalar is a string
                        try:
                            value = resolve_plain(value)
                        except NumberTooLarge as exc:
                            raise self.fail("SC110", line, col, str(exc)) from None
                elif tag is not None and tag != "!" and tag != TAG + "str":
                    try:
                        value = explicit_scalar(tag, value)
                    except ValueError as exc:
                        raise self.fail("SC110", line, col, str(exc)) from None
                if type(value) is str:
                    if len(value) > MAX_SCALAR_CHARS:
                        raise self.fail(
                            "SC105",
                            line,
                            col,
                            f"a string of {len(value):,} characters is over the limit",
                        )
                    if (
                        "{" in value
                        and ("{{" in value or "{%" in value)
                        and top is not None
                        and (key is not _NOKEY or in_list)
                    ):
                        top.key = key
                        templates.append(self._site(line, col, style == "|"))
                if event.anchor is not None:
                    self._check_name("&", event.anchor, event)
                    self.anchors[event.anchor] = (value, 1, is_template(value))
                    self.anchor_chars.pop(event.anchor, None)
                nodes += 1
                if in_list:
                    container.append(value)
                    container.ipos.append((line, col))
                elif key is _NOKEY:
                    if (
                        type(value) is str
                        and top is not None
                        and value not in container
                        and (style or value != "<<")
                    ):
                        key = value
                        key_pos = (line, col)
                    else:  # the root, a merge key, a key that is wrong
                        if top is not None:
                            top.key, top.key_pos = key, key_pos
                        self._emit(value, line, col, plain_key=not style)
                        if top is not None:
                            key, key_pos = top.key, top.key_pos
                elif key is not _MERGE:
                    container[key] = value
                    container.kpos[key] = key_pos
                    container.vpos[key] = (line, col)
                    key = _NOKEY
                else:
                    assert top is not None
                    top.key, top.key_pos = key, key_pos
                    self._emit(value, line, col)
                    key = top.key
            elif t is map_t or t is seq_t:
                mark = event.start_mark
                if len(stack) >= MAX_DEPTH:
                    raise self.fail(
                        "SC106",
                        mark.line + 1,
                        mark.column + 1,
                        f"nesting is deeper than {MAX_DEPTH} levels",
                    )
                if event.tag is not None and event.tag not in (
                    "!",
                    TAG + ("map" if t is map_t else "seq"),
                ):
                    raise self.fail(
                        "SC110",
                        mark.line + 1,
                        mark.column + 1,
                        f"unsupported tag {shown_tag(event.tag)}",
                    )
                start = (mark.line + 1, mark.column + 1)
                if event.anchor is not None:
                    self._check_name("&", event.anchor, event)
                    self.anchors[event.anchor] = (_INCOMPLETE, 0, False)
                    self.anchor_chars.pop(event.anchor, None)
                if top is not None:
                    top.key = key
                    top.key_pos = key_pos
                in_list = t is seq_t
                container = PosList(start) if in_list else PosDict(start)
                top = _Frame(container, event.anchor, len(templates), nodes)
                stack.append(top)
                key = _NOKEY
            elif t is map_end_t or t is seq_end_t:
                frame = stack.pop()
                done = frame.container
                if frame.merges:
                    # merged values move into this mapping: their recorded template sites
                    # would point at the old place, so a rescan is needed
                    if any(has_template(value) for value, _ in frame.merges):
                        self.out.copied = True
                    self._merge(done, frame.merges)
                nodes += 1
                weight = nodes - frame.nodes_at
                if frame.anchor is not None:
                    has_templates = len(templates) > frame.templates_at or self.out.copied
                    self.anchors[frame.anchor] = (done, weight, has_templates)
                if stack:
                    top = stack[-1]
                    container = top.container
                    in_list = type(container) is PosList
                    key = top.key
                    key_pos = top.key_pos
                else:
                    top, container, in_list, key = None, None, False, _NOKEY
                if in_list:
                    container.append(done)
                    container.ipos.append(done.start)
                elif key is not _NOKEY and key is not _MERGE:
                    container[key] = done
                    container.kpos[key] = key_pos
                    container.vpos[key] = done.start
                    key = _NOKEY
                else:  # the root, merged values, a mapping or list used as a key
                    self._emit(done, done.start[0], done.start[1])
                    if top is not None:
                        key = top.key
            elif t is alias_t:
                mark = event.start_mark
                line, col = mark.line + 1, mark.column + 1
                self._check_name("*", event.anchor, event)
                found = self.anchors.get(event.anchor)
                shown = (
                    "*" + event.anchor if len(event.anchor) <= 40 else quoted("*" + event.anchor)
                )
                if found is None:
                    raise self.fail("SC101", line, col, f"alias {shown} names no anchor")
                value, weight, has_templates = found
                if value is _INCOMPLETE:
                    raise self.fail("SC104", line, col, f"alias {shown} refers to itself")
                self.alias_nodes += weight
                if self.alias_nodes > MAX_ALIAS_NODES:
                    raise self.fail(
                        "SC104",
                        line,
                        col,
                        f'aliases expand to more than {MAX_ALIAS_NODES:,} values (a "billion laughs" file?)',
                    )
                self.alias_chars += self._alias_chars(event.anchor, value)
                if self.alias_chars > MAX_ALIAS_CHARS:
                    raise self.fail(
                        "SC104",
                        line,
                        col,
                        f"aliases expand to more than {MAX_ALIAS_CHARS:,} characters; "
                        "write long values once",
                    )
                if has_templates:  # a copy's templates are not in the recorded sites
                    self.out.copied = True
                nodes += weight
                if top is not None:
                    top.key, top.key_pos = key, key_pos
                self._emit(copy_positioned(value), line, col)
                if top is not None:
                    key, key_pos = top.key, top.key_pos
            elif t is doc_start_t:
                self.documents += 1
                if self.documents > 1:
                    mark = event.start_mark
                    raise self.fail(
                        "SC110",
                        mark.line + 1,
                        mark.column + 1,
                        "a file holds one YAML document; found a second '---'",
                    )

    def _site(self, line: int, col: int, literal: bool) -> TemplateSite:
        """Where the scalar being read will go: its container, key and path from the root."""
        path: list[Any] = []
        for frame in self.stack:
            if type(frame.container) is PosList:
                path.append(len(frame.container))
            else:
                path.append(frame.key)
        frame = self.stack[-1]
        return TemplateSite(frame.container, path[-1], line, col, tuple(path), literal)

    def _emit(self, value: Any, line: int, col: int, plain_key: bool = False) -> None:
        """Place a value into the innermost open container (`_run` places the common
        cases itself)."""
        stack = self.stack
        if not stack:
            self.root = value
            return
        frame = stack[-1]
        container = frame.container
        if type(container) is PosList:
            container.append(value)
            container.ipos.append((line, col))
            return
        if frame.key is _NOKEY:
            if type(value) is not str:
                if value is None or isinstance(value, (bool, int, float)):
                    shown = (
                        "null"
                        if value is None
                        else str(value).lower()
                        if isinstance(value, bool)
                        else str(value)
                    )
                    raise self.fail(
                        "SC110", line, col, f"mapping key {shown} must be a string; quote it"
                    )
                raise self.fail("SC110", line, col, "mapping keys must be strings, not collections")
            if value == "<<" and plain_key:
                frame.key = _MERGE
            else:
                if value in container:
                    first = container.kpos[value]
                    raise self.fail(
                        "SC102",
                        line,
                        col,
                        f"duplicate key {quoted(value)} (first defined at line {first[0]})",
                    )
            frame.key_pos = (line, col)
            if frame.key is not _MERGE:
                frame.key = value
            return
        key = frame.key
        frame.key = _NOKEY
        if key is _MERGE:
            if frame.merges is None:
                frame.merges = []
            frame.merges.append((value, (line, col)))
            return
        container[key] = value
        container.kpos[key] = frame.key_pos
        container.vpos[key] = (line, col)

    def _merge(self, target: PosDict, merges: list[tuple[Any, Pos]]) -> None:
        """`<<: *defaults` merge keys: keys written in the mapping win over merged ones."""
        sources: list[Any] = []
        for value, (line, col) in merges:
            items = value if isinstance(value, list) else [value]
            for item in items:
                if not isinstance(item, PosDict):
                    raise self.fail("SC110", line, col, "'<<' merges only mappings")
                sources.append(item)
        for source in sources:
            for key, val in source.items():
                if key not in target:
                    target[key] = val
                    target.kpos[key] = source.kpos[key]
                    target.vpos[key] = source.vpos[key]


_MERGE = object()
