"""Plans as terminal text: Terraform-like markers (+ ~ - -/+), color when wanted.

Rendered only from the plan dict that `--format json` prints, so the two can never
disagree. Deletions come first and loudly; the business impact comes before the
details.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ..apply.plandoc import Change, DiffEntry, DriftEntry, Plan, PlanOrFailure
from ..escape import escape

_COLORS = {
    "green": "32",
    "yellow": "33",
    "red": "31",
    "magenta": "35",
    "cyan": "36",
    "bold": "1",
    "dim": "2",
}


class Style:
    def __init__(self, color: bool) -> None:
        self.color = color
        self._codes: dict[tuple[str, ...], str] = {}

    def __call__(self, text: str, *styles: str) -> str:
        if not self.color or not styles:
            return text
        start = self._codes.get(styles)
        if start is None:
            start = self._codes[styles] = "\x1b[" + ";".join(_COLORS[s] for s in styles) + "m"
        return f"{start}{text}\x1b[0m"


MARKERS = {
    "create": ("+", "green"),
    "update": ("~", "yellow"),
    "delete": ("-", "red"),
    "replace": ("-/+", "magenta"),
    "no-op": (" ", "dim"),
}


_quote = json.encoder.encode_basestring  # the C string quoter json.dumps itself uses


def value(v: Any) -> str:
    """A value as JSON text (the common scalars without json.dumps' per-call setup)."""
    t = type(v)
    if t is str:
        return _quote(v)
    if t is bool:
        return "true" if v else "false"
    if t is int:
        return str(v)
    if v is None:
        return "null"
    return json.dumps(v, ensure_ascii=False)


def flatten(spec: Any, path: str = "") -> list[tuple[str, Any]]:
    """(dotted path, scalar or inline list) pairs; lists of objects keyed by id."""
    out: list[tuple[str, Any]] = []
    _flatten(spec, path, out)
    return out


def _keyed(value: Any) -> bool:
    return type(value) is list and bool(value) and all(type(i) is dict and "id" in i for i in value)


def _flatten(spec: Any, path: str, out: list[tuple[str, Any]]) -> None:
    if type(spec) is dict:
        if not spec and path:
            out.append((path, {}))
        for key, v in spec.items():
            sub = f"{path}.{key}" if path else key
            if type(v) is dict or _keyed(v):
                _flatten(v, sub, out)
            else:
                out.append((sub, v))
    elif _keyed(spec):
        for item in spec:
            rest = {k: v for k, v in item.items() if k != "id"} or {"id": item["id"]}
            _flatten(rest, f"{path}[{item['id']}]", out)
    else:
        out.append((path, spec))


def summary_line(plan: Plan) -> str:
    """`Plan: 2 to create, 3 to update, 2 to delete.` (a replace counts as a delete and a create)."""
    s = plan["summary"]
    create = s["create"] + s["replace"]
    delete = s["delete"] + s["replace"]
    line = f"Plan: {create} to create, {s['update']} to update, {delete} to delete"
    if s["replace"]:
        line += f" ({s['replace']} replaced: deleted and created again)"
    settings = plan["settings"]["action"]
    if settings != "no-op":
        line += "; store settings to set" if settings == "create" else "; store settings to update"
    return line + "."


#: a line of a change's details: (marker, color, text, note); marker is "+", "-" or "~",
#: note is "" or a remark such as "# forces replacement"
Entry = tuple[str, str, str, str]
FORCES = "# forces replacement"
#: beside a change of a plan's fees: when it reaches existing subscriptions
EFFECTIVE_NOTES = {
    "immediately": "# takes effect immediately",
    "next_renewal": "# takes effect at next renewal",
}


def diff_entries(diff: list[DiffEntry], forcing: set[str] | None = None) -> Iterator[Entry]:
    """The field-level differences of a change, one entry per line."""
    for d in diff:
        op, path = d["op"], d["path"]
        effect = EFFECTIVE_NOTES.get(d.get("effective", ""), "")
        if op == "change":
            note = FORCES if forcing and path in forcing else effect
            yield "~", "yellow", escape(f"{path}: {value(d['old'])} -> {value(d['new'])}"), note
        elif op == "add":
            for sub, v in flatten(d["new"], path):
                yield "+", "green", escape(f"{sub}: {value(v)}"), effect
        elif op == "remove" and "item" not in d:
            yield "-", "red", escape(f"{path}: {value(d['old'])}"), effect
        elif op == "insert":
            yield "+", "green", escape(f"{path}: inserted {d['item']} at {d['at']}"), ""
            if isinstance(d.get("new"), dict):  # an add-on: show what it holds
                for sub, v in flatten([d["new"]], path):
                    yield "+", "green", escape(f"{sub}: {value(v)}"), ""
        elif op == "remove":
            yield "-", "red", escape(f"{path}: removed {d['item']} (was at {d['from']})"), ""
        elif op == "move":
            text = f"{path}: moved {d['item']} from {d['from']} to {d['to']}"
            yield "~", "cyan", escape(text), ""


def create_entries(spec: dict[str, Any] | None) -> Iterator[Entry]:
    for text in create_texts(spec):
        yield "+", "green", text, ""


def create_texts(spec: dict[str, Any] | None) -> Iterator[str]:
    """The `path: value` text of each field of a new resource (its id is in its address).
    Every line is escaped: values and keys come from the store and from definitions."""
    for path, v in flatten(spec or {}):
        if path != "id":
            yield escape(f"{path}: {value(v)}")


def diff_lines(
    diff: list[DiffEntry], style: Style, forcing: set[str] | None = None
) -> Iterator[str]:
    for marker, color, text, note in diff_entries(diff, forcing):
        shade = "magenta" if note == FORCES else "cyan"
        yield style(marker, color) + " " + text + (style("  " + note, shade) if note else "")


def deleted_name(change: Change) -> str:
    return name_note(change.get("before"))


def name_note(spec: Any) -> str:
    """`  ("Name")` after an address that is shown without its fields."""
    spec = spec or {}
    name = spec.get("name") or spec.get("title")
    return escape(f"  ({value(name)})") if name else ""


def change_block(change: Change, style: Style, *, brief: bool = False) -> Iterator[str]:
    """A change's lines; `brief`: a create as one line, its address and name."""
    action = change["action"]
    marker, color = MARKERS[action]
    addr = escape(change["address"])
    if action == "create" and brief:
        yield style(f"  {marker} {addr}", color, "bold") + name_note(change["after"])
    elif action == "create":
        yield style(f"  {marker} {addr}", color, "bold")
        lead = f"      {style('+', 'green')} "  # a create's lines are all additions
        for text in create_texts(change["after"]):
            yield lead + text
    elif action == "update":
        yield style(f"  {marker} {addr}", color, "bold") + style(
            f"  (revision {change['revision']})", "dim"
        )
        for line in diff_lines(change["diff"], style):
            yield "      " + line
    elif action == "replace":
        reasons = escape(", ".join(change.get("replace_reasons", [])))
        yield style(f"  {marker} {addr}", color, "bold") + style(
            f"  (replace: {reasons} cannot change in place)", "magenta"
        )
        for line in diff_lines(change["diff"], style, set(change.get("replace_reasons", []))):
            yield "      " + line
    elif action == "delete":
        yield style(f"  {marker} {addr}", color, "bold") + deleted_name(change)


#: the title of the drift section, in every format (SPEC section 6)
DRIFT_TITLE = "Changed outside storecfg since the last apply"
DRIFT_NOTE = (
    "Made in the store by something other than storecfg (the control panel, the API) "
    "since storecfg last wrote it."
)
DRIFT_PLAN_NOTE = (
    "These are not this plan's changes; the changes below show what applying the "
    "definition does to them."
)


def drift_when(item: DriftEntry) -> str:
    revision = item.get("revision")
    at = item.get("changed_at")
    parts = [f"revision {revision}" if revision is not None else "", at or ""]
    return ", ".join(p for p in parts if p) or "when unknown"


def drift_lines(drift: list[DriftEntry], style: Style, *, in_plan: bool = True) -> Iterator[str]:
    """The drift section: what was changed outside storecfg, apart from the changes."""
    if not drift:
        return
    yield style(f"{DRIFT_TITLE} ({len(drift)}):", "cyan", "bold")
    width = min(max(len(d["address"]) for d in drift), 60)
    for d in drift:
        yield escape(f"  {d['address'].ljust(width)}  {d['kind']:<7}  ({drift_when(d)})")
    yield style(f"  {DRIFT_NOTE}", "dim")
    if in_plan:
        yield style(f"  {DRIFT_PLAN_NOTE}", "dim")
    yield ""


TAX_SUMMARY_TITLE = "Tax summary (effective rate per region that changed):"


def tax_summary_lines(plan: Plan) -> list[str]:
    """`CA-QC: 5% -> 14.975% (+9.975 percentage points; rules ca-gst, ca-qc-qst)`, one per
    region (and sales category) whose effective rate the plan changes."""
    out = []
    for entry in plan.get("tax_summary") or []:
        where = entry["region"]
        if entry.get("sales_category"):
            where += f", sales category {entry['sales_category']}"
        rules = entry.get("rules") or []
        made_of = (
            f"rule{'s' if len(rules) != 1 else ''} {', '.join(rules)}"
            if rules
            else "no rule applies"
        )
        out.append(f"{where}: {entry['old']}% -> {entry['new']}% ({entry['change']}; {made_of})")
    return out


def render_plan(plan: Plan, *, color: bool = False) -> str:
    return "".join(line + "\n" for line in plan_lines(plan, color=color))


#: an apply that creates more resources than this lists them without their fields
BRIEF_CREATES_ABOVE = 1000


def brief_creates(plan: Plan) -> bool:
    """Whether an apply shows this plan's creates as one line each: a new store of
    thousands of plans is hundreds of thousands of lines of fields, which no one reads
    in a terminal or a CI log, and which are in the definition anyway."""
    creates = sum(1 for c in plan["changes"] if c["action"] == "create")
    return creates > BRIEF_CREATES_ABOVE


def plan_lines(plan: Plan, *, color: bool = False, brief: bool = False) -> Iterator[str]:
    """The text plan line by line (a big plan is printed as it is rendered). `brief`:
    creates as one line each (address and name), without their fields."""
    style = Style(color)
    store = plan["store"]
    if plan.get("deletion_warning"):
        yield style(escape(str(plan["deletion_warning"])), "red", "bold")
    yield (
        style(f"storecfg plan for store {escape(str(store['id']))}", "bold")
        + escape(f" ({store['url']}, revision {store['revision']})")
    )
    yield ""
    interrupted = plan.get("interrupted_apply")
    if interrupted:
        yield style("Warning:", "yellow", "bold") + " " + escape(str(interrupted["message"]))
        yield ""
    yield from drift_lines(plan.get("drift") or [], style)
    if not plan["has_changes"]:
        yield style("No changes.", "green", "bold") + " The live store matches the definition."
        yield from unmanaged_lines(plan, style, before=True)
        return
    if plan["impact"]:
        yield style("Impact:", "bold")
        for item in plan["impact"]:
            mark = style("!", "red", "bold") if item["risk"] == "high" else style("*", "yellow")
            yield f"  {mark} {escape(str(item['message']))}"
        yield ""
    taxes = tax_summary_lines(plan)
    if taxes:
        yield style(TAX_SUMMARY_TITLE, "bold")
        for line in taxes:
            yield f"  {escape(line)}"
        yield ""
    changes = plan["changes"]
    deletes = [c for c in changes if c["action"] == "delete"]
    if deletes:
        yield style(f"Resources to DELETE ({len(deletes)}):", "red", "bold")
        for change in deletes:
            yield from change_block(change, style)
        yield ""
    settings = plan["settings"]
    body = [c for c in changes if c["action"] in ("create", "update", "replace")]
    if body or settings["action"] != "no-op":
        yield style("Changes:", "bold")
        if settings["action"] == "create":
            yield style("  + store settings", "green", "bold")
            for m, c, text, _ in create_entries(settings["after"]):
                yield f"      {style(m, c)} {text}"
        elif settings["action"] != "no-op":
            yield (
                style("  ~ store settings", "yellow", "bold")
                + style(f"  (revision {settings['revision']})", "dim")
            )
            for line in diff_lines(settings["diff"], style):
                yield "      " + line
        for change in body:
            yield from change_block(change, style, brief=brief)
        briefly = sum(1 for c in body if c["action"] == "create") if brief else 0
        if briefly:
            yield style(
                f"  ({briefly} resources to create are listed without their fields: "
                "`storecfg plan` shows every field.)",
                "dim",
            )
        yield ""
    yield from unmanaged_lines(plan, style)
    yield style(summary_line(plan), "bold")


def unmanaged_lines(plan: Plan, style: Style, *, before: bool = False) -> Iterator[str]:
    """The live resources policy.unmanaged leaves alone, each listed once."""
    items = plan.get("unmanaged") or []
    if not items:
        return
    if before:
        yield ""
    yield style(
        f"Resources not managed here (policy.unmanaged), left as they are ({len(items)}):", "bold"
    )
    for item in items:
        yield f"  = {escape(item['address'])}" + style(f"  ({escape(item['pattern'])})", "dim")
    if not before:
        yield ""


def target_outcome(doc: PlanOrFailure) -> str:
    """One target's result in a line: its summary line, "no changes" or why it failed."""
    if "error" in doc:
        return f"plan failed: {doc['error'].get('message', 'error')}"
    if not doc["has_changes"]:
        return "no changes"
    return summary_line(doc)
