"""Retention what-if: the contractual (retention-rate) value model and scenario arithmetic.

Everything here is pure arithmetic on a small **baseline table of cells** (one row per
combination of segment, key-account types and ABC tier), so a slider move recomputes in
microseconds and never touches the sales data.

Definitions (DESIGN.md section 3), with periods of one year:

* retention r = share of last year's customers (an order in the 12 months before the current
  year) who ordered again in the current year (the 12 months to the end of the chosen period);
  defection = 1 − r.
* margin m = account profit per customer per year (current year's account profit of the cell /
  its customers with an order this year).
* CLV of a customer today (margin received at the end of each year it is still there, discount
  rate d per year):

  - unlimited horizon: CLV = m·r / (1 + d − r)
  - horizon of H years: CLV = m · Σ_{t=1..H} (r / (1 + d))^t

  A newly acquired customer pays its first year for sure: value = CLV / r
  (= m / (1 + d − r) for an unlimited horizon).
* customer equity = Σ over cells of customers now × CLV.
* profit next year = (customers now × r + new customers at this year's rate) × m, minus the
  programme cost of the year.

A margin change of p% moves every cell's margin by p% of its absolute value (so +10% improves a
loss-making cell too).

**The defection lever.** "x points less defection" is a promise about the targeted customers
as a whole: the share of today's targeted customers expected to leave in a year,
δ̄ = Σ n·(1 − r) / Σ n over the targeted cells (n = customers now), falls by x points. Each
targeted cell loses the same *share* of its own defection, s = min(x / δ̄, 1):

  r' = 1 − (1 − r)·(1 − s)

so a group that already keeps 96% of its customers gains less than one that keeps 80%, no group
goes past keeping everyone, and the lever never stalls at a cap: the targeted average falls by
exactly x points until all of its defection is gone (x ≥ δ̄; ``points_applied`` then says how
many points were left to take). More defection (x < 0) adds |x| points to every targeted cell,
down to a retention of 0. With a positive margin CLV rises with r, so more reduction never gives
less equity or less next-year profit there (tested as a property). Retention reaches 1 at most,
where CLV stays finite for any discount rate above 0 (m/d with an unlimited horizon).

**Who is targeted.** By default only cells with a positive margin (``target_profitable``): a
retention programme is aimed at customers who make money. Keeping a loss-making cell longer
*lowers* equity (its CLV is negative and grows in size with r), so with loss-makers included a
deeper cut can give a smaller gain. Every result is split by the sign of each cell's margin:

  equity_delta = equity_delta_profitable + equity_delta_loss_making + equity_delta_new

(the same for next year's profit, which also subtracts the programme's first-year cost).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import numpy as np
import pandas as pd

DISCOUNT_DEFAULT = 0.10
HORIZON_DEFAULT = 5  # years; 0 = unlimited
RS_LOW, RS_HIGH = 0.25, 0.85  # Reichheld & Sasser (1990): 5 points less defection, +25-85% profit
RS_POINTS = 5.0
DRAWS = 400  # uncertainty band: draws of retention (binomial) and margin (standard error)
INTERVAL_LEVEL = 0.90
PAYBACK_MAX_YEARS = 50
SEED = 20261127
COST_MODES = ("per_customer", "total")
DIMENSIONS = ("segment", "ka_type", "tier")
CELL_COLUMNS = ("segment", "ka_types", "tier", "customers_prev", "retained", "new", "customers",
                "profit", "profit_sq")


@dataclass(frozen=True)
class Params:
    """One what-if scenario: the slider state.

    defection_pts: change of defection in percentage points (−5 = five points less defection)
    for the targeted cells as a whole (module docstring); target_*: segments (labels as in the
    baseline), KA types, tiers the change applies to (all empty: every customer; within a
    dimension any value matches, across dimensions all must); target_profitable: only cells with
    a positive margin (a scenario saved before this choice existed targeted every cell).
    margin_pct: change of margin in % (all customers). discount: annual rate. horizon: years (0 = unlimited). cost: retention-programme cost per year, per targeted
    customer still there (``per_customer``) or in total (``total``). new_customers: extra
    customers acquired now (valued at the average margin and retention after the change).
    """

    defection_pts: float = 0.0
    target_segments: tuple[str, ...] = ()
    target_ka: tuple[str, ...] = ()
    target_tiers: tuple[str, ...] = ()
    target_profitable: bool = True
    margin_pct: float = 0.0
    discount: float = DISCOUNT_DEFAULT
    horizon: int = HORIZON_DEFAULT
    cost_mode: str = "per_customer"
    cost: float = 0.0
    new_customers: int = 0

    def as_json(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, d: dict) -> "Params":
        known = {f: d[f] for f in cls.__dataclass_fields__ if f in d}
        known["target_profitable"] = bool(known.get("target_profitable", False))
        for k in ("target_segments", "target_ka", "target_tiers"):
            if k in known:
                known[k] = tuple(str(v) for v in known[k] or ())
        for k in ("defection_pts", "margin_pct", "discount", "cost"):
            if k in known:
                known[k] = float(known[k])
        for k in ("horizon", "new_customers"):
            if k in known:
                known[k] = int(known[k])
        return cls(**known)


# ---------------------------------------------------------------- formulas


def clv(m, r, d, horizon: int = 0):
    """Retention-rate CLV of one existing customer: m·r/(1+d−r) (``horizon`` 0) or
    m·Σ_{t=1..H}(r/(1+d))^t. Works elementwise on arrays."""
    m, r = np.asarray(m, float), np.asarray(r, float)
    q = r / (1.0 + d)
    if not horizon:
        return m * r / (1.0 + d - r)
    one = _near_one(q)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(one, horizon, q * (1 - q ** horizon) / np.where(one, 1, 1 - q))
    return m * s


def _near_one(q):
    """``np.isclose(q, 1.0)`` (|q − 1| ≤ 1e-8 + 1e-5), without its overhead: a tornado chart
    evaluates a scenario a dozen times on a handful of cells, where isclose cost more than the
    arithmetic."""
    return np.abs(q - 1.0) <= 1e-8 + 1e-5


def new_customer_value(m, r, d, horizon: int = 0):
    """Value of a customer acquired now: first year's margin for sure, then retained:
    m·Σ_{t=1..H} r^(t−1)/(1+d)^t (= m/(1+d−r) for an unlimited horizon)."""
    m, r = np.asarray(m, float), np.asarray(r, float)
    if not horizon:
        return m / (1.0 + d - r)
    q = r / (1.0 + d)
    one = _near_one(q)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = np.where(one, horizon, (1 - q ** horizon) / np.where(one, 1, 1 - q))
    return m * s / (1.0 + d)


def annuity(x, d, horizon: int = 0):
    """Present value of paying 1 at the start of each year t = 0..H−1 while a share x^t remains
    (x = retention for per-customer costs, 1 for a fixed total): Σ (x/(1+d))^t."""
    q = np.asarray(x, float) / (1.0 + d)
    if not horizon:
        return 1.0 / (1.0 - q)
    one = _near_one(q)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(one, horizon, (1 - q ** horizon) / np.where(one, 1, 1 - q))


# ---------------------------------------------------------------- baseline


def _sorted_codes(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(values as strings, sort=True)`` of a categorical without missing values,
    from its integer codes (no string per row)."""
    codes = s.cat.codes.to_numpy()
    cats = np.asarray(s.cat.categories.astype(str), dtype=object)
    used = np.flatnonzero(np.bincount(codes, minlength=len(cats)) > 0)
    names = cats[used]
    order = np.argsort(names, kind="stable")
    lookup = np.full(len(cats), -1, dtype=np.int64)
    lookup[used[order]] = np.arange(len(used))
    return lookup[codes], names[order]


