"""The compile pipeline: normalization, templates and variables, includes, ordering of
diagnostics, and the validate/compile commands' outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from storecfg.cli import cli
from storecfg.compiler.compile import compile_store
from storecfg.compiler.variables import parse_var_overrides
from storecfg.errors import UsageError
from storecfg.model import KINDS

from .conftest import BASE_YAML, STORE_YAML, Store

SKU = "skus:\n  - {id: k, name: K, vendor: V, source: custom}\n"


def plan(price: str, extra: str = "") -> str:
    return (
        SKU
        + "service_plans:\n"
        + "  - id: p\n"
        + "    name: P\n"
        + "    sku: k\n"
        + "    subscription_period: {length: 1, unit: year}\n"
        + "    billing_period: {length: 1, unit: month}\n"
        + f"    price: {price}\n"
        + "    published: false\n"
        + extra
    )


def compiled(store: Store, **kwargs: Any) -> dict[str, Any]:
    result = store.compile(**kwargs)
    assert [d.format() for d in result.diagnostics] == []
    assert result.desired is not None
    out: dict[str, Any] = result.desired.to_json()
    return out


# ---------------------------------------------------------------- normalization


def test_compile_fills_defaults_in_schema_order(store: Store) -> None:
    store.write(
        "t.yaml",
        plan(
            '{recurring: "8"}',
            "    resources:\n      - {id: gb, name: Storage, unit: GB, price: {recurring: '0.2'}}\n",
        ),
    )
    assert compiled(store) == {
        "store": {
            "id": "test-store",
            "name": "Test Store",
            "currency": "USD",
            "locales": ["en-US"],
            "prices_include_tax": False,
        },
        "resources": {
            "skus": {
                "k": {"id": "k", "name": "K", "vendor": "V", "source": "custom", "enabled": True}
            },
            "service_plans": {
                "p": {
                    "id": "p",
                    "name": "P",
                    "sku": "k",
                    "subscription_period": {"length": 1, "unit": "year"},
                    "billing_period": {"length": 1, "unit": "month"},
                    "billing_model": "charge_before_billing_period",
                    "price": {"setup": "0.00", "recurring": "8.00", "effective": "immediately"},
                    "auto_renew": True,
                    "published": False,
                    "resources": [
                        {
                            "id": "gb",
                            "name": "Storage",
                            "unit": "GB",
                            "included": 0,
                            "min": 0,
                            "price": {"setup": "0.00", "recurring": "0.20"},
                            "visible": True,
                        }
                    ],
                    "rules": {
                        "reseller_self_order": True,
                        "cancellation": "immediate",
                        "provisioning": "automatic",
                    },
                }
            },
        },
    }


def test_compile_output_is_plain_json_data(full_store: Store) -> None:
    data = compiled(full_store)
    assert json.loads(json.dumps(data)) == data
    assert list(data["resources"]) == [k for k in KINDS if k != "customization"]
    assert data["resources"]["tax_rules"]["us-ca"] == {
        "id": "us-ca",
        "region": "US-CA",
        "rate": "7.25",
        "inclusive": False,
        "compound": False,
        "priority": 0,
        "stacks": False,
    }


@pytest.mark.parametrize(
    ("currency", "written", "canonical"),
    [
        ("USD", "8", "8.00"),
        ("USD", "8.5", "8.50"),
        ("USD", "8.50", "8.50"),
        ("USD", "0", "0.00"),
        ("USD", "1234567.1", "1234567.10"),
        ("JPY", "1000", "1000"),
        ("KWD", "1.5", "1.500"),
        ("CLF", "2", "2.0000"),
    ],
)
def test_money_is_canonical_for_the_currency(
    store: Store, currency: str, written: str, canonical: str
) -> None:
    store.write("store.yaml", STORE_YAML.replace("USD", currency))
    store.write("t.yaml", plan(f'{{recurring: "{written}"}}'))
    price = compiled(store)["resources"]["service_plans"]["p"]["price"]
    zero = "0" if currency == "JPY" else "0." + "0" * len(canonical.split(".")[1])
    assert price == {"setup": zero, "recurring": canonical, "effective": "immediately"}


@pytest.mark.parametrize(
    ("written", "canonical"),
    [("7.250", "7.25"), ("7", "7"), ("10", "10"), ("100.0", "100"), ("0.0", "0"), ("05", "5")],
)
def test_tax_rate_is_canonical(store: Store, written: str, canonical: str) -> None:
    store.write("t.yaml", f'tax_rules:\n  - {{id: t, region: US-NY, rate: "{written}"}}\n')
    assert compiled(store)["resources"]["tax_rules"]["t"]["rate"] == canonical


# ---------------------------------------------------------------- templates and variables

TEMPLATED = """\
skus:
  - id: k
    name: "{{ vars.brand }} {{ vars.product }}"
    vendor: "{{ vars.brand }}"
    source: custom
    enabled: "{{ vars.enabled }}"
