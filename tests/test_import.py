"""The import engine (kamdash.ingest.engine) and `python -m kamdash import`.

The bad files are made here; each must give a clear, located message and leave the database
file byte-identical.
"""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pytest

from kamdash import cli, store
from kamdash.analytics import pareto
from kamdash.engine import connect
from kamdash.engine.filters import Filters
from kamdash.ingest import engine
from kamdash.ingest.engine import Options, SourceFile

GOOD = "customer_id,order_date,revenue\nA,2025-01-05,100\nB,2025-01-06,50\n"


def write(path: Path, data: str | bytes, encoding: str = "utf-8") -> Path:
    if isinstance(data, str):
        data = data.encode(encoding)
    path.write_bytes(data)
    return path


@pytest.fixture
def db(tmp_path, tiny_db):
    """A copy of the tiny database (the import target)."""
    out = tmp_path / "sales.duckdb"
    shutil.copy(tiny_db, out)
    return out


def rows(path, sql):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def located(report):
    return {(p.file, p.line, p.column, p.code) for p in report.problems}


# ------------------------------------------------------------------ the bad-file corpus

def _truncated_xlsx(path: Path) -> bytes:
    wb = openpyxl.Workbook()
    wb.active.append(["customer_id", "order_date", "revenue"])
    for i in range(200):
        wb.active.append([f"C{i}", date(2025, 1, 1 + i % 28), i])
    wb.save(path)
    return path.read_bytes()[:1500]


CORPUS = {
    # name: (file name, content builder, expected (line, column, code) of the first problem)
    "empty": ("empty.csv", lambda p: b"", (None, "-", "empty_file")),
    "header only": ("header.csv", lambda p: b"customer_id,order_date,revenue\n", (None, "-", "no_rows")),
    "wrong delimiter": ("colon.csv", lambda p: b"customer_id:order_date:revenue\nA:2025-01-01:5\n",
                        (None, "customer_id, order_date, revenue", "missing_column")),
    "GBK": ("gbk.csv", lambda p: "客户编号,订单日期,金额\n甲,2025-01-05,100\n乙,2025-01-06,一百\n".encode("gbk"),
            (3, "金额", "bad_number")),
    "UTF-8 BOM": ("bom.csv", lambda p: "\ufeff客户,日期,销售额\n甲,2025-01-05,abc\n".encode("utf-8"),
                  (2, "销售额", "bad_number")),
    "UTF-16": ("u16.txt", lambda p: "客户\t日期\t金额\n甲\t2025-01-05\t100\n乙\t2025-13-45\t5\n".encode("utf-16"),
               (3, "日期", "bad_date")),
    "mixed date formats": ("dates.csv", lambda p: (b"customer_id,order_date,revenue\nA,13/01/2025,1\n"
                                                   b"B,20/01/2025,1\nC,01/25/2025,1\n"),
                           (4, "order_date", "bad_date")),
    "text in amount": ("amount.csv", lambda p: b"customer_id,order_date,revenue\nA,2025-01-01,12 EUR\n",
                       (2, "revenue", "bad_number")),
    "missing required column": ("noamount.csv", lambda p: b"customer_id,order_date,comment\nA,2025-01-01,x\n",
                                (None, "revenue", "missing_column")),
    "missing required value": ("novalue.csv", lambda p: b"customer_id,order_date,revenue\n,2025-01-01,5\n",
                               (2, "customer_id", "missing_value")),
    "10,000-character cell": ("long.csv", lambda p: ("customer_id,order_date,revenue,region\nA,2025-01-01,5,"
                                                     + "x" * 10_000 + "\n").encode(),
                              (2, "region", "too_long")),
    "truncated xlsx": ("cut.xlsx", _truncated_xlsx, (None, "-", "bad_excel")),
    "csv that is binary": ("binary.csv", lambda p: bytes(range(256)) * 64, (None, "-", "binary")),
    "csv that is a zip": ("zip.csv", lambda p: b"PK\x03\x04" + bytes(200), (None, "-", "not_really")),
    "parquet that is text": ("fake.parquet", lambda p: GOOD.encode(), (None, "-", "not_really")),
    "unknown suffix": ("orders.json", lambda p: b"{}", (None, "-", "bad_suffix")),
}


