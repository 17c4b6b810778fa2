"""The compile cache is never stale, reuses unchanged files, and is safe to delete."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from storecfg.compiler import cache as cache_mod
from storecfg.compiler import compile as compile_mod
from storecfg.compiler.cache import compile_cached
from storecfg.compiler.cache_key import cache_key, entry_mac
from storecfg.spec.graph import kind_levels

STORE = """\
apiVersion: storecfg/v1
store: {id: shop, name: Shop, currency: USD}
include: ["catalog/*.yaml", "storefront.yaml"]
vars: {markup: "1.10"}
"""


def plans(prefix: str, n: int, price: str = "10.00") -> str:
    out = [
        f"skus:\n  - {{id: {prefix}-sku, name: {prefix}, vendor: V, source: custom}}\nservice_plans:\n"
    ]
    for i in range(n):
        out.append(
            f"  - id: {prefix}-{i}\n    name: Plan {i}\n    sku: {prefix}-sku\n"
            "    subscription_period: {length: 1, unit: year}\n"
            "    billing_period: {length: 1, unit: month}\n"
            f"    price: {{recurring: \"{{{{ ('{price}' | decimal * vars.markup | decimal) | money }}}}\"}}\n"
        )
    return "".join(out)


STOREFRONT = """\
sales_categories:
  - {id: all, name: All, type: services, plans: [a-0, a-1, b-0, b-1]}
"""


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "shop"
    (root / "catalog").mkdir(parents=True)
    (root / "store.yaml").write_text(STORE)
    (root / "catalog" / "a.yaml").write_text(plans("a", 3))
    (root / "catalog" / "b.yaml").write_text(plans("b", 2))
    (root / "storefront.yaml").write_text(STOREFRONT)
    return root


class Spy:
    """Counts which included files the compiler parses (store.yaml and var files are
    always read: they decide what is included and how it renders)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.parsed: list[str] = []
        real = compile_mod.load_bytes

        def spy(raw: bytes, display: str, out: Any = None) -> Any:
            if Path(display).name not in ("store.yaml", "prod.yaml"):
                self.parsed.append(Path(display).name)
            return real(raw, display, out)

        monkeypatch.setattr(compile_mod, "load_bytes", spy)


def run(store: Path, **kw: Any) -> Any:
    return compile_cached(store, cache_dir=Path(".storecfg/cache"), **kw)


def uncached(store: Path, **kw: Any) -> Any:
    return compile_mod.compile_store(store, **kw)


def same(a: Any, b: Any) -> None:
    assert a.ok and b.ok
    assert a.desired.to_json() == b.desired.to_json()
    assert [d.format() for d in a.diagnostics] == [d.format() for d in b.diagnostics]
    assert a.desired.sources == b.desired.sources


