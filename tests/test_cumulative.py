"""Running totals (customer_cum): a period's facts read as two month-rows must equal the
customer_month rows of the period added up, for any period and filter; and a version-1
database upgrades in place without losing or half-writing anything."""

from __future__ import annotations

import shutil
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kamdash import schema, store
from kamdash.engine import connect
from kamdash.engine.filters import COUNT_COLUMNS, FILTER_FIELDS, MONEY_COLUMNS, Filters, add_months

MONTHS = [add_months(date(2022, 6, 1), i) for i in range(60)]  # beyond the data on both sides


def from_months(path, f: Filters) -> pd.DataFrame:
    """customer_facts computed the plain way: customer_month rows of the period, summed."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        where, params = ["TRUE"], []
        if f.start:
            where.append("month >= ?")
            params.append(f.start)
        if f.end:
            where.append("month <= ?")
            params.append(f.end)
        for col, values in f.dimension_values().items():
            if values:
                where.append(f"{col} IN ({', '.join('?' * len(values))})")
                params += list(values)
        sums = ", ".join(f"sum({c}) AS {c}" for c in (*MONEY_COLUMNS, *COUNT_COLUMNS))
        df = con.execute(
            f"SELECT customer_id, {sums}, count(*) FILTER (WHERE orders > 0) AS active_months, "
            "min(first_order_date) AS first_order_date, max(last_order_date) AS last_order_date "
            f"FROM customer_month WHERE {' AND '.join(where)} GROUP BY customer_id", params).df()
    finally:
        con.close()
    return df.sort_values("customer_id").reset_index(drop=True)


def ours(backend, f: Filters) -> pd.DataFrame:
    df = backend.customer_facts(f, attributes=False)
    df = df.sort_values("customer_id").reset_index(drop=True)
    # ck is numbered in customer_id order (analytics.pareto breaks ties by it)
    assert df["ck"].is_monotonic_increasing and df["ck"].is_unique
    return df.drop(columns=["ck", "place_revenue", "place_gross_profit", "place_account_profit"])


def assert_same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    assert list(a["customer_id"]) == list(b["customer_id"])
    for c in a.columns.drop("customer_id"):
        if c.endswith("_date"):
            assert list(pd.to_datetime(a[c])) == list(pd.to_datetime(b[c])), c
        else:
            pd.testing.assert_series_equal(a[c].astype(float), b[c].astype(float), rtol=1e-9, atol=1e-6,
                                           check_names=False, obj=c)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_period_facts_from_running_totals_equal_the_month_rows(small_db, small, data):
    options = small.dimension_options()
    start = data.draw(st.one_of(st.none(), st.sampled_from(MONTHS)), label="start")
    end = data.draw(st.one_of(st.none(), st.sampled_from([m for m in MONTHS if not start or m >= start])),
                    label="end")
    dims = {attr: tuple(data.draw(st.lists(st.sampled_from(options[col]), max_size=2, unique=True), label=col))
            for col, attr in FILTER_FIELDS.items() if col != "account_manager"}
    f = Filters(start=start, end=end, **dims)
    assert_same(ours(small, f), from_months(small_db, f))


def test_a_customer_with_nothing_in_the_period_gets_exact_zeros(tiny_db, small_db, small):
    """A customer who bought nothing in the period (but had cost-to-serve) gets exactly 0, not
    the float noise of subtracting two large running totals of non-round demo amounts."""
    b = connect(str(tiny_db))
    facts = b.customer_facts(Filters(start=date(2025, 4, 1), end=date(2025, 6, 1)))
    c = facts.set_index("customer_id").loc["C"]  # C: cost-to-serve only in Q2 (tests/conftest.py)
    assert c["revenue"] == 0 and c["orders"] == 0 and c["cost_to_serve"] == 50
    assert pd.isna(c["first_order_date"]) and pd.isna(c["last_order_date"])
    f = Filters(start=date(2026, 7, 1), end=date(2026, 9, 1))
    want, got = from_months(small_db, f), ours(small, f)
    idle = (want["orders"] == 0).to_numpy()
    assert idle.sum() > 0  # the demo has customers with only cost-to-serve in a quarter
    assert (got.loc[idle, "revenue"] == 0).all() and (got.loc[idle, "gross_profit"] == 0).all()


def _downgrade(path) -> None:
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE customer_cum")
    con.execute("DROP TABLE customer_key")
    con.execute("DROP TABLE month_cube")
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    con.close()


def test_version_1_database_upgrades_in_place(small_db, tmp_path):
    path = tmp_path / "old.duckdb"
    shutil.copyfile(small_db, path)
    _downgrade(path)
    status = store.check_sales_db(path)
    assert status.problem == "older_version" and status.found_version == 1
    meta = store.upgrade_sales_db(path)
    assert meta["schema_version"] == str(schema.SALES_SCHEMA_VERSION)
    assert store.check_sales_db(path).ok
    f = Filters(start=date(2025, 10, 1), end=date(2026, 9, 1))
    assert_same(ours(connect(str(path)), f), from_months(small_db, f))
    with pytest.raises(store.StoreError, match="needs no upgrade"):
        store.upgrade_sales_db(path)


def test_failed_upgrade_leaves_the_file_byte_identical(small_db, tmp_path, monkeypatch):
    path = tmp_path / "old.duckdb"
    shutil.copyfile(small_db, path)
    _downgrade(path)
    before = path.read_bytes()

    def broken(con):
        con.execute("CREATE TABLE customer_cum AS SELECT 1 AS half_written")
        raise RuntimeError("disk full")

    monkeypatch.setitem(store.UPGRADES, 1, broken)
    with pytest.raises(RuntimeError, match="disk full"):
        store.upgrade_sales_db(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.duckdb"]  # no temporary file left


@pytest.mark.parametrize("kw", ["all", "region", "tier", "customers"])
def test_monthly_totals_from_the_cube_equal_customer_month(small_db, small, kw):
    first = small.customer_facts(Filters(start=date(2025, 10, 1), end=date(2026, 9, 1)))
    kw = {"all": {}, "region": {"regions": (small.dimension_options()["region"][0],)},
          "tier": {"tiers": ("A",)}, "customers": {"customer_ids": tuple(first["customer_id"][:3])}}[kw]
    f = Filters(start=date(2025, 10, 1), end=date(2026, 9, 1), **kw)
    con = duckdb.connect(str(small_db), read_only=True)
    ids = set(small.customer_facts(f)["customer_id"])
    want = con.execute(
        "SELECT month, sum(revenue) AS revenue, sum(orders) AS orders, count(*) FILTER (WHERE orders > 0) AS active "
        "FROM customer_month WHERE month BETWEEN ? AND ? AND list_contains(?, customer_id) GROUP BY month ORDER BY month",
        [f.start, f.end, sorted(ids)]).df()
    con.close()
    got = small.monthly_totals(f)
    assert len(got) == len(want) == 12
    assert got["revenue"].tolist() == pytest.approx(want["revenue"].tolist())
    assert got["orders"].tolist() == want["orders"].tolist()
    assert got["active_customers"].tolist() == want["active"].tolist()


_ARROW_TYPES = {"int32": (pa.int32(), st.integers(-2**31 + 1, 2**31 - 1)),
                "int64": (pa.int64(), st.integers(-2**62, 2**62)),
                "float64": (pa.float64(), st.floats(allow_nan=False, allow_infinity=False)),
                "date32": (pa.date32(), st.integers(-700_000, 2_900_000))}


@settings(max_examples=25, deadline=None)
@given(kind=st.sampled_from(sorted(_ARROW_TYPES)), data=st.data())
def test_running_totals_read_and_write_arrow_buffers_as_pyarrow_converts_them(kind, data):
    """store._numpy and store._arrow (Arrow <-> numpy through the buffers, sliced chunks and
    missing values included) agree with pyarrow's own conversions."""
    type_, values = _ARROW_TYPES[kind]
    chunks = data.draw(st.lists(st.lists(st.one_of(st.none(), values), max_size=20), min_size=1, max_size=3))
    start = data.draw(st.integers(0, 3))
    arrays = []
    for c in chunks:
        raw = pa.array([None] * start + c, pa.int32() if kind == "date32" else type_)
        arrays.append((raw.cast(type_) if kind == "date32" else raw).slice(start))
    col = pa.chunked_array(arrays, type_)
    fill = store.NO_DATE if kind == "date32" else 0
    expected = pc.fill_null(col.cast(pa.int32()) if kind == "date32" else col, fill).to_numpy()
    assert np.array_equal(store._numpy(col, fill), expected)
    flat = [v for c in chunks for v in c]
    valid = np.array([v is not None for v in flat], dtype=bool)
    out = store._arrow(np.array([fill if v is None else v for v in flat]), type_, valid)
    want = pa.array(flat, pa.int32() if kind == "date32" else type_)
    assert out.equals(want.cast(type_) if kind == "date32" else want)
