"""The workshop storyline (kamdash.views.present, worded by kamdash.ui.present_text): headlines computed from the data and right,
pinned what-if scenarios read defensively, and an 8-slide deck exported to PPTX."""

from __future__ import annotations

import io
import math
from datetime import date

import pandas as pd
import pytest

from kamdash import deck
from kamdash.analytics import cohorts, pareto
from kamdash.engine import connect
from kamdash.engine.filters import Filters, add_months
from kamdash.i18n import fmt_money, fmt_pct
from kamdash.ui import present_text as pt
from kamdash.views import present
from tests.conftest import TINY_CTS, TINY_LINES

FULL = Filters(start=date(2024, 10, 1), end=date(2025, 6, 1))


@pytest.fixture(scope="module")
def tiny(tiny_db):
    backend = connect(str(tiny_db))
    yield backend, backend.data_facts()
    backend.close()


def by_hand() -> pd.DataFrame:
    """Revenue and account profit per customer over the whole tiny database, in plain pandas."""
    lines = pd.DataFrame(TINY_LINES, columns=["order", "line", "date", "customer", "product", "qty",
                                              "price", "discount", "revenue", "cost"])
    cts = pd.DataFrame(TINY_CTS, columns=["customer", "month", "type", "amount"])
    g = lines.groupby("customer")[["revenue", "cost"]].sum()
    g["account_profit"] = g["revenue"] - g["cost"] - cts.groupby("customer")["amount"].sum().reindex(g.index).fillna(0)
    return g


def test_headlines_equal_hand_computations_on_tiny(tiny):
    backend, facts = tiny
    hand = by_hand()  # A 1,140 · B 200 · C 80 · D -10 · E 40 account profit; revenue 4,620
    assert hand["account_profit"].tolist() == [1140, 200, 80, -10, 40]
    slides = pt.build(backend, pt.Texts("en"), FULL, facts,
                           ["overview", "concentration", "whale"])
    rev, ap = hand["revenue"].sum(), hand["account_profit"].sum()
    assert slides[0].headline == (f"5 customers bought {fmt_money(rev, 'en')} and left "
                                  f"{fmt_money(ap, 'en')} of account profit ({fmt_pct(ap / rev, 'en', 0)} of revenue)")
    assert slides[0].headline == "5 customers bought CN¥4,620 and left CN¥1,450 of account profit (31% of revenue)"
    # top 20% of 5 customers = 1 customer (A): 1,140 / 1,450 of account profit
    top = hand["account_profit"].nlargest(math.ceil(0.2 * len(hand))).sum() / ap
    assert slides[1].headline == f"Top 20% of customers bring {fmt_pct(top, 'en', 0)} of account profit"
    assert slides[1].headline == "Top 20% of customers bring 79% of account profit"
    # one loss-maker (D) loses 10
    assert slides[2].headline == "1 accounts lose CN¥10 of account profit"
    assert slides[2].table.iloc[0, 0] == "Delta School"
    assert all(s.figure is not None and s.notes for s in slides)


def test_retention_headline_reads_the_cohort_curve(tiny):
    backend, facts = tiny
    counts = backend.cohort_counts(FULL, "M")
    matrix, sizes = cohorts.retention_matrix(counts, "M", last_period=facts["last_month"])
    curve = cohorts.retention_curve(matrix, sizes)
    k, share = present.retention_point(curve)
    assert k == max(c for c in curve.dropna().index if 1 <= c <= 12)
    s = pt.retention_slide(pt.Texts("zh"), present.retention(matrix, sizes))
    assert s.headline == f"平均 {fmt_pct(share, 'zh', 0)} 的新客户在首单 {k} 个月后仍在购买"


def test_concentration_falls_back_to_revenue_when_losses_push_shares_past_100pct():
    facts = pd.DataFrame({"customer_id": list("abcde"), "revenue": [100.0, 50, 30, 10, 10], "orders": 1,
                          "gross_profit": [0.0] * 5, "account_profit": [100.0, 10, 5, -50, -60],
                          "name": list("abcde")})
    assert pareto.top_share(facts["account_profit"], 0.2) > 1
    s = pt.concentration_slide(pt.Texts("en"), present.concentration(facts))
    assert s.headline == "Top 20% of customers bring 50% of revenue"


@pytest.mark.parametrize("results,expected", [
    ({"equity_before": 100.0, "equity_after": 120.0, "profit_before": 10, "profit_after": 12},
     {"equity": (100.0, 120.0), "profit": (10.0, 12.0)}),
    ('{"result": {"equity_before": 1e6, "equity_after": 1.1e6}, "band": [1, 2]}', {"equity": (1e6, 1.1e6)}),
    ({"before": {"account_profit": 5}, "after": {"account_profit": 7}}, {"profit": (5.0, 7.0)}),
    ({"equity_before": None, "equity_after": 3}, {}),
    ("not json", {}),
    (None, {}),
])
def test_scenario_numbers_are_read_defensively(results, expected):
    assert present.scenario_numbers(results) == expected


