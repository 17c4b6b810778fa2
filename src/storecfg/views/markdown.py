"""Plans as Markdown for a pull-request comment, written for the store manager who approves it.

What it shows, in this order of importance (and cut in the reverse order):

0. always: the hidden marker line, the summary, the errors of a plan that failed, and
   every delete, replace, tax change and store settings change;
1. price decreases;
2. the rest: price increases, new resources, other changes, warnings;
3. the field-level details (a collapsed ```diff block).

Resources are named by their name with the ID beside it, amounts carry the store's
currency and the period they are charged per, and identical changes are grouped
(`333 plans: recurring price +10.0%`). The whole comment stays under GitHub's limit of
65,536 characters: a lower tier is shown only when every higher one is complete, and
what is cut says how much and where the whole plan is. Several targets make one
document: one summary, then a section per target.

Escaping and wording live in md_text.py, the length budget in md_fit.py. Rendered only
from plan documents (and failure documents, for plans that could not be
made): nothing here reads the store or the definition.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ..apply.plandoc import Change, DriftEntry, Plan, PlanFailure, PlanOrFailure
from .md_fit import ALWAYS, DECREASES, DETAILS, MAX_CHARS, REST, Block, Item, fit
from .md_text import (
    amount,
    clean,
    code,
    comment_safe,
    fact,
    fee_words,
    is_decrease,
    is_price_path,
    kind_word,
    named,
    pct_text,
    per_words,
    period_words,
    plural,
    text,
)
from .text import (
    DRIFT_NOTE,
    DRIFT_PLAN_NOTE,
    DRIFT_TITLE,
    TAX_SUMMARY_TITLE,
    Entry,
    create_entries,
    diff_entries,
    summary_line,
    tax_summary_lines,
)

#: identical changes beyond this many are one line, never one line each
HANDFUL = 5
#: names shown as examples in a grouped line
_EXAMPLES = 3
#: errors of a failed plan shown in full; the rest are counted
_MAX_ERRORS = 50

_ACTION_MARK = {"create": "+", "update": "!", "delete": "-", "replace": "-/+"}
_DETAIL_MARK = {"+": "+", "-": "-", "~": "!"}


# ------------------------------------------------------------------ one plan


def _names(members: list[tuple[Any, str]], limit: int | None) -> str:
    shown = members if limit is None else members[:limit]
    out = ", ".join(named(n, r) for n, r in shown)
    if limit is not None and len(members) > limit:
        out += f" and {len(members) - limit:,} more"
    return out


def _deletes(changes: list[Change]) -> list[Item]:
    by_kind: dict[str, list[Change]] = {}
    for c in changes:
        by_kind.setdefault(c["kind"], []).append(c)
    items = []
    for kind, group in by_kind.items():
        if len(group) <= HANDFUL:
            items += [Item(f"- {kind_word(kind)} {named(c.get('name'), c['id'])}") for c in group]
        else:
            items += _all_named(f"**{len(group):,} {kind_word(kind, 2)}**", group)
    return items


#: names per line in a group that names every member
_PER_LINE = 40


def _all_named(title: str, group: list[Change]) -> list[Item]:
    """One bullet naming every member, in lines of a few dozen names (so that a group
    too long for any comment is cut at a line, and the cut counts what it hides)."""
    members = [named(c.get("name"), c["id"]) for c in sorted(group, key=lambda c: c["id"])]
    lines = []
    for start in range(0, len(members), _PER_LINE):
        chunk = members[start : start + _PER_LINE]
        last = start + _PER_LINE >= len(members)
        body = ", ".join(chunk) + ("" if last else ",")
        lines.append(Item(f"- {title}: {body}" if start == 0 else f"  {body}", len(chunk)))
    return lines


def _replaces(changes: list[Change]) -> list[Item]:
    groups: dict[tuple[str, tuple[str, ...]], list[Change]] = {}
    for c in changes:
        groups.setdefault((c["kind"], tuple(c.get("replace_reasons") or [])), []).append(c)
    items = []
    for (kind, reasons), group in groups.items():
        why = ", ".join(code(r) for r in reasons)
        because = f" because {why} cannot change in place" if why else ""
        if len(group) <= HANDFUL:
            for c in group:
                facts = "; ".join(fact(d) for d in c.get("diff") or [] if d["path"] in reasons)
                items.append(
                    Item(
                        f"- {kind_word(kind)} {named(c.get('name'), c['id'])}: deleted and created "
                        f"again{because}" + (f" ({facts})" if facts else "")
                    )
                )
        else:
            title = f"**{len(group):,} {kind_word(kind, 2)}** deleted and created again{because}"
            items += _all_named(title, group)
    return items


def _tax(plan: Plan) -> list[Item]:
    rates = {i["address"]: i for i in plan.get("impact") or [] if i.get("type") == "tax_rate"}
    entries: list[tuple[Any, Any, str, str]] = []  # (key, name, id, words)
    for c in plan["changes"]:
        if c["kind"] != "tax_rules" or c["action"] == "no-op":
            continue
        spec = c.get("after") or c.get("before") or {}
        region = code(spec.get("region")) if spec.get("region") else ""
        name, rid = c.get("name"), c["id"]
        if c["action"] == "create":
            words = f"new: {spec.get('rate')}% in {region}"
            key: Any = ("create", spec.get("rate"))
        elif c["action"] == "delete":
            words = f"removed: {spec.get('rate')}% in {region} is no longer charged"
            key = ("delete", spec.get("rate"))
        else:
            parts = []
            rate = rates.get(c["address"])
            if rate:
                points = f" ({rate.get('change')})" if rate.get("change") else ""
                parts.append(f"{rate.get('old')}% → {rate.get('new')}%{points} in {region}")
            rest = [d for d in c.get("diff") or [] if d["path"] != "rate"]
            parts += [fact(d) for d in rest]
            if c["action"] == "replace":
                parts.append("deleted and created again")
            words = "; ".join(parts) or "changed"
            key = (
                "update",
                rate.get("old") if rate else None,
                rate.get("new") if rate else None,
                tuple(fact(d) for d in rest),
            )
        entries.append((key, name, rid, words))
    groups: dict[Any, list[tuple[Any, str, str]]] = {}
    for key, name, rid, words in entries:
        groups.setdefault(key, []).append((name, rid, words))
    items = []
    for key, group in groups.items():
        if len(group) <= HANDFUL or (key[0] == "update" and key[1] is None):
            items += [Item(f"- {named(n, r)}: {w}") for n, r, w in group]
            continue
        what = {"create": "new", "delete": "removed"}.get(key[0])
        if what is None:
            first = group[0][2].split(" in ", 1)[0]
            what = first
        elif key[1] is not None:
            what = f"{what}, {key[1]}%"
        members = [(n, r) for n, r, _ in group]
        items.append(
            Item(f"- **{len(group):,} tax rules: {what}**: {_names(members, None)}", len(group))
        )
    return items


def _settings(plan: Mapping[str, Any]) -> list[Item]:
    settings = plan.get("settings") or {}
    if settings.get("action") in (None, "no-op"):
        return []
    if settings.get("action") == "create":
        return [Item("- The store settings are set for the first time (name, currency, locales).")]
    notes = {
        i["type"]: i
        for i in plan.get("impact") or []
        if i.get("type") in ("currency", "tax_display")
    }
    items = []
    for d in settings.get("diff") or []:
        line = f"- {fact(d)}"
        if d["path"] == "currency" and "currency" in notes:
            line += ": **every price is read in the new currency**"
        if d["path"] == "prices_include_tax" and "tax_display" in notes:
            line += f": {text(notes['tax_display']['message'])}"
        items.append(Item(line))
    return items


def _prices(plan: Mapping[str, Any], decreases: bool) -> list[Item]:
    prices = [
        i
        for i in plan.get("impact") or []
        if i.get("type") == "price" and is_decrease(i) == decreases
    ]
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for i in prices:
        addon = i.get("addon") if isinstance(i.get("addon"), dict) else {}
        key = (
            addon.get("id"),
            addon.get("name"),
            i.get("fee"),
            i.get("change"),
            i.get("effective"),
        )
        groups.setdefault(key, []).append(i)
    items = []
    for group in groups.values():
        first = group[0]
        pct = pct_text(first.get("change"))
        if len(group) <= HANDFUL:
            for i in group:
                rid = str(i["address"]).partition(".")[2]
                per = per_words(i)
                items.append(
                    Item(
                        f"- {named(i.get('name'), rid)}: {fee_words(i)} "
                        f"{amount(i.get('currency'), i['old'])} → {i['new']}"
                        + (f" {per}" if per else "")
                        + (f" ({pct})" if pct else "")
                        + _effective(i)
                    )
                )
            continue
        examples = []
        for i in group[:_EXAMPLES]:
            rid = str(i["address"]).partition(".")[2]
            per = per_words(i)
            examples.append(
                f"{named(i.get('name'), rid)} {amount(i.get('currency'), i['old'])} → {i['new']}"
                + (f" {per}" if per else "")
            )
        more = f" and {len(group) - _EXAMPLES:,} more" if len(group) > _EXAMPLES else ""
        items.append(
            Item(
                f"- **{len(group):,} plans: {fee_words(first)} {pct}**, for example "
                + ", ".join(examples)
                + more
                + _effective(first),
                len(group),
            )
        )
    return items


#: when a price change reaches existing subscriptions (service_plans[].price.effective)
_EFFECTIVE = {
    "immediately": "takes effect immediately",
    "next_renewal": "takes effect at each subscription's next renewal",
}


def _effective(item: Mapping[str, Any]) -> str:
    words = _EFFECTIVE.get(str(item.get("effective")))
    return f", {words}" if words else ""


def _creates(changes: list[Change], currency: Any) -> list[Item]:
    by_kind: dict[str, list[Change]] = {}
    for c in changes:
        by_kind.setdefault(c["kind"], []).append(c)
    items = []
    for kind, group in by_kind.items():
        if len(group) <= HANDFUL:
            for c in group:
                line = f"- new {kind_word(kind)} {named(c.get('name'), c['id'])}"
                after = c.get("after") or {}
                price = after.get("price") if kind == "service_plans" else None
                if isinstance(price, dict) and price.get("recurring") is not None:
                    per = period_words(after.get("billing_period"))
                    line += f": {amount(currency, price['recurring'])}" + (
                        f" per {per}" if per else ""
                    )
                    if after.get("published") is False:
                        line += " (not published)"
                items.append(Item(line))
        else:
            members = [(c.get("name"), c["id"]) for c in group]
            items.append(
                Item(
                    f"- **{len(group):,} new {kind_word(kind, 2)}**: {_names(members, HANDFUL)}",
                    len(group),
                )
            )
    return items


def _others(changes: list[Change]) -> list[Item]:
    """Updates other than prices and taxes, resources with the same changes together."""
    groups: dict[tuple[str, tuple[str, ...]], list[Change]] = {}
    for c in changes:
        facts = tuple(
            fact(d) for d in c.get("diff") or [] if not is_price_path(c["kind"], d["path"])
        )
        if facts:
            groups.setdefault((c["kind"], facts), []).append(c)
    items = []
    for (kind, facts), group in groups.items():
        what = "; ".join(facts)
        if kind == "service_plans" and "`published` `true` → `false`" in facts:
            what += " (customers can no longer buy it)"
        if len(group) <= HANDFUL:
            items += [
                Item(f"- {kind_word(kind)} {named(c.get('name'), c['id'])}: {what}") for c in group
            ]
        else:
            members = [(c.get("name"), c["id"]) for c in group]
            items.append(
                Item(
                    f"- **{len(group):,} {kind_word(kind, 2)}**: {what}: {_names(members, _EXAMPLES)}",
                    len(group),
                )
            )
    return items


def _diagnostic(d: dict[str, Any]) -> str:
    where = f"{d.get('file')}:{d.get('line')}:{d.get('column')}"
    address = f" {code(d['address'])}" if d.get("address") not in (None, "", "-") else ""
    return f"- {code(where)} {d.get('code')}{address}: {text(d.get('message', ''))}"


def _detail_blocks(plan: Mapping[str, Any]) -> list[Item]:
    """The field-level changes, one text block per change, deletes first."""
    changes = [c for c in plan["changes"] if c["action"] != "no-op"]
    blocks = [_detail(c) for c in changes if c["action"] == "delete"]
    settings = plan.get("settings") or {}
    if settings.get("action") == "create":
        blocks.append("\n".join(["+ store settings", *_details(create_entries(settings["after"]))]))
    elif settings.get("action") not in (None, "no-op"):
        blocks.append("\n".join(["! store settings", *_details(diff_entries(settings["diff"]))]))
    blocks += [_detail(c) for c in changes if c["action"] != "delete"]
    return [Item(b) for b in blocks]


def _detail(change: Change) -> str:
    action, addr = change["action"], change["address"]
    name = change.get("name")
    label = f"{_ACTION_MARK[action]} {addr}" + (f"  ({clean(str(name))})" if name else "")
    lines = [label]
    if action == "create":
        lines += _details(create_entries(change["after"]))
    elif action == "update":
        lines += _details(diff_entries(change["diff"]))
    elif action == "replace":
        reasons = change.get("replace_reasons", [])
        lines[0] += f"  (replace: {', '.join(reasons)} cannot change in place)"
        lines += _details(diff_entries(change["diff"], set(reasons)))
    return "\n".join(lines)


def _details(entries: Iterator[Entry]) -> list[str]:
    return [
        f"{_DETAIL_MARK[marker]}     {clean(line)}" + (f"  {note}" if note else "")
        for marker, _, line, note in entries
    ]


def _fence(items: Sequence[Item]) -> str:
    longest = max((len(r) for i in items for r in re.findall(r"`+", i.text)), default=0)
    return "`" * max(3, longest + 1)


def store_title(store: Mapping[str, Any]) -> str:
    sid = store.get("id")
    if store.get("name") and sid:
        return f"{text(store['name'])} ({code(sid)})"
    return code(sid) if sid else "an unknown store"


def _plan_blocks(plan: Plan, level: str) -> list[Block]:
    """The blocks of one target's plan; `level` is the heading level of its sections."""
    store = plan["store"]
    blocks: list[Block] = []
    facts = [
        f"Store {code(store['id'])} at revision {store.get('revision')}",
        f"definition {code(plan['source'])}" if plan.get("source") else "",
        f"amounts in {text(store['currency'])}" if store.get("currency") else "",
    ]
    head = [" · ".join(f for f in facts if f) + "."]
    interrupted = plan.get("interrupted_apply")
    if interrupted:
        head += ["", f"> [!WARNING]\n> {text(interrupted.get('message', ''))}"]
    drift = _drift(plan.get("drift") or [], level)
    if drift:  # its own section, before anything about the plan's own changes
        blocks += [Block(ALWAYS, head, fixed=True), *drift]
        head = []
    if not plan["has_changes"]:
        head += [*([""] if head else []), "**No changes.** The live store matches the definition."]
        return [*blocks, Block(ALWAYS, head, fixed=True), *_unmanaged(plan)]
    head += [*([""] if head else []), f"**{summary_line(plan)}**"]
    s = plan["summary"]
    rows = [("deleted", s["delete"]), ("deleted and created again", s["replace"]),
            ("new", s["create"]), ("changed", s["update"])]  # fmt: skip
    head += ["", "| resources | count |", "|---|---:|"]
    head += [f"| {label} | {n:,} |" for label, n in rows if n]
    blocks.append(Block(ALWAYS, head, fixed=True))

    changes = [c for c in plan["changes"] if c["action"] != "no-op"]
    currency = store.get("currency")

    def section(tier: int, title: str, items: list[Item], noun: str) -> None:
        if items:
            total = sum(i.count for i in items)
            heading = f"{level} {title} ({total:,})"
            blocks.append(Block(tier, [heading, ""], items, noun=noun))

    section(ALWAYS, ":warning: Store settings", _settings(plan), "changes")
    section(
        ALWAYS,
        ":x: Deleted",
        _deletes([c for c in changes if c["action"] == "delete"]),
        "deletes",
    )
    section(
        ALWAYS,
        ":recycle: Deleted and created again",
        _replaces([c for c in changes if c["action"] == "replace"]),
        "changes",
    )
    section(ALWAYS, ":receipt: Tax changes", _tax(plan), "changes")
    taxes = tax_summary_lines(plan)
    if taxes:  # never cut: the rate a customer pays where it changed
        title = TAX_SUMMARY_TITLE.rstrip(":")
        blocks.append(
            Block(
                ALWAYS,
                [f"{level} {title}", ""],
                [Item(f"- {text(t.replace(' -> ', ' → '))}") for t in taxes],
            )
        )
    section(DECREASES, ":arrow_down: Price decreases", _prices(plan, True), "price decreases")
    section(REST, ":arrow_up: Price increases", _prices(plan, False), "price increases")
    creates = [c for c in changes if c["action"] == "create" and c["kind"] != "tax_rules"]
    section(REST, ":new: New", _creates(creates, currency), "new resources")
    updates = [c for c in changes if c["action"] == "update" and c["kind"] != "tax_rules"]
    section(REST, ":pencil2: Other changes", _others(updates), "other changes")
    warnings = plan.get("warnings") or []
    section(REST, "Warnings", [Item(_diagnostic(w)) for w in warnings], "warnings")
    blocks += _unmanaged(plan)
    details = _detail_blocks(plan)
    if details:
        fence = _fence(details)
        noun = "change" if len(details) == 1 else "changes"
        blocks.append(
            Block(
                DETAILS,
                [
                    f"<details><summary>Field-level details ({len(details):,} {noun})</summary>",
                    "",
                    f"{fence}diff",
                ],
                details,
                [fence, "", "</details>"],
                noun="changes",
            )
        )
    return blocks


