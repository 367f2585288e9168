"""Data of the key-accounts page: how selective the key-account set is, the customers and value
of each KA type, and the group roll-up. The page shares the features, segments and types of
``views.segments`` (it stores the same assignment); the portfolio matrix is
``views.present.ka_portfolio`` (shared with its slide).
"""

from __future__ import annotations

import pandas as pd

from kamdash import queries
from kamdash.analytics import ka_types as ka
from kamdash.analytics.ka_types import FEW_SHARE, KA_TYPES, QUADRANTS, KaRules
from kamdash.views.segments import Segments

__all__ = ["FEW_SHARE", "KA_TYPES", "QUADRANTS", "KaRules", "group_rollup", "key_accounts", "selection",
           "type_summary"]


def key_accounts(backend, filters: queries.Filters, breadth: bool, rules: KaRules) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(features, key-account types) without segments: what the key-account portfolio needs."""
    feats = queries.customer_features(backend, filters, breadth)
    return feats, ka.key_accounts(feats, queries.customer_links(backend), rules)


def selection(seg: Segments) -> dict:
    """analytics.ka_types.selection_summary of the key-account set."""
    return ka.selection_summary(seg.features, seg.types)


def type_summary(seg: Segments) -> pd.DataFrame:
    """analytics.ka_types.type_summary: customers, revenue and profit per KA type."""
    return ka.type_summary(seg.features, seg.types)


def group_rollup(seg: Segments) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(analytics.ka_types.group_rollup, the name rows of each group's top customer, in the
    same order)."""
    g = ka.group_rollup(seg.features, seg.links)
    return g, seg.links.set_index("customer_id").loc[g["group_id"]].reset_index()
