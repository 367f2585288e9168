"""A user's scope (row-level access) behaves as if the other customers were not in the data.

For each query-layer function the pages use, the result with ``Filters(scope=S)`` on the whole
tiny database equals the result without a scope on a database built from the rows of the
customers in S alone (customers, order lines, cost-to-serve): totals, shares, ranks and ABC tiers
are computed within the scope.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from kamdash import store
from kamdash.engine import connect
from kamdash.engine.filters import Filters
from tests import conftest

IDS = [c[0] for c in conftest.TINY_CUSTOMERS]
LAST_CUSTOMER = "D"  # holds the data's last order (2025-06-30): the data end is the same
_subsets: dict[frozenset, object] = {}


@pytest.fixture(scope="module")
def subset_backend(tmp_path_factory):
    """Backend on a database holding only the given customers' rows (built once per subset)."""
    folder = tmp_path_factory.mktemp("scoped")

    def get(ids: frozenset):
        if ids not in _subsets:
            def fill(con):
                con.executemany("INSERT INTO customers VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                                [c for c in conftest.TINY_CUSTOMERS if c[0] in ids])
                con.executemany("INSERT INTO products VALUES (?,?,?,?,?,?)",
                                [("p1", "Sensor", "传感器", "Industrial sensors", 100.0, 60.0),
                                 ("p2", "Cable", "线缆", "Cables & connectors", 100.0, 50.0)])
                con.executemany("INSERT INTO order_lines VALUES (?,?,?,?,?,?,?,?,?,?)",
                                [r for r in conftest.TINY_LINES if r[3] in ids])
                cts = [r for r in conftest.TINY_CTS if r[0] in ids]
                if cts:
                    con.executemany("INSERT INTO cost_to_serve VALUES (?,?,?,?)", cts)
            path = folder / f"{''.join(sorted(ids))}.duckdb"
            store.build_sales_db(path, fill, source="tests")
            _subsets[ids] = connect(str(path))
        return _subsets[ids]

    yield get
    for b in _subsets.values():
        b.close()
    _subsets.clear()


scopes = st.sets(st.sampled_from(IDS), min_size=1).map(frozenset)
periods = st.sampled_from([(date(2025, 4, 1), date(2025, 6, 1)), (date(2025, 1, 1), date(2025, 6, 1)),
                           (date(2024, 10, 1), date(2025, 3, 1)), (date(2025, 2, 1), date(2025, 4, 1))])
extra = st.sampled_from([{}, {"regions": ("East China", "North China")}, {"tiers": ("A",)},
                         {"tiers": ("B", "C")}, {"customer_ids": ("A", "C", "E")}])
SETTINGS = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture])


def _facts(df: pd.DataFrame) -> pd.DataFrame:
    # ck and place_* number customers of the whole database: not comparable across databases
    df = df.drop(columns=[c for c in df.columns if c == "ck" or c.startswith("place_")])
    df = df.astype({c: str for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)})
    return df.sort_values("customer_id").reset_index(drop=True)


@SETTINGS
@given(ids=scopes, period=periods, more=extra)
def test_scoped_customer_facts_equal_the_subset(tiny, subset_backend, ids, period, more):
    sub = subset_backend(ids)
    scoped = Filters(start=period[0], end=period[1], scope=tuple(sorted(ids)), **more)
    plain = Filters(start=period[0], end=period[1], **more)
    pd.testing.assert_frame_equal(_facts(tiny.customer_facts(scoped)),
                                  _facts(sub.customer_facts(plain)), check_dtype=False)
    got, want = tiny.customer_mask(scoped), sub.customer_mask(plain)
    assert set(tiny.keys.ids.take(np.flatnonzero(got))) == \
        set(sub.keys.ids.take(np.flatnonzero(want)))


