"""Benchmark case: customer features + segmentation fit.

kamdash_step computes the customer features through the query layer (the page's data step after a
filter change); fit_step fits the default pipeline (signed log -> StandardScaler -> KMeans, k = 6)
on the default features (recency, frequency, revenue, margin, growth; product breadth, the one
feature that needs a pass over order_lines, is not a default). pandas_step computes the same
features in plain pandas straight from the order lines; the two are compared customer by customer.

The features come from the running totals (customer_cum: four month-rows per customer), not
from a group-by over customer_month; figures in bench/RESULTS.md.
"""

from __future__ import annotations

import pandas as pd

NAME = "segments"
K = 6


def _fit(features):
    from kamdash.analytics import segments

    r = segments.fit_segments(features, segments.DEFAULT_FEATURES, k=K)
    return {"customers": int(len(features)), "k": r.k,
            "sizes": r.labels["segment"].value_counts().sort_index().tolist()}


def _features(f) -> dict:
    """What is compared with the pandas baseline: every customer's default features."""
    from kamdash.analytics import segments

    return {"customers": int(len(f)), "features": f.set_index("customer_id")[list(segments.DEFAULT_FEATURES)]}


def kamdash_step(backend, filters):
    """The page's data step after a filter change: the customer features (product breadth, the
    one feature that needs a pass over order_lines, is not a default). The clustering fit on
    them is timed separately (``fit_step``)."""
    return _features(backend.customer_features(filters, breadth=False))


def fit_step(backend):
    """The clustering fit (signed log -> StandardScaler -> KMeans, k = 6) on the features of the
    last 12 months, all customers."""
    from bench.child import filter_states

    return _fit(backend.customer_features(filter_states(backend)[0], breadth=False))


def pandas_step(data, filters):
    from kamdash.engine.filters import add_months, month_start

    lines, customers, cts = data.lines, data.customers, data.cts
    c = customers
    for col, values in filters.dimension_values().items():
        if values:
            c = c[c[col].isin(values)]
    if filters.customer_ids is not None:
        c = c[c["customer_id"].isin(filters.customer_ids)]
    keep = set(c["customer_id"])
    ln = lines[lines["customer_id"].isin(keep)].copy()
    ln["order_date"] = pd.to_datetime(ln["order_date"])
    ln["month"] = ln["order_date"].dt.to_period("M").dt.to_timestamp()
    data_end = ln["order_date"].max()
    end = pd.Timestamp(filters.end or month_start(data_end.date()))
    as_of = min(end + pd.offsets.MonthEnd(0), data_end)
    hist = ln[ln["month"] <= end]
    per = hist[hist["month"] >= pd.Timestamp(filters.start)] if filters.start else hist
    g = per.groupby("customer_id")
    f = pd.DataFrame({
        "revenue": g["revenue"].sum(),
        "cost": g["cost"].sum(),
        "frequency": g["order_date"].nunique().astype(float),
        "active_months": g["month"].nunique(),
    })
    ct = cts[cts["customer_id"].isin(f.index)].copy()
    ct["month"] = pd.to_datetime(ct["month"])
    ct = ct[(ct["month"] <= end) & ((ct["month"] >= pd.Timestamp(filters.start)) if filters.start else True)]
    f["gross_profit"] = f["revenue"] - f["cost"]
    f["account_profit"] = f["gross_profit"] - ct.groupby("customer_id")["amount"].sum().reindex(f.index).fillna(0)
    h = hist[hist["customer_id"].isin(f.index)].groupby("customer_id")["order_date"]
    f["recency"] = (as_of - h.max()).dt.days.astype(float)
    first = h.min()
    f["tenure"] = ((as_of.year - first.dt.year) * 12 + as_of.month - first.dt.month).astype(float)
    f["regularity"] = f["active_months"] / (filters.months or 12)
    f["margin"] = (f["account_profit"] / f["revenue"]).where(f["revenue"] > 0)
    last12 = hist[hist["month"] > pd.Timestamp(add_months(end.date(), -12))]
    prev12 = hist[(hist["month"] > pd.Timestamp(add_months(end.date(), -24)))
                  & (hist["month"] <= pd.Timestamp(add_months(end.date(), -12)))]
    a = last12.groupby("customer_id")["revenue"].sum().reindex(f.index).fillna(0)
    p = prev12.groupby("customer_id")["revenue"].sum().reindex(f.index).fillna(0)
    f["growth"] = ((a - p) / p).where(p > 0)  # % change; undefined without revenue a year before
    f = f.sort_values("revenue", ascending=False).reset_index()
    return _features(f)
