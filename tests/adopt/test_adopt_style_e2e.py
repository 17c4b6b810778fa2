"""End to end: what adopt adds to a file is written the way the file writes such values.

Each test applies a definition into a real `storecfg serve`, changes the store through
its HTTP API (which answers with keys sorted, not in schema order), runs `storecfg
adopt` and checks the text written and that `storecfg plan` shows no changes after it.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from support.server import Server, running_server, storecfg

from .live import STORE, changed_lines, create_live, edit_live

DATA = Path(__file__).parent / "data" / "contoso"

#: periods in flow style; every other small mapping (prices, rules) in block style
PLANS = """\
service_plans:
  - id: e3-monthly
    name: Office 365 E3 (monthly)
    sku: o365-e3
    subscription_period: {length: 1, unit: month}
    billing_period: {length: 1, unit: month}
    price:
      setup: "0.00"
      recurring: "20.00"
    resources:
      - id: users
        name: E3 users
        unit: user
        included: 1
        price:
          recurring: "20.00"
    rules:
      cancellation: immediate

  - id: e5-monthly
    name: Office 365 E5 (monthly)
    description: Everything in E3, plus security and voice.
    sku: o365-e5
    billing_period: {length: 1, unit: month}
    subscription_period: {length: 1, unit: month}
    sort_order: 2
    price:
      recurring: "30.00"
    resources:
      - id: users
        name: E5 users
        unit: user
        price:
          setup: "5.00"
          recurring: "30.00"
