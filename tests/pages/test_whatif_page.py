"""AppTest for the What-if page (run on its own; the retention model is fitted beforehand by
``small_fit``, so the page reads the stored fit for its probabilistic view)."""

import json

import pytest

from kamdash import store
from tests.pages.conftest import metrics, page, switch_to_chinese


@pytest.fixture
def at(small_db, small_fit, use_db):
    use_db(small_db)
    return page("pages/whatif.py").run()


def table(at, column: str):
    """The dataframe with ``column`` (AppTest does not keep dataframe keys)."""
    return next(d.value for d in at.dataframe if column in d.value.columns or column in list(d.value.index))


def rs_spec(at) -> dict:
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return next(s for s in specs if "Reichheld" in (s["layout"].get("title", {}) or {}).get("text", ""))


def test_baseline_then_defection_slider_moves_equity_and_the_rs_panel(at):
    assert not at.exception
    assert at.title[0].value == "Retention what-if"
    m = metrics(at)
    assert m["Customer equity after"][1].startswith("+CN¥0 (±0.0%")
    assert "Retention per year" in m and "Account profit per customer per year" in m
    rs_before = rs_spec(at)
    assert len(rs_before["data"]) == 2  # the R&S band and "your data at 5 points"
    assert len(table(at, "View of value")) == 1  # the probabilistic view waits for its switch
    at.toggle(key="wi_prob").set_value(True).run()
    views = table(at, "View of value")
    assert len(views) == 2  # contractual and the stored probabilistic fit
    assert " – " in views.iloc[1, 2] and views.iloc[1, 1].startswith("CN¥")

    at.slider(key="wi_def").set_value(-3.0).run()
    assert not at.exception
    delta = metrics(at)["Customer equity after"][1]
    assert delta.startswith("+CN¥") and "±0.0%" not in delta
    rs_after = rs_spec(at)
    assert len(rs_after["data"]) == 3 and rs_after["data"][2]["name"] == "This scenario"
    assert any("This scenario (3 points less defection" in md.value for md in at.markdown)
    # the 5-point marker is the same data as before: only the scenario marker is new
    assert rs_after["data"][1]["x"] == rs_before["data"][1]["x"]
    # the tornado lists every lever
    tor = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
               if "Sensitivity" in json.loads(c.proto.spec)["layout"]["title"]["text"])
    assert len(tor["data"][0]["y"]) == 6


def test_chinese(at):
    switch_to_chinese(at)
    assert not at.exception
    assert at.title[0].value == "客户留存假设分析"
    m = metrics(at)
    assert "调整后客户资产" in m and "年留存率" in m


def test_save_load_compare_delete(small_db, use_db, user_db):
    use_db(small_db)
    at = page("pages/whatif.py").run()
    assert any("No stored model fit" in i.value for i in at.info)  # a fresh user database
    at.sidebar.text_input(key="author").input("Li Na")
    at.slider(key="wi_def").set_value(-2.0)
    at.text_input(key="wi_sc_name").input("Two points").run()
    at.button(key="wi_sc_save").click().run()
    at.slider(key="wi_def").set_value(-6.0)
    at.text_input(key="wi_sc_name").input("Six points").run()
    at.button(key="wi_sc_save").click().run()
    saved = table(at, "Saved by")
    assert set(saved["Scenario"]) == {"Two points", "Six points"} and set(saved["Saved by"]) == {"Li Na"}
    ids = dict(zip(store.list_scenarios(user_db)["name"], store.list_scenarios(user_db)["scenario_id"]))
    # what the Present page pins from a saved scenario: equity and profit, before and after, and
    # the equity gain of six points bigger than that of two
    from kamdash.views import present

    nums = {r["name"]: present.scenario_numbers(r["results"]) for _, r in store.list_scenarios(user_db).iterrows()}
    for n in nums.values():
        assert set(n) == {"equity", "profit"} and n["equity"][0] > 0
    gain = {k: v["equity"][1] - v["equity"][0] for k, v in nums.items()}
    assert gain["Six points"] > gain["Two points"] > 0
    # load "Two points": the slider comes back to -2
    at.slider(key="wi_def").set_value(0.0).run()
    at.selectbox(key="wi_sc_pick").select(ids["Two points"]).run()
    at.button(key="wi_sc_load").click().run()
    assert at.slider(key="wi_def").value == -2.0
    assert metrics(at)["Customer equity after"][1] != "+CN¥0 (±0.0%)"
    # compare both side by side
    at.multiselect(key="wi_sc_compare").select(ids["Two points"]).select(ids["Six points"]).run()
    assert not at.exception, at.exception
    cmp = table(at, "Applies to")
    assert list(cmp.columns) == ["Two points · Li Na", "Six points · Li Na"]
    assert cmp.loc["Defection change (points)"].tolist() == ["-2", "-6"]
    # what a scenario is worth comes first: net gain, ROI and payback above the settings
    rows = list(cmp.index)
    assert rows.index("Net gain (after programme cost)") < rows.index("ROI") < rows.index("Payback") < \
        rows.index("Defection change (points)")
    assert all(v.startswith(("+CN¥", "−CN¥")) for v in cmp.loc["Net gain (after programme cost)"])
    # delete one
    at.selectbox(key="wi_sc_pick").select(ids["Six points"]).run()
    at.button(key="wi_sc_delete").click().run()
    assert list(store.list_scenarios(user_db)["name"]) == ["Two points"]
    assert not at.exception


