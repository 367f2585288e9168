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
    customers = sorted(df["customer"].unique())
    con.executemany("INSERT INTO customers (customer_id, name, customer_type, region) VALUES (?,?,?,?)",
                    [(c, f"CDNOW {c}", "end_customer", "US") for c in customers])
    rows = [(f"{r.customer}-{i}", 1, r.order_date, r.customer, None, float(r.cds), None, 0.0,
             float(r.dollars), None) for i, r in enumerate(df.itertuples())]
    con.executemany("INSERT INTO order_lines VALUES (?,?,?,?,?,?,?,?,?,?)", rows)


def build_cdnow_db(path: Path) -> Path:
    store.build_sales_db(path, fill_cdnow, source="CDNOW sample", currency="USD")
    return path