@pytest.mark.parametrize("case", list(CORPUS))
def test_bad_files_give_located_messages_and_change_nothing(case, tmp_path, db):
    name, build, (line, column, code) = CORPUS[case]
    path = tmp_path / name
    write(path, build(path))
    before = db.read_bytes()
    report = engine.run([SourceFile(path)], db, commit=True)
    assert not report.committed and not report.ok
    first = report.problems[0]
    assert (first.file, first.line, first.column, first.code) == (name, line, column, code), str(first)
    assert first.reason and "ingest.reason" not in first.reason
    assert db.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left


def test_a_file_that_does_not_exist(tmp_path, db):
    report = engine.run([SourceFile(tmp_path / "nope.csv")], db, commit=True)
    assert located(report) == {("nope.csv", None, "-", "not_found")}


def test_decoded_text_appears_in_messages(tmp_path, db):
    """The GBK / UTF-16 cases are read correctly: the bad value is shown as the user wrote it."""
    path = write(tmp_path / "gbk.csv", "客户编号,订单日期,金额\n甲,2025-01-05,一百\n".encode("gbk"))
    report = engine.run([SourceFile(path)], db)
    assert report.files[0].encoding == "gb18030"
    assert str(report.problems[0]) == "gbk.csv, line 2, column 金额: value '一百': not a number"


def test_duplicates_and_formula_cells_are_located_warnings(tmp_path, db):
    text = ("order_id,line_no,customer_id,customer_name,order_date,revenue\n"
            "o1,1,A,=HYPERLINK(\"http://x\"),2025-01-01,5\n"
            "o1,1,A,Alpha,2025-01-01,5\n"
            "o2,1,B,@SUM(1),2025-01-02,-3\n")
    path = write(tmp_path / "warn.csv", text)
    before = db.read_bytes()
    report = engine.run([SourceFile(path)], db)  # a check: writes nothing
    assert report.ok and not report.committed and db.read_bytes() == before
    warn = {(p.line, p.column, p.code) for p in report.warnings}
    assert {(2, "customer_name", "formula_cell"), (4, "customer_name", "formula_cell"),
            (2, "order_id, line_no", "duplicate_key"), (4, "revenue", "returns"),
            (None, "customer_name", "several_names")} <= warn
    report = engine.run([SourceFile(path)], db, commit=True)
    assert report.committed  # warnings do not block; the formula text is stored as text
    assert rows(db, "SELECT name FROM customers WHERE customer_id = 'B'") == [("@SUM(1)",)]


def test_future_dates_and_outliers_are_warned(tmp_path, db):
    lines = "\n".join(f"C{i},2025-01-{1 + i % 28:02d},{100 + i}" for i in range(60))
    text = "customer_id,order_date,revenue\n" + lines + "\nX,2026-09-01,90000000\n"
    report = engine.run([SourceFile(write(tmp_path / "o.csv", text))], db, Options(today=date(2026, 1, 1)))
    warn = {(p.line, p.code) for p in report.warnings}
    assert {(62, "future_date"), (62, "outlier")} <= warn and report.ok


# ------------------------------------------------------------------ formats that must work

def test_dates_in_every_supported_format(tmp_path, db):
    text = ("客户;日期;金额\n"
            "A;2025-03-05;1\nA;2025/3/5 10:30;1\nA;2025年3月5日;1\nA;20250305;1\nA;45721;1\n"
            "A;05/03/2025;1\nA;5.3.25;1\nA;25/03/2025;1\nA;5-Mar-2025;1\n")
    report = engine.run([SourceFile(write(tmp_path / "d.csv", text))], db, commit=True)
    assert report.committed, [str(p) for p in report.problems]
    assert report.files[0].date_order == "dmy" and report.files[0].delimiter == ";"
    got = [r[0] for r in rows(db, "SELECT order_date FROM order_lines ORDER BY line_no")]
    assert got == [date(2025, 3, 5)] * 7 + [date(2025, 3, 25), date(2025, 3, 5)]


