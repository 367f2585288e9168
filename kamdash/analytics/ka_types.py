"""Key-account types and the key-account set (shared DESIGN.md section 4).

Two steps, every threshold a field of ``KaRules`` (the page shows and edits them; they are
saved in the user database):

1. **Qualify** (``assign_types``): each of the four rules (economic, important, group,
   strategic) has a condition *and* a meaningful size, so a customer qualifies for a type only
   when it matters. Multi-label: a customer can qualify for several types.
2. **Select** (``key_accounts``): the qualifying customers are ranked by one combined score
   and the first ``capacity`` of them (what the key-account team can serve one to one; by
   default a share of the active customers) are the key accounts. Their types are the types
   they qualified for; a qualifying customer left out by the capacity holds no type, so the
   sidebar filter, What-if groups and every count agree on one set.

Combined score = the mean of the customer's percentile rank by revenue and by account profit
among all active customers (0-1, higher first; ties by revenue, then customer_id): the few
accounts that are both large and profitable come first, and a large account that loses money
ranks below one of the same size that earns.

Inputs:

- ``features``: ``Engine.customer_features`` (customer_id, revenue, frequency, account_profit,
  growth, revenue_last12, revenue_prev12, sector, ...), one row per customer active in the
  period;
- ``links``: ``Engine.customer_links`` (customer_id, parent_id, referred_by) for all customers,
  so a parent or referrer is seen even when it did not order in the period.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np
import pandas as pd

from kamdash.analytics import growth as growth_rule
from kamdash.analytics.pareto import rank_order, top_count
from kamdash.schema import IMPORTANT_SECTORS

KA_TYPES = ("economic", "important", "group", "strategic")
QUADRANTS = ("star", "develop", "maintain", "review")
MAX_DEPTH = 20  # parent chains deeper than this are cut (and cycles are broken)
# Above this share of the active customers the key-account set is no longer "the few" that a
# team can treat one to one (the page warns).
FEW_SHARE = 0.20


@dataclass(frozen=True)
class KaRules:
    """Thresholds of the key-account rules and the capacity (all editable).

    capacity: how many key accounts the team can serve; 0 uses ``share`` of the active
    customers instead (rounded up).
    economic: among the top ``economic_top_revenue`` share of customers by revenue, or the top
    ``economic_top_frequency`` share by order days (0 switches a criterion off).
    important: sector in ``important_sectors``, and among the top ``important_top_share`` of
    its sector's customers by revenue or with revenue of at least ``important_min_revenue``
    (0 switches a criterion off).
    group: has a parent, or is the parent of at least ``group_min_children`` customers, or
    referred at least ``group_min_referrals`` customers; and its rolled-up revenue (its own,
    its direct children's and its referred customers') is at least ``group_min_revenue``.
    strategic: growth (``analytics.growth``: last 12 months against the same months a year
    before, 0.5 = +50%; a new account counts as growing) of at least ``strategic_min_growth``
    with revenue in the last 12 months of at least ``strategic_min_revenue``; or listed in
    ``strategic_flagged`` (e.g. from market research).
    """

    capacity: int = 0
    share: float = 0.10
    economic_top_revenue: float = 0.10
    economic_top_frequency: float = 0.05
    important_sectors: tuple[str, ...] = IMPORTANT_SECTORS
    important_top_share: float = 0.20
    important_min_revenue: float = 0.0
    group_min_children: int = 1
    group_min_referrals: int = 2
    group_min_revenue: float = 500_000.0
    strategic_min_growth: float = 0.5
    strategic_min_revenue: float = 200_000.0
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

    def limit(self, active: int) -> int:
        """The number of key accounts the team can serve among ``active`` customers."""
        if self.capacity > 0:
            return int(self.capacity)
        return top_count(active, max(0.0, min(self.share, 1.0)))


def _top(values: pd.Series, ids: pd.Series, share: float) -> np.ndarray:
    """Boolean mask of the top ``share`` of rows (``pareto.top_count``) by value descending (ties
    by id)."""
    n = len(values)
    if share <= 0 or n == 0:
        return np.zeros(n, dtype=bool)
    k = top_count(n, min(share, 1.0))
    order = rank_order(values.to_numpy(dtype=float), ids.to_numpy().astype(str))
    mask = np.zeros(n, dtype=bool)
    mask[order[:k]] = True
    return mask


def _top_within(values: pd.Series, ids: pd.Series, groups: pd.Series, share: float) -> np.ndarray:
    """``_top`` applied within each group (e.g. the top share of each sector)."""
    mask = np.zeros(len(values), dtype=bool)
    if share <= 0:
        return mask
    g = groups.astype(object).to_numpy()
    for key in pd.unique(g):
        pos = np.flatnonzero(g == key)
        mask[pos] = _top(values.iloc[pos], ids.iloc[pos], share)
    return mask


def assign_types(features: pd.DataFrame, links: pd.DataFrame, rules: KaRules = KaRules()) -> pd.DataFrame:
    """The KA types each customer in ``features`` qualifies for (step 1; see the module doc).

    Columns out: customer_id, economic, important, group, strategic (bool), n_types, children
    (customers naming it as parent), referrals (customers it referred)."""
    f = features.reset_index(drop=True)
    ids = f["customer_id"]
    rev = f["revenue"].astype(float)
    children = links["parent_id"].dropna().value_counts()
    referrals = links["referred_by"].dropna().value_counts()
    parent = ids.map(links.set_index("customer_id")["parent_id"]) if len(links) else pd.Series(None, index=ids.index)
    out = pd.DataFrame({"customer_id": ids})
    out["economic"] = _top(rev, ids, rules.economic_top_revenue) | \
        _top(f["frequency"], ids, rules.economic_top_frequency)
    in_sector = f["sector"].isin(list(rules.important_sectors)).to_numpy()
    big = (rev >= rules.important_min_revenue).to_numpy() if rules.important_min_revenue > 0 else \
        np.zeros(len(f), dtype=bool)
    sector_top = _top_within(rev, ids, f["sector"].fillna(""), rules.important_top_share)
    out["important"] = in_sector & (sector_top | big)
    out["children"] = ids.map(children).fillna(0).astype(int)
    out["referrals"] = ids.map(referrals).fillna(0).astype(int)
    is_parent = (out["children"] >= max(1, rules.group_min_children))
    referrer = (out["referrals"] >= max(1, rules.group_min_referrals))
    linked = parent.notna().to_numpy() | is_parent.to_numpy() | referrer.to_numpy()
    own = pd.Series(rev.to_numpy(), index=ids.to_numpy())
    kids = links.assign(v=links["customer_id"].map(own)).dropna(subset=["v"])
    rolled = rev.to_numpy() + ids.map(kids.groupby("parent_id")["v"].sum()).fillna(0.0).to_numpy() + \
        ids.map(kids.groupby("referred_by")["v"].sum()).fillna(0.0).to_numpy()
    out["group"] = linked & (rolled >= rules.group_min_revenue)
    last12 = f["revenue_last12"].to_numpy(dtype=float)
    prev12 = f["revenue_prev12"].to_numpy(dtype=float) if "revenue_prev12" in f else None
    g = f["growth"].to_numpy(dtype=float)
    fast = np.nan_to_num(g, nan=-np.inf) >= rules.strategic_min_growth
    if prev12 is not None:
        fast |= growth_rule.is_new(last12, prev12)
    grows = fast & (last12 >= rules.strategic_min_revenue)
    out["strategic"] = grows | ids.isin(list(rules.strategic_flagged)).to_numpy()
    out["n_types"] = out[list(KA_TYPES)].sum(axis=1).astype(int)
    return out[["customer_id", *KA_TYPES, "n_types", "children", "referrals"]]


def score(features: pd.DataFrame) -> np.ndarray:
    """The combined score of each customer (module doc): mean percentile rank (average ranks,
    1/N..1) by revenue and by account profit among the rows of ``features``."""
    n = len(features)
    if n == 0:
        return np.zeros(0)
    r = features["revenue"].astype(float).rank(method="average").to_numpy() / n
    p = features["account_profit"].astype(float).rank(method="average").to_numpy() / n
    return (r + p) / 2


def key_accounts(features: pd.DataFrame, links: pd.DataFrame, rules: KaRules = KaRules()) -> pd.DataFrame:
    """The key-account set (steps 1 and 2 of the module doc).

    Columns out: customer_id, economic, important, group, strategic (the types of the *selected*
    key accounts; all False for other customers), n_types, key_account (bool), qualifies (bool:
    holds at least one type before the capacity), q_economic .. q_strategic (the types
    qualified for), score, rank (1 = first among the qualifying customers; 0 for the others),
    children, referrals. attrs: ``limit`` (the capacity applied), ``qualifying``."""
    q = assign_types(features, links, rules)
    f = features.reset_index(drop=True)
    sc = score(f)
    qualifies = q["n_types"].to_numpy() > 0
    cand = np.flatnonzero(qualifies)
    order = cand[np.lexsort((f["customer_id"].to_numpy().astype(str)[cand],
                             -f["revenue"].to_numpy(dtype=float)[cand], -sc[cand]))]
    rank = np.zeros(len(f), dtype=np.int64)
    rank[order] = np.arange(1, len(order) + 1)
    limit = rules.limit(len(f))
    chosen = np.zeros(len(f), dtype=bool)
    chosen[order[:limit]] = True
    out = pd.DataFrame({"customer_id": q["customer_id"]})
    for t in KA_TYPES:
        out[t] = q[t].to_numpy() & chosen
    out["n_types"] = out[list(KA_TYPES)].sum(axis=1).astype(int)
    out["key_account"] = chosen
    out["qualifies"] = qualifies
    for t in KA_TYPES:
        out[f"q_{t}"] = q[t].to_numpy()
    out["score"] = sc
    out["rank"] = rank
    out["children"], out["referrals"] = q["children"].to_numpy(), q["referrals"].to_numpy()
    out.attrs["limit"] = limit
    out.attrs["qualifying"] = int(qualifies.sum())
    return out


def selection_summary(features: pd.DataFrame, kas: pd.DataFrame) -> dict:
    """How selective the key-account set of ``key_accounts`` is.

    Keys: customers (active), key_accounts, qualifying, limit, customer_share, revenue,
    revenue_share, account_profit, account_profit_share (of the net total account profit of
    all active customers: above 1 when the others lose money in sum; NaN when that total is not
    positive), few (customer_share <= FEW_SHARE), by_type ({type: key accounts holding it})."""
    f = features.set_index("customer_id").loc[kas["customer_id"]]
    m = kas["key_account"].to_numpy()
    rev, ap = f["revenue"].to_numpy(dtype=float), f["account_profit"].to_numpy(dtype=float)
    n, k = len(kas), int(m.sum())
    tot_r, tot_p = float(rev.sum()), float(ap.sum())
    share = k / n if n else float("nan")
    return {"customers": n, "key_accounts": k, "qualifying": int(kas["qualifies"].sum()),
            "limit": int(kas.attrs.get("limit", k)), "customer_share": share,
            "revenue": float(rev[m].sum()), "revenue_share": float(rev[m].sum()) / tot_r if tot_r > 0 else float("nan"),
            "account_profit": float(ap[m].sum()),
            "account_profit_share": float(ap[m].sum()) / tot_p if tot_p > 0 else float("nan"),
            "few": bool(n == 0 or share <= FEW_SHARE),
            "by_type": {t: int(kas[t].sum()) for t in KA_TYPES}}


def type_summary(features: pd.DataFrame, types: pd.DataFrame) -> pd.DataFrame:
    """Counts and value per KA type (a customer counts in each of its types).

    ``types``: ``key_accounts`` (the selected set) or ``assign_types`` (everyone qualifying).
    Columns out: ka_type (economic, important, group, strategic, any, none), customers,
    revenue, revenue_share, account_profit, and qualifying (only with ``key_accounts``:
    customers qualifying for the type before the capacity; for "none", the qualifying customers
    the capacity left out)."""
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
    out = pd.DataFrame(rows)
    if "qualifies" in types:
        q = {t: int(types[f"q_{t}"].sum()) for t in KA_TYPES}
        q["any"] = int(types["qualifies"].sum())
        q["none"] = int((types["qualifies"] & ~types["key_account"]).sum())  # left out by the capacity
        out["qualifying"] = out["ka_type"].map(q)
    return out


def group_roots(links: pd.DataFrame, max_depth: int = MAX_DEPTH) -> pd.Series:
    """The top parent of every customer (itself when it has no parent), following parent_id
    upwards; parents missing from ``links`` end the chain, cycles are cut after ``max_depth``."""
    ids = links["customer_id"].to_numpy()
    # each customer's parent as a row number (-1: none, or a parent not in ``links``)
    codes = pd.Index(ids).get_indexer(links["parent_id"].to_numpy())
    root = np.arange(len(ids))
    for _ in range(max_depth):
        up = codes[root]
        moved = up >= 0
        if not moved.any():
            break
        root = np.where(moved, up, root)
    return pd.Series(ids[root], index=ids)


def group_rollup(features: pd.DataFrame, links: pd.DataFrame, scope=None) -> pd.DataFrame:
    """Parent/child groups with the value of all members rolled up to the top parent.

    Columns out: group_id (top parent), members (customers in the group, parent included),
    active_members (with an order in the period), own_revenue (the parent's), members_revenue
    (the others'), revenue (the group's), account_profit (the group's); sorted by revenue.
    ``scope`` (customer ids; None: everyone): the groups are found on every link, but only the
    members inside the scope are counted and valued, and a group without one is left out."""
    root = group_roots(links)
    sizes = root.value_counts()
    grouped = sizes[sizes > 1].index
    value = features.set_index("customer_id")[["revenue", "account_profit"]]
    m = pd.DataFrame({"customer_id": root.index, "group_id": root.to_numpy()})
    m = m[m["group_id"].isin(grouped)]
    if scope is not None:
        m = m[m["customer_id"].astype(str).isin(list(scope))]
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
    """The KA portfolio matrix: key accounts (at least one type) by current value and growth.

    value = revenue in the period; potential = growth (``analytics.growth``: the last 12
    months against the same months a year before; NaN for an account new in the last 12
    months, ``new`` True). Splits: ``value_split`` (default: the median value of the key
    accounts) and ``potential_split`` (a growth rate; a new account counts as above it).
    Quadrants: star (high value, high growth), develop (low value, high growth), maintain (high
    value, low growth), review (low, low).
    Columns out: customer_id, value, potential, new, account_profit, quadrant, plus the KA type
    columns; attrs["value_split"], attrs["potential_split"] hold the splits used."""
    ka = types[types["n_types"] > 0]
    f = features.set_index("customer_id").loc[ka["customer_id"]]
    g = f["growth"].to_numpy(dtype=float)
    new = growth_rule.is_new(f["revenue_last12"].to_numpy(dtype=float), f["revenue_prev12"].to_numpy(dtype=float)) \
        if "revenue_prev12" in f else np.zeros(len(f), dtype=bool)
    out = pd.DataFrame({"customer_id": ka["customer_id"].to_numpy(),
                        "value": f["revenue"].to_numpy(dtype=float),
                        "potential": g, "new": np.asarray(new, dtype=bool),
                        "account_profit": f["account_profit"].to_numpy(dtype=float)})
    for t in KA_TYPES:
        out[t] = ka[t].to_numpy()
    vs = float(out["value"].median()) if value_split is None and len(out) else float(value_split or 0.0)
    high_v = out["value"] >= vs
    high_p = (out["potential"] >= potential_split) | out["new"]
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
