"""Benchmark case of the concentration page, for the bench harness on main.

``kamdash_step`` is the page's data step for one filter state as the app runs it: the
customer facts read from the customer_month pre-aggregate through the query layer, then the
pure analytics (readouts of the three values, whale curve, ABC tiers) and the quarterly
concentration over time. ``pandas_step`` computes the same numbers the way a typical pandas
dashboard would: straight from the order lines and cost-to-serve rows, on every filter change.
Both return the same small dict (``tests/test_concentration.py`` checks they agree).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from kamdash.analytics import pareto
from kamdash.engine.filters import Filters

NAME = "concentration"
OVER_TIME_VALUE = "account_profit"


def _summary(facts: pd.DataFrame, over: pd.DataFrame) -> dict:
    out = {}
    for value in pareto.VALUE_COLUMNS:
        pop = pareto.population(facts, value)
        order = pareto.order_by(pop, value)  # ranked once for the readouts and the tiers, as on the page
        r = pareto.readouts(pareto.sorted_values(pop, value, order), ordered=True)
        tiers = pareto.abc_summary(pop, value, order=order)
        out[value] = {"customers": r["customers"], "total": r["total"],
                      **{f"top_{round(p * 100)}": v for p, v in r["top"].items()},
                      "for_80": r["for_target"], "gini": r["gini"], "hhi": r["hhi"],
                      "tier_customers": tiers["customers"].tolist(), "tier_revenue": tiers["revenue"].tolist()}
    w = pareto.whale_summary(facts)
    out["whale"] = {k: w[k] for k in ("peak", "peak_customers", "loss_makers", "losses")}
    out["over_time"] = {"periods": len(over), "gini": over["gini"].tolist(), "top20": over["top_share"].tolist()}
    return out


def kamdash_step(backend, filters: Filters) -> dict:
    facts = backend.customer_facts(filters)
    over = backend.concentration_over_time(replace(filters, start=None, end=None), OVER_TIME_VALUE)
    return _summary(facts, over)


# ---------------------------------------------------------------- plain pandas, from order lines

def _months(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s).dt.to_period("M").dt.to_timestamp()


def _customer_ids(data, filters: Filters) -> pd.Index:
    c = data.customers
    keep = np.ones(len(c), dtype=bool)
    for col, values in filters.dimension_values().items():
        if values:
            keep &= c[col].isin(values).to_numpy()
    ids = c.loc[keep, "customer_id"]
    if filters.customer_ids is not None:
        ids = ids[ids.isin(filters.customer_ids)]
    return pd.Index(ids)


def _per_customer(lines: pd.DataFrame, cts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    lines = lines.assign(gp=lines["revenue"] - lines["cost"].fillna(0))
    o = lines.groupby(keys).agg(revenue=("revenue", "sum"), gross_profit=("gp", "sum"),
                                orders=("order_id", "nunique"))
    c = cts.groupby(keys)["amount"].sum().rename("cost_to_serve")
    f = o.join(c, how="outer").fillna({"revenue": 0.0, "gross_profit": 0.0, "orders": 0, "cost_to_serve": 0.0})
    f["account_profit"] = f["gross_profit"] - f["cost_to_serve"]
    f["orders"] = f["orders"].astype("int64")
    return f.reset_index()


def _tier_ids(data, filters: Filters) -> pd.Index:
    start, end = filters.tier_period or (filters.start, filters.end)
    m = _months(data.lines["order_date"])
    sel = np.ones(len(m), dtype=bool)
    if start:
        sel &= (m >= pd.Timestamp(start)).to_numpy()
    if end:
        sel &= (m <= pd.Timestamp(end)).to_numpy()
    rev = data.lines[sel].groupby("customer_id").agg(revenue=("revenue", "sum")).reset_index()
    t = pareto.abc_tiers(rev.assign(orders=1), "revenue", filters.tier_cutoffs)
    return pd.Index(t.loc[t["tier"].isin(filters.tiers), "customer_id"])


def pandas_step(data, filters: Filters) -> dict:
    ids = _customer_ids(data, filters)
    if filters.tiers:
        ids = ids.intersection(_tier_ids(data, filters))
    lines = data.lines[data.lines["customer_id"].isin(ids)].assign(month=lambda d: _months(d["order_date"]))
    cts = data.cts[data.cts["customer_id"].isin(ids)].assign(month=lambda d: _months(d["month"]))
    lo, hi = filters.start, filters.end
    in_l = np.ones(len(lines), dtype=bool)
    in_c = np.ones(len(cts), dtype=bool)
    if lo:
        in_l &= (lines["month"] >= pd.Timestamp(lo)).to_numpy()
        in_c &= (cts["month"] >= pd.Timestamp(lo)).to_numpy()
    if hi:
        in_l &= (lines["month"] <= pd.Timestamp(hi)).to_numpy()
        in_c &= (cts["month"] <= pd.Timestamp(hi)).to_numpy()
    facts = _per_customer(lines[in_l], cts[in_c], ["customer_id"])
    months = [_months(data.lines["order_date"])] + ([_months(data.cts["month"])] if len(data.cts) else [])
    first, last = min(m.min() for m in months), max(m.max() for m in months)
    q = lambda s: s.dt.to_period("Q").dt.to_timestamp()  # noqa: E731
    per = _per_customer(lines.assign(period=q(lines["month"])), cts.assign(period=q(cts["month"])),
                        ["period", "customer_id"])
    per["complete"] = (per["period"] >= first) & (per["period"] <= last - pd.DateOffset(months=2))
    return _summary(facts, pareto.over_time(per, OVER_TIME_VALUE))