def test_month_first_dates_are_decided_from_the_data(tmp_path, db):
    text = "customer_id,order_date,revenue\nA,03/05/2025,1\nA,12/31/2024,1\n"
    report = engine.run([SourceFile(write(tmp_path / "d.csv", text))], db, commit=True)
    assert report.files[0].date_order == "mdy"
    assert [r[0] for r in rows(db, "SELECT order_date FROM order_lines ORDER BY line_no")] == \
        [date(2025, 3, 5), date(2024, 12, 31)]


def test_undecidable_dates_are_asked_for(tmp_path, db):
    path = write(tmp_path / "d.csv", "customer_id,order_date,revenue\nA,03/05/2025,1\nB,04/06/2025,2\n")
    before = db.read_bytes()
    report = engine.run([SourceFile(path)], db, Options(skip_bad_rows=True), commit=True)
    assert report.needs_date_order and not report.committed and db.read_bytes() == before
    assert {p.code for p in report.problems} == {"ambiguous_date"}
    report = engine.run([SourceFile(path)], db, Options(date_order="mdy"), commit=True)
    assert report.committed
    assert rows(db, "SELECT min(order_date) FROM order_lines") == [(date(2025, 3, 5),)]


def test_decimal_comma_thousands_and_currency_signs(tmp_path, db):
    text = "customer_id;order_date;revenue;cost\nA;2025-01-01;1.234,50;¥1.000,00\nB;2025-01-02;12,5;(2,5)\n"
    report = engine.run([SourceFile(write(tmp_path / "n.csv", text))], db, commit=True)
    assert report.files[0].decimal == ","
    assert rows(db, "SELECT revenue, cost FROM order_lines ORDER BY line_no") == [(1234.5, 1000.0), (12.5, -2.5)]


def test_excel_with_title_rows_sheet_choice_and_real_dates(tmp_path, db):
    path = tmp_path / "erp.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    wb.active.append(["这是说明页"])
    ws = wb.create_sheet("销售明细")
    ws.append(["2025年销售明细"])
    ws.append([])
    ws.append(["客户编号", "客户名称", "订单日期", "数量", "单价", "折扣", "毛利", "区域"])
    ws.append(["K1", "甲公司", date(2025, 2, 1), 3, 100.0, 10, 90, "华东"])
    ws.append(["K2", "乙公司", date(2025, 2, 3), 1, 50, None, 20, "华北"])
    ws.append(["K2", "乙公司", "bad", 1, 50, None, 20, "华北"])
    wb.save(path)
    info = engine.inspect([SourceFile(path, sheet="销售明细")])[0]
    assert info.sheets == ["说明", "销售明细"] and info.header_line == 3
    report = engine.run([SourceFile(path, sheet="销售明细")], db, commit=True)
    assert located(report) == {("erp.xlsx", 6, "订单日期", "bad_date")}  # the row of the sheet
    report = engine.run([SourceFile(path, sheet="销售明细")], db, Options(skip_bad_rows=True), commit=True)
    assert report.committed and report.counts["order_lines"] == 2
    # revenue = quantity × unit price − discount; cost = revenue − gross margin
    assert rows(db, "SELECT customer_id, revenue, cost FROM order_lines ORDER BY customer_id") == \
        [("K1", 290.0, 200.0), ("K2", 50.0, 30.0)]
    assert rows(db, "SELECT customer_id, name, region FROM customers ORDER BY 1") == \
        [("K1", "甲公司", "华东"), ("K2", "乙公司", "华北")]