#: drift rows shown in a comment; the rest are counted
DRIFT_ROWS = 50


def drift_parts(
    drift: Sequence[Mapping[str, Any]], level: str = "####", *, in_plan: bool = True
) -> tuple[list[str], list[str]]:
    """The drift section: its heading and note (with the table's header), and one table
    row per drifted resource."""
    note = f"{DRIFT_NOTE} {DRIFT_PLAN_NOTE}" if in_plan else DRIFT_NOTE
    head = [
        f"{level} {DRIFT_TITLE} ({len(drift):,})",
        "",
        text(note),
        "",
        "| resource | what happened | revision | when |",
        "|---|---|---:|---|",
    ]
    rows = [
        f"| {code(d['address'])} | {text(d['kind'])} | "
        f"{'' if d.get('revision') is None else int(d['revision'])} | "
        f"{text(d.get('changed_at') or '')} |"
        for d in drift
    ]
    return head, rows


def drift_section(
    drift: list[dict[str, Any]], rows: int = DRIFT_ROWS, *, in_plan: bool = True
) -> list[str]:
    """The drift section as lines, at most `rows` rows (the rest are counted)."""
    if not drift:
        return []
    head, lines = drift_parts(drift, in_plan=in_plan)
    more = (
        ["", f"_… and {len(drift) - rows:,} more: `storecfg drift` lists them all._"]
        if len(drift) > rows
        else []
    )
    return [*head, *lines[:rows], *more, ""]


