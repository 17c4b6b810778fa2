"""`storecfg adopt` output: one line per drifted resource, the diff, a summary."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import click

from ..escape import escape

_SHOWN = 40
_CHANGES_SHOWN = 3


def _value(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def _change(change: dict[str, Any]) -> str:
    op, path = change["op"], change["path"] or ""
    where = f" (in {change['variable']})" if change.get("variable") else ""
    if op == "change":
        return f"{path} {_value(change['old'])} -> {_value(change['new'])}{where}"
    if op == "add":
        return f"{path} set to {_value(change['new'])}{where}"
    if op == "remove":
        return f"{path} removed{where}"
    if op == "insert" and path:
        return f"{path} gained {_value(change['new'])}{where}"
    if op == "insert":
        return f"added to {change['file']}"
    return f"taken out of {change['file']}"


def _place(item: dict[str, Any]) -> str:
    return f"{item['file']}:{item['line']}: " if item.get("file") else ""


def report_lines(doc: dict[str, Any]) -> Iterator[str]:
    """The report: a line per resource (FILE:LINE first where there is one)."""
    for item in doc["resources"]:
        head = f"{_place(item)}{item['status']} {item['address']} ({item['drift']})"
        if item["status"] == "adopted":
            changes = [_change(c) for c in item["changes"]]
            shown = "; ".join(changes[:_CHANGES_SHOWN])
            more = len(changes) - _CHANGES_SHOWN
            if more > 0:
                shown += f"; and {more} more"
            yield escape(f"{head}: {shown}")
        elif item["status"] == "left alone":
            yield escape(f"{head}: cannot be adopted safely: {item['reason']}")
        else:
            yield escape(f"{head}: {item['reason']}")
    yield summary(doc)


def summary(doc: dict[str, Any]) -> str:
    adopted, left = doc["adopted"], doc["left_alone"]
    files = len(doc["files"])
    if not doc["resources"]:
        return "Nothing to adopt: nothing was changed outside storecfg."
    parts = []
    if adopted:
        verb = "Would adopt" if doc["dry_run"] else "Adopted"
        parts.append(
            f"{verb} {adopted} resource{'s' if adopted != 1 else ''} "
            f"into {files} file{'s' if files != 1 else ''}"
        )
    else:
        parts.append("Nothing adopted")
    if left:
        parts.append(f"{left} left alone (edit {'them' if left != 1 else 'it'} by hand)")
    text = "; ".join(parts) + "."
    if doc["dry_run"] and adopted:
        text += " Dry run: no file was written."
    elif adopted:
        text += " Run `storecfg plan` to check: the adopted resources show no changes."
    return text


def render_json(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def print_adopted(doc: dict[str, Any], diff: str, *, as_json: bool, dry_run: bool) -> None:
    """The report; under --dry-run the diff alone is on standard output (so it can be
    saved and applied as a patch) and the report goes to standard error."""
    if as_json:
        if dry_run:
            doc["diff"] = diff
        click.echo(render_json(doc), nl=False)
        return
    if dry_run:
        click.echo(diff, nl=False)
    for line in report_lines(doc):
        click.echo(line, err=dry_run)


__all__ = ["print_adopted", "render_json", "report_lines", "summary"]
