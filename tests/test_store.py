import shutil

import duckdb
import pytest

from kamdash import schema, store
from tests.conftest import fill_tiny


def test_schema_and_meta_written(tiny_db):
    con = duckdb.connect(str(tiny_db), read_only=True)
    try:
        tables = {r[0] for r in con.sql("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert set(schema.SALES_TABLES) | set(schema.DERIVED_TABLES) <= tables
        meta = store.read_meta(con)
        cols = [r[0] for r in con.sql("DESCRIBE customer_month").fetchall()]
    finally:
        con.close()
    assert meta["kind"] == schema.SALES_KIND
    assert meta["schema_version"] == str(schema.SALES_SCHEMA_VERSION)
    assert meta["as_of"] == "2025-06-30"
    assert meta["order_lines"] == "11"
    assert tuple(cols) == schema.CUSTOMER_MONTH_COLUMNS
    assert store.check_sales_db(tiny_db).ok


def test_customer_month_adds_up(tiny_db):
    con = duckdb.connect(str(tiny_db), read_only=True)
    try:
        rows = con.sql(
            "SELECT customer_id, month, revenue, cost, returns, cost_to_serve, account_profit, orders, "
            "order_days FROM customer_month WHERE customer_id IN ('B', 'C') ORDER BY 1, 2"
        ).fetchall()
    finally:
        con.close()
    as_text = [(c, m.isoformat(), r, k, ret, cts, ap, o, d) for c, m, r, k, ret, cts, ap, o, d in rows]
    assert as_text == [
        ("B", "2025-01-01", 300, 150, 0, 0, 150, 1, 1),
        # April: an order of 400 and a return of -100 (two orders, two days), support 100
        ("B", "2025-04-01", 300, 150, 100, 100, 50, 2, 2),
        ("C", "2024-12-01", 50, 20, 0, 0, 30, 1, 1),
        ("C", "2025-03-01", 200, 100, 0, 0, 100, 1, 1),
        # May: no order, only cost-to-serve: the month exists with a loss
        ("C", "2025-05-01", 0, 0, 0, 50, -50, 0, 0),
    ]


def test_missing_file(tmp_path):
    status = store.check_sales_db(tmp_path / "nope.duckdb")
    assert (status.ok, status.problem) == (False, "missing")


def test_corrupt_file(tmp_path):
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"this is not a database" * 100)
    status = store.check_sales_db(bad)
    assert status.problem == "corrupt"
    assert status.detail


def test_foreign_duckdb_file(tmp_path):
    other = tmp_path / "other.duckdb"
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE t AS SELECT 1 AS a")
    con.close()
    assert store.check_sales_db(other).problem == "not_kamdash"


@pytest.mark.parametrize("version,problem", [(schema.SALES_SCHEMA_VERSION + 1, "newer_version"),
                                             (0, "older_version")])
def test_other_schema_version(tiny_db, tmp_path, version, problem):
    copy = tmp_path / "copy.duckdb"
    shutil.copy(tiny_db, copy)
    con = duckdb.connect(str(copy))
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(version)])
    con.close()
    status = store.check_sales_db(copy)
    assert status.problem == problem
    assert status.found_version == version


def test_empty_database(tmp_path):
    path = tmp_path / "empty.duckdb"
    store.build_sales_db(path, lambda con: None, source="tests")
    assert store.check_sales_db(path).problem == "empty"


def test_failed_build_leaves_current_file_byte_identical(tiny_db, tmp_path):
    path = tmp_path / "sales.duckdb"
    shutil.copy(tiny_db, path)
    before = path.read_bytes()

    def broken(con):
        fill_tiny(con)
        raise ValueError("row 7, column revenue: not a number")

    with pytest.raises(ValueError, match="row 7"):
        store.build_sales_db(path, broken, source="tests")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sales.duckdb"]  # no temp file left


def test_integrity_check_refuses_orphan_lines(tmp_path):
    path = tmp_path / "orphans.duckdb"

    def orphan(con):
        fill_tiny(con)
        con.execute("INSERT INTO order_lines VALUES ('x', 1, DATE '2025-01-01', 'ZZZ', 'p1', 1, 1, 0, 1, 1)")

    with pytest.raises(store.StoreError, match="customer_id missing"):
        store.build_sales_db(path, orphan, source="tests")
    assert not path.exists()


def test_user_state_survives_replacing_sales_data(tiny_db, tmp_path):
    sales = tmp_path / "kamdash.duckdb"
    shutil.copy(tiny_db, sales)
    from kamdash import config

    user = config.user_db_path(sales)
    assert user.name == "kamdash.user.duckdb"
    store.put_setting(user, "ka_rules", {"economic": {"top_share": 0.8}}, user="tester")
    store.build_sales_db(sales, fill_tiny, source="re-import")
    assert store.get_setting(user, "ka_rules") == {"economic": {"top_share": 0.8}}
    assert store.get_setting(user, "absent", "default") == "default"


def test_user_db_of_newer_version_is_refused(tmp_path):
    user = tmp_path / "u.duckdb"
    store.ensure_user_db(user)
    con = duckdb.connect(str(user))
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(store.StoreError, match="newer kamdash"):
        store.ensure_user_db(user)


def test_build_memory_limit_is_validated_and_a_bad_one_leaves_the_database_alone(tmp_path, monkeypatch):
    from kamdash import demo

    path = tmp_path / "s.duckdb"
    monkeypatch.setenv("KAMDASH_BUILD_MEMORY", "512MB")
    demo.build_demo(path, customers=60, years=1, seed=1)
    before = path.read_bytes()
    monkeypatch.setenv("KAMDASH_BUILD_MEMORY", "1GB'; DROP TABLE customers; --")
    with pytest.raises(store.StoreError, match="KAMDASH_BUILD_MEMORY"):
        demo.build_demo(path, customers=60, years=1, seed=2)
    assert path.read_bytes() == before


def test_dashboard_queries_have_a_memory_limit(tiny_db, monkeypatch):
    from kamdash.engine import connect

    monkeypatch.delenv("KAMDASH_QUERY_MEMORY", raising=False)
    limit = lambda b: b.con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]  # noqa: E731
    assert limit(connect(str(tiny_db))) in ("1.0 GiB", "953.6 MiB")  # 1GB as DuckDB shows it
    monkeypatch.setenv("KAMDASH_QUERY_MEMORY", "512MB")
    assert "MiB" in limit(connect(str(tiny_db)))
    monkeypatch.setenv("KAMDASH_QUERY_MEMORY", "1GB'; SET threads = 1; --")
    with pytest.raises(ValueError, match="KAMDASH_QUERY_MEMORY"):
        connect(str(tiny_db))


def test_user_database_read_by_many_sessions_at_once(tmp_path):
    """Browser sessions are threads of one server: twenty of them reading the user database at
    the same moment must all get their answer (DuckDB refuses a second attach of a file being
    attached: "Unique file handle conflict")."""
    import threading

    from kamdash import access

    path = tmp_path / "x.user.duckdb"
    store._with_user_db(path, lambda con: None)
    errors = []

    def session(i):
        for _ in range(200):
            try:
                access.get(path, f"user{i}@example.com")
            except Exception as exc:  # collected: the assertion below names them
                errors.append(repr(exc))

    threads = [threading.Thread(target=session, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