def test_scenario_slide_and_storyline_order():
    tx = pt.Texts("en")
    scns = {"s1": {"name": "Keep 5 more points", "params": '{"defection_points": -5, "cost": 2000}',
                   "results": {"equity_before": 1_000_000, "equity_after": 1_250_000}}}
    s = pt.scenario_slide(tx, present.scenario(scns["s1"]))
    # an unknown setting name is not printed; no stored cost result: the cost line says only what was entered
    assert s.headline == "No change for all customers: customer equity +CN¥250K (+25.0%)"
    assert "defection_points" not in s.notes and s.figure is not None
    assert pt.scenario_slide(tx, present.scenario({"name": "x", "results": {}})).headline == \
        "This scenario has no stored results to show"
    order = ["retention", "scenario:s1", "scenario:gone", "retention", "nope", "overview"]
    assert present.valid_order(order, scns) == ["retention", "scenario:s1", "overview"]
    assert pt.slide_name(tx, "scenario:s1", scns) == "What-if: Keep 5 more points"


SAVED = {"name": "Tier A programme",
         "params": {"defection_pts": -5.0, "target_tiers": ["A"], "target_segments": [], "target_ka": [],
                    "margin_pct": 0.0, "discount": 0.1, "horizon": 5, "cost_mode": "per_customer", "cost": 2000.0,
                    "new_customers": 0},
         "results": {"equity_before": 311_551_234.0, "equity_after": 342_706_357.0, "equity_delta": 31_155_123.0,
                     "profit_before": 80_400_000.0, "profit_after": 84_100_000.0, "programme_cost_pv": 1_234_567.0,
                     "net_value": 29_920_556.0, "roi": 24.236, "payback_years": 1}}


def test_scenario_slide_speaks_business_words_in_both_languages():
    s = pt.scenario_slide(pt.Texts("en"), present.scenario(SAVED))
    assert s.headline == "5 points less defection for Tier A: customer equity +CN¥31.2M (+10.0%)"
    assert s.bullets == [
        "Change: 5 points less defection, for Tier A",
        "Programme cost: CN¥2,000 a year per targeted account still with us (CN¥1.2M in today's money over the horizon)",
        "Customer equity: CN¥311.6M → CN¥342.7M (+CN¥31.2M)",
        "Account profit next year: CN¥80.4M → CN¥84.1M (+CN¥3.7M)",
        "Net gain after the programme cost: +CN¥29.9M",
        "Return on the programme: 2,424%; pays back in 1 year"]
    assert "10% discount rate over 5 years" in s.notes
    texts = [s.headline, *s.bullets, s.notes]
    for text in texts:  # no raw settings, no three-decimal money, no full-width quotes in English
        assert "_pts" not in text and "cost_mode" not in text and "311.551" not in text
        assert not set(text) & set("“”「」（）：，")
    bars = [t for tr in s.figure.data for t in tr.text]
    assert bars == ["CN¥311.6M", "CN¥80.4M", "CN¥342.7M", "CN¥84.1M"]
    zh = pt.scenario_slide(pt.Texts("zh"), present.scenario(SAVED))
    assert zh.headline == "A 级：流失率降低 5 个百分点，客户资产 +¥3115.5万（+10.0%）"
    assert "计划投资回报率：2,424%；回收期 1 年" in zh.bullets
    assert [t for tr in zh.figure.data for t in tr.text][0] == "¥3.1亿"


def test_read_scenarios_from_the_user_database(tmp_path):
    from kamdash import store

    path = tmp_path / "user.duckdb"
    assert present.read_scenarios(path) == {}
    store.ensure_user_db(path)
    store._with_user_db(path, lambda con: con.execute(  # noqa: SLF001 - as scenarios are stored
        "INSERT INTO scenarios VALUES (?, ?, ?, ?, now(), ?)",
        ["s1", "Plan A", '{"horizon": 5}', '{"equity_before": 1, "equity_after": 2}', "me"]))
    got = present.read_scenarios(path)
    assert got["s1"]["name"] == "Plan A" and got["s1"]["params"] == {"horizon": 5}
    assert present.scenario_numbers(got["s1"]["results"]) == {"equity": (1.0, 2.0)}


@pytest.mark.skipif(deck.chromium_path() is None, reason="kaleido needs Chromium")
def test_eight_slide_chinese_deck(small_db):
    """The whole storyline (6 slides) plus two pinned scenarios, in Chinese, to PPTX."""
    from pptx import Presentation

    backend = connect(str(small_db))
    facts = backend.data_facts()
    f = Filters(start=add_months(facts["last_month"], -11), end=facts["last_month"])
    scns = {f"s{i}": {"name": f"方案{i}", "params": {}, "results": {"equity_before": 1e6, "equity_after": 1e6 + i * 1e5,
                                                                   "profit_before": 2e5, "profit_after": 2.2e5}}
            for i in (1, 2)}
    tx = pt.Texts("zh", labels=backend.value_labels("zh"))
    order = [*present.SLIDES, "scenario:s1", "scenario:s2"]
    slides = pt.build(backend, tx, f, facts, order, scenarios=scns)
    backend.close()
    assert len(slides) == 8 and all(s.figure is not None for s in slides)
    data = deck.to_pptx(slides, title=tx.t("present.deck_title"),
                        subtitle="\n".join(pt.filter_lines(tx, f, facts)), lang="zh")
    prs = Presentation(io.BytesIO(data))
    shown = [[sh.text_frame.text for sh in s.shapes if sh.has_text_frame] for s in prs.slides]
    assert shown[0][0] == "大客户：利润从哪里来" and "数据截至" in shown[0][1]
    assert [t[:2] for t in shown[1:]] == [[s.title, s.headline] for s in slides]
    assert shown[1][0] == "概览" and "位客户带来" in shown[1][1]
    assert shown[7][1] == "全部客户：无变化，客户资产 +¥10万（+10.0%）"
    assert "客户资产：¥100万 → ¥110万（+¥10万）" in shown[7][2]
    assert all(sum(sh.shape_type == 13 for sh in s.shapes) == 1 for s in list(prs.slides)[1:])


