"""Account health: a score from 0 to 100 per account, from its own order history.

Each component is a number from 0 (bad) to 100 (good), or NaN when it cannot be computed for
the account; the score is the weighted mean of the components the account has (weights of the
missing ones are left out, so an account without a plan is not penalised for it):

- **rhythm**: days since the last purchase day ``d`` against the account's own typical interval,
  the mean ``μ`` and standard deviation ``σ`` of the gaps between its purchase days (at least
  MIN_PURCHASE_DAYS purchase days): lateness ``z = max(0, d − μ) / max(σ, μ/4)``, rhythm
  ``= 100 · max(0, 1 − z / 3)``. An account that orders every 90 days scores 100 at day 60 and
  0 three spreads after its usual interval. An account with fewer purchase days is held to the
  usual account's interval and spread (the medians over the accounts that have their own).
- **trend**: for k = 3, 6 and 12 months, growth ``g_k = R_k / R'_k − 1`` of revenue in the last k
  months against the same months a year before; ``s_k = 50 + 50 · clip(g_k, −1, 1)`` (nothing
  bought: 0, unchanged: 50, doubled or more: 100); the mean of the ``s_k`` that exist (``R'_k ≤
  0`` and ``R_k > 0``: 100; both ``≤ 0``: left out).
- **breadth**: product categories bought in the last 12 months ``n`` against the 12 months
  before ``n'``: ``100 · n / max(n, n')`` (100 when as broad as or broader than a year ago).
- **gross margin**: the change of gross margin (gross profit / revenue) between the last 12
  months and the 12 before, in points: ``50 + 50 · clip(Δ / 10 points, −1, 1)``; needs
  positive revenue in both.
- **p_alive**: ``100 · P(alive)`` from the stored BG/NBD or Pareto/NBD fit.
- **plan**: the account plan's status: on track or achieved 100, at risk 50, off track 0.

The backtest takes a past month as "now", scores every account active in the 12 months up to
then, and counts an account as lost when it orders nothing in the next 6 months; ``auc`` is
the probability that a lost account scores lower than a kept one (ties count one half).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COMPONENTS = ("rhythm", "trend", "breadth", "margin", "p_alive", "plan")
WEIGHTS_DEFAULT = {"rhythm": 30.0, "trend": 25.0, "breadth": 15.0, "margin": 10.0,
                   "p_alive": 15.0, "plan": 5.0}
MIN_PURCHASE_DAYS = 3  # two gaps: a mean and a spread
LATE_SPREADS_TO_ZERO = 3.0
TREND_MONTHS = (3, 6, 12)
MARGIN_POINTS_TO_ZERO = 0.10
PLAN_SCORES = {"achieved": 100.0, "on_track": 100.0, "at_risk": 50.0, "off_track": 0.0}
BANDS = (0, 20, 40, 60, 80, 100)  # score bands of the backtest
NO_DAY = np.iinfo(np.int32).min


def check_weights(weights: dict) -> dict[str, float]:
    """The weights as floats for every component; a ValueError naming the component when one
    is negative or not a number, or when all are 0."""
    out = {}
    for c in COMPONENTS:
        try:
            w = float(weights.get(c, WEIGHTS_DEFAULT[c]))
        except (TypeError, ValueError):
            raise ValueError(f"weight of {c}: not a number ({weights.get(c)!r})") from None
        if not np.isfinite(w) or w < 0:
            raise ValueError(f"weight of {c}: must be 0 or more, got {w}")
        out[c] = w
    if sum(out.values()) <= 0:
        raise ValueError("at least one weight must be above 0")
    return out


# ---------------------------------------------------------------- rhythm


def purchase_stats(pos: np.ndarray, day: np.ndarray, revenue: np.ndarray, n: int,
                   cutoff: int) -> dict[str, np.ndarray]:
    """Per customer (``n`` positions), from its purchase days up to day ``cutoff`` (included):
    ``count`` of purchase days, ``first`` and ``last`` day (NO_DAY without one), ``mean_gap`` and
    ``sd_gap`` (sample standard deviation) of the days between consecutive purchase days (NaN
    with fewer than 2 or 3 days), ``repeat_value`` (mean revenue of the repeat purchase days with
    positive revenue, 0 when none) and ``first_value`` (revenue of the first day).
    ``pos``/``day``/``revenue``: purchase days sorted by customer, then day
    (``Engine.purchase_day_rows``)."""
    keep = day <= cutoff
    p, d, v = pos[keep], day[keep].astype(np.int64), revenue[keep]
    count = np.bincount(p, minlength=n)
    first = np.full(n, NO_DAY, dtype=np.int64)
    last = np.full(n, NO_DAY, dtype=np.int64)
    if len(p):
        starts = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
        ends = np.r_[starts[1:] - 1, len(p) - 1]
        first[p[starts]] = d[starts]
        last[p[ends]] = d[ends]
        repeat = np.ones(len(p), dtype=bool)
        repeat[starts] = False
        first_value = np.zeros(n)
        first_value[p[starts]] = v[starts]
    else:
        repeat, first_value = np.zeros(0, dtype=bool), np.zeros(n)
    same = p[1:] == p[:-1]
    gaps = (d[1:] - d[:-1])[same].astype(np.float64)
    gp = p[1:][same]
    k = np.bincount(gp, minlength=n).astype(np.float64)
    s1 = np.bincount(gp, weights=gaps, minlength=n)
    s2 = np.bincount(gp, weights=gaps * gaps, minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.where(k >= 1, s1 / k, np.nan)
        var = np.where(k >= 2, (s2 - k * mean * mean) / (k - 1), np.nan)
    paid = repeat & (v > 0)
    pc = np.bincount(p[paid], minlength=n)
    ps = np.bincount(p[paid], weights=v[paid], minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        repeat_value = np.where(pc > 0, ps / np.maximum(pc, 1), 0.0)
    return {"count": count, "first": first, "last": last, "mean_gap": mean,
            "sd_gap": np.sqrt(np.maximum(var, 0.0)), "repeat_value": repeat_value,
            "first_value": first_value}


def typical_rhythm(mean_gap: np.ndarray, sd_gap: np.ndarray, count: np.ndarray) -> tuple[float, float]:
    """(median mean gap, median spread) over the accounts with their own rhythm (at least
    MIN_PURCHASE_DAYS purchase days): the rhythm an account with fewer purchase days is held
    to. NaN when no account has one."""
    own = count >= MIN_PURCHASE_DAYS
    if not own.any():
        return float("nan"), float("nan")
    return float(np.median(mean_gap[own])), float(np.median(np.nan_to_num(sd_gap[own])))


def rhythm_score(days_since: np.ndarray, mean_gap: np.ndarray, sd_gap: np.ndarray,
                 count: np.ndarray, typical: tuple[float, float] | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(rhythm score, lateness z in spreads) per account. With fewer than MIN_PURCHASE_DAYS
    purchase days an account is held to ``typical`` (``typical_rhythm``: the usual account's
    interval and spread) when given, else it gets NaN; no purchase day at all: NaN."""
    own = (count >= MIN_PURCHASE_DAYS) & np.isfinite(mean_gap)
    mu, sd = np.asarray(mean_gap, float), np.nan_to_num(np.asarray(sd_gap, float))
    ok = own.copy()
    if typical is not None and np.isfinite(typical[0]):
        borrow = ~own & (count >= 1)
        mu = np.where(borrow, typical[0], mu)
        sd = np.where(borrow, typical[1], sd)
        ok |= borrow
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.maximum(sd, mu / 4)
        z = np.where(ok & (spread > 0), np.maximum(0.0, days_since - mu) / spread, np.where(ok, 0.0, np.nan))
    score = 100.0 * np.clip(1.0 - z / LATE_SPREADS_TO_ZERO, 0.0, 1.0)
    return np.where(ok, score, np.nan), z


