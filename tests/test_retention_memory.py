"""The Retention page's data from memory (``columns.activity``, the held RFM summary, the
running totals) against the queries it replaced: the group-bys over customer_month and the
order lines, and the pandas pivot of the cohort matrix, on the small and tiny databases with
dimension, customer and tier filters."""

from dataclasses import replace
from datetime import date

import ibis
import numpy as np
import pandas as pd

from kamdash import retention
from kamdash.analytics import clv, cohorts
from kamdash.engine import _retention, columns, connect
from kamdash.engine._ibis import to_frame
from kamdash.engine.filters import Filters, add_months
from tests.reference import apply_filters

# ---------------------------------------------------------------- the references


def cohort_counts_sql(backend, filters, freq="M"):
    cm = apply_filters(backend.ibis.table("customer_month"), replace(filters, start=None, end=None))
    cm = cm.filter(cm.orders > 0)
    unit = "Q" if freq == "Q" else "M"
    act = cm.select("customer_id", period=cm.month.truncate(unit)).distinct()
    first = act.group_by("customer_id").aggregate(cohort=act.period.min())
    j = act.join(first, "customer_id")
    out = j.group_by(["cohort", "period"]).aggregate(customers=j.customer_id.nunique())
    df = to_frame(out.order_by(["cohort", "period"]))
    df["customers"] = df["customers"].astype("int64")
    return df


def activity_gaps_sql(backend, filters):
    cm = apply_filters(backend.ibis.table("customer_month"), replace(filters, start=None, end=None))
    cm = cm.filter(cm.orders > 0).select("customer_id", "month")
    nxt = cm.month.lead().over(ibis.window(group_by="customer_id", order_by="month"))
    g = cm.mutate(gap=(nxt.year() * 12 + nxt.month()) - (cm.month.year() * 12 + cm.month.month()))
    df = to_frame(g.group_by(["month", "gap"]).aggregate(rows=g.count()).order_by(["month", "gap"]))
    df["rows"] = df["rows"].astype("int64")
    return df


