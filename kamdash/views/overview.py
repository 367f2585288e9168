"""Data of the overview page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from kamdash import queries
from kamdash.analytics import overview
from kamdash.analytics.overview import Kpi


@dataclass(frozen=True)
class OverviewData:
    kpis: list[Kpi]
    monthly: pd.DataFrame  # queries.monthly_totals
    top: pd.DataFrame  # overview.top_accounts with customer attributes
    has_previous: bool  # the data covers the previous period (changes are shown)
    active_customers: int


def build(backend, filters: queries.Filters, first_month: date,
          top_n: int = overview.TOP_N_DEFAULT) -> OverviewData:
    """KPIs vs the previous period, the monthly trend and the top accounts.

    Reads customer_month in one scan for the three periods a KPI comparison needs, the monthly
    totals, and the attributes of the top accounts only.
    """
    current, previous, before = queries.period_facts(backend, filters, periods=3)
    prev_f = filters.previous()
    previous = previous if prev_f.covered_by(first_month) else None
    before = before if prev_f.previous().covered_by(first_month) else None
    top = overview.top_accounts(current, previous, n=top_n)
    top = overview.with_attributes(top, queries.customer_attributes(backend, top["customer_id"]))
    return OverviewData(
        kpis=overview.kpis(current, previous, before),
        monthly=queries.monthly_totals(backend, filters),
        top=top,
        has_previous=previous is not None,
        active_customers=int((current["orders"] > 0).sum()),
    )