def test_account_slides_are_optional_and_their_numbers_are_the_pages(small_db):
    """"Accounts slipping" and "whitespace" are offered but not in the default storyline; their
    headlines and tables are the My accounts view's numbers, counted again here."""
    from kamdash import i18n
    from kamdash.views import my_accounts as my_view

    assert not set(present.OPTIONAL) & set(present.SLIDES)
    assert present.valid_order(["whitespace", "overview", "health", "nope"]) == ["whitespace", "overview", "health"]
    backend = connect(str(small_db))
    facts = backend.data_facts()
    f = Filters(start=add_months(facts["last_month"], -11), end=facts["last_month"])
    v = my_view.build(backend, f)
    acc = v.accounts
    low = acc[acc["score"] < 40]
    for lang in ("en", "zh"):
        tx = pt.Texts(lang)
        health, ws = pt.build(backend, tx, f, facts, ["health", "whitespace"])
        assert health.headline == tx.t("present.health.headline", n=i18n.fmt_number(len(low), lang),
                                       total=i18n.fmt_number(len(acc), lang),
                                       revenue=tx.money(float(low["revenue_12m"].sum())))
        assert 0 < len(low) < len(acc) and health.figure is not None and len(health.table) == present.SLIPPING_ON_SLIDE
        biggest = low.sort_values("revenue_12m", ascending=False).head(present.SLIPPING_ON_SLIDE)
        assert list(health.table.iloc[:, 0]) == list(i18n.customer_names(biggest, lang))
        assert ws.headline == tx.t("present.ws.headline", total=tx.money(v.whitespace_total),
                                   n=i18n.fmt_number(int((acc["whitespace_best"] > 0).sum()), lang))
        bars = ws.figure.data[:2]
        assert sum(sum(b.x) for b in bars) == pytest.approx(v.whitespace_total, rel=1e-9)
        assert list(ws.table.iloc[:, 0]) == list(i18n.customer_names(v.gaps.head(5), lang))
    backend.close()


@pytest.mark.skipif(deck.chromium_path() is None, reason="kaleido needs Chromium")
def test_account_slides_in_a_chinese_pptx_and_an_english_pdf(small_db, tmp_path):
    from pptx import Presentation

    backend = connect(str(small_db))
    facts = backend.data_facts()
    f = Filters(start=add_months(facts["last_month"], -11), end=facts["last_month"])
    zh = pt.Texts("zh", labels=backend.value_labels("zh"))
    slides = pt.build(backend, zh, f, facts, ["health", "whitespace"])
    prs = Presentation(io.BytesIO(deck.to_pptx(slides, title="t", subtitle="s", lang="zh")))
    shown = [[sh.text_frame.text for sh in s.shapes if sh.has_text_frame] for s in list(prs.slides)[1:]]
    assert [t[:2] for t in shown] == [[s.title, s.headline] for s in slides]
    assert shown[0][0] == "下滑中的客户" and shown[1][0] == "交叉销售空白：桌上的钱"
    assert all(sum(sh.shape_type == 13 for sh in s.shapes) == 1 for s in list(prs.slides)[1:])  # the chart
    en = pt.Texts("en", labels=backend.value_labels("en"))
    pdf = deck.to_pdf(pt.build(backend, en, f, facts, ["health", "whitespace"]), title="t", subtitle="s",
                      lang="en")
    backend.close()
    assert pdf[:5] == b"%PDF-" and pdf.count(b"/Type /Page") - pdf.count(b"/Type /Pages") == 3
    (tmp_path / "accounts.pdf").write_bytes(pdf)


def test_whale_peers_stay_within_the_users_scope(tiny):
    """The whale slide compares a loss-maker with every customer of the period, but only those
    the user may see: a scoped deck must not draw on accounts outside the scope."""
    backend, _ = tiny
    scoped = Filters(start=FULL.start, end=FULL.end, scope=("C", "D"))
    peers = present.slide_facts(backend, scoped, peers=True)
    assert set(peers["customer_id"]) == {"C", "D"}
    everyone = present.slide_facts(backend, Filters(start=FULL.start, end=FULL.end), peers=True)
    assert set(everyone["customer_id"]) == {"A", "B", "C", "D", "E"}
