"""Layout in a real browser at 1280 and 1440 px, English and Chinese: the main tables fit the
window (no horizontal scrolling inside the grid), the account cards are not cut off, and the
author's name typed once is remembered by the browser. Screenshots go to tests/e2e/artifacts."""

from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from kamdash import i18n

from tests.e2e.test_journey import WAIT, wait_idle

# each grid's scroller: wider content than box = a column pushed off the right edge
OVERFLOW = """() => [...document.querySelectorAll('[data-testid="stDataFrame"]')].map(d => {
  const s = d.querySelector('.dvn-scroller');
  return s ? s.scrollWidth - s.clientWidth : null;
})"""
CUT = """() => [...document.querySelectorAll('[data-testid="stMetricValue"] div')].filter(
  e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)"""
LANGS = i18n.LANGUAGES  # en: English, zh: 简体中文
PAGES = {  # path: ((heading in English, in Chinese), the main tables: their index among the grids)
    "": (("Overview", "总览"), [0]),
    "concentration": (("Value concentration", "价值集中度"), [0, 1, 2]),  # loss-makers, tiers, side by side
}


def open_page(page: Page, url: str, lang: str, heading: str) -> None:
    """Open ``url`` in ``lang`` (the language switch is bound to the address: its label)."""
    page.goto(url + ("&" if "?" in url else "?") + "lang=" + quote(LANGS[lang]))
    expect(page.get_by_role("heading", name=heading[lang == "zh"])).to_be_visible(timeout=WAIT)
    wait_idle(page)


@pytest.mark.parametrize("width", [1280, 1440])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_main_tables_fit_the_window(server, page: Page, artifacts, width, lang):
    page.set_viewport_size({"width": width, "height": 1000})
    for path, (heading, tables) in PAGES.items():
        open_page(page, f"{server.url}/{path}", lang, heading)
        grids = page.get_by_test_id("stDataFrame")
        page.mouse.wheel(0, 20_000)  # the page below the charts
        expect(grids.nth(max(tables))).to_be_attached(timeout=2 * WAIT)
        for i in tables:
            grids.nth(i).scroll_into_view_if_needed()
            page.wait_for_timeout(300)
        wait_idle(page)
        page.screenshot(path=str(artifacts / f"layout-{path or 'overview'}-{lang}-{width}.png"), full_page=True,
                        timeout=90_000)
        over = page.evaluate(OVERFLOW)
        for i in tables:
            assert over[i] is not None and over[i] <= 0, f"{path or 'overview'} table {i} overflows by {over[i]} px"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_account_cards_are_not_cut_off(server, page: Page, artifacts, lang):
    page.set_viewport_size({"width": 1280, "height": 1000})
    open_page(page, f"{server.url}/account?customer=C000001", lang, ("Account 360", "客户360视图"))
    expect(page.get_by_test_id("stMetricValue").nth(3)).to_be_attached(timeout=2 * WAIT)  # the rank card
    wait_idle(page)
    page.screenshot(path=str(artifacts / f"layout-account-{lang}-1280.png"), timeout=90_000)
    assert page.evaluate(CUT) == []


def test_author_name_is_remembered_by_the_browser(server, page: Page):
    page.goto(f"{server.url}/account?customer=C000001")
    field = page.get_by_label("Your name", exact=True).and_(page.get_by_test_id("stTextInputField"))
    expect(field).to_be_visible(timeout=WAIT)
    field.fill("Li Na")
    field.press("Enter")
    wait_idle(page)
    page.wait_for_timeout(1000)
    assert {c["name"]: c["value"] for c in page.context.cookies()}.get("kamdash_author") == "Li%20Na"
    # a new session in the same browser (reload: a new Streamlit session) starts with the name
    page.reload()
    expect(page.get_by_label("Your name", exact=True).and_(page.get_by_test_id("stTextInputField"))).to_have_value("Li Na", timeout=WAIT)
