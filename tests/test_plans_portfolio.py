"""The plans portfolio's roll-ups (overdue actions per owner, key accounts without a plan) and
the goal checks on save, on hand-made plans."""

from datetime import date

import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from kamdash import plans
from kamdash.views import plans_portfolio as pp


def plan(cid, actions):
    return plans.PlanVersion(cid, 1, cid, plans.normalise({"actions": actions}), "me", None)


AS_OF = date(2026, 9, 30)
PLANS = [plan("A", [{"action": "call", "owner": "Li", "due": "2026-09-01"},
                    {"action": "visit", "owner": "Li", "due": "2026-09-29", "status": "done"},
                    {"action": "offer", "owner": "Wang", "due": "2026-09-30"},
                    {"action": "undated", "owner": "Wang"}]),
         plan("B", [{"action": "fix", "owner": "Li", "due": "2026-07-02", "status": "blocked"},
                    {"action": "ring", "owner": "", "due": "2026-09-29"}])]


def test_overdue_actions_and_their_roll_up_per_owner():
    od = pp.overdue_actions(PLANS, AS_OF)
    # due strictly before the as-of date and not done; most overdue first
    assert od[["owner", "customer_id", "action", "days_overdue"]].values.tolist() == [
        ["Li", "B", "fix", 90], ["Li", "A", "call", 29], ["", "B", "ring", 1]]
    by = pp.overdue_by_owner(od)
    assert by.values.tolist() == [["Li", 2, 2, date(2026, 7, 2), 90], ["", 1, 1, date(2026, 9, 29), 1]]
    assert pp.overdue_by_owner(pp.overdue_actions([], AS_OF)).empty


def test_key_accounts_without_a_plan():
    assignment = pd.DataFrame({"customer_id": ["A", "K1", "K2", "N"], "ka_types": ["economic", "group", "important", ""]})
    facts = pd.DataFrame({"customer_id": ["K1", "A", "N"], "revenue": [10.0, 99.0, 50.0],
                          "account_profit": [-2.0, 5.0, 1.0], "account_manager": ["Li", "Wang", "Li"]})
    links = pd.DataFrame({"customer_id": ["A", "K1", "K2", "N"], "name": ["a", "k1", "k2", "n"],
                          "name_zh": [None] * 4})
    t = pp.key_accounts_without_plan(assignment, ["A"], facts, links)
    assert t[["customer_id", "revenue", "account_profit"]].values.tolist() == [["K1", 10.0, -2.0], ["K2", 0.0, 0.0]]
    assert t["account_manager"].tolist()[0] == "Li" and pd.isna(t["account_manager"].tolist()[1])
    assert pp.key_accounts_without_plan(assignment.iloc[:0], [], facts, links).empty


def test_goal_problems_name_the_row_and_what_is_missing():
    goals = [{"metric": "revenue", "target": 5000, "due": date(2026, 12, 31)},                 # fine
             {"metric": "revenue", "target": None, "due": date(2026, 12, 31)},                 # no target
             {"metric": "adoption", "category": None, "due": date(2026, 12, 31)},              # no category
             {"metric": "adoption", "category": "Spaceships", "due": date(2026, 12, 31)},      # unknown
             {"metric": "gross_margin", "target": 0.3, "due": None},                           # no due date
             {"metric": None, "target": 1, "due": date(2026, 1, 1)},                           # no metric
             {"metric": "revenue", "target": 1, "start": date(2026, 6, 1), "due": date(2026, 1, 1)},
             {"metric": None, "target": None, "category": None, "start": None, "due": None},   # blank row
             {"metric": "margin", "target": 0.2, "due": "2026-12-31"}]                         # old name
    assert plans.goal_problems(goals, ["Cables", "Sensors"]) == [
        (2, "target"), (3, "category"), (4, "unknown_category"), (5, "due"), (6, "metric"), (7, "window")]


@given(st.lists(st.fixed_dictionaries({
    "metric": st.sampled_from([*plans.METRICS, None]), "target": st.one_of(st.none(), st.floats(0, 1e9)),
    "category": st.sampled_from([None, "Cables", "Other"]),
    "due": st.one_of(st.none(), st.dates(date(2025, 1, 1), date(2027, 1, 1)))}), max_size=6))
def test_goals_that_pass_the_check_are_all_kept_when_saved(goals):
    # a goal the form accepts is never dropped silently by normalise
    if not plans.goal_problems(goals, ["Cables"]):
        kept = [g for g in goals if any(v is not None for v in g.values())]
        assert len(plans.normalise({"goals": goals})["goals"]) == len(kept)
