"""AppTest for the company-source panel of the Data page and the sidebar line: refresh with
progress, a failure that changes nothing, no source set up. The source is a Parquet folder
(DuckDB reads it), made from the tiny database."""

from __future__ import annotations

import shutil

import duckdb
import pytest

from kamdash import config, store, sync
from kamdash.ingest import sources
from tests.pages.conftest import page
from tests.sources.test_spark_parquet import write_folder


@pytest.fixture
def synced(tmp_path, tiny_db, use_db):
    lake = tmp_path / "lake"
    write_folder(tiny_db, lake)
    db = tmp_path / "sales.duckdb"
    sync.run(db, sources.Source(f"parquet://{lake}"), user_db=config.user_db_path(db))
    use_db(db)
    return db, lake


def sidebar_text(at) -> str:
    return " ".join(c.value for c in at.sidebar.caption)


def test_refresh_from_source_and_the_sidebar_line(synced, tiny_db):
    db, lake = synced
    at = page("pages/data.py").run()
    assert not at.exception
    assert f"Source: parquet://{lake} · refreshed" in sidebar_text(at)
    assert any(f"Source: parquet://{lake}" in c.value for c in at.caption)
    at.button(key="source.go").click().run()
    assert not at.exception
    assert any(s.value.startswith("Nothing changed at the source since the last refresh (")
               and "the database was left as it was" in s.value for s in at.success), [s.value for s in at.success]
    # a new month at the source: a full rebuild on request, the page follows the new file
    con = duckdb.connect(str(tiny_db), read_only=True)
    con.sql("SELECT 'o99' AS order_id, line_no, DATE '2025-07-02' AS order_date, customer_id, product_id, "
            "quantity, unit_price, discount, 250.0::DOUBLE AS revenue, cost FROM order_lines LIMIT 1"
            ).write_parquet(str(lake / "order_lines" / "new.parquet"))
    con.close()
    at.checkbox(key="source.full").check().run()
    at.button(key="source.go").click().run()
    assert not at.exception
    assert any(s.value.startswith("Refreshed (full rebuild): 10 of 10 months") for s in at.success), \
        ([s.value for s in at.success], [e.value for e in at.error], [d.value for d in at.dataframe])
    assert "12 order lines" in at.caption[0].value


def test_a_failed_refresh_changes_nothing(synced):
    db, lake = synced
    before = db.read_bytes()
    shutil.rmtree(lake)
    at = page("pages/data.py").run()
    at.button(key="source.go").click().run()
    assert not at.exception
    assert at.error[0].value == "Nothing was changed: the refresh failed."
    assert "no such folder" in at.dataframe[-1].value.iloc[0, -1]
    assert db.read_bytes() == before
    assert store.check_sales_db(db).ok


def test_no_source_set_up(tmp_path, tiny_db, use_db):
    db = tmp_path / "sales.duckdb"
    shutil.copy(tiny_db, db)
    use_db(db)
    at = page("pages/data.py").run()
    assert not at.exception
    assert any("No company source is set up" in c.value for c in at.caption)
    assert "Source:" not in sidebar_text(at)


def test_the_panel_says_when_the_data_was_last_refreshed(synced):
    from datetime import datetime

    db, _ = synced
    con = duckdb.connect(str(db), read_only=True)
    built = dict(con.sql("SELECT key, value FROM meta").fetchall())["built_at"]
    con.close()
    when = datetime.fromisoformat(built)
    at = page("pages/data.py").run()
    assert not at.exception
    assert f"Last refreshed {when:%b} {when.day}, {when.year} {when:%H:%M} UTC" in [c.value for c in at.caption]
