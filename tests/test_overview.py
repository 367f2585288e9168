import math
from datetime import date

import numpy as np
import pytest

from kamdash.analytics import overview
from kamdash.analytics.pareto import top_share
from kamdash.engine import connect
from kamdash.engine.filters import Filters
from kamdash.views.overview import build
from tests.independent import Raw

P = Filters(start=date(2025, 4, 1), end=date(2025, 6, 1))  # Q2 2025 in the tiny database


def test_top_share_by_hand():
    assert top_share([10, 1, 1, 1, 1]) == pytest.approx(10 / 14)  # ceil(0.2*5) = 1 customer
    assert top_share([5, 4, 3, 2, 1, 1]) == pytest.approx(9 / 16)  # ceil(1.2) = 2 customers
    assert top_share([1] * 10, 0.2) == pytest.approx(0.2)
    assert top_share([3, 1], 1.0) == 1.0
    assert math.isnan(top_share([]))
    assert math.isnan(top_share([5, -7]))  # a share of a total loss is not defined
    with pytest.raises(ValueError):
        top_share([1, 2], 0)


def test_period_summary_by_hand(tiny):
    s = tiny.period_summary(P).set_index("period")
    # Q2 2025: A 2500 (cost 1500, visits 300), B 400 - 100 returned (cost 150, support 100),
    # D 100 (cost 90, logistics 20), C no order but support 50
    assert s.loc[0, ["revenue", "gross_profit", "account_profit"]].tolist() == [2900, 1160, 690]
    assert s.loc[0, "active_customers"] == 3
    assert s.loc[0, "top_share"] == pytest.approx(2500 / 2900)  # ceil(0.2 * 3) = 1 customer: A
    assert s.loc[0, "lost_customers"] == 1  # C ordered in Q1, not in Q2
    # Q1 2025: A 1000, B 300, C 200
    assert s.loc[1, ["revenue", "gross_profit", "account_profit"]].tolist() == [1500, 650, 650]
    assert s.loc[1, "top_share"] == pytest.approx(1000 / 1500)
    assert s.loc[1, "lost_customers"] == 1  # E ordered in Q4 2024, not in Q1
    # Q4 2024: A 100, C 50, E 70; the oldest period has no "lost"
    assert s.loc[2, "revenue"] == 220 and math.isnan(s.loc[2, "lost_customers"])


def test_kpis_by_hand(tiny):
    k = {x.key: x for x in overview.kpis(tiny.period_summary(P), True, True)}
    assert (k["revenue"].value, k["revenue"].previous) == (2900, 1500)
    assert k["revenue"].delta_pct == pytest.approx(1400 / 1500)
    assert k["active_customers"].delta_pct == 0
    assert k["top20_share"].delta_pct is None  # shares change in points
    assert k["top20_share"].delta == pytest.approx(2500 / 2900 - 1000 / 1500)
    assert (k["lost_customers"].value, k["lost_customers"].previous) == (1, 1)


def test_kpis_without_comparable_periods(tiny):
    s = tiny.period_summary(P)
    k = {x.key: x for x in overview.kpis(s, False, False)}
    assert k["revenue"].previous is None and k["revenue"].delta is None
    assert math.isnan(k["lost_customers"].value)
    k = {x.key: x for x in overview.kpis(s, True, False)}
    assert k["lost_customers"].value == 1 and k["lost_customers"].previous is None
    assert k["revenue"].delta == 1400


def test_top_accounts_by_hand(tiny):
    top = overview.top_accounts(tiny.top_customers(P, n=3), 2900, True)
    assert top["customer_id"].tolist() == ["A", "B", "D"]
    assert top["rank"].tolist() == [1, 2, 3]
    assert top["share"].tolist() == pytest.approx([2500 / 2900, 300 / 2900, 100 / 2900])
    assert top["account_margin"].tolist() == pytest.approx([700 / 2500, 50 / 300, -10 / 100])
    assert top["revenue_change"].iloc[0] == pytest.approx(1.5)
    assert top["revenue_change"].iloc[1] == 0
    assert np.isnan(top["revenue_change"].iloc[2])  # D had no revenue before
    assert top["name_zh"].iloc[0] == "阿尔法商贸"
    assert overview.top_accounts(tiny.top_customers(P, n=3), 2900, False)["revenue_change"].isna().all()


def test_empty_selection(tiny):
    f = Filters(start=P.start, end=P.end, regions=("Atlantis",))
    view = build(tiny, f, date(2024, 10, 1))
    assert view.active_customers == 0 and len(view.top) == 0
    k = {x.key: x for x in view.kpis}
    assert k["revenue"].value == 0 and math.isnan(k["top20_share"].value)


@pytest.mark.parametrize("dims", [{}, {"regions": ("East China", "North China")},
                                  {"customer_types": ("distributor", "dealer"), "sectors": ("retail",)}])
def test_overview_numbers_match_plain_pandas_on_demo_data(small_db, dims):
    """Every overview number, recomputed from order lines and cost-to-serve with pandas."""
    b = connect(str(small_db))
    raw = Raw(small_db)
    f = Filters(start=date(2026, 4, 1), end=date(2026, 9, 1), **dims)  # 3 half-years, all covered
    view = build(b, f, date(2024, 10, 1))
    periods = [f, f.previous(), f.previous().previous()]
    cols = {"regions": "region", "customer_types": "customer_type", "sectors": "sector"}
    exp = [raw.period(p.start, p.end, **{cols[k]: list(v) for k, v in dims.items()}) for p in periods]
    k = {x.key: x for x in view.kpis}
    for key in ("revenue", "gross_profit", "account_profit", "top20_share"):
        assert k[key].value == pytest.approx(exp[0][key], rel=1e-9), key
        assert k[key].previous == pytest.approx(exp[1][key], rel=1e-9), key
    assert k["active_customers"].value == len(exp[0]["active"])
    assert k["lost_customers"].value == len(exp[1]["active"] - exp[0]["active"]) > 0
    assert k["lost_customers"].previous == len(exp[2]["active"] - exp[1]["active"])
    expected_top = exp[0]["by_customer"].head(10)
    assert view.top["customer_id"].tolist() == expected_top.index.tolist()
    assert view.top["revenue"].to_numpy() == pytest.approx(expected_top.to_numpy(), rel=1e-9)
    assert view.top["share"].to_numpy() == pytest.approx(expected_top.to_numpy() / exp[0]["revenue"])
    prev_rev = exp[1]["by_customer"]
    for cid, change in zip(view.top["customer_id"], view.top["revenue_change"]):
        if prev_rev.get(cid, 0) > 0:
            assert change == pytest.approx(expected_top[cid] / prev_rev[cid] - 1, rel=1e-9)
        else:
            assert np.isnan(change)
    assert view.monthly["revenue"].to_numpy() == pytest.approx(exp[0]["monthly"].to_numpy(), rel=1e-9)
