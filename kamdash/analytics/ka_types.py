"""Key-account types (shared DESIGN.md section 4): economic, important, group, strategic.

Multi-label: a customer can hold several types. Every threshold is a field of ``KaRules`` (the
page shows and edits them; they are saved in the user database). Inputs:

- ``features``: ``queries.customer_features`` (customer_id, revenue, frequency, account_profit,
  growth, revenue_last12, sector, ...), one row per customer active in the period;
- ``links``: ``queries.customer_links`` (customer_id, parent_id, referred_by) for all customers,
  so a parent or referrer is seen even when it did not order in the period.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import numpy as np
import pandas as pd

from kamdash.schema import IMPORTANT_SECTORS
from kamdash.analytics.pareto import rank_order

KA_TYPES = ("economic", "important", "group", "strategic")
QUADRANTS = ("star", "develop", "maintain", "review")
MAX_DEPTH = 20  # parent chains deeper than this are cut (and cycles are broken)


@dataclass(frozen=True)
class KaRules:
    """Thresholds of the key-account rules (all editable).

    economic: among the top ``economic_top_revenue`` share of customers by revenue, or the top
    ``economic_top_frequency`` share by order days (0 switches a criterion off).
    important: sector in ``important_sectors`` and revenue of at least ``important_min_revenue``.
    group: has a parent, or is the parent of at least ``group_min_children`` customers, or
    referred at least ``group_min_referrals`` customers.
    strategic: growth (symmetric, last 12 vs previous 12 months) of at least
    ``strategic_min_growth`` with revenue in the last 12 months of at least
    ``strategic_min_revenue``; or listed in ``strategic_flagged`` (e.g. from market research).
    """

    economic_top_revenue: float = 0.10
    economic_top_frequency: float = 0.05
    important_sectors: tuple[str, ...] = IMPORTANT_SECTORS
    important_min_revenue: float = 0.0
    group_min_children: int = 1
    group_min_referrals: int = 2
    strategic_min_growth: float = 0.5
    strategic_min_revenue: float = 50_000.0
    strategic_flagged: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        d = asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict | None) -> "KaRules":
        """Rules from saved settings; unknown keys are ignored, missing ones keep defaults."""
        d = d or {}
        kw = {}
        for f in fields(cls):
            if f.name in d and d[f.name] is not None:
                v = d[f.name]
                kw[f.name] = tuple(v) if isinstance(v, (list, tuple)) else type(f.default)(v)
        return cls(**kw)


def _top(values: pd.Series, ids: pd.Series, share: float) -> np.ndarray:
    """Boolean mask of the first ceil(share * N) rows by value descending (ties by id)."""
    n = len(values)
    if share <= 0 or n == 0:
        return np.zeros(n, dtype=bool)
    k = math.ceil(min(share, 1.0) * n - 1e-9)
    order = rank_order(values.to_numpy(dtype=float), ids.to_numpy().astype(str))
    mask = np.zeros(n, dtype=bool)
    mask[order[:k]] = True
    return mask


def assign_types(features: pd.DataFrame, links: pd.DataFrame, rules: KaRules = KaRules()) -> pd.DataFrame:
    """The KA types of each customer in ``features``.

    Columns out: customer_id, economic, important, group, strategic (bool), n_types, children
    (customers naming it as parent), referrals (customers it referred)."""
    f = features.reset_index(drop=True)
    ids = f["customer_id"]
    children = links["parent_id"].dropna().value_counts()
    referrals = links["referred_by"].dropna().value_counts()
    parent = ids.map(links.set_index("customer_id")["parent_id"]) if len(links) else pd.Series(None, index=ids.index)
    out = pd.DataFrame({"customer_id": ids})
    out["economic"] = _top(f["revenue"], ids, rules.economic_top_revenue) | \
        _top(f["frequency"], ids, rules.economic_top_frequency)
    out["important"] = f["sector"].isin(list(rules.important_sectors)).to_numpy() & \
        (f["revenue"] >= rules.important_min_revenue).to_numpy()
    out["children"] = ids.map(children).fillna(0).astype(int)
    out["referrals"] = ids.map(referrals).fillna(0).astype(int)
    is_parent = (out["children"] >= max(1, rules.group_min_children))
    referrer = (out["referrals"] >= max(1, rules.group_min_referrals))
    out["group"] = parent.notna().to_numpy() | is_parent.to_numpy() | referrer.to_numpy()
    grows = (f["growth"] >= rules.strategic_min_growth) & (f["revenue_last12"] >= rules.strategic_min_revenue)
    out["strategic"] = grows.to_numpy() | ids.isin(list(rules.strategic_flagged)).to_numpy()
    out["n_types"] = out[list(KA_TYPES)].sum(axis=1).astype(int)
    return out[["customer_id", *KA_TYPES, "n_types", "children", "referrals"]]


def type_summary(features: pd.DataFrame, types: pd.DataFrame) -> pd.DataFrame:
    """Counts and value per KA type (a customer counts in each of its types).

    Columns out: ka_type (economic, important, group, strategic, any, none), customers,
    revenue, revenue_share, account_profit."""
    f = features.set_index("customer_id").loc[types["customer_id"]]
    total = f["revenue"].sum()
    rows = []
    masks = {t: types[t].to_numpy() for t in KA_TYPES}
    masks["any"] = types["n_types"].to_numpy() > 0
    masks["none"] = types["n_types"].to_numpy() == 0
    for name, m in masks.items():
        rev = float(f["revenue"].to_numpy()[m].sum())
        rows.append({"ka_type": name, "customers": int(m.sum()), "revenue": rev,
                     "revenue_share": rev / total if total else float("nan"),
                     "account_profit": float(f["account_profit"].to_numpy()[m].sum())})
    return pd.DataFrame(rows)


def group_roots(links: pd.DataFrame, max_depth: int = MAX_DEPTH) -> pd.Series:
    """The top parent of every customer (itself when it has no parent), following parent_id
    upwards; parents missing from ``links`` end the chain, cycles are cut after ``max_depth``."""
    parent = links.set_index("customer_id")["parent_id"]
    parent = parent[parent.notna() & parent.isin(parent.index)]
    root = pd.Series(links["customer_id"].to_numpy(), index=links["customer_id"].to_numpy())
    for _ in range(max_depth):
        up = root.map(parent)
        moved = up.notna()
        if not moved.any():
            break
        root = root.where(~moved, up)
    return root


def group_rollup(features: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    """Parent/child groups with the value of all members rolled up to the top parent.

    Columns out: group_id (top parent), members (customers in the group, parent included),
    active_members (with an order in the period), own_revenue (the parent's), members_revenue
    (the others'), revenue (the group's), account_profit (the group's); sorted by revenue."""
    root = group_roots(links)
    sizes = root.value_counts()
    grouped = sizes[sizes > 1].index
    value = features.set_index("customer_id")[["revenue", "account_profit"]]
    m = pd.DataFrame({"customer_id": root.index, "group_id": root.to_numpy()})
    m = m[m["group_id"].isin(grouped)]
    m = m.join(value, on="customer_id")
    m["active"] = m["revenue"].notna()
    m[["revenue", "account_profit"]] = m[["revenue", "account_profit"]].fillna(0.0)
    m["own"] = np.where(m["customer_id"] == m["group_id"], m["revenue"], 0.0)
    g = m.groupby("group_id").agg(members=("customer_id", "size"), active_members=("active", "sum"),
                                  own_revenue=("own", "sum"), revenue=("revenue", "sum"),
                                  account_profit=("account_profit", "sum")).reset_index()
    g["members_revenue"] = g["revenue"] - g["own_revenue"]
    g["active_members"] = g["active_members"].astype(int)
    g = g.sort_values(["revenue", "group_id"], ascending=[False, True]).reset_index(drop=True)
    return g[["group_id", "members", "active_members", "own_revenue", "members_revenue", "revenue",
              "account_profit"]]


def portfolio(features: pd.DataFrame, types: pd.DataFrame, value_split: float | None = None,
              potential_split: float = 0.0) -> pd.DataFrame:
    """The KA portfolio matrix: key accounts (at least one type) by current value and growth
    potential.

    value = revenue in the period; potential = growth (symmetric, last 12 vs previous 12
    months). Splits: ``value_split`` (default: the median value of the key accounts) and
    ``potential_split``. Quadrants: star (high value, high potential), develop (low value,
    high potential), maintain (high value, low potential), review (low, low).
    Columns out: customer_id, value, potential, account_profit, quadrant, plus the KA type
    columns; attrs["value_split"], attrs["potential_split"] hold the splits used."""
    ka = types[types["n_types"] > 0]
    f = features.set_index("customer_id").loc[ka["customer_id"]]
    out = pd.DataFrame({"customer_id": ka["customer_id"].to_numpy(),
                        "value": f["revenue"].to_numpy(dtype=float),
                        "potential": f["growth"].to_numpy(dtype=float),
                        "account_profit": f["account_profit"].to_numpy(dtype=float)})
    for t in KA_TYPES:
        out[t] = ka[t].to_numpy()
    vs = float(out["value"].median()) if value_split is None and len(out) else float(value_split or 0.0)
    high_v = out["value"] >= vs
    high_p = out["potential"] >= potential_split
    out["quadrant"] = np.select([high_v & high_p, ~high_v & high_p, high_v & ~high_p],
                                ["star", "develop", "maintain"], "review")
    out = out.sort_values(["value", "customer_id"], ascending=[False, True]).reset_index(drop=True)
    out.attrs["value_split"] = vs
    out.attrs["potential_split"] = potential_split
    return out


def assignment(features: pd.DataFrame, segments: pd.DataFrame | None, types: pd.DataFrame,
               segment_names: dict[int, str] | None = None) -> pd.DataFrame:
    """The assignment stored for other pages and offered for download.

    Columns out: customer_id, name, segment (int, or missing), segment_name, economic,
    important, group, strategic, ka_types (comma-separated type codes), revenue."""
    out = features[["customer_id", "name", "revenue"]].copy()
    if segments is not None:
        out = out.merge(segments[["customer_id", "segment"]], on="customer_id", how="left")
    else:
        out["segment"] = pd.NA
    out["segment"] = out["segment"].astype("Int64")
    names = segment_names or {}
    out["segment_name"] = [names.get(int(s), "") if pd.notna(s) else "" for s in out["segment"]]
    out = out.merge(types[["customer_id", *KA_TYPES]], on="customer_id", how="left")
    out[list(KA_TYPES)] = out[list(KA_TYPES)].fillna(False).astype(bool)
    codes = np.array(KA_TYPES, dtype=object)
    out["ka_types"] = [",".join(codes[r]) for r in out[list(KA_TYPES)].to_numpy(dtype=bool)]
    return out[["customer_id", "name", "segment", "segment_name", *KA_TYPES, "ka_types", "revenue"]]
