"""AppTest for the key-accounts page and the KA type / segment filters in the sidebar."""

import json

import pytest

from kamdash import store
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
    assert list(t.index) == ["Economic", "Important", "Group", "Strategic", "Key accounts",
                             "Other customers"]
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert [s["data"][0]["type"] for s in specs] == ["bar", "scatter"]
    assert [tr["name"] for tr in specs[1]["data"]] == ["Stars", "Develop", "Maintain", "Review"]
    # the matrix holds the selected key accounts only, growth in % with its periods stated
    n = int(metrics(at)["Key accounts"][0].replace(",", ""))
    plotted = [tr["customdata"][i][-1] for tr in specs[1]["data"] for i in range(len(tr.get("customdata") or []))]
    assert 0 < len(plotted) <= n
    assert specs[1]["layout"]["yaxis"]["title"]["text"].startswith("Growth, ")
    assert " vs " in specs[1]["layout"]["yaxis"]["title"]["text"]
    assert all(t.endswith("%") for t in specs[1]["layout"]["yaxis"]["ticktext"])
    tab_growth = [v for df in at.dataframe[1:5] for v in df.value["Growth"]]
    assert all(v == "new" or v.endswith("%") for v in tab_growth)
    assert len(at.tabs) == 4
    groups = at.dataframe[-1].value
    assert len(groups) > 0 and groups.columns[0] == "Group (top parent)"


def count(at, row, col="Customers"):
    return int(types_table(at).loc[row, col].replace(",", ""))


def test_editing_a_rule_changes_the_types_and_is_saved(at, user_db):
    econ = count(at, "Economic", "Qualifying")
    at.number_input(key="ka_econ_rev").set_value(30.0)
    next(b for b in at.button if b.label == "Save rules").click()
    at.run()
    assert not at.exception
    assert count(at, "Economic", "Qualifying") > econ
    assert store.get_setting(user_db, "ka.rules")["economic_top_revenue"] == pytest.approx(0.3)


def test_the_page_says_how_selective_the_set_is(at, small_db, user_db):
    from kamdash.analytics import ka_types as ka
    from kamdash.engine import connect
    from kamdash.engine.filters import Filters, add_months

    m = metrics(at)
    n = int(m["Key accounts"][0].replace(",", ""))
    assert n == count(at, "Key accounts")
    # the readouts against an independent sum over the stored assignment and the features
    stored = store.get_assignment(user_db)
    chosen = set(stored.loc[stored["ka_types"] != "", "customer_id"])
    assert len(chosen) == n
    b = connect(str(small_db))
    last = b.last_month()
    f = b.customer_features(Filters(start=add_months(last, -11), end=last), False)
    assert n == ka.KaRules().limit(len(f))  # the default: 10% of the active customers
    share = f.loc[f["customer_id"].isin(chosen), "account_profit"].sum() / f["account_profit"].sum()
    assert m["Share of account profit"][0] == f"{share:.1%}"
    assert not any("no longer the few" in w.value for w in at.warning)
    # a capacity of 12 accounts: 12 key accounts, saved, and the sidebar's assignment follows
    at.number_input(key="ka_capacity").set_value(12)
    next(b for b in at.button if b.label == "Apply").click()
    at.run()
    assert not at.exception
    assert metrics(at)["Key accounts"][0] == "12"
    assert store.get_setting(user_db, "ka.rules")["capacity"] == 12
    assert (store.get_assignment(user_db)["ka_types"] != "").sum() == 12
    # half the customers is no longer the few: the page warns (the rules must let them qualify)
    at.number_input(key="ka_capacity").set_value(0)
    at.number_input(key="ka_share").set_value(50.0)
    next(b for b in at.button if b.label == "Apply").click()
    at.run()
    assert not any("no longer the few" in w.value for w in at.warning)  # too few qualify
    at.number_input(key="ka_econ_rev").set_value(60.0)
    next(b for b in at.button if b.label == "Save rules").click()
    at.run()
    assert not at.exception
    assert any("no longer the few" in w.value for w in at.warning)


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
