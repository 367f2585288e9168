"""AppTest for the concentration page: it renders, opens on account profit (revenue without cost
data, saying so), its numbers are the analytics' numbers on the fixture database, and the value
selector, the cut-offs and the tier filter change them."""

import json
from datetime import date
from types import SimpleNamespace

import pytest

from kamdash import i18n
from kamdash.analytics import losses, pareto
from kamdash.engine import _ibis, connect
from kamdash.engine.filters import Filters
from kamdash.i18n import fmt_money, fmt_number, fmt_pct
from tests import reference
from tests.pages.conftest import ONLY_AMOUNTS, csv_db, metrics, page, switch_to_chinese
from tests.pages.test_downloads import recorded  # noqa: F401 - fixture: the frames the page downloads

YEAR = Filters(start=date(2025, 10, 1), end=date(2026, 9, 1))  # the default period


@pytest.fixture
def at(small_db, use_db, monkeypatch, tmp_path):
    monkeypatch.setenv("KAMDASH_USER_DB", str(tmp_path / "user.duckdb"))  # saved cut-offs stay here
    use_db(small_db)
    return page("pages/concentration.py").run()


@pytest.fixture(scope="module")
def facts(small_db):
    return (connect(str(small_db))).customer_facts(YEAR)


def button_group(at, key):
    return next(b for b in at.get("button_group") if b.key == key)


def expected_readouts(facts, value):
    r = pareto.readouts(pareto.population(facts, value)[value])
    out = {"Customers": fmt_number(r["customers"], "en")}
    out.update({f"Top {round(p * 100)}% share": fmt_pct(v, "en") for p, v in r["top"].items()})
    out["Customers for 80%"] = fmt_pct(r["for_target_share"], "en")
    out["Gini"] = f"{r['gini']:.3f}"
    out["HHI"] = f"{r['hhi']:.4f}"
    return out


def shown(at):
    return {label: value for label, (value, _) in metrics(at).items()}


def test_renders_every_section(at):
    assert not at.exception
    assert at.title[0].value == "Value concentration"
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(charts) == 4  # Pareto, Lorenz, whale, over time
    assert [tr["type"] for tr in charts[0]["data"]][:2] == ["bar", "scatter"]
    assert charts[0]["layout"]["annotations"][0]["text"].endswith("of customers bring 80%")
    assert [s.value for s in at.subheader] == ["Whale curve: who earns the profit and who destroys it",
                                                "ABC tiers by account profit", "Concentration over time",
                                                "Side by side", "Account list"]
    keys = {b.key for b in at.get("download_button")}
    assert {"dl_csv", "dl_xlsx"} <= keys  # the account list
    for chart in ("pareto", "lorenz", "whale", "over_time"):  # every chart as PNG and SVG
        assert {f"{chart}_png", f"{chart}_svg"} <= keys
    for table in ("worst", "tiers", "breakdown"):  # every table as CSV and Excel
        assert {f"{table}_csv", f"{table}_xlsx"} <= keys


