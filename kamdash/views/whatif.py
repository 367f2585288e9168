"""Data of the What-if page, and the pinned-scenario numbers for slides (no Streamlit).

``baseline`` reads the sales data once per filter state (two years of per-customer totals and
ABC tiers, from the arrays the engine holds) and returns the small table of cells
that every slider move recomputes on (``analytics.whatif``). ``probabilistic`` values the same
customers with the stored BG/NBD or Pareto/NBD fit of the retention page (never fits, never
imports PyMC). ``pinned`` gives a slide its headline numbers and before/after figure from a
saved scenario's params.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import pandas as pd

from kamdash import retention
from kamdash.analytics import clv as clv_model
from kamdash.analytics import pareto, whatif
from kamdash.analytics.ka_types import KA_TYPES  # noqa: F401 (for the UI)
from kamdash.charts import whatif as charts
from kamdash.engine.filters import TIER_CUTOFFS_SETTING, Filters, add_months, month_start

YEAR_MONTHS = 12
PROBABILISTIC_UNLIMITED_YEARS = 20  # the probabilistic model needs a finite horizon


@dataclass(frozen=True)
class Baseline:
    cells: pd.DataFrame  # analytics.whatif.cells
    customers: pd.DataFrame  # per customer: customer_id, prev_active, cur_active, profit, ...
    year: tuple[date, date]  # first and last month of the current year
    previous: tuple[date, date]  # ... of the year before
    covered: bool  # the data covers the whole previous year (retention is complete)

    @property
    def overall(self) -> dict:
        return whatif.overall(self.cells)


def years(filters: Filters, last_month: date,
          months: int = YEAR_MONTHS) -> tuple[Filters, Filters]:
    """The current year (12 months to the end of the chosen period, or of the data) and the year
    before, with the same dimension filters (``months``: the period length, 12 outside tests)."""
    end = filters.end or month_start(last_month)
    cur = replace(filters, start=add_months(end, -(months - 1)), end=end)
    return cur, cur.previous()


def _assigned(assignment: pd.DataFrame | None) -> pd.DataFrame:
    cols = ["customer_id", "segment", "ka_types"]
    if assignment is None or len(assignment) == 0:
        return pd.DataFrame(columns=cols)
    a = assignment
    seg = a["segment"].astype("Int64").astype(str) + " · " + a["segment_name"].fillna("")
    return pd.DataFrame({"customer_id": a["customer_id"],
                         "segment": seg.where(a["segment"].notna(), ""),
                         "ka_types": a["ka_types"].fillna("")})


def baseline(engine, filters: Filters, last_month: date, first_month: date,
             assignment: pd.DataFrame | None = None,
             tier_cutoffs: tuple[float, float] = pareto.ABC_CUTOFFS_DEFAULT,
             year_months: int = YEAR_MONTHS) -> Baseline:
    """Per customer with an order last year or this year: whether it ordered in each year, its
    account profit this year, its segment and KA types (stored assignment) and its ABC tier
    (this year's revenue when it ordered this year, else last year's), summed into cells."""
    cur_f, prev_f = years(filters, last_month, year_months)
    cur, prev = engine.period_values(cur_f, 2, cols=("account_profit",))  # prev_f = cur_f.previous()
    profit = np.zeros(len(cur["active"]))
    profit[cur["idx"]] = cur["account_profit"]
    pos = np.flatnonzero(cur["active"] | prev["active"])  # in customer key (= customer_id) order
    df = pd.DataFrame({"customer_id": engine.keys.ids.take(pos),
                       "prev_active": prev["active"][pos], "cur_active": cur["active"][pos],
                       "profit": np.where(cur["active"][pos], profit[pos], 0.0)})
    # tiers over every customer with an order that year, whatever the other filters
    t_cur = engine.tier_codes(cur_f.start, cur_f.end, tier_cutoffs)[pos]
    t_prev = engine.tier_codes(prev_f.start, prev_f.end, tier_cutoffs)[pos]
    # categoricals: no string per customer is built (tier code 0, no order that year, is C)
    df["tier"] = pd.Categorical.from_codes(np.array([2, 0, 1, 2])[np.where(t_cur > 0, t_cur, t_prev)],
                                           categories=["A", "B", "C"])
    if assignment is not None and len(assignment):
        df = df.merge(_assigned(assignment), on="customer_id", how="left")
        df["segment"] = df["segment"].fillna("").astype(str)
        df["ka_types"] = df["ka_types"].fillna("").astype(str)
    else:
        none = pd.Categorical.from_codes(np.zeros(len(df), dtype=np.int8), categories=[""])
        df["segment"], df["ka_types"] = none, none.copy()
    cells = whatif.cells(df)
    if assignment is not None and len(assignment):
        cells = whatif.retention_by_tier(cells)  # the assignment knows only today's customers
    return Baseline(cells=cells, customers=df, year=(cur_f.start, cur_f.end),
                    previous=(prev_f.start, prev_f.end), covered=prev_f.covered_by(first_month))


def stored_fit(user_db, facts: dict) -> tuple[dict, retention.FitSettings] | None:
    """The fit the retention page stores with its default settings (BG/NBD, then Pareto/NBD),
    or None. Reading never fits and never imports PyMC."""
    end = retention.calibration_end(facts["as_of"], retention.HOLDOUT_MONTHS_DEFAULT)
    for model in clv_model.MODELS:
        fs = retention.FitSettings(model, retention.TIME_UNIT_DEFAULT, end)
        fit = retention.load_fit(user_db, fs, facts["data_version"])
        if fit is not None:
            return fit, fs
    return None


def probabilistic_inputs(engine, fit: dict, as_of: date, filters: Filters,
                         customer_ids) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The queries behind the probabilistic view (once per filter state): the RFM summary of the
    baseline's customers to ``as_of`` and their margins (the retention page's inputs)."""
    rfm = engine.rfm_summary(as_of, fit.get("time_unit", "W"), filters)
    rfm = rfm[rfm["customer_id"].isin(set(customer_ids))].reset_index(drop=True)
    return rfm, engine.customer_margins(as_of)


