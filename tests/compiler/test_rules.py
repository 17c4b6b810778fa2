"""Semantic rules SC001-SC028: each fails with an exact error line and passes when fixed.

Every failing case asserts the whole output, `FILE:LINE:COL: CODE ADDRESS: message`,
for every diagnostic of the run; every passing case asserts there is none.
"""

from __future__ import annotations

from pathlib import Path

from storecfg.spec.codes import CODES

from .conftest import STORE_YAML, Store

RULE_CODES = [f"SC{n:03d}" for n in range(1, 29)]


def test_every_rule_code_is_covered_here() -> None:
    rule_codes = sorted(c for c in CODES if c < "SC100")
    assert rule_codes == RULE_CODES
    source = Path(__file__).read_text(encoding="utf-8")
    for code in RULE_CODES:
        assert f"def test_{code.lower()}_fails" in source, code
        assert f"def test_{code.lower()}_passes" in source, code


# ---------------------------------------------------------------- SC001 references

PLAN_B = """\
service_plans:
  - id: plan-b
    name: Plan B
    sku: {sku}
    subscription_period: {{length: 1, unit: year}}
    billing_period: {{length: 1, unit: month}}
    price: {{recurring: "5"}}
    upgrades_to: [{upgrade}]
    published: false
"""


def test_sc001_fails_with_suggestion(full_store: Store) -> None:
    full_store.write("t.yaml", PLAN_B.format(sku="sku-aa", upgrade="gold-tier"))
    assert full_store.lines() == [
        "s/t.yaml:4:10: SC001 service_plans.plan-b.sku: skus.sku-aa does not exist; "
        "did you mean skus.sku-a?",
        "s/t.yaml:8:19: SC001 service_plans.plan-b.upgrades_to[0]: "
        "service_plans.gold-tier does not exist",
    ]


def test_sc001_fails_in_lists_of_references(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        screens:
          - {id: choose2, type: sales_categories, title: Choose, categories: [main, mian]}
        purchase_scenarios:
          - {id: other, screens: [choose, pay, dne], applies_to: {sales_categories: [main]}}
        """,
    )
    assert full_store.lines() == [
        "s/t.yaml:2:77: SC001 screens.choose2.categories[1]: sales_categories.mian does not "
        "exist; did you mean sales_categories.main?",
        "s/t.yaml:4:40: SC001 purchase_scenarios.other.screens[2]: screens.dne does not exist; "
        "did you mean screens.done?",
    ]


def test_sc001_passes(full_store: Store) -> None:
    full_store.write("t.yaml", PLAN_B.format(sku="sku-a", upgrade="plan-a"))
    assert full_store.lines() == []


def test_sc001_reference_to_an_invalid_resource_does_not_cascade(full_store: Store) -> None:
    # sku-b exists but is broken: one schema error, no "does not exist"
    full_store.write(
        "t.yaml",
        """\
        skus:
          - {id: sku-b, name: SKU B, vendor: Contoso, source: homemade}
        service_plans:
          - id: plan-b
            name: Plan B
            sku: sku-b
            subscription_period: {length: 1, unit: year}
            billing_period: {length: 1, unit: month}
            price: {recurring: "5"}
            published: false
        """,
    )
    assert full_store.lines() == [
        "s/t.yaml:2:55: SC304 skus.sku-b.source: the string 'homemade' is not one of "
        "custom, distributor",
    ]


# ---------------------------------------------------------------- SC002 scenario order


def test_sc002_fails(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        screens:
          - {id: done2, type: checkout, title: Done again}
        purchase_scenarios:
          - {id: late-checkout, screens: [choose, done, pay]}
          - {id: no-checkout, screens: [choose, accept]}
          - {id: terms-late, screens: [choose, pay, accept, done]}
          - {id: cart-early, screens: [cart, choose, pay, done]}
          - {id: twice, screens: [choose, choose, pay, done]}
          - {id: no-payment, screens: [choose, done]}
          - {id: two-checkouts, screens: [choose, pay, done, done2]}
        """,
    )
    lines = full_store.lines()
    # none of them has applies_to beside the default: each is also unreachable (SC020)
    assert sum(" SC020 " in line for line in lines) == 7
    assert [line for line in lines if " SC020 " not in line] == [
        "s/t.yaml:4:43: SC002 purchase_scenarios.late-checkout.screens[1]: "
        "checkout screen done must be last (it is at position 2 of 3)",
        "s/t.yaml:4:49: SC002 purchase_scenarios.late-checkout.screens[2]: "
        "payment screen pay must come before checkout",
        "s/t.yaml:5:32: SC002 purchase_scenarios.no-checkout.screens: "
        "has no checkout screen; the last screen must be a checkout",
        "s/t.yaml:6:45: SC002 purchase_scenarios.terms-late.screens[2]: "
        "terms screen accept (position 3) must come before payment screen pay (position 2)",
        "s/t.yaml:7:32: SC002 purchase_scenarios.cart-early.screens[0]: "
        "cart review screen cart (position 1) must come after sales_categories screen "
        "choose (position 2)",
        "s/t.yaml:8:35: SC002 purchase_scenarios.twice.screens[1]: "
        "lists screen choose twice (positions 1 and 2)",
        "s/t.yaml:9:31: SC002 purchase_scenarios.no-payment.screens: "
        "has no payment screen before checkout",
        "s/t.yaml:10:54: SC002 purchase_scenarios.two-checkouts.screens[3]: "
        "has 2 checkout screens; exactly one is allowed, at the end",
    ]


