"""Benchmark case of the What-if page (run by the bench/ harness).

kamdash_step: the baseline a filter change computes once (two per-customer aggregates of
customer_month and two tier queries, summed into cells; kamdash.views.whatif.baseline), with the
headline numbers of one scenario. pandas_step: the same baseline from the order lines in plain
pandas. interaction_step: what a slider move recomputes on the cached baseline (pure arithmetic:
result, uncertainty band, Reichheld & Sasser, tornado, projection), never a query.
"""

from __future__ import annotations

import pandas as pd

from kamdash.analytics import whatif
from kamdash.views import whatif as view

NAME = "whatif"
SCENARIO = whatif.Params(defection_pts=-5, target_tiers=("A", "B"), cost=500.0, new_customers=20)
SLIDER_STATES = [whatif.Params(defection_pts=-x / 2, margin_pct=x % 7, horizon=(0, 3, 5, 10)[x % 4], cost=100.0 * x)
                 for x in range(12)]


def _summary(base: view.Baseline) -> dict:
    tiers = whatif.by_dimension(base.cells, "tier").set_index("group")
    return {"overall": {k: base.overall[k] for k in ("customers_prev", "retained", "new", "customers", "profit")},
            "tiers": {t: [int(tiers.loc[t, c]) if c != "profit" else float(tiers.loc[t, c])
                          for c in ("customers_prev", "retained", "customers", "profit")]
                      for t in sorted(tiers.index)}}


def _baseline(backend, filters) -> view.Baseline:
    facts = backend.data_facts()
    return view.baseline(backend, filters, facts["last_month"], facts["first_month"])


def kamdash_step(backend, filters) -> dict:
    base = _baseline(backend, filters)
    out = _summary(base)
    out["equity_pct"] = whatif.run(base.cells, SCENARIO)["result"]["equity_pct"]
    return out


def prepare(backend, filters) -> view.Baseline:
    """The cached baseline a slider move works on."""
    return _baseline(backend, filters)


def interaction_step(base: view.Baseline, i: int) -> dict:
    """One slider move: everything the page recomputes (no query)."""
    return whatif.run(base.cells, SLIDER_STATES[i % len(SLIDER_STATES)])


def _tiers(lines: pd.DataFrame) -> pd.Series:
    """ABC tier by revenue over every customer with an order (same rule as the query layer)."""
    rev = lines.groupby("customer_id")["revenue"].sum().reset_index()
    rev = rev.sort_values(["revenue", "customer_id"], ascending=[False, True])
    total = rev["revenue"].sum()
    before = (rev["revenue"].cumsum() - rev["revenue"]) / total
    eps = 1e-9
    tier = pd.Series("C", index=rev.index)
    tier[(before < 0.80 * (1 - eps)) & (rev["revenue"] > 0)] = "A"
    tier[(before >= 0.80 * (1 - eps)) & (before < 0.95 * (1 - eps)) & (rev["revenue"] > 0)] = "B"
    return pd.Series(tier.to_numpy(), index=rev["customer_id"].to_numpy())


def pandas_step(data, filters) -> dict:
    """The baseline from the order lines: customers per year, retained, new, account profit, and
    the same per ABC tier, then the scenario's change of equity."""
    lines, cts = data.lines, data.cts
    keep = data.customers
    for col, values in filters.dimension_values().items():
        if values:
            keep = keep[keep[col].isin(values)]
    ids = set(keep["customer_id"])
    month = pd.to_datetime(lines["order_date"]).dt.to_period("M")
    end = pd.Period(filters.end, "M") if filters.end else month.max()
    cur_all = lines[(month > end - 12) & (month <= end)]
    prev_all = lines[(month > end - 24) & (month <= end - 12)]
    cur, prev = cur_all[cur_all["customer_id"].isin(ids)], prev_all[prev_all["customer_id"].isin(ids)]
    cur_ids, prev_ids = set(cur["customer_id"]), set(prev["customer_id"])
    cm = pd.to_datetime(cts["month"]).dt.to_period("M")
    c = cts[(cm > end - 12) & (cm <= end) & cts["customer_id"].isin(cur_ids)]
    profit = (cur.assign(gp=cur["revenue"] - cur["cost"]).groupby("customer_id")["gp"].sum()
              .sub(c.groupby("customer_id")["amount"].sum(), fill_value=0.0))
    t_cur, t_prev = _tiers(cur_all), _tiers(prev_all)
    people = pd.DataFrame({"customer_id": sorted(cur_ids | prev_ids)})
    people["prev_active"] = people["customer_id"].isin(prev_ids)
    people["cur_active"] = people["customer_id"].isin(cur_ids)
    people["profit"] = people["customer_id"].map(profit).fillna(0.0)
    people["tier"] = people["customer_id"].map(t_cur).fillna(people["customer_id"].map(t_prev)).fillna("C")
    people["segment"] = ""
    people["ka_types"] = ""
    cells = whatif.cells(people)
    tot = whatif.overall(cells)
    tiers = {}
    for t, g in people.groupby("tier"):
        tiers[t] = [int(g["prev_active"].sum()), int((g["prev_active"] & g["cur_active"]).sum()),
                    int(g["cur_active"].sum()), float(g.loc[g["cur_active"], "profit"].sum())]
    return {"overall": {k: tot[k] for k in ("customers_prev", "retained", "new", "customers", "profit")},
            "tiers": dict(sorted(tiers.items())),
            "equity_pct": whatif.run(cells, SCENARIO, draws=10)["result"]["equity_pct"]}
