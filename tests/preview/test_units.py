"""The preview's parts alone: wording of amounts and periods, the HTML cleaner, and the
site built from specs with every optional field a store may use."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from apply.stores import base_desired, live_of
from storecfg.model import DesiredState
from storecfg.preview import build_site, render_pages
from storecfg.preview import text as t
from storecfg.preview.sanitize import color, safe_html, text_on
from support.html import parse


@pytest.mark.parametrize(
    ("subscription", "billing", "expected"),
    [
        ({"length": 1, "unit": "year"}, {"length": 1, "unit": "month"}, "1-year term, billed monthly"),
        ({"length": 1, "unit": "month"}, {"length": 1, "unit": "month"}, "1-month term"),
        ({"length": 3, "unit": "year"}, {"length": 1, "unit": "year"}, "3-year term, billed yearly"),
        ({"length": 1, "unit": "year"}, {"length": 3, "unit": "month"}, "1-year term, billed every 3 months"),
        ({"length": 30, "unit": "day"}, None, "30-day term"),
        (None, None, ""),
    ],
)  # fmt: skip
def test_term(subscription: object, billing: object, expected: str) -> None:
    assert t.term(subscription, billing) == expected


def test_amounts_periods_and_quantities() -> None:
    assert t.money("EUR", "8.00") == "EUR 8.00"
    assert t.per_period({"length": 1, "unit": "month"}) == "per month"
    assert t.per_period({"length": 6, "unit": "month"}) == "per 6 months"
    assert t.per_period("garbage") == ""
    assert t.percent_change("20.00", "22.00") == "+10.0%"
    assert t.percent_change("0.00", "5.00") == ""
    assert t.quantity({"unit": "GB", "max": 100}) == "0 to 100 GB"
    assert t.quantity({"unit": "user", "included": 5, "min": 1}) == "5 included; at least 1 users"
    assert t.quantity({"unit": "connector"}) == "any number of connectors"
    assert t.start_quantity({"unit": "user", "included": 1, "min": 1}) == "1 user"
    assert t.start_quantity({"unit": "seat", "min": 5}) == "5 seats"
    assert t.start_quantity({"unit": "GB"}) == ""


def test_rule_notes() -> None:
    plan = {
        "rules": {
            "max_active_subscriptions_per_customer": 1,
            "max_quantity_per_order": 1,
            "reseller_self_order": False,
            "cancellation": "requires_approval",
            "provisioning": "manual",
            "early_termination": {"fee": "fixed", "amount": "50.00"},
        },
        "auto_renew": False,
    }
    assert t.rule_notes(plan, "USD") == [
        "One active subscription per customer",
        "One per order",
        "Resellers cannot order it for themselves",
        "Cancellation needs an account manager's approval",
        "Set up by an operator after the order (manual provisioning)",
        "Early termination fee: USD 50.00",
        "Does not renew automatically",
    ]
    assert t.rule_notes({"rules": None}, "USD") == []


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<p>Fast <b>and</b> cheap</p>", "<p>Fast <b>and</b> cheap</p>"),
        ("plain & simple", "plain &amp; simple"),
        ('<p class="x" style="background:url(http://a)">x</p>', "<p>x</p>"),
        ("<script>alert(1)</script>ok", "ok"),
        ("<SCRIPT>alert(1)</SCRIPT>ok", "ok"),
        ('<img src="https://t.example/p.gif" onerror="x()">ok', "ok"),
        ('<a href="javascript:alert(1)">x</a>', "<a>x</a>"),
        ('<a href=" https://e.com/?a=1&b=2">x</a>', '<a href="https://e.com/?a=1&amp;b=2" rel="noopener noreferrer">x</a>'),
        ('<a href="mailto:a@b.c">mail</a>', '<a href="mailto:a@b.c" rel="noopener noreferrer">mail</a>'),
        ("<p>open <em>never closed", "<p>open <em>never closed</em></p>"),
        ("<ul><li>a<li>b</ul>", "<ul><li>a<li>b</li></li></ul>"),
        ("</p>stray close", "stray close"),
        ("<iframe src=x><p>hidden</p></iframe>shown", "shown"),
        ("<style>@import url(x)</style><svg><circle/></svg>x", "x"),
        ("a<br/>b<hr>", "a<br>b<hr>"),
        ("&lt;script&gt;", "&lt;script&gt;"),
        (None, ""),
    ],
)  # fmt: skip
def test_safe_html(html: str | None, expected: str) -> None:
    assert str(safe_html(html)) == expected


def test_colours() -> None:
    assert color("#0F4C81", "#000000") == "#0F4C81"
    assert color("red; background: url(x)", "#123456") == "#123456"
    assert color(None, "#123456") == "#123456"
    assert text_on("#0F4C81") == "#ffffff"
    assert text_on("#F2A900") == "#000000"


def _store_with_everything(tmp_path: Path) -> DesiredState:
    """BASE plus the optional fields of later releases, written straight into the specs."""
    desired = base_desired(tmp_path)
    res = desired.resources
    res["service_plans"]["basic"]["order_fields"] = [
        {"id": "tenant", "label": "Microsoft tenant domain", "type": "domain", "required": True,
         "pattern": "^[a-z0-9-]+\\.onmicrosoft\\.com$"},
        {"id": "auth", "label": "I authorize the partner", "type": "checkbox", "required": True},
        {"id": "contact", "label": "Billing e-mail", "type": "email"},
    ]  # fmt: skip
    res["service_plans"]["basic"]["trial"] = {"length": 30, "unit": "day"}
    res["service_plans"]["basic"]["price"].update(setup="25.00", renewal="0", cancellation="50.00")
    res["service_plans"]["enterprise"]["published"] = False
    res["payment_methods"]["ach"] = {
        "id": "ach",
        "type": "ach",
        "name": "ACH",
        "regions": ["US"],
        "eligibility": {"payment_terms": ["net30"], "customer_types": ["business"]},
    }
    res["payment_methods"]["off"] = {"id": "off", "type": "debit_card", "regions": ["CA"], "enabled": False}  # fmt: skip
    res["purchase_scenarios"]["standard"]["default"] = False
    res["purchase_scenarios"]["apps-only"] = {
        "id": "apps-only",
        "name": "Apps",
        "screens": ["choose", "pay", "done"],
        "applies_to": {"sales_categories": ["apps"]},
    }
    res["terms"]["tos"]["applies_to"] = {"plans": ["basic"]}
    res["terms"]["tos"].pop("url")
    res["terms"]["tos"]["body"] = "<h3>Terms</h3><p>Be nice.</p><script>x()</script>"
    res["tax_rules"]["ca-on"] = {"id": "ca-on", "region": "CA-ON", "rate": "13", "stacks": True}
    res["customization"]["branding"].update(
        primary_color="#FFFFFF", texts={"en-US": {"checkout.note": "Thanks!", "payment.note": "Cards only"}}
    )  # fmt: skip
    return desired


def test_site_with_every_optional_field(tmp_path: Path) -> None:
    site = build_site(_store_with_everything(tmp_path))
    pages = render_pages(site)
    # the scenario without applies_to is the default when applies_to is used
    assert [s.id for s in site.scenarios] == ["standard", "apps-only"]
    assert site.scenarios[0].default and not site.scenarios[1].default
    apps = parse(pages["scenario-apps-only.html"])
    assert "For Apps." in apps.find("main").text()
    assert [s.attrs["data-type"] for s in apps.find_all("section", "screen")] == [
        "sales_categories",
        "payment",
        "checkout",
    ]
    checkout = apps.find("section", data_type="checkout")
    fields = {i.attrs.get("name", i.attrs["type"]): i.attrs for i in checkout.find_all("input")}
    assert fields["tenant"]["type"] == "text" and "required" in fields["tenant"]
    assert fields["tenant"]["pattern"] == "^[a-z0-9-]+\\.onmicrosoft\\.com$"
    assert fields["contact"]["type"] == "email" and "required" not in fields["contact"]
    assert fields["checkbox"]["type"] == "checkbox"
    assert checkout.find("legend").text() == "Basic"
    assert "Thanks!" in checkout.text()
    payment = apps.find("section", data_type="payment")
    assert "Cards only" in payment.text()
    assert (
        "Net-30 payment terms; business customers only"
        in payment.find("div", "region", data_region="US").text()
    )
    assert not payment.find_all("div", "region", data_region="CA")  # disabled method
    assert [c.attrs["data-plan"] for c in apps.find_all("article", "plan-card")] == ["basic", "pro"]
    basic = apps.find("article", data_plan="basic")
    assert basic.find("p", "term").text() == (
        "1-year term, billed monthly · setup fee USD 25.00 · early cancellation fee USD 50.00"
        " · 30 days free trial"
    )
    assert basic.find("p", "tax").text() == "plus tax: CA-ON 13%, US-CA 7.25%"
    standard = parse(pages["scenario-standard.html"])
    terms = standard.find("div", "terms-doc", data_terms="tos")
    assert "shown for Basic" in terms.text()
    assert terms.find("div", "terms-body").find("h3").text() == "Terms"
    assert "<script" not in pages["scenario-standard.html"]
    index = parse(pages["index.html"])
    assert "stacks on the country rule" in index.find("tr", data_tax="ca-on").text()
    assert "--on-primary: #000000;" in pages["style.css"]  # black text on a white header


def test_plans_in_no_category_and_a_store_without_scenarios(tmp_path: Path) -> None:
    desired = base_desired(tmp_path)
    desired.resources["sales_categories"]["apps"]["plans"] = ["basic"]
    for kind in ("purchase_scenarios", "screens"):
        desired.resources[kind] = {}
    pages = render_pages(build_site(desired))
    assert sorted(pages) == ["catalog.html", "index.html", "style.css"]
    assert "customers cannot order yet" in parse(pages["index.html"]).text()
    loose = parse(pages["catalog.html"]).find("section", id="category-none")
    assert [c.attrs["data-plan"] for c in loose.find_all("article")] == ["enterprise", "pro"]
    # the one tax rule applies to the apps category only
    assert loose.find("article", data_plan="pro").find("p", "tax").text() == "no tax rules apply"
    catalog = parse(pages["catalog.html"])
    assert (
        catalog.find("article", data_plan="basic").find("p", "tax").text()
        == "plus tax: US-CA 7.25%"
    )


def test_live_specs_of_unknown_shape_do_not_break_the_comparison(tmp_path: Path) -> None:
    desired = base_desired(tmp_path)
    live = live_of(copy.deepcopy(desired))
    odd = live.resources["service_plans"]["pro"].spec
    odd["price"] = "forty"
    odd["resources"] = ["not a mapping"]
    odd["subscription_period"] = None
    live.resources["service_plans"]["gone"] = copy.deepcopy(live.resources["service_plans"]["pro"])
    site = build_site(desired, live, "sqlite:///x.db")
    assert site.comparison is not None
    assert [p.id for p in site.comparison.changed_plans] == ["pro"]
    assert [p.id for p in site.comparison.removed_plans] == ["gone"]
    assert "changes.html" in render_pages(site)
