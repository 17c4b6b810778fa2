"""export writes a definition that reads back as the same store, and never overwrites by surprise."""

from __future__ import annotations

from pathlib import Path

from storecfg.compiler.compile import compile_store
from storecfg.store.driver import open_store
from support.server import storecfg

from .samples import sku

STORE = "tricky"


def test_exported_values_read_back_as_written(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    driver = open_store(url)
    awkward = {
        "NO": "NO",
        "yes": "yes",
        "octal": "0755",
        "clock": "22:22",
        "braces": "{{ vars.x }}",
        "endraw": "Use {{ name }} or {% endraw %} literally",
        "null": "null",
        "number": "12",
        "float": "1.50",
        "multi": "line one\nline two",
    }
    for rid, name in awkward.items():
        driver.put(STORE, "skus", rid.lower(), sku(name=name, vendor=name), create=True)
    driver.close()
    out = tmp_path / "out"
    result = storecfg("export", "--store-id", STORE, "-o", str(out), "--store", url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    compiled = compile_store(out)
    assert compiled.ok, [d.format() for d in compiled.diagnostics]
    assert compiled.desired is not None
    names = {rid: spec["name"] for rid, spec in compiled.desired.resources["skus"].items()}
    assert names == {rid.lower(): name for rid, name in awkward.items()}
    plan = storecfg("plan", str(out), "--store", url, "--detailed-exitcode", cwd=tmp_path)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    again = storecfg("export", "--store-id", STORE, "-o", str(out), "--store", url, cwd=tmp_path)
    assert again.returncode == 1
    assert "already holds a store.yaml; use --force" in again.stderr
    forced = storecfg(
        "export", "--store-id", STORE, "-o", str(out), "--store", url, "--force", cwd=tmp_path
    )
    assert forced.returncode == 0, forced.stderr


def test_export_round_trips_scenario_scope_order_fields_and_tax_stacking(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    driver = open_store(url)
    patterns = [r"[a-z0-9-]+\.onmicrosoft\.com", r"^\d{3}-{{x}}$", "yes", "a{%b"]
    resources = [
        ("skus", "ic", sku(name="Impossible Cloud")),
        (
            "service_plans",
            "ic-monthly",
            {
                "name": "Storage",
                "sku": "ic",
                "subscription_period": {"length": 1, "unit": "year"},
                "billing_period": {"length": 1, "unit": "month"},
                "price": {"recurring": "7", "effective": "next_renewal"},
                "order_fields": [
                    {"id": f"f{i}", "label": "Field", "type": "text", "pattern": p}
                    for i, p in enumerate(patterns)
                ]
                + [{"id": "csp", "label": "Authorize", "type": "checkbox", "required": True}],
                "rules": {
                    "max_quantity_per_order": 1,
                    "early_termination": {"fee": "fixed", "amount": "25"},
                },
            },
        ),
        ("sales_categories", "storage", {"name": "S", "type": "services", "plans": ["ic-monthly"]}),
        (
            "terms",
            "ic-terms",
            {
                "title": "IC terms",
                "version": "1",
                "url": "https://example.com/ic",
                "applies_to": {"sales_categories": ["storage"], "plans": ["ic-monthly"]},
            },
        ),
        ("screens", "accept", {"type": "terms", "title": "Terms", "terms": ["ic-terms"]}),
        ("screens", "pay", {"type": "payment", "title": "Pay"}),
        ("screens", "done", {"type": "checkout", "title": "Done"}),
        ("purchase_scenarios", "main", {"screens": ["pay", "done"]}),
        (
            "purchase_scenarios",
            "storage-order",
            {"screens": ["accept", "pay", "done"], "applies_to": {"sales_categories": ["storage"]}},
        ),
        ("tax_rules", "ca-gst", {"region": "CA", "rate": "5"}),
        ("tax_rules", "ca-qc-qst", {"region": "CA-QC", "rate": "9.975", "stacks": True}),
        (
            "payment_methods",
            "ach",
            {
                "type": "ach",
                "regions": ["US"],
                "eligibility": {"payment_terms": ["net30"], "customer_types": ["business"]},
            },
        ),
    ]
    for kind, rid, spec in resources:
        driver.put(STORE, kind, rid, spec, create=True)
    driver.close()
    out = tmp_path / "out"
    result = storecfg("export", "--store-id", STORE, "-o", str(out), "--store", url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    compiled = compile_store(out)
    assert compiled.diagnostics == [], [d.format() for d in compiled.diagnostics]
    assert compiled.desired is not None
    plan = compiled.desired.resources["service_plans"]["ic-monthly"]
    assert [f.get("pattern") for f in plan["order_fields"]] == [*patterns, None]
    assert plan["rules"]["early_termination"] == {"fee": "fixed", "amount": "25.00"}
    assert compiled.desired.resources["tax_rules"]["ca-qc-qst"]["stacks"] is True
    again = storecfg("plan", str(out), "--store", url, "--detailed-exitcode", cwd=tmp_path)
    assert again.returncode == 0, again.stdout + again.stderr
