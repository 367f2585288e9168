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

__all__ = ["ABC_CUTOFFS_DEFAULT", "DIMENSIONS", "FILTER_FIELDS", "KA_TYPES", "Kpi", "PROFIT_VALUES",
           "TIER_CUTOFFS_SETTING", "TOP_N_DEFAULT", "Filters", "abc_cutoffs", "add_months", "gap",
           "month_start", "scope_known"]