def test_split_targets_profitable_groups_and_explains_loss_makers(at, small_db):
    """small_db: tiers A and B make money, tier C (150 customers) loses 4,309 a year each.
    The page's split equals the analytics on the same baseline; with the loss-makers switched
    in, the page says in one sentence why the gain is smaller."""
    from kamdash.analytics import whatif
    from kamdash.engine import connect
    from kamdash.engine.filters import Filters
    from kamdash.i18n import fmt_money
    from kamdash.views import whatif as view

    b = connect(str(small_db))
    f = b.data_facts()
    base = view.baseline(b, Filters(), f["last_month"], f["first_month"])
    b.close()
    assert at.toggle(key="wi_prof").value is True  # profitable groups by default
    at.slider(key="wi_def").set_value(-5.0).run()
    assert not at.exception
    split = table(at, "Source").set_index("Source")
    res = whatif.run(base.cells, whatif.Params(defection_pts=-5), draws=10)["result"]
    money = lambda x: ("+" if x > 0 else "") + fmt_money(x, "en")  # noqa: E731
    assert split.loc["Groups that make a profit", "Change in customer equity"] == money(res["equity_delta_profitable"])
    assert split.loc["Loss-making groups", "Change in customer equity"] == "CN¥0"
    assert split.loc["Total", "Change in profit next year"] == money(res["profit_delta"])
    assert metrics(at)["Customer equity after"][1].startswith(money(res["equity_delta"]))
    assert any("150 customers in loss-making groups are left out" in c.value for c in at.caption)
    assert not [w for w in at.warning if "Loss-makers" in w.value]
    tor = next(json.loads(c.proto.spec) for c in at.get("plotly_chart")
               if "Sensitivity" in json.loads(c.proto.spec)["layout"]["title"]["text"])
    assert "Defection (±2 points)" in tor["data"][0]["y"] and "Programme cost (no cost set)" in tor["data"][0]["y"]

    at.toggle(key="wi_prof").set_value(False).run()
    everyone = whatif.run(base.cells, whatif.Params(defection_pts=-5, target_profitable=False), draws=10)["result"]
    split = table(at, "Source").set_index("Source")
    assert split.loc["Loss-making groups", "Change in customer equity"] == money(everyone["equity_delta_loss_making"])
    assert everyone["equity_delta_loss_making"] < 0 < everyone["equity_delta"] < res["equity_delta"]
    said = [w.value for w in at.warning if "Loss-makers lower this result" in w.value]
    assert len(said) == 1 and "150 of the targeted customers" in said[0]
    assert money(res["equity_delta"]) in said[0]  # what aiming at the profitable groups gives


def test_split_in_chinese(at):
    switch_to_chinese(at)
    at.slider(key="wi_def").set_value(-5.0).run()
    assert not at.exception
    assert any("变化来自哪里" in md.value for md in at.markdown)
    assert "来源" in table(at, "来源").columns
