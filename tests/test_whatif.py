"""What-if: formulas against hand computations, properties (hypothesis), the baseline on the
tiny database by hand, scenarios in the user database, the pinned-scenario function for slides."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kamdash import store
from kamdash.analytics import whatif as w
from kamdash.engine import connect
from kamdash.engine.filters import Filters
from kamdash.views import whatif as view
from tests.conftest import ROOT

# ---------------------------------------------------------------- formulas by hand


def test_retention_rate_clv_by_hand():
    assert w.clv(100, 0.8, 0.1) == pytest.approx(266.6667, abs=1e-4)  # 100·0.8 / 0.3
    assert w.clv(100, 0.8, 0.1, 1) == pytest.approx(100 * 0.8 / 1.1)
    assert w.clv(100, 0.8, 0.1, 2) == pytest.approx(100 * (0.8 / 1.1 + 0.8 ** 2 / 1.1 ** 2))
    assert w.clv(100, 0.8, 0.1, 400) == pytest.approx(w.clv(100, 0.8, 0.1), rel=1e-9)
    assert w.clv(100, 1.1, 0.1, 3) == pytest.approx(300)  # r = 1 + d: every year counts fully
    assert w.new_customer_value(100, 0.8, 0.1) == pytest.approx(100 / 0.3)
    assert w.new_customer_value(100, 0.8, 0.1, 2) == pytest.approx(100 / 1.1 + 100 * 0.8 / 1.21)
    assert w.annuity(1.0, 0.1, 3) == pytest.approx(1 + 1 / 1.1 + 1 / 1.21)
    assert w.annuity(0.8, 0.1) == pytest.approx(1 / (1 - 0.8 / 1.1))


def one_cell(n=10, r=0.8, m=100.0, new=2):
    n0 = 100
    return pd.DataFrame([{"segment": "", "ka_types": "", "tier": "A", "customers_prev": n0,
                          "retained": int(r * n0), "new": new, "customers": n, "profit": m * n,
                          "profit_sq": m * m * n}]).pipe(w.finish_cells)


def test_scenario_by_hand():
    cells = one_cell()
    a = w.arrays(cells)
    p = w.Params(defection_pts=-5, discount=0.1, horizon=0, cost=10)
    ev = w.evaluate(a, w.targeted(cells, p), p)
    assert ev["equity_before"] == pytest.approx(10 * 80 / 0.3)
    assert ev["equity_after"] == pytest.approx(10 * 85 / 0.25)
    assert ev["equity_pct"] == pytest.approx(3400 / (800 / 0.3) - 1)  # +27.5%
    assert ev["profit_before"] == pytest.approx((10 * 0.8 + 2) * 100)
    assert ev["profit_after"] == pytest.approx((10 * 0.85 + 2) * 100 - 10 * 10)
    cost_pv = 10 * 10 / (1 - 0.85 / 1.1)
    assert ev["programme_cost_pv"] == pytest.approx(cost_pv)
    assert ev["roi"] == pytest.approx((3400 - 800 / 0.3 - cost_pv) / cost_pv)
    # payback: cumulative discounted gain vs cost, year by year, written out
    gain = cost = 0.0
    for t in range(1, 50):
        cost += 100 * 0.85 ** (t - 1) / 1.1 ** (t - 1)
        gain += 10 * 100 * (0.85 ** t - 0.8 ** t) / 1.1 ** t
        if gain >= cost:
            break
    assert ev["payback_years"] == t == 5


def test_margin_change_uses_the_size_of_the_margin_and_total_cost():
    cells = pd.concat([one_cell(m=100.0), one_cell(m=-50.0).assign(tier="C")]).pipe(w.finish_cells)
    a = w.arrays(cells)
    p = w.Params(margin_pct=10, horizon=0, cost=1000, cost_mode="total")
    ev = w.evaluate(a, w.targeted(cells, p), p)
    before = 10 * w.clv(100, 0.8, 0.1) + 10 * w.clv(-50, 0.8, 0.1)
    after = 10 * w.clv(110, 0.8, 0.1) + 10 * w.clv(-45, 0.8, 0.1)
    assert ev["equity_delta"] == pytest.approx(after - before)
    assert ev["programme_cost_pv"] == pytest.approx(1000 * 1.1 / 0.1)


def test_targeting_extra_customers_and_share_of_defection():
    cells = pd.concat([one_cell(r=0.98).assign(tier="A", segment="1 · Big"),
                       one_cell(r=0.5).assign(tier="B", ka_types="economic,group")]).pipe(w.finish_cells)
    assert list(w.targeted(cells, w.Params(target_tiers=("B",)))) == [False, True]
    assert list(w.targeted(cells, w.Params(target_ka=("group",)))) == [False, True]
    assert list(w.targeted(cells, w.Params(target_segments=("1 · Big",)))) == [True, False]
    a = w.arrays(cells)
    # 5 points less defection across both groups: their average defection (0.02 + 0.5) / 2 =
    # 0.26 falls to 0.21, each group losing the same share 0.05 / 0.26 of its own defection
    p = w.Params(defection_pts=-5, horizon=0)
    ev = w.evaluate(a, w.targeted(cells, p), p)
    s = 0.05 / 0.26
    r_a, r_b = 1 - 0.02 * (1 - s), 1 - 0.5 * (1 - s)
    assert ev["equity_after"] == pytest.approx(10 * w.clv(100, r_a, 0.1) + 10 * w.clv(100, r_b, 0.1))
    assert ev["defection_targeted_before"] == pytest.approx(0.26)
    assert ev["defection_targeted_after"] == pytest.approx(0.21) and ev["points_applied"] == pytest.approx(5)
    # tier A alone loses only 2% a year: 5 points take all of it (2 points applied), r = 1
    pa = w.Params(defection_pts=-5, target_tiers=("A",), horizon=0)
    eva = w.evaluate(a, w.targeted(cells, pa), pa)
    assert eva["points_applied"] == pytest.approx(2)
    assert eva["equity_after"] == pytest.approx(10 * w.clv(100, 1.0, 0.1) + 10 * w.clv(100, 0.5, 0.1))
    # more defection adds the points to every targeted group
    worse = w.evaluate(a, w.targeted(cells, w.Params(defection_pts=3)), w.Params(defection_pts=3, horizon=0))
    assert worse["equity_after"] == pytest.approx(10 * w.clv(100, 0.95, 0.1) + 10 * w.clv(100, 0.47, 0.1))
    full = pd.concat([one_cell(r=1.0), one_cell(r=0.5)]).pipe(w.finish_cells)  # a group kept everyone
    none = w.evaluate(w.arrays(full), w.targeted(full, w.Params()), w.Params())
    assert none["equity_delta"] == 0 and none["points_applied"] == 0
    p2 = w.Params(new_customers=7, horizon=3)
    ev2 = w.evaluate(a, w.targeted(cells, p2), p2)
    assert ev2["equity_delta"] == pytest.approx(7 * w.new_customer_value(100, (0.98 + 0.5) / 2, 0.1, 3))
    assert ev2["profit_delta"] == pytest.approx(7 * 100)
    assert ev2["equity_delta_new"] == pytest.approx(ev2["equity_delta"]) and ev2["profit_delta_new"] == 700


def test_profitable_groups_are_targeted_by_default_and_the_change_is_split():
    """A profitable group (margin 100, r 0.8) and a loss-making one (margin −50, r 0.6), ten
    customers each, unlimited horizon, d = 10%."""
    cells = pd.concat([one_cell(), one_cell(r=0.6, m=-50.0).assign(tier="C")]).pipe(w.finish_cells)
    a = w.arrays(cells)
    assert list(w.targeted(cells, w.Params())) == [True, False]
    assert list(w.targeted(cells, w.Params(target_profitable=False))) == [True, True]
    assert w.Params.from_json({"defection_pts": -5}).target_profitable is False  # saved before the choice
    assert w.Params.from_json(w.Params().as_json()).target_profitable is True
    # default: only the profitable group, 5 points: 0.8 -> 0.85
    p = w.Params(defection_pts=-5, horizon=0)
    ev = w.evaluate(a, w.targeted(cells, p), p)
    assert ev["equity_delta"] == pytest.approx(10 * (w.clv(100, 0.85, 0.1) - w.clv(100, 0.8, 0.1)))
    assert ev["equity_delta_loss_making"] == 0 and ev["targeted_loss_making"] == 0
    # everyone: average defection (0.2 + 0.4) / 2 = 0.3 falls by 5 points, share 1/6 each
    q = w.Params(defection_pts=-5, horizon=0, target_profitable=False)
    ev = w.evaluate(a, w.targeted(cells, q), q)
    r_gain, r_loss = 1 - 0.2 * 5 / 6, 1 - 0.4 * 5 / 6
    gain = 10 * (w.clv(100, r_gain, 0.1) - w.clv(100, 0.8, 0.1))
    loss = 10 * (w.clv(-50, r_loss, 0.1) - w.clv(-50, 0.6, 0.1))
    assert ev["equity_delta_profitable"] == pytest.approx(gain) and gain > 0
    assert ev["equity_delta_loss_making"] == pytest.approx(loss) and loss < 0
    assert ev["equity_delta"] == pytest.approx(gain + loss)
    assert ev["profit_delta_profitable"] == pytest.approx(10 * (r_gain - 0.8) * 100)
    assert ev["profit_delta_loss_making"] == pytest.approx(10 * (r_loss - 0.6) * -50)
    assert ev["targeted_loss_making"] == 10
    # aimed at the loss-makers alone, a deeper cut lowers equity, and run says so
    c = w.Params(defection_pts=-5, target_tiers=("C",), target_profitable=False)
    assert w.deeper_cut_lowers_equity(a, w.targeted(cells, c), c)
    assert not w.deeper_cut_lowers_equity(a, w.targeted(cells, p), p)
    assert w.run(cells, c, draws=20)["result"]["deeper_cut_lowers_equity"] is True


def test_projection_year_one_is_next_years_profit():
    cells = one_cell()
    p = w.Params(defection_pts=-5, cost=10, horizon=3)
    a = w.arrays(cells)
    proj = w.projection(a, w.targeted(cells, p), p)
    ev = w.evaluate(a, w.targeted(cells, p), p)
    assert list(proj["year"]) == [1, 2, 3]
    assert proj["before"].iloc[0] == pytest.approx(ev["profit_before"])
    assert proj["after"].iloc[0] == pytest.approx(ev["profit_after"])
    assert proj["before"].iloc[1] == pytest.approx(((10 * 0.8 + 2) * 0.8 + 2) * 100)


def test_reichheld_sasser_and_tornado():
    cells = one_cell()
    a = w.arrays(cells)
    rs = w.reichheld_sasser(a, w.Params(horizon=0))
    assert rs["equity_pct"] == pytest.approx(0.275) and rs["where"] == "within"
    assert w.reichheld_sasser(a, w.Params(horizon=1))["where"] == "below"
    p = w.Params(defection_pts=-3, cost=5)
    tor = w.tornado(a, w.targeted(cells, p), p)
    assert set(tor["lever"]) == set(w.LEVERS)
    steps = tor.set_index("lever")["step"]
    assert steps["defection"] == 2 and steps["margin"] == 10 and steps["cost"] == 2.5
    assert steps["new_customers"] == 1  # 1% of 10 customers, at least one
    lo = w.evaluate(a, w.targeted(cells, p), replace(p, defection_pts=-5))["net_value"]
    assert tor.set_index("lever").loc["defection", "low"] == pytest.approx(lo)
    assert (tor["swing"].diff().dropna() <= 1e-9).all()  # largest swing first
    row = tor.set_index("lever").loc["defection"]
    assert row["low"] > row["base"] > row["high"]  # less defection: more net gain


def test_uncertainty_band_contains_the_estimate_and_is_zero_for_no_change():
    cells = pd.concat([one_cell(), one_cell(r=0.6, m=40.0).assign(tier="B")]).pipe(w.finish_cells)
    cells["profit_sq"] *= 1.5  # some spread of profit within the groups
    a = w.arrays(cells)
    p = w.Params(defection_pts=-5)
    band = w.uncertainty(a, w.targeted(cells, p), p)
    ev = w.evaluate(a, w.targeted(cells, p), p)
    assert band["equity_delta_lo"] < ev["equity_delta"] < band["equity_delta_hi"]
    zero = w.uncertainty(a, w.targeted(cells, w.Params()), w.Params())
    assert zero["equity_delta_lo"] == zero["equity_delta_hi"] == 0


# ---------------------------------------------------------------- properties


cell_lists = st.lists(st.tuples(st.integers(1, 500), st.floats(0.0, 1.0), st.floats(1.0, 1e6),
                                st.integers(0, 100)), min_size=1, max_size=6)


def _cells(rows):
    return pd.DataFrame([{"segment": str(i), "ka_types": "", "tier": "A", "customers_prev": 1000,
                          "retained": round(r * 1000), "new": new, "customers": n, "profit": m * n,
                          "profit_sq": m * m * n} for i, (n, r, m, new) in enumerate(rows)]).pipe(w.finish_cells)


@settings(max_examples=60, deadline=None)
@given(cell_lists, st.floats(0.5, 20), st.floats(0.01, 0.3), st.sampled_from([0, 1, 3, 5, 10, 20]))
def test_less_defection_never_lowers_equity_with_positive_margin(rows, pts, d, h):
    cells = _cells(rows)
    a = w.arrays(cells)
    base = w.Params(discount=d, horizon=h)
    better = replace(base, defection_pts=-pts)
    worse = replace(base, defection_pts=pts)
    mask = w.targeted(cells, base)
    e0, e1, e2 = (w.evaluate(a, mask, p)["equity_after"] for p in (base, better, worse))
    assert e1 >= e0 - 1e-6 * abs(e0)
    assert e2 <= e0 + 1e-6 * abs(e0)


mixed_cells = st.lists(st.tuples(st.integers(1, 500), st.floats(0.0, 1.0), st.floats(-1e5, 1e5),
                                 st.integers(0, 100), st.sampled_from("ABC")), min_size=1, max_size=6)


@settings(max_examples=80, deadline=None)
@given(mixed_cells, st.floats(0, 30), st.floats(0, 30), st.floats(0.01, 0.3), st.sampled_from([0, 1, 3, 5, 10]),
       st.sets(st.sampled_from("ABC")), st.booleans(), st.floats(-30, 30), st.floats(0, 500), st.integers(0, 50))
def test_more_reduction_never_lowers_equity_or_profit_of_profitable_groups(rows, x1, x2, d, h, tiers, prof,
                                                                           margin, cost, new):
    """Whatever else the scenario holds (targets, margin change, cost, new customers), a deeper
    cut of defection never lowers customer equity or next year's profit when every targeted
    group makes money (and the extra new customers, valued at the average margin, too); the
    split adds up to the total."""
    cells = pd.DataFrame([{"segment": str(i), "ka_types": "", "tier": t, "customers_prev": 1000,
                           "retained": round(r * 1000), "new": nw, "customers": n, "profit": m * n,
                           "profit_sq": m * m * n} for i, (n, r, m, nw, t) in enumerate(rows)]).pipe(w.finish_cells)
    a = w.arrays(cells)
    small, big = sorted((x1, x2))
    base = w.Params(discount=d, horizon=h, target_tiers=tuple(sorted(tiers)), target_profitable=prof,
                    margin_pct=margin, cost=cost, new_customers=new)
    mask = w.targeted(cells, base)
    e1, e2 = (w.evaluate(a, mask, replace(base, defection_pts=-x)) for x in (small, big))
    for e in (e1, e2):
        assert e["equity_delta"] == pytest.approx(e["equity_delta_profitable"] + e["equity_delta_loss_making"]
                                                  + e["equity_delta_new"], rel=1e-9, abs=1e-6)
        assert e["profit_delta"] + e["programme_cost_year1"] == pytest.approx(
            e["profit_delta_profitable"] + e["profit_delta_loss_making"] + e["profit_delta_new"], rel=1e-9, abs=1e-6)
        assert e["points_applied"] <= max(small, big) + 1e-9
    m_new = np.average(a.m + np.abs(a.m) * margin / 100, weights=a.n)  # what an extra new customer brings
    if (a.m[mask] > 0).all() and (new == 0 or m_new > 0):
        tol = 1e-9 * max(abs(e1["equity_after"]), 1.0)
        assert e2["equity_after"] >= e1["equity_after"] - tol
        assert e2["profit_after"] >= e1["profit_after"] - 1e-9 * max(abs(e1["profit_after"]), 1.0)
    if prof:
        assert e2["equity_delta_loss_making"] == pytest.approx(w.evaluate(a, mask, replace(base, margin_pct=margin))[
            "equity_delta_loss_making"], abs=1e-6)  # loss-makers untouched by the defection lever


@settings(max_examples=40, deadline=None)
@given(cell_lists, st.floats(0.01, 0.3), st.sampled_from([0, 2, 7]))
def test_no_change_gives_no_delta(rows, d, h):
    cells = _cells(rows)
    ev = w.evaluate(w.arrays(cells), w.targeted(cells, w.Params()), w.Params(discount=d, horizon=h))
    assert ev["equity_delta"] == 0 and ev["profit_delta"] == 0 and ev["net_value"] == 0


# ---------------------------------------------------------------- baseline on the tiny database


def test_cells_of_categorical_columns_equal_cells_of_strings():
    """The baseline gives tier, segment and KA types as categoricals (no string per customer):
    the cells must be those of the same values as strings, categories unsorted or unused."""
    rng = np.random.default_rng(3)
    n = 400
    plain = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)],
                          "prev_active": rng.random(n) < 0.7, "cur_active": rng.random(n) < 0.8,
                          "profit": rng.normal(100, 50, n),
                          "segment": rng.choice(["2 · Big", "1 · Small", ""], n),
                          "ka_types": rng.choice(["economic", "", "group,strategic"], n),
                          "tier": rng.choice(["C", "A", "B"], n)})
    cats = plain.assign(**{c: pd.Categorical(plain[c], categories=[*sorted(set(plain[c]), reverse=True), "unused"])
                           for c in ("segment", "ka_types", "tier")})
    pd.testing.assert_frame_equal(w.cells(cats), w.cells(plain))


def test_baseline_on_the_tiny_database_by_hand(tiny_db):
    """Three-month "years" (Apr-Jun 2025 vs Jan-Mar 2025). Last year: A (Feb), B (Jan), C (Mar);
    this year: A (May), B (Apr), D (Jun, new). Account profit this year: A 2,500 − 1,500 − 300 =
    700; B 400 − 200 − 100 + 50 (return) − 100 = 50; D 100 − 90 − 20 = −10. Tiers this year by
    revenue A 2,500 / B 300 / D 100 → A, B, C; C (lost) by last year's 1,000/300/200 → B."""
    b = connect(str(tiny_db))
    base = view.baseline(b, Filters(end=date(2025, 6, 1)), date(2025, 6, 1), date(2024, 10, 1),
                         year_months=3)
    assert base.year == (date(2025, 4, 1), date(2025, 6, 1))
    assert base.previous == (date(2025, 1, 1), date(2025, 3, 1)) and base.covered
    tot = base.overall
    assert (tot["customers_prev"], tot["retained"], tot["new"], tot["customers"]) == (3, 2, 1, 3)
    assert tot["retention"] == pytest.approx(2 / 3)
    assert tot["profit"] == pytest.approx(740) and tot["margin"] == pytest.approx(740 / 3)
    tiers = w.by_dimension(base.cells, "tier").set_index("group")
    assert tiers.loc["A", ["customers_prev", "retained", "customers", "profit"]].tolist() == [1, 1, 1, 700]
    assert tiers.loc["B", ["customers_prev", "retained", "customers", "profit"]].tolist() == [2, 1, 1, 50]
    assert tiers.loc["C", ["customers_prev", "retained", "customers", "profit"]].tolist() == [0, 0, 1, -10]
    assert tiers.loc["C", "clv"] == pytest.approx(w.clv(-10, 2 / 3, 0.1, 5))  # no last-year customers: overall r
    # with an assignment: segments and KA types join the cells
    a = pd.DataFrame({"customer_id": ["A", "B"], "segment": [1, 2], "segment_name": ["Big", "Small"],
                      "ka_types": ["economic,group", "important"]})
    base2 = view.baseline(b, Filters(end=date(2025, 6, 1)), date(2025, 6, 1), date(2024, 10, 1),
                          assignment=a, year_months=3)
    seg = w.by_dimension(base2.cells, "segment").set_index("group")
    assert seg.loc["1 · Big", "customers"] == 1 and seg.loc["", "customers_prev"] == 1  # C has none
    ka = w.by_dimension(base2.cells, "ka_type").set_index("group")
    assert sorted(ka.index) == ["economic", "group", "important"]
    # The assignment knows only today's customers (C, lost, has no segment): a segment's
    # retention is its tiers' rate (A: 1/1; B: 1/2), not the 100% of survivors, and 3 points
    # less defection is worth exactly what it is worth without the assignment (the cells split
    # each tier's customers, and value is linear in margin).
    assert seg.loc["1 · Big", "retention"] == pytest.approx(1.0)  # A is tier A
    assert seg.loc["2 · Small", "retention"] == pytest.approx(0.5)  # B is tier B: 1 of B and C kept
    p = w.Params(defection_pts=-3.0)
    with_a, without = (w.evaluate(w.arrays(x.cells), w.targeted(x.cells, p), p) for x in (base2, base))
    assert with_a["equity_delta"] == pytest.approx(without["equity_delta"]) and without["equity_delta"] > 0
    # By hand: tier A (r 1, margin 700) and B (r 1/2, margin 50) make money, C (D: margin −10,
    # no last-year customer: the overall r = 2/3) loses it. Default, profitable only: today's
    # targeted customers (A, B) lose (0 + 0.5) / 2 = 0.25 a year; 3 points less is a share 0.12
    # of each group's defection: B 0.5 -> 0.56, A stays at 1.
    rb = 1 - 0.5 * (1 - 0.03 / 0.25)
    assert rb == pytest.approx(0.56)
    assert without["profit_delta"] == pytest.approx((0.56 - 0.5) * 50)  # 3.0
    assert without["equity_delta"] == pytest.approx(sum(50 * (0.56 ** t - 0.5 ** t) / 1.1 ** t for t in range(1, 6)))
    assert without["equity_delta_loss_making"] == 0 and without["targeted_loss_making"] == 0
    # everyone: (0 + 0.5 + 1/3) / 3 = 0.2778 falls by 3 points (share 0.108): B -> 0.554,
    # D 2/3 -> 0.7027, whose loss of 10 a year now lasts longer
    allp = w.Params(defection_pts=-3.0, target_profitable=False)
    ev = w.evaluate(w.arrays(base.cells), w.targeted(base.cells, allp), allp)
    share = 0.03 / ((0.5 + 1 / 3) / 3)
    rb, rd = 1 - 0.5 * (1 - share), 1 - (1 / 3) * (1 - share)
    assert (rb, rd) == (pytest.approx(0.554), pytest.approx(0.70267, abs=1e-5))
    assert ev["profit_delta_profitable"] == pytest.approx((rb - 0.5) * 50)  # 2.70
    assert ev["profit_delta_loss_making"] == pytest.approx((rd - 2 / 3) * -10)  # -0.36
    assert ev["profit_delta"] == pytest.approx(2.34)
    assert ev["equity_delta_loss_making"] == pytest.approx(
        sum(-10 * (rd ** t - (2 / 3) ** t) / 1.1 ** t for t in range(1, 6)))
    b.close()