def probabilistic_values(fit: dict, rfm: pd.DataFrame, margins: pd.DataFrame, horizon_months: int,
                         discount: float) -> pd.DataFrame:
    """Per-account values from the stored fit (no query): the retention page's value with
    cost-to-serve, over ``horizon_months`` at the annual ``discount``."""
    return clv_model.customer_values(fit, rfm, margins, int(horizon_months), float(discount),
                                     cost_to_serve=True)


def probabilistic_equity(values: pd.DataFrame, fit: dict) -> dict:
    """{equity, equity_lo, equity_hi, customers}: Σ CLV with the fit's Laplace interval."""
    if values.empty:
        return {"equity": 0.0, "equity_lo": 0.0, "equity_hi": 0.0, "customers": 0}
    row = clv_model.equity(values, fit).iloc[0]
    return {"equity": float(row["equity"]), "equity_lo": float(row["equity_lo"]),
            "equity_hi": float(row["equity_hi"]), "customers": int(row["customers"])}


def horizon_months(p: whatif.Params) -> int:
    return YEAR_MONTHS * (int(p.horizon) or PROBABILISTIC_UNLIMITED_YEARS)


# ---------------------------------------------------------------- slides


@dataclass(frozen=True)
class Pinned:
    headline: dict  # analytics.whatif.evaluate + band (_lo/_hi) + rs + baseline overall
    figure: object  # plotly go.Figure: before vs after (profit next year, customer equity)
    params: whatif.Params


def pinned(engine, filters: Filters, params: dict | whatif.Params, labels: dict,
           lang: str = "en", currency: str = "CNY", assignment: pd.DataFrame | None = None,
           tier_cutoffs: tuple[float, float] = pareto.ABC_CUTOFFS_DEFAULT) -> Pinned:
    """Headline numbers and the before/after figure of a saved scenario, without Streamlit.

    ``params``: the scenario's params (``store.get_scenario(...)["params"]`` or a Params);
    ``labels``: translated texts for the figure (see ``charts.whatif.before_after``: title,
    profit, equity, before, after, interval). The headline holds equity_before/after/delta/pct,
    profit_before/after/delta/pct, programme_cost_pv, net_value, roi, payback_years, their
    uncertainty band (``equity_delta_lo`` ...), ``rs`` (5 points less defection vs 25-85%) and
    ``baseline`` (customers, retention, margin, profit this year)."""
    p = params if isinstance(params, whatif.Params) else whatif.Params.from_json(params)
    facts = engine.data_facts()
    base = baseline(engine, filters, facts["last_month"], facts["first_month"], assignment, tier_cutoffs)
    out = whatif.run(base.cells, p)
    headline = {**out["result"], **out["band"], "rs": out["rs"], "baseline": base.overall}
    fig = charts.before_after(out["result"], out["band"], labels, lang, currency)
    return Pinned(headline=headline, figure=fig, params=p)


# ---------------------------------------------------------------- scripts


def stored_choices(user_db) -> tuple[pd.DataFrame | None, tuple[float, float]]:
    """What the page reads from the user database besides the sales data: the stored customer
    assignment (segments, KA types; None without one) and the saved ABC cut-offs."""
    from kamdash import store

    a = store.get_assignment(user_db)
    cut = pareto.abc_cutoffs(store.get_setting(user_db, TIER_CUTOFFS_SETTING,
                                                            pareto.ABC_CUTOFFS_DEFAULT))
    return (a if a is not None and len(a) else None), cut