def test_sc002_passes(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        sales_categories:
          - {id: second, name: Second, type: services, plans: [plan-a]}
        purchase_scenarios:
          - {id: minimal, screens: [pay, done], applies_to: {sales_categories: [main]}}
          - id: terms-first
            screens: [accept, choose, more, cart, pay, done]
            applies_to: {sales_categories: [second]}
        """,
    )
    assert full_store.lines() == []


# ---------------------------------------------------------------- SC003 category types


def test_sc003_fails(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        screens:
          - {id: choose2, type: sales_categories, title: Choose, categories: [main, extras]}
          - {id: more2, type: addons, title: More, categories: [main]}
        """,
    )
    assert full_store.lines() == [
        "s/t.yaml:2:77: SC003 screens.choose2.categories[1]: sales category extras has type "
        "addons; a sales_categories screen shows only services categories",
        "s/t.yaml:3:57: SC003 screens.more2.categories[0]: sales category main has type "
        "services; an addons screen shows only addons categories",
    ]


def test_sc003_passes(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        screens:
          - {id: choose2, type: sales_categories, title: Choose, categories: [main]}
          - {id: more2, type: addons, title: More, categories: [extras]}
        """,
    )
    assert full_store.lines() == []


# ---------------------------------------------------------------- SC004 periods

PLAN_PERIODS = """\
service_plans:
  - id: plan-b
    name: Plan B
    sku: sku-a
    subscription_period: {sub}
    billing_period: {bill}
    price: {{recurring: "5"}}
    published: false
"""


def test_sc004_fails_when_billed_longer_than_the_term(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        PLAN_PERIODS.format(sub="{length: 1, unit: month}", bill="{length: 1, unit: year}"),
    )
    assert full_store.lines() == [
        "s/t.yaml:6:21: SC004 service_plans.plan-b.billing_period: billing period 1 year does "
        "not divide the subscription period 1 month",
    ]


def test_sc004_fails_when_periods_do_not_divide(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        PLAN_PERIODS.format(sub="{length: 1, unit: year}", bill="{length: 5, unit: month}"),
    )
    assert full_store.lines() == [
        "s/t.yaml:6:21: SC004 service_plans.plan-b.billing_period: billing period 5 months "
        "does not divide the subscription period 1 year",
    ]


def test_sc004_passes(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        PLAN_PERIODS.format(sub="{length: 2, unit: year}", bill="{length: 3, unit: month}"),
    )
    assert full_store.lines() == []


# ---------------------------------------------------------------- SC005 add-on amounts

PLAN_ADDONS = """\
service_plans:
  - id: plan-b
    name: Plan B
    sku: sku-a
    subscription_period: {{length: 1, unit: year}}
    billing_period: {{length: 1, unit: month}}
    price: {{recurring: "5"}}
    published: false
    resources:
{addons}
"""


def test_sc005_fails(full_store: Store) -> None:
    addons = "\n".join(
        [
            '      - {id: a1, name: A1, unit: user, min: 2, included: 1, price: {recurring: "1"}}',
            '      - {id: a2, name: A2, unit: user, included: 20, max: 10, price: {recurring: "1"}}',
            '      - {id: a3, name: A3, unit: GB, min: 5, max: 3, included: 4, price: {recurring: "1"}}',
        ]
    )
    full_store.write("t.yaml", PLAN_ADDONS.format(addons=addons))
    assert full_store.lines() == [
        "s/t.yaml:10:58: SC005 service_plans.plan-b.resources[0].included: "
        "add-on a1: included 1 is below min 2",
        "s/t.yaml:11:50: SC005 service_plans.plan-b.resources[1].included: "
        "add-on a2: included 20 is above max 10",
        "s/t.yaml:12:43: SC005 service_plans.plan-b.resources[2].min: "
        "add-on a3: min 5 is above max 3",
        "s/t.yaml:12:64: SC005 service_plans.plan-b.resources[2].included: "
        "add-on a3: included 4 is above max 3",
        "s/t.yaml:12:64: SC005 service_plans.plan-b.resources[2].included: "
        "add-on a3: included 4 is below min 5",
    ]


def test_sc005_passes(full_store: Store) -> None:
    addons = "\n".join(
        [
            '      - {id: a1, name: A1, unit: user, min: 1, included: 1, max: 1, price: {recurring: "1"}}',
            '      - {id: a2, name: A2, unit: GB, price: {recurring: "1"}}',
        ]
    )
    full_store.write("t.yaml", PLAN_ADDONS.format(addons=addons))
    assert full_store.lines() == []


# ---------------------------------------------------------------- SC006 upgrades

PLAN_UPGRADES = """\
service_plans:
  - id: plan-x
    name: Plan X
    sku: sku-a
    subscription_period: {{length: 1, unit: year}}
    billing_period: {{length: 1, unit: month}}
    price: {{recurring: "5"}}
    published: false
    upgrades_to: [{x}]
  - id: plan-y
    name: Plan Y
    sku: sku-a
    subscription_period: {{length: 1, unit: year}}
    billing_period: {{length: 1, unit: month}}
    price: {{recurring: "5"}}
    published: false
    upgrades_to: [{y}]
"""


def test_sc006_fails_on_self_upgrade(full_store: Store) -> None:
    full_store.write("t.yaml", PLAN_UPGRADES.format(x="plan-x", y="plan-a"))
    assert full_store.lines() == [
        "s/t.yaml:9:19: SC006 service_plans.plan-x.upgrades_to[0]: a plan cannot upgrade to itself",
    ]


def test_sc006_fails_on_cycle(full_store: Store) -> None:
    full_store.write("t.yaml", PLAN_UPGRADES.format(x="plan-a, plan-y", y="plan-x"))
    assert full_store.lines() == [
        "s/t.yaml:9:27: SC006 service_plans.plan-x.upgrades_to[1]: "
        "upgrade path forms a cycle: plan-x -> plan-y -> plan-x",
    ]


def test_sc006_passes(full_store: Store) -> None:
    full_store.write("t.yaml", PLAN_UPGRADES.format(x="plan-y, plan-a", y="plan-a"))
    assert full_store.lines() == []


# ---------------------------------------------------------------- SC007 tax overlaps


def test_sc007_fails(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        tax_rules:
          - {id: ny-1, region: US-NY, rate: "4"}
          - {id: ny-2, region: US-NY, rate: "4.5"}
          - {id: wa-1, region: US-WA, rate: "6.5", applies_to: {sales_categories: [main]}}
          - {id: wa-2, region: US-WA, rate: "1", applies_to: {sales_categories: [extras, main]}}
        """,
    )
    assert full_store.lines() == [
        "s/t.yaml:3:24: SC007 tax_rules.ny-2.region: overlaps tax rule ny-1: same region US-NY "
        "and priority 0 and both apply to the same sales categories",
        "s/t.yaml:5:24: SC007 tax_rules.wa-2.region: overlaps tax rule wa-1: same region US-WA "
        "and priority 0 and both apply to the same sales categories",
    ]


