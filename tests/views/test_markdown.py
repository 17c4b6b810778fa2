"""The Markdown plan for a pull request: grouping, order of importance, the size budget,
failed plans, several targets and text that must not turn into Markdown.

Whole outputs are compared with reviewed files in tests/views/testdata/ (regenerate with
`UPDATE_TESTDATA=1 python -m pytest tests/views` and review the diff).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from apply.stores import live_of, plan_of
from storecfg.model import DesiredState
from storecfg.views import markdown, md_text
from views.test_render import _check, _fixed, base_desired

GITHUB_LIMIT = 65_536


def _with_plans(
    base: DesiredState, count: int, prefix: str = "plan", price: str = "20.00"
) -> DesiredState:
    """`base` plus `count` copies of its `pro` plan named Plan 0, Plan 1, ..."""
    out = copy.deepcopy(base)
    template = out.resources["service_plans"]["pro"]
    for n in range(count):
        rid = f"{prefix}-{n:05d}"
        spec = copy.deepcopy(template)
        spec.update({"id": rid, "name": f"Plan {n}", "upgrades_to": []})
        spec["price"]["recurring"] = price
        out.resources["service_plans"][rid] = spec
    return out


def grouped(tmp: Path) -> dict[str, Any]:
    """A price rise of many plans in two steps, two price cuts, a VAT change far below,
    new plans, a delete and plans taken out of sale."""
    live_state = _with_plans(base_desired(tmp), 30)
    live_state.resources["tax_rules"]["vat-no"] = {
        "id": "vat-no",
        "name": "MVA 25 %",
        "region": "NO",
        "rate": "25",
        "inclusive": False,
        "compound": False,
        "priority": 0,
    }
    live = live_of(live_state)
    desired = copy.deepcopy(live_state)
    plans = desired.resources["service_plans"]
    for n in range(12):
        plans[f"plan-{n:05d}"]["price"]["recurring"] = "22.00"  # +10.0%
    for n in range(12, 20):
        plans[f"plan-{n:05d}"]["price"]["recurring"] = "21.00"  # +5.0%
    plans["plan-00020"]["price"]["recurring"] = "18.00"  # -10.0%
    plans["basic"]["resources"][0]["price"]["recurring"] = "4.50"  # add-on -10.0%
    for n in range(21, 29):
        plans[f"plan-{n:05d}"]["published"] = False
    del plans["plan-00029"]
    for n in range(7):
        plans[f"new-{n}"] = {**copy.deepcopy(plans["pro"]), "id": f"new-{n}", "name": f"New {n}"}
        plans[f"new-{n}"]["upgrades_to"] = []
    desired.resources["tax_rules"]["vat-no"]["rate"] = "25.5"
    return _fixed(plan_of(desired, live))


def failed() -> dict[str, Any]:
    return markdown.failure_document(
        store={"id": "contoso-ca"},
        source="stores/contoso",
        message="the store definition has 2 errors",
        diagnostics=[
            {
                "file": "stores/contoso/catalog/plans.yaml",
                "line": 12,
                "column": 10,
                "code": "SC001",
                "severity": "error",
                "address": "service_plans.e3-annual.sku",
                "path": "$.sku",
                "message": "skus.o365-e3x does not exist; did you mean skus.o365-e3?",
            },
            {
                "file": "stores/contoso/tax.yaml",
                "line": 4,
                "column": 20,
                "code": "SC305",
                "severity": "error",
                "address": "tax_rules.gst.rate",
                "path": "$.rate",
                "message": "5 must be a quoted decimal string such as '5'",
            },
            {
                "file": "stores/contoso/catalog/plans.yaml",
                "line": 30,
                "column": 5,
                "code": "SC010",
                "severity": "warning",
                "address": "service_plans.e5-annual",
                "path": "$",
                "message": "published plan is in no sales category",
            },
        ],
    )


def test_grouped_plan_matches_reviewed_output(tmp_path: Path) -> None:
    _check("grouped.md", markdown.render_plan(grouped(tmp_path)))


def test_failed_plan_matches_reviewed_output() -> None:
    _check("failed.md", markdown.render_plan(failed()))


def test_several_targets_match_reviewed_output(tmp_path: Path) -> None:
    ok = grouped(tmp_path)
    ok["store"]["id"] = "contoso-us"
    doc = markdown.render_plans([("us", ok), ("ca", failed())])
    _check("targets.md", doc)


def test_grouping_names_a_handful_and_counts_the_rest(tmp_path: Path) -> None:
    md = markdown.render_plan(grouped(tmp_path))
    assert "**12 plans: recurring price +10.0%**, for example **Plan 0** (`plan-00000`) " in md
    assert "USD 20.00 → 22.00 per month" in md
    assert "and 9 more" in md
    assert "**8 plans: recurring price +5.0%**" in md
    # a group is never listed one by one
    section = md[md.index("Price increases") : md.index("### :new:")]
    assert section.count("\n- ") == 2
    # add-on amounts are per unit and per period
    assert "add-on Users recurring price USD 5.00 → 4.50 per user per month (-10.0%)" in md
    assert "- **MVA 25 %** (`vat-no`): 25% → 25.5% (+0.5 percentage points) in `NO`" in md


def test_sections_come_in_order_of_importance(tmp_path: Path) -> None:
    md = markdown.render_plan(grouped(tmp_path))
    order = [
        "### :x: Deleted",
        "### :receipt: Tax changes",
        "### :arrow_down: Price decreases",
        "### :arrow_up: Price increases",
        "### :new: New",
        "### :pencil2: Other changes",
        "<details><summary>Field-level details",
    ]
    positions = [md.index(title) for title in order]
    assert positions == sorted(positions)
    assert md.startswith("<!-- storecfg-plan: test-store -->\n")


# ------------------------------------------------------------------ the budget


def huge(tmp: Path, plans: int, deletes: int) -> dict[str, Any]:
    """`plans` price rises, each by a different amount (nothing to group), `deletes`
    deleted plans, three price cuts and one tax change, which comes last in the plan."""
    live_state = _with_plans(base_desired(tmp), plans + deletes)
    live = live_of(live_state)
    desired = copy.deepcopy(live_state)
    specs = desired.resources["service_plans"]
    for n in range(plans):
        specs[f"plan-{n:05d}"]["price"]["recurring"] = f"{20 + (n + 1) / 100:.2f}"
        specs[f"plan-{n:05d}"]["description"] = f"Now with more of everything, version {n}"
    for n in range(3):
        specs[f"plan-{n:05d}"]["price"]["recurring"] = "19.00"
    for n in range(plans, plans + deletes):
        del specs[f"plan-{n:05d}"]
    desired.resources["tax_rules"]["us-ca"]["rate"] = "7.75"
    return _fixed(plan_of(desired, live))


def _size(md: str) -> int:
    return len(md.encode("utf-16-le")) // 2


def test_thousands_of_changes_stay_under_githubs_limit_and_keep_what_matters(
    tmp_path: Path,
) -> None:
    plan = huge(tmp_path, plans=5000, deletes=400)
    md = markdown.render_plan(plan, full_plan="The whole plan: the plan file `plan.json`.")
    assert _size(md) < GITHUB_LIMIT
    assert "**Plan: 0 to create, 5001 to update, 400 to delete.**" in md
    # every delete is named, the tax change is there, the price cuts are complete
    for n in range(5000, 5400):
        assert f"**Plan {n}** (`plan-{n:05d}`)" in md
    assert "- `us-ca`: 7.25% → 7.75% (+0.5 percentage points) in `US-CA`" in md
    decreases = md[md.index("Price decreases (3)") : md.index("Price increases")]
    assert decreases.count("\n- ") == 3
    # the cut is in the price rises: what comes after them is not shown at all
    assert "Other changes" not in md and "Field-level details" not in md
    match = re.search(r"_… and ([\d,]+) more price increases, cut to fit", md)
    assert match, md[-1500:]
    shown = md[md.index("Price increases") : match.start()].count("\n- ")
    assert shown + int(match.group(1).replace(",", "")) == 4997
    assert shown > 50
    note = md[md.rindex("**Cut to stay under") :]
    assert "65,536-character" in note
    assert re.search(
        r"[\d,]+ price increases, [\d,]+ other changes and the field-level details", note
    )
    assert note.rstrip().endswith("The whole plan: the plan file `plan.json`.")


@pytest.mark.parametrize("limit", [8_000, 20_000, 40_000])
def test_any_budget_is_kept_with_deletes_and_taxes_whole(tmp_path: Path, limit: int) -> None:
    md = markdown.render_plan(huge(tmp_path, plans=600, deletes=30), max_chars=limit)
    assert _size(md) <= limit
    assert all(f"`plan-{n:05d}`" in md for n in range(600, 630))
    assert "7.25% → 7.75%" in md
    assert "Cut to stay under" in md


def test_deletes_beyond_any_budget_are_counted(tmp_path: Path) -> None:
    """Tens of thousands of deletes cannot all be named in one comment: as many as fit
    are, and the note says how many are not."""
    live = live_of(_with_plans(base_desired(tmp_path), 6000, prefix="old-plan-with-a-long-id"))
    desired = base_desired(tmp_path)
    md = markdown.render_plan(_fixed(plan_of(desired, live)))
    assert _size(md) < GITHUB_LIMIT
    assert "**Plan: 0 to create, 0 to update, 6000 to delete.**" in md
    shown = sum(f"(`old-plan-with-a-long-id-{n:05d}`)" in md for n in range(6000))
    assert 500 < shown < 6000
    assert f"_… and {6000 - shown:,} more deletes, cut to fit" in md
    assert f"{6000 - shown:,} deletes and the field-level details of 6,000 changes" in md


def test_nothing_is_cut_when_it_fits(tmp_path: Path) -> None:
    md = markdown.render_plan(huge(tmp_path, plans=30, deletes=2))
    assert "Cut to stay" not in md and "cut to fit" not in md
    assert md.count("\n! service_plans.plan-") == 30


# ------------------------------------------------------------------ text from the definition


def test_names_cannot_inject_markdown_html_or_mentions(tmp_path: Path) -> None:
    live = live_of(base_desired(tmp_path))
    desired = base_desired(tmp_path)
    pro = desired.resources["service_plans"]["pro"]
    pro["name"] = "Pro <img src=x> **bold** [link](http://x) @octocat :tada:\n# heading -->"
    pro["price"]["recurring"] = "44.00"
    md = markdown.render_plan(_fixed(plan_of(desired, live)))
    line = next(x for x in md.splitlines() if "(`pro`): recurring price" in x)
    for raw in ("<img", "**bold**", "[link]", "@octocat", ":tada:"):
        assert raw not in line.replace("\\<", "").replace("\\[", ""), raw
    assert "\\<img src=x\\>" in line and "\\*\\*bold\\*\\*" in line and "&#64;octocat" in line
    # the line break is shown, not made: no new Markdown block starts inside a name
    assert "\n# heading" not in md and "\\\\n\\# heading" in line
    # outside the code block of field-level details, only the marker ends a comment
    assert md[: md.index("<details>")].count("-->") == 1


def test_control_characters_are_shown_not_sent(tmp_path: Path) -> None:
    live = live_of(base_desired(tmp_path))
    desired = base_desired(tmp_path)
    desired.resources["service_plans"]["pro"]["name"] = "Pro\x1b[31m red\u202e"
    desired.resources["service_plans"]["pro"]["price"]["recurring"] = "44.00"
    md = markdown.render_plan(_fixed(plan_of(desired, live)))
    assert "\x1b" not in md and "\u202e" not in md
    assert "**Pro\\\\x1b\\[31m red\\\\u202e** (`pro`)" in md


def test_a_code_span_outgrows_backticks() -> None:
    assert md_text.code("a`b") == "``a`b``"
    assert md_text.code("`x`") == "`` `x` ``"


def test_a_long_note_on_where_the_plan_is_still_fits(tmp_path: Path) -> None:
    where = "The whole plan: " + ", ".join(f"`plan.target-{n}.json`" for n in range(300))
    md = markdown.render_plan(
        huge(tmp_path, plans=600, deletes=5), max_chars=20_000, full_plan=where
    )
    assert _size(md) <= 20_000
    assert md.rstrip().endswith("`plan.target-299.json`")
