"""Company sources read by Spark (local mode, one session for the test session) and by DuckDB
(a folder of Parquet files): the same Ibis expressions, the same figures as the DuckDB file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from kamdash import sync
from kamdash.ingest import sources
from tests.sources.figures import assert_same, assert_same_figures
from tests.sources.test_postgres import DERIVED, digest, read

pytestmark = pytest.mark.engines  # deselect with -m "not engines" for a quick run

SMALL = ("customers", "products", "cost_to_serve")


def write_folder(small_db: Path, folder: Path, upto=None) -> None:
    """The demo as a folder of Parquet files: order_lines/ one file per year (before ``upto``
    only, when given), the other tables one file each."""
    (folder / "order_lines").mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(small_db), read_only=True)
    try:
        years = [r[0] for r in con.execute("SELECT DISTINCT year(order_date) FROM order_lines").fetchall()]
        for y in years:
            rel = con.sql("SELECT * FROM order_lines WHERE year(order_date) = ?"
                          + (" AND order_date < ?" if upto else ""), params=[y, upto] if upto else [y])
            rel.write_parquet(str(folder / "order_lines" / f"part-{y}.parquet"))
        for t in SMALL:
            con.sql(f"SELECT * FROM {t}").write_parquet(str(folder / f"{t}.parquet"))
    finally:
        con.close()


def last_month(small_db: Path):
    con = duckdb.connect(str(small_db), read_only=True)
    try:
        return con.execute("SELECT max(date_trunc('month', order_date))::DATE FROM order_lines").fetchall()[0][0]
    finally:
        con.close()


def add_last_month(small_db, lake, last) -> None:
    """The order lines from ``last`` on, as a new file in the lake's order_lines folder."""
    con = duckdb.connect(str(small_db), read_only=True)
    try:
        con.sql("SELECT * FROM order_lines WHERE order_date >= ?", params=[last]).write_parquet(
            str(lake / "order_lines" / "part-new.parquet"))
    finally:
        con.close()


def test_parquet_folder_figures_equal_the_duckdb_file(small_db, tmp_path):
    write_folder(small_db, tmp_path / "lake")
    db = tmp_path / "synced.duckdb"
    r = sync.run(db, sources.Source(f"parquet://{tmp_path / 'lake'}"))
    assert r.mode == "full" and r.months == 24
    assert_same_figures(small_db, db)


def test_parquet_folder_incremental_equals_full(small_db, tmp_path):
    last = last_month(small_db)
    lake = tmp_path / "lake"
    write_folder(small_db, lake, upto=last)
    db, full = tmp_path / "inc.duckdb", tmp_path / "full.duckdb"
    src = sources.Source(f"parquet://{lake}")
    assert sync.run(db, src).months == 23
    add_last_month(small_db, lake, last)
    inc = sync.run(db, src)
    assert (inc.mode, inc.months, inc.months_total) == ("incremental", 1, 24)
    assert sync.run(full, src, full=True).months == 24
    for t in DERIVED:
        assert_same(read(full, t), read(db, t), t)
    # nothing changed: the file is not written (same bytes, same modification time)
    before, mtime = digest(db), db.stat().st_mtime_ns
    again = sync.run(db, src)
    assert (again.mode, again.months, again.months_total) == ("unchanged", 0, 24)
    assert digest(db) == before and db.stat().st_mtime_ns == mtime
    # a customer's attribute or a cost-to-serve amount changes, no order line does: the
    # database is built again (no month computed at the source) and equals a full rebuild
    for table, change in (("customers", "CASE WHEN customer_id = (SELECT min(customer_id) FROM t) "
                                        "THEN 'Elsewhere' ELSE region END AS region"),
                          ("cost_to_serve", "CASE WHEN customer_id = (SELECT min(customer_id) FROM t) "
                                            "THEN amount + 7 ELSE amount END AS amount")):
        path = lake / f"{table}.parquet"
        con = duckdb.connect()
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet('{path}')")
        col = change.rsplit(" AS ", 1)[1]
        con.sql(f"SELECT * REPLACE ({change.rsplit(' AS ', 1)[0]} AS {col}) FROM t").write_parquet(str(path))
        con.close()
        redo = sync.run(db, src)
        assert (redo.mode, redo.months) == ("incremental", 0)
        sync.run(full, src, full=True)
        for t in DERIVED:
            assert_same(read(full, t), read(db, t), t)
    assert (read(db, "customers")["region"] == "Elsewhere").sum() == 1