def test_sc007_passes(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        tax_rules:
          - {id: ny-1, region: US-NY, rate: "4"}
          - {id: ny-2, region: US-NY, rate: "4.5", priority: 1, compound: true}
          - {id: wa-1, region: US-WA, rate: "6.5", applies_to: {sales_categories: [main]}}
          - {id: wa-2, region: US-WA, rate: "1", applies_to: {sales_categories: [extras]}}
        """,
    )
    assert full_store.lines() == []


# ---------------------------------------------------------------- SC008 ACH


def test_sc008_fails(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        payment_methods:
          - {id: ach, type: ach, regions: [US, CA, US-NY, NO]}
        """,
    )
    assert full_store.lines() == [
        "s/t.yaml:2:40: SC008 payment_methods.ach.regions[1]: "
        "ACH is only available in the US, not in CA",
        "s/t.yaml:2:51: SC008 payment_methods.ach.regions[3]: "
        "ACH is only available in the US, not in NO",
    ]


def test_sc008_passes(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        payment_methods:
          - {id: ach, type: ach, regions: [US, US-NY]}
          - {id: debit, type: debit_card, regions: [CA, NO]}
        """,
    )
    assert full_store.lines() == []


# ---------------------------------------------------------------- SC009 default scenario


def test_sc009_fails_on_two_defaults(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        purchase_scenarios:
          - {id: express, screens: [pay, done], default: true}
        """,
    )
    assert full_store.lines() == [
        "s/t.yaml:2:50: SC009 purchase_scenarios.express.default: "
        "more than one default purchase scenario (also standard)",
    ]


def test_sc009_fails_without_a_default(store: Store) -> None:
    store.write(
        "t.yaml",
        """\
        screens:
          - {id: pay, type: payment, title: Pay}
          - {id: done, type: checkout, title: Done}
        purchase_scenarios:
          - {id: express, screens: [pay, done]}
          - {id: other, screens: [pay, done]}
        """,
    )
    assert store.lines() == [
        "s/t.yaml:5:5: SC009 purchase_scenarios.express: no purchase scenario is the default: "
        "2 have no applies_to (express, other); set default: true on one, or give the others "
        "applies_to",
    ]


def test_sc009_fails_when_every_scenario_has_applies_to(full_store: Store) -> None:
    full_store.write(
        "base.yaml",
        full_store.root.joinpath("base.yaml")
        .read_text()
        .replace("default: true}", "applies_to: {sales_categories: [main]}}"),
    )
    assert full_store.lines() == [
        "s/base.yaml:27:5: SC009 purchase_scenarios.standard: no purchase scenario is the "
        "default: every one has applies_to; leave applies_to off the one for all other "
        "products (or set default: true on it)",
    ]


def test_sc009_fails_on_a_default_with_applies_to(full_store: Store) -> None:
    full_store.write(
        "base.yaml",
        full_store.root.joinpath("base.yaml")
        .read_text()
        .replace("default: true}", "default: true, applies_to: {sales_categories: [main]}}"),
    )
    assert full_store.lines() == [
        "s/base.yaml:27:97: SC009 purchase_scenarios.standard.applies_to: the default scenario "
        "serves every sales category without a scenario of its own; remove applies_to, or "
        "default: true",
    ]


def test_sc009_fails_with_screens_but_no_scenario(store: Store) -> None:
    store.write(
        "t.yaml",
        """\
        screens:
          - {id: pay, type: payment, title: Pay}
        """,
    )
    assert store.lines() == [
        "s/t.yaml:2:5: SC009 screens.pay: the store has screens but no purchase scenario; "
        "add one without applies_to (the default)",
    ]


