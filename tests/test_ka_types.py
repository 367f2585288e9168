"""Key-account types on hand-built customers, the group roll-up, the portfolio matrix, and
the saved rules and assignment in the user database."""

from datetime import date

import pandas as pd
import pytest

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
    assert t.loc["H", "important"] and not t.loc["R0", "important"]
    rules = ka.KaRules(important_sectors=("government",))
    assert not ka.assign_types(df, links_of(df), rules).set_index("customer_id").loc["H", "important"]
    rules = ka.KaRules(important_min_revenue=1000.0)
    assert not ka.assign_types(df, links_of(df), rules).set_index("customer_id").loc["H", "important"]


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
    t = ka.assign_types(df, links).set_index("customer_id")
    assert t.loc[["P", "P1", "P2", "P3"], "group"].all() and not t.loc["R0", "group"]
    assert t.loc["P", "children"] == 3
    g = ka.group_rollup(df, links)
    assert len(g) == 1
    row = g.iloc[0]
    assert row["group_id"] == "P" and row["members"] == 5 and row["active_members"] == 4
    assert row["own_revenue"] == 5000 and row["members_revenue"] == 6000 and row["revenue"] == 11000
    assert row["account_profit"] == pytest.approx(1100)
    # a parent needs at least this many children (children keep the type through their parent)
    t2 = ka.assign_types(df, links, ka.KaRules(group_min_children=4)).set_index("customer_id")
    assert not t2.loc["P", "group"] and t2.loc["P1", "group"]


def test_referral_chains_make_group_accounts():
    rows = BASE + [("S", 100.0, 1, "retail", 0.0, 100.0, None, None)]
    df = customers(rows)
    links = links_of(df, extra=[("N1", None, "S"), ("N2", None, "S")])
    assert ka.assign_types(df, links).set_index("customer_id").loc["S", "group"]
    t = ka.assign_types(df, links, ka.KaRules(group_min_referrals=3)).set_index("customer_id")
    assert not t.loc["S", "group"] and t.loc["S", "referrals"] == 2


def test_group_roots_survive_cycles():
    links = pd.DataFrame({"customer_id": ["a", "b", "c"], "parent_id": ["b", "a", None],
                          "referred_by": [None, None, None]})
    roots = ka.group_roots(links)
    assert roots["c"] == "c" and set(roots.index) == {"a", "b", "c"}


def test_strategic_by_growth_and_by_flag():
    rows = BASE + [("G", 60_000.0, 3, "energy", 1.2, 60_000.0, None, None),
                   ("g", 900.0, 1, "energy", 2.0, 900.0, None, None)]
    df = customers(rows)
    t = ka.assign_types(df, links_of(df)).set_index("customer_id")
    assert t.loc["G", "strategic"]  # fast growth at a meaningful size
    assert not t.loc["g", "strategic"]  # brand new but tiny
    rules = ka.KaRules(strategic_min_revenue=500.0)
    assert ka.assign_types(df, links_of(df), rules).set_index("customer_id").loc["g", "strategic"]
    rules = ka.KaRules(strategic_flagged=("R0",))
    assert ka.assign_types(df, links_of(df), rules).set_index("customer_id").loc["R0", "strategic"]


def test_multi_label_summary_and_assignment():
    rows = BASE + [("H", 90_000.0, 40, "health", 1.0, 90_000.0, None, None)]
    df = customers(rows)
    t = ka.assign_types(df, links_of(df))
    h = t.set_index("customer_id").loc["H"]
    assert h["economic"] and h["important"] and h["strategic"] and h["n_types"] == 3
    s = ka.type_summary(df, t).set_index("ka_type")
    assert s.loc["any", "customers"] + s.loc["none", "customers"] == len(df)
    assert s.loc["important", "revenue"] == 90_000
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
