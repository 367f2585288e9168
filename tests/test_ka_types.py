"""Key-account types on hand-built customers, the group roll-up, the portfolio matrix, and
the saved rules and assignment in the user database."""

from datetime import date

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kamdash import store
from kamdash.analytics import ka_types as ka
from tests.conftest import fill_tiny


def customers(rows):
    """rows: (id, revenue, frequency, sector, growth, revenue_last12, parent_id, referred_by)."""
    df = pd.DataFrame(rows, columns=["customer_id", "revenue", "frequency", "sector", "growth",
                                     "revenue_last12", "parent_id", "referred_by"])
    df["account_profit"] = df["revenue"] * 0.1
    df["name"] = "Name " + df["customer_id"]
    return df


def links_of(df, extra=()):
    links = df[["customer_id", "parent_id", "referred_by"]]
    if extra:
        links = pd.concat([links, pd.DataFrame(extra, columns=links.columns)], ignore_index=True)
    return links


BASE = [  # ten ordinary retail customers, no links, flat
    (f"R{i}", 1000.0 * (i + 1), 2, "retail", 0.0, 1000.0 * (i + 1), None, None) for i in range(10)
]


def test_a_hospital_is_important_a_shop_is_not():
    df = customers(BASE + [("H", 500.0, 1, "health", 0.0, 500.0, None, None)])
    t = ka.assign_types(df, links_of(df)).set_index("customer_id")
    assert t.loc["H", "important"] and not t.loc["R0", "important"]  # the top of its sector
    rules = ka.KaRules(important_sectors=("government",))
    assert not ka.assign_types(df, links_of(df), rules).set_index("customer_id").loc["H", "important"]
    # the size condition: the sector ranking switched off, a minimum value instead
    rules = ka.KaRules(important_top_share=0.0, important_min_revenue=1000.0)
    assert not ka.assign_types(df, links_of(df), rules).set_index("customer_id").loc["H", "important"]
    rules = ka.KaRules(important_top_share=0.0, important_min_revenue=400.0)
    assert ka.assign_types(df, links_of(df), rules).set_index("customer_id").loc["H", "important"]


def test_important_takes_only_the_top_of_its_sector_or_a_minimum_value():
    # ten hospitals of 100..1000: the top 20% of the sector are ceil(0.2 * 10) = 2
    rows = [(f"H{i}", 100.0 * (i + 1), 1, "health", 0.0, 100.0 * (i + 1), None, None) for i in range(10)]
    df = customers(BASE + rows)
    t = ka.assign_types(df, links_of(df)).set_index("customer_id")
    assert set(t.index[t["important"]]) == {"H9", "H8"}
    # or revenue of at least 750: H7 (800) joins too
    t = ka.assign_types(df, links_of(df), ka.KaRules(important_min_revenue=750.0)).set_index("customer_id")
    assert set(t.index[t["important"]]) == {"H9", "H8", "H7"}


def test_economic_is_the_top_share_by_revenue_or_frequency():
    rows = BASE + [("F", 10.0, 50, "retail", 0.0, 10.0, None, None)]  # tiny but orders very often
    df = customers(rows)
    rules = ka.KaRules(economic_top_revenue=0.10, economic_top_frequency=0.05)
    t = ka.assign_types(df, links_of(df), rules).set_index("customer_id")
    # 11 customers: ceil(0.1 * 11) = 2 by revenue (R9, R8), ceil(0.05 * 11) = 1 by frequency (F)
    assert set(t.index[t["economic"]]) == {"R9", "R8", "F"}
    off = ka.KaRules(economic_top_revenue=0.0, economic_top_frequency=0.0)
    assert not ka.assign_types(df, links_of(df), off)["economic"].any()


