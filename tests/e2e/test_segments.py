"""Segments and key-accounts pages in a real browser, in English and Chinese, with screenshots
(tests/e2e/artifacts/segments-*.png, key-accounts-*.png) to look at."""

from playwright.sync_api import Page, expect

from tests.e2e.test_journey import WAIT, wait_idle


def charts_drawn(page: Page, n: int, wait: int = WAIT) -> None:
    expect(page.locator(".js-plotly-plot")).to_have_count(n, timeout=wait)
    expect(page.locator(".js-plotly-plot .main-svg").first).to_be_visible(timeout=WAIT)
    wait_idle(page)
    page.wait_for_timeout(1000)  # let the charts finish their transitions before the picture


def test_segments_and_key_accounts_pages(server, page: Page, artifacts):
    page.set_viewport_size({"width": 1440, "height": 2600})  # tall: whole pages in the pictures
    # Open the app at its root first: on a fresh server, Streamlit 1.67 falls back to its legacy
    # pages/-folder navigation for the whole process when the very first visit is a deep link
    # (PagesManager.uses_pages_directory); app.py's st.navigation switches it off.
    page.goto(server.url)
    expect(page.get_by_role("heading", name="Overview")).to_be_visible(timeout=WAIT)
    page.goto(server.url + "/segments")
    expect(page.get_by_role("heading", name="Segments", exact=True)).to_be_visible(timeout=WAIT)
    charts_drawn(page, 3, wait=120_000)  # first visit: scikit-learn import and fit, on a busy machine
    expect(page.get_by_text("highest silhouette score")).to_be_visible()
    expect(page.get_by_text("Segment map")).to_be_visible()
    expect(page.locator(".js-plotly-plot canvas").first).to_be_attached()  # the WebGL scatter
    # PNG + SVG under the silhouette chart, the map and the heatmap; CSV + Excel under the profile
    # table; CSV + Excel of the assignment
    expect(page.get_by_test_id("stDownloadButton")).to_have_count(10)
    page.screenshot(path=str(artifacts / "segments-en.png"), full_page=True)

    page.goto(server.url + "/key-accounts")
    expect(page.get_by_role("heading", name="Key accounts", exact=True)).to_be_visible(timeout=WAIT)
    charts_drawn(page, 2)
    expect(page.get_by_text("Current value vs growth potential")).to_be_visible()
    expect(page.get_by_role("tab", name="Stars")).to_be_visible()
    points = page.locator(".js-plotly-plot .scatterlayer .point")
    assert points.count() > 50  # every key account is a bubble
    expect(page.get_by_text("Share of account profit")).to_be_visible()
    page.screenshot(path=str(artifacts / "key-accounts-en.png"), full_page=True)
    # clicking a bubble opens that account's 360 page
    bubble = points.first
    bubble.scroll_into_view_if_needed()
    box = bubble.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.get_by_role("heading", name="Account 360", exact=True)).to_be_visible(timeout=WAIT)
    assert "account?customer=" in page.evaluate("window.location.href")

    # the number of segments travels in the link
    page.goto(server.url + "/segments?seg_k=6")
    expect(page.get_by_text("You chose 6 segments")).to_be_visible(timeout=WAIT)

    # the sidebar now offers the KA type filter; choosing one narrows the overview
    page.goto(server.url)  # the overview is the default page, at the root
    expect(page.get_by_role("heading", name="Overview")).to_be_visible(timeout=WAIT)
    wait_idle(page)
    revenue = page.get_by_test_id("stMetricValue").first.inner_text()
    ka = page.get_by_test_id("stMultiSelect").filter(has_text="Key-account type")
    ka.locator("input").click()
    page.get_by_role("option", name="Important").click()
    page.keyboard.press("Escape")
    wait_idle(page)
    expect(page.get_by_test_id("stMetricValue").first).not_to_have_text(revenue, timeout=WAIT)
    assert "ka=" in page.url

    page.goto(server.url + "/key-accounts")
    page.get_by_role("radio", name="简体中文").click()
    expect(page.get_by_role("heading", name="大客户", exact=True)).to_be_visible(timeout=WAIT)
    wait_idle(page)  # the language switch reruns the page: wait for the Chinese charts
    charts_drawn(page, 2)
    expect(page.get_by_text("当前价值与增长潜力")).to_be_visible(timeout=WAIT)
    page.screenshot(path=str(artifacts / "key-accounts-zh.png"), full_page=True)

    page.get_by_role("link", name="客户细分").click()
    expect(page.get_by_role("heading", name="客户细分", exact=True)).to_be_visible(timeout=WAIT)
    charts_drawn(page, 3)
    expect(page.get_by_text("细分群分布图")).to_be_visible()
    expect(page.get_by_test_id("stDownloadButton")).to_have_count(10, timeout=WAIT)  # as in English
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / "segments-zh.png"), full_page=True)
