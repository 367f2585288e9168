"""store.derive against the plain SQL it replaced (count(DISTINCT ...) per customer-month, and
running totals as window functions over the dense customer x month grid): the same rows in the
same physical order, the same column types, counts and dates exactly, money to 1e-9 (sums
added in another order). Checked on awkward hand-made data (an order over two days and over
two months, lines without cost, months with cost-to-serve only, a customer without anything,
cost-to-serve of an unknown customer) and on the small demo; plus the demo's ids."""

from __future__ import annotations

import shutil
from datetime import date

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from kamdash import demo, schema, store

REFERENCE_CUSTOMER_MONTH = """
    CREATE TABLE ref_customer_month AS
    WITH o AS (
        SELECT customer_id, date_trunc('month', order_date)::DATE AS month,
               sum(revenue) AS revenue, sum(coalesce(cost, 0)) AS cost,
               sum(coalesce(discount, 0)) AS discount,
               sum(CASE WHEN revenue < 0 THEN -revenue ELSE 0 END) AS returns,
               count(DISTINCT order_id) AS orders, count(DISTINCT order_date) AS order_days,
               count(*) AS lines, min(order_date) AS first_order_date, max(order_date) AS last_order_date
        FROM order_lines GROUP BY ALL
    ), c AS (
        SELECT customer_id, date_trunc('month', month)::DATE AS month, sum(amount) AS cost_to_serve
        FROM cost_to_serve GROUP BY ALL
    ), m AS (
        SELECT coalesce(o.customer_id, c.customer_id) AS customer_id, coalesce(o.month, c.month) AS month,
               coalesce(o.revenue, 0) AS revenue, coalesce(o.cost, 0) AS cost,
               coalesce(o.discount, 0) AS discount, coalesce(o.returns, 0) AS returns,
               coalesce(c.cost_to_serve, 0) AS cost_to_serve, coalesce(o.orders, 0) AS orders,
               coalesce(o.order_days, 0) AS order_days, coalesce(o.lines, 0) AS lines,
               o.first_order_date, o.last_order_date
        FROM o FULL OUTER JOIN c USING (customer_id, month)
    )
    SELECT m.customer_id, m.month, cu.region, cu.customer_type, cu.sector, cu.account_manager,
           m.revenue, m.cost, m.revenue - m.cost AS gross_profit, m.discount, m.returns,
           m.cost_to_serve, m.revenue - m.cost - m.cost_to_serve AS account_profit,
           m.orders, m.order_days, m.lines, m.first_order_date, m.last_order_date
    FROM m LEFT JOIN customers cu USING (customer_id)
    ORDER BY m.month, m.customer_id
"""
COUNTS = ("orders", "order_days", "lines", "rows", "active_months")
REFERENCE_CUSTOMER_CUM = f"""
    CREATE TABLE ref_customer_cum AS
    WITH m AS (
        SELECT k.ck, cm.* EXCLUDE (customer_id, region, customer_type, sector, account_manager),
               1 AS rows, (cm.orders > 0)::INTEGER AS active_months
        FROM customer_month cm JOIN customer_key k USING (customer_id)
    ),
    span AS (SELECT ck, min(month) AS first_month FROM m GROUP BY ck),
    months AS (SELECT unnest(generate_series(min(month), max(month), INTERVAL 1 MONTH))::DATE AS month
               FROM customer_month),
    grid AS (SELECT span.ck, months.month FROM span JOIN months ON months.month >= span.first_month),
    dense AS (
        SELECT grid.ck, grid.month,
               {", ".join(f"coalesce(m.{c}, 0) AS {c}" for c in schema.CUMULATIVE_COLUMNS)},
               m.first_order_date, m.last_order_date
        FROM grid LEFT JOIN m USING (ck, month)
    )
    SELECT ck, month,
           {", ".join(f"sum({c}) OVER w{'::BIGINT' if c in COUNTS else ''} AS {c}"
                      for c in schema.CUMULATIVE_COLUMNS)},
           max(last_order_date) OVER w AS last_order,
           min(first_order_date) OVER (PARTITION BY ck ORDER BY month
                                       ROWS BETWEEN 1 FOLLOWING AND UNBOUNDED FOLLOWING) AS first_after
    FROM dense
    WINDOW w AS (PARTITION BY ck ORDER BY month ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
    ORDER BY month, ck
"""

CUSTOMERS = [(c, f"name {c}", None, "dealer", "retail", region, None, None, "Li Na", None, None)
             for c, region in (("A", "East China"), ("B", "North China"), ("C", None), ("D", "East China"))]
