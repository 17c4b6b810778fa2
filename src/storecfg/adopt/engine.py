"""Which text edits take a live resource's values back into the definition.

`Adopter` walks a resource's definition (as written: templates not rendered) beside
its compiled spec and its live spec. Where they differ it makes the smallest edit in
the file the value came from: a scalar rewritten in place, a key or a list item
added or removed. A value that is exactly one variable (`"{{ vars.e3_price }}"`) is
followed into the file that sets the variable. A resource is adopted whole or not at
all: the first value that cannot be taken back safely (a computed template, a value
shared through an anchor, a reordered list of objects ...) stops it, with the file
and line to edit by hand.
"""

from __future__ import annotations

import decimal
import difflib
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ..apply.diff import list_key, same
from ..compiler.positions import PosDict, PosList
from ..spec.normalize import Shape, kind_shape
from .emit import Layout, emit_item, flow_text, shape_at
from .scalars import Unsafe, is_template_text
from .text import Edit, New, Source

#: `{{ vars.name }}`, `{{ vars.a.b }}`, `{{ vars['a'] }}`: one variable, nothing else
_ONE_VAR = re.compile(
    r"\{\{-?\s*vars((?:\s*\.\s*[A-Za-z_][A-Za-z0-9_]*|\s*\[\s*(?:'[^'\\]*'|\"[^\"\\]*\")\s*\])+)\s*-?\}\}\Z"
)
_STEP = re.compile(r"\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*(?:'([^'\\]*)'|\"([^\"\\]*)\")\s*\]")
#: `vars.a.b` anywhere in a template (for who else uses a variable)
_VAR_USE = re.compile(r"\bvars((?:\s*\.\s*[A-Za-z_][A-Za-z0-9_]*)*)")
#: names that `vars.NAME` reads as a dict method, not as the variable NAME
_DICT_ATTRS = frozenset(dir(dict))


def one_var(template: str) -> tuple[str, ...] | None:
    """The variable path of a template that is exactly one variable, else None."""
    match = _ONE_VAR.match(template.strip())
    if match is None:
        return None
    steps = tuple(a or b or c for a, b, c in _STEP.findall(match.group(1)))
    if not steps or steps[0] in _DICT_ATTRS:
        return None
    return steps


def var_uses(template: str) -> list[tuple[str, ...]]:
    """Variable paths a template reads; () for `vars` used as a whole (any variable)."""
    out: list[tuple[str, ...]] = []
    for match in _VAR_USE.finditer(template):
        steps = tuple(s.strip(" .") for s in re.split(r"\s*\.\s*", match.group(1)) if s.strip())
        after = template[match.end() : match.end() + 1]
        out.append(() if not steps or after == "[" or steps[0] in _DICT_ATTRS else steps)
    if re.search(r"\bvars\s*\[", template):
        out.append(())
    return out


