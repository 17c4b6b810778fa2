"""Fitting a pull-request comment under GitHub's limit: blocks of lines in tiers of
importance, shown whole or cut at an item, lower tiers only when every higher one is
complete, and a note that says what was cut and where the whole plan is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .md_text import plural

#: GitHub's limit for a comment, in characters (UTF-16 code units)
GITHUB_LIMIT = 65_536
#: what a comment is kept under, with room to spare for a CI job's own additions
MAX_CHARS = 65_000
#: room kept for the notes that say what was cut
_RESERVE = 1_500


def size(s: str) -> int:
    """Length as GitHub counts it (UTF-16 code units)."""
    return len(s) + sum(1 for ch in s if ord(ch) > 0xFFFF)


ALWAYS, DECREASES, REST, DETAILS = 0, 1, 2, 3


# ------------------------------------------------------------------ blocks


@dataclass
class Item:
    """One bullet (or one detail block) and how many changes it stands for."""

    text: str
    count: int = 1


@dataclass
class Block:
    """A run of lines of one target: a heading and items, shown whole or cut at an item."""

    tier: int
    head: list[str] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)
    tail: list[str] = field(default_factory=list)
    #: what its items are, for the notes on what was cut ("price increases")
    noun: str = ""
    #: shown even without items (titles, summaries)
    fixed: bool = False
    shown: int = 0

    def head_text(self) -> str:
        return "".join(line + "\n" for line in self.head)

    def tail_text(self) -> str:
        return "".join(line + "\n" for line in self.tail)

    def render(self) -> str:
        if not self.fixed and not self.shown:
            return ""
        out = self.head_text() + "".join(i.text + "\n" for i in self.items[: self.shown])
        out += self.tail_text()
        hidden = sum(i.count for i in self.items[self.shown :])
        if hidden and self.shown:
            out += (
                f"\n_… and {hidden:,} more {self.noun_one() if hidden == 1 else self.noun}, cut to fit "
                "(see the note at the end)._\n"
            )
        return out.rstrip("\n") + "\n\n"

    def noun_one(self) -> str:
        return _ONE.get(self.noun, self.noun)


_ONE = {
    "price decreases": "price decrease",
    "price increases": "price increase",
    "changes": "change",
    "new resources": "new resource",
    "other changes": "other change",
    "warnings": "warning",
    "errors": "error",
    "deletes": "delete",
    "resources not managed here": "resource not managed here",
}


def fit(blocks: list[Block], max_chars: int, full_plan: str | None) -> str:
    """The document within `max_chars`; the room kept for the notes on what was cut
    grows until they fit (it is enough at once unless `full_plan` is very long)."""
    reserve = _RESERVE
    while True:
        for b in blocks:
            b.shown = 0
        out = _choose(blocks, max_chars, full_plan, reserve)
        if size(out) <= max_chars or reserve >= max_chars:
            return out
        reserve *= 2


def _choose(blocks: list[Block], max_chars: int, full_plan: str | None, reserve: int) -> str:
    """Choose what is shown: every ALWAYS block whole, then each lower tier in turn,
    item by item, until the budget runs out; nothing of a tier after the first cut."""
    for b in blocks:
        if b.tier == ALWAYS:
            b.shown = len(b.items)
    budget = max_chars - reserve - sum(size(b.render()) for b in blocks if b.tier == ALWAYS)
    if budget < 0:
        _squeeze(blocks, max_chars - reserve)
        budget = 0
    cut = False
    for tier in (DECREASES, REST, DETAILS):
        for b in blocks:
            if b.tier != tier:
                continue
            for item in b.items:
                cost = size(item.text) + 1
                if not b.shown:
                    cost += size(b.head_text()) + size(b.tail_text()) + 1
                if cut or cost > budget:
                    cut = True
                    break
                budget -= cost
                b.shown += 1
    out = "".join(b.render() for b in blocks)
    hidden = _hidden(blocks)
    if hidden:
        where = full_plan or "Run `storecfg plan --format text` for the whole plan."
        out = out.rstrip("\n") + (
            f"\n\n---\n\n**Cut to stay under GitHub's {GITHUB_LIMIT:,}-character comment limit:** "
            f"{hidden} not shown. Everything above the cut is complete: the summary, every "
            f"delete, every tax change and every section before it. {where}\n"
        )
    return out.rstrip("\n") + "\n"


def _squeeze(blocks: list[Block], budget: int) -> None:
    """The always-shown part alone is too long (tens of thousands of deletes): keep
    items from the top while they fit in `budget`; the rest is counted in the note."""
    for b in blocks:
        if b.tier != ALWAYS:
            continue
        head = size(b.head_text()) + size(b.tail_text()) + 1
        if b.fixed or not b.items:
            budget -= head
            continue
        shown = 0
        cost = head
        for item in b.items:
            extra = size(item.text) + 1
            if cost + extra > budget:
                break
            cost += extra
            shown += 1
        if shown == 0 and b.items:
            # a single item too long for what is left: keep its start
            room = max(budget - head - 200, 0)
            b.items[0] = Item(b.items[0].text[:room] + " …", b.items[0].count)
            shown = 1 if room else 0
        b.shown = shown
        budget -= cost


def _hidden(blocks: list[Block]) -> str:
    """What was cut, by kind of content: "412 price increases and the field-level details"."""
    counts: dict[str, int] = {}
    details = 0
    for b in blocks:
        n = sum(i.count for i in b.items[b.shown :])
        if not n:
            continue
        if b.tier == DETAILS:
            details += n
        else:
            counts[b.noun] = counts.get(b.noun, 0) + n
    parts = [plural(n, _ONE.get(noun, noun), noun) for noun, n in counts.items()]
    if details:
        parts.append(f"the field-level details of {plural(details, 'change')}")
    if not parts:
        return ""
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