def test_sc009_passes(store: Store) -> None:
    store.write(
        "t.yaml",
        """\
        screens:
          - {id: pay, type: payment, title: Pay}
          - {id: done, type: checkout, title: Done}
        purchase_scenarios:
          - {id: express, screens: [pay, done], default: true}
        """,
    )
    assert store.lines() == []


def test_sc009_passes_with_one_scenario_without_applies_to(full_store: Store) -> None:
    # the scenario without applies_to is the default; default: true is optional
    full_store.write(
        "base.yaml",
        full_store.root.joinpath("base.yaml").read_text().replace(", default: true}", "}"),
    )
    full_store.write(
        "t.yaml",
        """\
        sales_categories:
          - {id: second, name: Second, type: services, plans: [plan-a]}
        purchase_scenarios:
          - {id: for-second, screens: [pay, done], applies_to: {sales_categories: [second]}}
        """,
    )
    assert full_store.lines() == []


# ---------------------------------------------------------------- SC010 uncategorized plan


def test_sc010_fails_as_a_warning(full_store: Store) -> None:
    full_store.write("t.yaml", PLAN_B.format(sku="sku-a", upgrade="").replace("false", "true"))
    result = full_store.compile()
    assert [d.format() for d in result.diagnostics] == [
        "s/t.yaml:2:5: SC010 service_plans.plan-b: warning: published plan is in no sales "
        "category, so customers cannot find it; add it to a category or set published: false",
    ]
    assert result.ok and result.desired is not None  # a warning does not fail the compile


def test_sc010_passes(full_store: Store) -> None:
    full_store.write("t.yaml", PLAN_B.format(sku="sku-a", upgrade=""))  # published: false
    assert full_store.lines() == []


# ---------------------------------------------------------------- SC011 category tree


def test_sc011_fails(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        sales_categories:
          - {id: cat-a, name: A, type: services, plans: [], parent: cat-b}
          - {id: cat-b, name: B, type: services, plans: [], parent: cat-a}
          - {id: cat-c, name: C, type: services, plans: [], parent: cat-c}
          - {id: cat-d, name: D, type: services, plans: [], parent: main}
        """,
    )
    lines = full_store.lines()
    assert [line for line in lines if " SC011 " in line] == [
        "s/base.yaml:17:51: SC011 sales_categories.main.plans: has subcategories (cat-d), so "
        "it cannot list plans; move the plans into a subcategory",
        "s/t.yaml:2:61: SC011 sales_categories.cat-a.parent: "
        "parent categories form a cycle: cat-a -> cat-b -> cat-a",
        "s/t.yaml:4:61: SC011 sales_categories.cat-c.parent: a category cannot be its own parent",
    ]
    assert [line.split()[1] for line in lines if " SC011 " not in line] == ["SC023"]


def test_sc011_passes(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        sales_categories:
          - {id: top, name: Top, type: services, plans: []}
          - {id: sub-a, name: A, type: services, plans: [plan-a], parent: top, position: 1}
          - {id: sub-b, name: B, type: services, plans: [plan-a], parent: top, position: 2}
        """,
    )
    assert full_store.lines() == []


# ---------------------------------------------------------------- SC012 duplicate IDs


def test_sc012_fails_across_files(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        skus:
          - {id: sku-a, name: Again, vendor: Contoso, source: custom}
        """,
    )
    assert full_store.lines() == [
        "s/t.yaml:2:10: SC012 skus.sku-a: skus.sku-a is already defined at s/base.yaml:2",
    ]


def test_sc012_fails_in_one_file(store: Store) -> None:
    store.write(
        "t.yaml",
        """\
        skus:
          - {id: dup, name: One, vendor: Contoso, source: custom}
          - {id: dup, name: Two, vendor: Contoso, source: custom}
        """,
    )
    assert store.lines() == [
        "s/t.yaml:3:10: SC012 skus.dup: skus.dup is already defined at s/t.yaml:2",
    ]


def test_sc012_passes_for_same_id_in_different_kinds(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        resource_categories:
          - {id: sku-a, name: Same ID in another kind}
        """,
    )
    assert full_store.lines() == []


# ---------------------------------------------------------------- SC013 duplicate add-on


def test_sc013_fails(full_store: Store) -> None:
    addons = "\n".join(
        [
            '      - {id: users, name: Users, unit: user, price: {recurring: "1"}}',
            '      - {id: users, name: More users, unit: user, price: {recurring: "2"}}',
        ]
    )
    full_store.write("t.yaml", PLAN_ADDONS.format(addons=addons))
    assert full_store.lines() == [
        "s/t.yaml:11:14: SC013 service_plans.plan-b.resources[1].id: "
        "add-on users is defined twice in this plan (also at position 1)",
    ]


def test_sc013_passes(full_store: Store) -> None:
    addons = "\n".join(
        [
            '      - {id: users, name: Users, unit: user, price: {recurring: "1"}}',
            '      - {id: storage, name: Storage, unit: GB, price: {recurring: "2"}}',
        ]
    )
    full_store.write("t.yaml", PLAN_ADDONS.format(addons=addons))
    assert full_store.lines() == []


# ---------------------------------------------------------------- SC014 screen fields