# ---------------------------------------------------------------- trend, breadth, margin


def growth_score(now: np.ndarray, before: np.ndarray) -> np.ndarray:
    """50 + 50 · clip(now / before − 1, −1, 1); 100 when only ``now`` is positive; NaN when
    neither is."""
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.where(before > 0, now / before - 1.0, np.nan)
    s = 50.0 + 50.0 * np.clip(g, -1.0, 1.0)
    return np.where(before > 0, s, np.where(now > 0, 100.0, np.nan))


def trend_score(now: dict[int, np.ndarray], before: dict[int, np.ndarray]) -> np.ndarray:
    """Mean of ``growth_score`` over the periods of ``now``/``before`` (months -> revenue per
    account) that exist for the account; NaN when none does."""
    s = np.stack([growth_score(now[k], before[k]) for k in now])
    with np.errstate(invalid="ignore"):
        cnt = np.isfinite(s).sum(axis=0)
        return np.where(cnt > 0, np.nansum(s, axis=0) / np.maximum(cnt, 1), np.nan)


def categories_in(bits: np.ndarray, lag: int, months: int = 12) -> np.ndarray:
    """Per account, the categories with positive revenue in the ``months`` months from ``lag``
    to ``lag + months − 1`` months before "now" (``bits``: accounts x categories, bit k = k
    months before)."""
    mask = np.uint64(((1 << months) - 1) << lag)
    return ((bits & mask) != 0).sum(axis=1)


