"""Plans as Markdown for a pull-request comment.

A summary table, the risky changes first (deletes, prices, taxes), the details in a
collapsed <details> block as a ```diff (GitHub colors `+` green, `-` red and `!`
orange), and never more than MAX_CHARS characters: when the notes or the details do
not fit, they are cut at a line or change boundary with a note saying so.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..escape import escape
from .text import (
    TAX_SUMMARY_TITLE,
    Entry,
    create_entries,
    deleted_name,
    diff_entries,
    summary_line,
    tax_summary_lines,
)

MAX_CHARS = 60_000
#: room kept for the notes that say what was cut
_RESERVE = 600
#: the diff marker in the first column, per change action and per detail marker
_ACTION_MARK = {"create": "+", "update": "!", "delete": "-", "replace": "-/+"}
_DETAIL_MARK = {"+": "+", "-": "-", "~": "!"}


def render_plan(plan: dict[str, Any], *, max_chars: int = MAX_CHARS) -> str:
    store = plan["store"]
    head: list[str] = [
        *(
            [_deletion_warning(plan["deletion_warning"]), ""]
            if plan.get("deletion_warning")
            else []
        ),
        f"### storecfg plan for `{store['id']}`",
        "",
        f"Store revision {store['revision']}"
        + (f", definition `{plan['source']}`" if plan.get("source") else "")
        + ".",
        "",
    ]
    interrupted = plan.get("interrupted_apply")
    if interrupted:
        head += [f"> [!WARNING]\n> {_escape(interrupted['message'])}", ""]
    if not plan["has_changes"]:
        head.append("**No changes.** The live store matches the definition.")
        head += _unmanaged(plan)
        return escape("\n".join(head) + "\n", keep_newlines=True)
    s = plan["summary"]
    head += [f"**{summary_line(plan)}**", "", "| action | resources |", "|---|---:|"]
    for action in ("delete", "replace", "create", "update"):
        if s[action]:
            head.append(f"| {action} | {s[action]} |")
    if plan["settings"]["action"] != "no-op":
        head.append(
            f"| store settings | {'set' if plan['settings']['action'] == 'create' else 'update'} |"
        )
    head.append("")
    # the notes may take at most half the room; the details get the rest
    notes_budget = (max_chars - len("\n".join(head))) // 2
    risky = [i for i in plan["impact"] if i["risk"] == "high"]
    other = [i for i in plan["impact"] if i["risk"] != "high"]
    for title, items in (
        ("#### :warning: Risky changes", risky),
        ("#### Other notable changes", other),
    ):
        if not items:
            continue
        bullets = [f"- {_escape(i['message'])}" for i in items]
        shown = _fit(bullets, notes_budget // (2 if risky and other else 1))
        head += [title, "", *shown]
        if len(shown) < len(bullets):
            head.append(f"- _… and {len(bullets) - len(shown)} more (see the JSON plan)_")
        head.append("")
    taxes = tax_summary_lines(plan)
    if taxes:  # never cut: a tax change is what a reviewer must see
        head += [
            f"#### {TAX_SUMMARY_TITLE.rstrip(':')}",
            "",
            *(f"- {_escape(t)}" for t in taxes),
            "",
        ]
    head += _unmanaged(plan)
    text = "\n".join(head)

    blocks = _blocks(plan)
    fence = _fence(blocks)
    noun = "change" if len(blocks) == 1 else "changes"
    opening = f"<details><summary>Details ({len(blocks)} {noun})</summary>\n\n{fence}diff\n"
    closing = f"{fence}\n\n</details>\n"
    budget = max_chars - len(text) - len(opening) - len(closing) - _RESERVE - 1
    shown_blocks = _fit(blocks, budget)
    body = opening + "".join(b + "\n" for b in shown_blocks) + closing
    hidden = len(blocks) - len(shown_blocks)
    if hidden:
        body += (
            f"\n**Cut to stay under {max_chars:,} characters: {hidden} of {len(blocks)} "
            f"{noun} {'is' if hidden == 1 else 'are'} not shown above.** "
            "Run `storecfg plan --format json` (or `--format text`) for the whole plan.\n"
        )
    return escape(text + "\n" + body, keep_newlines=True)


def _deletion_warning(text: str) -> str:
    """`**:warning: This plan deletes every ...**`: one line, the first of the comment."""
    text = text.removeprefix("Warning: ")
    return f"**:warning: {_escape(text[:1].upper() + text[1:])}**"


#: unmanaged resources named one by one in a comment; the rest are counted
MAX_UNMANAGED = 50


def _unmanaged(plan: dict[str, Any]) -> list[str]:
    """The live resources policy.unmanaged leaves alone, each listed once."""
    items = plan.get("unmanaged") or []
    if not items:
        return []
    lines = [f"<details><summary>Not managed here (policy.unmanaged): {len(items)}</summary>", ""]
    lines += [f"- `{i['address']}` ({_escape(i['pattern'])})" for i in items[:MAX_UNMANAGED]]
    if len(items) > MAX_UNMANAGED:
        lines.append(f"- _… and {len(items) - MAX_UNMANAGED} more (see the JSON plan)_")
    return [*lines, "", "</details>", ""]


def _blocks(plan: dict[str, Any]) -> list[str]:
    """One text block per change, in the order the text view shows them."""
    changes = [c for c in plan["changes"] if c["action"] != "no-op"]
    blocks = ["\n".join(_change_lines(c)) for c in changes if c["action"] == "delete"]
    settings = plan["settings"]
    if settings["action"] == "create":
        lines = ["+ store settings", *_details(create_entries(settings["after"]))]
        blocks.append("\n".join(lines))
    elif settings["action"] != "no-op":
        lines = ["! store settings", *_details(diff_entries(settings["diff"]))]
        blocks.append("\n".join(lines))
    blocks += ["\n".join(_change_lines(c)) for c in changes if c["action"] != "delete"]
    return blocks


def _change_lines(change: dict[str, Any]) -> Iterator[str]:
    action, addr = change["action"], change["address"]
    mark = _ACTION_MARK[action]
    if action == "create":
        yield f"{mark} {addr}"
        yield from _details(create_entries(change["after"]))
    elif action == "update":
        yield f"{mark} {addr}"
        yield from _details(diff_entries(change["diff"]))
    elif action == "replace":
        reasons = change.get("replace_reasons", [])
        yield f"{mark} {addr}  (replace: {', '.join(reasons)} cannot change in place)"
        yield from _details(diff_entries(change["diff"], set(reasons)))
    elif action == "delete":
        yield f"{mark} {addr}{deleted_name(change)}"


def _details(entries: Iterator[Entry]) -> Iterator[str]:
    for marker, _, text, note in entries:
        yield f"{_DETAIL_MARK[marker]}     {text}" + (f"  {note}" if note else "")


def _fit(items: list[str], budget: int) -> list[str]:
    """The leading items whose lines (with newlines) fit in `budget` characters."""
    out: list[str] = []
    used = 0
    for item in items:
        used += len(item) + 1
        if used > budget:
            break
        out.append(item)
    return out


def _fence(blocks: list[str]) -> str:
    """A code fence longer than any run of backticks in the content."""
    longest = 0
    for block in blocks:
        run = 0
        for ch in block:
            run = run + 1 if ch == "`" else 0
            longest = max(longest, run)
    return "`" * max(3, longest + 1)


def _escape(text: str) -> str:
    """Keep a message from being read as Markdown emphasis, code or HTML.

    (Underscores inside words, as in `service_plans`, are literal on GitHub.)
    """
    text = escape(text)
    for ch in "\\`*~":
        text = text.replace(ch, "\\" + ch)
    return text.replace("<", "&lt;")
