"""The What-if page in a real browser: move the defection slider (the URL follows), save the
scenario, reload and find it listed (Chinese is covered by the AppTest; screenshots of both
languages: tests/e2e/artifacts/whatif-*.png)."""

import re
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import Page, expect

from tests.e2e.test_journey import WAIT, kpi_value, wait_idle


def delta(page: Page, label: str) -> str:
    card = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(re.compile(f"^{re.escape(label)}$")))
    return card.get_by_test_id("stMetricDelta").inner_text()


def test_whatif_slider_save_reload(server, page: Page, artifacts):
    page.set_viewport_size({"width": 1440, "height": 1400})
    page.goto(server.url + "/what-if")
    expect(page.get_by_role("heading", name="Retention what-if")).to_be_visible(timeout=WAIT)
    expect(kpi_value(page, "Customer equity after")).to_be_visible(timeout=2 * WAIT)  # cold start
    wait_idle(page)
    assert "±0.0%" in delta(page, "Customer equity after")

    # the defection slider, by keyboard: one PageDown = a tenth of its range = 3 points less
    # defection (one rerun; ten arrow presses queue ten reruns on a busy machine)
    thumb = page.get_by_role("slider", name="Change in defection (percentage points)")
    for attempt in range(3):  # a key press can be lost while the cold page is still settling
        thumb.focus()
        page.keyboard.press("PageDown")
        wait_idle(page)
        try:
            expect(page).to_have_url(re.compile(r"wi_def=-"), timeout=WAIT / 2)
            break
        except AssertionError:
            if attempt == 2:
                raise
    expect(page.get_by_test_id("stMetric").filter(has_text="Customer equity after")
           .get_by_test_id("stMetricDelta")).not_to_contain_text("±0.0%", timeout=WAIT)
    assert delta(page, "Customer equity after").startswith("+")
    assert parse_qs(urlparse(page.url).query).get("wi_def") in (["-3"], ["-6"], ["-9"])
    expect(page.get_by_text("Where the change comes from")).to_be_visible(timeout=WAIT)
    expect(page.get_by_text("Only groups that make a profit")).to_be_visible(timeout=WAIT)
    page.wait_for_timeout(800)
    page.screenshot(path=str(artifacts / "whatif-en.png"), full_page=True)

    page.get_by_role("tab", name="Saved scenarios").click()
    page.get_by_role("textbox", name="Your name").fill("Li Na")
    page.get_by_role("textbox", name="Your name").press("Enter")
    wait_idle(page)
    page.get_by_role("textbox", name="Scenario name").fill("Three points, browser")
    page.get_by_role("textbox", name="Scenario name").press("Enter")
    wait_idle(page)
    page.get_by_role("button", name="Save scenario").click()
    expect(page.get_by_text('Saved "Three points, browser".')).to_be_visible(timeout=WAIT)

    # a reload keeps the slider (it is in the URL) and lists the saved scenario
    page.reload()
    expect(page.get_by_role("heading", name="Retention what-if")).to_be_visible(timeout=WAIT)
    wait_idle(page)
    assert not delta(page, "Customer equity after").startswith("±")
    page.get_by_role("tab", name="Saved scenarios").click()
    expect(page.get_by_test_id("stDataFrame").filter(has_text="Scenario").first).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("combobox", name="Saved scenario")).to_have_value(
        "Three points, browser · Li Na", timeout=WAIT)
    page.screenshot(path=str(artifacts / "whatif-scenarios-en.png"), full_page=True)
