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

from kamdash import queries, store
from kamdash.queries import Filters
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
            _subsets[ids] = queries.connect(str(path))
        return _subsets[ids]

    yield get
    for b in _subsets.values():
        b.disconnect()
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
    pd.testing.assert_frame_equal(_facts(queries.customer_facts(tiny, scoped)),
                                  _facts(queries.customer_facts(sub, plain)), check_dtype=False)
    got, want = queries.customer_mask(tiny, scoped), queries.customer_mask(sub, plain)
    assert set(queries.resident.of(tiny).keys.ids.take(np.flatnonzero(got))) == \
        set(queries.resident.of(sub).keys.ids.take(np.flatnonzero(want)))


@SETTINGS
@given(ids=scopes, period=periods, more=extra)
def test_scoped_page_numbers_equal_the_subset(tiny, subset_backend, ids, period, more):
    sub = subset_backend(ids)
    scoped = Filters(start=period[0], end=period[1], scope=tuple(sorted(ids)), **more)
    plain = Filters(start=period[0], end=period[1], **more)
    pd.testing.assert_frame_equal(queries.period_summary(tiny, scoped), queries.period_summary(sub, plain))
    pd.testing.assert_frame_equal(queries.top_customers(tiny, scoped, n=3).drop(columns=["ck"], errors="ignore"),
                                  queries.top_customers(sub, plain, n=3).drop(columns=["ck"], errors="ignore"),
                                  check_dtype=False, check_categorical=False)
    a, b = queries.monthly_totals(tiny, scoped), queries.monthly_totals(sub, plain)
    a = a[a["month"].isin(b["month"])].reset_index(drop=True)  # the subset's months are fewer
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    for value in ("revenue", "account_profit"):
        # "complete" says whether the data covers a whole quarter: the subset's data may start
        # or end earlier
        a = queries.concentration_over_time(tiny, scoped, value, "quarter").drop(columns="complete")
        b = queries.concentration_over_time(sub, plain, value, "quarter").drop(columns="complete")
        a = a[a["period"].isin(b["period"])].reset_index(drop=True) if "period" in a else a
        pd.testing.assert_frame_equal(a, b, check_dtype=False)


@SETTINGS
@given(ids=scopes, more=extra)
def test_scoped_retention_inputs_equal_the_subset(tiny, subset_backend, ids, more):
    assume(LAST_CUSTOMER in ids)  # cohorts and gaps run to the data's last month
    sub = subset_backend(ids)
    scoped = Filters(scope=tuple(sorted(ids)), **{k: v for k, v in more.items() if k != "tiers"})
    plain = Filters(**{k: v for k, v in more.items() if k != "tiers"})
    a, b = queries.cohort_counts(tiny, scoped), queries.cohort_counts(sub, plain)
    a = a[a["customers"] > 0].reset_index(drop=True) if "customers" in a else a
    b = b[b["customers"] > 0].reset_index(drop=True) if "customers" in b else b
    pd.testing.assert_frame_equal(a, b, check_dtype=False)
    rfm_a = queries.rfm_summary(tiny, date(2025, 6, 30), "W", scoped).sort_values("customer_id")
    rfm_b = queries.rfm_summary(sub, date(2025, 6, 30), "W", plain).sort_values("customer_id")
    pd.testing.assert_frame_equal(rfm_a.reset_index(drop=True), rfm_b.reset_index(drop=True), check_dtype=False)
    fa = queries.customer_features(tiny, replace_period(scoped), breadth=True)
    fb = queries.customer_features(sub, replace_period(plain), breadth=True)
    pd.testing.assert_frame_equal(_facts(fa), _facts(fb), check_dtype=False)


def replace_period(f: Filters) -> Filters:
    from dataclasses import replace

    return replace(f, start=date(2025, 1, 1), end=date(2025, 6, 1))


def test_scope_is_never_widened(tiny):
    """Other filters only narrow a scope: naming customers outside it shows nothing of them."""
    f = Filters(start=date(2025, 1, 1), end=date(2025, 6, 1), scope=("A",), customer_ids=("B", "C"))
    assert len(queries.customer_facts(tiny, f)) == 0
    f = Filters(start=date(2025, 1, 1), end=date(2025, 6, 1), scope=("A", "B"), regions=("North China",))
    assert len(queries.customer_facts(tiny, f)) == 0
    # an empty scope (a user with no accounts) sees nothing at all
    empty = Filters(start=date(2025, 1, 1), end=date(2025, 6, 1), scope=())
    assert len(queries.customer_facts(tiny, empty)) == 0
    assert queries.monthly_totals(tiny, empty)["revenue"].sum() == 0


def test_tiers_rank_within_the_scope_by_hand(tiny):
    """Jan-Jun 2025 revenue: A 3,500, B 600, C 200, D 100 (4,400). Over everyone the shares
    before each are 0, 0.795, 0.932, 0.977: A and B are tier A. Within the scope {B, C, D}
    (900) they are 0, 0.667, 0.889: B and C are tier A, D is B."""
    f = Filters(start=date(2025, 1, 1), end=date(2025, 6, 1), tiers=("A",))
    assert set(queries.customer_facts(tiny, f)["customer_id"]) == {"A", "B"}
    scoped = Filters(start=date(2025, 1, 1), end=date(2025, 6, 1), tiers=("A",), scope=("B", "C", "D"))
    assert set(queries.customer_facts(tiny, scoped)["customer_id"]) == {"B", "C"}
    scoped_b = Filters(start=date(2025, 1, 1), end=date(2025, 6, 1), tiers=("B",), scope=("B", "C", "D"))
    assert set(queries.customer_facts(tiny, scoped_b)["customer_id"]) == {"D"}
