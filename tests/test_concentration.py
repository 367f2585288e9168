"""Concentration analytics: hand-computed examples, properties (hypothesis), agreement with plain
pandas from order lines, the tier filter, the CLI and the bench case."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import date
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.cases import concentration as bench_case
from kamdash import cli
from kamdash.analytics import pareto
from kamdash.engine import _ibis, connect
from kamdash.engine.filters import Filters
from tests import reference
from tests.conftest import read_table
from tests.independent import Raw

Q2 = Filters(start=date(2025, 4, 1), end=date(2025, 6, 1))
H1 = Filters(start=date(2025, 1, 1), end=date(2025, 6, 1))
YEAR = Filters(start=date(2025, 10, 1), end=date(2026, 9, 1))


def brute_gini(v) -> float:
    """Σᵢ Σⱼ |xᵢ − xⱼ| / (2·N·Σ|xᵢ|), by the double sum."""
    v = np.asarray(v, dtype=float)
    return float(np.abs(v[:, None] - v[None, :]).sum() / (2 * len(v) * np.abs(v).sum()))


# ------------------------------------------------------------------ hand-computed examples

def test_readouts_by_hand_50_30_10_10():
    v = [10, 50, 10, 30]
    assert pareto.top_share(v, 0.25) == 0.5  # ceil(0.25*4) = 1 customer: 50/100
    assert pareto.top_share(v, 0.5) == 0.8
    assert pareto.top_share(v, 0.01) == 0.5  # ceil(0.04) = 1
    # Lorenz (ascending 10,10,30,50): 0, .1, .2, .5, 1; area = (.1+.2+.5+1 - .5)/4 = .325
    assert pareto.gini(v) == pytest.approx(1 - 2 * 0.325) == pytest.approx(0.35)
    assert pareto.gini(v) == pytest.approx(brute_gini(v))
    assert pareto.gini_signed(v) == pytest.approx(0.35)
    assert pareto.hhi(v) == pytest.approx(0.25 + 0.09 + 0.01 + 0.01)
    assert pareto.customers_for_share(v, 0.8) == (2, 0.5)  # 50 + 30 reach 80 exactly
    assert pareto.customers_for_share(v, 0.81) == (3, 0.75)
    lz = pareto.lorenz_curve(v)
    assert lz["customer_share"].tolist() == [0, 0.25, 0.5, 0.75, 1]
    assert lz["value_share"].tolist() == pytest.approx([0, 0.1, 0.2, 0.5, 1])
    r = pareto.readouts(v)
    assert r["customers"] == 4 and r["total"] == 100 and r["loss_makers"] == 0
    assert r["top"][0.2] == 0.5 and r["top"][0.1] == 0.5


def test_equal_and_single_customer():
    assert pareto.gini([7, 7, 7]) == 0
    assert pareto.hhi([7, 7, 7, 7]) == pytest.approx(0.25)
    assert pareto.gini([0, 0, 0, 9]) == pytest.approx(0.75)  # (N-1)/N: one customer has it all
    assert pareto.hhi([0, 0, 0, 9]) == 1
    assert math.isnan(pareto.gini([])) and math.isnan(pareto.gini([0, 0]))


def test_negative_values_by_hand():
    v = [6, 4, -5]  # total 5, sizes 15
    assert pareto.top_share(v, 1 / 3) == pytest.approx(6 / 5)  # above 100%: the others lose money
    # |diffs|: 9, 11, 2 -> 44 ordered; 44 / (2*3*15)
    assert pareto.gini(v) == pytest.approx(44 / 90)
    assert pareto.gini_signed(v) == pytest.approx(44 / 30)  # the plain formula exceeds 1
    assert pareto.hhi(v) == pytest.approx((36 + 16 + 25) / 225)
    assert pareto.customers_for_share(v, 0.8) == (1, 1 / 3)
    lz = pareto.lorenz_curve(v)
    assert lz["value_share"].tolist() == pytest.approx([0, -1, -0.2, 1])  # dips below zero
    r = pareto.readouts(v)
    assert r["loss_makers"] == 1 and r["losses"] == 5
    # a total that is not positive: shares undefined, Gini still describes the spread
    assert math.isnan(pareto.top_share([3, -5])) and pareto.lorenz_curve([3, -5]).empty
    assert pareto.gini([3, -5]) == pytest.approx(16 / 32)


def test_whale_and_loss_makers_on_the_tiny_database(tiny):
    facts = tiny.customer_facts(Q2)
    # account profit: A 2500-1500-300 = 700, B 300-150-100 = 50, C 0-0-50 = -50, D 100-90-20 = -10
    assert dict(zip(facts["customer_id"], facts["account_profit"])) == {"A": 700, "B": 50, "C": -50, "D": -10}
    s = pareto.whale_summary(facts)
    assert s["peak"] == pytest.approx(750 / 690) and s["peak_customers"] == 2
    assert s["peak_customer_share"] == 0.5 and s["loss_makers"] == 2 and s["losses"] == 60
    w = pareto.whale_curve(facts)
    assert w["profit_share"].tolist() == pytest.approx([0, 700 / 690, 750 / 690, 740 / 690, 1])

    worst = pareto.loss_makers(facts)
    assert worst["customer_id"].tolist() == ["C", "D"]
    c, d = worst.iloc[0], worst.iloc[1]
    # C (dealer, no sales, no other dealer): all of its loss is cost-to-serve
    assert c["main_reason"] == "cost_to_serve" and c["why_cost_to_serve"] == pytest.approx(50)
    assert c["peer_group"] == "portfolio" and c["peer_profit"] == 0
    # D (end customer) against B, the other end customer (tests/test_losses.py works it out):
    # peer profit 12.5 on D's list sales of 100; discounts 0, returns -12.5, cost-to-serve -5,
    # mix 40; 12.5 - 22.5 = -10
    assert d["peer_group"] == "end_customer" and d["peers"] == 1 and d["peer_profit"] == pytest.approx(12.5)
    assert [d[f"why_{r}"] for r in pareto.LOSS_REASONS] == pytest.approx([0, -12.5, -5, 40])
    assert d["main_reason"] == "mix" and d["account_margin"] == pytest.approx(-0.1)


def test_abc_tiers_by_hand_and_in_sql(tiny):
    facts = tiny.customer_facts(H1)
    # revenue H1 2025: A 3500, B 600, C 200, D 100 (total 4400); above B: 3500/4400 = 79.5% < 80%
    tiers = pareto.abc_tiers(pareto.population(facts, "revenue"), "revenue")
    assert dict(zip(tiers["customer_id"], tiers["tier"])) == {"A": "A", "B": "A", "C": "B", "D": "C"}
    assert pareto.customers_for_share(tiers["value"], 0.8)[0] == 2  # A tier = customers for 80%
    summary = pareto.tier_summary(tiers)
    assert summary["tier"].tolist() == ["A", "B", "C", "L"]  # no loss-maker by revenue: L is empty
    assert summary["customers"].tolist() == [2, 1, 1, 0]
    assert summary["revenue"].tolist() == [4100, 200, 100, 0]
    assert summary["avg_order"].tolist()[:3] == pytest.approx([4100 / 5, 200 / 1, 100 / 1])
    tight = pareto.abc_tiers(pareto.population(facts, "revenue"), "revenue", (0.5, 0.9))
    assert tight["tier"].tolist() == ["A", "B", "C", "C"]
    sql = _ibis.to_frame(reference.customer_tiers(tiny.ibis.table("customer_month"), H1.start, H1.end))
    assert dict(zip(sql["customer_id"], sql["tier"])) == {"A": "A", "B": "A", "C": "B", "D": "C"}
    with pytest.raises(ValueError):
        pareto.abc_tiers(facts, "revenue", (0.9, 0.8))


def test_tier_filter_restricts_every_query(tiny):
    f = replace(Q2, tiers=("A",), tier_period=(H1.start, H1.end))
    assert sorted(tiny.customer_facts(f)["customer_id"]) == ["A", "B"]
    # previous() keeps the accounts of the chosen period
    assert sorted(tiny.customer_facts(f.previous())["customer_id"]) == ["A", "B"]
    assert replace(Q2, tiers=("A",)).tier_period == (Q2.start, Q2.end)  # anchored at creation
    only_c = replace(f, tiers=("B", "C"), regions=("North China",))
    assert sorted(tiny.customer_facts(only_c)["customer_id"]) == ["C", "D"]


def test_over_time_trend_and_breakdown_by_hand(tiny):
    per = reference.customer_period_facts(tiny, Filters(), "quarter")
    over = pareto.over_time(per, "revenue")
    assert [p.strftime("%Y-%m") for p in over["period"]] == ["2024-10", "2025-01", "2025-04"]
    assert over["customers"].tolist() == [3, 3, 3]  # Q2: A, B, D ordered (C only had cost-to-serve)
    assert over["gini"].iloc[0] == pytest.approx(brute_gini([100, 50, 70]))
    assert over["top_share"].iloc[2] == pytest.approx(2500 / 2900)
    t = pareto.trend(over, "top_share")
    assert t["direction"] == "rising" and t["change"] == pytest.approx(2500 / 2900 - 100 / 220)
    assert pareto.trend(over.head(1), "gini") is None
    years = reference.customer_period_facts(tiny, Filters(), "year")
    assert not years["complete"].any()  # the data covers Oct 2024 - Jun 2025 only
    # the page reads the same numbers computed in the database
    pd.testing.assert_frame_equal(tiny.concentration_over_time(Filters(), "revenue"), over,
                                  check_dtype=False)

    b = pareto.breakdown(tiny.customer_facts(H1), "revenue", "region").set_index("group")
    assert b.loc["East China", "customers"] == 2 and b.loc["East China", "total"] == 4100
    assert b.loc["East China", "top_20"] == pytest.approx(3500 / 4100)
    assert b.loc["North China", "gini"] == pytest.approx(brute_gini([200, 100]))


def test_drilldown(tiny):
    facts = tiny.customer_facts(H1)
    a = pareto.drilldown(facts, "revenue", tier="A")
    assert a["customer_id"].tolist() == ["A", "B"]
    assert a["value_share"].tolist() == pytest.approx([3500 / 4400, 600 / 4400])
    top = pareto.drilldown(facts, "revenue", top_n=3)
    assert top["customer_id"].tolist() == ["A", "B", "C"] and top["tier"].tolist() == ["A", "A", "B"]
    with pytest.raises(ValueError):
        pareto.drilldown(facts, "revenue")


# ------------------------------------------------------------------ properties

values = st.lists(st.floats(min_value=0, max_value=1e9, allow_nan=False, allow_infinity=False), min_size=1, max_size=60)
signed = st.lists(st.floats(min_value=-1e6, max_value=1e9, allow_nan=False, allow_infinity=False), min_size=1, max_size=60)


@settings(max_examples=200, deadline=None)
@given(values)
def test_lorenz_curve_is_monotone_from_0_to_1(v):
    lz = pareto.lorenz_curve(v)
    if sum(v) <= 0:
        assert lz.empty
        return
    y = lz["value_share"].to_numpy()
    assert y[0] == 0 and y[-1] == pytest.approx(1)
    assert (np.diff(y) >= -1e-12).all()
    assert (y <= lz["customer_share"].to_numpy() + 1e-9).all()  # never above the line of equality


@settings(max_examples=200, deadline=None)
@given(values)
def test_gini_in_0_1_for_non_negative_values(v):
    g = pareto.gini(v)
    if sum(v) <= 0:
        assert math.isnan(g)
        return
    assert -1e-9 <= g < 1
    assert g == pytest.approx(pareto.gini_signed(v), abs=1e-9)
    assert g == pytest.approx(brute_gini(v), abs=1e-9)


@settings(max_examples=200, deadline=None)
@given(values, st.floats(min_value=0.001, max_value=1))
def test_top_p_share_is_at_least_p(v, p):
    s = pareto.top_share(v, p)
    if sum(v) <= 0:
        assert math.isnan(s)
        return
    assert s >= p - 1e-9 and s <= 1 + 1e-9


@settings(max_examples=200, deadline=None)
@given(signed)
def test_gini_stays_in_0_1_with_losses(v):
    g = pareto.gini(v)
    if np.abs(v).sum() == 0:
        assert math.isnan(g)
        return
    assert -1e-9 <= g < 1
    assert g == pytest.approx(brute_gini(v), abs=1e-9)
    if sum(v) > 0:  # the plain formula is the normalised one scaled up by Σ|x| / Σx
        assert pareto.gini_signed(v) == pytest.approx(g * np.abs(v).sum() / sum(v), rel=1e-6, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(signed, st.floats(min_value=0.5, max_value=0.9), st.floats(min_value=0.02, max_value=0.1))
def test_abc_tier_a_is_the_customers_needed_for_the_cut_off(v, a, gap):
    facts = pd.DataFrame({"customer_id": [f"c{i:03d}" for i in range(len(v))], "revenue": v,
                          "gross_profit": v, "account_profit": v, "orders": [1] * len(v)})
    tiers = pareto.abc_tiers(facts, "revenue", (a, a + gap))
    assert set(tiers["tier"]) <= {"A", "B", "C", "L"}
    assert set(tiers.loc[tiers["tier"] == "L", "value"]) == {x for x in v if x < 0}  # exactly the negatives
    n_a = int((tiers["tier"] == "A").sum())
    positive = [x for x in v if x > 0]
    if positive:  # A: the fewest customers reaching the cut-off of what the positive ones bring
        assert n_a == pareto.customers_for_share(positive, a)[0]
    else:
        assert n_a == 0
    s = pareto.tier_summary(tiers.assign(gross_profit=tiers["revenue"], account_profit=tiers["revenue"], orders=1))
    # the groups add up to the whole
    assert s["customers"].sum() == len(v) and s["value"].sum() == pytest.approx(sum(v), rel=1e-12, abs=1e-6)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([-50.0, 0.0, 10.0, 10.0, 30.0, 1e6]),
                          st.sampled_from([0, 1, 3]), st.text("xyzé中1", min_size=1, max_size=4)),
                min_size=1, max_size=40, unique_by=lambda t: t[2]),
       st.sampled_from(pareto.VALUE_COLUMNS))
def test_ranking_by_the_customer_key_equals_ranking_by_the_id_strings(rows, value):
    """customer_facts keeps ``ck`` (numbered in customer_id order) and pareto breaks ties by it:
    every ranked output must equal the one computed with the id strings, which are full of
    ties here (values drawn from a handful)."""
    v, orders, ids = (list(x) for x in zip(*rows))
    by_id = pd.DataFrame({"customer_id": ids, "revenue": v, "gross_profit": v[::-1],
                          "account_profit": v, "orders": orders, "discount": 0.0, "returns": 0.0,
                          "cost_to_serve": 1.0, "region": [i[0] for i in ids]})
    keyed = by_id.assign(ck=by_id["customer_id"].map({c: k for k, c in enumerate(sorted(ids), start=1)}))
    order = lambda df: df["customer_id"].tolist()  # noqa: E731
    want = np.lexsort((np.array(ids, dtype=object), -by_id[value].to_numpy()))
    pop_id, pop_k = pareto.population(by_id, value), pareto.population(keyed, value)
    assert order(pareto.ranked(pop_id, value)) == [ids[i] for i in want if i in pop_id.index]
    assert pareto.ranked(pareto.numbers(pop_k), value)["ck"].tolist() == \
        keyed["ck"].loc[pareto.ranked(pop_id, value)["customer_id"].map(dict(zip(ids, range(len(ids)))))].tolist()
    assert order(pareto.loss_makers(keyed, None)) == order(pareto.loss_makers(by_id, None))
    for tier in pareto.TIERS:
        pd.testing.assert_frame_equal(pareto.drilldown(keyed, value, tier=tier),
                                      pareto.drilldown(by_id, value, tier=tier))
    pd.testing.assert_frame_equal(pareto.drilldown(keyed, value, top_n=5), pareto.drilldown(by_id, value, top_n=5))
    a = pareto.tier_summary(pareto.abc_tiers(pareto.numbers(pop_k), value))
    b = pareto.tier_summary(pareto.abc_tiers(pop_id, value).assign(tier=lambda d: d["tier"].astype(str)))
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(pareto.abc_summary(pop_k, value), b, check_exact=False, rtol=1e-12, atol=1e-9)
    # one sort for every readout equals each function on its own; breakdown equals a groupby
    same = lambda x, y: (math.isnan(x) and math.isnan(y)) or x == y  # noqa: E731
    r = pareto.readouts(pop_id[value])
    assert all(same(r["top"][p], pareto.top_share(pop_id[value], p)) for p in pareto.TOP_SHARES)
    k, share = pareto.customers_for_share(pop_id[value])
    assert same(r["for_target"], k) and same(r["for_target_share"], share)
    assert same(r["gini"], pareto.gini(pop_id[value])) and same(r["gini_signed"], pareto.gini_signed(pop_id[value]))
    if pop_id.empty:
        return
    b = pareto.breakdown(keyed, value, "region").set_index("group")
    for group, g in pop_id.groupby("region"):
        assert b.loc[group, "customers"] == len(g) and b.loc[group, "total"] == pytest.approx(g[value].sum())
        assert same(b.loc[group, "gini"], pareto.gini(g[value]))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 5000), unique=True, max_size=60))
def test_in_place_order_sorts_distinct_places(places):
    assert pareto.in_place_order(places).tolist() == np.argsort(places, kind="stable").tolist()


def test_ranking_by_held_places_equals_ranking_by_sorting(small):
    """customer_facts gives each customer's place in the period's order of every customer (held
    per period); ranking a filtered frame by it must equal sorting the frame."""
    from bench.child import filter_states
    for f in filter_states(small):
        facts = small.customer_facts(f)
        sorted_ = facts.drop(columns=[f"place_{v}" for v in pareto.VALUE_COLUMNS])
        assert facts["customer_id"].tolist() == \
            facts["customer_id"].take(pareto.rank_order(facts["revenue"], facts["ck"])).tolist()
        for value in pareto.VALUE_COLUMNS:
            a, b = pareto.population(pareto.numbers(facts), value), pareto.population(sorted_, value)
            assert pareto.ranked(a, value)["ck"].tolist() == pareto.ranked(b, value)["ck"].tolist()
            pd.testing.assert_frame_equal(pareto.tier_summary(pareto.abc_tiers(a, value)),
                                          pareto.tier_summary(pareto.abc_tiers(b, value)))
            pd.testing.assert_frame_equal(pareto.abc_summary(a, value, (0.7, 0.9)),
                                          pareto.tier_summary(pareto.abc_tiers(b, value, (0.7, 0.9))),
                                          check_exact=False, rtol=1e-12)
            r, want = pareto.readouts(pareto.sorted_values(a, value), ordered=True), pareto.readouts(b[value])
            assert r.pop("top") == pytest.approx(want.pop("top"), rel=1e-12, nan_ok=True)
            assert r == pytest.approx(want, rel=1e-12, nan_ok=True)  # sums in another order
            for tier in pareto.TIERS:
                pd.testing.assert_frame_equal(pareto.drilldown(facts, value, tier=tier),
                                              pareto.drilldown(sorted_, value, tier=tier))


# ------------------------------------------------------------------ agreement with order lines

def test_readouts_match_plain_pandas_from_order_lines(small_db):
    b = connect(str(small_db))
    raw = Raw(small_db)
    f = replace(YEAR, regions=("East China", "North China"))
    facts = b.customer_facts(f)
    ids = set(raw.customers.loc[raw.customers["region"].isin(f.regions), "customer_id"])
    s, e = pd.Period(f.start, "M"), pd.Period(f.end, "M")
    lines = raw.lines[(raw.lines["m"] >= s) & (raw.lines["m"] <= e) & raw.lines["customer_id"].isin(ids)]
    cts = raw.cts[(raw.cts["m"] >= s) & (raw.cts["m"] <= e) & raw.cts["customer_id"].isin(ids)]
    rev = lines.groupby("customer_id")["revenue"].sum()
    gp = (lines["revenue"] - lines["cost"]).groupby(lines["customer_id"]).sum()
    ap = gp.reindex(rev.index.union(cts["customer_id"].unique()), fill_value=0).sub(
        cts.groupby("customer_id")["amount"].sum(), fill_value=0)
    for value, expected in (("revenue", rev), ("gross_profit", gp), ("account_profit", ap)):
        got = pareto.readouts(pareto.population(facts, value)[value])
        v = expected.sort_values(ascending=False).to_numpy()
        n, total = len(v), v.sum()
        assert got["customers"] == n and got["total"] == pytest.approx(total, rel=1e-9), value
        for p in pareto.TOP_SHARES:
            assert got["top"][p] == pytest.approx(v[: math.ceil(p * n)].sum() / total, rel=1e-9), (value, p)
        k = next(i + 1 for i, c in enumerate(np.cumsum(v)) if c >= 0.8 * total * (1 - 1e-9))
        assert got["for_target"] == k, value
        assert got["gini"] == pytest.approx(brute_gini(v), rel=1e-9), value
        assert got["hhi"] == pytest.approx(((np.abs(v) / np.abs(v).sum()) ** 2).sum(), rel=1e-9), value
    assert (ap < 0).sum() > 0  # the demo has loss-makers, so the negative path is exercised
    w = pareto.whale_summary(facts)
    assert w["loss_makers"] == (ap < 0).sum() and w["losses"] == pytest.approx(-ap[ap < 0].sum(), rel=1e-9)
    assert w["peak"] == pytest.approx(ap[ap > 0].sum() / ap.sum(), rel=1e-9)


def test_tier_filter_matches_plain_pandas(small_db):
    b = connect(str(small_db))
    raw = Raw(small_db).period(YEAR.start, YEAR.end)["by_customer"]  # revenue by customer, descending
    cum_before = raw.cumsum() - raw
    expected_a = set(raw.index[(cum_before < 0.8 * raw.sum()) & (raw > 0)])
    f = replace(YEAR, tiers=("A",), tier_period=(YEAR.start, YEAR.end))
    got = set(b.customer_facts(f)["customer_id"])
    assert got == expected_a and 0 < len(got) < len(raw)


# ------------------------------------------------------------------ CLI and bench case

def test_cli_concentration_json(tiny_db, capsys):
    assert cli.main(["concentration", "--db", str(tiny_db), "--value", "account_profit",
                     "--from", "2025-04", "--to", "2025-06-30", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["customers"] == 4 and out["total"] == 690
    assert out["top_20_share"] == pytest.approx(700 / 690)
    assert out["customers_for_80"] == 1 and out["customers_for_80_share"] == 0.25
    assert out["gini"] == pytest.approx(brute_gini([700, 50, -50, -10]))
    assert out["hhi"] == pytest.approx((700**2 + 50**2 + 50**2 + 10**2) / 810**2)
    assert cli.main(["concentration", "--db", str(tiny_db), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["value"] == "revenue" and out["total"] == 4620 and out["customers"] == 5
    assert cli.main(["concentration", "--db", str(tiny_db), "--from", "2025-06", "--to", "2025-01"]) == 2


def _close(a, b, path="") -> None:
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b), path
    else:
        assert a == pytest.approx(b, rel=1e-9, abs=1e-6), path


@pytest.mark.parametrize("f", [YEAR, replace(YEAR, sectors=("retail", "government")),
                               replace(YEAR, tiers=("A", "B"), tier_period=(YEAR.start, YEAR.end),
                                       regions=("East China",))],
                         ids=["all", "sectors", "tiers"])
def test_bench_case_kamdash_and_pandas_agree(small_db, f):
    b = connect(str(small_db))
    data = SimpleNamespace(**{k: read_table(small_db, t) for k, t in
                              (("lines", "order_lines"), ("customers", "customers"), ("cts", "cost_to_serve"))})
    ours, theirs = bench_case.kamdash_step(b, f), bench_case.pandas_step(data, f)
    assert bench_case.NAME == "concentration"
    assert ours["revenue"]["customers"] > 0 and ours["over_time"]["periods"] == 8
    _close(ours, theirs)


def test_downloads_round_trip(tiny):
    import io

    from kamdash import export

    d = pareto.drilldown(tiny.customer_facts(H1), "revenue", tier="A")
    d["name_zh"] = ["阿尔法商贸", "贝塔局"]
    csv = export.csv_bytes(d)
    assert csv.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the Chinese names
    back = pd.read_csv(io.BytesIO(csv), encoding="utf-8-sig")
    assert back["customer_id"].tolist() == ["A", "B"] and back["name_zh"].tolist() == ["阿尔法商贸", "贝塔局"]
    xlsx = pd.read_excel(io.BytesIO(export.excel_bytes(d, "tier A")), sheet_name="tier A")
    assert xlsx["revenue"].tolist() == [3500, 600] and xlsx["name_zh"].tolist() == ["阿尔法商贸", "贝塔局"]


def test_bench_case_with_the_harness_inputs(small_db):
    from bench.child import PandasData, filter_states
    from bench.harness import load_cases

    case = load_cases()["concentration"]
    backend, data = connect(str(small_db)), PandasData(str(small_db))
    for f in filter_states(backend)[:3]:
        _close(case.kamdash_step(backend, f), case.pandas_step(data, f))


@pytest.mark.parametrize("value", pareto.VALUE_COLUMNS)
@pytest.mark.parametrize("grain", ["quarter", "year"])
def test_over_time_in_the_database_equals_pandas(small_db, value, grain):
    """Engine.concentration_over_time (window functions in DuckDB) gives exactly what
    pareto.over_time gives from the per-customer rows, also under dimension filters (selected
    by combination), a customer list and a tier filter (selected by a mask per customer)."""
    small = connect(str(small_db))
    opts = small.dimension_options()
    ids = tuple(small.customer_facts(Filters())["customer_id"][::3])
    for f in (Filters(), Filters(regions=(sorted(opts["region"])[0],)),
              Filters(regions=tuple(sorted(opts["region"])[:2]), sectors=(sorted(opts["sector"])[1],)),
              Filters(customer_ids=ids), Filters(tiers=("A",), regions=(sorted(opts["region"])[1],))):
        want = pareto.over_time(reference.customer_period_facts(small, f, grain), value)
        got = small.concentration_over_time(f, value, grain)
        assert len(got) == len(want) > 0
        pd.testing.assert_frame_equal(got, want, check_dtype=False, rtol=1e-9)


def test_customer_facts_are_held_per_period_and_callers_cannot_change_them(small):
    """customer_facts keeps every customer's row per period and a filter change selects from it:
    a filtered frame equals the unfiltered frame's rows of the customers the filter keeps, and
    what a caller writes into a frame it got never reaches the held frame (copy-on-write)."""
    from bench.child import filter_states
    states = filter_states(small)
    every = small.customer_facts(states[0])
    want = every.copy(deep=True)
    every.loc[:, "revenue"] = -1.0  # a caller scribbling on its frame
    every["extra"] = 1
    again = small.customer_facts(states[0])
    pd.testing.assert_frame_equal(again, want)
    for f in states[1:]:
        got = small.customer_facts(f)
        every = small.customer_facts(Filters(start=f.start, end=f.end))
        keep = small.customer_mask(f)[every["ck"].to_numpy() - 1]
        assert 0 < keep.sum() < len(every)
        pd.testing.assert_frame_equal(got, every[keep].reset_index(drop=True))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([-50.0, 0.0, 0.0, 10.0, 10.0, 30.0, 1e6, 1e-300]),
                          st.sampled_from([0, 1, 3])), min_size=1, max_size=40),
       st.sampled_from(pareto.VALUE_COLUMNS), st.sampled_from([(0.8, 0.95), (0.5, 0.6), (0.2, 1.0)]))
def test_tier_sums_by_runs_equal_tier_sums_by_code(rows, value, cutoffs):
    """A frame in its value's order (tiers are runs of rows: summed by slices) gives the same ABC
    table as the same frame shuffled (summed by code), and as ``tier_summary`` of ``abc_tiers``."""
    v = np.array([r[0] for r in rows])
    order = pareto.rank_order(v, pd.Series(np.arange(len(v))))
    ranked = pd.DataFrame({"ck": np.arange(1, len(v) + 1),
                           "revenue": v[order], "gross_profit": v[order] / 2, "account_profit": v[order] - 5,
                           "orders": np.array([r[1] for r in rows])[order]})
    for c in pareto.VALUE_COLUMNS:  # places of a period's every customer: 0.. in this value's order
        ranked[f"place_{c}"] = np.argsort(pareto.rank_order(ranked[c], ranked["ck"]))
    shuffled = ranked.sample(frac=1, random_state=len(rows)).reset_index(drop=True)
    got = pareto.abc_summary(ranked, value, cutoffs)
    pd.testing.assert_frame_equal(got, pareto.abc_summary(shuffled, value, cutoffs), rtol=1e-9)
    pd.testing.assert_frame_equal(got, pareto.tier_summary(pareto.abc_tiers(shuffled, value, cutoffs)),
                                  rtol=1e-9, check_dtype=False)
    order = pareto.order_by(shuffled, value)  # ranked once by the caller (the page) gives the same
    pd.testing.assert_frame_equal(pareto.abc_summary(shuffled, value, cutoffs, order), got, rtol=1e-9)
    assert (pareto.sorted_values(shuffled, value, order) == pareto.sorted_values(shuffled, value)).all()


def test_population_is_a_slice_when_the_customers_with_an_order_come_first(small):
    """``customer_facts`` puts the customers with an order first (each part in revenue order), so
    revenue's population is a slice; a frame in another order gets the same rows by a mask."""
    facts = small.customer_facts(YEAR)
    has = facts["orders"].to_numpy() > 0
    k = int(has.sum())
    assert 0 < k < len(facts) and has[:k].all()  # the small demo has cost-to-serve-only customers
    for part in (facts.iloc[:k], facts.iloc[k:]):
        assert (np.diff(part["place_revenue"].to_numpy()) > 0).all()
    pop = pareto.population(facts, "revenue")
    assert len(pop) == k and np.shares_memory(pop["revenue"].to_numpy(), facts["revenue"].to_numpy())
    mixed = facts.iloc[::-1]
    pd.testing.assert_frame_equal(pareto.population(mixed, "gross_profit"), mixed[mixed["orders"] > 0])