def test_a_parent_with_three_children_rolls_up_their_value():
    rows = BASE + [
        ("P", 5000.0, 4, "manufacturing", 0.0, 5000.0, None, None),
        ("P1", 1000.0, 2, "manufacturing", 0.0, 1000.0, "P", None),
        ("P2", 2000.0, 2, "manufacturing", 0.0, 2000.0, "P", None),
        ("P3", 3000.0, 2, "manufacturing", 0.0, 3000.0, "P", None),
    ]
    df = customers(rows)
    # a grandchild without orders in the period is a member but adds no value
    links = links_of(df, extra=[("P31", "P3", None)])
    anysize = ka.KaRules(group_min_revenue=0.0)
    t = ka.assign_types(df, links, anysize).set_index("customer_id")
    assert t.loc[["P", "P1", "P2", "P3"], "group"].all() and not t.loc["R0", "group"]
    assert t.loc["P", "children"] == 3
    g = ka.group_rollup(df, links)
    assert len(g) == 1
    row = g.iloc[0]
    assert row["group_id"] == "P" and row["members"] == 5 and row["active_members"] == 4
    assert row["own_revenue"] == 5000 and row["members_revenue"] == 6000 and row["revenue"] == 11000
    assert row["account_profit"] == pytest.approx(1100)
    # a parent needs at least this many children (children keep the type through their parent)
    t2 = ka.assign_types(df, links, ka.KaRules(group_min_children=4, group_min_revenue=0.0)).set_index("customer_id")
    assert not t2.loc["P", "group"] and t2.loc["P1", "group"]
    # the size condition: rolled-up revenue, P 5000 + 1000 + 2000 + 3000 = 11000, P3 3000 + 0
    t3 = ka.assign_types(df, links, ka.KaRules(group_min_revenue=11_000.0)).set_index("customer_id")
    assert set(t3.index[t3["group"]]) == {"P"}
    t3 = ka.assign_types(df, links, ka.KaRules(group_min_revenue=11_000.01)).set_index("customer_id")
    assert not t3["group"].any()
    assert not ka.assign_types(df, links).set_index("customer_id")["group"].any()  # default 500,000


def test_referral_chains_make_group_accounts():
    rows = BASE + [("S", 100.0, 1, "retail", 0.0, 100.0, None, None)]
    df = customers(rows)
    links = links_of(df, extra=[("N1", None, "S"), ("N2", None, "S")])
    assert ka.assign_types(df, links, ka.KaRules(group_min_revenue=100.0)).set_index("customer_id").loc["S", "group"]
    assert not ka.assign_types(df, links, ka.KaRules(group_min_revenue=101.0)).set_index("customer_id").loc["S", "group"]
    t = ka.assign_types(df, links, ka.KaRules(group_min_referrals=3, group_min_revenue=0.0)).set_index("customer_id")
    assert not t.loc["S", "group"] and t.loc["S", "referrals"] == 2


def test_group_roots_survive_cycles():
    links = pd.DataFrame({"customer_id": ["a", "b", "c"], "parent_id": ["b", "a", None],
                          "referred_by": [None, None, None]})
    roots = ka.group_roots(links)
    assert roots["c"] == "c" and set(roots.index) == {"a", "b", "c"}


def test_strategic_by_growth_and_by_flag():
    rows = BASE + [("G", 260_000.0, 3, "energy", 1.2, 260_000.0, None, None),  # +120%
                   ("S", 300_000.0, 3, "energy", 0.4, 300_000.0, None, None),  # +40%: too slow
                   ("g", 900.0, 1, "energy", 2.0, 900.0, None, None)]
    df = customers(rows)
    t = ka.assign_types(df, links_of(df)).set_index("customer_id")
    assert t.loc["G", "strategic"]  # fast growth (at least +50%) at a meaningful size
    assert not t.loc["S", "strategic"] and not t.loc["g", "strategic"]  # slow; fast but tiny
    rules = ka.KaRules(strategic_min_revenue=500.0)
    assert ka.assign_types(df, links_of(df), rules).set_index("customer_id").loc["g", "strategic"]
    rules = ka.KaRules(strategic_min_growth=0.4)
    assert ka.assign_types(df, links_of(df), rules).set_index("customer_id").loc["S", "strategic"]
    # a new account (nothing a year before, so no growth rate) counts as growing
    new = df.assign(revenue_prev12=df["revenue_last12"] / 2)
    new.loc[new["customer_id"] == "S", ["growth", "revenue_prev12"]] = [float("nan"), 0.0]
    assert ka.assign_types(new, links_of(new)).set_index("customer_id").loc["S", "strategic"]
    rules = ka.KaRules(strategic_flagged=("R0",))
    assert ka.assign_types(df, links_of(df), rules).set_index("customer_id").loc["R0", "strategic"]


def test_multi_label_summary_and_assignment():
    rows = BASE + [("H", 290_000.0, 40, "health", 1.0, 290_000.0, None, None)]
    df = customers(rows)
    t = ka.assign_types(df, links_of(df))
    h = t.set_index("customer_id").loc["H"]
    assert h["economic"] and h["important"] and h["strategic"] and h["n_types"] == 3
    s = ka.type_summary(df, t).set_index("ka_type")
    assert s.loc["any", "customers"] + s.loc["none", "customers"] == len(df)
    assert s.loc["important", "revenue"] == 290_000
    seg = pd.DataFrame({"customer_id": df["customer_id"], "segment": [2] * 10 + [1]})
    a = ka.assignment(df, seg, t, {1: "Top", 2: "Rest"}).set_index("customer_id")
    assert a.loc["H", "ka_types"] == "economic,important,strategic"
    assert a.loc["H", "segment_name"] == "Top" and a.loc["R0", "ka_types"] == ""