def _drift(drift: list[DriftEntry], level: str) -> list[Block]:
    """Drift in a comment: never cut (it is what a reviewer must not take for the pull
    request's change), and so at most DRIFT_ROWS rows."""
    if not drift:
        return []
    head, rows = drift_parts(drift, level)
    items = [Item(row) for row in rows[:DRIFT_ROWS]]
    tail = []
    if len(rows) > DRIFT_ROWS:
        tail = ["", f"_… and {len(rows) - DRIFT_ROWS:,} more: `storecfg drift` lists them all._"]
    return [Block(ALWAYS, head, items, tail, noun="changes")]


def _unmanaged(plan: Mapping[str, Any]) -> list[Block]:
    """The live resources policy.unmanaged leaves alone, each listed once (collapsed)."""
    items = plan.get("unmanaged") or []
    if not items:
        return []
    return [
        Block(
            REST,
            [
                f"<details><summary>Resources not managed here (policy.unmanaged): {len(items):,}</summary>",
                "",
            ],
            [Item(f"- {code(i['address'])} ({text(i.get('pattern', ''))})") for i in items],
            ["", "</details>"],
            noun="resources not managed here",
        )
    ]


def deletion_warning(text_: str) -> str:
    """`**:warning: This plan deletes every ...**`: one line, the first of the comment."""
    body = text_.removeprefix("Warning: ")
    return f"**:warning: {text(body[:1].upper() + body[1:])}**"


