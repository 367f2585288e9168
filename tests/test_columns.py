"""The per-customer arrays the engine holds in memory (kamdash.engine.columns) against the same
things computed another way: Ibis over customer_month (tests.reference) for tiers and masks,
lexsort for the ranking, and the same answers whether the month columns come from the cache or
are read again after eviction."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kamdash.engine import _ibis, _periods, columns, connect
from kamdash.engine.filters import ATTRIBUTE_COLUMNS, Filters
from tests import reference


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from([-2.0, -0.5, 0.0, 0.0, 1.0, 1.0, 3.5, 7.0]), max_size=40),
       st.one_of(st.none(), st.integers(0, 45)))
def test_order_desc_is_a_descending_sort_with_ties_by_position(values, limit):
    v = np.asarray(values, dtype=float)
    want = np.lexsort((np.arange(len(v)), -v))
    if limit is not None:
        want = want[:limit]
    assert columns.order_desc(v, limit).tolist() == want.tolist()


def test_snap_gives_exact_zero_for_float_noise_only():
    hi = np.array([1e9 + 0.1, 5.0, 1e9])
    lo = np.array([1e9 + 0.1 - 1e-7, 5.0, 1e9 - 2.5])
    assert columns.snap(hi, lo).tolist() == [0.0, 0.0, 2.5]


@pytest.mark.parametrize("start,end,cutoffs", [
    (date(2025, 1, 1), date(2025, 12, 1), (0.8, 0.95)),
    (None, date(2025, 6, 1), (0.5, 0.9)),
    (date(2026, 1, 1), None, (0.8, 0.95)),
    (date(2030, 1, 1), date(2030, 6, 1), (0.8, 0.95)),  # after the data: nobody
])
def test_tiers_equal_the_sql_tiers(small, start, end, cutoffs):
    sql = _ibis.to_frame(reference.customer_tiers(small.ibis.table("customer_month"), start, end, cutoffs))
    codes = small.tier_codes(start, end, cutoffs)
    r = small.columns
    got = pd.Series(codes, index=r.keys.customer_id)
    got = got[got > 0].map({1: "A", 2: "B", 3: "C"})
    want = sql.set_index("customer_id")["tier"].sort_index()
    pd.testing.assert_series_equal(got.sort_index(), want, check_names=False, check_index_type=False)


def test_mask_equals_the_customers_table(small, small_db):
    opts = small.dimension_options()
    f = Filters(regions=tuple(opts["region"][:2]), sectors=tuple(opts["sector"][:3]))
    cu = _ibis.to_frame(small.ibis.table("customers"))
    want = cu[cu["region"].isin(f.regions) & cu["sector"].isin(f.sectors)]["customer_id"]
    r = small.columns
    got = r.keys.customer_id[small.customer_mask(f)]
    assert sorted(got) == sorted(want) and len(got) > 0
    some = list(want[:5]) + ["NO-SUCH-CUSTOMER", ""]
    ids = r.keys.customer_id[small.customer_mask(Filters(customer_ids=tuple(some)))]
    assert sorted(ids) == sorted(want[:5])
    assert not small.customer_mask(Filters(customer_ids=())).any()


def test_tier_filter_mask_equals_the_sql_tier_members(small):
    f = Filters(start=date(2025, 7, 1), end=date(2026, 6, 1), tiers=("A", "C"))
    members = _ibis.to_frame(reference.tier_members(small.ibis.table("customer_month"), f))["customer_id"]
    r = small.columns
    assert sorted(r.keys.customer_id[small.customer_mask(f)]) == sorted(members)


def test_quarters_sorted_for_the_trend_do_not_keep_their_month_columns(small_db):
    """The concentration trend reads two month columns per quarter to sort each quarter once;
    keeping those columns too pushed a page's own columns out of the budget at 1M customers."""
    b = connect(str(small_db))
    want = b.concentration_over_time(Filters(), "revenue")
    held = list(b.columns._cols)
    assert held and all(k[0] in ("sorted", "combos") for k in held)
    pd.testing.assert_frame_equal(b.concentration_over_time(Filters(), "revenue"), want)


def test_values_made_once_per_period_do_not_keep_their_month_columns(small_db):
    """A period's customer facts, places and active rows are kept; the month columns they are
    made from are read but not kept (at 100M order lines they pushed out the frames of the other
    periods a user switches between). A frame counts its categoricals' codes only: their
    categories are shared with the attribute codes."""
    b = connect(str(small_db))
    f = Filters(start=date(2025, 10, 1), end=date(2026, 9, 1))
    facts = b.customer_facts(f)
    b.period_values(f, 2)
    r = b.columns
    assert {k[0] for k in r._cols} == {"facts", "places", "active rows", "combos"}
    held = r.held(("facts", *_periods._period_bounds(b, f)))[0]
    assert columns._nbytes(held) == sum(
        held[c].cat.codes.nbytes if isinstance(held[c].dtype, pd.CategoricalDtype) else held[c].to_numpy().nbytes
        for c in held.columns if c != "customer_id") + held["customer_id"].array.nbytes
    assert columns._nbytes(held) < held.memory_usage(index=False).sum()
    assert len(facts) == len(held)