def test_baseline_twelve_months_matches_plain_pandas(small_db):
    from tests.conftest import read_table

    b = connect(str(small_db))
    facts = b.data_facts()
    base = view.baseline(b, Filters(), facts["last_month"], facts["first_month"])
    lines = read_table(small_db, "order_lines")
    cts = read_table(small_db, "cost_to_serve")
    m = pd.to_datetime(lines["order_date"]).dt.to_period("M")
    last = pd.Period(facts["last_month"], "M")
    cur = lines[(m > last - 12) & (m <= last)]
    prev = lines[(m > last - 24) & (m <= last - 12)]
    ordered = lambda df: set(df.groupby("customer_id").size().index)  # noqa: E731  (any order line)
    cur_ids, prev_ids = ordered(cur), ordered(prev)
    tot = base.overall
    assert tot["customers"] == len(cur_ids) and tot["customers_prev"] == len(prev_ids)
    assert tot["retained"] == len(cur_ids & prev_ids)
    cm = pd.to_datetime(cts["month"]).dt.to_period("M")
    c_cur = cts[(cm > last - 12) & (cm <= last) & cts["customer_id"].isin(cur_ids)]["amount"].sum()
    profit = (cur["revenue"] - cur["cost"]).sum() - c_cur
    assert tot["profit"] == pytest.approx(profit, rel=1e-9)
    b.close()