def cells(customers: pd.DataFrame) -> pd.DataFrame:
    """The baseline table: one row per (segment, ka_types, tier) cell.

    ``customers``: one row per customer with an order last year or this year: customer_id,
    prev_active, cur_active (bool), profit (account profit this year), segment (label or ""),
    ka_types (comma-separated or ""), tier (A/B/C). Columns out: CELL_COLUMNS plus retention
    (NaN for a cell without last-year customers) and margin (profit per customer this year).
    """
    keys, codes = [], np.zeros(len(customers), dtype=np.int64)
    for c in ("segment", "ka_types", "tier"):
        # codes of the sorted distinct values: group numbers that sort like the groups
        s = customers[c]
        if isinstance(s.dtype, pd.CategoricalDtype) and not s.isna().any():
            k, u = _sorted_codes(s)
        else:
            col = s.astype(object).where(s.notna(), "").astype(str).to_numpy(dtype=object)
            k, u = pd.factorize(col, sort=True)
        keys.append(u)
        codes = codes * len(u) + k
    prev = customers["prev_active"].to_numpy(dtype=bool)
    cur = customers["cur_active"].to_numpy(dtype=bool)
    profit = np.where(cur, customers["profit"].to_numpy(dtype=float), 0.0)
    # the group numbers are small (a product of distinct values): count them instead of sorting
    seen = np.bincount(codes) > 0 if len(codes) else np.zeros(0, dtype=bool)
    groups = np.flatnonzero(seen)
    inv = (np.cumsum(seen) - 1)[codes]
    size = len(groups)
    sums = {
        "customers_prev": np.bincount(inv, weights=prev, minlength=size).astype(int),
        "retained": np.bincount(inv, weights=prev & cur, minlength=size).astype(int),
        "new": np.bincount(inv, weights=~prev & cur, minlength=size).astype(int),
        "customers": np.bincount(inv, weights=cur, minlength=size).astype(int),
        "profit": np.bincount(inv, weights=profit, minlength=size),
        "profit_sq": np.bincount(inv, weights=profit ** 2, minlength=size),
    }
    parts = {}
    for c, u in zip(reversed(("segment", "ka_types", "tier")), reversed(keys)):
        parts[c] = u[groups % len(u)]
        groups = groups // len(u)
    out = pd.DataFrame({c: pd.Series(parts[c], dtype=object) for c in ("segment", "ka_types", "tier")} | sums)
    return finish_cells(out)


