"""Small store definitions and helpers shared by the apply and views tests.

`BASE` is a valid store with every kind, written so that dependency order matters
within kinds: `basic` upgrades to `pro`, which upgrades to `enterprise` (targets
first means the reverse of alphabetical order), and category `apps` has the parent
`catalog`.
"""

from __future__ import annotations

import copy
import textwrap
from pathlib import Path
from typing import Any

from storecfg.apply.plan import PlanOptions, make_plan
from storecfg.compiler.compile import compile_store
from storecfg.model import KINDS, DesiredState, LiveResource, LiveState

STORE_ID = "test-store"

STORE_YAML = """\
apiVersion: storecfg/v1
store: {id: test-store, name: Test Store, currency: USD, locales: [en-US]}
include: ["*.yaml"]
"""

CATALOG_YAML = """\
skus:
  - {id: sku-basic, name: Basic, vendor: Contoso, source: custom}
  - {id: sku-pro, name: Pro, vendor: Contoso, source: custom}
resource_categories:
  - {id: seats, name: Seats}
service_plans:
  - id: basic
    name: Basic
    sku: sku-basic
    subscription_period: {length: 1, unit: year}
    billing_period: {length: 1, unit: month}
    price: {setup: "0.00", recurring: "20.00"}
    upgrades_to: [pro]
    resources:
      - {id: users, name: Users, unit: user, included: 1, min: 1, max: 300, price: {recurring: "5.00"}, category: seats}
  - id: pro
    name: Pro
    sku: sku-pro
    subscription_period: {length: 1, unit: year}
    billing_period: {length: 1, unit: month}
    price: {setup: "0.00", recurring: "40.00"}
    upgrades_to: [enterprise]
  - id: enterprise
    name: Enterprise
    sku: sku-pro
    subscription_period: {length: 1, unit: year}
    billing_period: {length: 1, unit: year}
    price: {setup: "100.00", recurring: "900.00"}
"""

STOREFRONT_YAML = """\
sales_categories:
  - {id: catalog, name: Catalog, type: services, plans: []}
  - {id: apps, name: Apps, type: services, parent: catalog, plans: [basic, pro, enterprise]}
  - {id: extras, name: Extras, type: addons, plans: []}
terms:
  - {id: tos, title: Terms of service, version: "1", url: "https://example.com/tos"}
screens:
  - {id: choose, type: sales_categories, title: Choose, categories: [apps]}
  - {id: more, type: addons, title: More, categories: [extras]}
  - {id: cart, type: cart_review, title: Cart}
  - {id: accept, type: terms, title: Accept, terms: [tos]}
  - {id: pay, type: payment, title: Pay}
  - {id: done, type: checkout, title: Done}
purchase_scenarios:
  - {id: standard, screens: [choose, more, cart, accept, pay, done], default: true}
tax_rules:
  - {id: us-ca, region: US-CA, rate: "7.25", applies_to: {sales_categories: [apps]}}
payment_methods:
  - {id: card, type: credit_card, regions: [US]}
customization:
  - {id: branding, store_title: Test Store}
"""

BASE = {"store.yaml": STORE_YAML, "catalog.yaml": CATALOG_YAML, "storefront.yaml": STOREFRONT_YAML}


def write_store(root: Path, files: dict[str, str] | None = None) -> Path:
    """Write a store directory (BASE unless `files`); returns `root`."""
    root.mkdir(parents=True, exist_ok=True)
    for name in list(root.glob("*.yaml")):
        name.unlink()
    for name, text in (files if files is not None else BASE).items():
        (root / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def edit(root: Path, name: str, old: str, new: str) -> None:
    """Replace `old` (which must occur exactly once) in a store file."""
    path = root / name
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {name}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def compile_dir(root: Path) -> DesiredState:
    result = compile_store(root)
    assert result.ok and result.desired is not None, [d.format() for d in result.diagnostics]
    return result.desired


_BASE_CACHE: dict[str, Any] = {}


def base_desired(tmp_path: Path) -> DesiredState:
    """The compiled BASE store (compiled once per session, copied per call)."""
    if "desired" not in _BASE_CACHE:
        _BASE_CACHE["desired"] = compile_dir(write_store(tmp_path / "base"))
    d: DesiredState = _BASE_CACHE["desired"]
    return DesiredState(copy.deepcopy(d.store), copy.deepcopy(d.resources))


def desired_of(store: dict[str, Any], resources: dict[str, dict[str, Any]]) -> DesiredState:
    return DesiredState(copy.deepcopy(store), copy.deepcopy(resources))


def live_of(
    desired: DesiredState | None,
    *,
    revision: int = 100,
    settings_revision: int = 1,
    store_id: str = STORE_ID,
) -> LiveState:
    """A live store holding exactly `desired` (resource revisions 1, 2, ... in KINDS order)."""
    settings = copy.deepcopy(desired.store) if desired else {"id": store_id}
    live = LiveState(store_id, revision, settings, settings_revision)
    n = 0
    for kind in KINDS:
        for rid, spec in sorted((desired.resources.get(kind, {}) if desired else {}).items()):
            n += 1
            live.resources.setdefault(kind, {})[rid] = LiveResource(copy.deepcopy(spec), n)
    return live


def plan_of(desired: DesiredState, live: LiveState, **options: Any) -> dict[str, Any]:
    return make_plan(desired, live, store_url="sqlite:///test.db", options=PlanOptions(**options))


def change(plan: dict[str, Any], addr: str) -> dict[str, Any]:
    return next(c for c in plan["changes"] if c["address"] == addr)


def actions(plan: dict[str, Any]) -> dict[str, str]:
    """address -> action, for everything that is not a no-op."""
    return {c["address"]: c["action"] for c in plan["changes"] if c["action"] != "no-op"}


def big_store(n: int) -> dict[str, str]:
    """A store of `n` service plans (plus a SKU and a category listing them all)."""
    plans = "\n".join(
        f"  - {{id: plan-{i:05d}, name: Plan {i}, sku: sku, "
        "subscription_period: {length: 1, unit: month}, billing_period: {length: 1, unit: month}, "
        f'price: {{setup: "0.00", recurring: "{i % 90 + 1}.00"}}}}'
        for i in range(n)
    )
    ids = ", ".join(f"plan-{i:05d}" for i in range(n))
    catalog = (
        "skus:\n  - {id: sku, name: SKU, vendor: Contoso, source: custom}\n"
        f"service_plans:\n{plans}\n"
        f"sales_categories:\n  - {{id: all, name: All, type: services, plans: [{ids}]}}\n"
    )
    return {"store.yaml": STORE_YAML, "catalog.yaml": catalog}
