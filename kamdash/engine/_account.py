"""One account's rows, and the order lines and costs an account plan is tracked against: Ibis
expressions over the sales tables; customer ids enter only as literals."""

from __future__ import annotations

from datetime import date

import pandas as pd

from kamdash.engine._ibis import to_frame
from kamdash.engine.filters import add_months, month_start

PROFILE_COLUMNS = ("customer_id", "name", "name_zh", "customer_type", "sector", "region", "city",
                   "parent_id", "account_manager", "acquired_on", "referred_by")




def account_profile(eng, customer_id: str) -> dict | None:
    """The account's row of ``customers`` as a dict, or None when it does not exist."""
    cu = eng.ibis.table("customers")
    df = to_frame(cu.filter(cu.customer_id == customer_id).select(*PROFILE_COLUMNS))
    if df.empty:
        return None
    row = df.iloc[0].to_dict()
    return {k: (None if (v is None or (isinstance(v, float) and v != v) or v is pd.NaT) else v)
            for k, v in row.items()}


def account_months(eng, customer_id: str) -> pd.DataFrame:
    """Every month of the account's history: month, revenue, gross_profit, cost_to_serve,
    account_profit, orders."""
    cm = eng.ibis.table("customer_month")
    cm = cm.filter(cm.customer_id == customer_id)
    return to_frame(cm.select("month", "revenue", "gross_profit", "cost_to_serve",
                                      "account_profit", "orders").order_by("month"))


def _period(t, col: str, start: date | None, end: date | None):
    preds = []
    if start:
        preds.append(t[col] >= start)
    if end:
        preds.append(t[col] < add_months(end, 1))
    return t.filter(*preds) if preds else t


def account_product_mix(eng, customer_id: str, start: date | None, end: date | None) -> pd.DataFrame:
    """Revenue and gross profit by product category in the period: category, revenue,
    gross_profit, share (of the account's revenue), sorted by revenue. Lines without a known
    product have category None."""
    ol = eng.ibis.table("order_lines")
    ol = _period(ol.filter(ol.customer_id == customer_id), "order_date", start, end)
    pr = eng.ibis.table("products").select("product_id", "category")
    j = ol.left_join(pr, "product_id")
    g = j.group_by("category").aggregate(revenue=j.revenue.sum(),
                                         gross_profit=(j.revenue - j.cost.fill_null(0)).sum())
    df = to_frame(g)
    total = df["revenue"].sum()
    df["share"] = df["revenue"] / total if total else float("nan")
    return df.sort_values(["revenue", "category"], ascending=[False, True]).reset_index(drop=True)


def account_costs(eng, customer_id: str, start: date | None, end: date | None) -> pd.DataFrame:
    """Cost-to-serve by type in the period: cost_type, amount, sorted by amount."""
    c = eng.ibis.table("cost_to_serve")
    c = _period(c.filter(c.customer_id == customer_id), "month", start, end)
    df = to_frame(c.group_by("cost_type").aggregate(amount=c.amount.sum()))
    return df.sort_values(["amount", "cost_type"], ascending=[False, True]).reset_index(drop=True)


def plan_lines(eng, customer_ids, since: date | None = None) -> pd.DataFrame:
    """Order lines of the accounts (from ``since``) with their product category: customer_id,
    order_date, revenue, cost, category (the actuals a plan is tracked against)."""
    ol = eng.ibis.table("order_lines")
    ol = ol.filter(ol.customer_id.isin(list(customer_ids)))
    if since is not None:
        ol = ol.filter(ol.order_date >= since)
    pr = eng.ibis.table("products").select("product_id", "category")
    j = ol.left_join(pr, "product_id")
    return to_frame(j.select("customer_id", "order_date", "revenue", "cost", "category"))


def plan_costs(eng, customer_ids, since: date | None = None) -> pd.DataFrame:
    """Cost-to-serve of the accounts by month (from the month of ``since``): customer_id,
    month, amount (what account-margin goals are tracked against)."""
    c = eng.ibis.table("cost_to_serve")
    c = c.filter(c.customer_id.isin(list(customer_ids)))
    if since is not None:
        c = c.filter(c.month >= month_start(since))
    g = c.group_by(["customer_id", "month"]).aggregate(amount=c.amount.sum())
    return to_frame(g.select("customer_id", "month", "amount"))


def product_categories(eng) -> list[str]:
    pr = eng.ibis.table("products")
    return sorted(to_frame(pr.select("category").distinct())["category"].dropna())
