"""AppTest for the Account 360 page (profile, numbers, links, plan editing, version history, two
sessions editing the same plan) and the Account plans portfolio page."""

from datetime import date

import pandas as pd
import pytest

from kamdash import plans
from kamdash.i18n import fmt_money
from tests.independent import Raw
from tests.pages.conftest import metrics, page, switch_to_chinese

REFERRER = "C000399"  # in the small demo database: refers C000028 and C000055
PLAN = "Account plan"  # the plan tab (only the open tab runs)
PERIOD = (date(2025, 10, 1), date(2026, 9, 1))  # the default period of the small database


def open_account(cid: str, author: str | None = None, tab: str | None = None):
    at = page("pages/account.py")
    at.query_params["customer"] = cid
    if tab:
        at.session_state["acct_tab"] = tab
    if author:
        at.session_state["author"] = author
    return at.run()


def frame(at, column: str) -> pd.DataFrame:
    """The first table shown with ``column`` (read-only tables expose no key to AppTest)."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def test_account_360_numbers_links_and_missing_pieces(small_db, use_db, user_db):
    use_db(small_db)
    at = open_account(REFERRER)
    assert not at.exception
    assert at.title[0].value == "Account 360"
    raw = Raw(small_db)
    cur = raw.period(*PERIOD)
    by = cur["by_customer"]
    shown = metrics(at)
    assert shown["Revenue"][0] == fmt_money(by[REFERRER], "en", "CNY")
    # rank among customers with activity in the period (independent: pandas over order lines and
    # cost-to-serve); ties cannot matter at this position
    rank = next(k for k in shown if k.startswith("Rank by revenue (of "))
    assert shown[rank][0] == f"#{int((by > by[REFERRER]).sum()) + 1}"
    assert shown["P(still active)"][0] == "not fitted"
    infos = " ".join(i.value for i in at.info)
    assert "Segment and key-account types are not available yet" in infos
    assert "fit the model on the Retention & value page" in infos
    referrals = frame(at, "Via")
    assert list(referrals["ID"]) == ["C000028", "C000055"]
    assert list(referrals["360°"]) == ["account?customer=C000028", "account?customer=C000055"]
    assert list(referrals["Revenue"]) == [fmt_money(by.get(c, 0.0), "en", "CNY") for c in referrals["ID"]]
    assert len(at.get("plotly_chart")) == 4  # why it loses money, timeline, product mix, cost-to-serve


def test_pick_by_search_sets_the_link(small_db, use_db, user_db):
    use_db(small_db)
    at = page("pages/account.py").run()
    assert "Choose an account" in at.info[0].value
    at.selectbox(key="account").select("C000028").run()
    assert at.query_params["customer"] == ["C000028"] or at.query_params["customer"] == "C000028"
    assert at.subheader[0].value == "Ruixin Real Estate Co., Ltd."


def save(at, **fields):
    """Type into the plan form's text fields and press Save plan."""
    for name, value in fields.items():
        next(t for t in at.text_area if t.key.startswith(f"plan_{name}.")).input(value)
    next(b for b in at.form_submit_button if b.label == "Save plan").click()
    return at.run()


def test_save_edit_history_and_two_sessions_conflict(small_db, use_db, user_db):
    use_db(small_db)
    me = open_account(REFERRER, "Li Na", PLAN)
    assert "No plan saved" in " ".join(c.value for c in me.caption)
    save(me, solution="Bundle sensors with cables")
    assert not me.exception
    assert "Plan saved as version 1." in [s.value for s in me.success]
    cur = plans.latest(user_db, REFERRER)
    assert (cur.version, cur.author, cur.body["solution"]) == (1, "Li Na", "Bundle sensors with cables")

    # a second browser session opens the same plan (version 1)
    other = open_account(REFERRER, "Wang Wei", PLAN)
    save(other, notes="Budget approved")
    assert plans.latest(user_db, REFERRER).version == 2

    # I still edit from version 1: my save is refused and both versions are shown
    save(me, solution="Service contract with on-site support")
    assert plans.latest(user_db, REFERRER).version == 2  # nothing lost, nothing written
    assert "Not saved: Wang Wei saved version 2" in me.error[0].value
    texts = " ".join(m.value for m in me.markdown)
    assert "Their version" in texts and "Your version" in texts
    assert "Budget approved" in texts and "Service contract with on-site support" in texts
    # merge by field: my solution and their notes
    next(b for b in me.button if b.key == "conflict_merge").click().run()
    save(me)
    latest = plans.latest(user_db, REFERRER)
    assert latest.version == 3 and latest.author == "Li Na"
    assert latest.body["solution"] == "Service contract with on-site support"
    assert latest.body["notes"] == "Budget approved"

    # the other session is now behind: keep mine writes version 4 on top of 3
    save(other, notes="Budget approved, PO expected in May")
    assert "Not saved: Li Na saved version 3" in other.error[0].value
    next(b for b in other.button if b.key == "conflict_mine").click().run()
    assert plans.latest(user_db, REFERRER).version == 4
    assert plans.latest(user_db, REFERRER).body["solution"] == "Bundle sensors with cables"  # theirs was older

    # version history lists every version; an old version can be viewed
    other.session_state["acct_tab"] = "Plan history"
    hist = frame(other.run(), "Saved by")
    assert list(hist["Version"]) == [4, 3, 2, 1]
    assert list(hist["Saved by"]) == ["Wang Wei", "Li Na", "Wang Wei", "Li Na"]


