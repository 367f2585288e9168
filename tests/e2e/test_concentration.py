"""The concentration page in a real browser, in English and Chinese (screenshots to look at)."""

import re

from playwright.sync_api import Page, expect

from tests.e2e.test_journey import WAIT, kpi, kpi_value, wait_idle


def shoot(page: Page, path) -> None:
    """The whole page: Streamlit scrolls inside its own container, so grow the viewport."""
    height = page.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1440, "height": max(1000, int(height) + 50)})
    page.wait_for_timeout(1500)  # charts resize and finish their transition
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1440, "height": 1000})


def test_concentration_page_en_and_zh(server, page: Page, artifacts):
    page.set_viewport_size({"width": 1440, "height": 1000})
    # Open the app at its root first: on a fresh server whose first request names a page, Streamlit
    # 1.67 runs pages/<name>.py in its legacy multipage mode (because a pages/ folder exists)
    # until app.py has called st.navigation once. Reported to the lead; not this page's to fix.
    page.goto(server.url)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible(timeout=WAIT)
    page.goto(server.url + "/concentration")
    expect(page.get_by_role("heading", name="Value concentration")).to_be_visible(timeout=WAIT)
    expect(page.locator(".js-plotly-plot").nth(3)).to_be_visible(timeout=WAIT)
    wait_idle(page)
    # profit first: the demo data has costs
    expect(page.get_by_role("radio", name="Account profit")).to_be_checked()
    expect(page.get_by_text(re.compile("customers have a negative account profit"))).to_be_visible()
    gini_profit = kpi(page, "Gini")
    assert re.fullmatch(r"0\.\d{3}", gini_profit)
    assert kpi(page, "Top 20% share").endswith("%")

    # the value selector changes the readouts and lands in the URL
    page.get_by_role("radio", name="Revenue").click()
    wait_idle(page)
    expect(kpi_value(page, "Gini")).not_to_have_text(gini_profit, timeout=WAIT)
    assert "value=Revenue" in page.url  # bound widgets keep the text shown
    page.get_by_role("radio", name="Account profit").click()
    wait_idle(page)
    expect(kpi_value(page, "Gini")).to_have_text(gini_profit, timeout=WAIT)
    expect(page.get_by_text("Loss-makers", exact=True).filter(visible=True).first).to_be_visible()  # their own ABC group
    shoot(page, artifacts / "concentration-en.png")

    page.get_by_role("radio", name="简体中文").click()
    expect(page.get_by_role("heading", name="价值集中度")).to_be_visible(timeout=WAIT)
    wait_idle(page)
    assert re.search("[万亿]", kpi(page, "亏损客户侵蚀的利润"))
    expect(page.get_by_role("radio", name="客户利润")).to_be_checked()  # the value survived
    shoot(page, artifacts / "concentration-zh.png")
