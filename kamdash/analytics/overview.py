"""Overview KPIs and the top-accounts table.

Inputs are customer facts frames from ``queries.customer_facts`` (one row per customer with
columns revenue, gross_profit, account_profit, orders, ...) for the current period, the previous
period of the same length, and the period before that (needed for "customers lost" in the
previous period).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kamdash.analytics.pareto import TOP_SHARE_DEFAULT, top_share

KPI_KEYS = ("revenue", "gross_profit", "account_profit", "active_customers", "top20_share",
            "lost_customers")
TOP_N_DEFAULT = 10


@dataclass(frozen=True)
class Kpi:
    key: str
    value: float
    previous: float | None  # None when there is no comparable previous period
    kind: str  # "money", "count" or "share"

    @property
    def delta(self) -> float | None:
        if self.previous is None or np.isnan(self.previous) or np.isnan(self.value):
            return None
        return self.value - self.previous

    @property
    def delta_pct(self) -> float | None:
        """Relative change; None for shares (use points) or when the base is zero."""
        if self.delta is None or self.kind == "share" or self.previous == 0:
            return None
        return self.delta / abs(self.previous)


def active_ids(facts: pd.DataFrame) -> set:
    """Customers with at least one order in the period of ``facts``."""
    return set(facts.loc[facts["orders"] > 0, "customer_id"])


def period_values(facts: pd.DataFrame, prior: pd.DataFrame | None,
                  top_p: float = TOP_SHARE_DEFAULT) -> dict[str, float]:
    """The KPI values of one period.

    revenue / gross_profit / account_profit: sums over all customers of the period (account
    profit includes cost-to-serve of customers who did not order). active_customers: customers
    with an order. top20_share: revenue share of the first ceil(p*N) of the N active customers
    by revenue. lost_customers: customers active in ``prior`` (the period before, same length)
    with no order in this one; NaN when ``prior`` is None.
    """
    active = facts[facts["orders"] > 0]
    lost = float("nan") if prior is None else float(len(active_ids(prior) - active_ids(facts)))
    return {
        "revenue": float(facts["revenue"].sum()),
        "gross_profit": float(facts["gross_profit"].sum()),
        "account_profit": float(facts["account_profit"].sum()),
        "active_customers": float(len(active)),
        "top20_share": top_share(active["revenue"], top_p),
        "lost_customers": lost,
    }


def kpis(current: pd.DataFrame, previous: pd.DataFrame | None,
         before_previous: pd.DataFrame | None, top_p: float = TOP_SHARE_DEFAULT) -> list[Kpi]:
    """KPIs of the current period with the previous period's value for comparison.

    Pass ``previous=None`` when the data does not cover the whole previous period (then no
    change is shown), and ``before_previous=None`` when it does not cover the period before it.
    """
    cur = period_values(current, previous, top_p)
    prev = None if previous is None else period_values(previous, before_previous, top_p)
    kinds = {"active_customers": "count", "lost_customers": "count", "top20_share": "share"}
    out = []
    for key in KPI_KEYS:
        p = None if prev is None or np.isnan(prev[key]) else prev[key]
        out.append(Kpi(key, cur[key], p, kinds.get(key, "money")))
    return out


def top_accounts(current: pd.DataFrame, previous: pd.DataFrame | None,
                 n: int = TOP_N_DEFAULT, by: str = "revenue") -> pd.DataFrame:
    """The ``n`` largest accounts of the period by ``by``.

    Columns out: rank, customer_id, name, name_zh, customer_type, region, account_manager,
    revenue, gross_profit, account_profit, margin (account profit / revenue), share (of the
    period's total revenue), revenue_change (vs previous period, relative; NaN when the account
    had no revenue before or no previous period is comparable).
    """
    total = current["revenue"].sum()
    top = current.sort_values([by, "customer_id"], ascending=[False, True]).head(n).copy()
    top.insert(0, "rank", np.arange(1, len(top) + 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        top["margin"] = np.where(top["revenue"] != 0, top["account_profit"] / top["revenue"], np.nan)
        top["share"] = top["revenue"] / total if total else np.nan
    if previous is not None:
        prev_rev = previous.set_index("customer_id")["revenue"]
        before = top["customer_id"].map(prev_rev).astype("float64")
        top["revenue_change"] = np.where(before > 0, (top["revenue"] - before) / before, np.nan)
    else:
        top["revenue_change"] = np.nan
    cols = ["rank", "customer_id", *[c for c in ATTRIBUTES if c in top.columns],
            "revenue", "gross_profit", "account_profit", "margin", "share", "revenue_change"]
    return top[cols].reset_index(drop=True)


ATTRIBUTES = ("name", "name_zh", "customer_type", "region", "account_manager")


def with_attributes(top: pd.DataFrame, attributes: pd.DataFrame) -> pd.DataFrame:
    """``top`` (from top_accounts) with the customer attributes (name, name_zh, customer_type,
    region, account_manager) from ``attributes`` (one row per customer_id); order kept."""
    attrs = attributes.set_index("customer_id")
    out = top.drop(columns=[c for c in ATTRIBUTES if c in top.columns])
    for pos, col in enumerate(ATTRIBUTES, start=2):
        out.insert(pos, col, out["customer_id"].map(attrs[col]) if col in attrs else None)
    return out
