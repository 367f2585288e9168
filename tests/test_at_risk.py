"""The at-risk rule (analytics.clv.at_risk) on accounts written by hand, on the small demo
database checked row by row against the rule computed another way, and "add to its plan"."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from kamdash import plans, retention
from kamdash.analytics import clv
from kamdash.engine import connect
from kamdash.engine.filters import Filters
from kamdash.views import at_risk as view

# weeks: silent days = (T − recency)·7, usual interval = recency / frequency · 7
ROWS = [  # id, p_alive, clv, frequency, recency, T, revenue
    ("a", 0.50, 500.0, 10, 50, 52, 100.0),  # stake 1,000; P(alive) slipping; 14 days silent, every 35
    ("b", 0.90, 900.0, 10, 20, 52, 90.0),  # stake 1,000; 224 days silent, every 14: overdue
    ("c", 0.95, 950.0, 10, 50, 51, 80.0),  # stake 1,000; fine
    ("d", 0.10, 10.0, 10, 10, 52, 1000.0),  # P(alive) 0.1: lost, the biggest past revenue
    ("e", 0.60, 60.0, 10, 50, 52, 10.0),  # slipping but stake only 100
    ("f", 0.90, 90.0, 0, 0, 60, 500.0),  # one order day, 420 days ago: lost whatever P(alive) says
    ("g", 0.99, 99.0, 5, 40, 41, 1.0), ("h", 0.99, 99.0, 5, 40, 41, 2.0),
    ("i", 0.99, 99.0, 5, 40, 41, 3.0), ("j", 0.99, 99.0, 5, 40, 41, 4.0),
]


def hand_values() -> pd.DataFrame:
    return pd.DataFrame(ROWS, columns=["customer_id", "p_alive", "clv", "frequency", "recency", "T", "revenue"])


def test_composition_by_hand():
    """Not lost: a, b, c, e, g-j; their stakes 1,000 ×3 and 100 ×5: the 80% quantile is 1,000,
    so a, b, c are high value; of those a (P(alive) 0.5) and b (overdue) are slipping. Lost: d
    (P(alive) 0.1) and f (silent 420 days); revenue 80% quantile 100 + 0.2·400 = 180: both."""
    out = clv.at_risk(hand_values(), unit_days=7)
    save, lost = out["saveable"].set_index("customer_id"), out["lost"]
    assert list(save.index) == ["a", "b"]
    assert save.loc["a", "value_at_stake"] == pytest.approx(1000)
    assert (save.loc["a", "silent_days"], save.loc["a", "interval_days"]) == (14, 35)
    assert bool(save.loc["a", "slipping_p_alive"]) and not bool(save.loc["a", "overdue"])
    assert (save.loc["b", "silent_days"], save.loc["b", "interval_days"]) == (224, 14)
    assert bool(save.loc["b", "overdue"]) and not bool(save.loc["b", "slipping_p_alive"])
    assert list(lost["customer_id"]) == ["d", "f"]  # by past revenue


def test_thresholds_at_their_edges():
    v = hand_values()
    v.loc[v["customer_id"] == "a", "p_alive"] = 0.3  # the lowest P(alive) still saveable
    v.loc[v["customer_id"] == "a", "clv"] = 300.0  # stake stays 1,000
    v.loc[v["customer_id"] == "b", "p_alive"] = 0.8  # not slipping by P(alive) (band is [0.3, 0.8))
    v.loc[v["customer_id"] == "b", "recency"] = 41  # 77 days silent vs every 28.7: not 3 × (86)
    v.loc[v["customer_id"] == "b", "clv"] = 800.0
    out = clv.at_risk(v, unit_days=7)
    assert list(out["saveable"]["customer_id"]) == ["a"]
    v.loc[v["customer_id"] == "b", "recency"] = 39  # 91 days silent vs every 27.3 (82): overdue
    assert list(clv.at_risk(v, unit_days=7)["saveable"]["customer_id"]) == ["a", "b"]
    v.loc[v["customer_id"] == "a", "p_alive"] = 0.29  # now lost
    v.loc[v["customer_id"] == "a", "clv"] = 290.0
    out = clv.at_risk(v, unit_days=7)
    assert "a" not in set(out["saveable"]["customer_id"])


def test_empty_values():
    out = clv.at_risk(hand_values().iloc[0:0])
    assert out["saveable"].empty and out["lost"].empty


@pytest.fixture(scope="module")
def small_values(small_db, small_fit):
    _, fit = small_fit
    b = connect(str(small_db))
    facts = b.data_facts()
    values = retention.account_values(b, fit, facts["as_of"], Filters(), retention.ValueSettings(12, 0.1, True))
    b.close()
    return values, fit


def test_every_listed_account_meets_the_rule_computed_another_way(small_values):
    """Row by row in plain Python, from the definitions in words: nothing P(alive) ≈ 0 or
    silent for over a year among the saveable, and exactly the accounts the rule names."""
    values, fit = small_values
    risk = view.build(values, fit)
    assert risk.accounts == len(values) and len(risk.saveable) > 0
    days = clv.UNIT_DAYS[fit["time_unit"]]
    rows = values.to_dict("records")

    def silent(r):
        return (r["T"] - r["recency"]) * days

    def lost(r):
        return r["p_alive"] < 0.3 or silent(r) > 365

    def stake(r):
        return r["clv"] / r["p_alive"] if r["p_alive"] > 0 else 0.0

    alive = sorted(stake(r) for r in rows if not lost(r))
    pos = 0.8 * (len(alive) - 1)  # the 80% quantile, linear between neighbours
    cut = alive[int(pos)] + (alive[min(int(pos) + 1, len(alive) - 1)] - alive[int(pos)]) * (pos - int(pos))
    want = set()
    for r in rows:
        overdue = r["frequency"] > 0 and silent(r) > 3 * r["recency"] / r["frequency"] * days
        if not lost(r) and stake(r) >= cut and stake(r) > 0 and (0.3 <= r["p_alive"] < 0.8 or overdue):
            want.add(r["customer_id"])
    assert set(risk.saveable["customer_id"]) == want
    assert (risk.saveable["p_alive"] >= 0.3).all() and (risk.saveable["silent_days"] <= 365).all()
    assert list(risk.saveable["value_at_stake"]) == sorted(risk.saveable["value_at_stake"], reverse=True)
    assert not set(risk.saveable["customer_id"]) & set(risk.lost["customer_id"])
    assert ((risk.lost["p_alive"] < 0.3) | (risk.lost["silent_days"] > 365)).all()


def test_add_to_plan_appends_a_version_with_author(tmp_path):
    user = tmp_path / "user.duckdb"
    row = pd.Series({"customer_id": "C1", "account_manager": "Wang Fang"})
    first = view.add_to_plan(user, row, "Call about the slipping orders", "Li Na", date(2026, 10, 1))
    assert (first.version, first.author) == (1, "Li Na")
    assert first.body["actions"] == [{"action": "Call about the slipping orders", "owner": "Wang Fang",
                                      "due": "2026-10-15", "status": "open"}]
    # an existing plan keeps its goals, notes and actions; the action is appended as version 3
    plans.save(user, "C1", {**first.body, "notes": "keep"}, "Zhao Lei", 1)
    third = view.add_to_plan(user, row, "Second call", "Li Na", date(2026, 10, 2))
    assert third.version == 3 and third.body["notes"] == "keep"
    assert [a["action"] for a in third.body["actions"]] == ["Call about the slipping orders", "Second call"]
    assert [v.author for v in plans.history(user, "C1")] == ["Li Na", "Zhao Lei", "Li Na"]
