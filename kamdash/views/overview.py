"""Data of the overview page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from kamdash.analytics import overview
from kamdash.analytics.overview import Kpi
from kamdash.engine.filters import Filters


@dataclass(frozen=True)
class OverviewData:
    kpis: list[Kpi]
    monthly: pd.DataFrame  # Engine.monthly_totals
    top: pd.DataFrame  # analytics.overview.top_accounts
    has_previous: bool  # the data covers the previous period (changes are shown)
    active_customers: int


def build(engine, filters: Filters, first_month: date,
          top_n: int = overview.TOP_N_DEFAULT) -> OverviewData:
    """KPIs vs the previous period, the monthly trend and the top accounts: three queries on
    customer_month, none of which brings per-customer rows back except the top ``top_n``."""
    summary = engine.period_summary(filters, periods=3)
    prev_f = filters.previous()
    has_previous = prev_f.covered_by(first_month)
    has_before = prev_f.previous().covered_by(first_month)
    top = engine.top_customers(filters, n=top_n)
    return OverviewData(
        kpis=overview.kpis(summary, has_previous, has_before),
        monthly=engine.monthly_totals(filters),
        top=overview.top_accounts(top, float(summary["revenue"].iloc[0]), has_previous),
        has_previous=has_previous,
        active_customers=int(summary["active_customers"].iloc[0]),
    )