@SETTINGS
@given(ids=scopes, period=periods, more=extra)
def test_scoped_page_numbers_equal_the_subset(tiny, subset_backend, ids, period, more):
    sub = subset_backend(ids)
    scoped = Filters(start=period[0], end=period[1], scope=tuple(sorted(ids)), **more)
    plain = Filters(start=period[0], end=period[1], **more)
    pd.testing.assert_frame_equal(tiny.period_summary(scoped), sub.period_summary(plain))
    pd.testing.assert_frame_equal(tiny.top_customers(scoped, n=3).drop(columns=["ck"], errors="ignore"),
                                  sub.top_customers(plain, n=3).drop(columns=["ck"], errors="ignore"),
                                  check_dtype=False, check_categorical=False)
    a, b = tiny.monthly_totals(scoped), sub.monthly_totals(plain)
    a = a[a["month"].isin(b["month"])].reset_index(drop=True)  # the subset's months are fewer
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    for value in ("revenue", "account_profit"):
        # "complete" says whether the data covers a whole quarter: the subset's data may start
        # or end earlier
        a = tiny.concentration_over_time(scoped, value, "quarter").drop(columns="complete")
        b = sub.concentration_over_time(plain, value, "quarter").drop(columns="complete")
        a = a[a["period"].isin(b["period"])].reset_index(drop=True) if "period" in a else a
        pd.testing.assert_frame_equal(a, b, check_dtype=False)


@SETTINGS
@given(ids=scopes, more=extra)
def test_scoped_retention_inputs_equal_the_subset(tiny, subset_backend, ids, more):
    assume(LAST_CUSTOMER in ids)  # cohorts and gaps run to the data's last month
    sub = subset_backend(ids)
    scoped = Filters(scope=tuple(sorted(ids)), **{k: v for k, v in more.items() if k != "tiers"})
    plain = Filters(**{k: v for k, v in more.items() if k != "tiers"})
    a, b = tiny.cohort_counts(scoped), sub.cohort_counts(plain)
    a = a[a["customers"] > 0].reset_index(drop=True) if "customers" in a else a
    b = b[b["customers"] > 0].reset_index(drop=True) if "customers" in b else b
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    rfm_a = tiny.rfm_summary(date(2025, 6, 30), "W", scoped).sort_values("customer_id")
    rfm_b = sub.rfm_summary(date(2025, 6, 30), "W", plain).sort_values("customer_id")
    pd.testing.assert_frame_equal(rfm_a.reset_index(drop=True), rfm_b.reset_index(drop=True), check_dtype=False)
    fa = tiny.customer_features(replace_period(scoped), breadth=True)
    fb = sub.customer_features(replace_period(plain), breadth=True)
    pd.testing.assert_frame_equal(_facts(fa), _facts(fb), check_dtype=False)


def replace_period(f: Filters) -> Filters:
    from dataclasses import replace

    return replace(f, start=date(2025, 1, 1), end=date(2025, 6, 1))


def test_scope_is_never_widened(tiny):
    """Other filters only narrow a scope: naming customers outside it shows nothing of them."""
    f = Filters(start=date(2025, 1, 1), end=date(2025, 6, 1), scope=("A",), customer_ids=("B", "C"))
    assert len(tiny.customer_facts(f)) == 0
    f = Filters(start=date(2025, 1, 1), end=date(2025, 6, 1), scope=("A", "B"), regions=("North China",))
    assert len(tiny.customer_facts(f)) == 0
    # an empty scope (a user with no accounts) sees nothing at all
    empty = Filters(start=date(2025, 1, 1), end=date(2025, 6, 1), scope=())
    assert len(tiny.customer_facts(empty)) == 0
    assert tiny.monthly_totals(empty)["revenue"].sum() == 0


def test_tiers_rank_within_the_scope_by_hand(tiny):
    """Jan-Jun 2025 revenue: A 3,500, B 600, C 200, D 100 (4,400). Over everyone the shares
    before each are 0, 0.795, 0.932, 0.977: A and B are tier A. Within the scope {B, C, D}
    (900) they are 0, 0.667, 0.889: B and C are tier A, D is B."""
    f = Filters(start=date(2025, 1, 1), end=date(2025, 6, 1), tiers=("A",))
    assert set(tiny.customer_facts(f)["customer_id"]) == {"A", "B"}
    scoped = Filters(start=date(2025, 1, 1), end=date(2025, 6, 1), tiers=("A",), scope=("B", "C", "D"))
    assert set(tiny.customer_facts(scoped)["customer_id"]) == {"B", "C"}
    scoped_b = Filters(start=date(2025, 1, 1), end=date(2025, 6, 1), tiers=("B",), scope=("B", "C", "D"))
    assert set(tiny.customer_facts(scoped_b)["customer_id"]) == {"D"}
