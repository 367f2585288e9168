"""AppTest for the key-accounts page and the KA type / segment filters in the sidebar."""

import json

import pytest

from kamdash import store
from kamdash.i18n import fmt_money
from tests.pages.conftest import metrics, page



@pytest.fixture
def at(small_db, use_db, user_db):
    use_db(small_db)
    return page("pages/key_accounts.py").run()


def types_table(at):
    return at.dataframe[0].value.set_index("Type")


def test_renders_types_portfolio_and_groups(at):
    assert not at.exception
    assert at.title[0].value == "Key accounts"
    t = types_table(at)
    assert list(t.index) == ["Economic", "Important", "Group", "Strategic", "Any key-account type",
                             "No key-account type"]
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert [s["data"][0]["type"] for s in specs] == ["bar", "scatter"]
    assert [tr["name"] for tr in specs[1]["data"]] == ["Stars", "Develop", "Maintain", "Review"]
    assert len(at.tabs) == 4
    groups = at.dataframe[-1].value
    assert len(groups) > 0 and groups.columns[0] == "Group (top parent)"


def test_editing_a_rule_changes_the_types_and_is_saved(at, user_db):
    econ = int(types_table(at).loc["Economic", "Customers"].replace(",", ""))
    at.number_input(key="ka_econ_rev").set_value(30.0)
    next(b for b in at.button if b.label == "Save rules").click()
    at.run()
    assert not at.exception
    assert int(types_table(at).loc["Economic", "Customers"].replace(",", "")) > econ
    assert store.get_setting(user_db, "ka.rules")["economic_top_revenue"] == pytest.approx(0.3)


def test_ka_type_filter_applies_on_other_pages(at, small_db, user_db):
    stored = store.get_assignment(user_db)
    important = stored[stored["ka_types"].str.contains("important")]
    assert len(important) > 0
    ov = page("pages/overview.py").run()
    revenue_all = metrics(ov)["Revenue"][0]
    ov.multiselect(key="ka").select("important").run()
    assert not ov.exception
    shown = metrics(ov)["Revenue"][0]
    assert shown != revenue_all
    kap = types_table(at).loc["Important", "Revenue"]
    assert shown == kap  # the same customers, the same period
    ov.multiselect(key="ka").unselect("important").run()
    seg1 = stored.loc[stored["segment"] == 1, "customer_id"]
    ov.multiselect(key="segment").select("1").run()
    assert not ov.exception
    assert metrics(ov)["Active customers"][0] == f"{len(seg1):,}"
