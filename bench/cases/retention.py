"""Benchmark case of the Retention & value page (run by the bench/ harness).

kamdash_step: what a page view computes for one filter state: monthly cohort matrix, defection
rates, and, when a fit is persisted for the data, reading it and valuing the filtered accounts
(never a refit). pandas_step: the cohort matrix and the RFM summary in plain pandas from the order
lines. fit_step: one full fit (BG/NBD + Gamma-Gamma with PyMC-Marketing), persisted in the user
database next to the sales file, as the page does on a first visit.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kamdash import config, retention
from kamdash.analytics import cohorts

NAME = "retention"


def _db_path(backend) -> Path:
    rows = backend.con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()").fetchall()
    return Path(rows[0][0])


def _settings(facts) -> retention.FitSettings:
    return retention.FitSettings("bgnbd", retention.TIME_UNIT_DEFAULT,
                                 retention.calibration_end(facts["as_of"], retention.HOLDOUT_MONTHS_DEFAULT))


def kamdash_step(backend, filters) -> dict:
    """{"cohorts": monthly retention matrix (all cohorts), "rfm": RFM to the as-of date indexed by
    customer_id, "defection": monthly defection rates, "values": per-account values from the
    persisted fit, or None when nothing is persisted yet}."""
    facts = backend.data_facts()
    matrix, _ = cohorts.retention_matrix(backend.cohort_counts(filters, "M"), "M",
                                         last_period=facts["last_month"], max_cohorts=None)
    rates = cohorts.defection_rates(backend.activity_gaps(filters), 3, facts["last_month"])
    rfm = backend.rfm_summary(facts["as_of"], retention.TIME_UNIT_DEFAULT, filters)
    fit = retention.load_fit(config.user_db_path(_db_path(backend)), _settings(facts), facts["data_version"])
    values = None
    if fit is not None:
        values = retention.account_values(backend, fit, facts["as_of"], filters, retention.ValueSettings())
    return {"cohorts": matrix, "rfm": rfm.set_index("customer_id"), "defection": rates, "values": values}


def pandas_step(data, filters) -> dict:
    """{"cohorts": monthly retention matrix, "rfm": RFM summary} in plain pandas from the order
    lines (the same conventions as the query layer)."""
    lines, customers = data.lines, data.customers
    keep = customers
    for col, values in filters.dimension_values().items():
        if values:
            keep = keep[keep[col].isin(values)]
    end = pd.to_datetime(lines["order_date"]).max()
    lines = lines[lines["customer_id"].isin(keep["customer_id"])]
    # cohort matrix (months with an order)
    month = pd.to_datetime(lines["order_date"]).dt.to_period("M")
    act = pd.DataFrame({"customer_id": lines["customer_id"], "month": month}).drop_duplicates()
    act["cohort"] = act.groupby("customer_id")["month"].transform("min")
    act["k"] = (act["month"] - act["cohort"]).apply(lambda d: d.n)
    counts = act.groupby(["cohort", "k"])["customer_id"].nunique().unstack(fill_value=0)
    matrix = counts.div(counts[0], axis=0)
    # the same shape as kamdash's: cohorts as month starts, months after the data end unobserved
    last = end.to_period("M")
    unobserved = [[(c + k) > last for k in matrix.columns] for c in matrix.index]
    matrix = matrix.mask(pd.DataFrame(unobserved, index=matrix.index, columns=matrix.columns))
    matrix.index = matrix.index.to_timestamp()
    # RFM summary to the last day (same-day orders merged, purchase days = days with a
    # non-negative line)
    day = lines.assign(order_date=pd.to_datetime(lines["order_date"]), bought=lines["revenue"] >= 0)
    days = day.groupby(["customer_id", "order_date"]).agg(revenue=("revenue", "sum"),
                                                          bought=("bought", "any"))
    days = days[days["bought"]].reset_index()
    g = days.groupby("customer_id")["order_date"]
    first, last = g.min(), g.max()
    rfm = pd.DataFrame({"frequency": g.size() - 1, "recency": (last - first).dt.days / 7,
                        "T": (end - first).dt.days / 7})
    rep = days[days["order_date"] > days["customer_id"].map(first)]
    rfm["monetary_value"] = rep[rep["revenue"] > 0].groupby("customer_id")["revenue"].mean()
    return {"cohorts": matrix, "rfm": rfm.fillna({"monetary_value": 0.0})}


def fit_step(backend):
    facts = backend.data_facts()
    settings = _settings(facts)
    rfm = retention.calibration_rfm(backend, settings, facts["as_of"])
    return retention.fit_and_store(rfm, config.user_db_path(_db_path(backend)), settings,
                                   facts["data_version"])