def retention_matrix_pivot(counts, freq="M", last_period=None, max_cohorts=24):
    def offset(cohort, period):
        months = (period.dt.year - cohort.dt.year) * 12 + (period.dt.month - cohort.dt.month)
        return (months // (3 if freq == "Q" else 1)).to_numpy(int)

    df = counts.copy()
    df["cohort"], df["period"] = pd.to_datetime(df["cohort"]), pd.to_datetime(df["period"])
    df["k"] = offset(df["cohort"], df["period"])
    sizes = df[df["k"] == 0].set_index("cohort")["customers"].sort_index()
    table = df.pivot_table(index="cohort", columns="k", values="customers", aggfunc="sum").sort_index()
    last = pd.Timestamp(last_period) if last_period is not None else df["period"].max()
    observable = offset(pd.Series(table.index), pd.Series([last] * len(table)))
    ks = np.arange(int(observable.max()) + 1)
    shares = table.reindex(columns=ks).fillna(0.0).div(sizes.reindex(table.index), axis=0)
    shares = shares.mask(ks[None, :] > observable[:, None])
    if max_cohorts:
        shares, sizes = shares.iloc[-max_cohorts:], sizes.iloc[-max_cohorts:]
        shares = shares.loc[:, shares.notna().any()]
    shares.columns.name = "k"
    return shares, sizes


def account_values_joined(backend, fit, as_of, filters, vs):
    """account_values as it was: RFM query, margins group-by, attributes joined on customer_id."""
    rfm = _retention._rfm_query(backend, as_of, fit["time_unit"], filters)
    values = clv.customer_values(fit, rfm, backend.customer_margins(as_of), vs.horizon_months,
                                 vs.annual_discount, cost_to_serve=vs.cost_to_serve)
    values["revenue"] = rfm["revenue"].to_numpy()
    values["last_date"] = rfm["last_date"].to_numpy()
    return values.merge(backend.customer_attributes(), on="customer_id", how="left")


# ---------------------------------------------------------------- filter states


def _states(backend):
    opts = backend.dimension_options()
    ids = tuple(backend.keys.customer_id[::7][:25]) + ("NO-SUCH-ID",)
    last = backend.last_month()
    year = (add_months(last, -11), last)
    return [
        Filters(),
        Filters(start=year[0], end=year[1]),  # the period does not restrict who
        Filters(regions=tuple(opts["region"][:1])),
        Filters(customer_types=tuple(opts["customer_type"][:2]), sectors=tuple(opts["sector"][1:3])),
        Filters(account_managers=tuple(opts["account_manager"][:1]), regions=tuple(opts["region"][:2])),
        Filters(customer_ids=ids),
        Filters(customer_ids=ids[:3], regions=tuple(opts["region"][:1])),
        Filters(start=year[0], end=year[1], tiers=("A",)),
        Filters(tiers=("B", "C"), sectors=tuple(opts["sector"][:2])),
        Filters(regions=("Nowhere",)),  # nobody
    ]


def test_cohort_counts_and_gaps_match_the_group_by(small, tiny):
    for backend in (small, tiny):
        for f in _states(backend):
            for freq in ("M", "Q"):
                got, want = backend.cohort_counts(f, freq), cohort_counts_sql(backend, f, freq)
                pd.testing.assert_frame_equal(got, want, check_dtype=len(want) > 0, obj=f"{f} {freq}")
            got, want = backend.activity_gaps(f), activity_gaps_sql(backend, f)
            pd.testing.assert_frame_equal(got, want, check_dtype=len(want) > 0, obj=str(f))


def test_counts_per_combination_of_dimensions_match_the_group_by(small, monkeypatch):
    """Dimension filters add up counts per combination of dimension values when that table is
    small (the 10M demo: 756 combinations); the fixtures have too few months per customer for
    it, so allow it here."""
    r = small.columns
    assert r.activity_table("M", "cohort") is None  # 400 customers: rows are cheaper
    monkeypatch.setattr(columns, "TABLE_CELLS_PER_ROW", 10_000)
    assert r.activity_table("M", "cohort").sum() == len(r.activity("M")[3])
    states = _states(small)
    for f in [*states[:5], states[-1]]:  # customer and tier filters select rows, not combinations
        for freq in ("M", "Q"):
            want = cohort_counts_sql(small, f, freq)
            pd.testing.assert_frame_equal(small.cohort_counts(f, freq), want,
                                          check_dtype=len(want) > 0, obj=f"{f} {freq}")
        want = activity_gaps_sql(small, f)
        pd.testing.assert_frame_equal(small.activity_gaps(f), want, check_dtype=len(want) > 0, obj=str(f))


def test_filters_select_the_customers(small):
    opts = small.dimension_options()
    everyone = small.cohort_counts(Filters(), "M")
    parts = [small.cohort_counts(Filters(regions=(r,)), "M") for r in opts["region"]]
    assert all(len(p) < len(everyone) or p["customers"].sum() < everyone["customers"].sum() for p in parts)
    summed = pd.concat(parts).groupby(["cohort", "period"], as_index=False)["customers"].sum()
    pd.testing.assert_frame_equal(summed, everyone)  # the regions partition the customers
    assert small.activity_gaps(Filters(regions=("Nowhere",))).empty


def test_cohort_matrix_matches_the_pivot(small):
    for f in _states(small)[:4]:
        for freq in ("M", "Q"):
            counts = small.cohort_counts(f, freq)
            for last in (None, small.last_month(), date(2030, 1, 1)):
                for cap in (None, 24, 3):
                    got = cohorts.retention_matrix(counts, freq, last, cap)
                    want = retention_matrix_pivot(counts, freq, last, cap)
                    pd.testing.assert_frame_equal(got[0], want[0])
                    pd.testing.assert_series_equal(got[1], want[1])


def test_rfm_from_memory_matches_the_order_lines_query(small, tiny):
    for backend in (small, tiny):
        as_of = backend.data_facts()["as_of"]
        states = [None, *_states(backend)]
        for f, end, unit in [*((f, as_of, "W") for f in states),
                             *((f, date(2030, 6, 30), "D") for f in states[:4])]:
            got = backend.rfm_summary(end, unit, f)
            want = _retention._rfm_query(backend, end, unit, f)
            pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12,
                                          check_dtype=len(want) > 0, obj=f"{f} {end} {unit}")
        assert _retention._held_rfm(backend) is not None
    # before the last order date (a fit's calibration end) the summary is the query itself
    early = tiny.rfm_summary(date(2025, 1, 31), "D")
    assert early["last_date"].max() <= pd.Timestamp("2025-01-31")