def test_numbers_equal_the_analytics_output(recorded, at, facts, small_db):
    got = shown(at)
    assert button_group(at, "value").value == "account_profit"  # profit first: the data has costs
    for label, value in expected_readouts(facts, "account_profit").items():
        assert got[label] == value, label
    w = pareto.whale_summary(facts)
    assert got["Peak of cumulative profit"] == fmt_pct(w["peak"], "en")
    assert got["Reached with (customers)"] == fmt_pct(w["peak_customer_share"], "en")
    assert got["Loss-making customers"] == fmt_number(w["loss_makers"], "en")
    assert got["Profit they destroy"] == fmt_money(w["losses"], "en", "CNY")

    pop = pareto.population(facts, "account_profit")
    tiers = pareto.tier_summary(pareto.abc_tiers(pop, "account_profit"))
    table = at.dataframe[1].value  # [0] worst loss-makers, [1] tiers
    # A, B, C over the profitable accounts, the loss-makers apart, and the total they add up to
    assert table["Tier"].tolist() == ["A", "B", "C", "Loss-makers", "Total"]
    assert tiers["customers"].iloc[3] == (pop["account_profit"] < 0).sum() > 0
    assert table["Customers"].tolist() == [fmt_number(v, "en") for v in [*tiers["customers"], len(pop)]]
    assert table["Account profit"].tolist() == [fmt_money(v, "en", "CNY") for v in
                                                [*tiers["account_profit"], pop["account_profit"].sum()]]
    assert tiers["account_profit"].sum() == pytest.approx(pop["account_profit"].sum())
    assert table["Average order"].tolist()[:4] == [fmt_money(v, "en", "CNY") for v in tiers["avg_order"]]
    assert any("are a group of their own" in c.value for c in at.caption)

    # each loss-maker against the customers of its type among every customer of the period
    worst = pareto.loss_makers(facts, peers=facts)
    shown_worst = at.dataframe[0].value
    assert shown_worst["Account profit"].tolist() == [fmt_money(v, "en", "CNY") for v in worst["account_profit"]]
    first = losses.leading(worst.head(1), prefix="why_")[0]
    assert shown_worst.iloc[0, list(shown_worst.columns).index("Main causes (share of what it costs beyond its peers)")] == \
        " · ".join(f"{i18n.t('conc.reason.' + c, 'en')} {fmt_pct(v, 'en', 0)}" for c, v in first)
    main_cost = [worst.loc[i, f"why_{r}"] for i, r in enumerate(worst["main_reason"])]
    assert shown_worst["Cost of the main cause"].tolist() == [fmt_money(v, "en", "CNY") for v in main_cost]
    # every cause and the peers' profit are in the download, as numbers
    data = recorded["worst"]
    assert data["Extra cost-to-serve (CNY)"].tolist() == pytest.approx(worst["why_cost_to_serve"].round(2).tolist())
    assert data["Profit at peers' rates (CNY)"].tolist() == pytest.approx(worst["peer_profit"].round(2).tolist())
    every = pareto.loss_makers(facts, None)
    counts = every["main_reason"].value_counts()
    assert len(counts) > 1  # the reasons differ from one account to the next
    assert any(m.value.startswith(f"Main cause across all {fmt_number(len(every), 'en')} loss-makers")
               for m in at.markdown)

    drill = at.dataframe[3].value  # tier A by default
    expected = pareto.drilldown(facts, "account_profit", tier="A")
    assert drill["ID"].tolist() == expected["customer_id"].tolist()
    assert drill["Revenue"].tolist() == [fmt_money(v, "en", "CNY") for v in expected["revenue"]]
    button_group(at, "drill").set_value("L").run()  # the loss-makers' group has its own list
    assert at.dataframe[3].value["ID"].tolist() == pareto.drilldown(facts, "account_profit", tier="L")["customer_id"].tolist()


def test_long_drill_down_shows_the_first_rows_and_downloads_every_row(small_db, use_db, monkeypatch, tmp_path, facts):
    from kamdash.ui import concentration as view

    monkeypatch.setattr(view, "DRILL_ROWS_SHOWN", 7)
    monkeypatch.setenv("KAMDASH_USER_DB", str(tmp_path / "user.duckdb"))
    use_db(small_db)
    at = page("pages/concentration.py").run()
    expected = pareto.drilldown(facts, "account_profit", tier="A")
    assert len(expected) > 7
    drill = at.dataframe[3].value
    assert drill["ID"].tolist() == expected["customer_id"].head(7).tolist()
    assert any(f"{fmt_number(len(expected), 'en')} accounts; the first 7 are shown" in c.value for c in at.caption)
    ctx = SimpleNamespace(t=lambda k, **f: i18n.t(k, "en", **f), lang="en", currency="CNY",
                          label=lambda col, v: i18n.value_label(col, v, "en"))
    full = view.drill_table(ctx, expected, "account_profit")  # what the download buttons write
    assert len(full) == len(expected) and full["ID"].tolist() == expected["customer_id"].tolist()
    # data, not text: money in cents under a header with the currency, shares in percent
    assert full["Revenue (CNY)"].tolist() == pytest.approx(expected["revenue"].round(2).tolist())
    assert full["Share of account profit (%)"].tolist() == pytest.approx((expected["value_share"] * 100).round(2).tolist())


