"""AppTest for the Data page: upload, mapping, check, import; importing while pages are open."""

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from kamdash.ingest import engine
from tests.pages.conftest import TIMEOUT, metrics, page

ORDERS = ("客户编号,客户名称,订单日期,金额,区域\n"
          "K1,甲公司,05/03/2025,1000,华东\n"
          "K2,乙公司,25/03/2025,500,华北\n"
          "K2,乙公司,26/03/2025,abc,华北\n")


@pytest.fixture
def db(tmp_path, tiny_db, use_db):
    path = tmp_path / "sales.duckdb"
    shutil.copy(tiny_db, path)
    return use_db(path)


def test_renders_in_both_languages(db, monkeypatch):
    at = page("pages/data.py").run()
    assert not at.exception
    assert at.title[0].value == "Your data"
    assert "11 order lines" in at.caption[0].value
    assert at.file_uploader  # the upload widget
    monkeypatch.setenv("KAMDASH_LANGUAGE", "zh")
    at = page("pages/data.py").run()
    assert at.title[0].value == "您的数据"


def test_upload_check_skip_bad_rows_and_import(db):
    at = page("pages/data.py").run()
    at.file_uploader[0].upload("销售.csv", ORDERS.encode("gbk"), "text/csv").run()
    assert not at.exception
    # the suggested mapping is shown in an editable table
    mapping = at.dataframe[0].value
    assert mapping.iloc[:, 2].tolist() == ["Customer ID  ·  customer_id", "Customer name  ·  customer_name",
                                           "Order date  ·  order_date", "Amount (net revenue)  ·  revenue",
                                           "Region  ·  region"]
    before = db.read_bytes()
    at.button(key="ingest.check").click().run()
    assert not at.exception
    shown = metrics(at)
    assert shown["Rows read"][0] == "3" and shown["Rows with errors"][0] == "1"
    problems = at.dataframe[1].value
    assert problems.iloc[0].tolist()[:4] == ["销售.csv", 4, "金额", "abc"]
    assert problems.iloc[0, 4] == "not a number"
    assert db.read_bytes() == before  # a check writes nothing
    # replacing the data asks first
    assert at.button(key="ingest.import_skip").disabled
    at.checkbox(key="ingest.replace_ok").check().run()
    at.button(key="ingest.import_skip").click().run()
    assert not at.exception
    assert any("Imported: 2 order lines" in s.value for s in at.success)
    assert "2 order lines" in at.caption[0].value  # the page shows the new data
    # the data as it was is kept, and the page puts it back
    kept = db.with_name(db.name + ".previous")
    assert kept.read_bytes() == before
    at.button(key="backup_restore").click().run()
    assert not at.exception
    assert any("previous sales data is back" in s.value for s in at.success)
    assert "11 order lines" in at.caption[0].value


def test_problem_list_in_chinese(db, monkeypatch):
    monkeypatch.setenv("KAMDASH_LANGUAGE", "zh")
    at = page("pages/data.py").run()
    at.file_uploader[0].upload("销售.csv", ORDERS.encode("utf-8"), "text/csv").run()
    at.button(key="ingest.check").click().run()
    problems = at.dataframe[1].value
    assert list(problems.columns) == ["文件", "行", "列", "值", "原因"]
    assert problems.iloc[0, 4] == "不是数字"


def test_a_bad_file_is_explained(db):
    at = page("pages/data.py").run()
    at.file_uploader[0].upload("orders.csv", bytes(range(256)) * 10, "text/csv").run()
    assert not at.exception
    assert "not a text file" in at.error[0].value


def test_import_while_an_apptest_session_has_the_database_open(db, tmp_path):
    """A page holds the database open (DuckDB, read-only); an import replaces the file; the next
    rerun shows the new data with no lock error."""
    at = page("pages/overview.py").run()
    assert not at.exception
    before = metrics(at)["Revenue"][0]
    orders = tmp_path / "new.csv"
    orders.write_text("customer_id,order_date,revenue,region\nA,2025-06-01,12345678,East China\n"
                      "B,2025-05-01,100,East China\n", encoding="utf-8")
    report = engine.run([engine.SourceFile(orders)], db, commit=True)
    assert report.committed, [str(p) for p in report.problems]
    at.run()
    assert not at.exception
    assert metrics(at)["Revenue"][0] != before
    assert "2 order lines" in " ".join(c.value for c in at.sidebar.caption)


def test_no_database_offers_the_importer(tmp_path, use_db):
    use_db(tmp_path / "missing.duckdb")
    at = AppTest.from_file("../../app.py", default_timeout=TIMEOUT).run()
    assert not at.exception
    assert "Or import your own sales files:" in [s.value for s in at.subheader]
    at.file_uploader[0].upload("o.csv", b"customer_id,order_date,revenue\nA,2025-01-01,5\n", "text/csv").run()
    at.button(key="ingest.check").click().run()
    at.button(key="ingest.import").click().run()
    assert not at.exception
    assert (tmp_path / "missing.duckdb").exists()
