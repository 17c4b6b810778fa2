"""Fixtures for compiler tests: small store directories written into tmp_path.

Tests chdir into tmp_path, so diagnostics name files as `s/FILE` (FILE relative to
the current directory, SPEC 1.2).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import pytest

from storecfg.compiler.compile import compile_store
from storecfg.compiler.result import CompileResult
from storecfg.errors import sort_diagnostics

STORE_YAML = """\
apiVersion: storecfg/v1
store: {id: test-store, name: Test Store, currency: USD}
include: ["*.yaml"]
"""

#: a store using every kind that passes every rule without a warning
BASE_YAML = """\
skus:
  - {id: sku-a, name: SKU A, vendor: Contoso, source: custom}
resource_categories:
  - {id: seats, name: Seats}
terms:
  - {id: tos, title: Terms of service, version: "1", url: "https://example.com/tos"}
payment_methods:
  - {id: card, type: credit_card, regions: [US, NO]}
service_plans:
  - id: plan-a
    name: Plan A
    sku: sku-a
    subscription_period: {length: 1, unit: year}
    billing_period: {length: 1, unit: month}
    price: {setup: "0", recurring: "10"}
sales_categories:
  - {id: main, name: Main, type: services, plans: [plan-a]}
  - {id: extras, name: Extras, type: addons, plans: []}
screens:
  - {id: choose, type: sales_categories, title: Choose, categories: [main]}
  - {id: more, type: addons, title: More, categories: [extras]}
  - {id: cart, type: cart_review, title: Cart}
  - {id: accept, type: terms, title: Accept, terms: [tos]}
  - {id: pay, type: payment, title: Pay}
  - {id: done, type: checkout, title: Done}
purchase_scenarios:
  - {id: standard, screens: [choose, more, cart, accept, pay, done], default: true}
tax_rules:
  - {id: us-ca, region: US-CA, rate: "7.25"}
"""


class Store:
    """A store directory `s/` under the current directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def write(self, name: str, text: str) -> Path:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    def compile(
        self,
        *,
        var_files: Sequence[Path] = (),
        var_overrides: Sequence[str] = (),
        var_json: Sequence[str] = (),
    ) -> CompileResult:
        return compile_store(
            self.root, var_files=var_files, var_overrides=var_overrides, var_json=var_json
        )

    def lines(
        self, *, var_files: Sequence[Path] = (), var_overrides: Sequence[str] = ()
    ) -> list[str]:
        """Every diagnostic as the CLI prints it, sorted by file and line."""
        result = self.compile(var_files=var_files, var_overrides=var_overrides)
        return [d.format() for d in sort_diagnostics(result.diagnostics)]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """An empty store: store.yaml including every *.yaml beside it."""
    monkeypatch.chdir(tmp_path)
    s = Store(tmp_path / "s")
    s.write("store.yaml", STORE_YAML)
    return s


@pytest.fixture
def full_store(store: Store) -> Store:
    """A valid store with one resource of every kind in s/base.yaml."""
    store.write("base.yaml", BASE_YAML)
    return store


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The real CLI in a process of its own (no debug tracebacks)."""
    env = {k: v for k, v in os.environ.items() if k != "STORECFG_DEBUG"}
    return subprocess.run(
        [sys.executable, "-m", "storecfg", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
