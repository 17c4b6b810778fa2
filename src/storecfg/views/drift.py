"""`storecfg drift` output: the drift section of a plan on its own, in each format."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import click

from ..apply.plandoc import DriftEntry
from ..escape import escape
from ..store.records import SETTINGS_DRIFT
from .md_drift import drift_section
from .md_text import code as md_code
from .md_text import text as md_text
from .text import DRIFT_TITLE, Style, drift_lines

#: rows of a Markdown drift report (about 40,000 characters); the rest are counted
MAX_ROWS = 500
NO_DRIFT = "No drift: nothing was changed outside storecfg since the last apply."


def drift_document(store: dict[str, Any], drift: list[DriftEntry]) -> dict[str, Any]:
    return {"store": store, "has_drift": bool(drift), "drift": drift}


def render_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def what_changed(addresses: list[str]) -> str:
    """`2 resources`, `the store settings` or `1 resource and the store settings`: the
    settings are not a resource, whatever list they are in."""
    n = sum(1 for a in addresses if a != SETTINGS_DRIFT)
    parts = [f"{n} resource{'s' if n != 1 else ''}"] if n else []
    if SETTINGS_DRIFT in addresses:
        parts.append("the store settings")
    return " and ".join(parts)


def render_text(doc: dict[str, Any], *, color: bool = False) -> str:
    style = Style(color)
    store = doc["store"]
    # values are escaped before they are coloured: the colour codes are meant
    lines = [
        style(escape(f"storecfg drift for store {store['id']}"), "bold")
        + escape(f" ({store['url']}, revision {store['revision']})"),
        "",
    ]
    if doc["drift"]:
        lines += list(drift_lines(doc["drift"], style, in_plan=False))
        changed = what_changed([d["address"] for d in doc["drift"]])
        lines.append(
            f"{changed[0].upper()}{changed[1:]} changed outside storecfg. `storecfg plan` shows "
            "what applying the definition would do to them."
        )
    else:
        lines.append(style(NO_DRIFT, "green"))
    return "\n".join(lines) + "\n"


def render_markdown(doc: dict[str, Any], names: Mapping[str, Any] | None = None) -> str:
    """The report as Markdown: drifted resources by the name in `names` (by address, as
    the definition gives it) with the address beside it, or by the address alone."""
    store = doc["store"]
    lines = [
        f"### storecfg drift for {md_code(store['id'])}",
        "",
        f"Store revision {store['revision']}.",
        "",
    ]
    if doc["drift"]:
        lines += drift_section(doc["drift"], rows=MAX_ROWS, in_plan=False, names=names)
    else:
        lines.append(f"**No drift.** {NO_DRIFT.removeprefix('No drift: ').capitalize()}")
    return escape("\n".join(lines) + "\n", keep_newlines=True)


def render_targets_json(docs: list[tuple[str | None, dict[str, Any]]]) -> str:
    """Several targets' drift as one document."""
    targets = [
        {"target": name, "error": doc["error"]} if "error" in doc else {"target": name, **doc}
        for name, doc in docs
    ]
    combined = {
        "targets": targets,
        "has_drift": any(doc.get("has_drift") for _, doc in docs),
        "failed": [name for name, doc in docs if "error" in doc],
    }
    return render_json(combined)


def render_target_markdown(
    name: str, doc: dict[str, Any], names: Mapping[str, Any] | None = None
) -> str:
    """One target's section of a Markdown drift report of several targets."""
    if "error" in doc:
        return f"## Target {md_code(name)}\n\n**Failed:** {md_text(doc['error'])}\n\n"
    return f"## Target {md_code(name)}\n\n" + render_markdown(doc, names) + "\n"


def print_drift(
    docs: Sequence[tuple[str | None, dict[str, Any]]],
    fmt: str,
    color: bool,
    names: Mapping[str | None, Mapping[str, Any]] | None = None,
) -> None:
    """The drift of one run: one store, or several targets (a failed one says so where
    its drift would be; its error is already on standard error). `names` holds, per
    target, the names of its drifted resources, which only Markdown shows."""
    names = names or {}
    if len(docs) == 1:
        target, doc = docs[0]
        if fmt == "json":
            click.echo(render_json(doc), nl=False)
        elif fmt == "markdown":
            click.echo(render_markdown(doc, names.get(target)), nl=False)
        else:
            click.echo(render_text(doc, color=color), nl=False)
    elif fmt == "json":
        click.echo(render_targets_json(list(docs)), nl=False)
    else:
        for name, doc in docs:
            if fmt == "markdown":
                click.echo(render_target_markdown(str(name), doc, names.get(name)), nl=False)
            elif "error" in doc:
                click.echo(f"=== target {name} ===\n\nfailed (the error is above)\n")
            else:
                click.echo(f"=== target {name} ===\n")
                click.echo(render_text(doc, color=color))


__all__ = [
    "DRIFT_TITLE",
    "drift_document",
    "print_drift",
    "render_json",
    "render_markdown",
    "render_target_markdown",
    "render_targets_json",
    "render_text",
]
