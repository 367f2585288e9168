"""The Retention & value page in a real browser, English and Chinese (screenshots in
tests/e2e/artifacts/). The model is fitted beforehand, as a first visit would have done."""

import re

from playwright.sync_api import Page, expect

from tests.e2e.test_journey import WAIT, kpi, wait_idle


def test_retention_page_in_english_and_chinese(demo_fit, server, page: Page, artifacts):
    page.set_viewport_size({"width": 1440, "height": 1500})
    # through the app's navigation, as a user does
    page.goto(server.url)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible(timeout=WAIT)
    page.get_by_test_id("stSidebarNav").get_by_text("Retention & value").click()
    expect(page.get_by_role("heading", name="Retention & value")).to_be_visible(timeout=WAIT)
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=WAIT)
    wait_idle(page)
    page.wait_for_timeout(800)
    page.screenshot(path=str(artifacts / "retention-cohorts-en.png"), full_page=True)

    page.get_by_role("tab", name="Lifetime value").click()
    expect(page.get_by_text("Customer equity", exact=True).first).to_be_visible(timeout=WAIT)
    equity = kpi(page, "Customer equity")
    assert equity.startswith("CN¥")
    page.wait_for_timeout(800)
    page.screenshot(path=str(artifacts / "retention-value-en.png"), full_page=True)

    page.get_by_role("tab", name="Model check").click()
    expect(page.get_by_text(re.compile("(under|over)-predicted"))).to_be_visible(timeout=WAIT)
    page.wait_for_timeout(800)
    page.screenshot(path=str(artifacts / "retention-check-en.png"), full_page=True)

    page.get_by_role("tab", name="At-risk accounts").click()
    expect(page.get_by_role("button", name="Excel", exact=True).filter(visible=True).first).to_be_visible(timeout=WAIT)
    expect(page.get_by_text(re.compile(r"accounts worth saving now"))).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("button", name="Add to its plan")).to_be_visible(timeout=WAIT)
    page.wait_for_timeout(800)
    page.screenshot(path=str(artifacts / "retention-at-risk-en.png"), full_page=True)

    page.get_by_role("radio", name="简体中文").click()
    expect(page.get_by_role("heading", name="留存与价值")).to_be_visible(timeout=WAIT)
    wait_idle(page)
    page.get_by_role("tab", name="客户终身价值").click()
    expect(page.get_by_text("客户资产", exact=True).first).to_be_visible(timeout=WAIT)
    assert re.search("[万亿]", kpi(page, "客户资产"))
    page.wait_for_timeout(800)
    page.screenshot(path=str(artifacts / "retention-value-zh.png"), full_page=True)
    page.get_by_role("tab", name="同期群").click()
    page.wait_for_timeout(800)
    page.screenshot(path=str(artifacts / "retention-cohorts-zh.png"), full_page=True)
