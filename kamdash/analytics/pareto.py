"""Value concentration basics (shared DESIGN.md section 3)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

TOP_SHARE_DEFAULT = 0.2


def top_share(values: pd.Series | np.ndarray, p: float = TOP_SHARE_DEFAULT) -> float:
    """Share of the total held by the top ``p`` of customers.

    Customers are sorted by value descending and the first ``ceil(p * N)`` are taken. Returns
    NaN when there are no customers or the total is not positive (a share of a loss is not
    meaningful).
    """
    if not 0 < p <= 1:
        raise ValueError(f"p must be in (0, 1], got {p}")
    v = np.sort(np.asarray(values, dtype=float))[::-1]
    total = v.sum()
    if len(v) == 0 or total <= 0:
        return float("nan")
    k = math.ceil(p * len(v) - 1e-9)
    return float(v[:k].sum() / total)