def test_plan_progress_and_portfolio_page(small_db, use_db, user_db):
    use_db(small_db)
    raw = Raw(small_db)
    lines = raw.lines
    # two plans with hand-checkable goals over Jan..Sep 2026 (data as of the end of September)
    for cid, owner_target in (("C000028", 1.0), (REFERRER, 1e9)):
        plans.save(user_db, cid, {"goals": [{"metric": "revenue", "target": owner_target,
                                             "start": "2026-01-01", "due": "2026-12-31"}]}, "Li Na", None)
    at = page("pages/plans.py").run()
    assert not at.exception
    assert at.title[0].value == "Account plans"
    table = frame(at, "Goals")
    assert len(table) == 2
    status = dict(zip(table["Account"], table["Status"]))
    assert status["Ruixin Real Estate Co., Ltd."] == "On track"
    assert status["Yongqi Auto Parts Co., Ltd."] == "Off track"
    assert set(table["360°"]) == {"account?customer=C000028", f"account?customer={REFERRER}"}
    shown = metrics(at)
    assert shown["On track"][0] == "1" and shown["Off track"][0] == "1"
    at.multiselect(key="plans_status").select("off_track").run()
    assert list(frame(at, "Goals")["Account"]) == ["Yongqi Auto Parts Co., Ltd."]

    # the account page shows the goal against actuals computed independently
    acct = open_account("C000028", tab=PLAN)
    prog = frame(acct, "Actual so far")
    d = pd.to_datetime(lines["order_date"])
    actual = lines[(lines["customer_id"] == "C000028") & (d >= "2026-01-01")]["revenue"].sum()
    as_of = d.max().date()
    elapsed = (as_of - date(2026, 1, 1)).days + 1
    assert prog.loc[0, "Actual so far"] == fmt_money(actual, "en", "CNY")
    assert prog.loc[0, "Projected at due date"] == fmt_money(actual * 365 / elapsed, "en", "CNY")


def test_chinese(small_db, use_db, user_db):
    use_db(small_db)
    at = open_account(REFERRER)
    switch_to_chinese(at)
    assert not at.exception
    assert at.title[0].value == "客户360视图"
    assert "收入排名" in metrics(at)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in at.subheader[0].value)
    assert list(frame(at, "经由").columns)[1:3] == ["客户", "360°"]


def test_portfolio_rolls_up_overdue_actions_and_lists_key_accounts_without_a_plan(small_db, use_db, user_db):
    from kamdash import store

    use_db(small_db)
    # data as of 30 Sep 2026: two actions overdue for Li Na on two accounts, one for Wang Wei,
    # a done one and a future one that are not overdue
    plans.save(user_db, "C000028", {"actions": [
        {"action": "Call the buyer", "owner": "Li Na", "due": "2026-09-01", "status": "open"},
        {"action": "Send the offer", "owner": "Wang Wei", "due": "2026-09-20", "status": "in_progress"},
        {"action": "Old visit", "owner": "Li Na", "due": "2026-01-10", "status": "done"},
        {"action": "Next review", "owner": "Li Na", "due": "2026-12-01", "status": "open"}]}, "Li Na", None)
    plans.save(user_db, REFERRER, {"actions": [
        {"action": "Fix the invoice", "owner": "Li Na", "due": "2026-06-30", "status": "blocked"}]}, "Li Na", None)
    store.ensure_user_db(user_db)
    store.put_assignment(user_db, pd.DataFrame({
        "customer_id": ["C000028", "C000055", "C000001", "C000002"], "segment": [1, 1, 2, 2],
        "segment_name": ["a", "a", "b", "b"], "ka_types": ["economic", "important,group", "", None]}))
    at = page("pages/plans.py").run()
    assert not at.exception
    owners = frame(at, "Overdue actions")
    assert owners["Owner"].tolist() == ["Li Na", "Wang Wei"]
    assert owners["Overdue actions"].tolist() == ["2", "1"] and owners["Accounts"].tolist() == ["2", "1"]
    assert owners["Oldest due date"].tolist() == ["Jun 30, 2026", "Sep 20, 2026"]
    assert owners["Days overdue"].tolist() == ["92", "10"]
    unplanned = frame(at, "Revenue")
    # C000028 has a plan; C000001 / C000002 are not key accounts
    assert unplanned["360°"].tolist() == ["account?customer=C000055"]
    assert unplanned["Key-account type"].tolist() == ["Important, Group"]
