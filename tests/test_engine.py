from datetime import date

import pandas as pd
import pytest

from kamdash.engine.filters import Filters
from tests.independent import Raw


def test_filters_period_arithmetic():
    f = Filters(start=date(2025, 4, 1), end=date(2025, 6, 1))
    assert f.months == 3
    assert f.previous() == Filters(start=date(2025, 1, 1), end=date(2025, 3, 1))
    assert f.previous().previous().start == date(2024, 10, 1)
    assert Filters(start=date(2025, 1, 1), end=date(2025, 12, 1)).previous().start == date(2024, 1, 1)
    assert f.covered_by(date(2025, 4, 17)) and not f.covered_by(date(2025, 5, 1))
    with pytest.raises(ValueError, match="starts"):
        Filters(start=date(2025, 6, 1), end=date(2025, 4, 1))
    with pytest.raises(ValueError, match="open-ended"):
        Filters().previous()


def test_data_facts(tiny):
    facts = tiny.data_facts()
    assert facts["as_of"] == date(2025, 6, 30)
    assert (facts["first_month"], facts["last_month"]) == (date(2024, 10, 1), date(2025, 6, 1))
    assert (facts["order_lines"], facts["customers"]) == (11, 5)
    assert facts["currency"] == "CNY"


def test_customer_facts_by_hand(tiny):
    f = Filters(start=date(2025, 4, 1), end=date(2025, 6, 1))
    df = tiny.customer_facts(f).set_index("customer_id")
    assert list(df.index) == ["A", "B", "D", "C"]  # by revenue, C has only cost-to-serve
    assert df.loc["A", ["revenue", "gross_profit", "cost_to_serve", "account_profit"]].tolist() == [2500, 1000, 300, 700]
    assert df.loc["B", ["revenue", "returns", "orders", "order_days", "lines"]].tolist() == [300, 100, 2, 2, 2]
    assert df.loc["C", ["revenue", "account_profit", "orders", "active_months"]].tolist() == [0, -50, 0, 0]
    assert df.loc["A", "name_zh"] == "阿尔法商贸"
    assert pd.Timestamp(df.loc["B", "last_order_date"]).date() == date(2025, 4, 28)


@pytest.mark.parametrize("dims,expected", [
    ({"regions": ("East China",)}, {"A", "B"}),
    ({"customer_types": ("end_customer",)}, {"B", "D"}),
    ({"sectors": ("retail", "health")}, {"A", "C"}),
    ({"account_managers": ("Wang Wei",)}, {"C", "D"}),
    ({"regions": ("North China",), "sectors": ("education",)}, {"D"}),
    ({"customer_ids": ("B", "E")}, {"B"}),
    ({"regions": ("Atlantis",)}, set()),
])
def test_dimension_filters(tiny, dims, expected):
    f = Filters(start=date(2025, 4, 1), end=date(2025, 6, 1), **dims)
    assert set(tiny.customer_facts(f)["customer_id"]) == expected


def test_hostile_filter_values_are_data_not_sql(tiny):
    f = Filters(regions=("x') OR 1=1 --", "East China'; DROP TABLE customers; --"))
    assert len(tiny.customer_facts(f)) == 0
    assert tiny.data_facts()["customers"] == 5


def test_monthly_totals_by_hand(tiny):
    m = tiny.monthly_totals(Filters(start=date(2025, 4, 1), end=date(2025, 6, 1)))
    assert m["month"].dt.strftime("%Y-%m").tolist() == ["2025-04", "2025-05", "2025-06"]
    assert m["revenue"].tolist() == [300, 2500, 100]
    assert m["account_profit"].tolist() == [50, 1000 - 300 - 50, -10]
    assert m["active_customers"].tolist() == [1, 1, 1]


def test_dimension_options_and_labels(tiny):
    opts = tiny.dimension_options()
    assert opts["region"] == ["East China", "North China", "South China"]
    assert opts["customer_type"] == ["agent", "dealer", "distributor", "end_customer"]
    assert tiny.value_labels("zh")[("region", "East China")] == "华东"
    assert tiny.value_labels("en") == {}


@pytest.mark.parametrize("dims", [{}, {"regions": ("East China", "Southwest")},
                                  {"customer_types": ("distributor",), "sectors": ("manufacturing", "retail")},
                                  {"account_managers": ("Li Na", "Zhou Jie")}])
def test_filters_match_plain_pandas_on_demo_data(small, small_db, dims):
    raw = Raw(small_db)
    start, end = date(2025, 1, 1), date(2025, 9, 1)
    f = Filters(start=start, end=end, **dims)
    facts = small.customer_facts(f)
    cols = {"regions": "region", "customer_types": "customer_type", "sectors": "sector",
            "account_managers": "account_manager"}
    expected = raw.period(start, end, **{cols[k]: v for k, v in dims.items()})
    assert facts["revenue"].sum() == pytest.approx(expected["revenue"], rel=1e-9)
    assert facts["gross_profit"].sum() == pytest.approx(expected["gross_profit"], rel=1e-9)
    assert facts["account_profit"].sum() == pytest.approx(expected["account_profit"], rel=1e-9)
    assert set(facts.loc[facts["orders"] > 0, "customer_id"]) == expected["active"]
    monthly = small.monthly_totals(f)
    assert monthly["revenue"].to_numpy() == pytest.approx(expected["monthly"].to_numpy(), rel=1e-9)


def test_last_order_date_is_the_last_line_of_the_data(tiny_db):
    """The last order date (read from the customer x month table with DuckDB's connection, no
    Ibis) is the latest order_date among the order lines, read from them directly."""
    import duckdb

    from kamdash.engine import connect

    con = duckdb.connect(str(tiny_db), read_only=True)
    latest = con.execute("SELECT max(order_date) FROM order_lines").fetchall()[0][0]
    con.close()
    eng = connect(str(tiny_db))
    try:
        assert eng.last_order_date() == latest
        assert eng._ibis is None  # Ibis was not needed for it
    finally:
        eng.close()