"""

SKUS = "skus:\n" + "".join(
    f"  - id: {sid}\n    name: {sid.upper()}\n    vendor: Microsoft\n    source: distributor\n"
    for sid in ("o365-e3", "o365-e5", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9")
)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("server")) as srv:
        yield srv


@pytest.fixture
def work(server: Server, tmp_path: Path) -> Path:
    """The definition, applied: `s/` under the returned directory."""
    shutil.copytree(DATA, tmp_path / "s")
    (tmp_path / "s" / "catalog" / "plans.yaml").write_text(PLANS)
    (tmp_path / "s" / "catalog" / "skus.yaml").write_text(SKUS)
    applied = storecfg("apply", "s", "--auto-approve", cwd=tmp_path, env=server.env(STORE))
    assert applied.returncode == 0, applied.stdout + applied.stderr
    return tmp_path


def _added(before: str, after: str) -> list[str]:
    return [line[1:] for line in changed_lines(before, after)]


def _adopt_then_plan(server: Server, work: Path, *args: str) -> None:
    env = server.env(STORE)
    adopted = storecfg("adopt", "s", *args, cwd=work, env=env)
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    assert "left alone" not in adopted.stdout, adopted.stdout
    planned = storecfg("plan", "s", "--detailed-exitcode", cwd=work, env=env)
    assert planned.returncode == 0, planned.stdout + planned.stderr


def test_a_new_trial_is_a_flow_period_and_a_new_add_on_is_in_schema_order(
    server: Server, work: Path
) -> None:
    plans = work / "s" / "catalog" / "plans.yaml"

    def e3(spec: dict[str, Any]) -> None:
        spec["trial"] = {"length": 1, "unit": "month"}

    def e5(spec: dict[str, Any]) -> None:
        spec["resources"].append(
            {
                "id": "storage",
                "included": 0,
                "max": 100,
                "min": 0,
                "name": "Extra storage",
                "price": {"recurring": "2.00", "setup": "0.00"},
                "unit": "GB",
                "visible": True,
            }
        )

    edit_live(server, "service_plans", "e3-monthly", e3)
    edit_live(server, "service_plans", "e5-monthly", e5)
    before = plans.read_text()
    _adopt_then_plan(server, work)
    assert _added(before, plans.read_text()) == [
        # after `price`, where the schema lists it; in the style of the file's periods
        "    trial: {length: 1, unit: month}",
        # the schema's order (id first), the add-on price in the file's block style
        "      - id: storage",
        "        name: Extra storage",
        "        unit: GB",
        "        max: 100",
        "        price:",
        '          recurring: "2.00"',
    ]
    assert plans.read_text().index("trial:") < plans.read_text().index("resources:")


AMBIGUOUS = ["yes", "no", "on", "off", "y", "~", "null", "0777", "1_000", "1:30", "2026-12-05"]


def test_names_that_some_yaml_readers_take_for_another_type_are_quoted(
    server: Server, work: Path
) -> None:
    skus = work / "s" / "catalog" / "skus.yaml"
    ids = ["o365-e3", "o365-e5", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9"]
    for sid, name in zip(ids, AMBIGUOUS, strict=True):

        def rename(spec: dict[str, Any], name: str = name) -> None:
            spec["name"] = name

        edit_live(server, "skus", sid, rename)
    _adopt_then_plan(server, work)
    text = skus.read_text()
    for name in AMBIGUOUS:
        assert f'    name: "{name}"\n' in text
    # a YAML 1.1 reader (PyYAML) reads every one back as the same string
    read = {s["id"]: s["name"] for s in yaml.safe_load(text)["skus"]}
    assert [read[sid] for sid in ids] == AMBIGUOUS


def test_a_plan_created_in_the_store_is_written_in_schema_order_and_the_files_style(
    server: Server, work: Path
) -> None:
    plans = work / "s" / "catalog" / "plans.yaml"
    spec = {
        "upgrades_to": [],
        "trial": {"unit": "day", "length": 14},
        "subscription_period": {"unit": "month", "length": 1},
        "sku": "o365-e3",
        "resources": [
            {
                "unit": "user",
                "price": {"setup": "0.00", "recurring": "9.00"},
                "name": "Users",
                "included": 1,
                "id": "users",
            }
        ],
        "price": {"setup": "0.00", "recurring": "9.00"},
        "order_fields": [{"type": "domain", "required": True, "label": "Tenant", "id": "tenant"}],
        "name": "E1 (monthly)",
        "id": "e1-monthly",
        "billing_period": {"unit": "month", "length": 1},
    }
    create_live(server, "service_plans", spec)
    before = plans.read_text()
    _adopt_then_plan(server, work, "--into", "s/catalog/plans.yaml")
    assert _added(before, plans.read_text()) == [
        "",
        "  - id: e1-monthly",
        "    name: E1 (monthly)",
        "    sku: o365-e3",
        "    subscription_period: {length: 1, unit: month}",
        "    billing_period: {length: 1, unit: month}",
        "    price:",
        '      recurring: "9.00"',
        "    trial: {length: 14, unit: day}",
        "    resources:",
        "      - id: users",
        "        name: Users",
        "        unit: user",
        "        included: 1",
        "        price:",
        '          recurring: "9.00"',
        "    order_fields:",
        "      - id: tenant",
        "        label: Tenant",
        "        type: domain",
        "        required: true",
        "    upgrades_to: []",
    ]


def test_a_resource_is_added_as_one_flow_item_where_the_file_writes_its_items_so(
    server: Server, work: Path
) -> None:
    skus = work / "s" / "catalog" / "skus.yaml"
    skus.write_text(
        "skus:\n"
        + "".join(
            f"  - {{id: {sid}, name: {sid.upper()}, vendor: Microsoft, source: distributor}}\n"
            for sid in ("o365-e3", "o365-e5", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9")
        )
    )
    create_live(
        server,
        "skus",
        {"source": "custom", "vendor": "Contoso", "name": "Backup: 1 TB", "id": "backup"},
    )
    before = skus.read_text()
    _adopt_then_plan(server, work, "--into", "s/catalog/skus.yaml")
    added = _added(before, skus.read_text())
    assert added == ['  - {id: backup, name: "Backup: 1 TB", vendor: Contoso, source: custom}'], (
        added
    )
    # and a file whose items are blocks still gets a block (see the test above)
