"""Plans as Markdown for a pull-request comment.

A summary table, the risky changes first (deletes, prices, taxes), the details in a
collapsed <details> block as a diff, and never more than MAX_CHARS characters: when
the details do not fit, they are cut at a change boundary with a note saying so.
"""

from __future__ import annotations

from typing import Any

from .text import Style, change_block, diff_lines, summary_line

MAX_CHARS = 60_000
_STYLE = Style(False)


def render_plan(plan: dict[str, Any], *, max_chars: int = MAX_CHARS) -> str:
    store = plan["store"]
    head: list[str] = [f"### storecfg plan for `{store['id']}`", ""]
    interrupted = plan.get("interrupted_apply")
    if interrupted:
        head += [f"> [!WARNING]\n> {interrupted['message']}", ""]
    if not plan["has_changes"]:
        head.append("**No changes.** The live store matches the definition.")
        return "\n".join(head) + "\n"
    s = plan["summary"]
    head += [f"**{summary_line(plan)}**", "", "| action | resources |", "|---|---:|"]
    for action, label in (
        ("create", "create"),
        ("update", "update"),
        ("replace", "replace"),
        ("delete", "delete"),
    ):
        if s[action]:
            head.append(f"| {label} | {s[action]} |")
    if plan["settings"]["action"] != "no-op":
        head.append("| store settings | update |")
    head.append("")
    risky = [i for i in plan["impact"] if i["risk"] == "high"]
    other = [i for i in plan["impact"] if i["risk"] != "high"]
    if risky:
        head += ["#### :warning: Risky changes", ""]
        head += [f"- {_escape(i['message'])}" for i in risky]
        head.append("")
    if other:
        head += ["#### Other notable changes", ""]
        head += [f"- {_escape(i['message'])}" for i in other]
        head.append("")
    text = "\n".join(head)
    blocks: list[str] = []
    settings = plan["settings"]
    if settings["action"] != "no-op":
        blocks.append(
            "\n".join(
                [
                    "  ~ store settings",
                    *("      " + ln for ln in diff_lines(settings["diff"], _STYLE)),
                ]
            )
        )
    changes = [c for c in plan["changes"] if c["action"] != "no-op"]
    blocks += ["\n".join(change_block(c, _STYLE)) for c in changes]
    opening = f"<details><summary>Details ({len(blocks)} change{'s' if len(blocks) != 1 else ''})</summary>\n\n```diff\n"
    closing = "```\n\n</details>\n"
    budget = max_chars - len(text) - len(opening) - len(closing) - 400
    shown: list[str] = []
    used = 0
    for block in blocks:
        diffed = _as_diff(block)
        if used + len(diffed) + 1 > budget:
            break
        shown.append(diffed)
        used += len(diffed) + 1
    body = opening + "\n".join(shown) + ("\n" if shown else "") + closing
    if len(shown) < len(blocks):
        hidden = len(blocks) - len(shown)
        body += (
            f"\n_Output cut to stay under {max_chars:,} characters: {hidden} more change"
            f"{'s are' if hidden != 1 else ' is'} not shown. Run `storecfg plan --format json` for the full plan._\n"
        )
    return text + "\n" + body


def _as_diff(block: str) -> str:
    """Put +/-/~ in the first column so GitHub colors the lines."""
    lines = []
    for line in block.splitlines():
        stripped = line.lstrip()
        marker = stripped[:1] if stripped[:1] in "+-~" else " "
        prefix = {"~": "!"}.get(marker, marker)
        lines.append(prefix + line[1:] if line.startswith(" ") else prefix + " " + line)
    return "\n".join(lines)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;")