def test_value_selector_changes_the_figures(at, facts):
    before = shown(at)
    assert any("negative account profit" in i.value for i in at.info)  # negatives are explained
    button_group(at, "value").set_value("revenue").run()
    after = shown(at)
    assert after["Gini"] != before["Gini"]
    for label, value in expected_readouts(facts, "revenue").items():
        assert after[label] == value, label
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["layout"]["title"]["text"] == "Pareto: Revenue by customer"
    assert at.dataframe[1].value["Tier"].tolist() == ["A", "B", "C", "Total"]  # no revenue below zero


def test_cut_offs_change_the_tiers(at, facts):
    before = at.dataframe[1].value["Customers"].tolist()
    at.slider(key="abc").set_value((60, 90)).run()
    after = at.dataframe[1].value["Customers"].tolist()
    assert after != before
    pop = pareto.population(facts, "account_profit")
    tiers = pareto.tier_summary(pareto.abc_tiers(pop, "account_profit", (0.6, 0.9)))
    assert after == [fmt_number(v, "en") for v in [*tiers["customers"], len(pop)]]
    assert len(at.dataframe[3].value) == tiers["customers"].iloc[0]  # the drill-down follows


def test_saved_cut_offs_drive_the_tier_filter(at, small_db):
    at.slider(key="abc").set_value((70, 90)).run()
    at.button(key="save_cutoffs").click().run()
    at.multiselect(key="tier").select("A").run()
    assert not at.exception
    b = connect(str(small_db))
    cut = _ibis.to_frame(reference.customer_tiers(b.ibis.table("customer_month"), YEAR.start, YEAR.end, (0.7, 0.9)))
    a_ids = cut.loc[cut["tier"] == "A", "customer_id"]
    assert shown(at)["Customers"] == fmt_number(len(a_ids), "en")


def test_chinese(at):
    switch_to_chinese(at)
    assert not at.exception
    assert at.title[0].value == "价值集中度"
    got = shown(at)
    assert "基尼系数" in got and "前 20% 客户占比" in got
    assert any(ch in got["亏损客户侵蚀的利润"] for ch in "万亿")


@pytest.fixture(scope="module")
def plain_db(tmp_path_factory):
    """A database loaded from a CSV with only customer id, date and amount."""
    return csv_db(tmp_path_factory, "plain", ONLY_AMOUNTS)


def test_plain_csv_says_what_needs_cost_data(plain_db, use_db, monkeypatch, tmp_path):
    monkeypatch.setenv("KAMDASH_USER_DB", str(tmp_path / "user.duckdb"))
    use_db(plain_db)
    at = page("pages/concentration.py").run()
    assert not at.exception
    got = shown(at)
    assert button_group(at, "value").value == "revenue"  # nothing but revenue to rank by
    assert any(i.value.startswith("Opens on revenue: this database has no cost data") for i in at.info)
    assert got["Customers"] == "3" and got["Top 20% share"] == fmt_pct(400 / 460, "en")
    assert any("neither cost of goods nor cost-to-serve" in i.value for i in at.info)
    assert not at.warning  # revenue lacks nothing
    button_group(at, "value").set_value("gross_profit").run()
    # next to the figures: they are revenue under another name
    assert [w.value for w in at.warning] == [i18n.t("data.gap.no_costs", "en")]
    assert shown(at)["Gini"] == got["Gini"]  # the same numbers: gross profit is revenue here


def test_tier_filter_applies_to_other_pages_and_resets(small_db, use_db, monkeypatch, tmp_path, facts):
    monkeypatch.setenv("KAMDASH_USER_DB", str(tmp_path / "user.duckdb"))
    use_db(small_db)
    at = page("pages/overview.py").run()
    revenue_all = metrics(at)["Revenue"][0]
    at.multiselect(key="tier").select("A").run()
    assert not at.exception
    tiers = pareto.abc_tiers(pareto.population(facts, "revenue"), "revenue")
    a_revenue = tiers.loc[tiers["tier"] == "A", "revenue"].sum()
    assert metrics(at)["Revenue"][0] == fmt_money(a_revenue, "en", "CNY") != revenue_all
    assert metrics(at)["Active customers"][0] == fmt_number((tiers["tier"] == "A").sum(), "en")
    at.button(key="reset_filters").click().run()
    assert at.multiselect(key="tier").value == [] and metrics(at)["Revenue"][0] == revenue_all
