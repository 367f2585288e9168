"""Benchmark case of the My accounts page (run by the bench/ harness).

kamdash_step: what the page computes after a filter change (``views.my_accounts.build``: every
account's health score and its 12 months, the backtest, the whitespace of every account x
category with its money-ranked list, the actions and the forecast), without a stored fit.
pandas_step: the same accounts' order rhythm and revenue trend components, the whitespace total
and largest gaps, and the run-rate forecast, in plain pandas from the order lines.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from kamdash.views import my_accounts as view

NAME = "my_accounts"
MIN_DAYS, LATE_TO_ZERO, MIN_PEERS, TOP = 3, 3.0, 5, 20


def kamdash_step(backend, filters) -> dict:
    v = view.build(backend, filters)
    a = v.accounts.set_index("customer_id")
    return {"accounts": len(a), "components": a[["rhythm", "trend"]],
            "whitespace_total": v.whitespace_total, "top_gaps": v.gaps["value"].head(TOP).to_numpy(),
            "forecast_12m": float(a["forecast_12m"].sum()), "actions": len(v.actions)}


def _growth(now: pd.Series, before: pd.Series) -> pd.Series:
    g = (now / before - 1).clip(-1, 1)
    return (50 + 50 * g).where(before > 0, pd.Series(100.0, index=now.index).where(now > 0))


def pandas_step(data, filters) -> dict:
    lines, customers = data.lines, data.customers
    last = lines["order_date"].max()
    now = min(pd.Timestamp(filters.end), last.to_period("M").to_timestamp()) if filters.end \
        else last.to_period("M").to_timestamp()
    after = now + pd.offsets.MonthBegin(1)
    cutoff = min(after - pd.Timedelta(days=1), last.normalize())
    keep = customers
    for col, values in filters.dimension_values().items():
        if values:
            keep = keep[keep[col].isin(values)]
    upto = lines[lines["order_date"] < after]
    recent = upto[upto["order_date"] >= after - pd.DateOffset(months=24)]
    accounts = pd.Index(sorted(set(recent["customer_id"]) & set(keep["customer_id"])))

    # order rhythm: purchase days (a day with a line that is not negative) up to the cutoff
    d = upto[upto["order_date"] <= cutoff].assign(day=lambda x: x["order_date"].dt.normalize())
    bought = d[d["revenue"] >= 0][["customer_id", "day"]].drop_duplicates().sort_values(["customer_id", "day"])
    gaps = bought.groupby("customer_id")["day"].diff().dt.days
    stats = pd.DataFrame({"count": bought.groupby("customer_id").size(),
                          "mean": gaps.groupby(bought["customer_id"]).mean(),
                          "sd": gaps.groupby(bought["customer_id"]).std(),
                          "since": (cutoff - bought.groupby("customer_id")["day"].max()).dt.days})
    own = stats["count"] >= MIN_DAYS
    typical_mean, typical_sd = stats.loc[own, "mean"].median(), stats.loc[own, "sd"].fillna(0).median()
    mu = stats["mean"].where(own, typical_mean)
    sd = stats["sd"].fillna(0).where(own, typical_sd)
    spread = np.maximum(sd, mu / 4)
    z = ((stats["since"] - mu).clip(lower=0) / spread).where(spread > 0, 0.0)
    rhythm = (100 * (1 - z / LATE_TO_ZERO).clip(0, 1))

    # revenue trend: the last 3, 6, 12 months against the same months a year before
    def rev(lo_months: int, hi_months: int) -> pd.Series:
        lo, hi = after - pd.DateOffset(months=lo_months), after - pd.DateOffset(months=hi_months)
        sel = upto[(upto["order_date"] >= lo) & (upto["order_date"] < hi)]
        return sel.groupby("customer_id")["revenue"].sum().reindex(accounts, fill_value=0.0)

    scores = pd.concat([_growth(rev(k, 0), rev(12 + k, 12)) for k in (3, 6, 12)], axis=1)
    trend = scores.mean(axis=1)

    # whitespace: spend per category in the 12 months to now, peers = customer type x size band
    cat = upto.merge(data.products[["product_id", "category"]].dropna(), on="product_id", how="inner")
    last12 = cat[cat["order_date"] >= after - pd.DateOffset(months=12)]
    spend = last12.pivot_table(index="customer_id", columns="category", values="revenue", aggfunc="sum",
                               fill_value=0.0)
    before = cat[cat["order_date"] < after - pd.DateOffset(months=12)].groupby(["customer_id", "category"])[
        "revenue"].sum().unstack(fill_value=0.0)
    ids = pd.Index(sorted(set(cat["customer_id"])))
    cats = sorted(cat["category"].dropna().unique())
    spend = spend.reindex(index=ids, columns=cats, fill_value=0.0).clip(lower=0)
    before = before.reindex(index=ids, columns=cats, fill_value=0.0)
    size = spend.sum(axis=1)
    cuts = size[size > 0].quantile([0.25, 0.5, 0.75]).to_numpy()
    band = pd.Series(np.searchsorted(cuts, size, side="right"), index=ids)
    kind = customers.set_index("customer_id")["customer_type"].reindex(ids)
    group = (kind.astype(str) + "/" + band.astype(str)).where((size > 0) & kind.notna())
    share = spend.div(size, axis=0).where(spend > 0)
    pen = (spend > 0).groupby(group).mean()
    med = share.groupby(group).median().fillna(0.0)
    n = group.value_counts()
    norm = (pen * med)[n.reindex(pen.index) >= MIN_PEERS]
    expected = norm.reindex(group.to_numpy()).set_axis(ids).fillna(0.0).mul(size, axis=0)
    gap = expected.where(spend <= 0, 0.0).loc[ids.intersection(accounts)]
    values = np.sort(gap.to_numpy().ravel())[::-1]
    return {"accounts": len(accounts),
            "components": pd.DataFrame({"rhythm": rhythm.reindex(accounts), "trend": trend}, index=accounts),
            "whitespace_total": float(values.sum()), "top_gaps": values[values > 0][:TOP],
            "forecast_12m": float(rev(12, 0).sum())}