def test_budget_grows_with_the_customers_unless_set(monkeypatch):
    monkeypatch.delenv("KAMDASH_RESIDENT_MB", raising=False)
    assert columns.budget_bytes(200_000) == 512 * 1024 * 1024  # 96 columns are 154 MB
    assert columns.budget_bytes(2_000_000) == 96 * 8 * 2_000_000  # 1.5 GB: more than 512 MB
    monkeypatch.setenv("KAMDASH_RESIDENT_MB", "100")
    assert columns.budget_bytes(2_000_000) == 100 * 1024 * 1024


def test_answers_are_the_same_after_the_cache_evicts_everything(small_db):
    """A budget of one byte keeps nothing between calls: every month column is read again, and
    the numbers must not change."""
    f = Filters(start=date(2025, 7, 1), end=date(2026, 6, 1))
    warm = connect(str(small_db))
    want = (warm.period_summary(f), warm.customer_features(f, breadth=False),
            warm.concentration_over_time(Filters(), "account_profit"))
    cold = connect(str(small_db))
    cold.columns = columns.MonthColumns(cold, budget=1)
    assert cold.columns._budget == 1
    for _ in range(2):
        got = (cold.period_summary(f), cold.customer_features(f, breadth=False),
               cold.concentration_over_time(Filters(), "account_profit"))
        for a, b in zip(got, want):
            pd.testing.assert_frame_equal(a, b)
    n = cold.keys.n
    assert cold.held_bytes() <= 8 * n * 16  # what the last read needed, no more
    assert warm.held_bytes() > 8 * n * 16


def test_month_columns_are_the_running_totals(small, small_db):
    import duckdb

    con = duckdb.connect(str(small_db), read_only=True)
    want = con.sql("SELECT k.customer_id, c.revenue, c.orders FROM customer_cum c "
                   "JOIN customer_key k USING (ck) WHERE month = DATE '2025-10-01'").df()
    con.close()
    r = small.columns
    got = r.at(date(2025, 10, 1), "revenue", "orders")
    pos = np.searchsorted(r.keys.customer_id, want["customer_id"].to_numpy(dtype=object))
    assert np.allclose(got["revenue"][pos], want["revenue"]) and (got["orders"][pos] == want["orders"]).all()
    rest = np.setdiff1d(np.arange(r.keys.n), pos)  # customers who had not started yet: zeros
    assert (got["revenue"][rest] == 0).all() and got["orders"].dtype == np.int64
    with pytest.raises(ValueError, match="not a running-total column"):
        r.at(date(2025, 10, 1), "revenue; DROP TABLE customers")


def test_attribute_codes_equal_pandas_categoricals_of_the_joined_strings(small_db):
    """Every attribute column's codes equal ``pd.Categorical`` of the customers' strings read by
    a join in ck order (categories sorted, missing values code -1), and no string frame is kept."""
    b = connect(str(small_db))
    codes = b.attribute_codes()
    want = b.con.sql("SELECT cu.* FROM customer_key k LEFT JOIN customers cu USING (customer_id) "
                     "ORDER BY k.ck").to_df()
    assert set(codes) == {*ATTRIBUTE_COLUMNS, "referred_by"}
    assert want["parent_id"].isna().any() and want["name_zh"].str.contains("[^\\x00-\\x7f]").any()
    for c, got in codes.items():
        ref = pd.Categorical(want[c].astype("str"))
        assert got.categories.equals(ref.categories), c
        assert (got.codes == ref.codes).all() and got.codes.dtype == ref.codes.dtype, c
        pd.testing.assert_extension_array_equal(columns.strings(got), pd.array(want[c], dtype="str"))
    assert set(b.columns._small) == {"attribute_codes"}


def test_attribute_codes_follow_the_key_when_customers_are_stored_in_another_order(small_db, tmp_path):
    """Customers stored out of customer_id order, with row positions that do not start at 0
    (deleted and inserted again, shuffled): each key still gets its own customer's attributes."""
    import shutil

    import duckdb

    path = tmp_path / "shuffled.duckdb"
    shutil.copy(small_db, path)
    con = duckdb.connect(str(path))
    con.execute("CREATE TEMP TABLE c AS SELECT * FROM customers")
    con.execute("DELETE FROM customers")
    con.execute("INSERT INTO customers SELECT * FROM c ORDER BY hash(customer_id)")
    rows = con.sql("SELECT rowid FROM customers ORDER BY customer_id LIMIT 5").fetchall()
    con.close()
    assert sorted(rows) != rows or rows[0][0] > 0  # really another order / other row positions
    b = connect(str(path))
    want = b.con.sql("SELECT cu.* FROM customer_key k JOIN customers cu USING (customer_id) ORDER BY k.ck").to_df()
    for c, got in b.attribute_codes().items():
        pd.testing.assert_extension_array_equal(columns.strings(got), pd.array(want[c], dtype="str"))


