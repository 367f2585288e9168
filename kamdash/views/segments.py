"""Data of the segments page, which the key-accounts page shares: the customers' features,
their segments (scikit-learn), the segment profiles, the key-account types by the saved rules,
and the assignment (segment and types per customer) that the sidebar filters of every page use.
What only the key-accounts page shows is in ``views.key_accounts``.

The segment names a user sees are words: the UI makes them from ``name_tokens`` (and the
names a user saved); everything else here is numbers from ``kamdash.analytics.segments`` and
``kamdash.analytics.ka_types``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kamdash.analytics import ka_types as ka
from kamdash.analytics import segments as sg
from kamdash.analytics.ka_types import KA_TYPES, KaRules
from kamdash.analytics.segments import DEFAULT_FEATURES, FEATURES, K_RANGE, METHODS, SegmentResult
from kamdash.engine.filters import Filters

MIN_CUSTOMERS = 3  # fewer customers with an order than this: no segments

__all__ = ["DEFAULT_FEATURES", "FEATURES", "KA_TYPES", "K_RANGE", "METHODS", "MIN_CUSTOMERS", "KaRules",
           "SegmentMap", "SegmentResult", "Segments", "assignment", "build", "features_of", "from_features",
           "segment_map", "signature"]


def features_of(saved: dict | None) -> dict:
    """The segmentation settings from a saved ``segments.config`` (features known to the
    analytics, in their order; method; k or None for automatic), with the defaults for what is
    missing."""
    cfg = saved or {}
    cols = tuple(c for c in cfg.get("features", DEFAULT_FEATURES) if c in FEATURES)
    k = cfg.get("k")
    return {"features": cols or DEFAULT_FEATURES, "method": cfg.get("method", "kmeans"),
            "k": int(k) if k else None}


@dataclass(frozen=True)
class Segments:
    features: pd.DataFrame  # Engine.customer_features (the customers with an order in the period)
    links: pd.DataFrame  # Engine.customer_links (names, parents, referrals of every customer)
    result: SegmentResult  # analytics.segments.fit_segments
    profile: pd.DataFrame  # analytics.segments.profiles
    name_tokens: dict  # segment -> analytics.segments.name_tokens (the words of a suggested name)
    types: pd.DataFrame  # analytics.ka_types.key_accounts with ``rules``
    rules: KaRules

    @property
    def signature(self) -> str:
        return signature(self.result)


def signature(result: SegmentResult) -> str:
    """What saved segment names belong to: method, k and features of the segmentation."""
    return f"{result.method}|{result.k}|{','.join(result.features)}"


def build(engine, filters: Filters, columns: tuple, k: int | None, method: str,
          rules: KaRules) -> Segments | None:
    """Features, segments and key-account types of the customers with an order under
    ``filters``; None when fewer than MIN_CUSTOMERS have one."""
    feats = engine.customer_features(filters, "breadth" in columns)
    if len(feats) < MIN_CUSTOMERS:
        return None
    return from_features(feats, engine.customer_links(), columns, k, method, rules)


def from_features(feats: pd.DataFrame, links: pd.DataFrame, columns: tuple, k: int | None, method: str,
                  rules: KaRules, types: pd.DataFrame | None = None) -> Segments | None:
    """``build`` on features and links already read (``types``: the key-account types with
    ``rules`` on them, when known)."""
    if len(feats) < MIN_CUSTOMERS:
        return None
    result = sg.fit_segments(feats, columns, k, method)
    profile = sg.profiles(feats, result)
    return Segments(features=feats, links=links, result=result, profile=profile,
                    name_tokens=sg.name_tokens(profile),
                    types=ka.key_accounts(feats, links, rules) if types is None else types, rules=rules)


def assignment(seg: Segments, names: dict[int, str]) -> pd.DataFrame:
    """analytics.ka_types.assignment: segment (with its ``names``) and KA types per customer."""
    return ka.assignment(seg.features, seg.result.labels, seg.types, names)


@dataclass(frozen=True)
class SegmentMap:
    coords: np.ndarray  # the two principal components of the sampled customers
    loadings: pd.DataFrame  # analytics.segments.projection loadings (pc1, pc2 per feature)
    explained: tuple  # share of the variance each component explains
    sample: np.ndarray  # the rows drawn (analytics.segments.map_sample)
    features: pd.DataFrame  # the features of those rows
    segment: np.ndarray  # their segments
    axis_words: tuple  # (pc1, pc2): analytics.segments.axis_words, the features each axis reads as


def segment_map(seg: Segments) -> SegmentMap:
    coords, loadings, explained = sg.projection(seg.result)
    idx = sg.map_sample(seg.result.labels)
    return SegmentMap(coords=coords[idx], loadings=loadings, explained=tuple(explained[:2]), sample=idx,
                      features=seg.features.iloc[idx], segment=seg.result.labels["segment"].to_numpy()[idx],
                      axis_words=(sg.axis_words(loadings["pc1"]), sg.axis_words(loadings["pc2"])))
