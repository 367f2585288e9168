"""AppTest for the Retention & value page (run on its own; the model is fitted beforehand by
the ``small_fit`` fixture, as a first visit would, so the page only reads the persisted fit)."""

import json

import pytest

from tests.pages.conftest import metrics, page, switch_to_chinese


@pytest.fixture
def at(small_db, small_fit, use_db):
    use_db(small_db)
    return page("pages/retention.py").run()


def equity(at) -> str:
    return metrics(at)["Customer equity"][0]


def test_renders_cohorts_value_validation_and_at_risk(at):
    assert not at.exception
    assert at.title[0].value == "Retention & value"
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    types = [c["data"][0]["type"] for c in charts]
    assert types[:3] == ["heatmap", "scatter", "bar"]  # cohorts: heatmap, curves, defection
    assert "Customer equity" in metrics(at)
    # equity by group and top accounts carry their intervals as error bars
    bars = [c for c in charts if c["data"][0].get("orientation") == "h"]
    assert len(bars) == 2 and all("error_x" in c["data"][0] for c in bars)
    assert any("under-predicted" in m.value or "over-predicted" in m.value for m in at.markdown)
    assert "fitted on purchases to" in " ".join(c.value for c in at.caption)


def test_changing_horizon_or_discount_changes_equity(at):
    before = equity(at)
    at.slider(key="ret_horizon").set_value(36).run()
    longer = equity(at)
    assert longer != before
    at.slider(key="ret_discount").set_value(30).run()
    assert equity(at) != longer
    assert not at.exception


def test_grouping_and_cohort_frequency(at):
    at.segmented_control(key="ret_group").set_value("account_manager").run()
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert any("Account manager" in (c["layout"].get("title", {}) or {}).get("text", "") for c in charts)
    at.segmented_control(key="ret_freq").set_value("Q").run()
    assert not at.exception


def test_chinese(at):
    switch_to_chinese(at)
    assert at.title[0].value == "留存与价值"
    assert "客户资产" in metrics(at)


def test_equity_by_segment_and_ka_type_from_the_stored_assignment(small_db, small_fit, use_db):
    import pandas as pd

    from kamdash import config, store
    from tests.conftest import read_table

    use_db(small_db)
    user = config.user_db_path(small_db)
    before = store.get_assignment(user)
    ids = read_table(small_db, "customers")["customer_id"]
    assigned = pd.DataFrame({"customer_id": ids, "segment": [1 + i % 2 for i in range(len(ids))],
                             "segment_name": ["Big" if i % 2 == 0 else "Small" for i in range(len(ids))],
                             "ka_types": ["economic,important" if i % 4 == 0 else "" for i in range(len(ids))]})
    store.put_assignment(user, assigned)
    try:
        at = page("pages/retention.py").run()
        at.segmented_control(key="ret_group").set_value("segment").run()
        bars = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
        labels = {y for c in bars if c["data"][0].get("orientation") == "h" for y in c["data"][0]["y"]}
        assert {"1 · Big", "2 · Small"} <= labels
        at.segmented_control(key="ret_group").set_value("ka_type").run()
        bars = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
        labels = {y for c in bars if c["data"][0].get("orientation") == "h" for y in c["data"][0]["y"]}
        assert {"Economic", "Important"} <= labels
        assert any("add up to more than the total" in c.value for c in at.caption)
        assert not at.exception
    finally:
        store.put_assignment(user, before if len(before) else assigned.iloc[0:0])


def test_at_risk_list_is_saveable_formatted_linked_and_adds_to_the_plan(small_db, small_fit, use_db):
    """The saveable accounts (the rule: tests/test_at_risk.py) shown with money formatted, a
    link to each account, and "add to its plan" storing a new plan version by its author."""
    from kamdash import config, plans, retention
    from kamdash.engine import connect
    from kamdash.engine.filters import Filters
    from kamdash.views import at_risk

    use_db(small_db)
    b = connect(str(small_db))
    facts = b.data_facts()
    values = retention.account_values(b, small_fit[1], facts["as_of"], Filters(),
                                      retention.ValueSettings(12, 0.1, True))
    b.close()
    risk = at_risk.build(values, small_fit[1])
    at = page("pages/retention.py").run()
    at.sidebar.text_input(key="author").input("Li Na").run()
    shown = next(d.value for d in at.dataframe if "Value at stake" in d.value.columns)
    assert list(shown["ID"]) == list(risk.saveable["customer_id"])
    assert all(v.startswith("CN¥") for v in shown["Value at stake"])
    assert all(v.endswith("%") for v in shown["P(still active)"])
    assert all(u.startswith("account?customer=") for u in shown["360°"])
    assert shown["Why it is on the list"].str.len().gt(0).all()
    assert any(f"**{len(risk.saveable)} accounts worth saving now**" in m.value for m in at.markdown)
    assert any("high-revenue accounts already lost" in e.label for e in at.expander)
    first = risk.saveable["customer_id"].iloc[0]
    at.selectbox(key="ret_risk_pick").select(first).run()
    user_db = config.user_db_path(small_db)  # where the stored fit is
    before = plans.latest(user_db, first)
    at.button(key="ret_risk_add").click().run()
    try:
        assert not at.exception
        assert any("Added to the plan of" in s.value for s in at.success)
        plan = plans.latest(user_db, first)
        assert plan.version == (before.version if before else 0) + 1
        assert plan.author == "Li Na" and plan.body["actions"][-1]["action"].startswith("Retention call")
        assert plan.body["actions"][-1]["status"] == "open"
    finally:
        if before is None and plans.latest(user_db, first):
            plans.delete(user_db, first, plans.latest(user_db, first).version)


def test_at_risk_in_chinese(at):
    switch_to_chinese(at)
    assert not at.exception
    shown = next(d.value for d in at.dataframe if "风险价值" in d.value.columns)
    assert all(v.startswith("¥") for v in shown["风险价值"])
