"""Guardrails for unattended applies, end to end on the embedded store and over HTTP:
--max-deletes on apply, policy.deletes, policy.unmanaged, whole-kind and whole-file
deletion warnings, write order under the store's reference checks, --reviewed, and
read-only tokens. Every refusal is checked to leave the store revision where it was."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from support.server import storecfg

from .conftest import Result, Target
from .stores import BASE, STORE_YAML, edit

# ------------------------------------------------------------------ helpers


def ok(result: Result, code: int = 0) -> Result:
    assert result.exit_code == code, result.output
    return result


def applied(t: Target, *args: str) -> Result:
    return ok(t.cli("apply", "s", "--auto-approve", *args))


def revision(t: Target) -> int:
    return t.read().revision


def with_policy(policy: str, store_yaml: str = STORE_YAML) -> dict[str, str]:
    return {**BASE, "store.yaml": store_yaml + policy}


def out_of_band_create(t: Target, kind: str, rid: str, spec: dict[str, Any]) -> None:
    """Somebody creates a resource in the control panel."""
    driver = t.driver()
    try:
        driver.put(t.store_id, kind, rid, spec, create=True)
    finally:
        driver.close()


def touch(t: Target, kind: str, rid: str) -> None:
    """An out-of-band write that changes nothing but the revisions (an unrelated merge)."""
    driver = t.driver()
    try:
        item = driver.get(t.store_id, kind, rid)
        assert item is not None
        driver.put(t.store_id, kind, rid, item.spec, if_match=item.revision)
    finally:
        driver.close()


# ------------------------------------------------------------------ --max-deletes


def test_apply_max_deletes_counts_a_replace_and_writes_nothing(target: Target) -> None:
    applied(target)
    edit(target.store_dir, "storefront.yaml", "region: US-CA", "region: US-NY")  # replace
    edit(
        target.store_dir,
        "catalog.yaml",
        "vendor: Contoso, source: custom}\n  - {id: sku-pro",
        "vendor: Other, source: custom}\n  - {id: sku-pro",
    )  # replace, referred to by a plan
    before = revision(target)
    result = ok(target.run("apply", "s", "--auto-approve", "--max-deletes", "1"), 1)
    assert (
        "Error: the plan deletes or replaces 2 resources, more than --max-deletes 1: "
        "tax_rules.us-ca, skus.sku-basic"
        in result.stderr
        or "more than --max-deletes 1: skus.sku-basic, tax_rules.us-ca" in result.stderr
    ), result.stderr
    assert "--max-deletes 2" in result.stderr  # the option that would allow it
    assert revision(target) == before
    result = ok(target.run("apply", "s", "--auto-approve", "--max-deletes", "2"))
    assert "2 replaced" in result.stdout
    ok(target.cli("plan", "s", "--detailed-exitcode"))


def test_apply_planfile_honours_max_deletes(target: Target) -> None:
    applied(target)
    edit(
        target.store_dir,
        "storefront.yaml",
        "  - {id: card, type: credit_card, regions: [US]}\n",
        "",
    )
    ok(target.cli("plan", "s", "-o", "p.json"))
    before = revision(target)
    result = ok(target.cli("apply", "p.json", "--max-deletes", "0"), 1)
    assert "payment_methods.card" in result.stderr and "--max-deletes 1" in result.stderr
    assert revision(target) == before
    ok(target.cli("apply", "p.json", "--max-deletes", "1"))


# ------------------------------------------------------------------ policy.deletes


def test_policy_deletes_deny_refuses_until_allowed(target: Target) -> None:
    target.write(with_policy("policy: {deletes: deny}\n"))
    applied(target)
    edit(
        target.store_dir,
        "storefront.yaml",
        "  - {id: card, type: credit_card, regions: [US]}\n",
        "",
    )
    edit(target.store_dir, "storefront.yaml", "region: US-CA", "region: US-NY")
    before = revision(target)
    for command in (("plan", "s"), ("apply", "s", "--auto-approve")):
        result = ok(target.run(*command), 1)
        assert "policy.deletes: deny" in result.stderr
        assert "payment_methods.card" in result.stderr and "tax_rules.us-ca" in result.stderr
        assert "--allow-deletes" in result.stderr
        assert "Traceback" not in result.stderr
    for fmt in ("json", "markdown"):
        ok(target.cli("plan", "s", "--format", fmt), 1)
    assert revision(target) == before
    ok(target.cli("plan", "s", "--allow-deletes"))
    result = ok(target.run("apply", "s", "--auto-approve", "--allow-deletes"))
    assert "1 deleted, 1 replaced" in result.stdout
    # creates and updates are never held back
    edit(target.store_dir, "catalog.yaml", 'recurring: "20.00"', 'recurring: "21.00"')
    applied(target)


def test_a_policy_with_a_typo_is_a_precise_error(target: Target) -> None:
    target.write(with_policy("policy: {deletes: never, unmanaged: [payment_method.x-*]}\n"))
    result = ok(target.cli("validate", "s"), 1)
    lines = result.stdout.splitlines()
    assert any(
        line.startswith("s/store.yaml:4:") and "SC304" in line and "policy.deletes" in line
        for line in lines
    ), lines
    assert any(
        "SC402" in line
        and "unknown resource kind 'payment_method'" in line
        and "payment_methods" in line
        for line in lines
    ), lines


# ------------------------------------------------------------------ policy.unmanaged

INTERAC = {"type": "credit_card", "regions": ["CA"], "name": "Interac (set up by hand)"}


def test_unmanaged_resources_are_left_alone_and_listed_once(target: Target) -> None:
    applied(target)
    out_of_band_create(target, "payment_methods", "interac-ca", INTERAC)
    # without a policy, the next apply would delete it
    plain = ok(target.cli("plan", "s", "--format", "json"))
    assert "payment_methods.interac-ca" in [
        c["address"] for c in json.loads(plain.stdout)["changes"] if c["action"] == "delete"
    ]
    target.write(with_policy("policy:\n  unmanaged: [payment_methods.interac-*]\n"))
    before = revision(target)
    doc = json.loads(ok(target.cli("plan", "s", "--format", "json", "--detailed-exitcode")).stdout)
    assert doc["unmanaged"] == [
        {"address": "payment_methods.interac-ca", "pattern": "payment_methods.interac-*"}
    ]
    assert "payment_methods.interac-ca" not in [c["address"] for c in doc["changes"]]
    assert doc["deletion_warning"] is None
    text = ok(target.run("plan", "s")).stdout
    assert text.count("payment_methods.interac-ca") == 1
    assert "Resources not managed here (policy.unmanaged), left as they are (1):" in text
    markdown = ok(target.cli("plan", "s", "--format", "markdown")).stdout
    assert markdown.count("payment_methods.interac-ca") == 1
    assert "Resources not managed here (policy.unmanaged): 1" in markdown
    # a real change next to it: applied, the unmanaged method untouched
    edit(target.store_dir, "catalog.yaml", 'recurring: "20.00"', 'recurring: "21.00"')
    ok(target.run("apply", "s", "--auto-approve"))
    live = target.read()
    assert live.revision == before + 1
    assert live.resources["payment_methods"]["interac-ca"].spec["name"] == INTERAC["name"]


def test_a_defined_resource_matching_an_unmanaged_pattern_is_an_error(target: Target) -> None:
    target.write(with_policy("policy:\n  unmanaged: [payment_methods]\n"))
    result = ok(target.cli("validate", "s"), 1)
    assert (
        "s/storefront.yaml:19:10: SC401 payment_methods.card: payment_methods.card matches the "
        "policy.unmanaged pattern 'payment_methods' in store.yaml" in result.stdout
    ), result.stdout
    ok(target.cli("plan", "s"), 1)


# (a services category needs plans: an empty one is SC023)
PROMO = "  - {id: promo, name: Promo, type: services, plans: [basic]}\n"


def test_references_across_the_unmanaged_line_are_checked_before_writing(
    target: Target,
) -> None:
    files = with_policy("policy:\n  unmanaged: [tax_rules.legacy-*, terms.vendor-*]\n")
    files["storefront.yaml"] = files["storefront.yaml"].replace(
        "  - {id: extras,", PROMO + "  - {id: extras,"
    )
    target.write(files)
    applied(target)
    out_of_band_create(
        target,
        "tax_rules",
        "legacy-ny",
        {"region": "US-NY", "rate": "4", "applies_to": {"sales_categories": ["promo"]}},
    )
    # the definition may name an unmanaged resource: it is checked in the live store
    edit(target.store_dir, "storefront.yaml", "terms: [tos]}", "terms: [tos, vendor-msft]}")
    assert ok(target.cli("validate", "s")).exit_code == 0
    before = revision(target)
    result = ok(target.cli("apply", "s", "--auto-approve"), 1)
    assert "screens.accept refers to terms.vendor-msft, which is not managed here" in result.stderr
    out_of_band_create(
        target,
        "terms",
        "vendor-msft",
        {"title": "MCA", "version": "1", "url": "https://example.com/mca"},
    )
    applied(target)
    # deleting what an unmanaged resource still names is refused before any write
    edit(target.store_dir, "storefront.yaml", PROMO, "")
    before = revision(target)
    result = ok(target.run("apply", "s", "--auto-approve"), 1)
    assert (
        "tax_rules.legacy-ny (not managed here) refers to sales_categories.promo, which the plan deletes"
        in result.stderr
    ), result.stderr
    assert revision(target) == before


# ------------------------------------------------------------------ deletion warnings

SPLIT_STORE_YAML = """\
apiVersion: storecfg/v1
store: {id: test-store, name: Test Store, currency: USD, locales: [en-US]}
include: [catalog.yaml, storefront.yaml, tax.yaml]
"""
TAX_YAML = """\
tax_rules:
  - {id: us-ny, region: US-NY, rate: "4"}
  - {id: us-tx, region: US-TX, rate: "6.25"}