LINES = [
    # order_id, line_no, date, customer, product, qty, price, discount, revenue, cost
    ("o1", 1, date(2024, 1, 5), "A", "p", 1, 10, 0, 10.1, 6.0),
    ("o1", 2, date(2024, 1, 7), "A", "p", 1, 10, None, 20.2, None),  # same order, another day
    ("o2", 1, date(2024, 1, 7), "A", "p", 1, 10, 1.5, 30.3, 3.0),  # same day, another order
    ("o8", 1, date(2024, 1, 5), "A", "p", 2, 10, 0, 1.0, 0.5),  # another order the same day
    ("o3", 1, date(2024, 1, 31), "A", "p", 1, 10, 0, 0.7, 0.1),
    ("o3", 2, date(2024, 2, 1), "A", "p", 1, 10, 0, 0.3, 0.2),  # same order, next month
    ("o4", 1, date(2024, 4, 30), "A", "p", -1, 10, 0, -5.5, -3.0),  # a return
    ("o5", 1, date(2024, 2, 29), "B", "p", 1, 10, 0, 99.99, 50.0),
    ("o5", 2, date(2024, 2, 29), "B", "p", 1, 10, 0, 0.01, 0.0),
    ("o6", 1, date(2024, 6, 1), "B", "p", 1, 10, 0, 1e9, 1.0),
    ("o7", 1, date(2024, 3, 15), "C", "p", 1, 10, 0, 7.0, 1.0),
]
CTS = [("A", date(2024, 3, 1), "support", 2.5), ("A", date(2024, 3, 1), "logistics", 1.25),
       ("B", date(2024, 1, 1), "support", 4.0),  # cost-to-serve before the first order
       ("C", date(2024, 7, 1), "sales_visits", 3.0),  # after the last one
       ("Z", date(2024, 2, 1), "support", 9.0)]  # a customer missing from customers


def fill_awkward(con) -> None:
    con.executemany("INSERT INTO customers VALUES (?,?,?,?,?,?,?,?,?,?,?)", CUSTOMERS)
    con.executemany("INSERT INTO order_lines VALUES (?,?,?,?,?,?,?,?,?,?)", LINES)
    con.executemany("INSERT INTO cost_to_serve VALUES (?,?,?,?)", CTS)


def assert_tables_equal(con, table: str, reference: str) -> None:
    a = con.sql(f"SELECT * FROM {table}").to_arrow_table()
    b = con.sql(f"SELECT * FROM {reference}").to_arrow_table()
    assert a.schema == b.schema, table
    assert a.num_rows == b.num_rows > 0, table
    for name in a.column_names:
        x, y = a[name].combine_chunks(), b[name].combine_chunks()
        if str(x.type) == "double":
            np.testing.assert_allclose(x.to_numpy(zero_copy_only=False), y.to_numpy(zero_copy_only=False),
                                       rtol=1e-9, atol=1e-6, err_msg=f"{table}.{name}")
        else:
            assert x.equals(y), f"{table}.{name}: {x.to_pylist()[:20]} != {y.to_pylist()[:20]}"


def check(con) -> None:
    con.execute(REFERENCE_CUSTOMER_MONTH)
    assert_tables_equal(con, "customer_month", "ref_customer_month")
    con.execute(REFERENCE_CUSTOMER_CUM)
    assert_tables_equal(con, "customer_cum", "ref_customer_cum")


def check_file(path) -> None:
    """``check`` on the database file at ``path``."""
    con = duckdb.connect(str(path))
    try:
        check(con)
    finally:
        con.close()


def test_derive_on_awkward_data_equals_the_reference_sql(tmp_path):
    path = tmp_path / "awkward.duckdb"
    store.build_sales_db(path, fill_awkward, source="tests")
    con = duckdb.connect(str(path))
    try:
        cm = dict(((r[0], r[1]), r[2:]) for r in con.execute(
            "SELECT customer_id, month, orders, order_days, lines FROM customer_month").fetchall())
        assert cm["A", date(2024, 1, 1)] == (4, 3, 5)  # o1, o2, o8, o3; the 5th, 7th and 31st
        assert cm["A", date(2024, 2, 1)] == (1, 1, 1)  # o3 again, in its second month
        assert cm["Z", date(2024, 2, 1)] == (0, 0, 0)
        check(con)
    finally:
        con.close()


def test_derive_on_the_small_demo_equals_the_reference_sql(small_db, tmp_path):
    path = tmp_path / "small.duckdb"
    shutil.copyfile(small_db, path)
    check_file(path)


