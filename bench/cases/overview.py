"""Overview page data step: KPIs for the period, its previous period and the one before, the
monthly trend and the top-10 accounts."""

from __future__ import annotations

import math

import pandas as pd

from kamdash.engine.filters import FILTER_FIELDS
from kamdash.views.overview import build

NAME = "overview"


def kamdash_step(backend, filters):
    """What the page computes after a filter change (kamdash.views.overview.build)."""
    from datetime import date

    view = build(backend, filters, first_month=date(1900, 1, 1))
    return {"kpis": {k.key: k.value for k in view.kpis}, "top": view.top["customer_id"].tolist(),
            "months": len(view.monthly)}


def _period(data, f, dims):
    lines, cts = data.lines, data.cts
    ids = data.customers
    for col, values in dims.items():
        if values:
            ids = ids[ids[col].isin(values)]
    ids = ids["customer_id"]
    s, e = pd.Timestamp(f.start), pd.Timestamp(f.end) + pd.offsets.MonthEnd(0)
    sel = lines[(lines["order_date"] >= s) & (lines["order_date"] <= e) & lines["customer_id"].isin(ids)]
    c = cts[(cts["month"] >= s) & (cts["month"] <= e) & cts["customer_id"].isin(ids)]
    by_cust = sel.groupby("customer_id")[["revenue", "cost"]].sum()
    cts_by = c.groupby("customer_id")["amount"].sum()
    return sel, by_cust, cts_by


def pandas_step(data, filters):
    """The same numbers the way a typical pandas dashboard computes them: from order lines."""
    dims = {col: getattr(filters, attr) for col, attr in FILTER_FIELDS.items()}
    periods = [filters, filters.previous(), filters.previous().previous()]
    parts = [_period(data, p, dims) for p in periods]
    sel, by_cust, cts_by = parts[0]
    active = [set(p[1].index) for p in parts]
    rev = by_cust["revenue"].sort_values(ascending=False)
    k = math.ceil(0.2 * len(rev))
    kpis = {
        "revenue": float(rev.sum()),
        "gross_profit": float(rev.sum() - by_cust["cost"].sum()),
        "account_profit": float(rev.sum() - by_cust["cost"].sum() - cts_by.sum()),
        "active_customers": float(len(rev)),
        "top20_share": float(rev.iloc[:k].sum() / rev.sum()) if len(rev) else float("nan"),
        "lost_customers": float(len(active[1] - active[0])),
    }
    monthly = sel.groupby(sel["order_date"].dt.to_period("M"))["revenue"].sum()
    top = rev.head(10).index.tolist()
    return {"kpis": kpis, "top": top, "months": len(monthly)}
