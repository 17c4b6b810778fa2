"""SPEC section 7 (guardrails for unattended applies), from the command line."""

from __future__ import annotations

import json
from pathlib import Path

from support.server import Server, storecfg

from .conftest import edit, write_store


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


def test_unmanaged_live_resources_are_listed_once_as_not_managed_here(
    tmp_path: Path, server: Server
) -> None:
    store = write_store(tmp_path / "store", "unmanaged-check")
    env = server.env("unmanaged-check")
    assert storecfg("apply", "store", "--auto-approve", cwd=tmp_path, env=env).returncode == 0
    with server.client("unmanaged-check") as client:
        made = client.put(
            "/v1/stores/unmanaged-check/payment_methods/interac-ca",
            json={"spec": {"id": "interac-ca", "type": "debit_card", "regions": ["CA"]}},
            headers={"If-None-Match": "*"},
        )
        assert made.status_code == 201, made.text
    with (store / "store.yaml").open("a") as f:
        f.write("policy:\n  unmanaged: [payment_methods.interac-*]\n")

    for fmt in ("text", "markdown"):
        shown = storecfg("plan", "store", "--format", fmt, cwd=tmp_path, env=env)
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.count("not managed here") == 1, shown.stdout
        assert shown.stdout.count("interac-ca") == 1, shown.stdout
    plan = json.loads(storecfg("plan", "store", "--json", cwd=tmp_path, env=env).stdout)
    assert [u["address"] for u in plan["unmanaged"]] == ["payment_methods.interac-ca"]
    assert all(c["address"] != "payment_methods.interac-ca" for c in plan["changes"])
    assert plan["has_changes"] is False

    applied = storecfg("apply", "store", "--auto-approve", cwd=tmp_path, env=env)
    assert applied.returncode == 0, applied.stderr
    with server.client("unmanaged-check") as client:
        kept = client.get("/v1/stores/unmanaged-check/payment_methods/interac-ca")
        assert kept.status_code == 200
