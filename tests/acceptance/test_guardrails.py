"""SPEC section 7 (guardrails for unattended applies), from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from support.server import storecfg

from .conftest import edit


def test_reviewed_plan_differences_are_listed_one_per_line(store_dir: Path) -> None:
    cwd = store_dir.parent
    assert storecfg("apply", "store", "--auto-approve", cwd=cwd).returncode == 0
    plans = store_dir / "catalog" / "plans.yaml"
    edit(plans, 'recurring: "9.90"', 'recurring: "12.00"')
    assert storecfg("plan", "store", "-o", "reviewed.json", cwd=cwd).returncode == 0

    # the definition now changes something else as well, and the reviewed price differently
    edit(plans, 'recurring: "12.00"', 'recurring: "13.00"')
    edit(store_dir / "tax.yaml", 'rate: "19"', 'rate: "20"')
    result = storecfg("apply", "store", "--reviewed", "reviewed.json", cwd=cwd)

    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Error: the changes planned now differ from the reviewed plan")
    assert "(2 differences)" in lines[0]
    # each difference on a line of its own, not run together with a visible "\n"
    assert "\\n" not in result.stderr
    assert any(
        line.strip().startswith("service_plans.mail-pro: update with another result")
        for line in lines[1:]
    ), result.stderr
    assert any(line.strip().startswith("tax_rules.de-vat: update is new") for line in lines[1:]), (
        result.stderr
    )
    # nothing was applied
    again = storecfg("plan", "store", "--json", cwd=cwd)
    changes = {c["address"]: c for c in json.loads(again.stdout)["changes"]}
    assert changes["service_plans.mail-pro"]["before"]["price"]["recurring"] == "9.90"
    assert changes["tax_rules.de-vat"]["before"]["rate"] == "19"
