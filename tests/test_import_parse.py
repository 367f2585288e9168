"""The one-pass parse of an import (``parse.typed_layers``): every date under every day order,
and every number, is what Python reads from the same text, and agrees with the general
``parse.date_expr``; row numbers are the file's own lines.
"""

from __future__ import annotations

from datetime import date

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from kamdash.ingest import engine, parse


def _layered(values: list[str], field: str, kind: str, decimal: str = ".") -> duckdb.DuckDBPyRelation:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t AS SELECT unnest(?) AS {field}", [values])
    layers, keep = parse.typed_layers(field, kind, decimal)
    sql = "SELECT *, false AS _odd FROM t"
    for exprs in layers:
        if exprs:
            sql = f"SELECT *, {', '.join(exprs)} FROM ({sql})"
    return con, sql


FORMATS = {  # format -> (text of a date, the orders that read it as that date)
    "dmy4": (lambda d: f"{d.day:02d}/{d.month:02d}/{d.year}", ("dmy",)),
    "mdy4": (lambda d: f"{d.month}-{d.day}-{d.year}", ("mdy",)),
    "dmy2": (lambda d: f"{d.day}.{d.month}.{d.year % 100:02d}", ("dmy",)),
    "ymd2": (lambda d: f"{d.year % 100:02d}/{d.month:02d}/{d.day:02d}", ("ymd",)),
    "iso": (lambda d: f"{d.year}-{d.month:02d}-{d.day:02d}", ("dmy", "mdy", "ymd")),
    "iso_time": (lambda d: f"{d.year}/{d.month}/{d.day} 10:30", ("dmy", "mdy", "ymd")),
    "cn": (lambda d: f"{d.year}年{d.month}月{d.day}日", ("dmy", "mdy", "ymd")),
    "compact": (lambda d: f"{d.year}{d.month:02d}{d.day:02d}", ("dmy", "mdy", "ymd")),
}


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.dates(date(1990, 1, 1), date(2060, 12, 31)), st.sampled_from(sorted(FORMATS))),
                min_size=1, max_size=30),
       st.lists(st.sampled_from(["", "  ", "31/02/2024", "13/13/2024", "abc", "2024-02-30", "1/2/3/4"]),
                max_size=5))
def test_dates_under_every_order_match_python_and_date_expr(dated, junk):
    values = [FORMATS[f][0](d) for d, f in dated] + junk
    con, sql = _layered(values, "d", "date")
    orders = parse.DATE_ORDERS
    got = con.execute(f"SELECT {', '.join(f'p_d_{o}' for o in orders)}, p_d_none, "
                      + ", ".join(f"{parse.date_expr('d', o)}" for o in orders) + f" FROM ({sql})").fetchall()
    for i, (d, fmt) in enumerate(dated):
        row = got[i]
        for k, o in enumerate(orders):
            assert row[k] == row[k + 4], (values[i], o)  # the one pass agrees with date_expr
            if o in FORMATS[fmt][1]:
                assert row[k] == d, (values[i], o)
        if fmt.startswith(("iso", "cn", "compact")):
            assert row[3] == d  # read without a day order
    for row in got[len(dated):]:
        assert row == (None,) * 7  # blank, impossible or no date at all


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(-10**9, 10**9), min_size=1, max_size=30))
def test_numbers_with_either_separator_match_python(cents):
    point = [f"{c / 100:,.2f}" for c in cents] + [f"{c / 100:.2f}" for c in cents]
    comma = [s.replace(",", " ").replace(".", ",") for s in point]
    for values, decimal in ((point, "."), (comma, ",")):
        con, sql = _layered(values, "n", "number", decimal)
        got = [r[0] for r in con.execute(f"SELECT p_n FROM ({sql})").fetchall()]
        assert got == [float(v.replace(" ", "").replace(",", "")) if decimal == "." else
                       float(v.replace(" ", "").replace(",", ".")) for v in values]


def test_row_numbers_are_file_lines_and_blank_lines_are_no_rows(tmp_path):
    """Lines 2..n of the file are rows 1..n-1 (the table's rowid), rows with every cell empty
    are left out but keep their numbers, and a bad cell is located on its own line."""
    lines = ["customer,date,amount"]
    for i in range(1, 3001):
        lines.append(" , ," if i % 1000 == 0 else f"C{i % 7},2024-0{1 + i % 9}-1{i % 10},{i}.5")
    lines[2500] = "C1,2024-01-01,twelve"
    path = tmp_path / "o.csv"
    path.write_text("\n".join(lines) + "\n")
    report = engine.run([engine.SourceFile(path)], tmp_path / "x.duckdb")
    assert report.files[0].rows == 3000 - 3  # lines 1001, 2001 and 3001 are empty
    assert [(p.line, p.value, p.code) for p in report.problems] == [(2501, "twelve", "bad_number")]
