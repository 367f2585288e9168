"""Retention & value service: fit settings, persisted fits, and the per-account value table.

Ties the query layer (RFM from DuckDB), the pure analytics (``analytics.clv``) and the user
database (``store.put_fit`` / ``get_fit``) together, without Streamlit. A fit is keyed by the
sales data version and its settings (model, time unit, calibration end): it is computed once
and read back on every later view, so a page never refits or recompiles unchanged data.

The model is fitted on all customers (filters choose whose values are shown, not what the
model learns from); purchases after the calibration end are held out to check it; the values
shown use every purchase to the data's as-of date.

A user's scope (team mode) is a filter like the others here: the model's four parameters
describe how this business's customers buy, learnt from every customer (a manager's few hundred
accounts would give a poorer fit, and one shared fit keeps an account's values the same for
whoever looks at it); each account's values come from those parameters and its own history
alone, so values, totals, the at-risk list and the holdout check (``validation``) are computed
on the scope's accounts only. What the fit itself reveals is its parameters and the number of
customers it learnt from.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from kamdash import store
from kamdash.analytics import clv
from kamdash.engine.filters import Filters, add_months, month_start

HOLDOUT_MONTHS_DEFAULT = 6
TIME_UNIT_DEFAULT = "W"


@dataclass(frozen=True)
class FitSettings:
    model: str = "bgnbd"
    time_unit: str = TIME_UNIT_DEFAULT
    calibration_end: date = date(1970, 1, 1)

    def key(self, data_version: str) -> str:
        body = json.dumps({"v": data_version, **self.as_json()}, sort_keys=True)
        return hashlib.sha256(body.encode()).hexdigest()[:32]

    def as_json(self) -> dict:
        d = asdict(self)
        d["calibration_end"] = self.calibration_end.isoformat()
        return d


def calibration_end(as_of: date, holdout_months: int) -> date:
    """The last day of the month ``holdout_months`` before the month of ``as_of`` (``as_of``
    itself for no holdout)."""
    if holdout_months <= 0:
        return as_of
    first = add_months(month_start(as_of), -holdout_months + 1)
    return first - timedelta(days=1)


def holdout_units(settings: FitSettings, as_of: date) -> float:
    return (as_of - settings.calibration_end).days / clv.UNIT_DAYS[settings.time_unit]


def calibration_rfm(engine, settings: FitSettings, as_of: date | None = None) -> pd.DataFrame:
    """RFM of the calibration period (with the holdout counts when there is one)."""
    holdout = as_of if as_of and as_of > settings.calibration_end else None
    return engine.rfm_summary(settings.calibration_end, settings.time_unit,
                               holdout_end=holdout)


def load_fit(user_db, settings: FitSettings, data_version: str) -> dict | None:
    return store.get_fit(user_db, settings.key(data_version))


def fit_and_store(rfm: pd.DataFrame, user_db, settings: FitSettings, data_version: str) -> dict:
    """Fit (PyMC-Marketing) and persist; returns the fit."""
    result = clv.fit(rfm, settings.model, settings.time_unit)
    result["settings"] = settings.as_json()
    store.put_fit(user_db, settings.key(data_version), data_version, settings.as_json(), result)
    return result


def load_or_fit(engine, user_db, settings: FitSettings, data_version: str,
                as_of: date | None = None) -> tuple[dict, bool]:
    """(fit, fitted_now): the persisted fit when there is one, else a new fit, persisted."""
    found = load_fit(user_db, settings, data_version)
    if found is not None:
        return found, False
    rfm = calibration_rfm(engine, settings, as_of)
    return fit_and_store(rfm, user_db, settings, data_version), True


@dataclass(frozen=True)
class ValueSettings:
    horizon_months: int = clv.HORIZON_MONTHS_DEFAULT
    annual_discount: float = clv.ANNUAL_DISCOUNT_DEFAULT
    cost_to_serve: bool = True


def account_values(engine, fitres: dict, as_of: date, filters: Filters,
                   vs: ValueSettings) -> pd.DataFrame:
    """Per account (customers passing the filters, with a purchase to ``as_of``): the columns of
    ``clv.customer_values`` plus name, name_zh, the filter dimensions and past ``revenue``.

    An account's values depend on the fit, ``as_of`` and ``vs``, never on the filters (each
    customer is valued on its own): the first call values every customer and holds the table
    in the engine (in its byte budget), later filter changes select rows from it. A call for
    named customers with nothing held values only them (the account page)."""
    unit = fitres.get("time_unit", "W")
    key = ("account_values", _fit_digest(fitres), as_of, unit, vs)
    held = engine.held(key)
    if held is None and filters.customer_ids is not None:
        return _values(fitres, vs, *engine.value_inputs(as_of, unit, filters))[0]
    if held is None:
        held = engine.derived(
            key, lambda: _values(fitres, vs, *engine.value_inputs(as_of, unit, None)))
    table, pos = held
    if not filters.restricts_customers():
        return table.copy(deep=False)  # copy-on-write: a caller's change never reaches the held table
    return table[engine.customer_mask(filters)[pos]].reset_index(drop=True)


def _values(fitres: dict, vs: ValueSettings, rfm, margins, attrs, pos) -> tuple[pd.DataFrame, np.ndarray]:
    values = clv.customer_values(fitres, rfm, margins, vs.horizon_months, vs.annual_discount,
                                 cost_to_serve=vs.cost_to_serve)
    values["revenue"] = rfm["revenue"].to_numpy()
    values["last_date"] = rfm["last_date"].to_numpy()
    return pd.concat([values, attrs], axis=1), pos


def _fit_digest(fitres: dict) -> str:
    """A fit's identity for holding values computed from it (the stored fit is read anew on
    every page run, so its object identity would never match)."""
    return hashlib.sha256(json.dumps(fitres, sort_keys=True, default=repr).encode()).hexdigest()


def validation(engine, fitres: dict, settings: FitSettings, as_of: date,
               scope: tuple[str, ...] | None = None) -> dict | None:
    """Holdout check and tracking curve: {predicted, actual, error, track} of the customers of
    ``scope`` (None: every customer); None without a holdout (or no customer of the scope in
    the calibration period)."""
    if as_of <= settings.calibration_end:
        return None
    rfm = calibration_rfm(engine, settings, as_of)
    if scope is not None:  # an account's RFM is its own: the scope's rows are its RFM
        rfm = rfm[rfm["customer_id"].astype(str).isin(list(scope))].reset_index(drop=True)
        if rfm.empty:
            return None
    units = holdout_units(settings, as_of)
    check = clv.holdout_check(fitres, rfm, units)
    track = engine.repeat_purchase_track(settings.calibration_end, as_of, settings.time_unit,
                                         None if scope is None else Filters(scope=scope))
    first = pd.to_datetime(rfm["first_date"]).min()
    n = int((pd.Timestamp(as_of) - first).days // clv.UNIT_DAYS[settings.time_unit]) + 1
    curve = clv.tracking(fitres, rfm, track, n)
    days = (curve["period"] + 1) * clv.UNIT_DAYS[settings.time_unit]
    curve["date"] = first + pd.to_timedelta(days, unit="D")
    return {**check, "track": curve}