def test_portfolio_quadrants():
    rows = [("A", 100.0, 1, "x", 0.5, 100.0, None, None), ("B", 10.0, 1, "x", 0.5, 10.0, None, None),
            ("C", 100.0, 1, "x", -0.5, 100.0, None, None), ("D", 10.0, 1, "x", -0.5, 10.0, None, None)]
    df = customers(rows)
    t = ka.assign_types(df, links_of(df), ka.KaRules(strategic_flagged=("A", "B", "C", "D")))
    pf = ka.portfolio(df, t, value_split=50.0).set_index("customer_id")
    assert pf["quadrant"].to_dict() == {"A": "star", "B": "develop", "C": "maintain", "D": "review"}
    assert ka.portfolio(df, t).attrs["value_split"] == 55.0  # the median by default


FIVE = pd.DataFrame({  # every customer flagged strategic: all qualify, the ranking decides
    "customer_id": list("ABCDE"), "revenue": [100.0, 200.0, 300.0, 400.0, 500.0],
    "account_profit": [50.0, -10.0, 30.0, 20.0, 10.0], "frequency": [1] * 5, "sector": ["retail"] * 5,
    "growth": [0.0] * 5, "revenue_last12": [100.0, 200.0, 300.0, 400.0, 500.0], "name": list("ABCDE")})
FLAG_ALL = dict(strategic_flagged=tuple("ABCDE"), economic_top_revenue=0.0, economic_top_frequency=0.0)


def test_the_combined_ranking_by_hand():
    # percentile ranks: revenue A .2 B .4 C .6 D .8 E 1; account profit (-10 < 10 < 20 < 30 < 50)
    # A 1 B .2 C .8 D .6 E .4; score = mean: A .6 B .3 C .7 D .7 E .7; ties by revenue: E D C A B
    k = ka.key_accounts(FIVE, links_of(FIVE.assign(parent_id=None, referred_by=None)),
                        ka.KaRules(capacity=2, **FLAG_ALL)).set_index("customer_id")
    assert k["score"].to_dict() == pytest.approx({"A": .6, "B": .3, "C": .7, "D": .7, "E": .7})
    assert k["rank"].to_dict() == {"E": 1, "D": 2, "C": 3, "A": 4, "B": 5}
    assert set(k.index[k["key_account"]]) == {"E", "D"}
    # a qualifying customer outside the capacity holds no type (one set everywhere)
    assert k.loc["C", "q_strategic"] and not k.loc["C", "strategic"] and k.loc["C", "n_types"] == 0
    assert k.loc["E", "strategic"] and k.loc["E", "n_types"] == 1


def test_capacity_as_a_share_and_the_summary_by_hand():
    links = links_of(FIVE.assign(parent_id=None, referred_by=None))
    k = ka.key_accounts(FIVE, links, ka.KaRules(share=0.5, **FLAG_ALL))  # ceil(2.5) = 3: E D C
    assert k.attrs["limit"] == 3 and set(k.loc[k["key_account"], "customer_id"]) == {"E", "D", "C"}
    s = ka.selection_summary(FIVE, k)
    assert s["key_accounts"] == 3 and s["customers"] == 5 and s["qualifying"] == 5
    assert s["customer_share"] == pytest.approx(0.6)
    assert s["revenue_share"] == pytest.approx(1200 / 1500)
    assert s["account_profit_share"] == pytest.approx(60 / 100)  # (30 + 20 + 10) of 100 net
    assert s["by_type"] == {"economic": 0, "important": 0, "group": 0, "strategic": 3}
    assert not s["few"]  # 60% of the customers is no longer the few
    t = ka.type_summary(FIVE, k).set_index("ka_type")
    assert t.loc["strategic", "customers"] == 3 and t.loc["strategic", "qualifying"] == 5
    assert t.loc["any", "customers"] == 3 and t.loc["none", "qualifying"] == 2  # A, B left out
    # fewer qualifying than the capacity: all of them, no more
    k = ka.key_accounts(FIVE, links, ka.KaRules(capacity=50, strategic_flagged=("B",),
                                                economic_top_revenue=0.0, economic_top_frequency=0.0))
    assert list(k.loc[k["key_account"], "customer_id"]) == ["B"]
    # the capacity number wins over the share
    assert ka.KaRules(capacity=150, share=0.5).limit(4106) == 150
    assert ka.KaRules(share=0.1).limit(4106) == 411