"""


def test_removing_an_include_line_is_announced_at_the_top_of_every_format(
    target: Target,
) -> None:
    target.write({**BASE, "store.yaml": SPLIT_STORE_YAML, "tax.yaml": TAX_YAML})
    applied(target)
    edit(target.store_dir, "store.yaml", ", tax.yaml]", "]")
    warning = (
        "Warning: this plan deletes every resource from tax.yaml (2), a file that is no longer "
        "part of the definition."
    )
    text = ok(target.run("plan", "s")).stdout
    assert text.splitlines()[0] == warning
    doc = json.loads(ok(target.cli("plan", "s", "--format", "json")).stdout)
    assert next(iter(doc)) == "deletion_warning" and doc["deletion_warning"] == warning
    markdown = ok(target.cli("plan", "s", "--format", "markdown")).stdout
    assert (
        markdown.splitlines()[0] == "**:warning: " + warning.replace("Warning: this", "This") + "**"
    )
    # us-ca (from storefront.yaml) stays: not every tax rule goes
    assert "every tax_rules" not in text
    # and with the file gone from disk too, the same
    (target.store_dir / "tax.yaml").unlink()
    assert ok(target.cli("plan", "s")).stdout.splitlines()[0] == warning


def test_deleting_every_resource_of_a_kind_is_announced(target: Target) -> None:
    applied(target)
    edit(
        target.store_dir,
        "storefront.yaml",
        '  - {id: us-ca, region: US-CA, rate: "7.25", applies_to: {sales_categories: [apps]}}\n',
        "",
    )
    text = ok(target.cli("plan", "s")).stdout
    assert text.splitlines()[0] == (
        "Warning: this plan deletes every tax_rules resource in the store (1)."
    )
    edit(target.store_dir, "catalog.yaml", 'recurring: "20.00"', 'recurring: "21.00"')
    applied(target)
    no_delete = ok(target.cli("plan", "s", "--format", "json"))
    assert json.loads(no_delete.stdout)["deletion_warning"] is None


# ------------------------------------------------------------------ write order


def test_a_category_update_and_the_delete_it_enables_apply_in_one_go(target: Target) -> None:
    applied(target)
    # `basic` goes; `starter` comes; the category lists starter instead
    edit(
        target.store_dir,
        "storefront.yaml",
        "plans: [basic, pro, enterprise]",
        "plans: [starter, pro, enterprise]",
    )
    text = (target.store_dir / "catalog.yaml").read_text()
    start = text.index("  - id: basic")
    end = text.index("  - id: pro")
    starter = (
        "  - id: starter\n    name: Starter\n    sku: sku-basic\n"
        "    subscription_period: {length: 1, unit: month}\n"
        "    billing_period: {length: 1, unit: month}\n"
        '    price: {setup: "0.00", recurring: "9.00"}\n    upgrades_to: [pro]\n'
    )
    (target.store_dir / "catalog.yaml").write_text(text[:start] + starter + text[end:])
    result = ok(target.run("apply", "s", "--auto-approve"))
    assert "1 created, 1 updated, 1 deleted" in result.stdout
    live = target.read()
    assert live.resources["sales_categories"]["apps"].spec["plans"] == [
        "starter",
        "pro",
        "enterprise",
    ]
    assert "basic" not in live.resources["service_plans"]
    ok(target.cli("plan", "s", "--detailed-exitcode"))


# ------------------------------------------------------------------ --reviewed


def test_reviewed_plan_survives_an_unrelated_change_but_not_a_different_one(
    target: Target,
) -> None:
    applied(target)
    edit(target.store_dir, "catalog.yaml", 'recurring: "20.00"', 'recurring: "22.00"')
    ok(target.cli("plan", "s", "-o", "reviewed.json"))
    touch(target, "terms", "tos")  # something unrelated lands in between
    stale = ok(target.cli("apply", "reviewed.json"), 1)
    assert "the plan is stale" in stale.stderr  # the plain refusal is unchanged

    # the definition now makes another change as well: refused, listing it
    edit(target.store_dir, "catalog.yaml", 'recurring: "40.00"', 'recurring: "41.00"')
    before = revision(target)
    result = ok(target.run("apply", "s", "--reviewed", "reviewed.json"), 1)
    assert "differ from the reviewed plan reviewed.json (1 difference)" in result.stderr
    assert "service_plans.pro: update is new (not in the reviewed plan)" in result.stderr
    assert revision(target) == before
    # the same address, another result
    edit(target.store_dir, "catalog.yaml", 'recurring: "41.00"', 'recurring: "40.00"')
    edit(target.store_dir, "catalog.yaml", 'recurring: "22.00"', 'recurring: "23.00"')
    result = ok(target.cli("apply", "s", "--reviewed", "reviewed.json"), 1)
    assert (
        "service_plans.basic: update with another result than reviewed (price.recurring)"
        in result.stderr
    ), result.stderr
    assert revision(target) == before

    # exactly the reviewed change: applied although the store moved since the review
    edit(target.store_dir, "catalog.yaml", 'recurring: "23.00"', 'recurring: "22.00"')
    result = ok(target.run("apply", "s", "--reviewed", "reviewed.json"))
    assert "Apply complete: 0 created, 1 updated, 0 deleted." in result.stdout
    assert target.read().resources["service_plans"]["basic"].spec["price"]["recurring"] == "22.00"


def test_reviewed_needs_a_directory_and_a_plan_for_its_store(target: Target) -> None:
    applied(target)
    edit(target.store_dir, "catalog.yaml", 'recurring: "20.00"', 'recurring: "22.00"')
    ok(target.cli("plan", "s", "-o", "reviewed.json"))
    result = ok(target.cli("apply", "reviewed.json", "--reviewed", "reviewed.json"), 1)
    assert "give the directory" in result.stderr
    doc = json.loads((target.workdir / "reviewed.json").read_text())
    doc["checksum"] = "sha256:0"
    (target.workdir / "edited.json").write_text(json.dumps(doc))
    result = ok(target.cli("apply", "s", "--reviewed", "edited.json"), 1)
    assert "changed after it was made" in result.stderr


# ------------------------------------------------------------------ read-only tokens


def test_a_read_only_token_plans_but_cannot_apply(http_target: Target) -> None:
    t = http_target
    applied(t)
    assert t.server is not None
    made = storecfg(
        "token", "create", "--db", str(t.server.db), "--store", t.store_id, "--read-only"
    )
    assert made.returncode == 0, made.stderr
    reader = {**t.env, "STORECFG_TOKEN": made.stdout.strip()}
    edit(t.store_dir, "catalog.yaml", 'recurring: "20.00"', 'recurring: "21.00"')
    planned = storecfg("plan", "s", "--detailed-exitcode", cwd=t.workdir, env=reader)
    assert planned.returncode == 2, planned.stderr
    before = revision(t)
    refused = storecfg("apply", "s", "--auto-approve", cwd=t.workdir, env=reader)
    assert refused.returncode == 1
    assert "403" in refused.stderr and "read-only" in refused.stderr
    assert made.stdout.strip() not in refused.stderr + refused.stdout
    assert revision(t) == before


@pytest.mark.parametrize("flag", ["--allow-deletes", "--max-deletes"])
def test_delete_options_are_documented_in_help(flag: str, tmp_path: Path) -> None:
    for command in ("plan", "apply"):
        result = storecfg(command, "--help", cwd=tmp_path)
        assert flag in result.stdout
