"""The CDNOW 1/10th sample (tests/data/CDNOW_sample.txt, see tests/data/README.md) as a kamdash
sales database: one order line per record, the record's dollar value as revenue."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from kamdash import store

CDNOW = Path(__file__).resolve().parent / "data" / "CDNOW_sample.txt"
CALIBRATION_END = date(1997, 9, 30)
HOLDOUT_END = date(1998, 6, 30)
# Fader, Hardie & Lee (2005), BG/NBD maximum-likelihood estimates on this sample
PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def read_cdnow() -> pd.DataFrame:
    df = pd.read_csv(CDNOW, sep=r"\s+", header=None, names=["master_id", "customer", "date", "cds", "dollars"],
                     dtype={"master_id": str, "customer": str, "date": str})
    df["order_date"] = pd.to_datetime(df["date"], format="%Y%m%d").dt.date
    return df


def fill_cdnow(con) -> None:
    df = read_cdnow()
    customers = pd.DataFrame({"customer_id": sorted(df["customer"].unique())})
    customers["name"] = "CDNOW " + customers["customer_id"]
    lines = pd.DataFrame({"order_id": df["customer"] + "-" + df.index.astype(str), "line_no": 1,
                          "order_date": pd.to_datetime(df["order_date"]), "customer_id": df["customer"],
                          "quantity": df["cds"].astype(float), "revenue": df["dollars"].astype(float)})
    con.register("cdnow_customers", customers)
    con.register("cdnow_lines", lines)
    con.execute("INSERT INTO customers (customer_id, name, customer_type, region) "
                "SELECT customer_id, name, 'end_customer', 'US' FROM cdnow_customers")
    con.execute("INSERT INTO order_lines (order_id, line_no, order_date, customer_id, quantity, discount, "
                "revenue) SELECT order_id, line_no, order_date::DATE, customer_id, quantity, 0.0, revenue "
                "FROM cdnow_lines")


def build_cdnow_db(path: Path) -> Path:
    store.build_sales_db(path, fill_cdnow, source="CDNOW sample", currency="USD")
    return path
