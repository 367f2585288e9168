"""Data of the key-accounts page: how selective the key-account set is, the customers and value
of each KA type, and the group roll-up. The page's first screen reads the features and types
alone; below them it adds the segments (``views.segments``) and stores the same assignment as the
segments page; the portfolio matrix (``portfolio``) is shared with its slide
(``views.present.ka_portfolio``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from kamdash.analytics import ka_types as ka
from kamdash.analytics.ka_types import FEW_SHARE, KA_TYPES, QUADRANTS, KaRules
from kamdash.engine.filters import Filters

__all__ = ["FEW_SHARE", "KA_TYPES", "QUADRANTS", "KaRules", "KeyAccounts", "build", "group_rollup", "key_accounts",
           "portfolio", "selection", "type_summary"]


@dataclass(frozen=True)
class KeyAccounts:
    features: pd.DataFrame  # Engine.customer_features (the customers with an order in the period)
    links: pd.DataFrame  # Engine.customer_links (names, parents, referrals of every customer)
    types: pd.DataFrame  # analytics.ka_types.key_accounts with ``rules``
    rules: KaRules


def build(engine, filters: Filters, breadth: bool, rules: KaRules) -> KeyAccounts:
    """The key-account types of the customers with an order under ``filters`` (``breadth``:
    with the breadth feature, as the segments need it): what the first screen shows, without
    segments (``views.segments.from_features`` adds them on the same features)."""
    feats = engine.customer_features(filters, breadth)
    links = engine.customer_links()
    return KeyAccounts(feats, links, ka.key_accounts(feats, links, rules), rules)


def key_accounts(engine, filters: Filters, breadth: bool, rules: KaRules) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(features, key-account types): what the key-account portfolio slide needs."""
    k = build(engine, filters, breadth, rules)
    return k.features, k.types


def selection(k: KeyAccounts) -> dict:
    """analytics.ka_types.selection_summary of the key-account set."""
    return ka.selection_summary(k.features, k.types)


def type_summary(k: KeyAccounts) -> pd.DataFrame:
    """analytics.ka_types.type_summary: customers, revenue and profit per KA type."""
    return ka.type_summary(k.features, k.types)


def group_rollup(k: KeyAccounts, scope=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(analytics.ka_types.group_rollup within ``scope``, the name rows of each group's top
    customer, in the same order)."""
    g = ka.group_rollup(k.features, k.links, scope)
    return g, k.links.set_index("customer_id").loc[g["group_id"]].reset_index()


def portfolio(features: pd.DataFrame, types: pd.DataFrame) -> pd.DataFrame:
    """analytics.ka_types.portfolio of the key accounts, with each account's name columns
    (name, name_zh where the features have them) for the UI to show in its language."""
    pf = ka.portfolio(features, types)
    cols = [c for c in ("name", "name_zh") if c in features]
    info = features.set_index("customer_id").loc[pf["customer_id"], cols]
    for c in cols:
        pf[c] = info[c].to_numpy()
    return pf