class Refused(Exception):
    """A resource that cannot be adopted safely: why, and where to edit it by hand."""

    def __init__(self, reason: str, file: str, line: int, path: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.file = file
        self.line = line
        self.path = path


@dataclass
class Change:
    """One value taken back, for the report."""

    path: str
    old: Any
    new: Any
    file: str
    line: int
    #: the variable it was adopted into (`vars.e3_price`), if any
    via: str | None = None
    op: str = "change"  # change | add | remove | insert | delete


@dataclass
class Plan:
    """The edits that adopt one resource."""

    address: str
    edits: list[tuple[Source, Edit]] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    #: variable paths written: (file the variable is set in, path)
    var_edits: set[tuple[str, tuple[str, ...]]] = field(default_factory=set)
    #: template sites followed into a variable: (file, line, column)
    var_sites: set[tuple[str, int, int]] = field(default_factory=set)


@dataclass
class VarSite:
    """A template that reads variables: where, for which resource, and which paths."""

    file: str
    line: int
    column: int
    address: str
    paths: list[tuple[str, ...]]


class VarTable:
    """Where each variable is set: --var (None), the last var file setting it, or
    `vars:` in store.yaml."""

    def __init__(self, root: Source, var_files: list[Source], overrides: set[str]) -> None:
        self.places: dict[str, tuple[Source, PosDict] | None] = {}
        data = root.data.get("vars") if isinstance(root.data, PosDict) else None
        if isinstance(data, PosDict):
            for name in data:
                self.places[name] = (root, data)
        for source in var_files:
            block = source.data
            if isinstance(block, PosDict) and set(block) == {"vars"}:
                block = block["vars"]
            if isinstance(block, PosDict):
                for name in block:
                    self.places[name] = (source, block)
        for name in overrides:
            self.places[name] = None

    def locate(self, path: tuple[str, ...], file: str, line: int) -> tuple[Source, Any, Any]:
        """(file, container, key) of the value at a variable path."""
        shown = "vars." + ".".join(path)
        if path[0] not in self.places:
            raise Refused(f"{shown} is not set in a file", file, line)
        place = self.places[path[0]]
        if place is None:
            raise Refused(
                f"{shown} comes from --var or --var-json on the command line; change it there",
                file,
                line,
            )
        source, container = place
        key: Any = path[0]
        for step in path[1:]:
            value = container[key]
            if not isinstance(value, PosDict) or step not in value:
                raise Refused(f"{shown} is not a value written in {source.display}", file, line)
            container, key = value, step
        return source, container, key


def _is_default(shape: Shape, name: str, value: Any) -> bool:
    if name not in shape.defaults:
        return False
    default = shape.defaults[name]
    if name in shape.money and isinstance(default, str) and isinstance(value, str):
        try:
            return decimal.Decimal(default) == decimal.Decimal(value)
        except decimal.InvalidOperation:
            return False
    return same(default, value)


def strip_defaults(shape: Shape | None, value: Any) -> Any:
    """A value without the fields that equal their schema default (compiling fills
    them in again), so what is written is what a person would write."""
    if shape is None or not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for name, item in value.items():
        if name in shape.children and isinstance(item, dict):
            item = strip_defaults(shape.children[name], item)
            if not item and name in shape.defaults:
                continue
        elif name in shape.items and isinstance(item, list):
            sub = shape.items[name]
            item = [strip_defaults(sub, x) for x in item]
        elif _is_default(shape, name, item):
            continue
        out[name] = item
    return out


def schema_order(shape: Shape | None, keys: list[str]) -> list[str]:
    """`keys` in the order the schema lists its properties (others after, as given)."""
    if shape is None:
        return keys
    known = set(keys)
    return [k for k in shape.order if k in known] + [k for k in keys if k not in shape.order]


def in_schema_order(shape: Shape | None, value: Any) -> Any:
    """A new value with its keys, and those of the objects in it, in schema order, as
    a person writes them (the store API may answer with keys sorted)."""
    if isinstance(value, list):
        return [in_schema_order(shape, item) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for name in schema_order(shape, list(value)):
        sub = None
        if shape is not None:
            sub = shape.children.get(name) or shape.items.get(name)
        out[name] = in_schema_order(sub, value[name])
    return out


def minimal(desired: Any, live: Any) -> Any:
    """What to write for a value the definition leaves to its default: only the parts
    where the live value differs from what compiling fills in."""
    if isinstance(desired, dict) and isinstance(live, dict):
        return {
            k: minimal(desired[k], v) if k in desired else v
            for k, v in live.items()
            if k not in desired or not same(desired[k], v)
        }
    return live


def dotted(path: tuple[Any, ...]) -> str:
    out = ""
    for step in path:
        out += f"[{step}]" if isinstance(step, int) else (f".{step}" if out else str(step))
    return out


class Adopter:
    """Plans the edits for resources, one at a time."""

    def __init__(self, layout: Layout, variables: VarTable) -> None:
        self.layout = layout
        self.vars = variables

    # ---------------------------------------------------------------- entry points

    def changed(
        self,
        address: str,
        kind: str,
        source: Source,
        items: PosList,
        index: int,
        desired: dict[str, Any],
        live: dict[str, Any],
    ) -> Plan:
        """Edits that make a resource written in `source` compile to `live`."""
        plan = Plan(address)
        self._walk(plan, kind, source, items, index, (), desired, live, via=None)
        return plan

    def deleted(self, address: str, source: Source, data: PosDict, kind: str, index: int) -> Plan:
        """Edits that take a resource out of its file."""
        plan = Plan(address)
        items = data[kind]
        line = items.ipos[index][0]
        try:
            span = source.container_span(items)
            if span.style == "flow":
                raise Unsafe("the resource is in a [flow] list", span.line)
            keep: list[int | New] = [i for i in range(len(items)) if i != index]
            for edit in source.edit_block_sequence(items, keep, self.layout, (data, kind)):
                plan.edits.append((source, edit))
        except Unsafe as exc:
            raise Refused(exc.reason, source.display, exc.line or line) from None
        plan.changes.append(Change("", None, None, source.display, line, op="delete"))
        return plan

    def created(self, address: str, kind: str, target: Source, spec: dict[str, Any]) -> Plan:
        """Edits that add a resource made outside storecfg to `target`."""
        plan = Plan(address)
        shape = kind_shape(kind)
        value = in_schema_order(shape, strip_defaults(shape, spec))
        if "id" in value:
            value = {"id": value["id"], **{k: v for k, v in value.items() if k != "id"}}
        try:
            edit, line = self._append(target, kind, value)
        except Unsafe as exc:
            raise Refused(exc.reason, target.display, exc.line or 1) from None
        plan.edits.append((target, edit))
        plan.changes.append(Change("", None, None, target.display, line, op="insert"))
        return plan

    def _append(self, target: Source, kind: str, value: dict[str, Any]) -> tuple[Edit, int]:
        data = target.data
        nl = target.newline
        layout = self.layout
        if data is None:
            if target.text.strip():
                raise Unsafe("the file holds no mapping of resource kinds", 1)
            lines = [f"{kind}:", *emit_item(value, layout.seq_offset, layout, (kind,))]
            return Edit(len(target.text), len(target.text), nl.join(lines) + nl), 1
        if not isinstance(data, PosDict):
            raise Unsafe("the file holds no mapping of resource kinds", 1)
        root = target.container_span(data)
        if root.style == "flow":
            raise Unsafe("the file is one {flow} mapping", root.line)
        items = data.get(kind)
        if isinstance(items, PosList) and items:
            span = target.container_span(items)
            if span.style == "flow":
                raise Unsafe(f"{kind} is a [flow] list", span.line)
            keep: list[int | New] = [*range(len(items)), New(value)]
            edits = target.edit_block_sequence(items, keep, layout, (data, kind), (kind,))
            return edits[-1], target.line_of(edits[-1].start) + 1
        if kind in data:  # `kind:` with nothing, or `kind: []`
            kspan = target.key_span(data, kind)
            target.check_free(kspan.start, kspan.end)
            col = data.kpos[kind][1] - 1
            lines = emit_item(value, col + layout.seq_offset, layout, (kind,))
            end = target.line_end(kspan.end)
            return Edit(kspan.end, end, ":" + nl + nl.join(lines) + nl), kspan.line + 1
        lines = [f"{kind}:", *emit_item(value, layout.seq_offset, layout, (kind,))]
        text = target.text
        lead = "" if text.endswith("\n") or not text else nl
        blank = nl if text.strip() else ""
        return Edit(len(text), len(text), lead + blank + nl.join(lines) + nl), text.count("\n") + 2

    # ---------------------------------------------------------------- the walk

    def _walk(
        self,
        plan: Plan,
        kind: str,
        source: Source,
        container: Any,
        key: Any,
        path: tuple[Any, ...],
        desired: Any,
        live: Any,
        via: str | None,
    ) -> None:
        if same(desired, live):
            return
        raw = container[key]
        pos = container.vpos[key] if isinstance(container, PosDict) else container.ipos[key]
        where = dotted(path) or "the resource"
        try:
            if via is None and isinstance(raw, str) and is_template_text(raw):
                self._follow(plan, kind, source, raw, pos, path, desired, live)
                return
            if isinstance(desired, dict) and isinstance(live, dict) and isinstance(raw, PosDict):
                self._mapping(plan, kind, source, raw, path, desired, live, via, owner=None)
                return
            if isinstance(desired, list) and isinstance(live, list) and isinstance(raw, PosList):
                owner = (container, key) if isinstance(container, PosDict) else None
                self._sequence(plan, kind, source, raw, path, desired, live, via, owner)
                return
            scalars = not isinstance(live, (dict, list)) and not isinstance(desired, (dict, list))
            if scalars and not isinstance(raw, (dict, list)):
                span = source.value_span(container, key)
                plan.edits.append((source, source.replace_scalar(span, live, self.layout)))
                plan.changes.append(
                    Change(dotted(path), desired, live, source.display, span.line, via)
                )
                return
            raise Unsafe(f"{where} changed shape (for example from a value to a list)", pos[0])
        except Unsafe as exc:
            raise Refused(
                f"{where}: {exc.reason}", source.display, exc.line or pos[0], dotted(path)
            ) from None

    def _follow(
        self,
        plan: Plan,
        kind: str,
        source: Source,
        template: str,
        pos: tuple[int, int],
        path: tuple[Any, ...],
        desired: Any,
        live: Any,
    ) -> None:
        ref = one_var(template)
        if ref is None:
            raise Refused(
                f"{dotted(path)} is computed by a template ({_short(template)}); change it by hand",
                source.display,
                pos[0],
                dotted(path),
            )
        var_source, container, key = self.vars.locate(ref, source.display, pos[0])
        name = "vars." + ".".join(ref)
        plan.var_edits.add((var_source.display, ref))
        plan.var_sites.add((source.display, pos[0], pos[1]))
        self._walk(plan, kind, var_source, container, key, path, desired, live, via=name)

    def _mapping(
        self,
        plan: Plan,
        kind: str,
        source: Source,
        raw: PosDict,
        path: tuple[Any, ...],
        desired: dict[str, Any],
        live: dict[str, Any],
        via: str | None,
        owner: Any,
    ) -> None:
        del owner
        live_keys = schema_order(shape_at(_names(kind, path)), list(live))
        order = live_keys + [k for k in desired if k not in live]
        for name in order:
            sub = (*path, name)
            if name in desired and name in live:
                if name in raw:
                    self._walk(plan, kind, source, raw, name, sub, desired[name], live[name], via)
                elif not same(desired[name], live[name]):
                    value = minimal(desired[name], live[name])
                    self._insert(plan, kind, source, raw, sub, value, live_keys, via, desired[name])
            elif name in live:
                value = strip_defaults(shape_at(_names(kind, sub)), live[name])
                self._insert(plan, kind, source, raw, sub, value, live_keys, via, None)
            elif name in raw:
                line = raw.kpos[name][0]
                plan.edits.append((source, source.remove_key(raw, name)))
                plan.changes.append(
                    Change(dotted(sub), desired[name], None, source.display, line, via, "remove")
                )
            else:
                raise Unsafe(
                    f"the store has no {dotted(sub)}, which compiling fills in as a default",
                    raw.start[0],
                )

    def _insert(
        self,
        plan: Plan,
        kind: str,
        source: Source,
        raw: PosDict,
        path: tuple[Any, ...],
        value: Any,
        live_keys: list[str],
        via: str | None,
        old: Any,
    ) -> None:
        name = path[-1]
        value = in_schema_order(shape_at(_names(kind, path)), value)
        after = live_keys[live_keys.index(name) + 1 :]
        before = next((k for k in after if k in raw), None)
        edit = source.insert_key(
            raw, name, value, self.layout, before=before, ctx=_names(kind, path[:-1])
        )
        plan.edits.append((source, edit))
        plan.changes.append(
            Change(dotted(path), old, value, source.display, source.line_of(edit.start), via, "add")
        )

    def _sequence(
        self,
        plan: Plan,
        kind: str,
        source: Source,
        raw: PosList,
        path: tuple[Any, ...],
        desired: list[Any],
        live: list[Any],
        via: str | None,
        owner: tuple[PosDict, str] | None,
    ) -> None:
        scalars = not any(isinstance(v, (dict, list)) for v in (*desired, *live))
        by_id = not scalars and all(list_key(x) == "id" or not x for x in (desired, live))
        if not scalars and not by_id:
            if len(desired) != len(live):
                raise Unsafe(f"{dotted(path)} changed length", raw.start[0])
            for i, (d, v) in enumerate(zip(desired, live, strict=True)):
                self._walk(plan, kind, source, raw, i, (*path, i), d, v, via)
            return

        def key_of(item: Any) -> Any:
            return item["id"] if by_id else repr((type(item).__name__, item))

        dkeys = [key_of(x) for x in desired]
        lkeys = [key_of(x) for x in live]
        ops = difflib.SequenceMatcher(None, dkeys, lkeys, autojunk=False).get_opcodes()
        removed = {
            dkeys[i]
            for tag, i1, i2, _, _ in ops
            if tag in ("delete", "replace")
            for i in range(i1, i2)
        }
        added = {
            lkeys[j]
            for tag, _, _, j1, j2 in ops
            if tag in ("insert", "replace")
            for j in range(j1, j2)
        }
        if by_id and removed & added:
            raise Unsafe(f"items of {dotted(path)} were reordered", raw.start[0])
        span = source.container_span(raw)
        flow = span.style == "flow"
        layout_items: list[int | New] = []
        pairs: list[tuple[int, int]] = []
        structural = False
        for tag, i1, i2, j1, j2 in ops:
            if tag == "equal" or (tag == "replace" and scalars and i2 - i1 == j2 - j1 and not flow):
                layout_items += range(i1, i2)
                pairs += zip(range(i1, i2), range(j1, j2), strict=True)
            else:
                structural = True
                layout_items += [New(self._new_item(kind, path, live[j])) for j in range(j1, j2)]
        for i, j in pairs:
            self._walk(plan, kind, source, raw, i, (*path, i), desired[i], live[j], via)
        if not structural:
            return
        line = raw.start[0]
        if flow:
            if not scalars:
                raise Unsafe(f"{dotted(path)} is a [flow] list of objects", line)
            parts: list[str] = []
            for entry in layout_items:
                if isinstance(entry, New):
                    parts.append(flow_text(entry.value, self.layout))
                else:
                    parts.append(source.node_text(source.value_span(raw, entry)))
            plan.edits.append((source, source.rewrite_flow(span, parts)))
        else:
            edits = source.edit_block_sequence(
                raw, layout_items, self.layout, owner, _names(kind, path)
            )
            for edit in edits:
                plan.edits.append((source, edit))
        kept = {i for i in layout_items if isinstance(i, int)}
        for i in range(len(raw)):
            if i not in kept:
                plan.changes.append(
                    Change(
                        f"{dotted(path)}[{i}]",
                        desired[i],
                        None,
                        source.display,
                        raw.ipos[i][0],
                        via,
                        "remove",
                    )
                )
        for entry in layout_items:
            if isinstance(entry, New):
                plan.changes.append(
                    Change(dotted(path), None, entry.value, source.display, line, via, "insert")
                )

    def _new_item(self, kind: str, path: tuple[Any, ...], value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        shape = shape_at(_names(kind, path))
        return in_schema_order(shape, strip_defaults(shape, value))


def _names(kind: str, path: tuple[Any, ...]) -> tuple[str, ...]:
    """The field names leading to a place in a resource (list positions left out)."""
    return (kind, *(p for p in path if isinstance(p, str)))


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def template_sites(
    source: Source,
    address_of: Callable[[Source, tuple[Any, ...]], str],
    *,
    skip_vars: bool = False,
) -> Iterator[VarSite]:
    """Every template string of a file, with the variable paths it reads (`vars:` in
    store.yaml is not rendered: skip_vars)."""
    from ..compiler.positions import find_templates

    if source.data is None:
        return
    for site in find_templates(source.data):
        if skip_vars and site.path and site.path[0] == "vars":
            continue
        value = site.container[site.key]
        if not isinstance(value, str):
            continue
        single = one_var(value)
        paths = [single] if single is not None else var_uses(value)
        yield VarSite(source.display, site.line, site.column, address_of(source, site.path), paths)


__all__ = [
    "Adopter",
    "Change",
    "Plan",
    "Refused",
    "VarSite",
    "VarTable",
    "minimal",
    "one_var",
    "strip_defaults",
    "var_uses",
]
