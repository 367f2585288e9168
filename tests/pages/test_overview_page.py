"""AppTest for the overview page: it renders, numbers are right, controls change the output."""

import json
from datetime import date

import pytest

from kamdash.i18n import fmt_money, fmt_number, fmt_pct
from tests.independent import Raw
from tests.pages.conftest import metrics, page, switch_to_chinese


@pytest.fixture
def at(small_db, use_db):
    use_db(small_db)
    return page("pages/overview.py").run()


def test_renders_kpis_chart_and_table(at):
    assert not at.exception
    assert at.title[0].value == "Overview"
    assert list(metrics(at)) == ["Revenue", "Gross profit", "Account profit", "Active customers",
                                 "Top 20% share of revenue", "Customers lost"]
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert [tr["type"] for tr in spec["data"]] == ["bar", "scatter", "scatter"]
    assert len(spec["data"][0]["x"]) == 12  # default period: the last 12 months
    table = at.dataframe[0].value
    assert len(table) == 10 and table.columns[1] == "Account"


def test_kpis_equal_an_independent_pandas_computation(at, small_db):
    raw = Raw(small_db)
    cur = raw.period(date(2025, 10, 1), date(2026, 9, 1))
    prev = raw.period(date(2024, 10, 1), date(2025, 9, 1))
    shown = metrics(at)
    assert shown["Revenue"][0] == fmt_money(cur["revenue"], "en", "CNY")
    assert shown["Gross profit"][0] == fmt_money(cur["gross_profit"], "en", "CNY")
    assert shown["Account profit"][0] == fmt_money(cur["account_profit"], "en", "CNY")
    assert shown["Active customers"][0] == fmt_number(len(cur["active"]), "en")
    assert shown["Top 20% share of revenue"][0] == fmt_pct(cur["top20_share"], "en")
    assert shown["Customers lost"][0] == fmt_number(len(prev["active"] - cur["active"]), "en")
    change = cur["revenue"] / prev["revenue"] - 1
    assert shown["Revenue"][1] == ("+" if change > 0 else "-") + fmt_pct(abs(change), "en")


def test_changing_a_filter_changes_the_kpis(at, small_db):
    before = metrics(at)
    at.multiselect(key="region").select("East China").run()
    after = metrics(at)
    assert after["Revenue"] != before["Revenue"]
    expected = Raw(small_db).period(date(2025, 10, 1), date(2026, 9, 1), region=["East China"])
    assert after["Revenue"][0] == fmt_money(expected["revenue"], "en", "CNY")
    at.select_slider(key="period").set_value(("2025-07", "2026-06")).run()
    assert metrics(at)["Revenue"] != after["Revenue"]
    assert "Jul 2025 – Jun 2026" in at.caption[0].value


def test_switching_language_changes_labels_and_keeps_filters(at):
    at.multiselect(key="region").select("East China").run()
    revenue_en = metrics(at)["Revenue"][0]
    switch_to_chinese(at)
    assert at.title[0].value == "总览"
    shown = metrics(at)
    assert list(shown)[:3] == ["收入", "毛利", "客户利润"]
    assert "亿" in shown["收入"][0] or "万" in shown["收入"][0]
    assert shown["收入"][0] != revenue_en
    assert at.multiselect(key="region").value == ["East China"]  # the filter survived
    table = at.dataframe[0].value
    assert table.columns[1] == "客户"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in table.iloc[0, 1])  # Chinese account names


def test_filters_with_no_sales_say_so(at):
    at.multiselect(key="sector").select("military")
    at.multiselect(key="ctype").select("distributor").run()
    assert not at.exception
    assert "No sales match these filters" in at.warning[0].value


def test_reset_clears_filters(at):
    at.multiselect(key="region").select("East China").run()
    at.button(key="reset_filters").click().run()
    assert at.multiselect(key="region").value == []



def test_a_new_account_reads_new_not_a_missing_change(tiny_db, use_db):
    """On the tiny database, Apr-Jun 2025 against Jan-Mar 2025: A (1,000 -> 2,500) and B (300 ->
    300) have a rate of change, D bought nothing before and reads "new"; with no period before in
    the data (the first months), no account is called new."""
    use_db(tiny_db)
    at = page("pages/overview.py").run()
    at.select_slider(key="period").set_value(("2025-04", "2025-06")).run()
    assert not at.exception
    change = dict(zip(at.dataframe[0].value["Account"], at.dataframe[0].value["Change"]))
    assert {k: change[k] for k in ("Alpha Trading", "Beta Bureau", "Delta School")} == \
        {"Alpha Trading": "+150.0%", "Beta Bureau": "±0.0%", "Delta School": "new"}
    at.select_slider(key="period").set_value(("2024-10", "2024-12")).run()
    assert "new" not in set(at.dataframe[0].value["Change"])