def test_sc014_fails(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        screens:
          - {id: s1, type: sales_categories, title: No categories}
          - {id: s2, type: payment, title: Pay, categories: [main]}
          - {id: s3, type: terms, title: No terms}
          - {id: s4, type: checkout, title: Done, terms: [tos]}
        """,
    )
    assert full_store.lines() == [
        "s/t.yaml:2:5: SC014 screens.s1.categories: a sales_categories screen needs categories",
        "s/t.yaml:3:53: SC014 screens.s2.categories: "
        "a payment screen shows no sales categories; remove categories",
        "s/t.yaml:4:5: SC014 screens.s3.terms: a terms screen needs terms to accept",
        "s/t.yaml:5:50: SC014 screens.s4.terms: "
        "only terms screens list terms; this is a checkout screen",
    ]


def test_sc014_passes(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        screens:
          - {id: s1, type: sales_categories, title: Services, categories: [main]}
          - {id: s3, type: terms, title: Terms, terms: [tos]}
        """,
    )
    assert full_store.lines() == []


# ---------------------------------------------------------------- SC015 customization


def test_sc015_fails(store: Store) -> None:
    store.write(
        "t.yaml",
        """\
        customization:
          - {id: brand, store_title: Contoso, primary_color: "#112233"}
          - {id: brand-2, store_title: Contoso again}
        """,
    )
    assert store.lines() == [
        "s/t.yaml:3:5: SC015 customization.brand-2: "
        "a store has one customization resource; brand is already defined",
    ]


def test_sc015_passes(store: Store) -> None:
    store.write(
        "t.yaml",
        """\
        customization:
          - {id: brand, store_title: Contoso, primary_color: "#112233"}
        """,
    )
    assert store.lines() == []


# ---------------------------------------------------------------- SC016 regions


def test_sc016_fails(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        payment_methods:
          - {id: card-eu, type: credit_card, regions: [UK, QQ]}
        tax_rules:
          - {id: vat, region: UK, rate: "20"}
        """,
    )
    assert full_store.lines() == [
        "s/t.yaml:2:48: SC016 payment_methods.card-eu.regions[0]: "
        "UK is not an ISO 3166-1 country code; did you mean GB?",
        "s/t.yaml:2:52: SC016 payment_methods.card-eu.regions[1]: "
        "QQ is not an ISO 3166-1 country code",
        "s/t.yaml:4:23: SC016 tax_rules.vat.region: "
        "UK is not an ISO 3166-1 country code; did you mean GB?",
    ]


def test_sc016_passes(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        payment_methods:
          - {id: card-eu, type: credit_card, regions: [GB, "NO", DE, FR-75]}
        tax_rules:
          - {id: vat, region: GB, rate: "20"}
        """,
    )
    assert full_store.lines() == []


# ---------------------------------------------------------------- SC017 decimals

PLAN_PRICE = """\
service_plans:
  - id: plan-b
    name: Plan B
    sku: sku-a
    subscription_period: {{length: 1, unit: year}}
    billing_period: {{length: 1, unit: month}}
    price: {{setup: "{setup}", recurring: "{recurring}"}}
    published: false
    resources:
      - {{id: gb, name: GB, unit: GB, price: {{recurring: "{addon}"}}}}
"""


def test_sc017_fails_for_usd(full_store: Store) -> None:
    full_store.write("t.yaml", PLAN_PRICE.format(setup="1.005", recurring="2", addon="0.0001"))
    assert full_store.lines() == [
        "s/t.yaml:7:20: SC017 service_plans.plan-b.price.setup: "
        "amount '1.005' has 3 decimal places; USD allows 2",
        "s/t.yaml:10:57: SC017 service_plans.plan-b.resources[0].price.recurring: "
        "amount '0.0001' has 4 decimal places; USD allows 2",
    ]


def test_sc017_fails_for_jpy(store: Store) -> None:
    store.write("store.yaml", STORE_YAML.replace("USD", "JPY"))
    store.write(
        "t.yaml",
        "skus:\n  - {id: sku-a, name: SKU A, vendor: Contoso, source: custom}\n"
        + PLAN_PRICE.format(setup="0", recurring="1000.5", addon="10"),
    )
    assert store.lines() == [
        "s/t.yaml:9:36: SC017 service_plans.plan-b.price.recurring: "
        "amount '1000.5' has 1 decimal place; JPY allows 0",
    ]


def test_sc017_passes(full_store: Store) -> None:
    full_store.write("t.yaml", PLAN_PRICE.format(setup="1.5", recurring="2.99", addon="0"))
    assert full_store.lines() == []


# ---------------------------------------------------------------- SC018 currency


def test_sc018_fails(store: Store) -> None:
    store.write("store.yaml", STORE_YAML.replace("USD", "XYZ"))
    assert store.lines() == [
        "s/store.yaml:2:53: SC018 store.currency: XYZ is not an ISO 4217 currency code",
    ]


def test_sc018_passes(store: Store) -> None:
    store.write("store.yaml", STORE_YAML.replace("USD", "KWD"))
    assert store.lines() == []


# ---------------------------------------------------------------- SC019 ignore_changes paths


