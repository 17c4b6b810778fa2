"""A text plan of a store that already matches its definition is made from the compile
cache's hashes, without a spec; it must read exactly as the plan made the long way, and
anything that differs must still get the long way."""

from __future__ import annotations

import json
from typing import Any

import pytest

from storecfg.compiler import cache as cache_mod

from .conftest import Target


class NoSpecs:
    """Fails the test if a plan decodes the cache entry's specs (the long way)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.long_way = 0
        real = cache_mod.load_entry

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.long_way += 1
            return real(*args, **kwargs)

        monkeypatch.setattr(cache_mod, "load_entry", counted)


def applied(target: Target) -> None:
    result = target.cli("apply", "s", "--auto-approve")
    assert result.exit_code == 0, result.output


def test_a_matching_store_is_planned_from_hashes_and_reads_as_the_long_way(
    target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    applied(target)
    long_way = target.cli("plan", "s", "--no-cache", "--detailed-exitcode")
    spy = NoSpecs(monkeypatch)
    short = target.cli("plan", "s", "--detailed-exitcode")
    assert spy.long_way == 0
    assert (short.exit_code, short.stdout, short.stderr) == (
        long_way.exit_code,
        long_way.stdout,
        long_way.stderr,
    )
    assert short.exit_code == 0 and "No changes." in short.stdout


def test_json_and_plan_files_still_list_every_unchanged_resource(
    sqlite_target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    applied(sqlite_target)
    spy = NoSpecs(monkeypatch)
    doc = json.loads(sqlite_target.cli("plan", "s", "--json").stdout)
    assert spy.long_way == 1
    saved = sqlite_target.cli("plan", "s", "-o", "plan.json")
    assert saved.exit_code == 0, saved.output
    assert spy.long_way == 2
    from_file = json.loads((sqlite_target.workdir / "plan.json").read_text())
    for plan in (doc, from_file):
        noops = [c for c in plan["changes"] if c["action"] == "no-op"]
        assert noops and len(noops) == plan["summary"]["no-op"] == len(plan["live_revisions"])
        assert all(c["before"] == c["after"] and c["after"] for c in noops)


def test_a_definition_with_warnings_shows_them_the_same_way(
    sqlite_target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a published plan in no sales category is a warning (SC010)
    catalog = sqlite_target.store_dir / "catalog.yaml"
    catalog.write_text(
        catalog.read_text()
        + "  - id: stray\n    name: Stray\n    sku: sku-basic\n"
        + "    subscription_period: {length: 1, unit: month}\n"
        + "    billing_period: {length: 1, unit: month}\n"
        + '    price: {recurring: "1.00"}\n'
    )
    applied(sqlite_target)
    long_way = sqlite_target.cli("plan", "s", "--no-cache")
    spy = NoSpecs(monkeypatch)
    short = sqlite_target.cli("plan", "s")
    assert spy.long_way == 0
    assert "SC010" in short.stderr
    assert (short.stdout, short.stderr) == (long_way.stdout, long_way.stderr)


@pytest.mark.parametrize("what", ["edited", "drifted", "extra", "settings"])
def test_anything_that_differs_is_planned_the_long_way(
    sqlite_target: Target, monkeypatch: pytest.MonkeyPatch, what: str
) -> None:
    applied(sqlite_target)
    if what == "edited":  # the definition changed: the cache entry is stale
        catalog = sqlite_target.store_dir / "catalog.yaml"
        catalog.write_text(catalog.read_text().replace("name: Pro\n", "name: Pro II\n", 1))
    elif what == "drifted":  # changed in the store by somebody else
        sqlite_target.put("skus", "sku-pro", {"name": "Changed in the panel"})
    elif what == "extra":  # a resource the definition does not have (a delete)
        driver = sqlite_target.driver()
        try:
            driver.put(
                sqlite_target.store_id,
                "skus",
                "extra",
                {"name": "Extra", "vendor": "V", "source": "custom"},
                create=True,
            )
        finally:
            driver.close()
    else:  # the store settings changed outside storecfg
        driver = sqlite_target.driver()
        try:
            info = driver.read_all(sqlite_target.store_id, specs=False)
            settings = {k: v for k, v in info.settings.items() if k != "id"}
            driver.put_settings(
                sqlite_target.store_id,
                {**settings, "name": "Renamed"},
                if_match=info.settings_revision,
            )
        finally:
            driver.close()
    long_way = sqlite_target.cli("plan", "s", "--no-cache", "--detailed-exitcode")
    short = sqlite_target.cli("plan", "s", "--detailed-exitcode")
    assert long_way.exit_code == short.exit_code == 2, short.output
    assert short.stdout == long_way.stdout
