"""Growth: the one rule for how a value changed (shared DESIGN.md section 3).

**Growth** = percentage change of a value against the same months a year before:
``growth = (current - year_before) / year_before``, shown as a percentage with both periods
stated (e.g. "Oct 2025 – Sep 2026 vs Oct 2024 – Sep 2025"). It is undefined (NaN) when the
value a year before is not positive: a new account has no growth rate, it is *new*
(``is_new``), and a base at or below zero gives no meaningful ratio.

The same percentage change, against another base period, is the overview's "change"
(``pct_change`` with the previous period as the base).

``symmetric_change`` is bounded in [-2, 2] and defined for new and lost accounts; it exists
only as a clustering feature (segments) and is never shown to a user as growth.

A group's growth (a segment, a key-account type) is the growth of its summed values, never
the mean of its members' rates: ``group_growth(sum(current), sum(year_before))``.
"""

from __future__ import annotations

import numpy as np


def pct_change(current, before):
    """(current - before) / before, NaN where ``before`` is not positive (array or scalar)."""
    c = np.asarray(current, dtype=float)
    b = np.asarray(before, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(b > 0, (c - b) / np.where(b > 0, b, 1.0), np.nan)
    return float(out) if out.ndim == 0 else out


def growth(current, year_before):
    """Growth against the same months a year before (see module doc); NaN when undefined."""
    return pct_change(current, year_before)


def is_new(current, year_before):
    """True where there was no positive value a year before and there is one now."""
    c = np.asarray(current, dtype=float)
    b = np.asarray(year_before, dtype=float)
    out = (b <= 0) & (c > 0)
    return bool(out) if out.ndim == 0 else out


def group_growth(current_sum: float, year_before_sum: float) -> float:
    """Growth of a group of accounts: of its summed values (ratio of sums)."""
    return pct_change(current_sum, year_before_sum)


def symmetric_change(current, before):
    """(current - before) / ((|current| + |before|) / 2), 0 where both are 0; in [-2, 2].

    For clustering only (defined for new and lost accounts, bounded): never shown as growth.
    2 = new, -2 = stopped, 0.67 = doubled."""
    c = np.asarray(current, dtype=float)
    b = np.asarray(before, dtype=float)
    denom = (np.abs(c) + np.abs(b)) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(denom > 0, (c - b) / np.where(denom > 0, denom, 1.0), 0.0)
    return float(out) if out.ndim == 0 else out


__all__ = ["pct_change", "growth", "is_new", "group_growth", "symmetric_change"]