# ---------------------------------------------------------------- scenarios and slides


def test_scenario_round_trip_list_and_delete(tmp_path):
    path = tmp_path / "user.duckdb"
    p = w.Params(defection_pts=-5.5, target_tiers=("A", "B"), target_ka=("economic",), margin_pct=3,
                 discount=0.08, horizon=0, cost_mode="total", cost=12_000, new_customers=4)
    sid = store.put_scenario(path, "Tier A & B care 关怀", p.as_json(), {"equity_pct": 0.12}, "Li Na")
    got = store.get_scenario(path, sid)
    assert w.Params.from_json(got["params"]) == p
    assert got["name"] == "Tier A & B care 关怀" and got["created_by"] == "Li Na"
    assert got["results"] == {"equity_pct": 0.12}
    store.put_scenario(path, "second", w.Params().as_json(), {}, "")
    listed = store.list_scenarios(path)
    assert set(listed["name"]) == {"Tier A & B care 关怀", "second"}
    store.delete_scenario(path, sid)
    assert store.get_scenario(path, sid) is None and len(store.list_scenarios(path)) == 1


def test_scenarios_survive_a_sales_reimport(tmp_path):
    from tests.conftest import fill_tiny

    sales = tmp_path / "sales.duckdb"
    store.build_sales_db(sales, fill_tiny, source="tests")
    from kamdash import config

    user = config.user_db_path(sales)
    sid = store.put_scenario(user, "kept", w.Params(defection_pts=-2).as_json(), {}, "me")
    store.build_sales_db(sales, fill_tiny, source="tests again")
    assert store.get_scenario(user, sid)["name"] == "kept"


