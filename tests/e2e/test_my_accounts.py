"""The My accounts page in a real browser, English and Chinese (screenshots in
tests/e2e/artifacts/): the account manager filters to themself, reads the actions, adds one to
the account plan, and looks at the health score, whitespace and forecast."""

import re

from playwright.sync_api import Page, expect

from tests.e2e.test_journey import WAIT, kpi, wait_idle


def test_my_accounts_in_english_and_chinese(demo_fit, server, page: Page, artifacts):
    page.set_viewport_size({"width": 1440, "height": 1600})
    page.goto(server.url + "/my-accounts")
    expect(page.get_by_role("heading", name="My accounts")).to_be_visible(timeout=WAIT)
    expect(page.get_by_test_id("stSidebarNav").get_by_text("My accounts")).to_be_visible()
    expect(page.get_by_role("button", name="Add to plan").first).to_be_visible(timeout=WAIT)
    wait_idle(page)
    # filter to one account manager, as a manager does
    manager = page.get_by_test_id("stMultiSelect").filter(has_text="Account manager")
    manager.locator("input").click()
    page.get_by_role("option", name="Li Na").click()
    page.keyboard.press("Escape")
    wait_idle(page)
    expect(page.get_by_role("button", name="Add to plan").first).to_be_visible(timeout=WAIT)
    page.wait_for_timeout(800)
    page.screenshot(path=str(artifacts / "my-accounts-actions-en.png"), full_page=True)
    page.get_by_role("button", name="Add to plan").first.click()
    expect(page.get_by_text(re.compile(r"Added to the account plan \(version \d+\)"))).to_be_visible(timeout=WAIT)

    page.get_by_role("tab", name="Health score").click()
    expect(page.get_by_text("Mean health score", exact=True)).to_be_visible(timeout=WAIT)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(artifacts / "my-accounts-health-en.png"), full_page=True)
    page.get_by_role("tab", name="Does the score work?").click()
    expect(page.get_by_text("AUC of the score", exact=True)).to_be_visible(timeout=WAIT)
    assert float(kpi(page, "AUC of the score")) > 0.6
    page.wait_for_timeout(800)
    page.screenshot(path=str(artifacts / "my-accounts-backtest-en.png"), full_page=True)
    page.get_by_role("tab", name="Whitespace").click()
    expect(page.get_by_text(re.compile("^How it is computed: peers"))).to_be_visible(timeout=WAIT)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(artifacts / "my-accounts-whitespace-en.png"), full_page=True)
    page.get_by_role("tab", name="Forecast").click()
    expect(page.get_by_text(re.compile("^Forecast from the stored lifetime model"))).to_be_visible(timeout=WAIT)
    assert kpi(page, "Next 12 months").startswith("CN¥")
    page.wait_for_timeout(1000)
    page.screenshot(path=str(artifacts / "my-accounts-forecast-en.png"), full_page=True)

    page.get_by_role("radio", name="简体中文").click()
    expect(page.get_by_role("heading", name="我的客户")).to_be_visible(timeout=WAIT)
    wait_idle(page)
    expect(page.get_by_role("button", name="加入计划").first).to_be_visible(timeout=WAIT)
    page.wait_for_timeout(800)
    page.screenshot(path=str(artifacts / "my-accounts-actions-zh.png"), full_page=True)
    page.get_by_role("tab", name="交叉销售空白").click()
    page.wait_for_timeout(1200)
    page.screenshot(path=str(artifacts / "my-accounts-whitespace-zh.png"), full_page=True)
    page.get_by_role("tab", name="健康评分").click()
    expect(page.get_by_text("平均健康评分", exact=True)).to_be_visible(timeout=WAIT)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(artifacts / "my-accounts-health-zh.png"), full_page=True)
