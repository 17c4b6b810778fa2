"""Markdown plans from outside: the `storecfg` CLI on a starter store (`storecfg init`)
applied into the embedded store, then edited, then planned as a pull-request comment."""

from __future__ import annotations

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
