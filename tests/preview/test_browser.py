"""The preview in a real browser: headless Chromium opens the site from disk.

Chromium is driven over the DevTools protocol, which reports every request a page
makes. A control page that loads something from the network shows that such requests
are seen; the preview's pages must make none (only their own stylesheet, from disk),
must render their prices, and must show the store's colours, which proves that the
stylesheet loaded under the pages' Content-Security-Policy.

Needs the Debian package `chromium` (.ci/run installs it); without it the tests are
skipped and say so.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from support.browser import Chromium, find_chromium
from support.html import parse
from support.server import storecfg

REPO = Path(__file__).resolve().parents[2]
O365 = REPO / "examples" / "stores" / "o365-reseller"


@pytest.fixture(scope="module")
def browser() -> Iterator[Chromium]:
    executable = find_chromium()
    if executable is None:
        pytest.skip(
            "headless Chromium is not installed: these tests need the Debian package "
            "chromium (`apt-get install chromium`; .ci/run installs it)"
        )
    with Chromium(executable) as chromium:
        yield chromium


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("browser") / "preview"
    result = storecfg("preview", str(O365), "-o", str(out), "--no-cache")
    assert result.returncode == 0, result.stderr
    return out


def off_disk(requests: list[str]) -> list[str]:
    return [url for url in requests if urlsplit(url).scheme not in ("file", "data", "about")]


def test_requests_to_the_network_are_seen(browser: Chromium, tmp_path: Path) -> None:
    probe = tmp_path / "probe.html"
    probe.write_text(
        '<!DOCTYPE html><html><head><link rel="stylesheet" href="https://probe.invalid/x.css">'
        '</head><body><p>USD 1.00</p><img src="http://probe.invalid/pixel.png"></body></html>'
    )
    visit, session = browser.visit(probe.as_uri())
    assert sorted(off_disk(visit.requests)) == [
        "http://probe.invalid/pixel.png",
        "https://probe.invalid/x.css",
    ]
    assert browser.evaluate(session, "document.body.innerText") == "USD 1.00"


@pytest.mark.parametrize("name", ["index.html", "scenario-office-365-order.html", "catalog.html"])
def test_pages_load_nothing_from_the_network(browser: Chromium, site: Path, name: str) -> None:
    visit, session = browser.visit((site / name).as_uri())
    assert off_disk(visit.requests) == []
    assert visit.requests == [(site / name).as_uri(), (site / "style.css").as_uri()]
    # every link of the page that stays in the preview leads to a file that exists
    links = browser.evaluate(
        session, "Array.from(document.links, a => a.href).filter(h => h.startsWith('file:'))"
    )
    for link in links:
        assert Path(urlsplit(link).path).is_file(), link


def test_the_scenario_renders_its_prices(browser: Chromium, site: Path) -> None:
    _, session = browser.visit((site / "scenario-office-365-order.html").as_uri())
    prices = browser.evaluate(
        session, "Array.from(document.querySelectorAll('.plan-card .price'), e => e.innerText)"
    )
    assert prices[:3] == ["USD 10.00 per month", "USD 23.00 per month", "USD 38.00 per month"]
    # rendered text, as laid out: every price is on screen with a width and a height
    sizes = browser.evaluate(
        session,
        "Array.from(document.querySelectorAll('.plan-card .price'),"
        " e => [e.getBoundingClientRect().width, e.getBoundingClientRect().height])",
    )
    assert all(w > 0 and h > 0 for w, h in sizes)
    dom = parse(browser.evaluate(session, "document.documentElement.outerHTML"))
    assert [s.attrs["data-screen"] for s in dom.find_all("section", "screen")][-1] == "place-order"


def test_the_store_colours_show(browser: Chromium, site: Path) -> None:
    _, session = browser.visit((site / "scenario-office-365-order.html").as_uri())
    style = browser.evaluate(
        session,
        "(() => { const h = getComputedStyle(document.querySelector('.store-header'));"
        " const b = getComputedStyle(document.querySelector('.screen .button'));"
        " return [h.backgroundColor, h.color, b.backgroundColor]; })()",
    )
    # primary_color #0F4C81 with white text, accent_color #F2A900 on the buttons
    assert style == ["rgb(15, 76, 129)", "rgb(255, 255, 255)", "rgb(242, 169, 0)"]
