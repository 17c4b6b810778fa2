"""The fields for scenario and terms scope, payment eligibility, checkout fields, ordering
limits, price timing and stacking taxes: their schema messages, references and defaults."""

from __future__ import annotations

import json

from storecfg.spec.schemas import raw_schema

from .conftest import Store

PLAN = """\
service_plans:
  - id: plan-n
    name: Plan N
    sku: sku-a
    subscription_period: {{length: 1, unit: year}}
    billing_period: {{length: 1, unit: month}}
    price: {price}
    published: false
{extra}"""


def test_defaults_are_filled_and_optional_blocks_stay_absent(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        PLAN.format(
            price='{recurring: "5"}',
            extra="    order_fields:\n      - {id: name, label: Name, type: text}\n",
        )
        + 'tax_rules:\n  - {id: ca-qc, region: CA-QC, rate: "9.975"}\n',
    )
    result = full_store.compile()
    assert result.ok and result.desired is not None
    plan = result.desired.resources["service_plans"]["plan-n"]
    assert plan["price"] == {"setup": "0.00", "recurring": "5.00", "effective": "immediately"}
    assert plan["order_fields"] == [
        {"id": "name", "label": "Name", "type": "text", "required": False}
    ]
    assert "max_quantity_per_order" not in plan["rules"]
    assert "early_termination" not in plan["rules"]
    assert result.desired.resources["tax_rules"]["ca-qc"]["stacks"] is False
    # add-ons keep the common fees: effective is the plan's alone
    resources = raw_schema("service_plans")["properties"]["resources"]["items"]["properties"]
    assert resources["price"]["$ref"] == "common.schema.json#/$defs/fee"
    for kind in ("purchase_scenarios", "terms", "payment_methods"):
        spec = next(iter(result.desired.resources[kind].values()))
        assert "applies_to" not in spec and "eligibility" not in spec


def test_enum_values_get_a_did_you_mean(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        PLAN.format(
            price='{recurring: "5", effective: next-renewal}',
            extra="    order_fields:\n      - {id: t, label: T, type: domian}\n"
            "    rules: {early_termination: {fee: remaining}}\n",
        ),
    )
    assert full_store.lines() == [
        "s/t.yaml:7:40: SC304 service_plans.plan-n.price.effective: the string 'next-renewal' "
        "is not one of immediately, next_renewal; did you mean 'next_renewal'?",
        "s/t.yaml:10:33: SC304 service_plans.plan-n.order_fields[0].type: the string 'domian' "
        "is not one of text, domain, email, checkbox; did you mean 'domain'?",
        "s/t.yaml:11:38: SC304 service_plans.plan-n.rules.early_termination.fee: the string "
        "'remaining' is not one of none, remaining_term, fixed; did you mean 'remaining_term'?",
    ]


def test_an_early_termination_amount_is_a_quoted_decimal(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        PLAN.format(
            price='{recurring: "5"}',
            extra="    rules: {early_termination: {fee: fixed, amount: 50.00}}\n",
        ),
    )
    assert full_store.lines() == [
        "s/t.yaml:9:53: SC305 service_plans.plan-n.rules.early_termination.amount: an amount "
        'must be a quoted decimal string such as "8.00", not the number 50.00 (numbers lose '
        'cents); write "50.00"',
    ]


def test_empty_scopes_and_misspelled_fields_are_named(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        terms:
          - {id: t2, title: T2, version: "1", url: "https://example.com/t2", applies_to: {}}
        payment_methods:
          - {id: ach, type: ach, regions: [US], eligibility: {payment_term: [net30]}}
        purchase_scenarios:
          - {id: s2, screens: [pay, done], applies_to: {categories: [main]}}
        """,
    )
    assert full_store.lines() == [
        "s/t.yaml:2:82: SC304 terms.t2.applies_to: must not be empty; give at least one of "
        "sales_categories, plans",
        "s/t.yaml:4:54: SC304 payment_methods.ach.eligibility: needs at least one of "
        "payment_terms, customer_types",
        "s/t.yaml:4:55: SC301 payment_methods.ach.eligibility.payment_term: unknown field "
        "'payment_term'; did you mean 'payment_terms'?",
        "s/t.yaml:6:48: SC302 purchase_scenarios.s2.applies_to: missing required field "
        "'sales_categories'",
        "s/t.yaml:6:49: SC301 purchase_scenarios.s2.applies_to.categories: unknown field "
        "'categories'; did you mean 'sales_categories'?",
    ]


def test_misspelled_references_in_applies_to_suggest_the_closest_id(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        terms:
          - id: t2
            title: T2
            version: "1"
            url: "https://example.com/t2"
            applies_to: {sales_categories: [mian], plans: [plan-b]}
        purchase_scenarios:
          - {id: s2, screens: [pay, done], applies_to: {sales_categories: [mains]}}
        """,
    )
    assert full_store.lines() == [
        "s/t.yaml:6:37: SC001 terms.t2.applies_to.sales_categories[0]: sales_categories.mian "
        "does not exist; did you mean sales_categories.main?",
        "s/t.yaml:6:52: SC001 terms.t2.applies_to.plans[0]: service_plans.plan-b does not "
        "exist; did you mean service_plans.plan-a?",
        "s/t.yaml:8:68: SC001 purchase_scenarios.s2.applies_to.sales_categories[0]: "
        "sales_categories.mains does not exist; did you mean sales_categories.main?",
    ]


def test_every_new_field_has_a_description_editors_show() -> None:
    def described(node: object, path: str) -> list[str]:
        missing: list[str] = []
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if isinstance(sub, dict) and "description" not in sub and "$ref" not in sub:
                    missing.append(f"{path}.{name}")
                missing += described(sub, f"{path}.{name}")
            if isinstance(node.get("items"), dict):
                missing += described(node["items"], f"{path}[]")
        return missing

    plans = raw_schema("service_plans")
    fields = [
        raw_schema("purchase_scenarios")["properties"]["applies_to"],
        raw_schema("terms")["properties"]["applies_to"],
        raw_schema("payment_methods")["properties"]["eligibility"],
        plans["properties"]["order_fields"],
        plans["properties"]["rules"]["properties"]["early_termination"],
        plans["$defs"]["price"],
    ]
    for field in fields:
        assert field.get("description"), json.dumps(field)[:80]
        assert described(field, "") == []
    assert raw_schema("tax_rules")["properties"]["stacks"]["description"].startswith(
        "For a subdivision rule"
    )


def test_patterns_may_use_javascript_named_groups() -> None:
    from storecfg.spec.resource_rules import regex_problem

    assert regex_problem(r"(?<tenant>[a-z0-9-]+)\.onmicrosoft\.com") is None
    assert regex_problem(r"(?<=@)contoso\.com") is None  # a lookbehind, not a group
    # positions count the characters as written
    problem = regex_problem("(?<a>x)(?<b>y)[z")
    assert problem is not None and problem.endswith("(at character 15)")
