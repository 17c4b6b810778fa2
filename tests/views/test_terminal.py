"""What commands print around plans: progress, an apply's report, the confirmation,
tables, the validate summary. Exact lines: the output is the product."""

from __future__ import annotations

import pytest

from storecfg.apply.execute import Outcome, Progress
from storecfg.apply.history import SnapshotRef
from storecfg.apply.workflow import ApplyReport
from storecfg.views.apply_report import print_report
from storecfg.views.progress import ApplyProgress
from storecfg.views.prompt import Confirmation
from storecfg.views.tables import table_lines

PLAN = {"store": {"id": "test-store"}, "has_changes": True}


def test_progress_in_a_log_names_each_write(capsys: pytest.CaptureFixture[str]) -> None:
    progress = ApplyProgress()
    progress.tty = False
    progress(Progress("write", "skus.a", "create", 0, 2))
    progress(Progress("done", "skus.a", "create", 1, 2))
    progress(Progress("failed", "skus.b\x1b[2J", "delete", 1, 2, "409 conflict"))
    assert capsys.readouterr().err == ("  created skus.a\n  failed  skus.b\\x1b[2J: 409 conflict\n")


def test_progress_of_a_big_apply_every_ten_percent(capsys: pytest.CaptureFixture[str]) -> None:
    progress = ApplyProgress()
    progress.tty = False
    for done in range(1, 1001):
        progress(Progress("done", f"skus.s{done}", "update", done, 1000))
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "  applied 1/1000 (0%)"
    assert lines[-1] == "  applied 1000/1000 (100%)"
    assert len(lines) == 11


def test_a_complete_apply_names_its_backup(capsys: pytest.CaptureFixture[str]) -> None:
    outcome = Outcome(
        snapshot=SnapshotRef("20261121T224500Z-r42", True),
        succeeded=[("skus.a", "create"), ("skus.b", "update"), ("skus.c", "replace")],
    )
    assert print_report(ApplyReport(PLAN, outcome), color=False)
    assert capsys.readouterr().out == (
        "\nApply complete: 1 created, 1 updated, 0 deleted, 1 replaced.\n"
        "Backup of the store before this apply: 20261121T224500Z-r42 "
        "(storecfg backup restore 20261121T224500Z-r42)\n"
    )


def test_a_failed_apply_says_what_is_left(capsys: pytest.CaptureFixture[str]) -> None:
    outcome = Outcome(
        succeeded=[("skus.a", "create")],
        failed=[("skus.b", "update", "412 changed since the plan")],
        not_attempted=[(f"skus.n{i}", "create") for i in range(12)],
    )
    assert not print_report(ApplyReport(PLAN, outcome, notes=["history unavailable"]), False)
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "Warning: history unavailable",
        "",
        "Apply failed.",
        "  succeeded:     1",
        "  failed:        skus.b (update): 412 changed since the plan",
        "  not attempted: 12 (" + ", ".join(f"skus.n{i}" for i in range(10)) + " and 2 more)",
        "  Run `storecfg plan` to see what is left; applying again continues from here.",
    ]


def test_a_cancelled_apply(capsys: pytest.CaptureFixture[str]) -> None:
    assert not print_report(ApplyReport(PLAN, cancelled=True), color=False)
    assert capsys.readouterr().err == "\nApply cancelled; nothing was changed.\n"


def test_only_yes_approves(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = {**PLAN, "has_changes": False, "changes": [], "summary": {}}
    shown: list[object] = []
    monkeypatch.setattr("storecfg.views.prompt.print_plan", lambda *a, **_: shown.append(a))
    answers = iter(["yes ", "y"])
    monkeypatch.setattr("builtins.input", lambda _: next(answers))
    ask = Confirmation(color=False, auto_approve=False, what=" (target us)")
    assert ask(plan) and not ask(plan)
    assert len(shown) == 2
    assert "apply these changes to store test-store (target us)?" in capsys.readouterr().out
    assert Confirmation(color=False, auto_approve=True)(plan)
    assert capsys.readouterr().out == ""


def test_tables_pad_columns_and_cut_trailing_space() -> None:
    rows = [("ID", "NAME", "X"), ("a-long-id", "n", ""), ("b", "longer name", "y")]
    assert list(table_lines(rows)) == [
        "ID         NAME         X",
        "a-long-id  n",
        "b          longer name  y",
    ]
