"""Data of the Retention & value page: cohort retention and defection (from the order
history), and, once a model is fitted and stored (``kamdash.retention``), each account's
P(alive), CLV and customer equity with intervals, and the hold-out validation.

The at-risk list has its own view (``views.at_risk``). The fit itself runs in the background
from the UI; this module only reads what it needs and hands it to ``analytics.cohorts`` and
``analytics.clv``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from kamdash import retention, schema
from kamdash.analytics import clv, cohorts
from kamdash.analytics.clv import (
    ANNUAL_DISCOUNT_DEFAULT,
    AT_RISK_LOST_P_ALIVE,
    AT_RISK_LOST_SILENT_DAYS,
    AT_RISK_OVERDUE_FACTOR,
    AT_RISK_SLIPPING,
    AT_RISK_TOP_SHARE,
    HORIZON_MONTHS_DEFAULT,
    INTERVAL_LEVEL,
    MIN_REPEAT_BUYERS,
    MODELS,
)
from kamdash.analytics.cohorts import DEFECTION_MONTHS_DEFAULT
from kamdash.engine.filters import Filters
from kamdash.retention import FitSettings, ValueSettings

GROUPS = (*schema.DIMENSIONS, "segment", "ka_type")  # the last two: stored assignment

__all__ = ["ANNUAL_DISCOUNT_DEFAULT", "AT_RISK_LOST_P_ALIVE", "AT_RISK_LOST_SILENT_DAYS", "AT_RISK_OVERDUE_FACTOR",
           "AT_RISK_SLIPPING", "AT_RISK_TOP_SHARE", "DEFECTION_MONTHS_DEFAULT", "GROUPS", "HORIZON_MONTHS_DEFAULT",
           "INTERVAL_LEVEL", "MIN_REPEAT_BUYERS", "MODELS", "Cohorts", "Equity", "FitSettings", "ValueSettings",
           "account_values", "cohort_view", "defection", "equity", "trust", "validation", "with_assignment"]


@dataclass(frozen=True)
class Cohorts:
    matrix: pd.DataFrame  # analytics.cohorts.retention_matrix: share retained, cohort x periods since
    sizes: pd.Series  # customers per cohort
    curve: pd.Series  # analytics.cohorts.retention_curve: the size-weighted average over the cohorts

    @property
    def empty(self) -> bool:
        return self.matrix.empty


def cohort_view(engine, filters: Filters, freq: str, last_month: date) -> Cohorts:
    """Monthly ("M") or quarterly ("Q") cohorts of the customers under ``filters``; the period
    still running at ``last_month`` is left out of the shares."""
    counts = engine.cohort_counts(filters, freq)
    matrix, sizes = cohorts.retention_matrix(counts, freq, last_period=last_month)
    curve = cohorts.retention_curve(matrix, sizes) if not matrix.empty else pd.Series(dtype=float)
    return Cohorts(matrix, sizes, curve)


def defection(engine, filters: Filters, n_months: int, last_month: date) -> pd.DataFrame:
    """analytics.cohorts.defection_rates: the share of each month's customers with no order in
    the ``n_months`` after it."""
    return cohorts.defection_rates(engine.activity_gaps(filters), n_months, last_month)


def account_values(engine, fit: dict, as_of: date, filters: Filters, vs: ValueSettings) -> pd.DataFrame:
    """kamdash.retention.account_values: P(alive), expected purchases and CLV per account."""
    return retention.account_values(engine, fit, as_of, filters, vs)


def validation(engine, fit: dict, fs: FitSettings, as_of: date, scope=None) -> dict | None:
    """kamdash.retention.validation: predicted against actual repeat purchases in the hold-out
    (of the customers of ``scope``; None: every customer)."""
    return retention.validation(engine, fit, fs, as_of, scope)


def trust(fit: dict) -> dict:
    """analytics.clv.trust: whether enough customers bought again for the fit to be trusted."""
    return clv.trust(fit)


def with_assignment(values: pd.DataFrame, assignment: pd.DataFrame | None) -> pd.DataFrame:
    """``values`` plus segment ("<n> · <name>") and ka_type (comma-separated) from the stored
    assignment; both missing when there is none."""
    if assignment is None or len(assignment) == 0:
        return values.assign(segment=None, ka_type=None)
    a = assignment.set_index("customer_id")
    seg = a["segment"].astype("Int64").astype(str) + " · " + a["segment_name"].fillna("")
    return values.assign(segment=values["customer_id"].map(seg.where(a["segment"].notna())),
                         ka_type=values["customer_id"].map(a["ka_types"]))


@dataclass(frozen=True)
class Equity:
    total: pd.Series  # analytics.clv.equity of every account: equity, equity_lo, equity_hi
    by: pd.DataFrame  # analytics.clv.equity by ``group`` (one row per value; KA types overlap)
    values: pd.DataFrame  # the account values, with segment and ka_type when grouped by them
    no_assignment: bool  # grouped by segment or KA type but no customer has one stored


def equity(values: pd.DataFrame, fit: dict, group: str, assignment: pd.DataFrame | None = None) -> Equity:
    """Customer equity in total and by ``group`` (one of GROUPS; ``assignment``: the stored
    assignment, for segment and ka_type)."""
    total = clv.equity(values, fit).iloc[0]
    missing = False
    if group in ("segment", "ka_type"):
        values = with_assignment(values, assignment)
        missing = bool(values[group].isna().all())
    return Equity(total, clv.equity(values, fit, group, multi=(group == "ka_type")), values, missing)
