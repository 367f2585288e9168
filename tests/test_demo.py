"""The demo generator: deterministic, and true to the key-account story it promises."""

import math

import duckdb
import numpy as np
import pytest

from kamdash import demo, schema


def q(path, sql):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.sql(sql).fetchall()
    finally:
        con.close()


def fingerprint(path):
    return q(path, """
        SELECT (SELECT count(*) FROM order_lines), (SELECT round(sum(revenue), 2) FROM order_lines),
               (SELECT sum(hash(order_id, line_no, order_date, customer_id, product_id, quantity, revenue, cost))
                FROM order_lines),
               (SELECT sum(hash(customer_id, name, name_zh, customer_type, sector, region, parent_id,
                                referred_by, acquired_on)) FROM customers),
               (SELECT sum(hash(customer_id, month, cost_type, amount)) FROM cost_to_serve)
    """)[0]


def test_same_seed_same_data_other_seed_other_data(small_db, tmp_path):
    again = tmp_path / "again.duckdb"
    demo.build_demo(again, customers=400, years=2, seed=3)
    assert fingerprint(again) == fingerprint(small_db)
    other = tmp_path / "other.duckdb"
    demo.build_demo(other, customers=400, years=2, seed=4)
    assert fingerprint(other) != fingerprint(small_db)


def test_default_size_and_extent(demo_db):
    n_lines, first, last, n_cust = q(demo_db, """
        SELECT count(*), min(order_date), max(order_date), (SELECT count(*) FROM customers)
        FROM order_lines""")[0]
    assert n_cust == 5000
    assert 270_000 <= n_lines <= 330_000
    assert (first.isoformat(), last.isoformat()) == ("2023-10-01", "2026-09-30")


def test_line_target_is_met(tmp_path):
    path = tmp_path / "lines.duckdb"
    demo.build_demo(path, customers=300, years=1, seed=1, lines=30_000)
    n = q(path, "SELECT count(*) FROM order_lines")[0][0]
    assert abs(n - 30_000) / 30_000 < 0.08


def customer_values(path, column):
    return np.array([r[0] for r in q(path, f"""
        SELECT sum({column}) FROM customer_month GROUP BY customer_id HAVING sum(orders) > 0""")])


def test_heavy_tail_top_20_percent_bring_70_to_85_percent(demo_db):
    rev = np.sort(customer_values(demo_db, "revenue"))[::-1]
    share = rev[: math.ceil(0.2 * len(rev))].sum() / rev.sum()
    assert 0.70 <= share <= 0.85


def test_whale_curve_peaks_well_above_100_percent(demo_db):
    profit = np.sort(customer_values(demo_db, "account_profit"))[::-1]
    peak = np.cumsum(profit).max() / profit.sum()
    assert peak >= 1.2


def test_some_big_accounts_lose_money(demo_db):
    rows = q(demo_db, """
        WITH c AS (SELECT customer_id, sum(revenue) r, sum(account_profit) p, sum(discount) d,
                          sum(returns) rt, sum(cost_to_serve) cts FROM customer_month GROUP BY 1),
             ranked AS (SELECT *, row_number() OVER (ORDER BY r DESC) rk FROM c)
        SELECT count(*), avg(d / r), avg(rt / r), avg(cts / r) FROM ranked WHERE rk <= 250 AND p < 0""")
    n, disc, ret, cts = rows[0]
    assert 5 <= n <= 40  # a handful of the top 5% lose money ...
    assert disc > 0.2 and ret > 0.05 and cts > 0.1  # ... through discounts, returns, cost-to-serve