def test_arrow_buffers_come_from_the_c_allocator(monkeypatch):
    """Freed Arrow memory can be given back (``release_freed_memory``) only from the C library's
    heap: once the dashboard holds arrays, the default pool is the system one unless
    ARROW_DEFAULT_MEMORY_POOL says otherwise; importing the module changes nothing."""
    import subprocess
    import sys

    monkeypatch.delenv("ARROW_DEFAULT_MEMORY_POOL", raising=False)
    probe = ("import pyarrow as pa; before = pa.default_memory_pool().backend_name; "
             "from kamdash.engine import columns; after_import = pa.default_memory_pool().backend_name; "
             "columns.use_system_memory_pool(); print(before, after_import, pa.default_memory_pool().backend_name)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == out[1] != "system"  # pyarrow's own default, untouched by the import
    assert out[2] == "system"
    monkeypatch.setenv("ARROW_DEFAULT_MEMORY_POOL", "mimalloc")
    probe = probe.replace("import pyarrow", "import os; import pyarrow")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    assert out[2] == "mimalloc"


def test_categorical_and_strings_on_edge_values():
    """``columns.categorical`` equals ``pd.Categorical`` with missing values, duplicates,
    non-ASCII text, a prefix of another value, an empty string and a chunked input; ``strings``
    takes rows back to the same strings."""
    values = ["b", None, "a", "b", "é", "", "ab", None, "华东", "a"]
    for arr in (pa.array(values), pa.chunked_array([values[:4], values[4:]]), pa.array([], pa.string()),
                pa.array([None, None], pa.string())):
        got = columns.categorical(arr)
        ref = pd.Categorical(pd.array(arr.to_pylist(), dtype="str"))
        assert got.categories.equals(ref.categories) and (got.codes == ref.codes).all()
        assert got.codes.dtype == ref.codes.dtype
        pos = np.arange(len(arr))[::-1]
        pd.testing.assert_extension_array_equal(columns.strings(got.take(pos)),
                                                pd.array([arr.to_pylist()[i] for i in pos], dtype="str"))


def test_customer_ids_are_held_as_numpy_strings(small):
    """The customer ids are one numpy StringDType array in customer_id order (not Python
    objects), and a customer-list filter finds exactly the listed ids that exist."""
    r = small.columns
    cid = r.keys.customer_id
    assert cid.dtype == np.dtypes.StringDType() and list(cid) == sorted(r.keys.ids.tolist())
    some = [cid[3], cid[-1], "NO-SUCH-ID", cid[3][:-1]]
    assert list(cid[r.mask({}, some)]) == sorted({cid[3], cid[-1]})


def test_freed_memory_is_given_back_after_large_held_values(monkeypatch):
    """Making a held value of RELEASE_AFTER_BYTES or more gives freed heap back (malloc_trim on
    glibc); smaller ones do not pay for it."""
    calls = []
    monkeypatch.setattr(columns, "release_freed_memory", lambda: calls.append(1))
    class NoBackend:
        pass
    backend = NoBackend()
    r = columns.MonthColumns(backend, budget=10**12)
    r.derived(("small",), lambda: (np.zeros(10),))
    assert calls == []
    r.derived(("large",), lambda: (np.zeros(columns.RELEASE_AFTER_BYTES // 8),))
    assert calls == [1]
    monkeypatch.undo()
    columns.release_freed_memory()  # really calls the C library here (or does nothing elsewhere)


def test_attributes_of_named_customers_are_read_once_and_equal_the_table(small_db):
    """The top accounts' attributes come from a query of those customers the first time and
    from what was read after that; either way they equal the customers table, row for row, with
    missing values for an unknown customer."""
    import duckdb
    b = connect(str(small_db))
    con = duckdb.connect(str(small_db), read_only=True)
    cols = ", ".join(ATTRIBUTE_COLUMNS)
    table = con.sql(f"SELECT customer_id, {cols} FROM customers").df().set_index("customer_id")
    con.close()
    ids = list(table.index[[5, 1, 40, 7]]) + ["nobody"]
    first = b.attributes_of(ids)
    want = table.reindex(ids)[list(ATTRIBUTE_COLUMNS)].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, want, check_dtype=False)
    assert all(str(d) == "str" for d in first.dtypes)
    assert first.iloc[-1].isna().all()
    b.con.close()  # a second call must not query: the connection is gone
    pd.testing.assert_frame_equal(b.attributes_of(ids[::-1]), first.iloc[::-1].reset_index(drop=True))
    assert len(b.attributes_of([])) == 0