def breadth_score(n_now: np.ndarray, n_before: np.ndarray) -> np.ndarray:
    top = np.maximum(n_now, n_before)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(top > 0, 100.0 * n_now / top, np.nan)


def gross_margin(revenue: np.ndarray, gross_profit: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(revenue > 0, gross_profit / revenue, np.nan)


def margin_score(gm_now: np.ndarray, gm_before: np.ndarray) -> np.ndarray:
    d = gm_now - gm_before
    return 50.0 + 50.0 * np.clip(d / MARGIN_POINTS_TO_ZERO, -1.0, 1.0)


def plan_score(status) -> float:
    return PLAN_SCORES.get(status, np.nan)


# ---------------------------------------------------------------- the score


def combine(components: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """Weighted mean of the components each account has (arrays of the same shape); NaN when
    an account has none with a weight above 0."""
    num = den = 0.0
    for c, w in weights.items():
        if w <= 0 or c not in components:
            continue
        x = components[c]
        ok = np.isfinite(x)
        num = num + np.where(ok, x, 0.0) * w
        den = den + ok * w
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.asarray(den) > 0, num / den, np.nan)


def weakest(components: dict[str, np.ndarray], weights: dict[str, float]) -> np.ndarray:
    """Per account, the index into COMPONENTS of the weighted component that lowers its score
    most (the largest ``w · (100 − x)``), -1 when none does."""
    loss = np.stack([np.where(np.isfinite(components[c]), (100.0 - components[c]) * weights.get(c, 0.0), -1.0)
                     if c in components else np.full(len(next(iter(components.values()))), -1.0)
                     for c in COMPONENTS])
    best = loss.argmax(axis=0)
    return np.where(loss.max(axis=0) > 0, best, -1)


# ---------------------------------------------------------------- backtest


def auc(score: np.ndarray, lost: np.ndarray) -> float:
    """Probability that a lost account scores lower than a kept one (ties count one half): the
    area under the ROC curve of "low score predicts lost". NaN without both kinds."""
    score, lost = np.asarray(score, float), np.asarray(lost, bool)
    n1, n0 = int(lost.sum()), int((~lost).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = pd.Series(-score).rank(method="average").to_numpy()  # high rank = low score
    return float((ranks[lost].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def band_table(score: np.ndarray, lost: np.ndarray, edges=BANDS) -> pd.DataFrame:
    """Accounts and the share lost per score band [lo, hi) (the last band includes 100).
    Columns: lo, hi, accounts, lost, share_lost (NaN for an empty band)."""
    score, lost = np.asarray(score, float), np.asarray(lost, bool)
    band = np.clip(np.searchsorted(np.asarray(edges[1:-1], float), score, side="right"), 0, len(edges) - 2)
    k = len(edges) - 1
    acc = np.bincount(band, minlength=k)
    los = np.bincount(band, weights=lost, minlength=k)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(acc > 0, los / np.maximum(acc, 1), np.nan)
    return pd.DataFrame({"lo": edges[:-1], "hi": edges[1:], "accounts": acc,
                         "lost": los.astype(int), "share_lost": share})
