"""Snowflake, BigQuery and Trino: the Ibis expressions the sync runs compile to their SQL (no
connection; the SQL is parsed back by sqlglot in the same dialect)."""

from __future__ import annotations

import re
from datetime import date

import ibis
import pytest
import sqlglot

from kamdash.ingest import sources

DIALECTS = ("snowflake", "bigquery", "trino")
ERP_LINES = {"client_id": "string", "invoice_date": "timestamp", "belegnr": "int64", "qty": "int32",
             "unit_price": "decimal(18, 2)", "discount": "float64", "cogs": "float64", "sku": "string"}


def expressions():
    raw = ibis.table(ERP_LINES, name="lines", database="sales")
    cols = sources.column_mapping(raw, "order_lines", {"belegnr": "order_id"}, "sales.lines")
    assert cols == {"client_id": "customer_id", "invoice_date": "order_date", "belegnr": "order_id",
                    "qty": "quantity", "unit_price": "unit_price", "discount": "discount", "cogs": "cost",
                    "sku": "product_id"}
    ol = sources.canonical(raw, "order_lines", cols)
    cts_raw = ibis.table({"customer_id": "string", "month": "date", "cost_type": "string", "amount": "float64"},
                         name="cost_to_serve", database="sales")
    cts = sources.canonical(cts_raw, "cost_to_serve",
                            sources.column_mapping(cts_raw, "cost_to_serve", {}, "cost_to_serve"))
    return {"month_totals": sources.month_totals(ol),
            "order_month": sources.order_month(ol),
            "order_month_of_two_months": sources.order_month(ol, [date(2026, 8, 1), date(2026, 9, 1)]),
            "cost_month": sources.cost_month(cts),
            "cost_months": sources.cost_months(sources.cost_month(cts))}


@pytest.mark.parametrize("dialect", DIALECTS)
def test_the_sync_queries_compile(dialect):
    for name, expr in expressions().items():
        sql = ibis.to_sql(expr, dialect=dialect)
        sqlglot.parse_one(str(sql), read=dialect)  # valid in that dialect
        text = " ".join(str(sql).upper().split())
        assert "LINES" in text or "COST_TO_SERVE" in text, name
        if name.startswith("order_month"):
            assert "COUNT(DISTINCT" not in text, (dialect, name)  # orders and order days: see order_month
            assert "GROUP BY" in text
        if name == "order_month_of_two_months":
            # the two months, as each dialect writes a date literal
            assert re.search(r"IN \(.*2026.{1,3}0?8.{1,3}0?1.*2026.{1,3}0?9.{1,3}0?1", text), (dialect, text)


def test_revenue_is_derived_when_the_source_has_no_amount_column():
    raw = ibis.table(ERP_LINES, name="lines")
    ol = sources.canonical(raw, "order_lines", sources.column_mapping(raw, "order_lines", {}, "lines"))
    sql = " ".join(str(ibis.to_sql(ol, dialect="trino")).split())
    assert '"qty"' in sql and '"unit_price"' in sql and '"discount"' in sql


def test_wrong_types_are_named_before_any_query():
    raw = ibis.table({"customer": "string", "date": "string", "amount": "string"}, name="lines")
    with pytest.raises(sources.SourceError) as e:
        sources.column_mapping(raw, "order_lines", {}, "lines")
    got = {(p.column, p.code) for p in e.value.problems}
    assert got == {("date", "src_wrong_type"), ("amount", "src_wrong_type")}


def test_month_chunks_group_consecutive_months_up_to_the_limit():
    m = [date(2026, k, 1) for k in range(1, 6)]
    assert sources.month_chunks(dict(zip(m, [4, 5, 1, 12, 3])), limit=10) == [[m[0], m[1], m[2]], [m[3]], [m[4]]]
    assert sources.month_chunks(dict(zip(m, [1] * 5)), limit=10) == [m]
    assert sources.month_chunks({}, limit=10) == []
