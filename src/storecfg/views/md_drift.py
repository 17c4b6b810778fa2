"""The drift section of a Markdown plan and of the `storecfg drift` report: what was
changed outside storecfg, by name with the address beside it, as a table that a long
list never makes longer than DRIFT_ROWS rows in a comment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..apply.plandoc import DriftEntry
from .md_fit import ALWAYS, Block, Item
from .md_text import named, text
from .text import DRIFT_NOTE, DRIFT_PLAN_NOTE, DRIFT_TITLE

#: drift rows shown in a comment; the rest are counted
DRIFT_ROWS = 50


def drift_parts(
    drift: Sequence[Mapping[str, Any]],
    level: str = "####",
    *,
    in_plan: bool = True,
    names: Mapping[str, Any] | None = None,
) -> tuple[list[str], list[str]]:
    """The drift section: its heading and note (with the table's header), and one table
    row per drifted resource (by its name, from `names` by address, with the address
    beside it)."""
    note = f"{DRIFT_NOTE} {DRIFT_PLAN_NOTE}" if in_plan else DRIFT_NOTE
    head = [
        f"{level} {DRIFT_TITLE} ({len(drift):,})",
        "",
        text(note),
        "",
        "| resource | what happened | revision | when |",
        "|---|---|---:|---|",
    ]
    names = names or {}
    rows = [
        f"| {named(names.get(d['address']), d['address'])} | {text(d['kind'])} | "
        f"{'' if d.get('revision') is None else int(d['revision'])} | "
        f"{text(d.get('changed_at') or '')} |"
        for d in drift
    ]
    return head, rows


def resource_names(plan: Mapping[str, Any]) -> dict[str, Any]:
    """address -> name of every resource a plan compares (live or defined)."""
    return {c["address"]: c.get("name") for c in plan.get("changes") or [] if c.get("name")}


def drift_section(
    drift: list[dict[str, Any]],
    rows: int = DRIFT_ROWS,
    *,
    in_plan: bool = True,
    names: Mapping[str, Any] | None = None,
) -> list[str]:
    """The drift section as lines, at most `rows` rows (the rest are counted); resources
    by their name in `names` (by address) where they have one."""
    if not drift:
        return []
    head, lines = drift_parts(drift, in_plan=in_plan, names=names)
    more = (
        ["", f"_… and {len(drift) - rows:,} more: `storecfg drift` lists them all._"]
        if len(drift) > rows
        else []
    )
    return [*head, *lines[:rows], *more, ""]


def drift_blocks(drift: list[DriftEntry], level: str, names: Mapping[str, Any]) -> list[Block]:
    """Drift in a comment: never cut (it is what a reviewer must not take for the pull
    request's change), and so at most DRIFT_ROWS rows."""
    if not drift:
        return []
    head, rows = drift_parts(drift, level, names=names)
    items = [Item(row) for row in rows[:DRIFT_ROWS]]
    tail = []
    if len(rows) > DRIFT_ROWS:
        tail = ["", f"_… and {len(rows) - DRIFT_ROWS:,} more: `storecfg drift` lists them all._"]
    return [Block(ALWAYS, head, items, tail, noun="changes")]
