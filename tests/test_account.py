"""Account 360 and account plans: chains, rank, peers, plan store (versions, conflicts, delete,
re-import), plan vs actual, against hand computations."""

from datetime import date

import pandas as pd
import pytest

from kamdash import plans, store
from kamdash.analytics import account as acc
from kamdash.engine import connect
from kamdash.engine.filters import Filters
from kamdash.ui import account_words
from kamdash.views import account as view
from tests.conftest import fill_tiny

# A hand-built family: R refers X and Y; X refers Z; Z refers R (a cycle back to the root);
# P is the parent of C1 and C2, C1 of G1. W stands alone.
LINKS = pd.DataFrame({
    "customer_id": ["R", "X", "Y", "Z", "P", "C1", "C2", "G1", "W"],
    "parent_id": [None, None, None, None, None, "P", "P", "C1", None],
    "referred_by": ["Z", "R", "R", "X", None, None, None, None, None],
})
FACTS = pd.DataFrame({
    "customer_id": ["R", "X", "Z", "P", "C1", "G1", "W"],
    "revenue": [100.0, 40.0, 10.0, 500.0, 80.0, 20.0, 60.0],
    "gross_profit": [50.0, 20.0, 5.0, 200.0, 30.0, 8.0, 30.0],
    "account_profit": [30.0, -5.0, 2.0, 150.0, 20.0, 6.0, 10.0],
    "orders": [3, 2, 1, 9, 2, 1, 4],
})


def test_referral_chain_goes_down_the_chain_and_stops_at_cycles():
    ch = acc.chain(LINKS, "R", "referred_by")
    assert ch.to_dict("records") == [
        {"customer_id": "X", "depth": 1, "via": "R"},
        {"customer_id": "Y", "depth": 1, "via": "R"},
        {"customer_id": "Z", "depth": 2, "via": "X"},  # Z refers R again: not listed twice
    ]
    valued = acc.with_value(ch, FACTS)
    # by hand: X 40 + Y 0 (inactive) + Z 10 = 50 revenue; -5 + 0 + 2 = -3 account profit
    assert acc.chain_totals(valued) == {"customers": 3, "direct": 2, "active": 2,
                                        "revenue": 50.0, "account_profit": -3.0}
    assert acc.chain(LINKS, "Y", "referred_by").empty


def test_group_rollup_of_children_and_grandchildren():
    ch = acc.with_value(acc.chain(LINKS, "P", "parent_id"), FACTS)
    assert list(ch["customer_id"]) == ["C1", "C2", "G1"]
    assert list(ch["depth"]) == [1, 1, 2]
    # by hand: C1 80 + C2 0 + G1 20 = 100; profit 20 + 0 + 6 = 26; C2 has no sales
    t = acc.chain_totals(ch)
    assert (t["revenue"], t["account_profit"], t["active"], t["direct"]) == (100.0, 26.0, 2, 2)
    assert acc.chain(LINKS, "C1", "parent_id")["customer_id"].tolist() == ["G1"]


def test_rank_and_peers_by_hand():
    assert acc.rank(FACTS, "P") == (1, 7)
    assert acc.rank(FACTS, "W") == (4, 7)  # 500, 100, 80, 60
    assert acc.rank(FACTS, "Y") == (None, 7)
    p = acc.peers(FACTS, ["R", "X", "Z", "Y"], "X").set_index("metric")
    assert p.loc["revenue", "account"] == 40.0
    assert p.loc["revenue", "peer_median"] == 40.0  # median of 100, 40, 10 (Y inactive)
    assert p.loc["revenue", "rank"] == 2 and p.loc["revenue", "peers"] == 3
    # margins: R 0.3, X -0.125, Z 0.2 -> X ranks 3rd, median 0.2
    assert p.loc["account_margin", "account"] == pytest.approx(-0.125)
    assert p.loc["account_margin", "peer_median"] == pytest.approx(0.2)
    assert p.loc["account_margin", "rank"] == 3


# ---------------------------------------------------------------- plan vs actual

LINES = pd.DataFrame({
    "order_date": pd.to_datetime(["2025-01-10", "2025-02-01", "2025-03-01", "2024-12-31"]),
    "revenue": [300.0, 100.0, 200.0, 999.0],
    "cost": [200.0, 50.0, 150.0, 0.0],
    "category": ["Cables", "Sensors", "Cables", "Cables"],
})