def test_vocabularies_are_all_present(demo_db):
    types = {r[0] for r in q(demo_db, "SELECT DISTINCT customer_type FROM customers")}
    sectors = {r[0] for r in q(demo_db, "SELECT DISTINCT sector FROM customers")}
    costs = {r[0] for r in q(demo_db, "SELECT DISTINCT cost_type FROM cost_to_serve")}
    assert types == set(schema.CUSTOMER_TYPES)
    assert set(schema.IMPORTANT_SECTORS) <= sectors
    assert {"real_estate", "manufacturing", "retail", "energy"} <= sectors
    assert costs == set(schema.COST_TYPES)
    public = q(demo_db, """SELECT DISTINCT customer_type FROM customers
                           WHERE sector IN ('government', 'military', 'police_courts')""")
    assert public == [("end_customer",)]


def test_groups_and_referral_chains(demo_db):
    groups, children, bad_parent = q(demo_db, """
        SELECT count(DISTINCT parent_id), count(parent_id),
               count(*) FILTER (WHERE parent_id IS NOT NULL AND parent_id NOT IN (SELECT customer_id FROM customers))
        FROM customers""")[0]
    assert groups >= 50 and children >= 2 * groups and bad_parent == 0
    referred, chains, later = q(demo_db, """
        SELECT count(c.referred_by),
               count(*) FILTER (WHERE r.referred_by IS NOT NULL),
               count(*) FILTER (WHERE r.acquired_on > c.acquired_on)
        FROM customers c LEFT JOIN customers r ON r.customer_id = c.referred_by""")[0]
    assert referred >= 200 and chains >= 5  # referrals, some of them down a chain
    assert later == 0  # a referrer was always acquired before the customer it brought


def test_churn_lapse_return_and_fast_growth(demo_db):
    churned, lapsed_back, growers = q(demo_db, """
        WITH m AS (SELECT customer_id, month FROM customer_month WHERE orders > 0),
             span AS (SELECT customer_id, min(month) f, max(month) l FROM m GROUP BY 1),
             gaps AS (SELECT customer_id, month, lag(month) OVER (PARTITION BY customer_id ORDER BY month) prev FROM m),
             yr AS (SELECT customer_id,
                           sum(revenue) FILTER (WHERE month >= DATE '2025-10-01') last12,
                           sum(revenue) FILTER (WHERE month >= DATE '2024-10-01' AND month < DATE '2025-10-01') prev12
                    FROM customer_month GROUP BY 1)
        SELECT (SELECT count(*) FROM span WHERE l < DATE '2025-10-01'),
               (SELECT count(DISTINCT customer_id) FROM gaps WHERE date_diff('month', prev, month) >= 6),
               (SELECT count(*) FROM yr WHERE prev12 > 20000 AND last12 > 1.8 * prev12)""")[0]
    assert churned >= 200
    assert lapsed_back >= 100
    assert growers >= 40


def test_seasonality_december_peak_february_dip(demo_db):
    by_month = dict(q(demo_db, "SELECT month(month), sum(revenue) FROM customer_month GROUP BY 1"))
    mean = np.mean(list(by_month.values()))
    assert by_month[12] > 1.15 * mean
    assert by_month[2] < 0.75 * mean


def test_names_in_both_languages_and_labels(demo_db):
    missing = q(demo_db, "SELECT count(*) FROM customers WHERE name IS NULL OR name_zh IS NULL")[0][0]
    assert missing == 0
    zh = q(demo_db, "SELECT name_zh FROM customers LIMIT 50")
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in r[0]) for r in zh)
    en = q(demo_db, "SELECT name FROM customers LIMIT 50")
    assert all(r[0].isascii() for r in en)
    labels = dict(q(demo_db, "SELECT value, label FROM value_labels WHERE column_name = 'region' AND lang = 'zh'"))
    assert labels["East China"] == "华东"


@pytest.mark.parametrize("kwargs,match", [({"customers": 10}, "at least 50"), ({"years": 0}, "years")])
def test_bad_arguments_are_refused(tmp_path, kwargs, match):
    with pytest.raises(ValueError, match=match):
        demo.build_demo(tmp_path / "x.duckdb", **kwargs)
    assert not (tmp_path / "x.duckdb").exists()
