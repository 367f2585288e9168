"""AppTest for app.py: navigation, and a clear way out when the database cannot be used."""

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from kamdash import store
from tests.pages.conftest import TIMEOUT


def app() -> AppTest:
    return AppTest.from_file("../../app.py", default_timeout=TIMEOUT)


def rerun(at: AppTest) -> AppTest:
    # AppTest (streamlit 1.67) re-runs only the page script after a run that went through
    # st.navigation, skipping app.py; resetting the finished page makes it run app.py again,
    # as the browser does.
    at._finished_page_script_hash = ""
    return at.run()


def test_app_shows_the_overview_with_the_sidebar(small_db, use_db):
    use_db(small_db)
    at = app().run()
    assert not at.exception
    assert at.title[0].value == "Overview"
    keys = {getattr(w, "key", None) for w in at.sidebar.children.values()}
    assert {"lang", "period", "region", "ctype", "sector", "manager"} <= keys
    assert any("Data as of" in c.value for c in at.sidebar.caption)
    revenue = at.metric[0].value
    at.multiselect(key="region").select("North China")
    rerun(at)
    assert at.metric[0].value != revenue


@pytest.mark.parametrize("content,message", [
    (None, "There is no sales database"),
    (b"garbage" * 1000, "cannot be read as a kamdash database"),
])
def test_unusable_database_explained_with_a_way_out(tmp_path, use_db, content, message):
    path = use_db(tmp_path / "kamdash.duckdb")
    if content is not None:
        path.write_bytes(content)
    at = app().run()
    assert not at.exception
    assert message in at.error[0].value
    assert at.button(key="build_demo").label == "Build the demo database"
    at.button(key="build_demo").click()
    rerun(at)
    assert not at.exception
    assert store.check_sales_db(path).ok
    if content is not None:  # the broken file was kept, not deleted
        kept = [p for p in tmp_path.iterdir() if ".old-" in p.name]
        assert len(kept) == 1 and kept[0].read_bytes() == content
    rerun(at)
    assert at.title[0].value == "Overview"


def test_newer_schema_version_is_explained(tiny_db, tmp_path, use_db):
    import duckdb

    path = use_db(tmp_path / "kamdash.duckdb")
    shutil.copy(tiny_db, path)
    con = duckdb.connect(str(path))
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    at = app().run()
    assert not at.exception
    assert "newer kamdash" in at.error[0].value
    assert "99" in at.error[0].value


def test_older_database_is_upgraded_from_the_app(tiny_db, tmp_path, use_db):
    """A database built by kamdash 0.1 (schema 1, no running totals) is upgraded with one click,
    its sales data kept, and the overview then opens on it."""
    import duckdb

    path = use_db(tmp_path / "kamdash.duckdb")
    shutil.copy(tiny_db, path)
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE customer_cum")
    con.execute("DROP TABLE customer_key")
    con.execute("DROP TABLE month_cube")
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    lines = con.execute("SELECT count(*) FROM order_lines").fetchall()[0][0]
    con.close()
    at = app().run()
    assert not at.exception
    assert "older kamdash" in at.error[0].value
    at.button(key="upgrade_db").click()
    rerun(at)
    assert not at.exception
    assert at.title[0].value == "Overview"
    con = duckdb.connect(str(path), read_only=True)
    assert con.execute("SELECT count(*) FROM order_lines").fetchall()[0][0] == lines
    con.close()
