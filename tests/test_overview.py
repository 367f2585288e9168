import math
from datetime import date

import numpy as np
import pandas as pd
import pytest

from kamdash import queries
from kamdash.analytics import overview
from kamdash.analytics.pareto import top_share
from kamdash.queries import Filters
from tests.independent import Raw

P = Filters(start=date(2025, 4, 1), end=date(2025, 6, 1))


def test_top_share_by_hand():
    assert top_share([10, 1, 1, 1, 1]) == pytest.approx(10 / 14)  # ceil(0.2*5) = 1 customer
    assert top_share([5, 4, 3, 2, 1, 1]) == pytest.approx(9 / 16)  # ceil(1.2) = 2 customers
    assert top_share([1] * 10, 0.2) == pytest.approx(0.2)
    assert top_share([3, 1], 1.0) == 1.0
    assert math.isnan(top_share([]))
    assert math.isnan(top_share([5, -7]))  # a share of a total loss is not defined
    with pytest.raises(ValueError):
        top_share([1, 2], 0)


@pytest.fixture(scope="module")
def tiny_periods(tiny_db):
    b = queries.connect(str(tiny_db))
    return [queries.customer_facts(b, f) for f in (P, P.previous(), P.previous().previous())]


def test_kpis_by_hand(tiny_periods):
    cur, prev, before = tiny_periods
    k = {x.key: x for x in overview.kpis(cur, prev, before)}
    assert k["revenue"].value == 2900 and k["revenue"].previous == 1500
    assert k["revenue"].delta_pct == pytest.approx(1400 / 1500)
    assert k["gross_profit"].value == 1160 and k["gross_profit"].previous == 650
    assert k["account_profit"].value == 690 and k["account_profit"].previous == 650
    assert k["active_customers"].value == 3 and k["active_customers"].previous == 3
    assert k["active_customers"].delta_pct == 0
    assert k["top20_share"].value == pytest.approx(2500 / 2900)
    assert k["top20_share"].previous == pytest.approx(1000 / 1500)
    assert k["top20_share"].delta_pct is None  # shares change in points
    assert k["top20_share"].delta == pytest.approx(2500 / 2900 - 1000 / 1500)
    assert k["lost_customers"].value == 1  # C ordered in Q1, not in Q2
    assert k["lost_customers"].previous == 1  # E ordered in Q4 2024, not in Q1


def test_kpis_without_comparable_periods(tiny_periods):
    cur, prev, _ = tiny_periods
    k = {x.key: x for x in overview.kpis(cur, None, None)}
    assert k["revenue"].previous is None and k["revenue"].delta is None
    assert math.isnan(k["lost_customers"].value)
    k = {x.key: x for x in overview.kpis(cur, prev, None)}
    assert k["lost_customers"].value == 1 and k["lost_customers"].previous is None
    assert k["revenue"].delta == 1400


def test_top_accounts_by_hand(tiny_periods):
    cur, prev, _ = tiny_periods
    top = overview.top_accounts(cur, prev, n=3)
    assert top["customer_id"].tolist() == ["A", "B", "D"]
    assert top["rank"].tolist() == [1, 2, 3]
    assert top["share"].tolist() == pytest.approx([2500 / 2900, 300 / 2900, 100 / 2900])
    assert top["margin"].tolist() == pytest.approx([700 / 2500, 50 / 300, -10 / 100])
    assert top["revenue_change"].iloc[0] == pytest.approx(1.5)
    assert top["revenue_change"].iloc[1] == 0
    assert np.isnan(top["revenue_change"].iloc[2])  # D had no revenue before


def test_overview_numbers_match_plain_pandas_on_demo_data(small_db):
    """Every overview number, recomputed from order lines and cost-to-serve with pandas."""
    b = queries.connect(str(small_db))
    raw = Raw(small_db)
    f = Filters(start=date(2025, 10, 1), end=date(2026, 9, 1), regions=("East China", "North China"))
    periods = [f, f.previous(), f.previous().previous()]
    facts = [queries.customer_facts(b, p) for p in periods]
    k = {x.key: x for x in overview.kpis(*facts)}
    exp = [raw.period(p.start, p.end, region=list(f.regions)) for p in periods]
    for key in ("revenue", "gross_profit", "account_profit", "top20_share"):
        assert k[key].value == pytest.approx(exp[0][key], rel=1e-9), key
        assert k[key].previous == pytest.approx(exp[1][key], rel=1e-9), key
    assert k["active_customers"].value == len(exp[0]["active"])
    assert k["lost_customers"].value == len(exp[1]["active"] - exp[0]["active"])
    assert k["lost_customers"].previous == len(exp[2]["active"] - exp[1]["active"])
    assert k["lost_customers"].value > 0

    top = overview.top_accounts(facts[0], facts[1])
    expected_top = exp[0]["by_customer"].head(10)
    assert top["customer_id"].tolist() == expected_top.index.tolist()
    assert top["revenue"].to_numpy() == pytest.approx(expected_top.to_numpy(), rel=1e-9)
    prev_rev = exp[1]["by_customer"]
    for cid, change in zip(top["customer_id"], top["revenue_change"]):
        if prev_rev.get(cid, 0) > 0:
            assert change == pytest.approx(expected_top[cid] / prev_rev[cid] - 1, rel=1e-9)
        else:
            assert np.isnan(change)


def test_empty_period_gives_empty_top_accounts_and_nan_share(tiny_db):
    b = queries.connect(str(tiny_db))
    f = Filters(start=date(2025, 4, 1), end=date(2025, 6, 1), regions=("Atlantis",))
    cur, prev, before = queries.period_facts(b, f)
    assert len(cur) == 0
    top = overview.top_accounts(cur, prev)
    assert len(top) == 0
    k = {x.key: x for x in overview.kpis(cur, prev, before)}
    assert k["revenue"].value == 0 and math.isnan(k["top20_share"].value)


def test_period_facts_equal_customer_facts_per_period(small_db):
    b = queries.connect(str(small_db))
    f = Filters(start=date(2025, 10, 1), end=date(2026, 9, 1), sectors=("retail", "energy"))
    frames = queries.period_facts(b, f, periods=3)
    for frame, period in zip(frames, (f, f.previous(), f.previous().previous())):
        one = queries.customer_facts(b, period, attributes=False)
        a = frame.set_index("customer_id").sort_index()
        o = one.set_index("customer_id").sort_index()[a.columns]
        assert a.index.equals(o.index)
        assert np.allclose(a.to_numpy(dtype=float), o.to_numpy(dtype=float))
