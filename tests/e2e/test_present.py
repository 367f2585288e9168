"""The Present page in a real browser: three slides clicked through, the PPTX built and
downloaded (screenshots in tests/e2e/artifacts/; the Chinese page is covered by its AppTest)."""

import io
import re
import time

from playwright.sync_api import Page, expect

from tests.e2e.test_journey import WAIT, wait_idle


def _headline(page: Page):
    return page.locator(".kd-headline")


def test_present_click_through_and_download_pptx(demo_db, server, page: Page, artifacts):
    from pptx import Presentation

    from kamdash import config, store

    # a saved three-slide storyline keeps the export short (the 8-slide deck is timed in bench/)
    store.put_setting(config.user_db_path(demo_db), "present.order", ["overview", "concentration", "whale"])

    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(server.url + "/present")
    expect(_headline(page)).to_contain_text("customers bought", timeout=WAIT)
    expect(page.locator(".js-plotly-plot").first).to_be_visible(timeout=WAIT)
    # presentation layout: the sidebar starts collapsed
    box = page.get_by_test_id("stSidebar").bounding_box()
    assert box["x"] + box["width"] <= 0  # collapsed: moved off the left edge
    wait_idle(page)
    page.screenshot(path=str(artifacts / "present-1-en.png"))
    with page.expect_download() as dl:  # the chart as a high-resolution PNG, rendered on click
        page.get_by_test_id("stDownloadButton").get_by_role("button", name="PNG", exact=True).click()
    png = open(dl.value.path(), "rb").read()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and int.from_bytes(png[16:20], "big") == 2400

    seen = [_headline(page).inner_text()]
    for expected in ("Top 20% of customers bring", "accounts lose"):
        page.get_by_role("button", name="Next").click()
        expect(_headline(page)).to_contain_text(expected, timeout=WAIT)
        wait_idle(page)
        seen.append(_headline(page).inner_text())
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / "present-3-en.png"))
    page.get_by_role("button", name="Previous").click()
    expect(_headline(page)).to_have_text(seen[1], timeout=WAIT)

    t0 = time.perf_counter()
    page.get_by_role("button", name="Build PowerPoint").click()
    button = page.get_by_role("button", name="Download PowerPoint (.pptx)")
    expect(button).to_be_visible(timeout=60_000)
    built = page.get_by_text(re.compile(r"Deck of 4 slides built in [0-9.]+ s")).inner_text()
    print(f"\n{built} ({time.perf_counter() - t0:.1f} s from the click)")
    with page.expect_download() as dl:
        button.click()
    prs = Presentation(io.BytesIO(open(dl.value.path(), "rb").read()))
    texts = [[sh.text_frame.text for sh in s.shapes if sh.has_text_frame] for s in prs.slides]
    assert len(texts) == 4  # title slide + the three chosen slides
    assert [t[1] for t in texts[1:]] == seen
    assert all(sum(sh.shape_type == 13 for sh in s.shapes) == 1 for s in list(prs.slides)[1:])
    assert "Data as of" in texts[0][1]