def test_parquet_and_separate_customer_and_cost_files(tmp_path, db):
    pq = tmp_path / "orders.parquet"
    pd.DataFrame({"Customer": ["A", "B"], "Date": pd.to_datetime(["2025-01-01", "2025-02-01"]),
                  "Amount": [100.0, 40.0], "Cost": [60.0, 10.0]}).to_parquet(pq)
    cust = write(tmp_path / "customers.csv", "customer_id,name,sector,parent_id\nA,Alpha,health,\nB,Beta,retail,A\n")
    cts = write(tmp_path / "cts.csv", "customer_id,month,cost_type,amount\nA,2025-01-15,support,30\n")
    report = engine.run([SourceFile(pq), SourceFile(cust), SourceFile(cts)], db, commit=True)
    assert report.committed, [str(p) for p in report.problems]
    assert [f.role for f in report.files] == ["order_lines", "customers", "cost_to_serve"]
    assert report.limits == ["no_segments", "no_products", "no_order_id"] or "no_cost" not in report.limits
    b = connect(str(db))
    facts = b.customer_facts(Filters()).set_index("customer_id")
    b.close()
    assert facts.loc["A", ["revenue", "gross_profit", "cost_to_serve", "account_profit"]].tolist() == [100, 40, 30, 10]
    assert facts.loc["B", "parent_id"] == "A"


def test_limits_say_what_pages_cannot_show(tmp_path, db):
    report = engine.run([SourceFile(write(tmp_path / "o.csv", GOOD))], db)
    assert report.limits == ["no_cost", "no_cost_to_serve", "no_segments", "no_groups", "no_products",
                             "no_order_id"]


def test_skip_bad_rows_imports_the_others(tmp_path, db):
    text = GOOD + "C,2025-01-07,abc\n"
    path = write(tmp_path / "o.csv", text)
    report = engine.run([SourceFile(path)], db, commit=True)
    assert not report.committed and report.can_skip and report.bad_rows == 1 and report.rows == 3
    report = engine.run([SourceFile(path)], db, Options(skip_bad_rows=True), commit=True)
    assert report.committed and rows(db, "SELECT count(*) FROM order_lines") == [(2,)]


def test_append_deduplicates_by_order_and_line(tmp_path, db):
    before = rows(db, "SELECT count(*), sum(revenue) FROM order_lines")[0]  # tiny: 11 lines, 4620
    text = ("order_id,line_no,customer_id,order_date,revenue\n"
            "o1,1,A,2024-11-05,150\n"      # replaces o1/1 (100)
            "n1,1,F,2025-06-01,10\n")      # new customer
    report = engine.run([SourceFile(write(tmp_path / "o.csv", text))], db, Options(mode="append"), commit=True)
    assert report.committed and report.counts["replaced_lines"] == 1
    assert rows(db, "SELECT count(*), sum(revenue) FROM order_lines")[0] == (before[0] + 1, before[1] + 60)
    # customers and their attributes survive; value labels too
    assert rows(db, "SELECT name FROM customers WHERE customer_id = 'A'") == [("Alpha Trading",)]
    assert rows(db, "SELECT count(*) FROM customers") == [(6,)]
    assert rows(db, "SELECT label FROM value_labels WHERE value = 'East China'") == [("华东",)]


def test_user_state_survives_a_replace_and_profiles_are_reused(tmp_path, db):
    user_db = tmp_path / "sales.user.duckdb"
    store.put_setting(user_db, "plans.A", {"goal": "grow"})
    path = write(tmp_path / "o.csv", "Kunde,Datum,Umsatz\nA,2025-01-01,5\n")
    report = engine.run([SourceFile(path, overrides={"Kunde": "customer_id", "Datum": "order_date",
                                                     "Umsatz": "revenue"})],
                        db, Options(user_db=user_db), commit=True)
    assert report.committed
    assert store.get_setting(user_db, "plans.A") == {"goal": "grow"}
    # the next file of the same shape gets the saved mapping
    info = engine.inspect([SourceFile(write(tmp_path / "o2.csv", "Umsatz,Kunde,Datum\n1,B,2025-02-01\n"))],
                          user_db=user_db)[0]
    assert info.from_profile and info.mapping == {"Kunde": "customer_id", "Datum": "order_date",
                                                  "Umsatz": "revenue"}