def _failure_blocks(doc: Mapping[str, Any]) -> list[Block]:
    error = doc.get("error") or {}
    head = [
        "> [!CAUTION]",
        f"> **The plan failed: {text(error.get('message', 'error'))}.** Nothing can be applied "
        "until this is fixed.",
    ]
    if error.get("hint"):
        head.append(f"> {text(error['hint'])}")
    if doc.get("source"):
        head += ["", f"Definition {code(doc['source'])}."]
    blocks = [Block(ALWAYS, head, fixed=True)]
    diagnostics = error.get("diagnostics") or []
    errors = [d for d in diagnostics if d.get("severity") != "warning"]
    warnings = [d for d in diagnostics if d.get("severity") == "warning"]
    if errors:
        shown = [Item(_diagnostic(d)) for d in errors[:_MAX_ERRORS]]
        hidden = len(errors) - len(shown)
        if hidden:
            shown.append(
                Item(
                    f"- _… and {hidden:,} more: `storecfg validate` lists them all._",
                    hidden,
                )
            )
        blocks.append(Block(ALWAYS, [f"Errors ({len(errors):,}):", ""], shown, noun="errors"))
    if warnings:
        blocks.append(
            Block(
                REST,
                [f"Warnings ({len(warnings):,}):", ""],
                [Item(_diagnostic(d)) for d in warnings],
                noun="warnings",
            )
        )
    return blocks


