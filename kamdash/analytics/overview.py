"""Overview KPIs and the top-accounts table.

The per-period totals come from ``Engine.period_summary`` (computed in the database: revenue,
gross_profit, account_profit, active_customers, top_share, lost_customers per period, row 0 =
the chosen period, row 1 = the one before, row 2 = the one before that). The functions here turn
them into KPIs with their comparison, and finish the top-accounts table from
``Engine.top_customers``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kamdash.analytics import growth

KPI_KEYS = ("revenue", "gross_profit", "account_profit", "active_customers", "top20_share",
            "lost_customers")
SUMMARY_COLUMNS = {"top20_share": "top_share"}  # KPI key -> period_summary column, where they differ
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


def kpis(summary: pd.DataFrame, has_previous: bool, has_before: bool) -> list[Kpi]:
    """KPIs of the chosen period with the previous period's value for comparison.

    ``summary``: Engine.period_summary (3 rows). ``has_previous``: the data covers the whole
    previous period (else no change is shown and customers lost is unknown); ``has_before``:
    it also covers the period before that (else the previous period's customers lost is unknown).
    Customers lost in a period = active in the period before it, no order in it.
    """
    kinds = {"active_customers": "count", "lost_customers": "count", "top20_share": "share"}
    cur, prev = summary.iloc[0], summary.iloc[1]
    out = []
    for key in KPI_KEYS:
        col = SUMMARY_COLUMNS.get(key, key)
        value = float(cur[col])
        previous = float(prev[col]) if has_previous else None
        if key == "lost_customers":
            value = value if has_previous else float("nan")
            previous = previous if has_before else None
        if previous is not None and np.isnan(previous):
            previous = None
        out.append(Kpi(key, value, previous, kinds.get(key, "money")))
    return out


def top_accounts(top: pd.DataFrame, total_revenue: float, has_previous: bool) -> pd.DataFrame:
    """Finish the top-accounts table.

    ``top``: Engine.top_customers (customer_id, revenue, gross_profit, account_profit,
    previous_revenue, attributes), already in rank order. Adds rank, account_margin (account
    profit / revenue), share (of the period's total revenue) and revenue_change (relative change vs the
    previous period; NaN when the account had no revenue then or the previous period is not
    covered by the data).
    """
    out = top.copy()
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    rev = out["revenue"].astype("float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        out["account_margin"] = np.where(rev != 0, out["account_profit"] / rev, np.nan)
        out["share"] = rev / total_revenue if total_revenue else np.nan
        change = growth.pct_change(rev.to_numpy(), out["previous_revenue"].astype("float64").to_numpy())
    out["revenue_change"] = change if has_previous else np.nan
    return out.reset_index(drop=True)