def test_sc019_fails(store: Store) -> None:
    store.write(
        "plans.yaml",
        """\
        skus:
          - id: k
            name: K
            vendor: V
            source: custom
            lifecycle: {ignore_changes: [nmae, price.recurring]}
        service_plans:
          - id: p
            name: P
            sku: k
            subscription_period: {length: 1, unit: month}
            billing_period: {length: 1, unit: month}
            price: {recurring: "1"}
            published: false
            lifecycle: {ignore_changes: [price.recuring, name.first, resources.seats.mx]}
        """,
    )
    assert store.lines() == [
        "s/plans.yaml:6:34: SC019 skus.k.lifecycle.ignore_changes[0]: skus have no field 'nmae'; "
        "did you mean 'name'?",
        "s/plans.yaml:6:40: SC019 skus.k.lifecycle.ignore_changes[1]: skus have no field 'price'",
        "s/plans.yaml:15:34: SC019 service_plans.p.lifecycle.ignore_changes[0]: price has no field "
        "'recuring'; did you mean 'recurring'?",
        "s/plans.yaml:15:50: SC019 service_plans.p.lifecycle.ignore_changes[1]: name is a single "
        "value; it has no field 'first'",
        "s/plans.yaml:15:62: SC019 service_plans.p.lifecycle.ignore_changes[2]: resources.seats has "
        "no field 'mx'; did you mean 'max'?",
    ]


def test_sc019_passes(full_store: Store) -> None:
    base = (full_store.root / "base.yaml").read_text()
    full_store.write(
        "base.yaml",
        base.replace(
            'price: {setup: "0", recurring: "10"}',
            'price: {setup: "0", recurring: "10"}\n'
            "    lifecycle: {ignore_changes: [price.recurring, name, resources.seats.max, rules]}",
        ),
    )
    assert full_store.lines() == []


def test_sc003_names_a_resource_category_listed_on_a_screen(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        screens:
          - {id: more2, type: addons, title: More, categories: [seats]}
          - {id: choose2, type: sales_categories, title: Choose, categories: [seats]}
        """,
    )
    assert full_store.lines() == [
        "s/t.yaml:2:57: SC003 screens.more2.categories[0]: seats is a resource category "
        "(resource_categories.seats), not a sales category; an addons screen lists sales "
        "categories of type addons, which hold the add-on plans to up-sell; a plan's add-on "
        "resources are offered with the plan itself",
        "s/t.yaml:3:71: SC003 screens.choose2.categories[0]: seats is a resource category "
        "(resource_categories.seats), not a sales category; a sales_categories screen lists "
        "sales categories of type services",
    ]


def test_sc001_names_the_kind_of_a_category_of_the_other_kind(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        tax_rules:
          - {id: seats-tax, region: US-NY, rate: "4", applies_to: {sales_categories: [seats]}}
        """,
    )
    assert full_store.lines() == [
        "s/t.yaml:2:79: SC001 tax_rules.seats-tax.applies_to.sales_categories[0]: "
        "sales_categories.seats does not exist; seats is a resource category "
        "(resource_categories.seats), not a sales category",
    ]


# ---------------------------------------------------------------- SC020 unreachable scenario

SECOND_LINE = """\
skus:
  - {id: sku-b, name: SKU B, vendor: Impossible Cloud, source: distributor}
service_plans:
  - id: plan-b
    name: Plan B
    sku: sku-b
    subscription_period: {length: 1, unit: month}
    billing_period: {length: 1, unit: month}
    price: {recurring: "7"}
sales_categories:
  - {id: storage, name: Storage, type: services, plans: [plan-b]}
terms:
  - id: storage-terms
    title: Storage terms
    version: "1"
    url: https://example.com/storage
    applies_to: {sales_categories: [storage]}
screens:
  - {id: accept-storage, type: terms, title: Accept, terms: [storage-terms]}
purchase_scenarios:
  - id: storage-order
    screens: [cart, accept-storage, pay, done]
    applies_to: {sales_categories: [storage]}
"""


