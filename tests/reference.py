"""Ibis reference implementations the engine's in-memory paths are checked against: the same
rules written as group-bys and window functions over the database's tables, used only by tests."""

from __future__ import annotations

from datetime import date

import pandas as pd

from kamdash.analytics import pareto
from kamdash.engine import _ibis
from kamdash.engine._ibis import ibis, to_frame
from kamdash.engine.filters import Filters

GRAINS = {"quarter": ("Q", 3), "year": ("Y", 12)}
_TIER_EPS = 1e-9


def customer_tiers(cm, start: date | None, end: date | None,
                   cutoffs: tuple[float, float] = pareto.ABC_CUTOFFS_DEFAULT):
    """ABC tier of every customer with an order between ``start`` and ``end`` (months, both
    included), by revenue: an expression with customer_id, revenue, tier.

    ``cm`` is the customer_month table. Customers ranked by revenue descending (ties by
    customer_id); A when the customers above hold less than ``cutoffs[0]`` of the sum of the
    positive revenues, B when less than ``cutoffs[1]``, else C; no positive revenue is always C.
    ``pareto.abc_codes``'s rule, with its C and L together as C (the tier filter's groups).
    """
    a, b = cutoffs
    preds = []
    if start:
        preds.append(cm.month >= start)
    if end:
        preds.append(cm.month <= end)
    per = cm.filter(*preds) if preds else cm
    per = per.group_by("customer_id").aggregate(revenue=per.revenue.sum(), orders=per.orders.sum())
    per = per.filter(per.orders > 0)
    cum = per.revenue.sum().over(ibis.cumulative_window(order_by=[ibis.desc(per.revenue), per.customer_id]))
    total = ibis.greatest(per.revenue, 0).sum().over(ibis.window())
    before = (cum - per.revenue) / total
    tier = ibis.cases(
        ((per.revenue <= 0) | (total <= 0), "C"),
        (before < a * (1 - _TIER_EPS), "A"),
        (before < b * (1 - _TIER_EPS), "B"),
        else_="C",
    )
    return per.select("customer_id", "revenue", tier=tier)


def tier_members(cm, filters: Filters):
    """Customers (expression with customer_id) whose tier is in ``filters.tiers``."""
    start, end = filters.tier_period or (filters.start, filters.end)
    if filters.scope is not None:  # tiers within the user's scope
        cm = cm.filter(cm.customer_id.isin(list(filters.scope)))
    tiers = customer_tiers(cm, start, end, filters.tier_cutoffs)
    return tiers.filter(tiers.tier.isin(list(filters.tiers))).select("customer_id")


def apply_filters(t, filters: Filters, month_col: str = "month"):
    """Every filter of ``filters`` as Ibis predicates on a table with ``month_col``, customer_id
    and the dimension columns: the engine's period and dimension predicates, then the customer
    list, scope and tiers (by ``tier_members``) as plain ``isin`` filters."""
    base, t = t, _ibis.apply_filters(t, filters, month_col=month_col)
    preds = []
    if filters.customer_ids is not None:
        preds.append(t.customer_id.isin(list(filters.customer_ids)))
    if filters.scope is not None:
        preds.append(t.customer_id.isin(list(filters.scope)))
    if filters.tiers:
        preds.append(t.customer_id.isin(tier_members(base, filters).customer_id))
    return t.filter(*preds) if preds else t


def customer_period_facts(engine, filters: Filters, grain: str = "quarter") -> pd.DataFrame:
    """One row per customer and calendar quarter (or year) of the filtered months, unordered:
    period (first day, datetime64), customer_id, revenue, gross_profit, account_profit, orders,
    complete (True when the whole quarter/year lies inside the months the database covers). A
    group-by over customer_month: what ``pareto.over_time`` turns into the reference of
    ``Engine.concentration_over_time``."""
    unit, months = GRAINS[grain]
    base = engine.ibis.table("customer_month")
    ext = to_frame(base.aggregate(first=base.month.min(), last=base.month.max()))
    cm = apply_filters(base, filters)
    cm = cm.mutate(period=cm.month.truncate(unit))
    out = cm.group_by("period", "customer_id").aggregate(
        revenue=cm.revenue.sum(), gross_profit=cm.gross_profit.sum(),
        account_profit=cm.account_profit.sum(), orders=cm.orders.sum(),
    )
    df = to_frame(out)
    df["period"] = pd.to_datetime(df["period"])
    df["orders"] = df["orders"].astype("int64")
    last_start = pd.Timestamp(ext["last"].iloc[0]) - pd.DateOffset(months=months - 1)
    df["complete"] = (df["period"] >= pd.Timestamp(ext["first"].iloc[0])) & (df["period"] <= last_start)
    return df
