"""Types, constants and small rules that every page's UI needs, re-exported so that
``kamdash.ui`` reaches the engine and the analytics only through ``kamdash.views``.

Nothing here reads data or computes a figure; it names what the UI passes around (the filter
model, KPI cards) and the words shared by several pages (KA types, profit values, what a
missing cost makes a profit figure repeat).
"""

from __future__ import annotations

from kamdash.access import scope_known
from kamdash.analytics.coverage import PROFIT_VALUES, gap
from kamdash.analytics.ka_types import KA_TYPES
from kamdash.analytics.overview import TOP_N_DEFAULT, Kpi
from kamdash.analytics.pareto import ABC_CUTOFFS_DEFAULT, abc_cutoffs
from kamdash.engine.filters import FILTER_FIELDS, TIER_CUTOFFS_SETTING, Filters, add_months, month_start
from kamdash.schema import DIMENSIONS

__all__ = ["ABC_CUTOFFS_DEFAULT", "DEFAULT_PERIOD_MONTHS", "DIMENSIONS", "FILTER_FIELDS", "KA_TYPES", "Kpi",
           "PROFIT_VALUES", "TIER_CUTOFFS_SETTING", "TOP_N_DEFAULT", "Filters", "abc_cutoffs", "add_months",
           "default_filters", "gap", "month_start", "scope_known"]

DEFAULT_PERIOD_MONTHS = 12  # the sidebar's period when a page opens: the data's last 12 months


def default_filters(facts: dict) -> Filters | None:
    """The filters a page opens with (no link, no choice yet): the last ``DEFAULT_PERIOD_MONTHS``
    months of the data (fewer when the data is shorter), nothing else chosen. ``facts``:
    ``Engine.data_facts``; None when the data has no month."""
    first, last = facts.get("first_month"), facts.get("last_month")
    if first is None or last is None:
        return None
    start = max(month_start(first), add_months(month_start(last), -(DEFAULT_PERIOD_MONTHS - 1)))
    return Filters(start=start, end=month_start(last))
