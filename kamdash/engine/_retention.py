"""Purchase days, RFM summaries and activity counts: what retention and lifetime value need."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from kamdash.engine import columns
from kamdash.engine._ibis import customers_table, ibis, to_frame
from kamdash import schema
from kamdash.engine._meta import attribute_codes
from kamdash.engine._periods import _bounds, customer_mask
from kamdash.engine.filters import Filters, month_start

TIME_UNIT_DAYS = {"D": 1.0, "W": 7.0}


def purchase_days(eng, filters: Filters | None = None, end: date | None = None):
    """Ibis table: one row per customer and purchase day (same-day orders merged), columns
    customer_id, order_date, revenue (net revenue of the day). A purchase day is a day with at least one
    line that is not negative (free goods count: an order happened); days with only returns or
    credit notes are not purchases."""
    ol = eng.ibis.table("order_lines")
    if end is not None:
        ol = ol.filter(ol.order_date <= end)
    if filters is not None and filters.restricts_customers():
        keep = customers_table(eng, customer_mask(eng, filters))
        ol = ol.filter(ol.customer_id.isin(keep.customer_id))
    days = ol.group_by(["customer_id", "order_date"]).aggregate(
        revenue=ol.revenue.sum(), bought=(ol.revenue >= 0).any())
    return days.filter(days.bought).drop("bought")


def rfm_summary(eng, calibration_end: date, time_unit: str = "W",
                filters: Filters | None = None, holdout_end: date | None = None) -> pd.DataFrame:
    """Frequency / recency / T per customer for BG/NBD, Pareto/NBD and Gamma-Gamma.

    Built from order lines up to ``calibration_end`` (included) with the standard conventions:
    same-day orders merged into one purchase day; a customer's first purchase day starts the
    clock; ``frequency`` = number of repeat purchase days; ``recency`` = time from the first to the
    last purchase day; ``T`` = time from the first purchase day to ``calibration_end``, in days
    divided by 1 (``D``) or 7 (``W``); ``monetary_value`` = mean net revenue of the repeat
    purchase days whose net revenue is positive (0 when there are none); ``first_value`` =
    revenue of the first day; ``revenue`` = all net revenue to ``calibration_end`` (returns
    included). With ``holdout_end``, ``holdout_frequency`` counts purchase days in
    (calibration_end, holdout_end].
    Columns: customer_id, frequency, recency, T, monetary_value, first_value, revenue,
    first_date, last_date[, holdout_frequency].

    To the last order date or later without a holdout (the page's view), the summary of every
    customer is computed once (``_held_rfm``) and the filters select from it; otherwise (fits,
    validation) it is a query over the order lines (``_rfm_query``).
    """
    if holdout_end is None:
        held = _held_rfm(eng)
        if held is not None and np.datetime64(calibration_end, "D") >= held[0]:
            return _rfm_from_held(eng, held, calibration_end, time_unit, filters)[0]
    return _rfm_query(eng, calibration_end, time_unit, filters, holdout_end)


def _held_rfm(eng) -> tuple | None:
    """(last order date, pos, frequency, first day, last day, monetary_value, first_value,
    revenue): the RFM summary of every customer with a purchase day to the last order date,
    in customer key order (``pos`` = ``ck - 1``, int32; frequency int32; days as int32 days
    since 1970); None without order lines. What does not depend on the filters or the
    calibration end (T does), read once per eng and held in ``resident``."""
    r = eng.columns

    def last_day():
        return eng.sql("SELECT max(order_date) AS d FROM order_lines").to_pylist()[0]["d"]

    last = r.memo("last_order_line", last_day)
    if last is None:
        return None

    def make():
        df = _rfm_query(eng, last, "D")
        ids = df["customer_id"].to_numpy(dtype=object)
        pos = np.searchsorted(r.keys.customer_id, ids)
        if len(pos) and (pos.max() >= r.keys.n or not (r.keys.customer_id[pos] == ids).all()):
            raise ValueError("order lines of customers without a customer key")
        days = lambda c: df[c].to_numpy().astype("datetime64[D]").astype(np.int32)  # noqa: E731
        return (np.datetime64(last, "D"), pos.astype(np.int32), df["frequency"].to_numpy().astype(np.int32),
                days("first_date"), days("last_date"),
                *(df[c].to_numpy(dtype=np.float64) for c in ("monetary_value", "first_value", "revenue")))

    return r.derived(("rfm",), make)


def _rfm_from_held(eng, held: tuple, calibration_end: date, time_unit: str,
                   filters: Filters | None) -> tuple[pd.DataFrame, np.ndarray]:
    """(RFM summary frame, customer positions of its rows) from ``_held_rfm`` for the customers
    the filters select, T to ``calibration_end``."""
    _, pos, freq, first, last, mv, fv, rev = held
    unit = TIME_UNIT_DAYS[time_unit]
    if filters is not None and filters.restricts_customers():
        sel = np.flatnonzero(customer_mask(eng, filters)[pos])
        pos, freq, first, last, mv, fv, rev = (a[sel] for a in (pos, freq, first, last, mv, fv, rev))
    cal = int(np.datetime64(calibration_end, "D").astype(np.int64))
    df = pd.DataFrame({
        "customer_id": eng.columns.keys.ids.take(pos),
        "frequency": freq.astype(np.int64),
        "recency": (last - first).astype(np.float64) / unit,
        "T": (cal - first).astype(np.float64) / unit,
        "monetary_value": mv, "first_value": fv, "revenue": rev,
        "first_date": first.astype("datetime64[D]").astype("datetime64[ms]"),
        "last_date": last.astype("datetime64[D]").astype("datetime64[ms]"),
    })
    return df, pos


def _rfm_query(eng, calibration_end: date, time_unit: str = "W",
               filters: Filters | None = None, holdout_end: date | None = None) -> pd.DataFrame:
    """``rfm_summary`` as a query over the order lines (any calibration end, holdout)."""
    unit = TIME_UNIT_DAYS[time_unit]
    days = purchase_days(eng, filters, calibration_end)
    first = days.group_by("customer_id").aggregate(first_date=days.order_date.min())
    d = days.join(first, "customer_id")
    repeat = d.order_date > d.first_date
    paid = repeat & (d.revenue > 0)
    agg = d.group_by("customer_id").aggregate(
        first_date=d.first_date.min(),
        last_date=d.order_date.max(),
        frequency=repeat.sum(),
        paid_days=paid.sum(),
        repeat_revenue=d.revenue.sum(where=paid),
        first_value=d.revenue.sum(where=~repeat),
    )
    ol = eng.ibis.table("order_lines")
    ol = ol.filter(ol.order_date <= calibration_end)
    net = ol.group_by("customer_id").aggregate(revenue=ol.revenue.sum())
    agg = agg.left_join(net, "customer_id").select(agg, net.revenue)
    cal = ibis.literal(calibration_end)
    out = agg.select(
        "customer_id",
        frequency=agg.frequency.cast("int64"),
        recency=agg.last_date.delta(agg.first_date, unit="day").cast("float64") / unit,
        T=cal.delta(agg.first_date, unit="day").cast("float64") / unit,
        monetary_value=ibis.ifelse(agg.paid_days > 0,
                                   agg.repeat_revenue / agg.paid_days.cast("float64"), 0.0),
        first_value="first_value",
        revenue=agg.revenue.fill_null(0.0),
        first_date="first_date",
        last_date="last_date",
    )
    if holdout_end is not None:
        later = purchase_days(eng, filters, holdout_end)
        later = later.filter(later.order_date > calibration_end)
        hold = later.group_by("customer_id").aggregate(holdout_frequency=later.count())
        out = out.left_join(hold, "customer_id").select(
            out, holdout_frequency=hold.holdout_frequency.fill_null(0).cast("int64"))
    df = to_frame(out.order_by("customer_id"))
    df["frequency"] = df["frequency"].astype("int64")
    return df


def repeat_purchase_track(eng, calibration_end: date, holdout_end: date, time_unit: str = "W",
                          filters: Filters | None = None) -> pd.DataFrame:
    """Repeat purchase days per period, for the customers whose first purchase falls on or
    before ``calibration_end``, up to ``holdout_end``. Period k covers days
    [start + k·unit, start + (k+1)·unit) with start = the earliest first purchase day.
    Columns: period, repeat_purchases."""
    unit = int(TIME_UNIT_DAYS[time_unit])
    days = purchase_days(eng, filters, holdout_end)
    first = days.group_by("customer_id").aggregate(first_date=days.order_date.min())
    first = first.filter(first.first_date <= calibration_end)
    d = days.join(first, "customer_id")
    d = d.filter(d.order_date > d.first_date)
    start = first.first_date.min().as_scalar()
    d = d.mutate(period=(d.order_date.delta(start, unit="day") // unit).cast("int64"))
    return to_frame(d.group_by("period").aggregate(repeat_purchases=d.count()).order_by("period"))


_EPOCH_MONTH = 1970 * 12  # absolute month index (year·12 + month − 1) of January 1970


def _month_starts(abs_months: np.ndarray) -> np.ndarray:
    """Absolute month indices -> first days of those months (datetime64[ms])."""
    return (np.asarray(abs_months, dtype=np.int64) - _EPOCH_MONTH).astype("datetime64[M]").astype("datetime64[ms]")


def _activity_counts(eng, filters: Filters, freq: str, which: str) -> tuple[int, int, np.ndarray]:
    """(base, n, counts per code) of ``columns.activity``'s ``which`` code (``cohort`` or
    ``gap``) over the customers passing the dimension, customer and tier filters (the period
    does not restrict who): dimension filters add up the rows of ``activity_table`` (per
    combination of dimension values), customer and tier filters select rows."""
    r = eng.columns
    base, n, n_rows, cohort_code, gap_code = r.activity(freq)
    base, n = int(base), int(n)
    width = n * (n + (which == "gap"))
    if not filters.names_customers():
        table = r.activity_table(freq, which)
        if table is not None:
            return base, n, table[r.combo_mask(filters.dimension_values())].sum(axis=0, dtype=np.int64)
    code = cohort_code if which == "cohort" else gap_code
    if filters.restricts_customers():
        code = code[np.repeat(customer_mask(eng, filters), n_rows)]
    return base, n, np.bincount(code, minlength=width)


def cohort_counts(eng, filters: Filters, freq: str = "M") -> pd.DataFrame:
    """Active customers per cohort and period: cohort = period (month ``M`` or quarter ``Q``) of
    the customer's first order, a customer is active in a period with at least one order.
    Dimension filters apply; the whole history is used (the cohort window is chosen later).
    Columns: cohort, period, customers (cohort and period are the first day of the month/quarter).

    Counted in memory (``columns.activity``: every customer's months with an order, read once)
    over the customers the filters select; the tests check it against the group-by over
    customer_month."""
    unit = "Q" if freq == "Q" else "M"
    base, n, counts = _activity_counts(eng, filters, unit, "cohort")
    nz = np.flatnonzero(counts)  # cohort-major: ordered by cohort, then period
    cohort, period = np.divmod(nz, n) if n else (nz, nz)
    step = 3 if unit == "Q" else 1
    return pd.DataFrame({"cohort": _month_starts((base + cohort) * step),
                         "period": _month_starts((base + period) * step),
                         "customers": counts[nz].astype(np.int64)})


def activity_gaps(eng, filters: Filters) -> pd.DataFrame:
    """Months with an order per customer, counted by the gap to that customer's next month with
    an order (``gap`` in months; null when there is none yet). Feeds the defection rate.
    Columns: month, gap, rows (ordered by month, then gap, none last).

    Counted in memory like ``cohort_counts``."""
    base, n, counts = _activity_counts(eng, filters, "M", "gap")
    nz = np.flatnonzero(counts)
    month, gap = np.divmod(nz, n + 1)
    return pd.DataFrame({"month": _month_starts(base + month),
                         "gap": np.where(gap == n, np.nan, gap.astype(np.float64)),
                         "rows": counts[nz].astype(np.int64)})


def value_inputs(eng, as_of: date, time_unit: str = "W",
                 filters: Filters | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, np.ndarray]:
    """What valuing the accounts needs, row for row: (``rfm_summary`` to ``as_of``, their
    ``customer_margins`` to ``as_of``, their name, name_zh and the filter dimensions, their customer
    positions ``ck - 1``). The margins are
    the running totals held in memory (``resident``), the attributes those read once per
    eng: nothing here joins on customer_id."""
    r = eng.columns
    held = _held_rfm(eng)
    if held is not None and np.datetime64(as_of, "D") >= held[0]:
        rfm, pos = _rfm_from_held(eng, held, as_of, time_unit, filters)
    else:
        rfm = _rfm_query(eng, as_of, time_unit, filters)
        pos = np.searchsorted(r.keys.customer_id, rfm["customer_id"].to_numpy(dtype=object))
    month = _bounds(eng, None, month_start(as_of))[0]  # before the data: zeros either way
    tot = r.at(month, "revenue", "gross_profit", "cost_to_serve", "order_days")
    margins = pd.DataFrame({"customer_id": rfm["customer_id"].array,
                            **{c: tot[c][pos] for c in ("revenue", "gross_profit", "cost_to_serve", "order_days")}})
    codes = attribute_codes(eng)
    attrs = pd.DataFrame({c: columns.strings(codes[c].take(pos)) for c in ("name", "name_zh", *schema.DIMENSIONS)})
    return rfm, margins, attrs, pos


def customer_margins(eng, end: date | None = None) -> pd.DataFrame:
    """Per customer up to ``end``: revenue, gross_profit, cost_to_serve, order_days (from the
    customer_month pre-aggregate). Turns modelled revenue into profit after the fit."""
    cm = eng.ibis.table("customer_month")
    if end is not None:
        cm = cm.filter(cm.month <= month_start(end))
    out = cm.group_by("customer_id").aggregate(
        revenue=cm.revenue.sum(), gross_profit=cm.gross_profit.sum(),
        cost_to_serve=cm.cost_to_serve.sum(), order_days=cm.order_days.sum())
    return to_frame(out.order_by("customer_id"))
