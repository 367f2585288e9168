"""Cohort retention and defection (shared DESIGN.md section 3).

Cohort = the month (or quarter) of a customer's first order. retention(c, k) = share of cohort c
with an order in period c + k. Defection: a customer *defects* in month M when it has had no
order for ``n`` whole months, i.e. its last order was in month M − n; the defection rate of
month M is defections / customers still counted as active at the start of M (last order within
the n months before M).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DEFECTION_MONTHS_DEFAULT = 3
MAX_COHORTS_DEFAULT = 24


def retention_matrix(counts: pd.DataFrame, freq: str = "M", last_period=None,
                     max_cohorts: int | None = MAX_COHORTS_DEFAULT) -> tuple[pd.DataFrame, pd.Series]:
    """Retention shares per cohort (rows, oldest first) and periods since the first order
    (columns 0, 1, 2, ...), and the cohort sizes.

    ``counts``: cohort, period, customers (Engine.cohort_counts). Cells after ``last_period``
    (default: the last period in the data) are NaN: not yet observed. Only the most recent
    ``max_cohorts`` cohorts are kept. Returns (matrix, sizes) indexed by cohort.
    """
    if counts.empty:
        return pd.DataFrame(), pd.Series(dtype="int64")
    step = 3 if freq == "Q" else 1
    cohort = pd.to_datetime(counts["cohort"])
    period = pd.to_datetime(counts["period"])
    cm, pm = _month_index(cohort), _month_index(period)
    n = counts["customers"].to_numpy()
    k = (pm - cm) // step
    index, row = np.unique(cohort.to_numpy(), return_inverse=True)  # cohorts, oldest first
    index = pd.DatetimeIndex(index, name="cohort")
    at0 = k == 0
    sizes = pd.Series(n[at0], index=pd.DatetimeIndex(cohort.to_numpy()[at0], name="cohort"),
                      name="customers").sort_index()
    last = pd.Timestamp(last_period) if last_period is not None else period.max()
    observable = (last.year * 12 + last.month - 1 - _month_index(pd.Series(index))) // step
    ks = np.arange(int(observable.max()) + 1)
    table = np.zeros((len(index), len(ks)))
    keep = (k >= 0) & (k < len(ks))
    np.add.at(table, (row[keep], k[keep]), n[keep])
    size = sizes.reindex(index).to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = table / size[:, None]
    shares[ks[None, :] > observable[:, None]] = np.nan
    shares = pd.DataFrame(shares, index=index, columns=pd.Index(ks, name="k"))
    if max_cohorts:
        shares, sizes = shares.iloc[-max_cohorts:], sizes.iloc[-max_cohorts:]
        shares = shares.loc[:, shares.notna().any()]
    return shares, sizes


def _month_index(d: pd.Series) -> np.ndarray:
    """year · 12 + month − 1 of each date."""
    return d.to_numpy(dtype="datetime64[ns]").astype("datetime64[M]").astype(np.int64) + 1970 * 12


def retention_curve(matrix: pd.DataFrame, sizes: pd.Series) -> pd.Series:
    """Average retention k periods after the first order, weighted by cohort size over the
    cohorts that have reached period k."""
    if matrix.empty:
        return pd.Series(dtype=float)
    w = matrix.notna().mul(sizes.reindex(matrix.index), axis=0)
    return (matrix.fillna(0) * w).sum() / w.sum()


def defection_rates(gaps: pd.DataFrame, n_months: int = DEFECTION_MONTHS_DEFAULT,
                    last_month=None) -> pd.DataFrame:
    """Monthly defection rate for the definition "no order in ``n_months`` months".

    ``gaps``: month, gap, rows (Engine.activity_gaps: months with an order, by the number of
    months to the customer's next month with an order; gap null = none yet).
    Returns month, active (customers active at the start of the month), defected, rate; months
    from the first one with a full look-back to ``last_month`` (default: the last month with an
    order).
    """
    cols = ["month", "active", "defected", "rate"]
    if gaps.empty:
        return pd.DataFrame(columns=cols)
    g = gaps.copy()
    g["month"] = pd.to_datetime(g["month"])
    m_idx = (g["month"].dt.year * 12 + g["month"].dt.month - 1).to_numpy(int)
    gap = g["gap"].to_numpy(float)
    gap = np.where(np.isnan(gap), np.inf, gap)
    rows = g["rows"].to_numpy(float)
    last = pd.Timestamp(last_month) if last_month is not None else g["month"].max()
    last_idx = last.year * 12 + last.month - 1
    first_idx = m_idx.min() + n_months
    out = []
    for M in range(first_idx, last_idx + 1):
        # customers whose latest order month before M lies in [M - n, M - 1]
        base = (m_idx >= M - n_months) & (m_idx <= M - 1) & (m_idx + gap >= M)
        lost = (m_idx == M - n_months) & (gap > n_months)
        a, d = rows[base].sum(), rows[lost].sum()
        out.append((pd.Timestamp(year=M // 12, month=M % 12 + 1, day=1), int(a), int(d),
                    d / a if a else np.nan))
    return pd.DataFrame(out, columns=cols)