def test_sc020_fails_for_a_scenario_beside_the_default(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        purchase_scenarios:
          - {id: express, screens: [choose, pay, done]}
        """,
    )
    result = full_store.compile()
    assert [d.format() for d in result.diagnostics] == [
        "s/t.yaml:2:5: SC020 purchase_scenarios.express: warning: has no applies_to and is not "
        "the default (standard is), so no sales category leads to it; give it applies_to: "
        "{sales_categories: [...]}, or remove it",
    ]
    assert result.ok  # a warning: existing stores keep validating


def test_sc020_fails_when_no_category_leads_to_a_scenario(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        SECOND_LINE.replace("price: {recurring", "published: false\n    price: {recurring"),
    )
    full_store.write(
        "u.yaml",
        """\
        sales_categories:
          - {id: top, name: Top, type: services, plans: []}
          - {id: sub, name: Sub, type: services, plans: [plan-a], parent: top}
        purchase_scenarios:
          - {id: top-order, screens: [pay, done], applies_to: {sales_categories: [top]}}
          - {id: sub-order, screens: [choose, pay, done], applies_to: {sales_categories: [sub]}}
        """,
    )
    assert full_store.lines() == [
        "s/t.yaml:18:17: SC022 terms.storage-terms.applies_to: warning: applies_to names no "
        "published plan a buyer can reach, so no buyer sees these terms",
        "s/t.yaml:24:36: SC020 purchase_scenarios.storage-order.applies_to.sales_categories: "
        "warning: no sales category leads to this scenario: storage holds no published plans",
        "s/u.yaml:5:74: SC020 purchase_scenarios.top-order.applies_to.sales_categories: "
        "warning: no sales category leads to this scenario: the plans under top are in "
        "subcategories with scenarios of their own (sub-order)",
    ]


def test_sc020_passes(full_store: Store) -> None:
    full_store.write("t.yaml", SECOND_LINE)
    assert full_store.lines() == []


def test_sc020_is_an_error_under_strict(full_store: Store) -> None:
    from click.testing import CliRunner

    from storecfg.cli import cli

    full_store.write(
        "t.yaml",
        """\
        purchase_scenarios:
          - {id: express, screens: [choose, pay, done]}
        """,
    )
    assert CliRunner().invoke(cli, ["validate", "s"]).exit_code == 0
    strict = CliRunner().invoke(cli, ["validate", "--strict", "s"])
    assert strict.exit_code == 1
    assert "SC020 purchase_scenarios.express" in strict.output


# ---------------------------------------------------------------- SC021 applies_to conflicts


def test_sc021_fails(full_store: Store) -> None:
    full_store.write("t.yaml", SECOND_LINE)
    full_store.write(
        "u.yaml",
        """\
        purchase_scenarios:
          - id: again
            screens: [pay, done]
            applies_to: {sales_categories: [storage, extras]}
        """,
    )
    assert full_store.lines() == [
        "s/u.yaml:4:36: SC020 purchase_scenarios.again.applies_to.sales_categories: warning: no "
        "sales category leads to this scenario: storage leads to scenario storage-order; "
        "extras is an addons category",
        "s/u.yaml:4:37: SC021 purchase_scenarios.again.applies_to.sales_categories[0]: sales "
        "category storage is already in the applies_to of purchase scenario storage-order; a "
        "category leads to one scenario",
        "s/u.yaml:4:46: SC021 purchase_scenarios.again.applies_to.sales_categories[1]: sales "
        "category extras has type addons; applies_to names services categories, whose plans a "
        "buyer picks (add-on plans are bought in the scenario of the plan they go with)",
    ]


def test_sc021_passes(full_store: Store) -> None:
    full_store.write("t.yaml", SECOND_LINE)
    full_store.write(
        "u.yaml",
        """\
        sales_categories:
          - {id: more-storage, name: More storage, type: services, plans: [plan-b]}
        purchase_scenarios:
          - id: again
            screens: [pay, done]
            applies_to: {sales_categories: [more-storage]}
        """,
    )
    assert full_store.lines() == []


# ---------------------------------------------------------------- SC022 terms nobody sees


def test_sc022_fails(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        SECOND_LINE.replace("[cart, accept-storage, pay, done]", "[cart, pay, done]"),
    )
    base = full_store.root.joinpath("base.yaml").read_text()
    full_store.write("base.yaml", base.replace("terms: [tos]}", "terms: [tos, storage-terms]}"))
    full_store.write(
        "u.yaml",
        """\
        terms:
          - id: unlisted
            title: Unlisted
            version: "1"
            body: Never on a screen.
            applies_to: {plans: [plan-a]}
        """,
    )
    assert full_store.lines() == [
        "s/t.yaml:17:17: SC022 terms.storage-terms.applies_to: warning: buyers of these products "
        "walk purchase scenario storage-order, which lists these terms on no terms screen; add "
        "them to a terms screen there",
        "s/u.yaml:6:17: SC022 terms.unlisted.applies_to: warning: these terms are on no terms "
        "screen of a purchase scenario, so no buyer sees them; list them on a terms screen of "
        "the scenario for these products",
    ]


def test_sc022_passes(full_store: Store) -> None:
    full_store.write("t.yaml", SECOND_LINE)
    # terms for a plan, on the terms screen of the default scenario the plan leads to
    full_store.write(
        "u.yaml",
        """\
        terms:
          - id: plan-a-terms
            title: Plan A terms
            version: "1"
            url: https://example.com/a
            applies_to: {plans: [plan-a]}
        screens:
          - {id: accept-a, type: terms, title: Accept, terms: [plan-a-terms, tos]}
        purchase_scenarios:
          - {id: a-order, screens: [accept-a, pay, done], applies_to: {sales_categories: [main]}}
        """,
    )
    assert full_store.lines() == []


# ---------------------------------------------------------------- SC023 empty category


def test_sc023_fails(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        sales_categories:
          - {id: coming-soon, name: Coming soon, type: services, plans: []}
        """,
    )
    assert full_store.lines() == [
        "s/t.yaml:2:65: SC023 sales_categories.coming-soon.plans: services category lists no "
        "plans and has no subcategories, so customers would find it empty; add plans, or "
        "remove the category",
    ]


def test_sc023_passes(full_store: Store) -> None:
    # an empty addons category and a parent that holds subcategories are fine
    full_store.write(
        "t.yaml",
        """\
        sales_categories:
          - {id: more-extras, name: More extras, type: addons, plans: []}
          - {id: parent, name: Parent, type: services, plans: []}
          - {id: child, name: Child, type: services, plans: [plan-a], parent: parent}
        """,
    )
    assert full_store.lines() == []


# ---------------------------------------------------------------- SC024/SC025 order fields

ORDER_FIELDS_PLAN = """\
service_plans:
  - id: plan-o
    name: Plan O
    sku: sku-a
    subscription_period: {{length: 1, unit: month}}
    billing_period: {{length: 1, unit: month}}
    price: {{recurring: "5"}}
    published: false
    order_fields:
{fields}
"""