def finish_cells(out: pd.DataFrame) -> pd.DataFrame:
    """``out`` with retention (retained / customers_prev; NaN without last-year customers) and
    margin (profit / customers; 0 without customers)."""
    prev, n = out["customers_prev"].to_numpy(float), out["customers"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        retention = np.where(prev > 0, out["retained"].to_numpy(float) / prev, np.nan)
        margin = np.where(n > 0, out["profit"].to_numpy(float) / n, 0.0)
    return out.assign(retention=retention, margin=margin)


def retention_by_tier(cells_: pd.DataFrame) -> pd.DataFrame:
    """Cells whose retention is their ABC tier's (rate_prev / rate_retained: the tier's counts).

    For a segment / KA-type assignment made from the customers active *now*: a customer lost
    since last year has no segment, so within a segment every last-year customer was kept
    (retention 100%) and the lost ones sit in the unassigned cell (0%). Tiers are known for
    every customer (this year's revenue, else last year's), so the tier's rate is the estimate
    each of its cells gets; the segment or KA type still chooses whom a change targets and
    carries its own margin."""
    out = cells_.copy()
    t = out.groupby("tier")[["customers_prev", "retained"]].transform("sum")
    out["rate_prev"], out["rate_retained"] = t["customers_prev"], t["retained"]
    out["retention"] = t["retained"] / t["customers_prev"].where(t["customers_prev"] > 0)
    return out


def overall(cells_: pd.DataFrame) -> dict:
    """Totals of the baseline: customers_prev, retained, new, customers, profit, retention,
    defection, margin."""
    n0, n1 = int(cells_["customers_prev"].sum()), int(cells_["retained"].sum())
    n = int(cells_["customers"].sum())
    p = float(cells_["profit"].sum())
    r = n1 / n0 if n0 else float("nan")
    return {"customers_prev": n0, "retained": n1, "new": int(cells_["new"].sum()), "customers": n,
            "profit": p, "retention": r, "defection": 1 - r, "margin": p / n if n else 0.0}


def by_dimension(cells_: pd.DataFrame, dim: str | None, discount: float = DISCOUNT_DEFAULT,
                 horizon: int = HORIZON_DEFAULT) -> pd.DataFrame:
    """Baseline per value of ``dim`` (segment, ka_type, tier; None: one row "all"): group,
    customers_prev, retained, retention, defection, customers, new, margin, profit, clv, equity.
    KA types overlap (a customer counts in each of its types); cells without one are left out."""
    df = cells_.copy()
    if dim is None:
        df["group"] = "all"
    elif dim == "ka_type":
        df["group"] = df["ka_types"].str.split(",")
        df = df.explode("group")
        df = df[df["group"].fillna("") != ""]
    else:
        df["group"] = df[dim]
    g = df.groupby("group", sort=True)[list(CELL_COLUMNS[3:])].sum().reset_index()
    g = finish_cells(g)
    if "rate_prev" in df and dim not in (None, "tier"):  # retention_by_tier: weigh the tier rates
        wr = (df["customers"] * df["retention"].fillna(overall(cells_)["retention"])).groupby(df["group"]).sum()
        g["retention"] = (wr.reindex(g["group"]).to_numpy() / g["customers"].where(g["customers"] > 0)).to_numpy()
    r = g["retention"].fillna(overall(cells_)["retention"]).fillna(0.0)
    g["defection"] = 1 - g["retention"]
    g["clv"] = clv(g["margin"], r, discount, horizon)
    g["equity"] = g["customers"] * g["clv"]
    return g


def targeted(cells_: pd.DataFrame, p: Params) -> np.ndarray:
    """Boolean mask of the cells the defection change (and the programme) applies to."""
    mask = np.ones(len(cells_), bool)
    if p.target_profitable:
        mask &= cells_["margin"].to_numpy(float) > 0
    if p.target_segments:
        mask &= cells_["segment"].isin(p.target_segments).to_numpy()
    if p.target_ka:
        want = set(p.target_ka)
        mask &= np.array([bool(set(s.split(",")) & want) for s in cells_["ka_types"]], bool)
    if p.target_tiers:
        mask &= cells_["tier"].isin(p.target_tiers).to_numpy()
    return mask


# ---------------------------------------------------------------- evaluation


@dataclass
class Arrays:
    """The cell arrays evaluation works on (built once per baseline)."""

    n: np.ndarray  # customers now
    new: np.ndarray  # new customers this year (acquisition rate)
    r: np.ndarray  # retention (NaN filled with the overall rate)
    m: np.ndarray  # margin per customer
    n0: np.ndarray
    n1: np.ndarray
    sd: np.ndarray  # standard deviation of profit per customer in the cell
    overall_r: float = 0.0
    b0: np.ndarray | None = None  # last year's customers behind the cell's rate (its tier's with
    b1: np.ndarray | None = None  # retention_by_tier), and how many of them were kept


def arrays(cells_: pd.DataFrame) -> Arrays:
    tot = overall(cells_)
    r_all = tot["retention"] if tot["retention"] == tot["retention"] else 0.0
    n = cells_["customers"].to_numpy(float)
    m = cells_["margin"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = np.where(n > 1, (cells_["profit_sq"].to_numpy(float) - n * m ** 2) / np.maximum(n - 1, 1), 0.0)
    return Arrays(n=n, new=cells_["new"].to_numpy(float),
                  r=cells_["retention"].fillna(r_all).to_numpy(float), m=m,
                  n0=cells_["customers_prev"].to_numpy(float), n1=cells_["retained"].to_numpy(float),
                  sd=np.sqrt(np.maximum(var, 0.0)), overall_r=r_all,
                  b0=cells_.get("rate_prev", cells_["customers_prev"]).to_numpy(float),
                  b1=cells_.get("rate_retained", cells_["retained"]).to_numpy(float))


def _after(a: Arrays, mask: np.ndarray, p: Params, r=None, m=None):
    r = a.r if r is None else r
    m = a.m if m is None else m
    m2 = m + np.abs(m) * p.margin_pct / 100.0
    return _retention_after(r, mask, p, a.n), m2


def _target_defection(r, mask, w):
    """Targeted average defection δ̄ with weights ``w``: a number, or one per row of draws."""
    wm = np.where(mask, w, 0.0)
    tot = float(wm.sum())
    if tot <= 0:
        return np.zeros(np.shape(r)[:-1] + (1,)) if np.ndim(r) > 1 else 0.0
    return ((1.0 - r) * wm).sum(axis=-1, keepdims=np.ndim(r) > 1) / tot


def _retention_after(r, mask, p: Params, w):
    """Retention after the change (module docstring): less defection takes the same share
    s = min(x / δ̄, 1) of every targeted cell's defection, so the targeted average falls by x
    points; more defection adds the points to every targeted cell, down to a retention of 0.
    ``r`` is one value per cell, or draws × cells."""
    x = -p.defection_pts / 100.0  # reduction of defection
    if x == 0 or not mask.any():
        return r
    if x < 0:
        return np.where(mask, np.maximum(r + x, 0.0), r)
    dbar = _target_defection(r, mask, w)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(dbar > 0, np.minimum(x / np.where(dbar > 0, dbar, 1.0), 1.0), 0.0)
    return np.where(mask, 1.0 - (1.0 - r) * (1.0 - share), r)


def _weighted(x, w):
    s = float(np.sum(w))
    return float(np.sum(x * w) / s) if s > 0 else 0.0


def evaluate(a: Arrays, mask: np.ndarray, p: Params, r=None, m=None) -> dict:
    """Before and after of one scenario (numbers only; ``r``/``m`` override the cells' retention
    and margin, used for the uncertainty draws). Keys: equity_before, equity_after,
    equity_delta, equity_pct, profit_before, profit_after, profit_delta, profit_pct,
    clv_before, clv_after (per customer now), programme_cost_year1, programme_cost_pv,
    net_value, roi, payback_years (None: not within the horizon / 50 years; 0: no cost),
    retention_before, retention_after (weighted by last year's customers), targeted_customers;
    equity_before_* and profit_before_* of the cells with a positive (``profitable``) and a
    negative (``loss_making``) margin; the split of the change by that sign:
    equity_delta_profitable, equity_delta_loss_making, equity_delta_new (extra new customers; the three add up to
    equity_delta), profit_delta_profitable, profit_delta_loss_making, profit_delta_new (they
    add up to profit_delta + programme_cost_year1); targeted_profitable, targeted_loss_making
    (customers now in the targeted cells of each sign), profitable_customers and
    loss_making_customers (all of them),
    margin_loss_making_targeted (their average margin, 0 without any);
    defection_targeted_before/after (the targeted average, module docstring) and
    points_applied (their difference in points: less than asked when all of it is gone)."""
    r = a.r if r is None else r
    m = a.m if m is None else m
    d, H = p.discount, int(p.horizon)
    r2, m2 = _after(a, mask, p, r, m)
    eq0 = float(np.sum(a.n * clv(m, r, d, H)))
    eq1_base = float(np.sum(a.n * clv(m2, r2, d, H)))
    r_new, m_new = _weighted(r2, a.n), _weighted(m2, a.n)
    eq_new = float(p.new_customers * new_customer_value(m_new, r_new, d, H))
    eq1 = eq1_base + eq_new
    # programme cost: per targeted customer still there at the start of each year, or a total
    if p.cost_mode == "total":
        cost1 = float(p.cost) if p.cost else 0.0
        cost_pv = float(p.cost * annuity(1.0, d, H)) if p.cost else 0.0
    else:
        cost1 = float(p.cost * np.sum(a.n[mask]))
        cost_pv = float(p.cost * np.sum(a.n[mask] * annuity(r2[mask], d, H))) if p.cost else 0.0
    prof0 = float(np.sum((a.n * r + a.new) * m))
    prof1 = float(np.sum((a.n * r2 + a.new) * m2) + p.new_customers * m_new - cost1)
    delta = eq1 - eq0
    net = delta - cost_pv
    # the change split by the sign of each cell's margin before the change
    eq_cells = a.n * clv(m, r, d, H)
    prof_cells = (a.n * r + a.new) * m
    d_eq = a.n * clv(m2, r2, d, H) - eq_cells
    d_prof = (a.n * r2 + a.new) * m2 - prof_cells
    gain, loss = m > 0, m < 0
    dbar0, dbar1 = _target_defection(r, mask, a.n), _target_defection(r2, mask, a.n)
    out = {
        "equity_before": eq0, "equity_after": eq1, "equity_delta": delta,
        "equity_pct": delta / abs(eq0) if eq0 else float("nan"),
        "profit_before": prof0, "profit_after": prof1, "profit_delta": prof1 - prof0,
        "profit_pct": (prof1 - prof0) / abs(prof0) if prof0 else float("nan"),
        "customers": float(np.sum(a.n)),
        "clv_before": eq0 / np.sum(a.n) if np.sum(a.n) else float("nan"),
        "clv_after": eq1_base / np.sum(a.n) if np.sum(a.n) else float("nan"),
        "programme_cost_year1": cost1, "programme_cost_pv": cost_pv, "net_value": net,
        "roi": net / cost_pv if cost_pv > 0 else None,
        "payback_years": _payback(a, mask, p, r, m, r2, m2) if cost_pv > 0 else 0,
        "retention_before": _weighted(r, a.n0),
        "retention_after": _weighted(r2, a.n0),
        "targeted_customers": float(np.sum(a.n[mask])),
        "equity_before_profitable": float(np.sum(eq_cells[gain])),
        "equity_before_loss_making": float(np.sum(eq_cells[loss])),
        "profit_before_profitable": float(np.sum(prof_cells[gain])),
        "profit_before_loss_making": float(np.sum(prof_cells[loss])),
        "equity_delta_profitable": float(np.sum(d_eq[gain])),
        "equity_delta_loss_making": float(np.sum(d_eq[loss])),
        "equity_delta_new": eq_new,
        "profit_delta_profitable": float(np.sum(d_prof[gain])),
        "profit_delta_loss_making": float(np.sum(d_prof[loss])),
        "profit_delta_new": float(p.new_customers * m_new),
        "targeted_profitable": float(np.sum(a.n[mask & gain])),
        "targeted_loss_making": float(np.sum(a.n[mask & loss])),
        "profitable_customers": float(np.sum(a.n[gain])),
        "loss_making_customers": float(np.sum(a.n[loss])),
        "margin_loss_making_targeted": _weighted(m[mask & loss], a.n[mask & loss]),
        "defection_targeted_before": float(dbar0),
        "defection_targeted_after": float(dbar1),
        "points_applied": float((dbar0 - dbar1) * 100.0) if mask.any() else 0.0,
    }
    return out


def _payback(a, mask, p, r, m, r2, m2) -> int | None:
    """First whole year in which the cumulative discounted gain covers the cumulative
    discounted programme cost (costs paid at the start of each year, gains at its end)."""
    d, H = p.discount, int(p.horizon)
    last = H if H else PAYBACK_MAX_YEARS
    r_new, m_new = _weighted(r2, a.n), _weighted(m2, a.n)
    gain = cost = 0.0
    for t in range(1, last + 1):
        if p.cost_mode == "total":
            cost += p.cost / (1 + d) ** (t - 1)
        else:
            cost += p.cost * float(np.sum(a.n[mask] * r2[mask] ** (t - 1))) / (1 + d) ** (t - 1)
        g = float(np.sum(a.n * (m2 * r2 ** t - m * r ** t)))
        g += p.new_customers * m_new * r_new ** (t - 1)
        gain += g / (1 + d) ** t
        if gain >= cost:
            return t
    return None


def projection(a: Arrays, mask: np.ndarray, p: Params, years: int | None = None) -> pd.DataFrame:
    """Account profit per year t = 1..years, before and after: customers_t = customers_{t−1}·r
    + new customers at this year's rate (+ the extra acquisition in year 1 after), × margin,
    minus the programme cost of the year (after). Columns: year, before, after."""
    years = years or (int(p.horizon) or 10)
    r2, m2 = _after(a, mask, p)
    m_new = _weighted(m2, a.n)
    n0, n1 = a.n.copy(), a.n.copy()
    extra = float(p.new_customers)
    rows = []
    for t in range(1, years + 1):
        # the programme is paid at the start of the year on the targeted customers there then
        cost = float(p.cost) if p.cost_mode == "total" else float(p.cost * np.sum(n1[mask]))
        n0 = n0 * a.r + a.new
        n1 = n1 * r2 + a.new
        extra_profit = extra * m_new
        extra = extra * _weighted(r2, a.n)
        rows.append((t, float(np.sum(n0 * a.m)), float(np.sum(n1 * m2) + extra_profit - cost)))
    return pd.DataFrame(rows, columns=["year", "before", "after"])


def uncertainty(a: Arrays, mask: np.ndarray, p: Params, draws: int = DRAWS,
                level: float = INTERVAL_LEVEL, seed: int = SEED) -> dict:
    """Sampling interval of the scenario: retention of each cell drawn from Beta(retained + ½,
    lost + ½) (its binomial uncertainty), margin from Normal(margin, sd/√customers); the same
    draws before and after (vectorised over draws × cells). Returns {key_lo, key_hi} for
    equity_before, equity_after, equity_delta, equity_pct, profit_delta."""
    rng = np.random.default_rng(seed)
    k = len(a.n)
    b0 = a.n0 if a.b0 is None else a.b0
    b1 = a.n1 if a.b1 is None else a.b1
    has = b0 > 0
    lost = np.maximum(b0 - b1, 0)
    beta = rng.beta(np.broadcast_to(b1 + 0.5, (draws, k)), np.broadcast_to(lost + 0.5, (draws, k)))
    r = np.where(has, beta, a.r)
    se = np.where(a.n > 0, a.sd / np.sqrt(np.maximum(a.n, 1)), 0.0)
    m = a.m + rng.standard_normal((draws, k)) * se
    d, H = p.discount, int(p.horizon)
    r2 = _retention_after(r, mask, p, a.n)
    m2 = m + np.abs(m) * p.margin_pct / 100.0
    w = a.n / a.n.sum() if a.n.sum() > 0 else np.zeros(k)
    eq0 = (a.n * clv(m, r, d, H)).sum(axis=1)
    eq1 = (a.n * clv(m2, r2, d, H)).sum(axis=1)
    eq1 = eq1 + p.new_customers * new_customer_value((m2 * w).sum(axis=1), (r2 * w).sum(axis=1), d, H)
    cost1 = (float(p.cost) if p.cost_mode == "total" else float(p.cost * np.sum(a.n[mask])))
    prof0 = ((a.n * r + a.new) * m).sum(axis=1)
    prof1 = ((a.n * r2 + a.new) * m2).sum(axis=1) + p.new_customers * (m2 * w).sum(axis=1) - cost1
    with np.errstate(divide="ignore", invalid="ignore"):
        vals = {"equity_before": eq0, "equity_after": eq1, "equity_delta": eq1 - eq0,
                "equity_pct": (eq1 - eq0) / np.abs(eq0), "profit_delta": prof1 - prof0}
    q = (1 - level) / 2
    out = {}
    for key, v in vals.items():
        v = v[np.isfinite(v)]
        lo, hi = (float(np.quantile(v, q)), float(np.quantile(v, 1 - q))) if v.size else (float("nan"),) * 2
        out[f"{key}_lo"], out[f"{key}_hi"] = lo, hi
    return out


def reichheld_sasser(a: Arrays, p: Params, points: float = RS_POINTS) -> dict:
    """The user's data at "``points`` less defection" across all customers, nothing else
    changed (same discount rate and horizon), as Reichheld & Sasser measured it on whole
    customer bases: equity_pct (the change of customer value R&S measured), profit_pct (next
    year's profit), where it lies against R&S's 25-85% (below / within / above), and
    points_applied (fewer than ``points`` when the whole defection is smaller). Beside it, the
    same points aimed at the cells with a positive margin only (``profitable_equity_pct``,
    ``profitable_profit_pct``), which is not R&S's measure and is never placed in their band."""
    everyone = Params(defection_pts=-points, discount=p.discount, horizon=p.horizon, target_profitable=False)
    ev = evaluate(a, np.ones(len(a.n), bool), everyone)
    x = ev["equity_pct"]
    where = "below" if x < RS_LOW else ("above" if x > RS_HIGH else "within")
    prof = evaluate(a, a.m > 0, replace(everyone, target_profitable=True))
    return {"points": points, "equity_pct": x, "profit_pct": ev["profit_pct"], "where": where,
            "low": RS_LOW, "high": RS_HIGH, "points_applied": ev["points_applied"],
            "profitable_equity_pct": prof["equity_pct"], "profitable_profit_pct": prof["profit_pct"]}


# ---------------------------------------------------------------- sensitivity


LEVERS = ("defection", "margin", "discount", "horizon", "cost", "new_customers")
# One step of each lever either way, each about what a year's work could move: defection in
# points (the targeted average), margin in % of its size, discount rate in points, horizon in
# years, programme cost as a share of itself, extra new customers as a share of today's (at
# least one); the page names every step next to its bar.
LEVER_STEPS = {"defection": 2.0, "margin": 10.0, "discount": 2.0, "horizon": 2, "cost": 0.5,
               "new_customers": 0.01}


def _lever_values(p: Params, lever: str, customers: float):
    """(low, high) versions of ``p`` for one lever, moved by ``lever_step`` either way (horizon
    unlimited: 10 years and unlimited; discount rate at least 1%)."""
    step = lever_step(p, lever, customers)
    if lever == "defection":
        return replace(p, defection_pts=p.defection_pts - step), replace(p, defection_pts=p.defection_pts + step)
    if lever == "margin":
        return replace(p, margin_pct=p.margin_pct - step), replace(p, margin_pct=p.margin_pct + step)
    if lever == "discount":
        return (replace(p, discount=max(p.discount - step / 100, 0.01)),
                replace(p, discount=p.discount + step / 100))
    if lever == "horizon":
        if not p.horizon:
            return replace(p, horizon=10), p
        return replace(p, horizon=max(p.horizon - step, 1)), replace(p, horizon=p.horizon + step)
    if lever == "cost":
        return replace(p, cost=p.cost - step), replace(p, cost=p.cost + step)
    return replace(p, new_customers=max(int(p.new_customers - step), 0)), replace(
        p, new_customers=int(p.new_customers + step))


def lever_step(p: Params, lever: str, customers: float) -> float:
    """The step of ``lever`` around ``p`` in the lever's own unit (LEVER_STEPS): points,
    %, points, years, money (half the programme cost) or customers (1% of today's, at least 1)."""
    if lever == "cost":
        return p.cost * LEVER_STEPS["cost"]
    if lever == "new_customers":
        return float(max(math.ceil(customers * LEVER_STEPS["new_customers"]), 1))
    return LEVER_STEPS[lever]


def tornado(a: Arrays, mask: np.ndarray, p: Params, metric: str = "net_value") -> pd.DataFrame:
    """Sensitivity of ``metric`` to each lever moved one step either way from the scenario
    (steps in ``lever_step``). Columns: lever, low, high (metric values), base, swing
    (|high − low|), step (in the lever's unit); sorted by swing descending (the lever that matters most first)."""
    base = evaluate(a, mask, p)[metric]
    rows = []
    for lever in LEVERS:
        lo_p, hi_p = _lever_values(p, lever, float(np.sum(a.n)))
        lo, hi = evaluate(a, mask, lo_p)[metric], evaluate(a, mask, hi_p)[metric]
        rows.append((lever, lo, hi, base, abs(hi - lo), lever_step(p, lever, float(np.sum(a.n)))))
    df = pd.DataFrame(rows, columns=["lever", "low", "high", "base", "swing", "step"])
    return df.sort_values("swing", ascending=False, kind="stable").reset_index(drop=True)


def run(cells_: pd.DataFrame, p: Params, draws: int = DRAWS) -> dict:
    """Everything the page shows for one slider state: {result, band, rs, tornado, projection}
    (result: ``evaluate`` plus deeper_cut_lowers_equity and equity_delta / profit_delta
    _without_loss_makers: the same scenario with the loss-making cells left out of the target).
    Pure arithmetic on the baseline cells."""
    a = arrays(cells_)
    mask = targeted(cells_, p)
    result = evaluate(a, mask, p)
    result["deeper_cut_lowers_equity"] = deeper_cut_lowers_equity(a, mask, p)
    gain_only = mask & (a.m > 0)
    alone = evaluate(a, gain_only, replace(p, target_profitable=True)) if (gain_only != mask).any() else result
    result["equity_delta_without_loss_makers"] = alone["equity_delta"]
    result["profit_delta_without_loss_makers"] = alone["profit_delta"]
    return {"result": result, "band": uncertainty(a, mask, p, draws),
            "rs": reichheld_sasser(a, p), "tornado": tornado(a, mask, p),
            "projection": projection(a, mask, p)}


def deeper_cut_lowers_equity(a: Arrays, mask: np.ndarray, p: Params, step: float = 1.0) -> bool:
    """Whether ``step`` more points less defection would give less customer equity than this
    scenario (only possible with loss-making cells targeted)."""
    deeper = evaluate(a, mask, replace(p, defection_pts=p.defection_pts - step))
    return deeper["equity_after"] < evaluate(a, mask, p)["equity_after"] - 1e-9 * max(abs(deeper["equity_after"]), 1)


__all__ = ["Params", "clv", "new_customer_value", "annuity", "cells", "retention_by_tier", "overall", "by_dimension",
           "targeted", "arrays", "evaluate", "projection", "uncertainty", "reichheld_sasser",
           "tornado", "lever_step", "deeper_cut_lowers_equity", "run", "LEVER_STEPS"]