def _outcome(doc: PlanOrFailure) -> str:
    if "error" in doc:
        diagnostics = doc["error"].get("diagnostics") or []
        n = sum(1 for d in diagnostics if d.get("severity") != "warning")
        return ":x: plan failed" + (f" ({plural(n, 'error')})" if n else "")
    if not doc.get("has_changes"):
        return "no changes"
    return summary_line(doc).removeprefix("Plan: ").rstrip(".")


# ------------------------------------------------------------------ the document


def render_plan(
    plan: PlanOrFailure, *, max_chars: int = MAX_CHARS, full_plan: str | None = None
) -> str:
    """One plan (or failure document) as a pull-request comment."""
    return render_plans([(None, plan)], max_chars=max_chars, full_plan=full_plan)


def render_plans(
    docs: Sequence[tuple[str | None, PlanOrFailure]],
    *,
    max_chars: int = MAX_CHARS,
    full_plan: str | None = None,
) -> str:
    """Plans of several targets (name, plan or failure document) as one comment.

    `full_plan` says, in Markdown, where the whole plan is (a plan file, a CI run); it is
    named when something had to be cut.
    """
    multi = len(docs) > 1
    markers = [
        f"<!-- storecfg-plan: {comment_safe(str(doc.get('store', {}).get('id') or name or 'unknown'))} -->"
        for name, doc in docs
    ]
    # a plan that deletes a whole kind or file says so in the first line (one per target)
    warnings = []
    for name, doc in docs:
        if "error" not in doc and doc.get("deletion_warning"):
            line = str(doc["deletion_warning"])
            if multi:
                line = f"Target {name}: " + line.removeprefix("Warning: ")
            warnings.append(deletion_warning(line))
    blocks: list[Block] = [Block(ALWAYS, warnings, fixed=True)] if warnings else []
    if multi:
        title = [*dict.fromkeys(markers), f"## storecfg plan: {plural(len(docs), 'target')}", ""]
        title += ["| target | store | plan |", "|---|---|---|"]
        for name, doc in docs:
            title.append(
                f"| {code(name)} | {store_title(doc.get('store') or {})} | {_outcome(doc)} |"
            )
        failed = sum(1 for _, d in docs if "error" in d)
        changed = sum(1 for _, d in docs if "error" not in d and d.get("has_changes"))
        title += [
            "",
            f"**{plural(changed, 'target')} with changes"
            + (f", {failed:,} failed" if failed else "")
            + ".**",
        ]
        blocks.append(Block(ALWAYS, title, fixed=True))
        for name, doc in docs:
            heading = f"### Target {code(name)}: {store_title(doc.get('store') or {})}"
            blocks.append(Block(ALWAYS, ["---", "", heading], fixed=True))
            blocks += _failure_blocks(doc) if "error" in doc else _plan_blocks(doc, "####")
    else:
        doc = docs[0][1]
        heading = f"## storecfg plan: {store_title(doc.get('store') or {})}"
        blocks.append(Block(ALWAYS, [markers[0], heading], fixed=True))
        blocks += _failure_blocks(doc) if "error" in doc else _plan_blocks(doc, "###")
    return fit(blocks, max_chars, full_plan)


def failure_document(
    *,
    store: dict[str, Any],
    source: str | None,
    message: str,
    hint: str | None = None,
    diagnostics: list[dict[str, Any]] | None = None,
) -> PlanFailure:
    """The document of a plan that could not be made (rendered instead of a plan)."""
    return {
        "store": store,
        "source": source,
        "error": {"message": message, "hint": hint, "diagnostics": diagnostics or []},
    }
