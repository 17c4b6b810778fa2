"""End to end: apply into a real `storecfg serve`, change the store through its HTTP API
(outside storecfg), then `storecfg adopt` and `storecfg plan` as a user would."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.server import Server, running_server, storecfg

from .live import STORE, changed_lines, create_live, edit_live

DATA = Path(__file__).parent / "data" / "contoso"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("server")) as srv:
        yield srv


def test_adopt_takes_api_changes_back_and_plan_shows_no_changes(
    server: Server, tmp_path: Path
) -> None:
    env = server.env(STORE)
    work = tmp_path / "work"
    shutil.copytree(DATA, work / "s")
    applied = storecfg("apply", "s", "--auto-approve", cwd=work, env=env)
    assert applied.returncode == 0, applied.stdout + applied.stderr

    plans = work / "s" / "catalog" / "plans.yaml"
    skus = work / "s" / "catalog" / "skus.yaml"
    plans_before, skus_before = plans.read_text(), skus.read_text()

    def e5_price(spec: dict) -> None:  # type: ignore[type-arg]
        spec["resources"][0]["price"]["recurring"] = "36.00"

    edit_live(server, "service_plans", "e5-monthly", e5_price)
    create_live(
        server,
        "skus",
        {"id": "teams-phone", "name": "Teams Phone", "vendor": "Microsoft", "source": "custom"},
    )

    drift = storecfg("drift", "s", cwd=work, env=env)
    assert drift.returncode == 2, drift.stdout + drift.stderr

    dry = storecfg("adopt", "s", "--dry-run", "--into", "s/catalog/skus.yaml", cwd=work, env=env)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert '-        price: {recurring: "34.50"}' in dry.stdout
    assert '+        price: {recurring: "36.00"}' in dry.stdout
    assert "Dry run: no file was written." in dry.stderr
    assert plans.read_text() == plans_before

    adopted = storecfg("adopt", "s", "--into", "s/catalog/skus.yaml", cwd=work, env=env)
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    out = adopted.stdout
    assert (
        "s/catalog/plans.yaml:34: adopted service_plans.e5-monthly (changed): "
        'resources[0].price.recurring "34.50" -> "36.00"'
    ) in out
    assert "adopted skus.teams-phone (created): added to s/catalog/skus.yaml" in out
    assert "Adopted 2 resources into 2 files." in out

    # the smallest edit: one scalar in plans.yaml, comments and everything else intact
    assert changed_lines(plans_before, plans.read_text()) == [
        '-        price: {recurring: "34.50"}',
        '+        price: {recurring: "36.00"}',
    ]
    added = changed_lines(skus_before, skus.read_text())
    assert added[0] == "+  - id: teams-phone"  # fields in the order the store keeps them
    assert sorted(added[1:]) == [
        "+    name: Teams Phone",
        "+    source: custom",
        "+    vendor: Microsoft",
    ]
    assert "# Plans sold in the US store." in plans.read_text()

    planned = storecfg("plan", "s", "--detailed-exitcode", cwd=work, env=env)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "No changes" in planned.stdout

    again = storecfg("adopt", "s", "--json", cwd=work, env=env)
    assert again.returncode == 0, again.stderr
    doc = json.loads(again.stdout)
    assert doc["adopted"] == 0 and doc["files"] == []


def test_adopt_leaves_a_computed_price_alone_with_its_line(server: Server, tmp_path: Path) -> None:
    env = server.env(STORE)
    work = tmp_path / "work"
    shutil.copytree(DATA, work / "s")
    applied = storecfg("apply", "s", "--auto-approve", cwd=work, env=env)
    assert applied.returncode == 0, applied.stdout + applied.stderr

    def price(spec: dict) -> None:  # type: ignore[type-arg]
        spec["price"]["recurring"] = "40.00"

    edit_live(server, "service_plans", "e5-monthly", price)
    before = (work / "s" / "catalog" / "plans.yaml").read_text()
    adopted = storecfg("adopt", "s", "service_plans.e5-monthly", cwd=work, env=env)
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    assert (
        "s/catalog/plans.yaml:27: left alone service_plans.e5-monthly (changed): "
        "cannot be adopted safely: price.recurring is computed by a template"
    ) in adopted.stdout
    assert (work / "s" / "catalog" / "plans.yaml").read_text() == before

    bad = storecfg("adopt", "s", "not-an-address", cwd=work, env=env)
    assert bad.returncode == 1
    assert "is not a resource address" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_adopt_into_a_targets_var_file(server: Server, tmp_path: Path) -> None:
    work = tmp_path / "work"
    shutil.copytree(DATA, work / "s")
    root = work / "s" / "store.yaml"
    root.write_text(
        root.read_text()
        + "targets:\n  us: {var_files: [us.yaml], store_url_env: STORE_US, token_env: TOKEN_US}\n"
    )
    (work / "s" / "us.yaml").write_text("# United States\ne3_price: '21.00'   # list price\n")
    env = {"STORE_US": server.url, "TOKEN_US": server.token(STORE), "STORECFG_TOKEN": ""}
    applied = storecfg("apply", "s", "--target", "us", "--auto-approve", cwd=work, env=env)
    assert applied.returncode == 0, applied.stdout + applied.stderr

    def price(spec: dict) -> None:  # type: ignore[type-arg]
        spec["price"]["recurring"] = "24.00"

    edit_live(server, "service_plans", "e3-monthly", price)
    root_before = root.read_text()
    adopted = storecfg("adopt", "s", "--target", "us", cwd=work, env=env)
    assert adopted.returncode == 0, adopted.stdout + adopted.stderr
    assert "s/us.yaml:2: adopted service_plans.e3-monthly (changed)" in adopted.stdout
    assert "(in vars.e3_price)" in adopted.stdout
    assert (
        work / "s" / "us.yaml"
    ).read_text() == "# United States\ne3_price: '24.00'   # list price\n"
    assert root.read_text() == root_before
    planned = storecfg("plan", "s", "--target", "us", "--detailed-exitcode", cwd=work, env=env)
    assert planned.returncode == 0, planned.stdout + planned.stderr
