"""AppTest: a loss-making account's 360 says why it loses money (the analytics' figures) and shows
its negative lifetime value; pages whose profit figures only repeat revenue (no cost data) or
gross profit (no cost-to-serve) say so next to those figures, in English and Chinese."""

import json
from datetime import date

import pytest

from kamdash import i18n
from kamdash.analytics import losses
from kamdash.engine import connect
from kamdash.engine.filters import Filters
from kamdash.i18n import fmt_money
from tests.pages.conftest import ONLY_AMOUNTS, csv_db, metrics, page, switch_to_chinese

LOSS_MAKER = "C000180"  # small demo database: the largest loss-maker of the default period
PERIOD = Filters(start=date(2025, 10, 1), end=date(2026, 9, 1))


def open_account(cid: str):
    at = page("pages/account.py")
    at.query_params["customer"] = cid
    return at.run()


def test_loss_maker_360_shows_its_causes_and_negative_value(small_db, small_fit, use_db):
    use_db(small_db)
    at = open_account(LOSS_MAKER)
    assert not at.exception
    b = connect(str(small_db))
    try:
        facts = b.customer_facts(PERIOD)
    finally:
        b.close()
    c = losses.causes(facts, [LOSS_MAKER]).iloc[0]
    assert c["account_profit"] < 0
    # the waterfall: profit at the peers' rates, minus each cause, ends at the account profit
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    fall = spec["data"][0]
    assert fall["type"] == "waterfall" and fall["measure"] == ["absolute", *["relative"] * 4, "total"]
    assert fall["y"] == pytest.approx([c["peer_profit"], *(-c[f"cause_{x}"] for x in losses.CAUSES),
                                       c["account_profit"]])
    assert sum(fall["y"][:-1]) == pytest.approx(fall["y"][-1])  # the steps add up to the profit
    sentence = next(m.value for m in at.markdown if m.value.startswith("On its sales"))
    assert fmt_money(c["peer_profit"], "en", "CNY") in sentence
    assert fmt_money(c["account_profit"], "en", "CNY") + " of account profit" in sentence
    assert f"Main cause: **{i18n.t('conc.reason.' + c['main_cause'], 'en')}**" in sentence
    # its lifetime value is negative, shown as such, and said
    value = metrics(at)["Lifetime value"][0]
    assert value.startswith("-CN¥")
    assert any(w.value.startswith("Lifetime value is negative") for w in at.warning)
    switch_to_chinese(at)
    assert not at.exception
    assert any(m.value.startswith("按其销售额") for m in at.markdown)
    assert metrics(at)["终身价值"][0].startswith("-¥")


@pytest.fixture(scope="module")
def no_cost_db(tmp_path_factory):
    """A database loaded from a CSV with only customer id, date and amount."""
    return csv_db(tmp_path_factory, "nocost", ONLY_AMOUNTS)


@pytest.fixture(scope="module")
def no_cts_db(tmp_path_factory):
    """Order lines with a cost column, no cost-to-serve file."""
    return csv_db(tmp_path_factory, "nocts", "customer_id,order_date,revenue,cost\nA,2025-01-05,100,60\n"
                  "B,2025-02-10,50,20\nA,2025-03-01,300,200\n")


def test_without_costs_each_page_says_so_next_to_its_profit_figures(no_cost_db, use_db, user_db):
    use_db(no_cost_db)
    note = i18n.t("data.gap.no_costs", "en")
    at = page("pages/overview.py").run()
    assert not at.exception
    m = metrics(at)
    assert m["Gross profit"][0] == m["Account profit"][0] == m["Revenue"][0]  # what the note explains
    assert [w.value for w in at.warning] == [note]
    # right under the row of revenue and profit cards, before the row of the other KPIs
    top = list(at.main.children.values())
    where = next(i for i, e in enumerate(top) if type(e).__name__ == "Warning")
    assert "Gross profit" in [m.label for m in top[where - 1].metric]
    assert "Active customers" in [m.label for m in top[where + 1].metric]
    switch_to_chinese(at)
    assert [w.value for w in at.warning] == [i18n.t("data.gap.no_costs", "zh")]

    at = open_account("A")
    assert not at.exception
    assert note in [w.value for w in at.warning]
    m = metrics(at)
    assert m["Gross profit"][0] == m["Account profit"][0] == m["Revenue"][0]

    at = page("pages/concentration.py").run()
    assert not at.exception and not at.warning  # opens on revenue, which lacks nothing
    assert any(i.value.startswith("Opens on revenue") for i in at.info)


def test_without_cost_to_serve_account_profit_is_said_to_be_gross_profit(no_cts_db, use_db, user_db):
    use_db(no_cts_db)
    note = i18n.t("data.gap.no_cost_to_serve", "en")
    at = page("pages/overview.py").run()
    assert not at.exception
    m = metrics(at)
    assert m["Gross profit"][0] == m["Account profit"][0] != m["Revenue"][0]
    assert [w.value for w in at.warning] == [note]
    at = page("pages/concentration.py").run()
    assert not at.exception
    assert next(b for b in at.get("button_group") if b.key == "value").value == "account_profit"
    assert note in [w.value for w in at.warning]


def test_with_every_cost_no_note(small_db, use_db, user_db):
    use_db(small_db)
    at = page("pages/overview.py").run()
    assert not at.exception and not at.warning


def test_what_if_baseline_says_its_profit_is_revenue_without_costs(tmp_path, use_db, user_db):
    from kamdash import ingest

    # two years of monthly orders without costs: C stops after the first year
    rows = ["customer_id,order_date,revenue"]
    for y in (2024, 2025):
        for mth in range(1, 13):
            rows += [f"A,{y}-{mth:02d}-05,100", f"B,{y}-{mth:02d}-12,40"]
            if y == 2024:
                rows.append(f"C,{y}-{mth:02d}-20,10")
    (tmp_path / "orders.csv").write_text("\n".join(rows) + "\n")
    ingest.load_files(tmp_path / "two_years.duckdb", tmp_path / "orders.csv")
    use_db(tmp_path / "two_years.duckdb")
    at = page("pages/whatif.py").run()
    assert not at.exception
    assert i18n.t("wi.empty", "en") not in [w.value for w in at.warning]
    assert i18n.t("data.gap.no_costs", "en") in [w.value for w in at.warning]
