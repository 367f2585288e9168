import shutil
from datetime import date

import duckdb
import pandas as pd
import pytest

from kamdash import cli, ingest, store
from kamdash.engine import connect
from kamdash.engine.filters import Filters

ORDERS = """order_id,line_no,order_date,customer_id,product_id,quantity,unit_price,discount,revenue,cost,Remark
o1,1,2025-01-05,A,p1,2,100,0,200,120,first
o1,2,2025-01-05,A,p2,1,50,5,45,20,
o2,1,2025/02/10,B,p1,1,100,0,100,60,
o3,1,20250315,B,p1,-1,100,0,-100,-60,return
"""
CUSTOMERS = "customer_id,name,customer_type,sector,region\nA,Alpha,distributor,retail,East China\n"
CTS = "customer_id,month,cost_type,amount\nA,2025-01-01,logistics,30\nB,2025-02-17,support,10\n"


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_load_canonical_files(tmp_path):
    out = tmp_path / "db.duckdb"
    report = ingest.load_files(out, write(tmp_path, "orders.csv", ORDERS),
                               customers=write(tmp_path, "customers.csv", CUSTOMERS),
                               cost_to_serve=write(tmp_path, "cts.csv", CTS))
    assert report.rows == {"order_lines": 4, "customers": 1, "cost_to_serve": 2}
    assert any("Remark" in w.lower() or "remark" in w for w in report.warnings)
    assert any("customer ids in the order lines" in w for w in report.warnings)  # B was added
    assert store.check_sales_db(out).ok
    b = connect(str(out))
    facts = b.customer_facts(Filters()).set_index("customer_id")
    assert facts.loc["A", ["revenue", "gross_profit", "cost_to_serve", "account_profit"]].tolist() == [245, 105, 30, 75]
    assert facts.loc["B", ["revenue", "returns", "cost_to_serve"]].tolist() == [0, 100, 10]
    assert facts.loc["A", "customer_type"] == "distributor"
    assert b.data_facts()["as_of"] == date(2025, 3, 15)
    b.close()


def test_revenue_and_order_ids_are_derived_when_absent(tmp_path):
    out = tmp_path / "db.duckdb"
    orders = "customer_id,order_date,quantity,unit_price,discount\nA,2025-01-05,3,10,5\nA,2025-01-05,1,10,\n"
    ingest.load_files(out, write(tmp_path, "o.csv", orders))
    con = duckdb.connect(str(out), read_only=True)
    rows = con.sql("SELECT order_id, line_no, revenue FROM order_lines ORDER BY line_no").fetchall()
    con.close()
    assert rows == [("A@2025-01-05", 1, 25.0), ("A@2025-01-05", 2, 10.0)]


def test_bad_rows_are_reported_with_line_and_column_and_nothing_changes(tmp_path, tiny_db):
    out = tmp_path / "db.duckdb"
    shutil.copy(tiny_db, out)
    before = out.read_bytes()
    bad = ("customer_id,order_date,revenue\n"
           "A,2025-01-05,100\n"
           "B,05/01/2025,100\n"     # line 3: ambiguous date
           ",2025-01-06,50\n"       # line 4: no customer
           "C,2025-01-07,abc\n")    # line 5: not a number
    with pytest.raises(ingest.LoadError) as err:
        ingest.load_files(out, write(tmp_path, "bad.csv", bad))
    found = {(p.line, p.column, p.reason.split(" (")[0]) for p in err.value.problems}
    assert found == {(3, "order_date", "not a date"), (4, "customer_id", "value missing"),
                     (5, "revenue", "not a number")}
    assert "bad.csv, line 3, column order_date: value '05/01/2025': not a date" in str(err.value)
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_missing_required_column_and_duplicate_ids(tmp_path):
    with pytest.raises(ingest.LoadError, match=r"required column missing"):
        ingest.load_files(tmp_path / "x.duckdb", write(tmp_path, "o.csv", "customer,date,amount\nA,2025-01-01,1\n"))
    dup = "customer_id,name\nA,Alpha\nA,Alpha again\n"
    with pytest.raises(ingest.LoadError) as err:
        ingest.load_files(tmp_path / "x.duckdb", write(tmp_path, "o.csv", "customer_id,order_date,revenue\nA,2025-01-01,1\n"),
                          customers=write(tmp_path, "c.csv", dup))
    assert {(p.line, p.column) for p in err.value.problems} == {(2, "customer_id"), (3, "customer_id")}
    assert not (tmp_path / "x.duckdb").exists()


def test_parquet_and_unknown_format(tmp_path):
    pq = tmp_path / "orders.parquet"
    pd.DataFrame({"customer_id": ["A", "B"], "order_date": [date(2025, 1, 1), date(2025, 2, 1)],
                  "revenue": [10.0, 20.0]}).to_parquet(pq)
    report = ingest.load_files(tmp_path / "p.duckdb", pq)
    assert report.rows["order_lines"] == 2
    with pytest.raises(ingest.LoadError, match="only .csv"):
        ingest.load_files(tmp_path / "p2.duckdb", write(tmp_path, "o.json", "{}"))
    with pytest.raises(ingest.LoadError, match="file not found"):
        ingest.load_files(tmp_path / "p2.duckdb", tmp_path / "nope.csv")


def test_cli_load(tmp_path, capsys):
    out = tmp_path / "cli.duckdb"
    assert cli.main(["load", "--orders", str(write(tmp_path, "o.csv", ORDERS)), "--out", str(out)]) == 0
    assert "Loaded 4 order lines" in capsys.readouterr().out
    bad = write(tmp_path, "bad.csv", "customer_id,order_date,revenue\nA,someday,1\n")
    assert cli.main(["load", "--orders", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "line 2, column order_date" in err and "was not changed" in err
