"""Main journey in a real browser: open the overview, filter, share by link, switch to Chinese."""

import re
import time
from urllib.parse import parse_qs, urlparse

from playwright.sync_api import Page, expect

WAIT = 30_000


def kpi_value(page: Page, label: str):
    """The value of the KPI card whose label is exactly ``label``."""
    label_re = re.compile(f"^{re.escape(label)}$")
    card = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").get_by_text(label_re))
    return card.get_by_test_id("stMetricValue")


def kpi(page: Page, label: str) -> str:
    return kpi_value(page, label).inner_text()


def wait_idle(page: Page) -> None:
    """Wait until the app has finished its rerun (no 'running' status widget)."""
    page.wait_for_timeout(300)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=WAIT)


def test_overview_filter_share_and_chinese(server, page: Page, artifacts):
    t0 = time.perf_counter()
    page.goto(server.url)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible(timeout=WAIT)
    expect(page.locator(".js-plotly-plot .barlayer path").first).to_be_visible(timeout=WAIT)
    first_chart = time.perf_counter() - t0
    print(f"\nfirst chart {first_chart:.2f} s after page open; "
          f"{time.perf_counter() - server.started:.2f} s after starting streamlit")
    expect(page.get_by_test_id("stMetric")).to_have_count(6)
    revenue_all = kpi(page, "Revenue")
    assert revenue_all.startswith("CN¥")
    expect(page.get_by_text("Top 10 accounts by revenue")).to_be_visible()
    page.screenshot(path=str(artifacts / "overview-en.png"))

    # filter on a region through the multiselect, as a user does
    region = page.get_by_test_id("stMultiSelect").filter(has_text="Region")
    region.locator("input").click()
    page.get_by_role("option", name="East China").click()
    page.keyboard.press("Escape")
    wait_idle(page)
    expect(kpi_value(page, "Revenue")).not_to_have_text(revenue_all, timeout=WAIT)
    revenue_east = kpi(page, "Revenue")
    assert parse_qs(urlparse(page.url).query).get("region") == ["East China"]

    # the link holds the view: a fresh load of the same URL shows the same numbers
    shared = page.url
    page.goto("about:blank")
    page.goto(shared)
    expect(kpi_value(page, "Revenue")).to_have_text(revenue_east, timeout=WAIT)

    # switch to Chinese
    page.get_by_role("radio", name="简体中文").click()
    expect(page.get_by_role("heading", name="总览")).to_be_visible(timeout=WAIT)
    wait_idle(page)
    revenue_zh = kpi(page, "收入")
    assert re.search("[万亿]", revenue_zh)
    expect(page.get_by_text("收入前 10 名客户")).to_be_visible()
    # the filter stays, now shown (and linked) with its Chinese label
    assert parse_qs(urlparse(page.url).query).get("region") == ["华东"]
    expect(page.get_by_test_id("stMultiSelect").filter(has_text="区域")).to_contain_text("华东")
    shared_zh = page.url
    page.goto("about:blank")
    page.goto(shared_zh)
    expect(kpi_value(page, "收入")).to_have_text(revenue_zh, timeout=WAIT)
    page.wait_for_timeout(800)  # let the chart finish its transition before the picture
    page.screenshot(path=str(artifacts / "overview-zh.png"))


def test_readme_screenshot(server, page: Page, artifacts):
    """The full overview in English at a presentation size, the picture the README shows."""
    page.set_viewport_size({"width": 1440, "height": 1600})
    page.goto(server.url)
    expect(page.locator(".js-plotly-plot .barlayer path").first).to_be_visible(timeout=WAIT)
    expect(page.get_by_test_id("stDataFrame")).to_be_visible(timeout=WAIT)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(artifacts / "overview.png"))
    assert (artifacts / "overview.png").stat().st_size > 50_000
