"""The drift section of plans and the `storecfg drift` report, whole: a section of its
own, before the changes, that no reader can take for the definition's own change."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from storecfg.model import DesiredState
from storecfg.views import drift as drift_view
from storecfg.views import markdown, md_drift, text

from .test_render import BASE_STORE, _fixed, live_of, plan_of

DRIFT = [
    {
        "address": "service_plans.pro",
        "kind": "changed",
        "revision": 31,
        "changed_at": "2026-11-21T22:45:00Z",
    },
    {
        "address": "payment_methods.card",
        "kind": "deleted",
        "revision": 35,
        "changed_at": "2026-11-21T22:47:00Z",
    },
    {
        "address": "payment_methods.interac",
        "kind": "created",
        "revision": 33,
        "changed_at": "2026-11-21T22:46:10Z",
    },
]

TEXT_SECTION = """\
Changed outside storecfg since the last apply (3):
  service_plans.pro        changed  (revision 31, 2026-11-21T22:45:00Z)
  payment_methods.card     deleted  (revision 35, 2026-11-21T22:47:00Z)
  payment_methods.interac  created  (revision 33, 2026-11-21T22:46:10Z)
  Made in the store by something other than storecfg (the control panel, the API) since storecfg last wrote it.
  These are not this plan's changes; the changes below show what applying the definition does to them.

"""

MARKDOWN_SECTION = """\
### Changed outside storecfg since the last apply (3)

Made in the store by something other than storecfg (the control panel, the API) since storecfg last wrote it. These are not this plan's changes; the changes below show what applying the definition does to them.

| resource | what happened | revision | when |
|---|---|---:|---|
| **Pro** (`service_plans.pro`) | changed | 31 | 2026-11-21T22:45:00Z |
| `payment_methods.card` | deleted | 35 | 2026-11-21T22:47:00Z |
| `payment_methods.interac` | created | 33 | 2026-11-21T22:46:10Z |

