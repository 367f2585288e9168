"""AppTest for the My accounts page (run on its own)."""

import json

import pytest

from kamdash import plans, store
from tests.pages.conftest import metrics, page, switch_to_chinese


@pytest.fixture
def at(small_db, use_db, user_db):
    """The small demo database with an empty user database: no model fit, no plans."""
    use_db(small_db)
    return page("pages/my_accounts.py").run()


def charts(at) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def test_renders_actions_health_backtest_whitespace_and_forecast(at):
    assert not at.exception
    assert at.title[0].value == "My accounts"
    m = metrics(at)
    assert int(m["Accounts"][0].replace(",", "")) > 100
    assert "AUC of the score" in m and float(m["AUC of the score"][0]) > 0.6
    assert {"Next 3 months", "Next 6 months", "Next 12 months"} <= set(m)
    types = [c["data"][0]["type"] for c in charts(at)]
    assert types[:2] == ["bar", "bar"] or "heatmap" in types  # score trend, backtest bars, heat map...
    assert "heatmap" in types
    text = " ".join(x.value for x in at.markdown)
    assert "No lifetime model is stored yet" in text and "were forecast at" in text
    assert any("AUC" in x.value and "lost" in x.value for x in at.markdown)
    assert len([b for b in at.button if b.key and b.key.startswith("my_act_add_")]) == 15
    assert any("How it is computed: peers" in c.value for c in at.caption)


def test_weights_change_the_score_and_are_saved(at, user_db):
    before = metrics(at)["Mean health score"][0]
    at.number_input(key="my_w_rhythm").set_value(0.0).run()
    assert metrics(at)["Mean health score"][0] != before
    at.button(key="my_w_save").click().run()
    assert not at.exception
    assert store.get_setting(user_db, "my_accounts.health_weights")["rhythm"] == 0.0
    for c in ("rhythm", "trend", "breadth", "margin", "p_alive", "plan"):
        at.number_input(key=f"my_w_{c}").set_value(0.0)
    at.run()
    assert any("at least one above 0" in w.value for w in at.warning)


def test_add_to_plan_saves_a_version_with_the_author(at, user_db):
    at.sidebar.text_input(key="author").input("Li Na").run()
    add = next(b for b in at.button if b.key and b.key.startswith("my_act_add_0_"))
    customer = add.key.split("_")[4]
    add.click().run()
    assert not at.exception
    plan = plans.latest(user_db, customer)
    assert plan is not None and plan.version == 1 and plan.author == "Li Na"
    assert len(plan.body["actions"]) == 1 and plan.body["actions"][0]["status"] == "open"


def test_manager_filter_narrows_the_accounts(at):
    total = int(metrics(at)["Accounts"][0].replace(",", ""))
    manager = at.sidebar.multiselect(key="manager")
    manager.set_value([manager.options[0]]).run()
    assert not at.exception
    assert 0 < int(metrics(at)["Accounts"][0].replace(",", "")) < total


def test_with_a_stored_fit_the_forecast_says_so(small_db, small_fit, use_db):
    use_db(small_db)
    at = page("pages/my_accounts.py").run()
    assert not at.exception
    assert any("Forecast from the stored lifetime model" in x.value for x in at.markdown)


def test_chinese(at):
    switch_to_chinese(at)
    assert not at.exception
    assert at.title[0].value == "我的客户"
    assert "平均健康评分" in metrics(at)