def test_parquet_refresh_of_an_earlier_month_keeps_the_months_before_it(small_db, tmp_path):
    """A month in the middle of the history disappears at the source: the refresh writes the
    database's months again from that month on (the earlier rows kept, but the next order after
    them, which lay in that month) and equals a full rebuild; a new customer id in a new month
    (no key in the database) makes the refresh build the file whole, equal again."""
    last = last_month(small_db)
    lake = tmp_path / "lake"
    write_folder(small_db, lake)
    db, full = tmp_path / "inc.duckdb", tmp_path / "full.duckdb"
    src = sources.Source(f"parquet://{lake}")
    sync.run(db, src)
    con = duckdb.connect()
    try:
        gone = con.execute(f"SELECT (DATE '{last}' - INTERVAL 8 MONTH)::DATE").fetchall()[0][0]
        path = lake / "order_lines" / f"part-{gone.year}.parquet"
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_parquet('{path}')")
        con.sql("SELECT * FROM t WHERE date_trunc('month', order_date) <> ?", params=[gone]).write_parquet(str(path))
        n_before = read(db, "customer_cum").query("month < @gone and first_after >= @gone")
    finally:
        con.close()
    assert len(n_before) > 0  # earlier rows whose next order lay in that month
    r = sync.run(db, src)
    assert (r.mode, r.months, r.since) == ("incremental", 0, gone)
    sync.run(full, src, full=True)
    for t in DERIVED:
        assert_same(read(full, t), read(db, t), t)
    # a new month with a customer the customers table does not have
    con = duckdb.connect(str(small_db), read_only=True)
    try:
        nxt = con.execute(f"SELECT (DATE '{last}' + INTERVAL 1 MONTH)::DATE").fetchall()[0][0]
        con.sql("SELECT * REPLACE ('NEW-CUSTOMER' AS customer_id, order_date + INTERVAL 1 MONTH AS order_date) "
                "FROM order_lines WHERE order_date >= ? LIMIT 3", params=[last]).write_parquet(
            str(lake / "order_lines" / "part-next.parquet"))
    finally:
        con.close()
    r = sync.run(db, src)
    assert (r.mode, r.months, r.since) == ("incremental", 1, None)
    assert any("not in the customers table" in w for w in r.warnings)
    sync.run(full, src, full=True)
    for t in DERIVED:
        assert_same(read(full, t), read(db, t), t)
    assert nxt in set(read(db, "customer_month")["month"].dt.date)


def test_spark_sync_and_incremental_refresh(spark, small_db, tmp_path, monkeypatch):
    """Spark reads the Parquet paths: the first sync has every month but the last; a file with
    the last month appears; the refresh computes that month alone; the result equals the
    DuckDB file's figures and a full rebuild of the same folder (DuckDB reading it). The
    driver is handed the totals a few months at a time (as at millions of rows), and a refresh
    with nothing changed leaves the file alone."""
    monkeypatch.setattr(sources, "CHUNK_ROWS", 5_000)  # three chunks of months at this size
    last = last_month(small_db)
    lake = tmp_path / "lake"
    write_folder(small_db, lake, upto=last)
    tables = {"order_lines": str(lake / "order_lines"), **{t: str(lake / f"{t}.parquet") for t in SMALL}}
    src = sources.Source("spark://local[2]", tables)
    db = tmp_path / "spark.duckdb"
    first = sync.run(db, src)
    assert (first.mode, first.months) == ("full", 23)
    add_last_month(small_db, lake, last)
    inc = sync.run(db, src)
    assert (inc.mode, inc.months, inc.months_total) == ("incremental", 1, 24)
    assert_same_figures(small_db, db)
    full = tmp_path / "full.duckdb"
    sync.run(full, sources.Source(f"parquet://{lake}"), full=True)
    for t in DERIVED:
        assert_same(read(full, t), read(db, t), t)
    before = digest(db)
    assert sync.run(db, src).mode == "unchanged" and digest(db) == before


def test_spark_missing_table_and_column(spark, small_db, tmp_path):
    lake = tmp_path / "lake"
    write_folder(small_db, lake)
    db = tmp_path / "none.duckdb"
    with pytest.raises(sources.SourceError) as e:
        sync.run(db, sources.Source("spark://local[2]", {"order_lines": str(lake / "missing")}))
    assert e.value.problems[0].code == "src_no_table"
    with pytest.raises(sources.SourceError) as e:  # customers are no order lines
        sync.run(db, sources.Source("spark://local[2]", {"order_lines": str(lake / "customers.parquet")}))
    assert {p.code for p in e.value.problems} == {"missing_column"}
    assert not db.exists()
