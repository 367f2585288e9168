"""Import in a real browser: upload a small CSV on the Data page, check, import, see the new data.

The server runs on its own copy of the small demo database, since the import replaces the data.
"""

import shutil

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server

WAIT = 30_000
CSV = ("客户编号,客户名称,订单日期,金额,区域\n"
       "K1,甲公司,05/03/2025,1000,华东\n"
       "K2,乙公司,25/03/2025,500,华北\n"
       "K3,=HYPERLINK(\"http://x\"),26/03/2025,250,华北\n")


@pytest.fixture(scope="module")
def import_server(small_db, tmp_path_factory):
    db = tmp_path_factory.mktemp("e2e-import") / "sales.duckdb"
    shutil.copy(small_db, db)
    srv = Server(db)
    yield srv
    srv.stop()


def wait_idle(page: Page) -> None:
    page.wait_for_timeout(300)
    expect(page.get_by_test_id("stStatusWidget")).to_have_count(0, timeout=WAIT)


def test_upload_check_and_import_a_csv(import_server, page: Page, artifacts, tmp_path):
    csv = tmp_path / "销售明细.csv"
    csv.write_bytes(CSV.encode("gbk"))
    page.goto(import_server.url)  # from the overview, through the sidebar navigation
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Data").click()
    expect(page.get_by_role("heading", name="Your data")).to_be_visible(timeout=WAIT)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(csv))
    expect(page.get_by_text("Text file, encoding gb18030", exact=False)).to_be_visible(timeout=WAIT)
    page.get_by_role("button", name="Check the files").click()
    wait_idle(page)
    expect(page.get_by_text("Rows read")).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("button", name="Import 3 rows")).to_be_visible(timeout=WAIT)
    page.get_by_text("Rows read").scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "import-report-en.png"), full_page=True)
    expect(page.get_by_role("button", name="Import 3 rows")).to_be_disabled()  # replacing asks first
    page.get_by_text("Replace the current sales data with these files").click()
    page.get_by_role("button", name="Import 3 rows").click()
    expect(page.get_by_text("Imported: 3 order lines")).to_be_visible(timeout=WAIT)
    # the shell and every page now read the new data
    expect(page.get_by_text("3 order lines · 3 customers")).to_be_visible(timeout=WAIT)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Overview").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible(timeout=WAIT)
    expect(page.get_by_text("3 order lines · 3 customers")).to_be_visible(timeout=WAIT)
    expect(page.get_by_test_id("stMetric").first).to_be_visible(timeout=WAIT)
    page.wait_for_timeout(800)
    page.screenshot(path=str(artifacts / "import-after-en.png"), full_page=True)


def test_data_page_in_chinese_with_an_error(import_server, page: Page, artifacts, tmp_path):
    csv = tmp_path / "orders.csv"
    csv.write_text("客户,日期,销售额\nA,2025-03-05,100\nB,2025-03-06,一百\n", encoding="utf-8")
    page.goto(import_server.url)
    page.get_by_role("radio", name="简体中文").click()
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="数据").click()
    expect(page.get_by_role("heading", name="您的数据")).to_be_visible(timeout=WAIT)
    wait_idle(page)
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(csv))
    page.get_by_role("button", name="检查文件").click()
    wait_idle(page)
    expect(page.get_by_text("导入前需要修正或跳过 1 个问题")).to_be_visible(timeout=WAIT)
    expect(page.get_by_role("button", name="导入 1 行正确数据，跳过 1 行错误数据")).to_be_visible(timeout=WAIT)
    page.get_by_role("button", name="检查文件").scroll_into_view_if_needed()
    page.mouse.wheel(0, 400)
    page.wait_for_timeout(300)
    page.screenshot(path=str(artifacts / "import-report-zh.png"), full_page=True)
