"""Markdown plans from outside: the `storecfg` CLI on a starter store (`storecfg init`)
applied into the embedded store, then edited, then planned as a pull-request comment."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

LIMIT = 65_536
NAME = "Microsoft 365 Business Basic for nonprofit organisations, annual, seat {:04d}"


def storecfg(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "storecfg", *args],
        cwd=cwd,
        env={**os.environ, "NO_COLOR": "1"},
        capture_output=True,
        text=True,
        timeout=600,
    )


def many_plans(n: int, *, start: int = 0) -> str:
    """`n` unpublished plans with ~75-character names (IDs plan-0000, plan-0001, ...)."""
    lines = ["service_plans:"]
    for i in range(start, start + n):
        lines += [
            f"  - id: plan-{i:04d}",
            f'    name: "{NAME.format(i)}"',
            "    sku: m365-business-basic",
            "    published: false",
            "    subscription_period: {length: 1, unit: year}",
            "    billing_period: {length: 1, unit: month}",
            '    price: {setup: "0.00", recurring: "13.00"}',
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def applied(tmp_path: Path) -> Path:
    """A starter store with 1,500 more plans, applied to the embedded store."""
    assert storecfg("init", "s", cwd=tmp_path).returncode == 0
    (tmp_path / "s" / "catalog" / "many.yaml").write_text(many_plans(1500))
    result = storecfg("apply", "s", "--auto-approve", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path


def markdown(cwd: Path) -> str:
    result = storecfg("plan", "s", "--format", "markdown", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_every_delete_survives_a_long_comment(applied: Path) -> None:
    (applied / "s" / "catalog" / "many.yaml").write_text(many_plans(800))
    out = markdown(applied)
    assert len(out) < LIMIT
    assert "Deleted (700)" in out
    deleted = set(re.findall(r"plan-\d{4}", out.split("Deleted (700)", 1)[1]))
    assert {f"plan-{i:04d}" for i in range(800, 1500)} <= deleted
    assert "more deletes" not in out and "cut to fit" not in out.split("Deleted (700)")[1][:40000]


def test_a_backup_diff_is_not_a_plan_comment(tmp_path: Path) -> None:
    assert storecfg("init", "s", cwd=tmp_path).returncode == 0
    assert storecfg("apply", "s", "--auto-approve", cwd=tmp_path).returncode == 0
    plans = tmp_path / "s" / "catalog" / "plans.yaml"
    plans.write_text(plans.read_text().replace('recurring: "6.00"}', 'recurring: "7.00"}', 1))
    assert storecfg("apply", "s", "--auto-approve", cwd=tmp_path).returncode == 0
    listed = json.loads(storecfg("backup", "list", "--json", cwd=tmp_path).stdout)
    result = storecfg("backup", "diff", listed[0]["id"], "--format", "markdown", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("## storecfg backup diff: ")
    assert "storecfg-plan" not in result.stdout and "storecfg plan:" not in result.stdout
    assert "USD 6.00 → 7.00 per month" in result.stdout


def test_a_new_billing_period_is_no_percentage_between_periods(applied: Path) -> None:
    many = applied / "s" / "catalog" / "many.yaml"
    text = many.read_text()
    head, sep, rest = text.partition("  - id: plan-0001\n")
    head = head.replace(
        "billing_period: {length: 1, unit: month}", "billing_period: {length: 1, unit: year}"
    )
    head = head.replace('recurring: "13.00"', 'recurring: "150.00"')
    many.write_text(head + sep + rest)
    out = markdown(applied)
    assert "1053.8%" not in out and "+1053" not in out
    assert "USD 13.00 per month → USD 150.00 per year" in out
    # 150.00 a year is 12.50 a month: less than 13.00 a month
    decreases = out[out.index("Price decreases") : out.index("Other changes")]
    assert "plan-0000" in decreases
    text_plan = storecfg("plan", "s", cwd=applied).stdout
    assert "1053.8%" not in text_plan and "13.00 per month -> 150.00 per year" in text_plan


def test_identical_field_changes_are_grouped_in_the_details(applied: Path) -> None:
    many = applied / "s" / "catalog" / "many.yaml"
    many.write_text(many.read_text().replace('recurring: "13.00"', 'recurring: "14.00"', 300))
    out = markdown(applied)
    details = out[out.index("<details><summary>Field-level details") :]
    assert details.count("service_plans.plan-") < 20
    assert "300 plans" in details
    assert "and 297 more" in details