service_plans:
  - id: p
    name: "{{ vars.product }}"
    sku: k
    subscription_period: {length: "{{ vars.years }}", unit: year}
    billing_period: {length: 1, unit: month}
    price: {recurring: "{{ (vars.cost | decimal * vars.markup | decimal) | money }}"}
    published: false
"""

STORE_WITH_VARS = (
    STORE_YAML
    + "vars: {brand: Contoso, product: Mail, enabled: true, years: 1, cost: '10', markup: '1.15'}\n"
)


def test_single_expressions_keep_their_type(store: Store) -> None:
    store.write("store.yaml", STORE_WITH_VARS)
    store.write("t.yaml", TEMPLATED)
    data = compiled(store)["resources"]
    assert data["skus"]["k"]["name"] == "Contoso Mail"
    assert data["skus"]["k"]["enabled"] is True
    assert data["service_plans"]["p"]["subscription_period"] == {"length": 1, "unit": "year"}
    assert data["service_plans"]["p"]["price"]["recurring"] == "11.50"


def test_text_around_an_expression_makes_a_string(store: Store) -> None:
    store.write("store.yaml", STORE_WITH_VARS)
    store.write(
        "t.yaml", TEMPLATED.replace('length: "{{ vars.years }}"', 'length: " {{ vars.years }}"')
    )
    assert store.lines() == [
        "s/t.yaml:11:35: SC303 service_plans.p.subscription_period.length: "
        "expected a whole number, got the string ' 1'",
    ]


def test_var_files_override_vars_and_var_overrides_win(store: Store, tmp_path: Path) -> None:
    store.write("store.yaml", STORE_WITH_VARS)
    store.write("t.yaml", TEMPLATED)
    first = tmp_path / "first.yaml"
    first.write_text("vars:\n  product: Files\n  cost: '20'\n")
    second = tmp_path / "second.yaml"
    second.write_text("product: Teams\nmarkup: '1.5'\n")  # a bare mapping works too
    data = compiled(store, var_files=[first, second])["resources"]
    assert data["skus"]["k"]["name"] == "Contoso Teams"
    assert data["service_plans"]["p"]["price"]["recurring"] == "30.00"
    data = compiled(
        store,
        var_files=[first, second],
        var_overrides=["product=Voice"],
        var_json=["years=2"],
    )
    assert data["resources"]["skus"]["k"]["name"] == "Contoso Voice"
    assert data["resources"]["service_plans"]["p"]["subscription_period"]["length"] == 2


def test_var_values_are_strings_and_var_json_values_typed() -> None:
    assert parse_var_overrides(["a=10", "b=true", "c=NO", "d=9.50", "e=", "f=x=y"]) == {
        "a": "10",
        "b": "true",
        "c": "NO",
        "d": "9.50",
        "e": "",
        "f": "x=y",
    }
    typed = ["a=10", "b=true", 'c="NO"', "d=9.5", "e=null", 'f=["US", "CA"]', 'g={"e1": "8.00"}']
    assert parse_var_overrides([], typed) == {
        "a": 10,
        "b": True,
        "c": "NO",
        "d": 9.5,
        "e": None,
        "f": ["US", "CA"],
        "g": {"e1": "8.00"},
    }
    with pytest.raises(UsageError, match="KEY=VALUE"):
        parse_var_overrides(["a-b=1"])


def test_money_filter_uses_the_currency_chosen_by_a_template(store: Store) -> None:
    store.write(
        "store.yaml",
        'apiVersion: storecfg/v1\nstore: {id: s, name: S, currency: "{{ vars.currency }}"}\n'
        'include: ["*.yaml"]\n'
        "vars: {currency: JPY}\n"
        + plan('{recurring: "{{ 1234.5 | money }}", setup: "{{ 99.4 | money }}"}'),
    )
    price = compiled(store)["resources"]["service_plans"]["p"]["price"]
    # rounded half up to yen
    assert price == {"setup": "99", "recurring": "1235", "effective": "immediately"}


def test_include_patterns_are_templates(store: Store) -> None:
    store.write(
        "store.yaml",
        STORE_YAML.replace('["*.yaml"]', '["{{ vars.country }}/*.yaml"]') + "vars: {country: us}\n",
    )
    store.write("us/skus.yaml", SKU)
    store.write("ca/skus.yaml", SKU.replace("id: k", "id: other"))
    assert list(compiled(store)["resources"]["skus"]) == ["k"]
    data = compiled(store, var_overrides=["country=ca"])
    assert list(data["resources"]["skus"]) == ["other"]


def test_a_failed_template_is_reported_once(store: Store) -> None:
    store.write("t.yaml", plan('{recurring: "{{ vars.cost }}"}'))
    assert store.lines() == [
        "s/t.yaml:9:24: SC201 service_plans.p.price.recurring: undefined variable vars.cost; "
        "set it under vars in store.yaml, in a --var-file or with --var cost=VALUE",
    ]


def test_templates_share_one_budget_per_run(store: Store) -> None:
    # each template is within its own limits, but 300 files of 60,000 characters are not
    store.write("store.yaml", STORE_YAML + "vars: {big: " + "x" * 60_000 + "}\n")
    for i in range(300):
        store.write(
            f"t{i:03d}.yaml",
            f"terms:\n  - {{id: t{i}, title: T, version: '1', body: '{{{{ vars.big }}}}'}}\n",
        )
    errors = [d.format() for d in store.compile().errors]
    assert errors[0] == (
        "s/t279.yaml:2:46: SC204 terms.t279.body: "
        "templates rendered more than 16,777,216 characters in all"
    )
    assert len(errors) == 300 - 279


# ---------------------------------------------------------------- includes


def test_includes_are_sorted_deduplicated_and_skip_store_yaml(store: Store) -> None:
    store.write(
        "store.yaml",
        STORE_YAML.replace(
            '["*.yaml"]', '["b/*.yaml", "*.yaml", "a/*.yaml", "**/*.yaml", "b/2.yaml"]'
        ),
    )
    store.write("b/2.yaml", "skus: []\n")
    store.write("b/1.yaml", "skus: []\n")
    store.write("a/z.yaml", "skus: []\n")
    store.write("top.yaml", "skus: []\n")
    result = store.compile()
    assert result.diagnostics == []
    assert result.files == ["s/store.yaml", "s/b/1.yaml", "s/b/2.yaml", "s/top.yaml", "s/a/z.yaml"]


def test_include_matching_nothing_is_a_warning(store: Store) -> None:
    store.write("store.yaml", STORE_YAML.replace('["*.yaml"]', '["*.yaml", "missing/*.yaml"]'))
    result = store.compile()
    assert result.ok
    assert [d.format() for d in result.diagnostics] == [
        "s/store.yaml:3:21: SC108 include[1]: warning: include 'missing/*.yaml' matches no file",
    ]


def test_resources_may_live_in_store_yaml(store: Store) -> None:
    store.write("store.yaml", STORE_YAML + SKU)
    assert list(compiled(store)["resources"]["skus"]) == ["k"]


def test_compile_accepts_the_store_yaml_path(store: Store) -> None:
    store.write("t.yaml", SKU)
    result = compile_store(store.root / "store.yaml")
    assert result.ok and result.desired is not None
    assert list(result.desired.resources["skus"]) == ["k"]


# ---------------------------------------------------------------- diagnostics


def test_all_errors_are_reported_sorted_by_file_and_line(store: Store) -> None:
    store.write("b.yaml", "skus:\n  - {id: b, name: B, vendor: V, source: nope}\n")
    store.write("a.yaml", "skus:\n  - {id: a1, name: A}\n  - {id: A2}\n")
    store.write(
        "c.yaml",
        "tax_rules:\n  - {id: t, region: US-NY, rate: '7'}\n  - {id: t, region: XX, rate: 1}\n",
    )
    result = CliRunner().invoke(cli, ["validate", "s"])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "s/a.yaml:2:5: SC302 skus.a1: missing required field 'source'",
        "s/a.yaml:2:5: SC302 skus.a1: missing required field 'vendor'",
        "s/a.yaml:3:5: SC302 skus[1]: missing required field 'name'",
        "s/a.yaml:3:5: SC302 skus[1]: missing required field 'source'",
        "s/a.yaml:3:5: SC302 skus[1]: missing required field 'vendor'",
        "s/a.yaml:3:10: SC306 skus[1].id: invalid ID 'A2': use lowercase letters, digits, '.', "
        "'_' and '-', start with a letter or digit, at most 63 characters",
        "s/b.yaml:2:41: SC304 skus.b.source: the string 'nope' is not one of custom, distributor",
        "s/c.yaml:3:10: SC012 tax_rules.t: tax_rules.t is already defined at s/c.yaml:2",
        "s/c.yaml:3:31: SC305 tax_rules.t.rate: a tax rate must be a quoted decimal string such "
        'as "7.25", not the number 1; write "1"',
    ]
    assert result.stderr == "s: invalid: 9 errors\n"


def test_validate_json_output(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        plan('{recurring: "1"}')
        .replace("published: false", "published: true")
        .replace("k, name: K", "contoso-mail, name: K")
        .replace("sku: k", "sku: contoso-mial"),
    )
    result = CliRunner().invoke(cli, ["validate", "--json", "s"])
    assert result.exit_code == 1
    assert json.loads(result.stdout) == [
        {
            "file": "s/t.yaml",
            "line": 4,
            "column": 5,
            "code": "SC010",
            "severity": "warning",
            "address": "service_plans.p",
            "path": "$",
            "message": "published plan is in no sales category, so customers cannot find it; "
            "add it to a category or set published: false",
        },
        {
            "file": "s/t.yaml",
            "line": 6,
            "column": 10,
            "code": "SC001",
            "severity": "error",
            "address": "service_plans.p.sku",
            "path": "$.sku",
            "message": "skus.contoso-mial does not exist; did you mean skus.contoso-mail?",
        },
    ]


def test_validate_json_for_a_valid_store_is_an_empty_list(full_store: Store) -> None:
    result = CliRunner().invoke(cli, ["validate", "--json", "s"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


def test_strict_makes_warnings_fail(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        plan('{recurring: "1"}')
        .replace("published: false", "published: true")
        .replace("id: k,", "id: k2,")
        .replace("sku: k", "sku: k2"),
    )
    warning = (
        "s/t.yaml:4:5: SC010 service_plans.p: warning: published plan is in no sales category, "
        "so customers cannot find it; add it to a category or set published: false"
    )
    relaxed = CliRunner().invoke(cli, ["validate", "s"])
    assert relaxed.exit_code == 0
    assert relaxed.stdout.splitlines() == [warning]
    assert relaxed.stderr == "s: valid (17 resources in 3 files, 1 warning)\n"
    strict = CliRunner().invoke(cli, ["validate", "--strict", "s"])
    assert strict.exit_code == 1
    assert strict.stdout.splitlines() == [warning]


def test_validate_several_directories(full_store: Store, tmp_path: Path) -> None:
    other = Store(tmp_path / "other")
    other.write("store.yaml", "apiVersion: storecfg/v2\nstore: {id: o, name: O, currency: EUR}\n")
    result = CliRunner().invoke(cli, ["validate", "s", "other"])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "other/store.yaml:1:13: SC304 apiVersion: expected 'storecfg/v1', got the string 'storecfg/v2'",
    ]
    assert result.stderr.splitlines() == [
        "s: valid (15 resources in 2 files)",
        "other: invalid: 1 error",
    ]


def test_compile_prints_the_desired_state(full_store: Store) -> None:
    result = CliRunner().invoke(cli, ["compile", "s"])
    assert result.exit_code == 0
    assert result.stderr == ""
    assert json.loads(result.stdout) == compiled(full_store)


def test_compile_output_file(full_store: Store, tmp_path: Path) -> None:
    target = tmp_path / "out" / "desired.json"
    result = CliRunner().invoke(cli, ["compile", "s", "-o", str(target)])
    assert result.exit_code == 0
    assert result.stdout == ""
    assert result.stderr == f"Wrote {target}\n"
    text = target.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert json.loads(text) == compiled(full_store)


def test_compile_refuses_an_invalid_store_and_writes_nothing(
    full_store: Store, tmp_path: Path
) -> None:
    full_store.write("t.yaml", "skus:\n  - {id: k, name: K, vendor: V, source: nope}\n")
    target = tmp_path / "desired.json"
    result = CliRunner().invoke(cli, ["compile", "s", "-o", str(target)])
    assert result.exit_code == 1
    assert not target.exists()
    assert result.stderr.splitlines() == [
        "s/t.yaml:2:41: SC304 skus.k.source: the string 'nope' is not one of custom, distributor",
        "Error: the store definition has 1 error",
    ]


def test_base_fixture_is_valid(full_store: Store) -> None:
    assert "default: true" in BASE_YAML
    assert full_store.lines() == []
