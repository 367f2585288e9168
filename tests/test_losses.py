"""Why loss-makers lose money (analytics.losses) and the ABC groups with loss-makers apart,
against figures worked out by hand on the tiny database (tests/conftest.py), and the identity
"peer profit − causes = account profit" as a property."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kamdash.analytics import losses, pareto
from kamdash.engine import _ibis, _periods, connect
from kamdash.engine.filters import Filters
from tests import reference

Q2 = Filters(start=date(2025, 4, 1), end=date(2025, 6, 1))
CAUSE_COLUMNS = [f"cause_{c}" for c in losses.CAUSES]


@pytest.fixture(scope="module")
def q2(tiny):
    return tiny.customer_facts(Q2)


def test_parts_by_hand(q2):
    # Q2 2025 on the tiny database:
    # A (distributor): revenue 2500, cost 1500, discount 200, no returns, cost-to-serve 300
    # B (end customer): revenue 400 - 100 = 300, cost 150, returns 100, cost-to-serve 100
    # C (dealer): no order, cost-to-serve 50; D (end customer): revenue 100, cost 90, cts 20
    p = losses.parts(q2).set_index(q2["customer_id"].to_numpy())
    # list sales L = revenue + discount + returns
    assert p["list_sales"].to_dict() == {"A": 2700, "B": 400, "C": 0, "D": 100}
    # returns margin X = returns x own gross margin: B 100 x 150/300
    assert p["returns_margin"].to_dict() == {"A": 0, "B": 50, "C": 0, "D": 0}
    # product margin at list M = gross profit + discount + X
    assert p["product_margin"].to_dict() == {"A": 1200, "B": 200, "C": 0, "D": 10}
    ident = p["product_margin"] - p["discount"] - p["returns_margin"] - p["cost_to_serve"]
    assert ident.to_dict() == p["account_profit"].to_dict() == {"A": 700, "B": 50, "C": -50, "D": -10}


def test_causes_of_each_loss_maker_by_hand_sum_to_its_loss(q2):
    c = losses.causes(q2, ["D", "C"]).set_index("customer_id")
    d = c.loc["D"]
    # D's peers: B, the only other end customer. Rates per unit of B's list sales (400):
    # m* = 200/400 = 0.5, d* = 0, x* = 50/400 = 0.125, k* = 100/400 = 0.25
    assert (d["peer_group"], d["peers"]) == ("end_customer", 1)
    assert d["peer_rate"] == pytest.approx(0.125) and d["peer_profit"] == pytest.approx(12.5)
    # discounts 0 - 0; returns 0 - 0.125 x 100; cost-to-serve 20 - 0.25 x 100; mix 0.5 x 100 - 10
    assert d[CAUSE_COLUMNS].tolist() == pytest.approx([0.0, -12.5, -5.0, 40.0])
    assert d["main_cause"] == "mix"
    assert losses.leading(c) == [[("mix", 1.0)], [("cost_to_serve", 1.0)]]  # D, C: one cause each
    # the causes explain exactly the gap to the peers: 12.5 - (0 - 12.5 - 5 + 40) = -10
    assert d["peer_profit"] - d[CAUSE_COLUMNS].sum() == pytest.approx(d["account_profit"]) == pytest.approx(-10)
    # C: no other dealer, so the portfolio (A, B, D) is the benchmark; with no sales its whole
    # loss is cost-to-serve
    cc = c.loc["C"]
    assert (cc["peer_group"], cc["peers"]) == (losses.PORTFOLIO, 3)
    assert cc[CAUSE_COLUMNS].tolist() == pytest.approx([0.0, 0.0, 50.0, 0.0])
    assert cc["main_cause"] == "cost_to_serve" and cc["peer_profit"] == 0


def test_reasons_differ_per_account_against_their_own_peers():
    # two end customers and two distributors; distributors get 30% discounts as a rule
    facts = pd.DataFrame({
        "customer_id": ["e1", "e2", "d1", "d2", "d3"],
        "customer_type": ["end_customer", "end_customer", "distributor", "distributor", "distributor"],
        # e2: normal prices but very costly to serve; d2: the distributors' usual discount but a
        # low-margin mix; d3: a discount far above the distributors' 30%
        "revenue": [1000.0, 1000.0, 700.0, 700.0, 400.0],
        "discount": [0.0, 0.0, 300.0, 300.0, 600.0],
        "returns": [0.0, 0.0, 0.0, 0.0, 0.0],
        "gross_profit": [400.0, 400.0, 300.0, 20.0, 0.0],
        "cost_to_serve": [100.0, 600.0, 50.0, 50.0, 50.0],
    })
    facts["account_profit"] = facts["gross_profit"] - facts["cost_to_serve"]
    worst = pareto.loss_makers(facts, None)
    reasons = dict(zip(worst["customer_id"], worst["main_reason"]))
    assert reasons == {"e2": "cost_to_serve", "d3": "discounts", "d2": "mix"}
    # e2 against e1 (list sales 1000 each): peer profit 300; cost-to-serve 600 - 0.1 x 1000 = 500
    e2 = worst.set_index("customer_id").loc["e2"]
    assert e2["peer_profit"] == pytest.approx(300) and e2["why_cost_to_serve"] == pytest.approx(500)
    # d3 against d1 and d2 (list sales 2000, discounts 600): 600 - 0.3 x 1000 = 300 of extra discount
    d3 = worst.set_index("customer_id").loc["d3"]
    assert d3["why_discounts"] == pytest.approx(300) and d3["peers"] == 2
    # its leading causes with their shares of what it costs beyond its peers
    lead = dict(zip(worst["customer_id"], losses.leading(worst, prefix="why_")))
    positive = {c: d3[f"why_{c}"] for c in losses.CAUSES if d3[f"why_{c}"] > 0}
    expected = sorted(((c, v / sum(positive.values())) for c, v in positive.items()), key=lambda x: -x[1])[:2]
    assert [c for c, _ in lead["d3"]] == [c for c, _ in expected]
    assert [x for _, x in lead["d3"]] == pytest.approx([x for _, x in expected])


cents = st.integers(min_value=-10**8, max_value=10**8).map(lambda c: c / 100)  # amounts to the cent
money = cents
positive = cents.map(abs)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(positive, positive, positive, money, positive, st.sampled_from("abc")),
                min_size=1, max_size=12))
def test_peer_profit_minus_causes_is_the_account_profit(rows):
    facts = pd.DataFrame(rows, columns=["revenue", "discount", "returns", "gross_profit", "cost_to_serve",
                                        "customer_type"])
    facts.insert(0, "customer_id", [f"c{i}" for i in range(len(facts))])
    facts["account_profit"] = facts["gross_profit"] - facts["cost_to_serve"]
    c = losses.causes(facts)
    got = c["peer_profit"] - c[CAUSE_COLUMNS].sum(axis=1)
    scale = 1 + float(np.abs(facts[["revenue", "discount", "returns", "gross_profit", "cost_to_serve"]].to_numpy()).max())
    assert got.to_numpy() == pytest.approx(facts["account_profit"].to_numpy(), abs=1e-9 * scale)


def test_abc_keeps_loss_makers_as_their_own_group(q2):
    # account profit Q2: A 700, B 50, C -50, D -10 (total 690). The tiers divide the positive
    # contributions (750): A holds 700/750 = 93% (B's customers above: 700/750 >= 80%: B is B)
    tiers = pareto.abc_tiers(q2, "account_profit")
    assert dict(zip(tiers["customer_id"], tiers["tier"].astype(str))) == {"A": "A", "B": "B", "D": "L", "C": "L"}
    s = pareto.abc_summary(q2, "account_profit")
    assert s["tier"].tolist() == ["A", "B", "C", "L"]
    assert s["customers"].tolist() == [1, 1, 0, 2]
    assert s["value"].tolist() == pytest.approx([700, 50, 0, -60])
    # counts and sums add up to the whole population; shares of the net total add up to 1
    assert s["customers"].sum() == len(q2) and s["value"].sum() == pytest.approx(690)
    assert s["account_profit"].sum() == pytest.approx(q2["account_profit"].sum())
    assert s["value_share"].tolist() == pytest.approx([700 / 690, 50 / 690, 0, -60 / 690])
    assert s.equals(pareto.tier_summary(tiers)) or np.allclose(
        s[["customers", "value"]].to_numpy(float), pareto.tier_summary(tiers)[["customers", "value"]].to_numpy(float))
    # the drill-down lists the group
    assert pareto.drilldown(q2, "account_profit", tier="L")["customer_id"].tolist() == ["D", "C"]


def test_the_tier_filter_agrees_with_abc_by_revenue_and_keeps_negatives_in_c(tiny):
    # the sidebar filter (SQL and in-memory) ranks by revenue with the same cut-offs of the
    # positive revenues; a customer whose returns exceed its sales is C there
    cm = tiny.ibis.table("customer_month")
    h1 = Filters(start=date(2025, 1, 1), end=date(2025, 6, 1))
    facts = pareto.population(tiny.customer_facts(h1), "revenue")
    tiers = pareto.abc_tiers(facts, "revenue")
    page = dict(zip(tiers["customer_id"], tiers["tier"].astype(str)))
    sql = _ibis.to_frame(reference.customer_tiers(cm, h1.start, h1.end))
    assert dict(zip(sql["customer_id"], sql["tier"])) == {k: ("C" if v == "L" else v) for k, v in page.items()}


def test_a_customer_below_zero_is_its_own_group_on_the_page_and_c_in_the_filter(tmp_path):
    from kamdash import store
    from tests.conftest import fill_tiny

    def fill(con):  # the tiny database plus E sending back more than it bought in 2025
        fill_tiny(con)
        con.execute("INSERT INTO order_lines VALUES ('o11', 1, DATE '2025-02-01', 'E', 'p1', -1, 70, 0, -70, -30)")

    path = tmp_path / "returns.duckdb"
    store.build_sales_db(path, fill, source="tests")
    b = connect(str(path))
    try:
        h1 = Filters(start=date(2025, 1, 1), end=date(2025, 6, 1))
        facts = pareto.population(b.customer_facts(h1), "revenue")
        # revenue H1: A 3500, B 600, C 200, D 100, E -70. The tiers divide the positive 4400:
        # above B 3500/4400 = 79.5% < 80%, so B is A (of the net 4330 it would be 80.8%: B)
        tiers = pareto.abc_tiers(facts, "revenue")
        page = dict(zip(tiers["customer_id"], tiers["tier"].astype(str)))
        assert page == {"A": "A", "B": "A", "C": "B", "D": "C", "E": "L"}
        s = pareto.abc_summary(facts, "revenue")
        assert s["customers"].tolist() == [2, 1, 1, 1] and s["value"].tolist() == pytest.approx([4100, 200, 100, -70])
        # the sidebar filter, in SQL and in memory: the same A and B; E is C there
        filt = {k: ("C" if v == "L" else v) for k, v in page.items()}
        sql = _ibis.to_frame(reference.customer_tiers(b.ibis.table("customer_month"), h1.start, h1.end))
        assert dict(zip(sql["customer_id"], sql["tier"])) == filt
        codes = b.tier_codes(h1.start, h1.end)
        names = {v: k for k, v in _periods.TIER_CODES.items()}
        ids = b.customer_facts(Filters())[["ck", "customer_id"]]
        mem = {cid: names[int(codes[ck - 1])] for ck, cid in zip(ids["ck"], ids["customer_id"]) if codes[ck - 1]}
        assert mem == filt
        assert b.customer_facts(replace(h1, tiers=("A",)))["customer_id"].tolist() == ["A", "B"]
    finally:
        b.close()
