"""Acceptance checks of the contract, from outside: the `storecfg` CLI as a subprocess in
a fresh directory, and the HTTP API of a real `storecfg serve` process on a free loopback
port, on a small store written here (not one of the examples)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from support.server import Server, running_server

STORE_YAML = """\
apiVersion: storecfg/v1
store:
  id: acme-eu
  name: Acme Cloud
  currency: EUR
  locales: [de-DE, en-US]
include: [catalog/*.yaml, storefront/*.yaml, tax.yaml]
vars: {base: "5.00"}
"""

PLANS_YAML = """\
skus:
  - {id: mail, name: Mail, vendor: Acme, source: custom}
resource_categories:
  - {id: seats, name: Seats}
service_plans:
  - id: mail-basic
    name: Mail Basic
    sku: mail
    subscription_period: {length: 1, unit: year}
    billing_period: {length: 1, unit: month}
    price: {setup: "0.00", recurring: "{{ vars.base }}"}
    resources:
      - {id: users, name: Users, unit: user, included: 1, min: 1, max: 50,
         price: {setup: "0.00", recurring: "1.50"}, category: seats}
    upgrades_to: [mail-pro]
  - id: mail-pro
    name: Mail Pro
    sku: mail
    subscription_period: {length: 1, unit: month}
    billing_period: {length: 1, unit: month}
    price: {setup: "1.00", recurring: "9.90"}
"""

FRONT_YAML = """\
sales_categories:
  - {id: mail, name: Mail, type: services, plans: [mail-basic, mail-pro]}
terms:
  - {id: tos, title: Terms, version: "1", url: "https://example.com/tos"}
screens:
  - {id: pick, type: sales_categories, title: Pick, categories: [mail]}
  - {id: legal, type: terms, title: Legal, terms: [tos]}
  - {id: pay, type: payment, title: Pay}
  - {id: done, type: checkout, title: Done}
purchase_scenarios:
  - {id: main, screens: [pick, legal, pay, done], default: true}
payment_methods:
  - {id: card, type: credit_card, regions: [DE, NO]}
customization:
  - {id: branding, primary_color: "#112233"}
"""

TAX_YAML = """\
tax_rules:
  - {id: de-vat, region: DE, rate: "19"}
  - {id: no-vat, region: NO, rate: "25"}
"""

#: every resource of the store above
RESOURCE_COUNT = 15


def write_store(directory: Path, store_id: str = "acme-eu") -> Path:
    """The small store above, in `directory`, managing the live store `store_id`."""
    (directory / "catalog").mkdir(parents=True)
    (directory / "storefront").mkdir()
    (directory / "store.yaml").write_text(STORE_YAML.replace("id: acme-eu", f"id: {store_id}"))
    (directory / "catalog" / "plans.yaml").write_text(PLANS_YAML)
    (directory / "storefront" / "front.yaml").write_text(FRONT_YAML)
    (directory / "tax.yaml").write_text(TAX_YAML)
    return directory


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, (old, path)
    path.write_text(text.replace(old, new))


@pytest.fixture
def store_dir(tmp_path: Path) -> Path:
    """A fresh working directory holding the store in `store/`."""
    write_store(tmp_path / "store")
    return tmp_path / "store"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real server process per test module; each test uses stores of its own."""
    with running_server(tmp_path_factory.mktemp("server")) as srv:
        yield srv
