"""Customer features (segments) and what account health reads (my accounts)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from kamdash.analytics import growth
from kamdash.engine import columns
from kamdash.engine._ibis import to_frame
from kamdash.engine._meta import attribute_codes, data_facts, last_month, last_order_date
from kamdash.engine._periods import customer_mask
from kamdash.engine.filters import Filters, add_months, month_start

# ---------------------------------------------------------------- customer features (segments)

FEATURES = ("recency", "frequency", "revenue", "gross_profit", "account_profit", "margin",
            "growth", "breadth", "tenure", "regularity")
FEATURE_ATTRIBUTES = ("name", "name_zh", "customer_type", "sector", "region", "parent_id",
                      "referred_by")


def _month_end(d: date) -> date:
    return date.fromordinal(add_months(d, 1).toordinal() - 1)


def customer_features(eng, filters: Filters, breadth: bool = True) -> pd.DataFrame:
    """Customer features for segmentation, one row per customer with an order in the period.

    Computed from the running totals (``kamdash.resident``: four months per customer; the
    dimension, customer and tier filters apply; the period decides the window), as of ``as_of``
    = the last day of the period's last month, capped at the last order date in the data:

    - recency: days from the last order (up to ``as_of``) to ``as_of``
    - frequency: distinct order days in the period
    - revenue, gross_profit, account_profit: sums over the period (account profit after
      cost-to-serve)
    - margin: account_profit / revenue (NaN when revenue is not positive)
    - revenue_last12, revenue_prev12: revenue of the 12 months ending with the period's last
      month, and of the 12 months before (the period start does not limit these)
    - growth: ``analytics.growth.growth`` of revenue_last12 against revenue_prev12 (the same
      months a year before): 1.0 = doubled; NaN for an account new in the last 12 months
      (segments cluster on a bounded variant computed from the same two columns)
    - breadth: distinct products bought in the period (read from ``order_lines`` directly,
      as no pre-aggregate holds products: about 1 s for 4M lines of a 200k-customer year;
      NaN when ``breadth`` is False)
    - tenure: months from the first order ever (up to ``as_of``) to ``as_of``
    - regularity: share of the period's months with an order (0-1)

    plus attributes name, name_zh, customer_type, sector, region, parent_id, referred_by, as
    categoricals (``i18n.customer_names`` gives the names to show).
    """
    r = eng.columns
    cm = eng.ibis.table("customer_month")
    data_end = last_order_date(eng)
    end = filters.end or month_start(data_end)
    as_of = min(_month_end(end), data_end)
    start = filters.start
    n_months = filters.months if start else None
    # Running totals at the period's end, before its start, and 12 and 24 months before its
    # end (a month after the data reads the last month's totals: nothing happened since).
    last = last_month(eng)
    at = lambda m: min(m, last) if m and last else None  # noqa: E731
    e_m, b_m = at(end), at(add_months(start, -1) if start else None)
    y1_m, y2_m = at(add_months(end, -12)), at(add_months(end, -24))
    idx = np.flatnonzero((r.period(e_m, b_m, "orders")["orders"] > 0) & customer_mask(eng, filters))
    p = r.period(e_m, b_m, "revenue", "gross_profit", "account_profit", "order_days", "orders",
                 "active_months", idx=idx)
    order = columns.order_desc(p["revenue"])  # ranked first, ties by customer_id
    idx, p = idx[order], {c: v[order] for c, v in p.items()}
    rev = r.at(e_m, "revenue")["revenue"]
    y1, y2 = r.at(y1_m, "revenue")["revenue"], r.at(y2_m, "revenue")["revenue"]
    df = pd.DataFrame({
        "customer_id": r.keys.ids.take(idx),
        **{c: p[c] for c in ("revenue", "gross_profit", "account_profit", "orders", "active_months")},
        "frequency": p["order_days"].astype(float),
        "revenue_last12": columns.snap(rev[idx], y1[idx]),
        "revenue_prev12": columns.snap(y1[idx], y2[idx]),
        "first_order_date": columns.to_datetime64(r.keys.first_order[idx]),
        "last_order_date": columns.to_datetime64(r.at(e_m, "last_order")["last_order"][idx]),
    })
    if n_months is None:  # open-ended: the period starts at each customer's first month in it
        # (a rare path: the app's period always has both ends)
        m = cm.filter(cm.month >= start) if start else cm
        first = to_frame(m.group_by("customer_id").aggregate(first_month=m.month.min()))
        df = df.merge(first, on="customer_id", how="left")
        df["first_month"] = pd.to_datetime(df["first_month"])
    codes = attribute_codes(eng)
    df = pd.concat([df, pd.DataFrame({c: codes[c].take(idx) for c in FEATURE_ATTRIBUTES})], axis=1)
    if breadth and len(df) and data_facts(eng).get("lines_at") != "source":  # else: no lines here
        ol = eng.ibis.table("order_lines")
        lo = ol.filter(ol.order_date <= as_of)
        if start:
            lo = lo.filter(lo.order_date >= start)
        b = to_frame(lo.group_by("customer_id").aggregate(breadth=lo.product_id.nunique()))
        df["breadth"] = df["customer_id"].map(b.set_index("customer_id")["breadth"]).fillna(0)
    else:
        df["breadth"] = float("nan")
    as_of_ts = pd.Timestamp(as_of)
    df["recency"] = (as_of_ts - df["last_order_date"]).dt.days.astype(float)
    first = df["first_order_date"]
    df["tenure"] = ((as_of_ts.year - first.dt.year) * 12 + as_of_ts.month - first.dt.month).astype(float)
    if n_months is None:  # open-ended period: months from the first month with data
        fm = df["first_month"]
        n = (as_of_ts.year - fm.dt.year) * 12 + as_of_ts.month - fm.dt.month + 1
    else:
        n = n_months
    df["regularity"] = df["active_months"] / n
    rev = df["revenue"]
    df["margin"] = (df["account_profit"] / rev).where(rev > 0)
    df["growth"] = growth.growth(df["revenue_last12"].to_numpy(), df["revenue_prev12"].to_numpy())
    df["as_of"] = as_of_ts
    cols = ["customer_id", *FEATURES, "revenue_last12", "revenue_prev12", "orders",
            "active_months", "first_order_date", "last_order_date", *FEATURE_ATTRIBUTES]
    return df[cols].reset_index(drop=True)


# ---------------------------------------------------------------- account health (my accounts)

CATEGORY_BITS = 64  # months of category history held per account and category (bit k = k months before)


def purchase_day_rows(eng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every purchase day of every customer: (customer position ``ck - 1`` (int32), day (int32
    days since 1970), net revenue of the day), in customer key order, then by day. A purchase
    day is a day with a line that is not negative (the rule of ``purchase_days``). What is
    known at any past date is a prefix of each customer's rows, so rhythm, RFM and P(alive)
    as of any month are array work on these rows. Read once per eng, held in ``resident``."""
    r = eng.columns

    def make():
        t = eng.sql(
            "SELECT k.ck, datediff('day', DATE '1970-01-01', o.order_date)::INTEGER AS d, "
            "sum(o.revenue) AS revenue FROM order_lines o JOIN customer_key k USING (customer_id) "
            "GROUP BY k.ck, o.order_date HAVING bool_or(o.revenue >= 0) ORDER BY k.ck, d")
        return ((t["ck"].to_numpy() - 1).astype(np.int32), t["d"].to_numpy().astype(np.int32),
                t["revenue"].to_numpy(zero_copy_only=False).astype(np.float64))
    return r.derived(("purchase_days",), make)