def test_derive_with_no_order_lines_gives_empty_tables(tmp_path):
    con = duckdb.connect(str(tmp_path / "empty.duckdb"))
    try:
        store.create_sales_schema(con)
        store.derive(con)
        for t in schema.DERIVED_TABLES:
            assert con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] == 0
        types = dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() "
                                 "WHERE table_name = 'customer_cum'").fetchall())
        assert types["orders"] == "BIGINT" and types["revenue"] == "DOUBLE" and types["first_after"] == "DATE"
    finally:
        con.close()


@pytest.mark.parametrize("numbers, width, prefix", [
    ([0, 1, 42, 999_999, 1_000_000, 2_000_000, 123_456_789_012], 6, "C"),
    ([1, 999_999_999, 1_000_000_000, 4_294_967_296], 9, "O"),
    ([], 4, "P"),
])
def test_demo_ids_are_formatted_like_python_and_never_cut(numbers, width, prefix):
    got = demo._ids(prefix, np.array(numbers, dtype=np.int64), width).to_pylist()
    assert got == [f"{prefix}{n:0{width}d}" for n in numbers]


def reference_months(con) -> list[pa.Table]:
    """customer_month of the reference SQL, one Arrow table per month (as a fill hands it over)."""
    con.execute(REFERENCE_CUSTOMER_MONTH.replace("ref_customer_month", "ref_cm"))
    t = con.sql("SELECT * FROM ref_cm").to_arrow_table()
    con.execute("DROP TABLE ref_cm")
    return [t.filter(pc.equal(t["month"], m)) for m in pc.unique(t["month"]).to_pylist()]


def staged_fill(closed: list, change=None):
    """A fill that hands derive the reference customer_month month by month (as the demo
    does); ``change(tables)`` may spoil them; ``closed`` records the calls of close()."""
    def fill(con):
        fill_awkward(con)
        tables = reference_months(con)
        if change:
            tables = change(tables)
        return store.StagedMonths(lambda: iter(tables), lambda: closed.append(True))
    return fill


def test_a_staged_fill_gives_the_same_tables_and_is_closed(tmp_path):
    """A fill that hands derive its customer_month month by month gets the tables the order
    lines give, in the same physical order; build_sales_db closes what it handed over."""
    closed: list = []
    path = tmp_path / "staged.duckdb"
    store.build_sales_db(path, staged_fill(closed), source="tests")
    assert closed == [True]
    check_file(path)


def with_column(tables, column, f):
    return [t.set_column(t.schema.get_field_index(column), column, f(t[column])) for t in tables]


def test_staged_totals_that_do_not_add_up_are_refused(tmp_path):
    closed: list = []
    spoil = lambda ts: with_column(ts, "lines", lambda c: pc.add(c, 1))  # noqa: E731
    with pytest.raises(store.StoreError, match="lines or cost-to-serve"):
        store.build_sales_db(tmp_path / "wrong.duckdb", staged_fill(closed, spoil), source="tests")
    assert closed == [True] and not (tmp_path / "wrong.duckdb").exists()


@pytest.mark.parametrize("column", ["discount", "returns"])
def test_staged_totals_with_wrong_discounts_or_returns_are_refused(tmp_path, column):
    """Right revenue, cost, lines and cost-to-serve, but the discounts or returns of the staged
    totals do not add up to the order lines: the build is refused."""
    spoil = lambda ts: with_column(ts, column, lambda c: pc.add(c, 1.0))  # noqa: E731
    with pytest.raises(store.StoreError, match="discounts, returns"):
        store.build_sales_db(tmp_path / "wrong.duckdb", staged_fill([], spoil), source="tests")


@pytest.mark.parametrize("spoil", [
    lambda ts: ts[::-1],  # months descending
    lambda ts: [t.take(list(range(len(t)))[::-1]) for t in ts],  # customers descending
    lambda ts: ts[:1] + ts,  # a month twice
    lambda ts: [pa.concat_tables(ts[:2])] + ts[2:],  # two months in one table
], ids=["months", "customers", "month-twice", "mixed"])
def test_staged_months_out_of_order_are_refused(tmp_path, spoil):
    """customer_month is written as the stream comes: one not in (month, customer_id) order
    (or with a customer-month twice) is refused, and what was handed over is still closed."""
    closed: list = []
    with pytest.raises(store.StoreError, match="order"):
        store.build_sales_db(tmp_path / "wrong.duckdb", staged_fill(closed, spoil), source="tests")
    assert closed == [True]


