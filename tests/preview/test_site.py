"""The storefront preview: what the pages show, read back with html.parser.

The pages are the product, so the tests read them as a reviewer would: the screens of
each scenario in order, the plans with names, prices in the store's currency with
period and tax note, add-ons with quantities, terms, payment methods by region, the
store's colours, and against a live store the changed, new and removed plans.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from apply.stores import BASE, edit, write_store
from storecfg.cli import cli
from support.html import Node, parse
from support.server import running_server, storecfg

REPO = Path(__file__).resolve().parents[2]
O365 = REPO / "examples" / "stores" / "o365-reseller"
MULTI = REPO / "examples" / "stores" / "multi-country"


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("STORECFG_STORE", "STORECFG_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="storecfg")
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def page(outdir: Path, name: str) -> Node:
    return parse((outdir / name).read_text(encoding="utf-8"))


def card(doc: Node, plan_id: str) -> Node:
    cards = doc.find_all("article", "plan-card", data_plan=plan_id)
    assert cards, f"no plan card for {plan_id}"
    return cards[0]


# ------------------------------------------------------------------ a real store


@pytest.fixture(scope="module")
def o365(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("o365") / "preview"
    result = storecfg("preview", str(O365), "-o", str(out), "--no-cache")
    assert result.returncode == 0, result.stderr
    assert f"open {out / 'index.html'}" in result.stderr
    return out


def _compiled(directory: Path) -> dict[str, Any]:
    result = storecfg("compile", str(directory))
    assert result.returncode == 0, result.stderr
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def test_writes_one_folder_of_pages(o365: Path) -> None:
    scenarios = _compiled(O365)["resources"]["purchase_scenarios"]
    assert "office-365-order" in scenarios
    names = sorted(p.name for p in o365.iterdir())
    assert names == sorted(
        [".storecfg-preview.json", "catalog.html", "index.html", "style.css"]
        + [f"scenario-{sid}.html" for sid in scenarios]
    )


def test_scenario_screens_in_the_scenario_order(o365: Path) -> None:
    doc = page(o365, "scenario-office-365-order.html")
    screens = doc.find_all("section", "screen")
    assert [s.attrs["data-screen"] for s in screens] == [
        "choose-suite",
        "choose-addons",
        "review-cart",
        "accept-terms",
        "payment-details",
        "place-order",
    ]
    assert [s.attrs["data-type"] for s in screens] == [
        "sales_categories",
        "addons",
        "cart_review",
        "terms",
        "payment",
        "checkout",
    ]
    assert screens[0].find("h2").text() == "Choose your Office 365 plan"
    assert "Step 1 of 6" in screens[0].text() and "Step 6 of 6" in screens[5].text()
    # each screen leads to the next one
    assert screens[0].find("a", "button").attrs["href"] == "#step-2"
    assert [a.attrs["href"] for a in doc.find("ol", "steps").find_all("a")] == [
        f"#step-{n}" for n in range(1, 7)
    ]


def test_categories_with_subcategories_and_plans_in_order(o365: Path) -> None:
    first = page(o365, "scenario-office-365-order.html").find_all("section", "screen")[0]
    top = first.find("section", "category", data_category="office-365")
    assert [c.attrs["data-category"] for c in top.find_all("section", "category")] == [
        "office-365-annual",
        "office-365-monthly",
    ]
    annual = top.find("section", "category", data_category="office-365-annual")
    assert [c.attrs["data-plan"] for c in annual.find_all("article", "plan-card")] == [
        "o365-e1-annual",
        "o365-e3-annual",
        "o365-e5-annual",
    ]


def test_plan_card_shows_name_price_period_term_and_tax(o365: Path) -> None:
    doc = page(o365, "scenario-office-365-order.html")
    e3 = card(doc, "o365-e3-annual")
    assert e3.find("h4").text().startswith("Office 365 E3 (annual, billed monthly)")
    assert e3.find("span", "id").text() == "o365-e3-annual"
    assert e3.find("div", "price").text() == "USD 23.00 per month"
    assert e3.find("p", "term").text() == "1-year term, billed monthly"
    assert e3.find("p", "tax").text() == "plus tax: US-CA 0%, US-NY 4%, US-TX 6.25%, US-WA 6.5%"
    assert card(doc, "o365-e3-monthly").find("p", "term").text() == "1-month term"
    # the description's HTML is kept as formatting
    assert e3.find("div", "description").find_all("p")


def test_addons_with_quantities_and_unit_prices(o365: Path) -> None:
    e1 = card(page(o365, "scenario-office-365-order.html"), "o365-e1-annual")
    rows = {
        r.attrs["data-addon"]: [td.text() for td in r.find_all("td")]
        for r in e1.find("table", "addons").find_all("tr", data_addon=None)
    }
    assert rows == {
        "users": [
            "Office 365 E1 users (Licenses)",
            "1 included; 1 to 300 users",
            "USD 10.00 per user per month",
        ],
        "extra-file-storage": [
            "Office 365 Extra File Storage (Storage)",
            "0 to 10000 GB",
            "USD 0.20 per GB per month",
        ],
    }


def test_addons_screen_says_how_many_may_be_chosen(o365: Path) -> None:
    addons = page(o365, "scenario-office-365-order.html").find("section", data_type="addons")
    assert "Choose up to 2." in addons.text()
    assert [c.attrs["data-plan"] for c in addons.find_all("article", "plan-card")] == [
        "exchange-online-archiving-annual",
        "defender-o365-p1-annual",
    ]


def test_cart_terms_payment_and_checkout_screens(o365: Path) -> None:
    doc = page(o365, "scenario-office-365-order.html")
    cart = doc.find("section", data_type="cart_review").find("table", "cart")
    assert [[td.text() for td in tr.find_all("td")] for tr in cart.find("tbody").find_all("tr")] == [
        ["Office 365 E1 (annual, billed monthly)", "1 user", "USD 10.00 per month", "none"],
        ["Exchange Online Archiving (annual, billed monthly)", "1 user", "USD 3.00 per month", "none"],
    ]  # fmt: skip
    terms = doc.find("section", data_type="terms")
    docs = {t.attrs["data-terms"]: t.text() for t in terms.find_all("div", "terms-doc")}
    listed = _compiled(O365)["resources"]["screens"]["accept-terms"]["terms"]
    assert list(docs) == listed
    assert {"contoso-terms-of-sale", "microsoft-customer-agreement"} <= set(listed)
    # each document says which products it is shown for (terms[].applies_to); one for
    # products this scenario does not sell is marked as not shown, without a checkbox
    assert "shown for Office 365, Office 365 add-ons" in docs["microsoft-customer-agreement"]
    assert "shown for" not in docs["contoso-terms-of-sale"]
    hidden = {t.attrs["data-terms"] for t in terms.find_all("div", "not-shown")}
    assert hidden == {"impossible-cloud-terms"}
    assert not terms.find("div", data_terms="impossible-cloud-terms").find_all("input")
    storage = page(o365, "scenario-storage-order.html").find("section", data_type="terms")
    assert {t.attrs["data-terms"] for t in storage.find_all("div", "not-shown")} == {
        "microsoft-customer-agreement"
    }
    assert "Contoso Cloud terms of sale version 2026-01" in docs["contoso-terms-of-sale"]
    assert (
        "https://www.microsoft.com/licensing/docs/customeragreement"
        in docs["microsoft-customer-agreement"]
    )
    assert all(box.attrs.get("required") is not None for box in terms.find_all("input"))
    payment = doc.find("section", data_type="payment")
    region = payment.find("div", "region", data_region="US")
    assert [li.text().split(" (")[0] for li in region.find_all("li")] == [
        "ACH bank transfer",
        "Credit card",
    ]
    checkout = doc.find("section", data_type="checkout")
    assert "Licenses are usually active within 10 minutes of checkout." in checkout.text()


def test_overview_lists_scenarios_taxes_payments_and_branding(o365: Path) -> None:
    doc = page(o365, "index.html")
    row = doc.find("table", id="scenarios").find("tbody").find("tr")
    assert row.find("a").attrs["href"] == "scenario-office-365-order.html"
    assert "Default" in row.text()
    assert "1. Choose your Office 365 plan → 2. Add archiving and security" in row.text()
    taxes = {
        tr.attrs["data-tax"]: [td.text() for td in tr.find_all("td")][:3]
        for tr in doc.find("table", id="taxes").find_all("tr", data_tax=None)
    }
    assert taxes["us-tx-sales-tax"] == ["US-TX", "Texas sales tax us-tx-sales-tax", "6.25%"]
    assert "Prices exclude tax" in doc.find("main").text()
    assert doc.find("div", id="payments").find("div", "region", data_region="US")
    assert "Office 365 for your business" in doc.find("p", "note").text()
    branding = doc.find("table", id="branding").text()
    assert "#0F4C81" in branding and "#F2A900" in branding


def test_branding_colours_reach_the_stylesheet(o365: Path) -> None:
    css = (o365 / "style.css").read_text()
    assert "--primary: #0F4C81;" in css
    assert "--accent: #F2A900;" in css
    assert "--on-primary: #ffffff;" in css  # white text on the dark blue


def test_catalog_holds_every_plan_with_details(o365: Path) -> None:
    doc = page(o365, "catalog.html")
    ids = {c.attrs["data-plan"] for c in doc.find_all("article", "plan-card")}
    assert ids == set(_compiled(O365)["resources"]["service_plans"])
    e5 = card(doc, "o365-e5-annual")
    assert "SKU: Office 365 E5 (Microsoft)" in e5.text()
    assert "charged at the start of each billing period" in e5.text()


def test_pages_open_from_disk_with_nothing_from_elsewhere(o365: Path) -> None:
    for path in sorted(o365.glob("*.html")):
        doc = parse(path.read_text(encoding="utf-8"))
        assert not doc.find_all("script"), path.name
        assert not doc.find_all("img") and not doc.find_all("iframe"), path.name
        for link in doc.find_all("link"):
            assert link.attrs["href"] == "style.css", path.name
        csp = doc.find("meta", http_equiv="Content-Security-Policy").attrs["content"]
        assert "default-src 'none'" in csp and "style-src 'self'" in csp
        # every link inside the preview leads to a page of the preview (or an anchor)
        names = {p.name for p in o365.iterdir()}
        for a in doc.find_all("a", href=None):
            href = a.attrs["href"]
            if href.startswith(("http://", "https://", "mailto:")):
                continue
            target = href.split("#")[0]
            assert not target or target in names, (path.name, href)
    css = (o365 / "style.css").read_text()
    assert "@import" not in css and "url(" not in css


# ------------------------------------------------------------------ the CLI


def test_invalid_definition_writes_nothing(work: Path) -> None:
    write_store(work / "s")
    edit(work / "s", "catalog.yaml", 'recurring: "40.00"', "recurring: 40.00")
    code, output = run("preview", "s", "-o", "out")
    assert code == 1
    assert re.search(r"catalog\.yaml:\d+:\d+: SC\d+ service_plans\.pro", output)
    assert not (work / "out").exists()


def test_refuses_a_folder_that_holds_other_files(work: Path) -> None:
    write_store(work / "s")
    (work / "out").mkdir()
    (work / "out" / "notes.txt").write_text("mine")
    code, output = run("preview", "s", "-o", "out")
    assert code == 1
    assert "not empty" in output
    assert sorted(p.name for p in (work / "out").iterdir()) == ["notes.txt"]


def test_a_new_preview_replaces_the_old_one(work: Path) -> None:
    write_store(work / "s")
    assert run("preview", "s", "-o", "out")[0] == 0
    assert (work / "out" / "scenario-standard.html").exists()
    edit(work / "s", "storefront.yaml", "{id: standard,", "{id: main-order,")
    assert run("preview", "s", "-o", "out")[0] == 0
    assert (work / "out" / "scenario-main-order.html").exists()
    assert not (work / "out" / "scenario-standard.html").exists()  # stale page removed


def test_other_currency_from_a_var_file(work: Path) -> None:
    code, output = run(
        "preview", str(MULTI), "-o", "out", "--var-file", str(MULTI / "vars" / "ca.yaml")
    )
    assert code == 0, output
    doc = page(work / "out", "index.html")
    assert doc.find("body").attrs["data-store"] == "northwind-ca"
    prices = [
        d.text()
        for p in (work / "out").glob("scenario-*.html")
        for d in parse(p.read_text()).find_all("div", "price")
    ]
    assert prices and all(p.startswith("CAD ") for p in prices)


def test_unpublished_plans_and_hidden_addons_only_in_the_catalog(work: Path) -> None:
    write_store(work / "s")
    edit(work / "s", "catalog.yaml", "    upgrades_to: [enterprise]\n", "    upgrades_to: [enterprise]\n    published: false\n")  # fmt: skip
    edit(work / "s", "catalog.yaml", "category: seats}", "category: seats, visible: false}")
    assert run("preview", "s", "-o", "out")[0] == 0
    scenario = page(work / "out", "scenario-standard.html")
    assert {c.attrs["data-plan"] for c in scenario.find_all("article", "plan-card")} == {
        "basic",
        "enterprise",
    }
    assert not card(scenario, "basic").find_all("table", "addons")
    catalog = page(work / "out", "catalog.html")
    assert "Not published" in card(catalog, "pro").text()
    assert "Hidden" in card(catalog, "basic").find("table", "addons").text()


def test_store_text_cannot_run_scripts_or_load_anything(work: Path) -> None:
    write_store(work / "s")
    edit(
        work / "s",
        "catalog.yaml",
        "    name: Basic\n",
        "    name: Basic <b>& more</b>\n"
        "    description: >-\n"
        '      <p onclick="steal()">Fast <strong>and</strong> cheap</p>\n'
        '      <script>alert(1)</script><img src="https://tracker.example/p.gif">\n'
        '      <a href="javascript:alert(2)">x</a> <a href="https://example.com/more">more</a>\n'
        "      <style>body{background:url(https://tracker.example/bg.png)}</style>\n",
    )
    assert run("preview", "s", "-o", "out")[0] == 0
    html = (work / "out" / "scenario-standard.html").read_text()
    basic = card(parse(html), "basic")
    assert basic.find("h4").text().startswith("Basic <b>& more</b>")  # shown, not markup
    description = basic.find("div", "description")
    assert description.find("strong").text() == "and"
    assert [a.attrs.get("href") for a in description.find_all("a")] == [
        None,
        "https://example.com/more",
    ]
    for bad in ("<script", "onclick", "tracker.example", "javascript:", "<style"):
        assert bad not in html


def test_compare_live_marks_changed_new_and_removed_plans(work: Path) -> None:
    write_store(work / "s")
    assert run("apply", "s", "--auto-approve")[0] == 0
    edit(work / "s", "catalog.yaml", 'recurring: "20.00"', 'recurring: "22.00"')
    edit(work / "s", "catalog.yaml", 'recurring: "5.00"', 'recurring: "4.50"')
    edit(work / "s", "catalog.yaml", "  - id: pro\n    name: Pro\n", "  - id: pro-2026\n    name: Pro 2026\n")  # fmt: skip
    edit(work / "s", "catalog.yaml", "upgrades_to: [pro]", "upgrades_to: [pro-2026]")
    edit(work / "s", "storefront.yaml", "plans: [basic, pro, enterprise]", "plans: [basic, pro-2026, enterprise]")  # fmt: skip
    edit(work / "s", "storefront.yaml", 'rate: "7.25"', 'rate: "7.5"')
    code, output = run("preview", "s", "-o", "out", "--compare-live")
    assert code == 0, output
    assert "compared with sqlite:///" in output

    scenario = page(work / "out", "scenario-standard.html")
    basic = card(scenario, "basic")
    assert basic.attrs["data-status"] == "changed" and "changed" in basic.classes()
    assert basic.find("div", "price").text() == "USD 20.00 USD 22.00 per month"
    assert basic.find("del", "old").text() == "USD 20.00"
    assert [li.text() for li in basic.find("ul", "changes").find_all("li")] == [
        "Price USD 20.00 → 22.00 per month (+10.0%)",
        "Users: USD 5.00 → 4.50 per user per month (-10.0%)",
    ]
    assert card(scenario, "pro-2026").attrs["data-status"] == "new"
    assert "New" in card(scenario, "pro-2026").find("h4").text()
    removed = card(scenario, "pro")  # where the live store shows it
    assert removed.attrs["data-status"] == "removed"
    assert removed.find("div", "price").text() == "USD 40.00 per month"
    assert "enterprise" not in {
        c.attrs["data-plan"] for c in scenario.find_all("article", data_status=None)
    }

    changes = page(work / "out", "changes.html")
    assert [c.attrs["data-plan"] for c in changes.find("h2", id="changed").parent.find_all(
        "article", "changed")] == ["basic"]  # fmt: skip
    assert "New plans (1)" in changes.text() and "Removed plans (1)" in changes.text()
    others = changes.find("table", id="other-changes").text()
    assert "tax_rules.us-ca" in others and "sales_categories.apps" in others
    index = page(work / "out", "index.html")
    assert [b.find("strong").text() for b in index.find("div", id="change-summary").find_all(
        "div", "box")] == ["1", "1", "1", "2"]  # fmt: skip
    tax = index.find("tr", data_tax="us-ca")
    assert tax.attrs["class"] == "changed" and tax.find("del").text() == "7.25%"


def test_compare_live_with_nothing_changed(work: Path) -> None:
    write_store(work / "s")
    assert run("apply", "s", "--auto-approve")[0] == 0
    assert run("preview", "s", "-o", "out", "--compare-live")[0] == 0
    assert page(work / "out", "changes.html").find("p", id="no-changes")
    assert not page(work / "out", "scenario-standard.html").find_all("article", data_status=None)


def test_compare_live_through_the_store_api(tmp_path: Path) -> None:
    """The real CLI against a real server: the token reaches no file and no output."""
    write_store(tmp_path / "s", BASE)
    with running_server(tmp_path, stores=["test-store"]) as server:
        env = server.env("test-store")
        applied = storecfg("apply", "s", "--auto-approve", cwd=tmp_path, env=env)
        assert applied.returncode == 0, applied.stderr
        edit(tmp_path / "s", "catalog.yaml", 'recurring: "40.00"', 'recurring: "44.00"')
        result = storecfg("preview", "s", "-o", "out", "--compare-live", cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr
        pro = card(page(tmp_path / "out", "changes.html"), "pro")
        assert pro.find("ul", "changes").text() == "Price USD 40.00 → 44.00 per month (+10.0%)"
        token = env["STORECFG_TOKEN"]
        assert token not in result.stdout + result.stderr
        for path in (tmp_path / "out").iterdir():
            assert token not in path.read_text(encoding="utf-8")


def test_compare_live_unreachable_store_is_an_error(work: Path) -> None:
    write_store(work / "s")
    code, output = run(
        "preview", "s", "-o", "out", "--compare-live", "--store", "http://127.0.0.1:9"
    )
    assert code == 1
    assert "Error:" in output and "127.0.0.1:9" in output
    assert not (work / "out").exists()


def test_manifest_names_the_files_written(work: Path) -> None:
    write_store(work / "s")
    assert run("preview", "s", "-o", "out")[0] == 0
    manifest = json.loads((work / "out" / ".storecfg-preview.json").read_text())
    assert manifest["files"] == sorted(
        p.name for p in (work / "out").iterdir() if not p.name.startswith(".")
    )
    assert os.access(work / "out" / "index.html", os.R_OK)
    shutil.rmtree(work / "out")


def test_template_variables_from_the_command_line(work: Path) -> None:
    write_store(work / "s")
    edit(work / "s", "catalog.yaml", 'recurring: "40.00"', 'recurring: "{{ vars.pro }}"')
    edit(work / "s", "catalog.yaml", 'recurring: "900.00"', 'recurring: "{{ vars.enterprise }}"')
    code, output = run(
        "preview", "s", "-o", "out", "--var", "pro=44.00", "--var-json", 'enterprise="990.00"'
    )
    assert code == 0, output
    doc = page(work / "out", "scenario-standard.html")
    assert card(doc, "pro").find("div", "price").text() == "USD 44.00 per month"
    assert card(doc, "enterprise").find("div", "price").text() == "USD 990.00 per year"


# ------------------------------------------------------------------ targets


def test_several_targets_get_a_site_each(work: Path) -> None:
    code, output = run("preview", str(MULTI), "-o", "out", "--all-targets")
    assert code == 0, output  # no store variables needed without --compare-live
    out = work / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        ".storecfg-preview.json",
        "ca",
        "index.html",
        "style.css",
        "us",
    ]
    rows = {
        tr.attrs["data-target"]: tr
        for tr in page(out, "index.html")
        .find("table", id="targets")
        .find_all("tr", data_target=None)
    }
    assert list(rows) == ["us", "ca"]
    assert rows["ca"].find("a").attrs["href"] == "ca/index.html"
    assert "northwind-ca" in rows["ca"].text() and "CAD" in rows["ca"].text()
    for name, currency in (("us", "USD"), ("ca", "CAD")):
        assert (
            page(out / name, "index.html").find("body").attrs["data-store"] == f"northwind-{name}"
        )
        scenario = next((out / name).glob("scenario-*.html"))
        prices = [d.text() for d in parse(scenario.read_text()).find_all("div", "price")]
        assert prices and all(p.startswith(currency + " ") for p in prices)

    # one target again: the site goes to OUTDIR itself, the target folders go
    code, output = run("preview", str(MULTI), "-o", "out", "--target", "ca")
    assert code == 0, output
    assert "target ca, store northwind-ca" in output
    assert not (out / "us").exists() and not (out / "ca").exists()
    assert page(out, "index.html").find("body").attrs["data-store"] == "northwind-ca"


def test_targets_compare_with_their_own_stores(work: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code, output = run("preview", str(MULTI), "-o", "out", "--all-targets", "--compare-live")
    assert code == 1 and "$STORECFG_STORE_US is not set" in output
    assert not (work / "out").exists()  # nothing written when a target fails
    monkeypatch.setenv("STORECFG_STORE_US", f"sqlite:///{work / 'us.db'}")
    monkeypatch.setenv("STORECFG_STORE_CA", f"sqlite:///{work / 'ca.db'}")
    assert run("apply", str(MULTI), "--target", "us", "--auto-approve")[0] == 0
    code, output = run("preview", str(MULTI), "-o", "out", "--all-targets", "--compare-live")
    assert code == 0, output
    assert f"compared with sqlite:///{work / 'us.db'}" in output
    assert page(work / "out" / "us", "changes.html").find("p", id="no-changes")
    ca = page(work / "out" / "ca", "changes.html").text()
    assert "New plans" in ca  # the Canadian store is still empty
    summary = page(work / "out", "index.html").find("tr", data_target="ca").text()
    assert "new" in summary


def test_an_unknown_target_is_an_error(work: Path) -> None:
    code, output = run("preview", str(MULTI), "-o", "out", "--target", "uk")
    assert code == 1 and "uk" in output
    assert not (work / "out").exists()