def test_revenue_goal_linear_run_rate():
    goal = {"metric": "revenue", "target": 2000.0, "start": "2025-01-01", "due": "2025-12-31"}
    p = acc.goal_progress(goal, LINES, as_of=date(2025, 3, 31), plan_start=date(2025, 1, 1))
    # window 365 days, elapsed Jan 1..Mar 31 = 90 days; actual 600 (the December line is before)
    assert p["actual"] == 600.0
    assert p["elapsed"] == pytest.approx(90 / 365)
    assert p["projected"] == pytest.approx(600 * 365 / 90)  # 2433.3 >= 2000
    assert p["expected_now"] == pytest.approx(2000 * 90 / 365)
    assert p["gap"] == pytest.approx(600 - 2000 * 90 / 365)
    assert p["status"] == "on_track"
    goal["target"] = 2600.0  # 2433.3 / 2600 = 0.936: at risk
    assert acc.goal_progress(goal, LINES, date(2025, 3, 31), date(2025, 1, 1))["status"] == "at_risk"
    goal["target"] = 3000.0  # 0.81: off track
    assert acc.goal_progress(goal, LINES, date(2025, 3, 31), date(2025, 1, 1))["status"] == "off_track"
    goal.update(target=500.0, due="2025-02-28")  # finished: 400 by Feb 28 < 500
    done = acc.goal_progress(goal, LINES, date(2025, 3, 31), date(2025, 1, 1))
    assert (done["actual"], done["status"], done["elapsed"]) == (400.0, "off_track", 1.0)


def test_margin_and_adoption_goals():
    margin = {"metric": "gross_margin", "target": 0.30, "start": "2025-01-01", "due": "2025-06-30"}
    p = acc.goal_progress(margin, LINES, date(2025, 3, 31), date(2025, 1, 1))
    # revenue 600, cost 400 -> margin 1/3 >= 0.30
    assert p["actual"] == pytest.approx(1 / 3) and p["status"] == "on_track"
    margin["target"] = 0.35  # 0.333 is within 2 points under 0.35
    assert acc.goal_progress(margin, LINES, date(2025, 3, 31), date(2025, 1, 1))["status"] == "at_risk"
    adopt = {"metric": "adoption", "category": "Sensors", "start": "2025-01-01", "due": "2025-06-30"}
    assert acc.goal_progress(adopt, LINES, date(2025, 3, 31), date(2025, 1, 1))["status"] == "achieved"
    adopt["category"] = "Motors"
    assert acc.goal_progress(adopt, LINES, date(2025, 3, 31), date(2025, 1, 1))["status"] == "at_risk"
    assert acc.goal_progress(adopt, LINES, date(2025, 7, 31), date(2025, 1, 1))["status"] == "off_track"
    later = {"metric": "revenue", "target": 1.0, "start": "2026-01-01", "due": "2026-06-30"}
    assert acc.goal_progress(later, LINES, date(2025, 3, 31), date(2025, 1, 1))["status"] == "not_started"
    prog = acc.plan_progress({"goals": [margin, adopt, later]}, LINES, date(2025, 3, 31), date(2025, 1, 1))
    assert list(prog["status"]) == ["at_risk", "at_risk", "not_started"]
    assert acc.plan_status(prog) == "at_risk"
    assert acc.plan_status(prog.iloc[:0]) == "no_goals"


# ---------------------------------------------------------------- the plan store

BODY = {"goals": [{"metric": "revenue", "target": 5000, "start": "2025-01-01", "due": "2025-12-31"}],
        "solution": "Bundle sensors with cables", "notes": "",
        "actions": [{"action": "Visit the plant", "owner": "Li Na", "due": "2025-07-01", "status": "open"}]}


def test_create_update_history_delete(tmp_path):
    db = tmp_path / "user.duckdb"
    assert plans.latest(db, "A") is None
    v1 = plans.save(db, "A", BODY, "Li Na", None)
    assert v1.version == 1 and v1.author == "Li Na"
    v2 = plans.save(db, "A", {**BODY, "notes": "met the CFO"}, "Wang Wei", 1)
    assert v2.version == 2
    cur = plans.latest(db, "A")
    assert (cur.version, cur.author, cur.body["notes"]) == (2, "Wang Wei", "met the CFO")
    assert cur.body["goals"][0] == {"metric": "revenue", "target": 5000.0, "category": None,
                                    "start": "2025-01-01", "due": "2025-12-31"}
    hist = plans.history(db, "A")
    assert [h.version for h in hist] == [2, 1]
    assert hist[1].body["notes"] == "" and hist[1].author == "Li Na"
    assert hist[0].saved_at >= hist[1].saved_at
    plans.save(db, "B", BODY, "Zhou Jie", None)
    assert [p.customer_id for p in plans.all_latest(db)] == ["A", "B"]
    assert [p.version for p in plans.all_latest(db)] == [2, 1]
    with pytest.raises(plans.PlanConflict):
        plans.delete(db, "A", 1)  # not the latest: refused
    plans.delete(db, "A", 2)
    assert plans.latest(db, "A") is None and plans.history(db, "A") == []
    assert plans.latest(db, "B").version == 1


