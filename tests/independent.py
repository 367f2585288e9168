"""Plain-pandas computations straight from the source tables, written without the query layer,
used to check the numbers the app shows."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd

from tests.conftest import read_table


class Raw:
    def __init__(self, path):
        self.lines = read_table(path, "order_lines")
        self.cts = read_table(path, "cost_to_serve")
        self.customers = read_table(path, "customers")
        self.lines["m"] = pd.to_datetime(self.lines["order_date"]).dt.to_period("M")
        self.cts["m"] = pd.to_datetime(self.cts["month"]).dt.to_period("M")

    def _customers(self, **dims):
        c = self.customers
        for col, values in dims.items():
            if values:
                c = c[c[col].isin(values)]
        return set(c["customer_id"])

    def period(self, start: date, end: date, **dims) -> dict:
        ids = self._customers(**dims)
        s, e = pd.Period(start, "M"), pd.Period(end, "M")
        lines = self.lines[(self.lines["m"] >= s) & (self.lines["m"] <= e) & self.lines["customer_id"].isin(ids)]
        cts = self.cts[(self.cts["m"] >= s) & (self.cts["m"] <= e) & self.cts["customer_id"].isin(ids)]
        revenue = lines["revenue"].sum()
        gross = revenue - lines["cost"].sum()
        by_customer = lines.groupby("customer_id")["revenue"].sum().sort_values(ascending=False)
        k = math.ceil(0.2 * len(by_customer))
        return {
            "revenue": revenue,
            "gross_profit": gross,
            "account_profit": gross - cts["amount"].sum(),
            "active": set(lines["customer_id"]),
            "top20_share": by_customer.iloc[:k].sum() / by_customer.sum() if len(by_customer) else float("nan"),
            "by_customer": by_customer,
            "monthly": lines.groupby("m")["revenue"].sum(),
        }