def category_spend(eng, now: date) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per customer (rows ``ck - 1``) and product category, as of the end of month ``now``:
    (categories (sorted names), revenue in the 12 months up to ``now`` (float64, customers x
    categories), revenue before those 12 months (float64), months with positive revenue in the
    category (uint64 bits: bit k = ``k`` months before ``now``, the last CATEGORY_BITS months)).
    Lines without a category are left out; no categories at all gives an empty category list.
    Read from the order lines once per ``now`` (no pre-aggregate holds products), held in
    ``resident``."""
    r = eng.columns

    def make():
        after = add_months(month_start(now), 1)
        t = eng.sql(
            "WITH m AS (SELECT k.ck, p.category, "
            "  datediff('month', date_trunc('month', o.order_date), ?::DATE)::INTEGER AS ago, "
            "  sum(o.revenue) AS revenue "
            "  FROM order_lines o JOIN customer_key k USING (customer_id) "
            "  JOIN products p USING (product_id) "
            "  WHERE o.order_date < ?::DATE AND p.category IS NOT NULL "
            "  GROUP BY ALL) "
            "SELECT ck, category, "
            "  coalesce(sum(revenue) FILTER (WHERE ago < 12), 0) AS spend, "
            "  coalesce(sum(revenue) FILTER (WHERE ago >= 12), 0) AS before, "
            "  coalesce(bit_or(CASE WHEN ago < ? AND revenue > 0 THEN (1::UBIGINT << ago) END), 0::UBIGINT) AS bits "
            "FROM m GROUP BY ck, category", [month_start(now), after, CATEGORY_BITS])
        # the categories as codes (a few distinct names over millions of rows), renumbered in
        # the sorted order of the names
        enc = pc.dictionary_encode(t["category"]).combine_chunks()
        names = enc.dictionary.to_pylist()
        rank = np.argsort(np.argsort(np.asarray(names, dtype=object))) if names else np.zeros(0, dtype=np.int64)
        cats = np.asarray(sorted(names), dtype=object)
        n, c = r.keys.n, len(cats)
        spend, before = np.zeros((n, c)), np.zeros((n, c))
        bits = np.zeros((n, c), dtype=np.uint64)
        if len(cats):
            row = t["ck"].to_numpy() - 1
            col = rank[enc.indices.to_numpy(zero_copy_only=False)]
            spend[row, col] = t["spend"].to_numpy(zero_copy_only=False)
            before[row, col] = t["before"].to_numpy(zero_copy_only=False)
            bits[row, col] = t["bits"].to_numpy(zero_copy_only=False).astype(np.uint64)
        return cats, spend, before, bits
    return r.derived(("category_spend", month_start(now)), make)


def month_totals(eng, months: list[date], *cols: str, hold: bool = False) -> dict[str, np.ndarray]:
    """Running totals of ``cols`` at the end of each of ``months`` (None or before the data:
    zeros), stacked: ``{col: array (len(months), customers)}``. Differences of two rows are a
    period's totals per customer (``resident``). ``hold``: keep the month columns read (by
    default they are read for a value derived once and kept itself)."""
    r = eng.columns
    last, first = last_month(eng), r.extent()[0]
    out = {c: [] for c in cols}
    for m in months:
        at = None if (m is None or first is None or m < pd.Timestamp(first).date()) else min(m, last)
        got = r.at(at, *cols, hold=hold)
        for c in cols:
            out[c].append(got[c])
    return {c: np.stack(v) for c, v in out.items()}