def test_two_writers_conflict_and_nothing_is_lost(tmp_path):
    db = tmp_path / "user.duckdb"
    plans.save(db, "A", BODY, "Li Na", None)
    # both writers read version 1
    mine = {**BODY, "solution": "Mine: service contract"}
    theirs = {**BODY, "notes": "Theirs: budget approved"}
    plans.save(db, "A", theirs, "Wang Wei", 1)
    with pytest.raises(plans.PlanConflict) as err:
        plans.save(db, "A", mine, "Li Na", 1)
    assert err.value.theirs.version == 2 and err.value.theirs.author == "Wang Wei"
    assert err.value.theirs.body["notes"] == "Theirs: budget approved"
    assert plans.latest(db, "A").version == 2  # the refused save wrote nothing
    # merge by field: I changed the solution, they changed the notes: both kept
    merged, clashes = plans.merge(plans.history(db, "A")[1].body, mine, err.value.theirs.body)
    assert clashes == ()
    assert merged["solution"] == "Mine: service contract" and merged["notes"] == "Theirs: budget approved"
    assert plans.changed_fields(mine, err.value.theirs.body) == ("solution", "notes")
    v3 = plans.save(db, "A", merged, "Li Na", err.value.theirs.version)  # keep mine on top
    assert v3.version == 3 and len(plans.history(db, "A")) == 3
    # two writers creating the same new plan: the second one is told
    plans.save(db, "B", BODY, "x", None)
    with pytest.raises(plans.PlanConflict):
        plans.save(db, "B", BODY, "y", None)