def test_key_accounts_on_the_tiny_database_by_hand(tiny_db):
    from kamdash.engine import connect
    from kamdash.engine.filters import Filters

    b = connect(str(tiny_db))
    f = b.customer_features(Filters(start=date(2025, 1, 1), end=date(2025, 6, 1)))
    links = b.customer_links()
    # A 3500/1100, B 600/200 (government, 3 order days), C 200/50 (health), D 100/-10
    # (education, child of C); everyone is new (no revenue a year before).
    # economic: top ceil(.1*4)=1 by revenue = A, top ceil(.05*4)=1 by order days = B;
    # important: B, C, D each top of its sector; group: C rolls up 300, D 100 < 500,000;
    # strategic: new but under 200,000. Score order A, B, C, D; capacity ceil(.1*4) = 1.
    k = ka.key_accounts(f, links).set_index("customer_id")
    assert k.loc[["A", "B"], "q_economic"].all() and k.loc[["B", "C", "D"], "q_important"].all()
    assert not k["q_group"].any() and not k["q_strategic"].any()
    assert k["rank"].to_dict() == {"A": 1, "B": 2, "C": 3, "D": 4}
    assert list(k.index[k["key_account"]]) == ["A"]
    s = ka.selection_summary(f, k.reset_index())
    assert s["key_accounts"] == 1 and s["customer_share"] == 0.25
    assert s["revenue_share"] == pytest.approx(3500 / 4400)
    assert s["account_profit_share"] == pytest.approx(1100 / 1340)
    k3 = ka.key_accounts(f, links, ka.KaRules(capacity=3))
    s3 = ka.selection_summary(f, k3)
    assert s3["by_type"] == {"economic": 2, "important": 2, "group": 0, "strategic": 0}
    assert s3["account_profit_share"] == pytest.approx(1350 / 1340)  # D loses money: above 100%


def test_on_the_demo_data_the_key_accounts_are_the_few_carrying_most_profit(demo_db):
    from kamdash.engine import connect
    from kamdash.engine.filters import Filters, add_months

    b = connect(str(demo_db))
    last = b.last_month()
    f = b.customer_features(Filters(start=add_months(last, -11), end=last), False)
    k = ka.key_accounts(f, b.customer_links())
    s = ka.selection_summary(f, k)
    assert 0.05 <= s["customer_share"] <= 0.15 and s["few"]
    assert s["account_profit_share"] > 0.75  # most of the account profit
    # independently: the selected customers' sums from the features frame
    chosen = f[f["customer_id"].isin(k.loc[k["key_account"], "customer_id"])]
    assert s["account_profit_share"] == pytest.approx(chosen["account_profit"].sum() / f["account_profit"].sum())
    assert s["revenue_share"] == pytest.approx(chosen["revenue"].sum() / f["revenue"].sum())
    assert all(0 < n <= s["key_accounts"] for n in s["by_type"].values())


def test_rules_round_trip_and_survive_a_data_reimport(tmp_path):
    rules = ka.KaRules(economic_top_revenue=0.2, important_sectors=("health",), strategic_flagged=("X",))
    assert ka.KaRules.from_dict(rules.to_dict()) == rules
    assert ka.KaRules.from_dict({"unknown": 1, "group_min_children": 3}).group_min_children == 3
    sales = tmp_path / "kamdash.duckdb"
    user = tmp_path / "kamdash.user.duckdb"
    store.build_sales_db(sales, fill_tiny, source="tests")
    store.put_setting(user, "ka.rules", rules.to_dict())
    store.put_assignment(user, pd.DataFrame({"customer_id": ["A"], "segment": [1],
                                             "segment_name": ["Top"], "ka_types": ["economic"]}))
    store.build_sales_db(sales, fill_tiny, source="tests again")  # a re-import
    assert ka.KaRules.from_dict(store.get_setting(user, "ka.rules")) == rules
    a = store.get_assignment(user)
    assert a[["customer_id", "segment", "segment_name", "ka_types"]].values.tolist() == [["A", 1, "Top", "economic"]]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.none(), st.integers(0, 14)), min_size=1, max_size=12))
def test_group_roots_as_a_walk_up_the_parents(parents):
    """The top parent of every customer equals a plain walk up parent_id, MAX_DEPTH steps at
    most (cycles cut there, parents missing from the links end a chain)."""
    ids = [f"c{i}" for i in range(len(parents))]
    par = {c: (f"c{p}" if p is not None else None) for c, p in zip(ids, parents)}
    links = pd.DataFrame({"customer_id": ids, "parent_id": [par[c] for c in ids]})
    expected = {}
    for c in ids:
        r = c
        for _ in range(ka.MAX_DEPTH):
            if par.get(r) not in par:  # no parent, or one outside the links
                break
            r = par[r]
        expected[c] = r
    assert ka.group_roots(links).to_dict() == expected