def test_file_contents_never_reach_sql(tmp_path, db):
    evil = 'x"; DROP TABLE order_lines; --'
    quoted = '"' + evil.replace('"', '""') + '"'
    text = f"customer_id,order_date,revenue,{quoted}\n{quoted},2025-01-01,5,1\n"
    report = engine.run([SourceFile(write(tmp_path / "o.csv", text))], db, commit=True)
    assert report.committed
    assert rows(db, "SELECT customer_id FROM order_lines") == [(evil,)]


# ------------------------------------------------------------------ round trip

def test_round_trip_export_import_gives_the_same_figures(tmp_path, small_db):
    """Export the demo order lines (with Chinese headers, customer attributes inline) and the
    customers, products and cost-to-serve; import them; every figure is the same."""
    con = duckdb.connect(str(small_db), read_only=True)
    con.sql("""SELECT o.order_id AS 订单号, o.line_no AS 行号, strftime(o.order_date, '%d/%m/%Y') AS 订单日期,
                      o.customer_id AS 客户编号, o.product_id AS 产品编号, o.quantity AS 数量,
                      o.unit_price AS 单价, o.discount AS 折扣, o.revenue AS 金额, o.cost AS 成本
               FROM order_lines o""").write_csv(str(tmp_path / "订单.csv"))
    con.table("customers").write_csv(str(tmp_path / "customers.csv"))
    con.table("products").write_parquet(str(tmp_path / "products.parquet"))
    con.table("cost_to_serve").write_csv(str(tmp_path / "cts.csv"))
    con.close()
    out = tmp_path / "imported.duckdb"
    files = [SourceFile(tmp_path / n) for n in ("订单.csv", "customers.csv", "products.parquet", "cts.csv")]
    report = engine.run(files, out, commit=True)
    assert report.committed, [str(p) for p in report.problems[:5]]
    assert [f.role for f in report.files] == ["order_lines", "customers", "products", "cost_to_serve"]

    def figures(path):
        b = connect(str(path))
        try:
            f = b.customer_facts(Filters(), attributes=False)
            f = f.sort_values("customer_id").reset_index(drop=True)
            return f, pareto.top_share(f["revenue"]), b.data_facts()
        finally:
            b.close()

    (a, share_a, facts_a), (b, share_b, facts_b) = figures(small_db), figures(out)
    pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-9)
    assert share_a == pytest.approx(share_b, rel=1e-12)
    for k in ("as_of", "order_lines", "customers"):
        assert facts_a[k] == facts_b[k]


# ------------------------------------------------------------------ CLI

def test_cli_import_text_json_and_exit_codes(tmp_path, db, capsys):
    good = write(tmp_path / "o.csv", "客户,日期,销售额\nA,2025-01-05,100\n")
    assert cli.main(["import", str(good), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "客户 -> customer_id" in out and "Imported into" in out
    bad = write(tmp_path / "bad.csv", "客户,日期,销售额\nA,2025-01-05,x\n")
    before = db.read_bytes()
    assert cli.main(["import", str(bad), "--db", str(db), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False and data["problems"][0]["line"] == 2 and data["problems"][0]["value"] == "x"
    assert db.read_bytes() == before
    assert cli.main(["import", str(bad), "--db", str(db)]) == 1
    assert "line 2, column 销售额: value 'x': not a number" in capsys.readouterr().err
    ambiguous = write(tmp_path / "amb.csv", "c,d,amount\nA,01/02/2025,1\n")
    args = ["import", f"orders:{ambiguous}", "--db", str(db), "--map", "c=customer_id", "--map", "d=order_date"]
    assert cli.main(args) == 1
    assert "--date-order" in capsys.readouterr().err
    assert cli.main(args + ["--date-order", "dmy", "--mode", "append"]) == 0
    assert rows(db, "SELECT count(*) FROM order_lines WHERE order_date = DATE '2025-02-01'") == [(1,)]
    assert cli.main(["import", str(good), "--db", str(db), "--check"]) == 0


def test_cli_load_still_works(tmp_path, capsys):
    path = write(tmp_path / "o.csv", GOOD)
    assert cli.main(["load", "--orders", str(path), "--out", str(tmp_path / "x.duckdb")]) == 0