def test_row_groups_are_full_and_keep_the_rows():
    """Batches of exactly one DuckDB row group each (the last shorter), rows unchanged."""
    n = store.ROW_GROUP_ROWS
    spans = ((0, 5), (5, n + 7), (n + 7, n + 7), (n + 7, 3 * n + 1))
    tables = [pa.table({"x": np.arange(a, b)}) for a, b in spans]
    out = list(store._row_groups(iter(tables)))
    assert [len(b) for b in out] == [n, n, n, 1]
    assert pa.Table.from_batches(out)["x"].to_pylist() == list(range(3 * n + 1))
    assert list(store._row_groups(iter([]))) == []


def test_demo_months_come_in_customer_id_order_and_the_files_go(tmp_path):
    """From a million customers on, ids have 7 digits and C1000000 sorts before C999999: the
    demo's months come out in customer_id order all the same; close() removes its files."""
    ids = ["C999999", "C1000000", "C1000001", "C999998"]
    customers = pa.table({"customer_id": ids, "region": ["r0", "r1", "r2", "r3"], "customer_type": ids,
                          "sector": ids, "account_manager": ids})
    staged = demo._StagedFiles(tmp_path / "months", customers, np.datetime64("2024-01", "M"), 2)
    (tmp_path / "months").mkdir()
    rows = pa.table({"cust": pa.array([0, 1, 3, 2], pa.int32()), "revenue": [1.0, 2.0, 3.0, 4.0],
                     "cost": [0.5] * 4, "discount": [0.0] * 4, "returns": [0.0] * 4,
                     "cost_to_serve": [0.25] * 4, "orders": [1] * 4, "order_days": [1] * 4, "lines": [2] * 4,
                     "first_order_date": [date(2024, 1, 3)] * 4, "last_order_date": [date(2024, 1, 4)] * 4},
                    schema=demo.STAGED_SCHEMA).to_batches()[0]
    staged.write(0, [rows.slice(0, 2), rows.slice(2, 2)])
    staged.write(1, [rows.slice(0, 0), rows.slice(0, 1)])
    got = [t.to_pydict() for t in staged.months()]
    assert got[0]["customer_id"] == ["C1000000", "C999999"] and got[0]["region"] == ["r1", "r0"]
    assert got[0]["revenue"] == [2.0, 1.0] and got[0]["gross_profit"] == [1.5, 0.5]
    assert got[0]["account_profit"] == [1.25, 0.25] and got[0]["month"] == [date(2024, 1, 1)] * 2
    assert got[1]["customer_id"] == ["C1000001", "C999998", "C999999"]  # files read in order
    assert got[1]["revenue"] == [4.0, 3.0, 1.0] and got[1]["month"] == [date(2024, 2, 1)] * 3
    staged.close()
    assert not (tmp_path / "months").exists()


def test_the_demo_leaves_no_files_behind(tmp_path, monkeypatch):
    demo.build_demo(tmp_path / "d.duckdb", customers=60, years=1)
    assert [p.name for p in tmp_path.iterdir()] == ["d.duckdb"]
    calls = []

    def failing(con, table, rows):
        calls.append(table)
        raise RuntimeError("disk full")

    monkeypatch.setattr(demo, "_insert", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        demo.build_demo(tmp_path / "d.duckdb", customers=60, years=1)
    assert calls and [p.name for p in tmp_path.iterdir()] == ["d.duckdb"]


def test_the_demo_hands_customer_cum_its_months_with_keys(tmp_path, monkeypatch):
    """The demo's customer_cum is made from its keyed months (no join per month), and equals
    the reference SQL's."""
    matched = []
    real = store._keys_match
    monkeypatch.setattr(store, "_keys_match",
                        lambda con, staged: matched.append(real(con, staged)) or matched[-1])
    path = tmp_path / "d.duckdb"
    demo.build_demo(path, customers=300, years=2, seed=11)
    assert matched == [True]
    check_file(path)


def test_keyed_months_for_other_customers_are_not_used(tmp_path):
    """customer_key numbers customers A, B, C, D: keyed months for other ids are left alone
    (customer_cum is then read from customer_month)."""
    def fill(con):
        tables = staged_fill([])(con)

        def never():
            raise AssertionError("keyed months read")
        return store.StagedMonths(tables.months, customer_ids=pa.array(["A", "B", "D"]), keyed_months=never)

    path = tmp_path / "k.duckdb"
    store.build_sales_db(path, fill, source="tests")
    check_file(path)
