"""Adopting drift into a definition, from drift given directly (no store)."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storecfg.adopt.run import ADOPTED, LEFT_ALONE, AdoptResult, Drifted, adopt_definition
from storecfg.compiler.compile import compile_store
from storecfg.errors import UsageError
from storecfg.model import spec_hash

DATA = Path(__file__).parent / "data" / "contoso"
Specs = dict[str, dict[str, dict[str, Any]]]


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(DATA, tmp_path / "s")
    monkeypatch.chdir(tmp_path)
    return Path("s")


def desired(directory: Path, **kw: Any) -> Specs:
    result = compile_store(directory, **kw)
    assert result.ok and result.desired is not None, [d.format() for d in result.errors]
    return copy.deepcopy(result.desired.resources)


def drift_between(before: Specs, after: Specs) -> list[Drifted]:
    out = []
    for kind in sorted({*before, *after}):
        old, new = before.get(kind, {}), after.get(kind, {})
        for rid in sorted({*old, *new}):
            if rid not in new:
                out.append(Drifted(f"{kind}.{rid}", "deleted", None))
            elif rid not in old:
                out.append(Drifted(f"{kind}.{rid}", "created", new[rid]))
            elif spec_hash(old[rid]) != spec_hash(new[rid]):
                out.append(Drifted(f"{kind}.{rid}", "changed", new[rid]))
    return out


def adopt(directory: Path, change: Callable[[Specs], None], **kw: Any) -> tuple[AdoptResult, Specs]:
    before = desired(directory, **{k: v for k, v in kw.items() if k.startswith("var")})
    after = copy.deepcopy(before)
    change(after)

    def read_store(_: Any) -> list[Drifted]:
        return drift_between(before, after)

    return adopt_definition(directory, read_store, **kw), after


def plan_is_empty(directory: Path, live: Specs, **kw: Any) -> None:
    got = desired(directory, **kw)
    assert {k: v for k, v in got.items() if v} == {k: v for k, v in live.items() if v}


def statuses(result: AdoptResult) -> dict[str, str]:
    return {o.address: o.status for o in result.outcomes}


def test_a_changed_name_is_rewritten_in_place(store: Path) -> None:
    plans = store / "catalog" / "plans.yaml"
    before = plans.read_text()

    def change(s: Specs) -> None:
        s["service_plans"]["e3-monthly"]["name"] = "Office 365 E3 (month to month)"

    result, live = adopt(store, change)
    assert statuses(result) == {"service_plans.e3-monthly": ADOPTED}
    assert plans.read_text() == before.replace(
        '"Office 365 E3 (monthly)"   # shown', '"Office 365 E3 (month to month)"   # shown'
    )
    plan_is_empty(store, live)
    outcome = result.outcomes[0]
    assert (outcome.file, outcome.line) == ("s/catalog/plans.yaml", 4)


def test_a_value_from_one_variable_is_adopted_where_the_variable_is_set(store: Path) -> None:
    root = store / "store.yaml"
    plans_before = (store / "catalog" / "plans.yaml").read_text()

    def change(s: Specs) -> None:
        s["service_plans"]["e3-monthly"]["price"]["recurring"] = "22.00"

    result, live = adopt(store, change)
    assert statuses(result) == {"service_plans.e3-monthly": ADOPTED}
    assert '  e3_price: "22.00"      # the E3 list price\n' in root.read_text()
    assert (store / "catalog" / "plans.yaml").read_text() == plans_before
    assert result.outcomes[0].changes[0].via == "vars.e3_price"
    plan_is_empty(store, live)


def test_the_last_var_file_that_sets_the_variable_gets_it(store: Path) -> None:
    (store / "us.yaml").write_text("# US\ne3_price: '21.00'\n")
    (store / "other.yaml").write_text("vars:\n  seats: 200\n")
    root_before = (store / "store.yaml").read_text()
    files = [store / "us.yaml", store / "other.yaml"]

    def change(s: Specs) -> None:
        s["service_plans"]["e3-monthly"]["price"]["recurring"] = "23.00"

    result, live = adopt(store, change, var_files=files)
    assert statuses(result) == {"service_plans.e3-monthly": ADOPTED}
    assert (store / "us.yaml").read_text() == "# US\ne3_price: '23.00'\n"
    assert (store / "store.yaml").read_text() == root_before
    plan_is_empty(store, live, var_files=files)


def test_a_variable_read_by_another_resource_is_left_alone(store: Path) -> None:
    def change(s: Specs) -> None:  # seats is read by both plans' add-ons
        s["service_plans"]["e3-monthly"]["resources"][0]["max"] = 500

    result, _ = adopt(store, change)
    outcome = result.outcomes[0]
    assert outcome.status == LEFT_ALONE
    assert "vars.seats is also used by service_plans.e5-monthly" in outcome.reason
    assert not result.files


def test_the_same_variable_changed_the_same_way_everywhere_is_adopted(store: Path) -> None:
    def change(s: Specs) -> None:
        for rid in ("e3-monthly", "e5-monthly"):
            s["service_plans"][rid]["resources"][0]["max"] = 500

    result, live = adopt(store, change)
    assert set(statuses(result).values()) == {ADOPTED}
    assert "  seats: 500\n" in (store / "store.yaml").read_text()
    plan_is_empty(store, live)


def test_a_computed_template_is_left_alone_with_its_line(store: Path) -> None:
    plans = store / "catalog" / "plans.yaml"
    before = plans.read_text()

    def change(s: Specs) -> None:
        s["service_plans"]["e5-monthly"]["price"]["recurring"] = "40.00"
        s["service_plans"]["e5-monthly"]["name"] = "E5"

    result, _ = adopt(store, change)
    outcome = result.outcomes[0]
    assert outcome.status == LEFT_ALONE
    assert (outcome.file, outcome.line) == ("s/catalog/plans.yaml", 27)
    assert "computed by a template" in outcome.reason
    assert plans.read_text() == before  # whole or nothing: the name is not taken either


def test_a_resource_created_outside_needs_into(store: Path) -> None:
    sku = {
        "id": "teams",
        "name": "Teams",
        "vendor": "Microsoft",
        "source": "custom",
        "enabled": True,
    }

    def change(s: Specs) -> None:
        s["skus"]["teams"] = sku

    result, _ = adopt(store, change)
    outcome = result.outcomes[0]
    assert outcome.status == LEFT_ALONE and "--into" in outcome.reason
    assert (outcome.file, outcome.line) == ("s/catalog/skus.yaml", 1)

    into = store / "catalog" / "skus.yaml"
    result, live = adopt(store, change, into=into)
    assert statuses(result) == {"skus.teams": ADOPTED}
    assert into.read_text().endswith(
        "    source: distributor\n  - id: teams\n    name: Teams\n    vendor: Microsoft\n"
        "    source: custom\n"
    )
    plan_is_empty(store, live)


def test_into_a_file_without_that_kind(store: Path) -> None:
    into = store / "catalog" / "categories.yaml"

    def change(s: Specs) -> None:
        s["skus"]["teams"] = {
            "id": "teams",
            "name": "Teams",
            "vendor": "Microsoft",
            "source": "custom",
            "enabled": False,
        }

    result, live = adopt(store, change, into=into)
    assert statuses(result) == {"skus.teams": ADOPTED}
    assert into.read_text().endswith(
        "      - e5-monthly\n\nskus:\n  - id: teams\n    name: Teams\n    vendor: Microsoft\n"
        "    source: custom\n    enabled: false\n"
    )
    plan_is_empty(store, live)


def test_into_must_be_a_file_of_the_definition(store: Path) -> None:
    (store / "elsewhere.yaml").write_text("skus: []\n")
    with pytest.raises(UsageError, match="not a file of this definition"):
        adopt(store, lambda s: None, into=store / "elsewhere.yaml")


def test_a_resource_deleted_outside_is_taken_out(store: Path) -> None:
    def change(s: Specs) -> None:
        del s["service_plans"]["e5-monthly"]
        s["sales_categories"]["office"]["plans"].remove("e5-monthly")
        s["service_plans"]["e3-monthly"]["upgrades_to"] = []
        del s["skus"]["o365-e5"]

    result, live = adopt(store, change)
    assert set(statuses(result).values()) == {ADOPTED}, result.outcomes
    text = (store / "catalog" / "plans.yaml").read_text()
    assert "e5-monthly" not in text
    assert "upgrades_to: []" in text
    assert (store / "catalog" / "categories.yaml").read_text().endswith("      - e3-monthly\n")
    plan_is_empty(store, live)


def test_an_add_on_added_in_the_store_is_appended(store: Path) -> None:
    def change(s: Specs) -> None:
        s["service_plans"]["e3-monthly"]["resources"].append(
            {
                "id": "storage",
                "name": "Extra storage",
                "unit": "GB",
                "included": 0,
                "min": 0,
                "max": 1000,
                "price": {"setup": "0.00", "recurring": "0.20"},
                "visible": True,
            }
        )

    result, live = adopt(store, change)
    assert statuses(result) == {"service_plans.e3-monthly": ADOPTED}, result.outcomes
    text = (store / "catalog" / "plans.yaml").read_text()
    assert (
        "        price: {recurring: '20.00'}\n"
        "      - id: storage\n"
        "        name: Extra storage\n"
        "        unit: GB\n"
        "        max: 1000\n"
        '        price: {recurring: "0.20"}\n'
        "    upgrades_to: [e5-monthly]\n"
    ) in text
    plan_is_empty(store, live)


def test_a_default_changed_in_the_store_adds_the_key(store: Path) -> None:
    def change(s: Specs) -> None:
        s["service_plans"]["e3-monthly"]["published"] = False
        s["service_plans"]["e3-monthly"]["rules"]["cancellation"] = "requires_approval"
        s["service_plans"]["e3-monthly"]["trial"] = {"length": 14, "unit": "day"}

    result, live = adopt(store, change)
    assert statuses(result) == {"service_plans.e3-monthly": ADOPTED}, result.outcomes
    text = (store / "catalog" / "plans.yaml").read_text()
    assert "    published: false\n" in text
    assert "    trial: {length: 14, unit: day}\n" in text
    assert "    rules: {cancellation: requires_approval}\n" in text
    plan_is_empty(store, live)


def test_list_of_plans_in_a_category(store: Path) -> None:
    def change(s: Specs) -> None:
        s["sales_categories"]["office"]["plans"] = ["e5-monthly", "e3-monthly"]

    result, live = adopt(store, change)
    assert statuses(result) == {"sales_categories.office": ADOPTED}, result.outcomes
    plan_is_empty(store, live)


def test_dry_run_writes_nothing_and_shows_a_diff(store: Path) -> None:
    plans = store / "catalog" / "plans.yaml"
    before = plans.read_text()

    def change(s: Specs) -> None:
        s["service_plans"]["e5-monthly"]["resources"][0]["price"]["recurring"] = "36.00"

    result, _ = adopt(store, change, dry_run=True)
    assert plans.read_text() == before
    assert statuses(result) == {"service_plans.e5-monthly": ADOPTED}
    diff = result.files[0].diff()
    assert diff.splitlines() == [
        "--- a/s/catalog/plans.yaml",
        "+++ b/s/catalog/plans.yaml",
        "@@ -31,4 +31,4 @@",
        "         unit: user",
        "         included: 1",
        '         max: "{{ vars.seats }}"',
        '-        price: {recurring: "34.50"}',
        '+        price: {recurring: "36.00"}',
    ]


def test_addresses_limit_what_is_adopted(store: Path) -> None:
    def change(s: Specs) -> None:
        s["service_plans"]["e3-monthly"]["name"] = "E3"
        s["skus"]["o365-e5"]["name"] = "E5"

    result, _ = adopt(store, change, addresses=["skus.o365-e5", "skus.o365-e3"])
    assert statuses(result) == {"skus.o365-e5": ADOPTED, "skus.o365-e3": "skipped"}
    assert "Office 365 E3 (monthly)" in (store / "catalog" / "plans.yaml").read_text()
    assert "    name: E5\n" in (store / "catalog" / "skus.yaml").read_text()


def test_flow_mapping_resource(store: Path) -> None:
    def change(s: Specs) -> None:
        s["skus"]["o365-e3"]["name"] = "Microsoft 365 E3"
        s["skus"]["o365-e3"]["enabled"] = False

    result, live = adopt(store, change)
    assert statuses(result) == {"skus.o365-e3": ADOPTED}
    assert (
        (store / "catalog" / "skus.yaml")
        .read_text()
        .startswith(
            "skus:\n  - {id: o365-e3, name: Microsoft 365 E3, vendor: Microsoft, source: distributor, "
            "enabled: false}\n"
        )
    )
    plan_is_empty(store, live)


def test_a_setup_fee_added_to_an_add_on_written_in_flow_style(store: Path) -> None:
    def change(s: Specs) -> None:
        s["service_plans"]["e5-monthly"]["resources"][0]["price"]["setup"] = "5.00"

    result, live = adopt(store, change)
    assert statuses(result) == {"service_plans.e5-monthly": ADOPTED}
    assert (
        '        price: {setup: "5.00", recurring: "34.50"}\n'
        in (store / "catalog" / "plans.yaml").read_text()
    )
    plan_is_empty(store, live)


def test_shared_anchor_in_the_definition_is_left_alone(store: Path) -> None:
    plans = store / "catalog" / "plans.yaml"
    text = plans.read_text()
    text = text.replace(
        '    subscription_period: {length: 1, unit: month}\n    billing_period: {length: 1, unit: month}\n    price:\n      setup: "0.00"\n      recurring: "{{ vars.e3_price }}"',
        '    subscription_period: &month {length: 1, unit: month}\n    billing_period: *month\n    price:\n      setup: "0.00"\n      recurring: "{{ vars.e3_price }}"',
    )
    plans.write_text(text)

    def change(s: Specs) -> None:
        s["service_plans"]["e3-monthly"]["subscription_period"]["length"] = 12

    result, _ = adopt(store, change)
    outcome = result.outcomes[0]
    assert outcome.status == LEFT_ALONE
    assert "anchor &month" in outcome.reason
    assert (outcome.file, outcome.line) == ("s/catalog/plans.yaml", 6)
    assert plans.read_text() == text


def test_crlf_definition_stays_crlf(store: Path) -> None:
    plans = store / "catalog" / "plans.yaml"
    plans.write_bytes(plans.read_bytes().replace(b"\n", b"\r\n"))

    def change(s: Specs) -> None:
        s["service_plans"]["e3-monthly"]["published"] = False
        s["service_plans"]["e3-monthly"]["resources"][0]["price"]["recurring"] = "21.00"

    result, live = adopt(store, change)
    assert statuses(result) == {"service_plans.e3-monthly": ADOPTED}
    raw = plans.read_bytes()
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert b"    published: false\r\n" in raw
    assert b"price: {recurring: '21.00'}\r\n" in raw
    plan_is_empty(store, live)


def test_ignored_fields_are_not_adopted(store: Path) -> None:
    plans = store / "catalog" / "plans.yaml"
    plans.write_text(
        plans.read_text().replace(
            "    upgrades_to: [e5-monthly]\n",
            "    upgrades_to: [e5-monthly]\n    lifecycle: {ignore_changes: [name]}\n",
        )
    )
    before = plans.read_text()

    def change(s: Specs) -> None:
        s["service_plans"]["e3-monthly"]["name"] = "Renamed in the control panel"

    result, _ = adopt(store, change)
    assert result.outcomes[0].status == "skipped"
    assert "already has the live values" in result.outcomes[0].reason
    assert plans.read_text() == before


def test_a_variable_set_on_the_command_line_is_left_alone(store: Path) -> None:
    def change(s: Specs) -> None:
        s["service_plans"]["e3-monthly"]["price"]["recurring"] = "25.00"

    result, _ = adopt(store, change, var_overrides=["e3_price=20.00"])
    assert result.outcomes[0].status == LEFT_ALONE
    assert "--var" in result.outcomes[0].reason


def test_unmanaged_resources_are_not_adopted(store: Path) -> None:
    root = store / "store.yaml"
    root.write_text(root.read_text() + "policy:\n  unmanaged: [skus.partner-*]\n")

    def change(s: Specs) -> None:
        s["skus"]["partner-x"] = {
            "id": "partner-x",
            "name": "X",
            "vendor": "Y",
            "source": "custom",
            "enabled": True,
        }

    result, _ = adopt(store, change, into=store / "catalog" / "skus.yaml")
    assert result.outcomes[0].status == "skipped"
    assert "policy.unmanaged" in result.outcomes[0].reason
    assert not result.files


def test_file_mode_and_links_are_kept(store: Path) -> None:
    real = store / "catalog" / "real-skus.yaml"
    (store / "catalog" / "skus.yaml").rename(real)
    real.chmod(0o640)
    (store / "catalog" / "skus.yaml").symlink_to("real-skus.yaml")
    root = store / "store.yaml"
    root.write_text(
        root.read_text().replace(
            "include: [catalog/*.yaml]",
            "include: [catalog/skus.yaml, catalog/plans.yaml, catalog/categories.yaml]",
        )
    )

    def change(s: Specs) -> None:
        s["skus"]["o365-e5"]["name"] = "E5"

    result, live = adopt(store, change)
    assert statuses(result) == {"skus.o365-e5": ADOPTED}
    assert (store / "catalog" / "skus.yaml").is_symlink()
    assert "    name: E5\n" in real.read_text()
    assert real.stat().st_mode & 0o777 == 0o640
    plan_is_empty(store, live)


def test_a_file_changed_while_adopting_is_not_written(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from storecfg.adopt import run
    from storecfg.adopt.run import FileEdit, _write
    from storecfg.errors import StorecfgError

    skus = store / "catalog" / "skus.yaml"
    before = skus.read_bytes()
    edit = FileEdit("s/catalog/skus.yaml", str(skus), before, before + b"# new\n")
    skus.write_bytes(before + b"# someone else\n")
    with pytest.raises(StorecfgError, match="changed since adopt read it"):
        _write([edit])
    assert skus.read_bytes() == before + b"# someone else\n"

    def change_and_touch(s: Specs) -> None:
        s["skus"]["o365-e5"]["name"] = "E5"

    before_specs = desired(store)
    after = copy.deepcopy(before_specs)
    change_and_touch(after)

    real_compile = run.compile_store

    def compile_then_edit(*args: Any, **kw: Any) -> Any:
        compiled = real_compile(*args, **kw)
        skus.write_bytes(skus.read_bytes() + b"# edited meanwhile\n")
        return compiled

    monkeypatch.setattr(run, "compile_store", compile_then_edit)
    with pytest.raises(StorecfgError, match="changed while adopt was reading it"):
        adopt_definition(store, lambda _: drift_between(before_specs, after))


def test_var_file_with_a_vars_block_and_nested_values(store: Path) -> None:
    vf = store / "ca.yaml"
    vf.write_text('vars:\n  prices:\n    e3: "26.00"   # CAD\n')
    plans = store / "catalog" / "plans.yaml"
    plans.write_text(plans.read_text().replace("{{ vars.e3_price }}", "{{ vars.prices.e3 }}"))

    def change(s: Specs) -> None:
        s["service_plans"]["e3-monthly"]["price"]["recurring"] = "27.50"

    result, live = adopt(store, change, var_files=[vf])
    assert statuses(result) == {"service_plans.e3-monthly": ADOPTED}
    assert vf.read_text() == 'vars:\n  prices:\n    e3: "27.50"   # CAD\n'
    plan_is_empty(store, live, var_files=[vf])


_NAMES = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="{%"),
    min_size=1,
    max_size=40,
).filter(lambda s: s.strip() == s and bool(s))


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=_NAMES, description=st.text(alphabet="ab c:#-'\"\n", max_size=30))
def test_any_name_and_description_adopt_and_compile_back(
    store: Path, name: str, description: str
) -> None:
    plans = store / "catalog" / "plans.yaml"
    original = plans.read_bytes()
    plans.write_text(
        plans.read_text().replace(
            "    sku: o365-e3\n",
            "    description: |\n      Line one\n      Line two\n    sku: o365-e3\n",
        )
    )
    try:

        def change(s: Specs) -> None:
            s["service_plans"]["e3-monthly"]["name"] = name
            if description.strip():
                s["service_plans"]["e3-monthly"]["description"] = description

        result, live = adopt(store, change)
        outcome = result.outcomes[0]
        if outcome.status == ADOPTED:
            plan_is_empty(store, live)
        else:  # only for a reason it names, and the file is as it was
            assert outcome.status == LEFT_ALONE and outcome.reason
    finally:
        plans.write_bytes(original)


def test_two_resources_created_outside_go_into_one_file(store: Path) -> None:
    into = store / "catalog" / "skus.yaml"

    def change(s: Specs) -> None:
        for rid in ("teams", "visio"):
            s["skus"][rid] = {
                "id": rid,
                "name": rid.title(),
                "vendor": "Microsoft",
                "source": "custom",
                "enabled": True,
            }

    result, live = adopt(store, change, into=into)
    assert statuses(result) == {"skus.teams": ADOPTED, "skus.visio": ADOPTED}
    assert into.read_text().endswith(
        "  - id: teams\n    name: Teams\n    vendor: Microsoft\n    source: custom\n"
        "  - id: visio\n    name: Visio\n    vendor: Microsoft\n    source: custom\n"
    )
    plan_is_empty(store, live)


def _mutations() -> list[Callable[[Specs], None]]:
    def plan(s: Specs) -> dict[str, Any]:
        return s["service_plans"]["e3-monthly"]

    def users(s: Specs) -> dict[str, Any]:
        return s["service_plans"]["e5-monthly"]["resources"][0]

    return [
        lambda s: plan(s).update(name="E3 — 'quoted' # not a comment"),
        lambda s: plan(s).update(published=False),
        lambda s: plan(s).update(sort_order=7),
        lambda s: plan(s).pop("upgrades_to"),
        lambda s: plan(s).update(trial={"length": 1, "unit": "month"}),
        lambda s: plan(s)["price"].update(setup="1.00"),
        lambda s: plan(s)["price"].update(recurring="19.99"),
        lambda s: plan(s)["rules"].update(provisioning="manual"),
        lambda s: plan(s)["resources"].clear(),
        lambda s: users(s).update(max=42, min=2),
        lambda s: users(s)["price"].update(setup="2.50"),
        lambda s: s["sales_categories"]["office"]["plans"].reverse(),
        lambda s: s["sales_categories"]["office"].update(name="Microsoft 365"),
        lambda s: s["skus"]["o365-e5"].update(vendor="Microsoft Corporation", enabled=False),
        lambda s: s["skus"].__setitem__(
            "extra",
            {"id": "extra", "name": "Extra", "vendor": "V", "source": "custom", "enabled": True},
        ),
    ]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(picks=st.lists(st.integers(0, len(_mutations()) - 1), min_size=1, max_size=4, unique=True))
def test_any_mix_of_changes_is_adopted_or_left_alone(store: Path, picks: list[int]) -> None:
    files = {p: p.read_bytes() for p in store.rglob("*.yaml")}
    try:

        def change(s: Specs) -> None:
            for i in picks:
                _mutations()[i](s)

        result, live = adopt(store, change, into=store / "catalog" / "skus.yaml")
        after = desired(store)
        for outcome in result.outcomes:
            kind, rid = outcome.address.split(".", 1)
            if outcome.status == ADOPTED:
                assert after[kind].get(rid) == live[kind].get(rid), outcome
            else:
                assert outcome.status == LEFT_ALONE and outcome.reason and outcome.line
    finally:
        for path, raw in files.items():
            path.write_bytes(raw)