def test_threads_racing_on_one_version_save_exactly_once(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    db = tmp_path / "user.duckdb"
    plans.save(db, "A", BODY, "a", None)

    def attempt(i):
        try:
            return plans.save(db, "A", {**BODY, "notes": str(i)}, str(i), 1).version
        except plans.PlanConflict:
            return None

    with ThreadPoolExecutor(4) as ex:
        results = list(ex.map(attempt, range(6)))
    assert sorted(r for r in results if r) == [2]
    assert [h.version for h in plans.history(db, "A")] == [2, 1]


def test_unique_index_refuses_a_duplicate_version(tmp_path):
    import duckdb

    db = tmp_path / "user.duckdb"
    plans.save(db, "A", BODY, "a", None)
    con = duckdb.connect(str(db))
    try:
        with pytest.raises(duckdb.ConstraintException):
            con.execute("INSERT INTO account_plans VALUES ('A', 1, 'A', '{}', 'b', now())")
    finally:
        con.close()


def test_plan_survives_a_sales_reimport(tmp_path):
    from kamdash import config

    sales = tmp_path / "sales.duckdb"
    store.build_sales_db(sales, fill_tiny, source="first")
    udb = config.user_db_path(sales)
    plans.save(udb, "A", BODY, "Li Na", None)
    store.build_sales_db(sales, fill_tiny, source="second")  # re-import: new file swapped in
    cur = plans.latest(udb, "A")
    assert cur is not None and cur.version == 1 and cur.body["solution"] == BODY["solution"]


def test_account_view_on_the_tiny_database(tiny_db):
    b = connect(str(tiny_db))
    try:
        f = Filters(start=date(2025, 1, 1), end=date(2025, 6, 1))
        facts = b.customer_facts(f)
        links = b.customer_links()
        v = view.build(b, "A", facts, links, f.start, f.end)
        # A in Jan-Jun 2025: revenue 1000 + 2000 + 500 = 3500; cost 2100; cts 300
        assert v.totals["revenue"] == 3500.0 and v.totals["account_profit"] == 3500 - 2100 - 300
        assert (v.rank, v.ranked) == (1, 4)  # A 3500, B 600, C 200, D 100 (E: no 2025 activity)
        assert v.tier == "A"
        assert v.mix.set_index("category")["revenue"].to_dict() == {
            "Industrial sensors": 3000.0, "Cables & connectors": 500.0}
        assert v.costs.to_dict("records") == [{"cost_type": "sales_visits", "amount": 300.0}]
        # A referred B: B's revenue 300 + 400 - 100 = 600
        assert v.referrals[["customer_id", "depth", "revenue"]].to_dict("records") == [
            {"customer_id": "B", "depth": 1, "revenue": 600.0}]
        assert v.children.empty and v.parent is None
        assert v.segment is None and v.ka_types is None and v.peer_basis == "customer_type"
        assert len(v.monthly) == 3 and v.monthly["revenue"].sum() == 3600.0  # all history
        c = view.build(b, "C", facts, links, f.start, f.end)
        assert c.children[["customer_id", "revenue"]].to_dict("records") == [
            {"customer_id": "D", "revenue": 100.0}]
        d = view.build(b, "D", facts, links, f.start, f.end)
        assert d.parent["customer_id"] == "C"
        assert view.build(b, "nope", facts, links, f.start, f.end) is None
        lines = b.plan_lines(["A"], date(2025, 1, 1))
        assert lines["revenue"].sum() == 3500.0
        assert set(lines["category"]) == {"Industrial sensors", "Cables & connectors"}
    finally:
        b.close()


def test_one_pager_slides_and_decks_in_chinese(tiny_db):
    from dataclasses import replace
    from io import BytesIO

    from pptx import Presentation

    from kamdash import deck
    from kamdash.ui.shell import Context

    b = connect(str(tiny_db))
    try:
        f = Filters(start=date(2025, 1, 1), end=date(2025, 6, 1))
        ctx = Context(lang="zh", filters=f, facts={"as_of": date(2025, 6, 30), "currency": "CNY"},
                      labels={}, data_key=())
        v = view.build(b, "A", b.customer_facts(f), b.customer_links(), f.start, f.end)
        plan = plans.PlanVersion("A", 2, "A", plans.normalise(BODY), "李娜", None)
        prog = view.progress(b, plan.body, "A", date(2025, 6, 30), date(2025, 1, 1))
    finally:
        b.close()
    # the revenue goal by hand: 3500 in Jan 1..Jun 30 (181 of 365 days) -> projected 3500*365/181
    assert prog.loc[0, "actual"] == 3500.0
    assert prog.loc[0, "projected"] == pytest.approx(3500 * 365 / 181)
    assert prog.loc[0, "status"] == "on_track"  # 7058 >= 5000
    slides = account_words.one_pager_slides(ctx, v, plan, prog)
    assert len(slides) == 2  # one page for the account, one for its plan
    first, second = slides
    assert first.title == "客户评审：阿尔法商贸 · 2025年1月 – 2025年6月"
    # no months a year before: no trend, only the period's values (3500 revenue, 3500-2100-300)
    assert first.headline == "收入¥3,500，客户利润¥1,100"
    assert first.figure is not None and first.figure.layout.title.text == "各月收入与利润"
    assert first.bullets[:2] == ["收入在4位客户中排第1名，A类",
                                 "客户利润¥1,100：毛利¥1,400（毛利率40%）减去服务成本¥300。"]
    # referrals said when there are some; nothing about a missing group, fit or segment
    assert any(b.startswith("共带来客户1家") for b in first.bullets)
    shown = " ".join([first.headline, *first.bullets, *first.table.iloc[:, 1]])
    for empty in ("暂无", "无", "侧边栏", "—"):
        assert empty not in shown
    assert second.headline == "计划第2版（李娜）：进展正常"
    assert second.table.iloc[0]["状态"] == "进展正常"
    assert "Visit the plant（Li Na；自2025年7月1日起逾期；未开始）" not in second.bullets  # not overdue at 30 Jun
    assert "Visit the plant（Li Na；2025年7月1日到期；未开始）" in second.bullets
    # chart pictures and PDF fonts are kamdash.deck's (tested there; seconds each): the text here
    slides = [replace(s, figure=None) for s in slides]
    meta = dict(title="客户评审：阿尔法商贸", subtitle="", lang="zh", cover=False)
    pptx = deck.to_pptx(slides, **meta)
    prs = Presentation(BytesIO(pptx))
    assert len(prs.slides) == 2
    text = " ".join(sh.text_frame.text for sl in prs.slides for sh in sl.shapes if sh.has_text_frame)
    assert "阿尔法商贸" in text and "计划第2版" in text
