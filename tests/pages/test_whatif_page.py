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
    cmp = table(at, "Applies to")
    assert list(cmp.columns) == ["Two points · Li Na", "Six points · Li Na"]
    assert cmp.loc["Defection change (points)"].tolist() == ["-2", "-6"]
    # delete one
    at.selectbox(key="wi_sc_pick").select(ids["Six points"]).run()
    at.button(key="wi_sc_delete").click().run()
    assert list(store.list_scenarios(user_db)["name"]) == ["Two points"]
    assert not at.exception