def target_params(target: str, defection_change: float, horizon: int, discount: float) -> whatif.Params:
    """Params from a script's target: ``all`` (every customer), ``profitable`` (the cells with a
    positive margin, the page's default) or tiers such as ``A,B`` (exactly those tiers)."""
    t = (target or "profitable").strip()
    if t in ("all", "profitable"):
        return whatif.Params(defection_pts=float(defection_change), target_profitable=(t == "profitable"),
                             horizon=int(horizon), discount=float(discount))
    tiers = tuple(x.strip().upper() for x in t.split(",") if x.strip())
    bad = [x for x in tiers if x not in ("A", "B", "C")]
    if bad or not tiers:
        raise ValueError(f"--target {target!r}: write all, profitable or ABC tiers such as A,B")
    return whatif.Params(defection_pts=float(defection_change), target_tiers=tiers, target_profitable=False,
                         horizon=int(horizon), discount=float(discount))


def numbers(base: Baseline, p: whatif.Params) -> dict:
    """A scenario's answer as plain JSON values: customer equity and next year's profit before
    and after, in total and split into the groups with a positive margin (profitable) and a
    negative one (loss_making), plus extra new customers and the R&S comparison."""
    out = whatif.run(base.cells, p, draws=1)  # the sampling band is not part of this answer
    r, rs = out["result"], out["rs"]

    def pair(before, delta):
        return {"before": before, "after": before + delta, "change": delta,
                "change_pct": delta / abs(before) if before else None}

    groups = {}
    for g in ("profitable", "loss_making"):
        groups[g] = {"customers": int(r[f"{g}_customers"]),
                     "targeted_customers": int(r[f"targeted_{g}"]),
                     "customer_equity": pair(r[f"equity_before_{g}"], r[f"equity_delta_{g}"]),
                     "profit_next_year": pair(r[f"profit_before_{g}"], r[f"profit_delta_{g}"])}
    tot = base.overall
    return {
        "year": [base.year[0].isoformat(), base.year[1].isoformat()],
        "previous_year": [base.previous[0].isoformat(), base.previous[1].isoformat()],
        "params": p.as_json(),
        "customers": int(tot["customers"]), "retention": tot["retention"],
        "targeted_customers": int(r["targeted_customers"]),
        "defection_targeted_before": r["defection_targeted_before"],
        "defection_targeted_after": r["defection_targeted_after"], "points_applied": r["points_applied"],
        "customer_equity": pair(r["equity_before"], r["equity_delta"]),
        "profit_next_year": pair(r["profit_before"], r["profit_delta"]),
        "groups": groups,
        "new_customers": {"customer_equity_change": r["equity_delta_new"], "profit_change": r["profit_delta_new"]},
        "deeper_cut_lowers_equity": bool(r["deeper_cut_lowers_equity"]),
        "equity_change_without_loss_makers": r["equity_delta_without_loss_makers"],
        "reichheld_sasser": {k: rs[k] for k in ("points", "equity_pct", "profit_pct", "where", "low", "high",
                                                "points_applied", "profitable_equity_pct")},
    }


# ---------------------------------------------------------------- what the page computes on the baseline
# Pure arithmetic on the cached baseline (no query): a slider move costs no read.

Params = whatif.Params
DISCOUNT_DEFAULT = whatif.DISCOUNT_DEFAULT
HORIZON_DEFAULT = whatif.HORIZON_DEFAULT
COST_MODES = whatif.COST_MODES
INTERVAL_LEVEL = whatif.INTERVAL_LEVEL
PAYBACK_MAX_YEARS = whatif.PAYBACK_MAX_YEARS
DRAWS = whatif.DRAWS
LEVERS = whatif.LEVERS
CLV_INTERVAL_LEVEL = clv_model.INTERVAL_LEVEL


def outcome(base: Baseline, p: whatif.Params) -> dict:
    """analytics.whatif.run on the baseline's cells: result, band, projection, R&S, tornado."""
    return whatif.run(base.cells, p)


def by_dimension(base: Baseline, dim: str, p: whatif.Params) -> pd.DataFrame:
    """analytics.whatif.by_dimension: the baseline by segment, KA type or tier."""
    return whatif.by_dimension(base.cells, dim, p.discount, p.horizon)


def rs_unlimited(base: Baseline, p: whatif.Params) -> dict:
    """Reichheld & Sasser's 5 points less defection on the baseline with no horizon."""
    return whatif.reichheld_sasser(whatif.arrays(base.cells), whatif.Params(discount=p.discount, horizon=0))


def scenario_results(base: Baseline, saved: list[tuple[str, dict]]) -> list[tuple[str, whatif.Params, dict]]:
    """(name, params, analytics.whatif.evaluate) of saved scenarios, recomputed on this baseline
    (data and filters of today)."""
    a = whatif.arrays(base.cells)
    out = []
    for name, params in saved:
        p = whatif.Params.from_json(params)
        out.append((name, p, whatif.evaluate(a, whatif.targeted(base.cells, p), p)))
    return out


def fit_trusted(fit: dict) -> bool:
    """analytics.clv.trust: enough repeat buyers for the stored fit to be trusted."""
    return bool(clv_model.trust(fit)["ok"])
