"""A shared link that opens a page directly works on a freshly started server."""

from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server

WAIT = 60_000


@pytest.fixture(scope="module")
def fresh_server(demo_db):
    """A server of its own: the shared one has served other pages already."""
    srv = Server(demo_db)
    yield srv
    srv.stop()


def test_first_visit_is_a_deep_link(fresh_server, page: Page):
    server = fresh_server
    # this module's server has not served any page yet: the link is the very first request
    # a link copied from the Chinese view: filter values are in the URL as they are shown
    page.goto(server.url + "/concentration?lang=" + quote("简体中文") + "&region=" + quote("华东"))
    expect(page.get_by_test_id("stMetric").first).to_be_visible(timeout=WAIT)
    assert page.url.split("?")[0].endswith("/concentration")
    expect(page.get_by_text("Page not found")).to_have_count(0)
    region = page.get_by_test_id("stMultiSelect").filter(has_text="区域")
    expect(region).to_contain_text("华东")
    # app.py ran (its sidebar and layout), not the page file alone as a legacy multipage app
    expect(page.get_by_test_id("stSidebarNav").get_by_text("app", exact=True)).to_have_count(0)
    expect(page.get_by_text("数据截至")).to_be_visible()
    # the page menu is the app's own (st.navigation), in Chinese
    expect(page.get_by_test_id("stSidebarNav")).to_contain_text("总览")