"""


def _plan(with_changes: bool) -> dict[str, Any]:
    store, resources = copy.deepcopy(BASE_STORE["store"]), copy.deepcopy(BASE_STORE["resources"])
    live = live_of(DesiredState(store, copy.deepcopy(resources)))
    if with_changes:
        resources["service_plans"]["pro"]["price"]["recurring"] = "44.00"
    plan = _fixed(plan_of(DesiredState(store, resources), live))
    plan["drift"] = copy.deepcopy(DRIFT)
    return plan


def test_the_text_plan_shows_drift_first_in_its_own_section(tmp_path: Path) -> None:
    rendered = text.render_plan(_plan(with_changes=True))
    head, _, rest = rendered.partition(TEXT_SECTION)
    assert rest, rendered
    assert head == "storecfg plan for store test-store (sqlite:///test.db, revision 100)\n\n"
    assert rest.startswith("Impact:\n")
    assert rest.index("Impact:") < rest.index("Changes:") < rest.index("Plan: ")
    # with no changes, the drift still shows, and so does "No changes."
    rendered = text.render_plan(_plan(with_changes=False))
    assert rendered.endswith(TEXT_SECTION + "No changes. The live store matches the definition.\n")


def test_the_markdown_plan_shows_drift_before_the_summary_outside_the_diff(
    tmp_path: Path,
) -> None:
    rendered = markdown.render_plan(_plan(with_changes=True))
    start = rendered.index(MARKDOWN_SECTION)
    assert 0 < start < rendered.index("**Plan: ") < rendered.index("```diff")
    # the drift names the resource, never the plan's own change to it
    assert "44.00" not in rendered[start : rendered.index("**Plan: ")]
    rendered = markdown.render_plan(_plan(with_changes=False))
    assert rendered.endswith(
        MARKDOWN_SECTION + "**No changes.** The live store matches the definition.\n"
    )


def test_a_long_drift_list_is_cut_in_markdown_and_counted() -> None:
    many = [dict(DRIFT[0], address=f"skus.s{n:03d}") for n in range(120)]
    lines = md_drift.drift_section(many)
    rows = [line for line in lines if line.startswith("| `skus.")]
    assert len(rows) == md_drift.DRIFT_ROWS == 50
    assert "_… and 70 more: `storecfg drift` lists them all._" in "\n".join(lines)


def test_plans_without_drift_render_as_before() -> None:
    plan = _plan(with_changes=True)
    without = {k: v for k, v in plan.items() if k != "drift"}
    assert text.render_plan(without) == text.render_plan({**plan, "drift": []})
    assert "outside storecfg" not in text.render_plan(without)
    assert "outside storecfg" not in markdown.render_plan(without)


def test_the_drift_report() -> None:
    store = {"id": "test-store", "url": "http://127.0.0.1:8700", "revision": 35}
    doc = drift_view.drift_document(store, DRIFT)
    assert doc == {"store": store, "has_drift": True, "drift": DRIFT}
    report = drift_view.render_text(doc)
    assert report == (
        "storecfg drift for store test-store (http://127.0.0.1:8700, revision 35)\n\n"
        + TEXT_SECTION.replace(
            "  These are not this plan's changes; the changes below show what applying the "
            "definition does to them.\n",
            "",
        )
        + "3 resources changed outside storecfg. `storecfg plan` shows what applying the "
        "definition would do to them.\n"
    )
    assert drift_view.render_markdown(doc).startswith(
        "### storecfg drift for `test-store`\n\nStore revision 35.\n\n"
        "#### Changed outside storecfg since the last apply (3)\n"
    )
    empty = drift_view.drift_document(store, [])
    assert drift_view.render_text(empty).endswith(
        "\nNo drift: nothing was changed outside storecfg since the last apply.\n"
    )
    assert drift_view.render_markdown(empty).endswith(
        "**No drift.** Nothing was changed outside storecfg since the last apply.\n"
    )


def test_drift_deleted_by_the_plan_keeps_every_delete_within_the_limit(tmp_path: Path) -> None:
    """1,500 plans with long names created outside storecfg, which the plan deletes: the
    drift table is counted past its rows and every delete is still listed (by ID)."""
    store, resources = copy.deepcopy(BASE_STORE["store"]), copy.deepcopy(BASE_STORE["resources"])
    outside = copy.deepcopy(resources)
    template = outside["service_plans"]["pro"]
    for n in range(1500):
        rid = f"outside-{n:04d}"
        name = f"Microsoft 365 Business Basic for nonprofit organisations, annual, seat {n:04d}"
        outside["service_plans"][rid] = {**copy.deepcopy(template), "id": rid, "name": name}
        outside["service_plans"][rid]["upgrades_to"] = []
    plan = _fixed(plan_of(DesiredState(store, resources), live_of(DesiredState(store, outside))))
    plan["drift"] = [
        {"address": f"service_plans.outside-{n:04d}", "kind": "created", "revision": n,
         "changed_at": None}
        for n in range(1500)
    ]  # fmt: skip
    rendered = markdown.render_plan(plan)
    assert len(rendered.encode("utf-16-le")) // 2 < 65_536
    assert (
        "| **Microsoft 365 Business Basic for nonprofit organisations, annual, seat 0000** ("
        in (rendered)
    )
    deleted = rendered[rendered.index("Deleted (1,500)") :]
    assert all(f"outside-{n:04d}" in deleted for n in range(1500))
    assert "more deletes" not in rendered


def test_the_store_settings_are_not_counted_as_a_resource() -> None:
    assert drift_view.what_changed(["skus.a", "skus.b"]) == "2 resources"
    assert drift_view.what_changed(["settings"]) == "the store settings"
    assert drift_view.what_changed(["settings", "skus.a"]) == "1 resource and the store settings"
    store = {"id": "test-store", "url": "sqlite:///x.db", "revision": 3}
    settings = {"address": "settings", "kind": "changed", "revision": 3, "changed_at": None}
    report = drift_view.render_text(drift_view.drift_document(store, [settings]))
    assert report.splitlines()[-1].startswith("The store settings changed outside storecfg.")