def test_sc024_fails(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        ORDER_FIELDS_PLAN.format(
            fields="""\
      - {id: tenant, label: Tenant domain, type: domain, pattern: "[a-z0-9-+\\\\.onmicrosoft\\\\.com"}
      - {id: csp, label: I authorize the partner, type: checkbox, required: true, pattern: "yes"}"""
        ),
    )
    lines = full_store.lines()
    assert len(lines) == 2
    # the reason comes from Python's re; only the start of the message is ours
    assert lines[0].startswith(
        "s/t.yaml:10:67: SC024 service_plans.plan-o.order_fields[0].pattern: order field "
        "tenant: pattern is not a valid regular expression: "
    )
    assert lines[0].endswith("(at character 1)")
    assert lines[1] == (
        "s/t.yaml:11:92: SC024 service_plans.plan-o.order_fields[1].pattern: order field csp "
        "is a checkbox: the buyer only ticks it, so it takes no pattern; remove pattern"
    )


def test_sc024_passes(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        ORDER_FIELDS_PLAN.format(
            fields="""\
      - {id: tenant, label: Tenant domain, type: domain, pattern: "[a-z0-9-]+\\\\.onmicrosoft\\\\.com"}
      - {id: csp, label: I authorize the partner, type: checkbox, required: true}"""
        ),
    )
    assert full_store.lines() == []


def test_sc025_fails(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        ORDER_FIELDS_PLAN.format(
            fields="""\
      - {id: name, label: Subscription name, type: text}
      - {id: name, label: Friendly name, type: text}"""
        ),
    )
    assert full_store.lines() == [
        "s/t.yaml:11:14: SC025 service_plans.plan-o.order_fields[1].id: order field name is "
        "defined twice in this plan (also at position 1)",
    ]


def test_sc025_passes(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        ORDER_FIELDS_PLAN.format(
            fields="""\
      - {id: name, label: Subscription name, type: text, required: true}
      - {id: contact, label: Technical contact, type: email}"""
        ),
    )
    assert full_store.lines() == []


# ---------------------------------------------------------------- SC026 early termination

EARLY_PLAN = """\
service_plans:
  - id: plan-e
    name: Plan E
    sku: sku-a
    subscription_period: {{length: 1, unit: year}}
    billing_period: {{length: 1, unit: month}}
    price: {price}
    published: false
    rules:
      early_termination: {early}
"""


def test_sc026_fails(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        EARLY_PLAN.format(price='{recurring: "5"}', early="{fee: fixed}")
        + EARLY_PLAN.format(
            price='{recurring: "5", cancellation: "20"}', early='{fee: none, amount: "10"}'
        )
        .replace("plan-e", "plan-f")
        .replace("service_plans:\n", ""),
    )
    assert full_store.lines() == [
        "s/t.yaml:10:26: SC026 service_plans.plan-e.rules.early_termination: fee fixed needs "
        'an amount, for example amount: "50.00"',
        "s/t.yaml:16:43: SC026 service_plans.plan-f.price.cancellation: price.cancellation and "
        "rules.early_termination both say what ending a subscription early costs; keep "
        "rules.early_termination and remove price.cancellation",
        "s/t.yaml:19:46: SC026 service_plans.plan-f.rules.early_termination.amount: amount is "
        "only for fee: fixed (fee none charges nothing); remove amount, or set fee: fixed",
    ]


def test_sc026_passes(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        EARLY_PLAN.format(price='{recurring: "5"}', early='{fee: fixed, amount: "50"}')
        + EARLY_PLAN.format(price='{recurring: "5"}', early="{fee: remaining_term}")
        .replace("plan-e", "plan-f")
        .replace("service_plans:\n", ""),
    )
    assert full_store.lines() == []


# ---------------------------------------------------------------- SC027 stacks


def test_sc027_fails(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        tax_rules:
          - {id: ca-gst, region: CA, rate: "5", stacks: true}
        """,
    )
    assert full_store.lines() == [
        "s/t.yaml:2:49: SC027 tax_rules.ca-gst.stacks: stacks is for subdivision rules (a CA-XX "
        "rule charged on top of this one); a rule for all of CA already applies wherever no "
        "subdivision rule replaces it; remove stacks",
    ]


def test_sc027_passes(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        tax_rules:
          - {id: ca-gst, region: CA, rate: "5"}
          - {id: ca-qc-qst, region: CA-QC, rate: "9.975", stacks: true}
          - {id: ca-on-hst, region: CA-ON, rate: "13", stacks: false}
        """,
    )
    assert full_store.lines() == []


# ---------------------------------------------------------------- SC028 ACH eligibility


def test_sc028_fails(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        payment_methods:
          - id: ach
            type: ach
            regions: [US]
            eligibility: {payment_terms: [net30, prepaid]}
        """,
    )
    assert full_store.lines() == [
        "s/t.yaml:5:42: SC028 payment_methods.ach.eligibility.payment_terms[1]: ACH pays the "
        "monthly invoice of accounts on Net terms; prepaid accounts pay every purchase by card, "
        "so they cannot use ACH; remove prepaid",
    ]


def test_sc028_passes(full_store: Store) -> None:
    full_store.write(
        "t.yaml",
        """\
        payment_methods:
          - id: ach
            type: ach
            regions: [US]
            eligibility: {payment_terms: [net30], customer_types: [business]}
          - id: card-prepaid
            type: credit_card
            regions: [US]
            eligibility: {payment_terms: [prepaid]}
        """,
    )
    assert full_store.lines() == []
