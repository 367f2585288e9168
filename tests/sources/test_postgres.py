"""Company source: a real PostgreSQL (started by tests/sources/conftest.py) holding the small demo
data. The synced file must give every page figure the DuckDB file of the same data gives; an
incremental refresh after a new month must equal a full rebuild; every failure leaves the current
database as it was, with the reason said."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb
import pytest

from kamdash import cli, config, store, sync
from kamdash.ingest import sources
from tests.sources.conftest import PASSWORD, READER, READER_PASSWORD, copy_tables
from tests.sources.figures import assert_same, assert_same_figures

pytestmark = pytest.mark.engines  # deselect with -m "not engines" for a quick run

TABLE_ARGS = [f"--table={t}=sales.{t}" for t in ("order_lines", "customers", "products", "cost_to_serve")]
DERIVED = ("customer_month", "customer_key", "customer_cum", "month_cube", "order_month", "source_months")


@pytest.fixture(scope="module")
def pg(postgres, small_db):
    """The small demo in schema ``sales``; the rights and oddities the error tests need."""
    with postgres.connect() as con:
        copy_tables(con, small_db)
        con.execute("CREATE TABLE sales.no_amount AS SELECT customer_id, order_date FROM sales.order_lines")
        con.execute("CREATE TABLE sales.text_dates AS SELECT customer_id, order_date::text AS order_date, "
                    "revenue FROM sales.order_lines")
        con.execute("CREATE TABLE sales.empty_lines (LIKE sales.order_lines)")
        # another system's names: suggested (client id, invoice date) or mapped (umsatz)
        con.execute("CREATE VIEW sales.erp_lines AS SELECT order_id AS belegnr, line_no, order_date AS "
                    "invoice_date, customer_id AS client_id, product_id AS sku, revenue AS umsatz, cost, "
                    "discount FROM sales.order_lines")
        con.execute(f"GRANT USAGE ON SCHEMA sales TO {READER}")
    return postgres


def sync_cli(monkeypatch, db: Path, *args: str, password: str = PASSWORD) -> tuple[int, dict]:
    monkeypatch.setenv("KAMDASH_SOURCE_PASSWORD", password)
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["sync", "--db", str(db), "--json", *args])
    return code, json.loads(out.getvalue())


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read(path: Path, table: str):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.sql(f"SELECT * FROM {table} ORDER BY ALL").df()
    finally:
        con.close()


def test_synced_figures_equal_the_duckdb_file(pg, small_db, tmp_path, monkeypatch):
    db = tmp_path / "synced.duckdb"
    code, out = sync_cli(monkeypatch, db, "--source", pg.url(), *TABLE_ARGS)
    assert code == 0, json.dumps(out)
    assert out["mode"] == "full" and out["months_computed"] == out["months"] == 24
    assert store.check_sales_db(db).ok
    assert_same_figures(small_db, db)
    # no order line came back: the file holds their totals only, and says where the lines are
    con = duckdb.connect(str(db), read_only=True)
    meta = store.read_meta(con)
    assert con.execute("SELECT count(*) FROM order_lines").fetchall()[0][0] == 0
    n_lines = duckdb.connect(str(small_db), read_only=True).execute("SELECT count(*) FROM order_lines").fetchall()[0][0]
    assert meta["lines_at"] == "source" and int(meta["order_lines"]) == n_lines
    con.close()
    # the source and its mapping are kept for the next refresh, never a password
    saved = store.get_setting(config.user_db_path(db), sync.SETTING_KEY)
    assert saved["url"] == pg.url() and saved["tables"]["order_lines"] == "sales.order_lines"
    assert PASSWORD not in json.dumps(saved)
    # ... and used when --source is not given: nothing changed, so no month is computed again
    # and the file is not written at all
    before, mtime = digest(db), db.stat().st_mtime_ns
    code, again = sync_cli(monkeypatch, db)
    assert code == 0 and again["mode"] == "unchanged" and again["months_computed"] == 0
    assert digest(db) == before and db.stat().st_mtime_ns == mtime
    assert again["meta"]["built_at"] == meta["built_at"]
    assert store.get_setting(config.user_db_path(db), sync.SETTING_KEY)["mode"] == "unchanged"


def test_a_password_in_the_url_is_used_not_saved(pg, tmp_path, monkeypatch):
    db = tmp_path / "s.duckdb"
    url = pg.url().replace("kamdash@", f"kamdash:{PASSWORD}@")
    code, out = sync_cli(monkeypatch, db, "--source", url, *TABLE_ARGS, password="")
    assert code == 0
    saved = store.get_setting(config.user_db_path(db), sync.SETTING_KEY)
    assert saved["url"] == pg.url() and PASSWORD not in json.dumps(saved)
    assert PASSWORD not in store.read_meta(duckdb.connect(str(db), read_only=True))["source"]


def test_mapped_columns_of_another_system(pg, small_db, tmp_path, monkeypatch):
    db = tmp_path / "erp.duckdb"
    code, out = sync_cli(monkeypatch, db, "--source", pg.url(), *TABLE_ARGS,
                         "--table", "order_lines=sales.erp_lines", "--map", "umsatz=revenue",
                         "--map", "belegnr=order_id")
    assert code == 0, json.dumps(out)
    for t in ("customer_month", "customer_cum"):
        assert_same(read(small_db, t), read(db, t), t)


def test_incremental_refresh_after_a_new_month_equals_a_full_rebuild(pg, small_db, tmp_path, monkeypatch):
    last = duckdb.connect(str(small_db), read_only=True).execute(
        "SELECT max(date_trunc('month', order_date))::DATE FROM order_lines").fetchall()[0][0]
    with pg.connect() as con:  # schema inc: every month but the last, then the last appended
        con.execute("CREATE SCHEMA inc")
        copy_tables(con, small_db, where=f"WHERE order_date < DATE '{last.isoformat()}'", schema="inc")
    args = [f"--table={t}=inc.{t}" for t in ("order_lines", "customers", "products", "cost_to_serve")]
    db, full = tmp_path / "inc.duckdb", tmp_path / "full.duckdb"
    code, first = sync_cli(monkeypatch, db, "--source", pg.url(), *args)
    assert code == 0 and first["months"] == 23
    before = read(db, "customer_month")
    with pg.connect() as con:
        copy_tables(con, small_db, where=f"WHERE order_date >= DATE '{last.isoformat()}'",
                    tables=("order_lines",), schema="inc")
    code, inc = sync_cli(monkeypatch, db, "--source", pg.url(), *args)
    assert code == 0 and inc["mode"] == "incremental" and inc["months_computed"] == 1 and inc["months"] == 24
    code, reb = sync_cli(monkeypatch, full, "--source", pg.url(), *args, "--full")
    assert code == 0 and reb["mode"] == "full" and reb["months_computed"] == 24
    for t in DERIVED:
        assert_same(read(full, t), read(db, t), t)
    after = read(db, "customer_month")
    in_last = lambda cm: cm.loc[cm["month"].dt.date == last, "orders"].sum()  # noqa: E731
    assert in_last(before) == 0 and in_last(after) > 0
    assert_same_figures(small_db, db)
    # a month changed at the source (a line's amount corrected) is computed again, alone
    with pg.connect() as con:
        con.execute("UPDATE inc.order_lines SET revenue = revenue + 1000 WHERE (order_id, line_no) = "
                    "(SELECT order_id, line_no FROM inc.order_lines ORDER BY order_id, line_no LIMIT 1)")
    code, fix = sync_cli(monkeypatch, db, "--source", pg.url(), *args)
    assert code == 0 and fix["months_computed"] == 1
    code, _ = sync_cli(monkeypatch, full, "--source", pg.url(), *args, "--full")
    for t in DERIVED:
        assert_same(read(full, t), read(db, t), t)
    rev = lambda p: read(p, "customer_month")["revenue"].sum()  # noqa: E731
    assert rev(db) == pytest.approx(rev(small_db) + 1000)


@pytest.fixture(scope="module")
def synced(pg, tmp_path_factory) -> Path:
    """A database synced from the source (and its user database), copied by each test."""
    db = tmp_path_factory.mktemp("synced") / "current.duckdb"
    with pytest.MonkeyPatch.context() as mp:
        assert sync_cli(mp, db, "--source", pg.url(), *TABLE_ARGS)[0] == 0
    return db


@pytest.mark.parametrize("case, code", [
    ("wrong_password", "src_wrong_password"),
    ("refused", "src_refused"),
    ("no_database", "src_no_database"),
    ("no_table", "src_no_table"),
    ("missing_column", "missing_column"),
    ("wrong_type", "src_wrong_type"),
    ("no_rights", "src_no_rights"),
    ("empty", "src_empty"),
    ("bad_url", "src_bad_url"),
])
def test_failures_say_why_and_change_nothing(pg, synced, tmp_path, monkeypatch, case, code):
    import shutil

    db = tmp_path / "current.duckdb"
    shutil.copyfile(synced, db)
    shutil.copyfile(config.user_db_path(synced), config.user_db_path(db))
    before, user_before = digest(db), store.get_setting(config.user_db_path(db), sync.SETTING_KEY)
    url, args, password = pg.url(), list(TABLE_ARGS), PASSWORD
    if case == "wrong_password":
        password = "not-it"
    elif case == "refused":
        from tests.sources.conftest import free_port
        url = f"postgresql://kamdash@127.0.0.1:{free_port()}/sales"
    elif case == "no_database":
        url = pg.url(database="nowhere")
    elif case == "no_table":
        args.append("--table=order_lines=sales.nothing_here")
    elif case == "missing_column":
        args.append("--table=order_lines=sales.no_amount")
    elif case == "wrong_type":
        args.append("--table=order_lines=sales.text_dates")
    elif case == "no_rights":
        url, password = pg.url(user=READER), READER_PASSWORD
    elif case == "empty":
        args.append("--table=order_lines=sales.empty_lines")
    elif case == "bad_url":
        url = "mysql://kamdash@127.0.0.1/sales"
    rc, out = sync_cli(monkeypatch, db, "--source", url, *args, password=password)
    assert rc == 2 and out["ok"] is False
    assert [p["code"] for p in out["problems"]] [:1] == [code]
    reason = out["problems"][0]["reason"]
    assert reason and "Traceback" not in reason
    if case == "missing_column":
        assert out["problems"][0]["column"] == "revenue"
    if case == "wrong_type":
        assert out["problems"][0]["column"] == "order_date" and "date" in reason
    assert digest(db) == before  # the current database is byte for byte as it was
    assert [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name] == []
    assert store.get_setting(config.user_db_path(db), sync.SETTING_KEY) == user_before
    assert PASSWORD not in json.dumps(out)


def test_messages_exist_in_both_languages():
    from kamdash import i18n

    for code in ("src_wrong_password", "src_refused", "src_no_rights", "src_wrong_type", "src_empty",
                 "src_no_table", "src_bad_url"):
        for lang in ("en", "zh"):
            assert i18n.catalog(lang)[f"ingest.reason.{code}"]
    assert sources.strip_password("postgresql://u:p%40ss@h:5/db") == ("postgresql://u@h:5/db", "p@ss")