def test_an_unchanged_store_is_not_parsed_again(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = run(store)
    spy = Spy(monkeypatch)
    second = run(store)
    assert spy.parsed == []
    same(first, second)
    same(second, uncached(store))


def test_the_plan_order_depths_come_from_the_cache_as_computed(store: Path) -> None:
    # c-0 upgrades to c-1, which upgrades to c-2: depths 2, 1 and 0 in the plan's order
    chain = (
        plans("c", 3)
        .replace("    name: Plan 0\n", "    name: Plan 0\n    upgrades_to: [c-1]\n")
        .replace("    name: Plan 1\n", "    name: Plan 1\n    upgrades_to: [c-2]\n")
    )
    (store / "catalog" / "c.yaml").write_text(chain)
    first = run(store)
    assert first.ok, [d.format() for d in first.diagnostics]
    second = run(store)
    expected = kind_levels(uncached(store).desired.resources)
    assert expected == {"service_plans.c-1": 1, "service_plans.c-0": 2}
    assert first.desired.levels == second.desired.levels == expected


def test_editing_one_file_reparses_only_that_file(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(store)
    (store / "catalog" / "b.yaml").write_text(plans("b", 2, price="20.00"))
    spy = Spy(monkeypatch)
    result = run(store)
    assert spy.parsed == ["b.yaml"]
    assert result.desired.resources["service_plans"]["b-1"]["price"]["recurring"] == "22.00"
    same(result, uncached(store))


def test_a_var_change_invalidates(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    varfile = Path("prod.yaml")
    varfile.write_text("markup: '1.10'\n")
    run(store, var_files=[varfile])
    varfile.write_text("markup: '2.00'\n")
    spy = Spy(monkeypatch)
    result = run(store, var_files=[varfile])
    assert sorted(spy.parsed) == ["a.yaml", "b.yaml", "storefront.yaml"]
    assert result.desired.resources["service_plans"]["a-0"]["price"]["recurring"] == "20.00"
    # --var values are part of the key too
    assert (
        run(store, var_overrides=["markup=3"]).desired.resources["service_plans"]["a-0"]["price"][
            "recurring"
        ]
        == "30.00"
    )
    same(run(store, var_files=[varfile]), uncached(store, var_files=[varfile]))


def test_a_deleted_file_invalidates(store: Path) -> None:
    run(store)
    (store / "catalog" / "b.yaml").unlink()
    result = run(store)
    assert not result.ok  # the category still lists b-0, b-1
    assert any(d.code == "SC001" and "b-0" in d.message for d in result.errors)


def test_a_new_file_matching_an_include_is_picked_up(store: Path) -> None:
    run(store)
    (store / "catalog" / "c.yaml").write_text(
        plans("c", 1).replace("service_plans", "service_plans")
    )
    result = run(store)
    assert "c-0" in result.desired.resources["service_plans"]
    same(result, uncached(store))


def test_a_tool_upgrade_invalidates(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run(store)
    monkeypatch.setattr(cache_mod, "tool_fingerprint", lambda: "another version")
    monkeypatch.setattr(compile_mod, "tool_fingerprint", lambda: "another version")
    spy = Spy(monkeypatch)
    run(store)
    assert sorted(spy.parsed) == ["a.yaml", "b.yaml", "storefront.yaml"]


def test_failed_compiles_are_not_cached_and_a_fix_is_seen(store: Path) -> None:
    (store / "catalog" / "b.yaml").write_text(plans("b", 2).replace("unit: month", "unit: decade"))
    assert not run(store).ok
    assert not run(store).ok
    (store / "catalog" / "b.yaml").write_text(plans("b", 2))
    same(run(store), uncached(store))


def test_the_cache_is_safe_to_delete_or_damage(store: Path) -> None:
    first = run(store)
    entries = list(Path(".storecfg/cache").glob("*.json"))
    assert len(entries) == 1
    entries[0].write_text("{not json")
    same(run(store), first)
    for entry in Path(".storecfg/cache").glob("*.json"):
        entry.unlink()
    same(run(store), first)
    # an entry that is authentic (its MAC is right) but damaged inside is only a miss too
    # (the body is a line of everything but the specs, then a line of the specs)
    entry = next(Path(".storecfg/cache").glob("*.json"))
    header, _, specs = entry.read_bytes().partition(b"\n")[2].partition(b"\n")
    data = json.loads(header)
    key = cache_key()
    assert key is not None
    for damaged in (
        json.dumps({**data, "units": "garbage"}).encode() + b"\n" + specs,
        header + b"\n" + b'{"garbage": []}',
        header,
    ):
        mac = entry_mac(key, entry.name, damaged).encode()
        entry.write_bytes(b"hmac-sha256:" + mac + b"\n" + damaged)
        same(run(store), first)


def test_positions_in_reused_files_stay_exact(store: Path) -> None:
    # a published plan in no category is a warning (SC010) pointing into a.yaml
    (store / "catalog" / "a.yaml").write_text(plans("a", 3))
    (store / "storefront.yaml").write_text(STOREFRONT.replace("a-1, ", ""))
    cold = uncached(store)
    run(store)
    (store / "catalog" / "b.yaml").write_text(plans("b", 2, price="30.00"))  # a.yaml stays cached
    warm = run(store)
    assert [d.format() for d in warm.warnings] == [d.format() for d in cold.warnings]
    assert [(d.code, d.address, d.location.line) for d in warm.warnings] == [
        ("SC010", "service_plans.a-1", 10),
        ("SC010", "service_plans.a-2", 16),
    ]
