"""AppTest of the pages on a database synced from a company source: it holds the order totals
per customer and month, not the order lines. Every part that reads order lines (product mix,
plan actuals, product breadth, whitespace, purchase days for lifetime value and order rhythm)
says so, in English and Chinese, instead of showing empty or zero figures; the parts built on
the monthly totals show their figures as on the file-imported database."""

from __future__ import annotations

import duckdb
import pytest

from kamdash import i18n, plans, sync
from kamdash.engine import connect
from kamdash.engine.filters import Filters, add_months
from kamdash.ingest import sources
from kamdash.ui import segments as segments_ui
from tests.pages.conftest import metrics, page, switch_to_chinese
from tests.sources.test_spark_parquet import write_folder

CID = "C000399"  # a customer of the small demo database with orders in the last year
AT_SOURCE = "stay in the company source"


@pytest.fixture(scope="module")
def synced_small(small_db, tmp_path_factory):
    """The small demo synced from a Parquet folder (DuckDB reads it): no order lines here."""
    d = tmp_path_factory.mktemp("synced_pages")
    write_folder(small_db, d / "lake")
    db = d / "synced.duckdb"
    sync.run(db, sources.Source(f"parquet://{d / 'lake'}"))
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM order_lines").fetchall()[0][0] == 0
    con.close()
    return db


@pytest.fixture
def synced(synced_small, use_db, user_db):
    return use_db(synced_small)


def infos(at) -> list[str]:
    return [i.value for i in at.info]


def notes(at) -> list[str]:
    return [v for v in infos(at) if AT_SOURCE in v]


def test_overview_figures_equal_the_file_import(synced_small, small_db, use_db, user_db):
    use_db(small_db)
    want = metrics(page("pages/overview.py").run())
    use_db(synced_small)
    at = page("pages/overview.py").run()
    assert not at.exception
    assert metrics(at) == want and len(want) == 6
    assert notes(at) == []  # nothing on this page needs the order lines


def test_retention_fits_nothing_and_says_why(synced):
    at = page("pages/retention.py").run()
    assert not at.exception
    # the lifetime value, model check and at-risk tabs each say why; no fit is started
    assert len(notes(at)) == 3 and "purchase days" in notes(at)[0]
    assert not any("being fitted" in v for v in infos(at))
    assert len(at.get("plotly_chart")) == 3  # the cohort charts, from the monthly totals


def test_account_mix_and_plan_actuals(synced, user_db):
    plans.save(user_db, CID, {"goals": [{"metric": "revenue", "target": 1.0, "start": "2026-01-01",
                                         "due": "2026-12-31"}]}, "Li Na", None)
    at = page("pages/account.py")
    at.query_params["customer"] = CID
    at.run()
    assert not at.exception
    assert any("No product mix here" in v for v in notes(at))
    assert not any(v.startswith("No orders in the period") for v in infos(at))
    assert any(v.startswith("P(still active) and lifetime value need each customer's purchase days") for v in notes(at))
    assert not any("fit the model on the Retention" in v for v in infos(at))
    at.session_state["acct_tab"] = "Account plan"
    at.run()
    assert not at.exception
    assert any("progress against the goals cannot be shown" in v for v in notes(at))
    assert not any("On track" in str(d.value) or "Off track" in str(d.value) for d in at.dataframe)
    plans_page = page("pages/plans.py").run()
    assert not plans_page.exception
    assert any("cannot be tracked against actual sales" in v for v in notes(plans_page))


def test_my_accounts_whitespace_and_health(synced):
    at = page("pages/my_accounts.py").run()
    assert not at.exception
    texts = notes(at)
    assert any(v.startswith("No whitespace here") for v in texts)
    assert any(v.startswith("Order rhythm, category breadth and P(alive)") for v in texts)
    assert not any("products have no category" in v for v in infos(at))


def test_whatif_offers_the_contractual_view_only(synced):
    at = page("pages/whatif.py").run()
    assert not at.exception
    assert any("only the contractual view" in v for v in notes(at))
    assert not any(v.startswith("No stored model fit") for v in infos(at))


def test_breadth_is_left_out_of_the_segments(synced, user_db):
    from kamdash import store

    store.put_setting(user_db, segments_ui.CONFIG_KEY, {"features": ["revenue", "frequency", "breadth"]})
    at = page("pages/segments.py").run()
    assert not at.exception
    assert any(v.startswith("Product breadth is read from the order lines") for v in notes(at))
    picker = at.multiselect(key="seg_features")
    assert "breadth" not in picker.options and "breadth" not in picker.value


def test_no_breadth_of_zero_from_an_empty_order_lines_table(synced_small, small_db):
    for db, unknown in ((synced_small, True), (small_db, False)):
        b = connect(str(db))
        try:
            last = b.data_facts()["last_month"]
            feats = b.customer_features(Filters(start=add_months(last, -11), end=last), breadth=True)
        finally:
            b.close()
        assert len(feats) and feats["breadth"].isna().all() == unknown
        assert unknown or (feats["breadth"] > 0).all()


def test_chinese(synced):
    at = page("pages/retention.py").run()
    switch_to_chinese(at)
    assert not at.exception
    zh = [i.value for i in at.info if "公司数据源" in i.value]
    assert len(zh) == 3 and zh[0].startswith("客户终身价值")


def test_every_note_exists_in_both_languages():
    from kamdash.ui import lines

    for part in lines.PARTS:
        for lang in ("en", "zh"):
            text = i18n.t(f"lines.at_source.{part}", lang, source="pg://x")
            assert "pg://x" in text and not text.startswith("lines.")