def test_pinned_scenario_for_slides(small_db):
    b = connect(str(small_db))
    labels = {"title": "Before and after", "profit": "Profit next year", "equity": "Customer equity",
              "before": "Before", "after": "After", "interval": "90% interval"}
    pin = view.pinned(b, Filters(), {"defection_pts": -5, "horizon": 0}, labels)
    h = pin.headline
    assert isinstance(pin.figure, go.Figure)
    assert h["equity_after"] > h["equity_before"] and h["equity_delta_lo"] <= h["equity_delta"] <= h["equity_delta_hi"]
    assert h["rs"]["equity_pct"] == pytest.approx(h["equity_pct"])  # the same change, for everyone
    assert h["baseline"]["customers"] > 0
    assert [bar.name for bar in pin.figure.data] == ["Before", "After"]
    b.close()


def test_probabilistic_view_reads_the_stored_fit_without_pymc(small_db, small_fit):
    code = f"""
import sys
from kamdash import config
from kamdash.engine.filters import Filters
from kamdash.engine import connect
from kamdash.views import whatif as view
b = connect({str(small_db)!r})
facts = b.data_facts()
found = view.stored_fit(config.user_db_path(config.db_path({str(small_db)!r})), facts)
assert found is not None
fit, fs = found
base = view.baseline(b, Filters(), facts["last_month"], facts["first_month"])
rfm, margins = view.probabilistic_inputs(b, fit, facts["as_of"], Filters(), base.customers["customer_id"])
values = view.probabilistic_values(fit, rfm, margins, 60, 0.1)
eq = view.probabilistic_equity(values, fit)
assert eq["equity_lo"] <= eq["equity"] <= eq["equity_hi"] and eq["customers"] == len(values) > 0
assert not any(m.startswith(("pymc", "pytensor")) for m in sys.modules), "PyMC imported"
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"


def test_params_from_json_ignores_unknown_and_coerces():
    p = w.Params.from_json({"defection_pts": "-3", "horizon": "7", "target_tiers": ["A"], "junk": 1})
    assert p == w.Params(defection_pts=-3.0, horizon=7, target_tiers=("A",), target_profitable=False)
    assert np.isfinite(w.clv(50, 0.99, 0.01)) and np.isfinite(w.clv(50, 1.0, 0.01))


def test_bench_case_matches_its_pandas_baseline_and_recomputes_without_queries(small_db):
    from bench.child import PandasData, filter_states, same
    from bench.harness import load_cases

    b = connect(str(small_db))
    case = load_cases()["whatif"]
    data = PandasData(str(small_db))
    for f in filter_states(b)[:2]:
        assert same(case.kamdash_step(b, f), case.pandas_step(data, f)) is None, f
    base = case.prepare(b, filter_states(b)[0])
    b.close()  # a slider move needs no database
    out = case.interaction_step(base, 3)
    assert set(out) == {"result", "band", "rs", "tornado", "projection"}


def test_near_one_is_numpys_isclose_to_one():
    q = np.array([1.0, 1 + 1e-5, 1 + 1.1e-5, 1 - 1e-5, 1 - 1.1e-5, 0.0, 2.0, np.nan, np.inf, -np.inf,
                  1 + 1e-5 + 1e-8, 1 + 1e-5 + 2e-8, 0.99999])
    assert w._near_one(q).tolist() == np.isclose(q, 1.0).tolist()
    assert bool(w._near_one(np.float64(1.0))) and not bool(w._near_one(np.float64(0.9)))


# ---------------------------------------------------------------- the whatif command


def test_whatif_command_gives_the_views_numbers(small_db, capsys):
    import json

    from kamdash import cli, config

    assert cli.main(["whatif", "--db", str(small_db), "--defection-change", "-5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    b = connect(str(small_db))
    facts = b.data_facts()
    assignment, cut = view.stored_choices(config.user_db_path(small_db))
    base = view.baseline(b, Filters(), facts["last_month"], facts["first_month"], assignment, cut)
    b.close()
    p = w.Params(defection_pts=-5)  # the page's defaults: profitable groups, 5 years, 10%
    ev = w.evaluate(w.arrays(base.cells), w.targeted(base.cells, p), p)
    assert out["params"] == p.as_json()
    for key, name in (("customer_equity", "equity"), ("profit_next_year", "profit")):
        assert out[key]["before"] == pytest.approx(ev[f"{name}_before"])
        assert out[key]["after"] == pytest.approx(ev[f"{name}_after"])
        groups = out["groups"]
        assert groups["profitable"][key]["before"] + groups["loss_making"][key]["before"] == pytest.approx(
            out[key]["before"])  # cells with a zero margin add nothing
        assert groups["profitable"][key]["change"] + groups["loss_making"][key]["change"] == pytest.approx(
            out[key]["change"])
    assert out["groups"]["loss_making"]["targeted_customers"] == 0 < out["groups"]["loss_making"]["customers"]
    assert out["customer_equity"]["change"] > 0 and out["points_applied"] == pytest.approx(
        min(5, 100 * out["defection_targeted_before"]))
    # every customer: the loss-making groups are kept longer too, and cost equity
    assert cli.main(["whatif", "--db", str(small_db), "--defection-change", "-5", "--target", "all",
                     "--horizon", "0", "--discount-rate", "0.08", "--json"]) == 0
    every = json.loads(capsys.readouterr().out)
    q = w.Params(defection_pts=-5, target_profitable=False, horizon=0, discount=0.08)
    ev = w.evaluate(w.arrays(base.cells), w.targeted(base.cells, q), q)
    assert every["customer_equity"]["after"] == pytest.approx(ev["equity_after"])
    assert every["groups"]["loss_making"]["customer_equity"]["change"] == pytest.approx(ev["equity_delta_loss_making"])
    assert ev["equity_delta_loss_making"] < 0
    assert cli.main(["whatif", "--db", str(small_db), "--defection-change", "-5", "--target", "a,b", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"]["target_tiers"] == ["A", "B"]


@pytest.mark.parametrize("args, message", [
    (["--target", "D"], "--target 'D'"), (["--discount-rate", "0"], "--discount-rate 0.0"),
    (["--horizon", "-1"], "--horizon -1")])
def test_whatif_command_says_what_is_wrong(small_db, capsys, args, message):
    from kamdash import cli

    assert cli.main(["whatif", "--db", str(small_db), "--defection-change", "-5", *args]) == 2
    assert message in capsys.readouterr().err
