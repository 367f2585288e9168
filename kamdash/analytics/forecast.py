"""Revenue forecast per account for the next h months, with an 80% band.

Two models, the page says which one it used:

- **fit** (when a BG/NBD or Pareto/NBD fit with Gamma-Gamma spend is stored): expected revenue =
  expected purchases in the next h months (``clv.expected_purchases`` with t = h months in the
  fit's time unit) x expected spend per purchase (``clv.expected_spend``). Band: the number of
  purchases varies like a Poisson count around its expectation, so the variance of an account's
  revenue is ``E[N] · spend²``; the uncertainty of the fitted parameters is not included.
- **run rate** (no fit): the account's mean monthly revenue over the last 12 months times h;
  variance ``h · s²`` with ``s`` the standard deviation of its 12 monthly revenues (months
  independent).

The 80% band of an account is ``mean ± 1.2816 · sd`` (cut at 0); for a sum of accounts the
variances add up (accounts independent).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

Z80 = 1.2815515655446004  # standard normal quantile 0.9: a two-sided 80% band
HORIZONS = (3, 6, 12)
DAYS_PER_MONTH = 365.25 / 12


def run_rate(monthly: np.ndarray, h: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, variance) of revenue in the next ``h`` months per account; ``monthly``: accounts
    x months (the last 12 months' revenue)."""
    m = monthly.mean(axis=1)
    s2 = monthly.var(axis=1, ddof=1) if monthly.shape[1] > 1 else np.zeros(len(m))
    return h * m, h * s2


def from_fit(fitres: dict, rfm: pd.DataFrame, h: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, variance) of revenue in the next ``h`` months per row of ``rfm`` (frequency,
    recency, T in the fit's time unit, monetary_value, first_value) from a stored fit."""
    from kamdash.analytics import clv

    t = h * DAYS_PER_MONTH / clv.UNIT_DAYS[fitres.get("time_unit", "W")]
    n = np.asarray(clv.expected_purchases(fitres, rfm, t), float)
    spend = np.asarray(clv.expected_spend(fitres.get("spend"), rfm), float)
    return n * spend, n * spend * spend


def band(mean, var) -> tuple[np.ndarray, np.ndarray]:
    sd = np.sqrt(np.maximum(np.asarray(var, float), 0.0))
    return np.maximum(np.asarray(mean, float) - Z80 * sd, 0.0), np.asarray(mean, float) + Z80 * sd


def total(mean: np.ndarray, var: np.ndarray) -> tuple[float, float, float]:
    """(sum, low, high) of a set of accounts' forecasts, variances added."""
    m, v = float(np.sum(mean)), float(np.sum(var))
    lo, hi = band(m, v)
    return m, float(lo), float(hi)