FIT = {"model": "bgnbd", "time_unit": "W", "params": {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426},
       "log_cov": (np.eye(4) * 0.01).tolist(),
       "spend": {"params": {"p": 6.25, "q": 3.74, "v": 15.44}, "log_cov": (np.eye(3) * 0.02).tolist()}}


def test_account_values_match_the_joined_computation(small):
    as_of = small.data_facts()["as_of"]
    for i, f in enumerate(_states(small)):
        vs = retention.ValueSettings() if i % 2 else retention.ValueSettings(12, 0.05, False)
        got = retention.account_values(small, FIT, as_of, f, vs)
        want = account_values_joined(small, FIT, as_of, f, vs)
        assert list(got.columns) == list(want.columns)
        # the finite-difference gradients scale the last digit of a sum by 1e5
        pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-7,
                                      check_dtype=len(want) > 0, obj=str(f))
    # an as-of before the last order: the query path, still with margins to that month
    early = date(2025, 3, 31)
    got = retention.account_values(small, FIT, early, Filters(), retention.ValueSettings())
    want = account_values_joined(small, FIT, early, Filters(), retention.ValueSettings())
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-7)


def test_account_values_are_held_per_fit_and_settings_and_selected_by_the_filters(small_db):
    b = connect(str(small_db))  # a backend of its own: nothing held yet
    as_of, vs = b.data_facts()["as_of"], retention.ValueSettings()
    one = Filters(customer_ids=(b.customer_facts(Filters())["customer_id"].iloc[3],))
    direct = retention.account_values(b, FIT, as_of, one, vs)  # nothing held: values only it
    assert len(direct) == 1 and not b_held(b)
    every = retention.account_values(b, FIT, as_of, Filters(), vs)
    assert len(b_held(b)) == 1
    pd.testing.assert_frame_equal(retention.account_values(b, FIT, as_of, one, vs), direct)
    every.loc[:, "clv"] = -1.0  # the caller's copy, not the held table
    assert (retention.account_values(b, FIT, as_of, Filters(), vs)["clv"] >= 0).all()
    other = {**FIT, "params": {**FIT["params"], "r": 0.3}}  # another fit is valued anew
    assert not retention.account_values(b, other, as_of, Filters(), vs)["clv"].equals(
        retention.account_values(b, FIT, as_of, Filters(), vs)["clv"])
    assert len(b_held(b)) == 2


def b_held(backend) -> list:
    return [k for k in backend.columns._cols if k[0] == "account_values"]


def test_held_arrays_are_counted_in_the_budget(small):
    r = small.columns
    small.cohort_counts(Filters(), "M")
    small.rfm_summary(small.data_facts()["as_of"], "W", Filters())
    base, n, n_rows, cohort_code, gap_code = r.activity("M")
    assert n_rows.dtype == np.int32 and cohort_code.dtype == np.int16 and gap_code.dtype == np.int16
    assert r.held_bytes() >= n_rows.nbytes + cohort_code.nbytes + gap_code.nbytes
    assert n_rows.sum() == len(cohort_code) == to_frame(
        small.ibis.table("customer_month").filter(lambda t: t.orders > 0).count().as_table()).iloc[0, 0]
