"""Types, constants and small rules that every page's UI needs, re-exported so that
``kamdash.ui`` reaches the query layer and the analytics only through ``kamdash.views``.

Nothing here reads data or computes a figure; it names what the UI passes around (the filter
model, KPI cards) and the words shared by several pages (KA types, profit values, what a
missing cost makes a profit figure repeat).
"""

from __future__ import annotations

from kamdash.analytics.coverage import PROFIT_VALUES, gap
from kamdash.analytics.ka_types import KA_TYPES
from kamdash.analytics.overview import TOP_N_DEFAULT, Kpi
from kamdash.queries import (GROUP_COLUMNS, TIER_CUTOFFS_DEFAULT, TIER_CUTOFFS_SETTING, Filters,
                             add_months, month_start, scope_known, tier_cutoffs_or_default)

__all__ = ["GROUP_COLUMNS", "KA_TYPES", "Kpi", "PROFIT_VALUES", "TIER_CUTOFFS_DEFAULT", "TIER_CUTOFFS_SETTING",
           "TOP_N_DEFAULT", "Filters", "add_months", "gap", "month_start", "scope_known", "tier_cutoffs_or_default"]
