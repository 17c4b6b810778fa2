"""Loading and validating grows linearly with the store: a guard against quadratic steps.

Not a timing target: a store four times larger may take at most six times longer
(CPU time, best of two runs, so a busy machine does not make the test flaky).
"""

from __future__ import annotations

import gc
import time
from pathlib import Path

from storecfg.compiler.compile import compile_store
from storecfg.compiler.result import CompileResult

from .conftest import Store

N = 500
N_ERRORS = 200
PER_FILE = 100


def generate(root: Path, plans: int) -> None:
    """A valid store with `plans` plans spread over files, using every kind of reference,
    anchors, merge keys and templates."""
    store = Store(root)
    store.write(
        "store.yaml",
        "apiVersion: storecfg/v1\n"
        "store: {id: scale, name: Scale, currency: USD}\n"
        'include: ["catalog/*.yaml", "storefront.yaml", "tax.yaml"]\n'
        "vars: {markup: '1.15'}\n",
    )
    groups = plans // 10
    for start in range(0, plans, PER_FILE):
        lines = ["skus:"]
        for g in range(start // 10, (start + PER_FILE) // 10):
            lines.append(
                f"  - {{id: sku-{g}, name: SKU {g}, vendor: Contoso, source: distributor}}"
            )
        lines += [
            "resource_categories:" if start == 0 else "",
            "  - {id: seats, name: Seats}" if start == 0 else "",
            "service_plans:",
        ]
        for i in range(start, start + PER_FILE):
            upgrade = f"[plan-{i + 1}]" if i % 10 != 9 else "[]"
            templated = f"('{i}.5' | decimal * vars.markup | decimal) | money"
            price = (
                f'{{recurring: "{{{{ {templated} }}}}"}}'
                if i % 10 == 0
                else f'{{setup: "1", recurring: "{i}.25"}}'
            )
            lines += [
                f"  - id: plan-{i}",
                f"    name: Plan {i}",
                f"    sku: sku-{i // 10}",
                "    subscription_period: &year {length: 1, unit: year}"
                if i == start
                else "    subscription_period: *year",
                "    billing_period: {length: 1, unit: month}",
                f"    price: {price}",
                f"    upgrades_to: {upgrade}",
                "    resources:",
                "      - &users {id: users, name: Users, unit: user, included: 1, min: 1, "
                'max: 300, price: {recurring: "4"}, category: seats}',
                "      - {<<: *users, id: admins, name: Admins}",
            ]
        store.write(f"catalog/plans-{start // PER_FILE:03d}.yaml", "\n".join(lines) + "\n")
    lines = ["sales_categories:", "  - {id: all, name: All, type: services, plans: []}"]
    for g in range(groups):
        members = ", ".join(f"plan-{i}" for i in range(g * 10, g * 10 + 10))
        lines.append(
            f"  - {{id: cat-{g}, name: Group {g}, type: services, parent: all, "
            f"position: {g}, plans: [{members}]}}"
        )
    lines += [
        "  - {id: extras, name: Extras, type: addons, plans: []}",
        "screens:",
        "  - {id: choose, type: sales_categories, title: Choose, categories: [all]}",
        "  - {id: more, type: addons, title: More, categories: [extras]}",
        "  - {id: pay, type: payment, title: Pay}",
        "  - {id: done, type: checkout, title: Done}",
        "purchase_scenarios:",
        "  - {id: standard, screens: [choose, more, pay, done], default: true}",
    ]
    store.write("storefront.yaml", "\n".join(lines) + "\n")
    lines = ["tax_rules:"]
    for g in range(groups):
        lines.append(
            f"  - {{id: tax-{g}, region: US-CA, rate: '1.5', priority: {g % 1000}, "
            f"applies_to: {{sales_categories: [cat-{g}]}}}}"
        )
    store.write("tax.yaml", "\n".join(lines) + "\n")


def best_time(root: Path, runs: int = 2) -> tuple[float, CompileResult]:
    best, result = float("inf"), None
    for _ in range(runs):
        gc.collect()
        gc.disable()  # a full collection landing in one run but not the other is noise
        try:
            started = time.process_time()  # CPU time: other processes' load does not count
            result = compile_store(root)
            best = min(best, time.process_time() - started)
        finally:
            gc.enable()
    assert result is not None
    return best, result


def test_compile_time_grows_linearly(tmp_path: Path) -> None:
    for name, plans in (("small", N), ("large", 4 * N)):
        generate(tmp_path / name, plans)
    timings = []
    for name, plans in (("small", N), ("large", 4 * N)):
        seconds, result = best_time(tmp_path / name)
        assert [d.format() for d in result.diagnostics] == []
        assert result.desired is not None
        assert len(result.desired.resources["service_plans"]) == plans
        timings.append(seconds)
    # linear is 4x; a quadratic step would be 16x. 8 leaves room for cache effects.
    assert timings[1] / timings[0] < 8, f"{N} plans: {timings[0]:.3f}s, {4 * N}: {timings[1]:.3f}s"


def test_many_errors_stay_linear(tmp_path: Path) -> None:
    # every plan is broken: half miss a field, half refer to a missing SKU
    for name, plans in (("small", N_ERRORS), ("large", 4 * N_ERRORS)):
        generate(tmp_path / name, plans)
        for n, path in enumerate(sorted((tmp_path / name / "catalog").glob("*.yaml"))):
            text = path.read_text().replace("sku: sku-", "sku: missing-")
            if n % 2:
                text = text.replace("    billing_period: {length: 1, unit: month}\n", "")
            path.write_text(text)
    compile_store(tmp_path / "small")  # warm up the schema validators
    timings = []
    for name, plans in (("small", N_ERRORS), ("large", 4 * N_ERRORS)):
        seconds, result = best_time(tmp_path / name, runs=2 if name == "small" else 1)
        assert {d.code for d in result.errors} == {"SC001", "SC302"}
        assert len(result.errors) == plans
        timings.append(seconds)
    assert timings[1] / timings[0] < 8, timings  # 4x is linear, 16x quadratic
