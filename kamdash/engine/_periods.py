"""A period's numbers per customer, from the running totals held in memory."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from kamdash.analytics import pareto
from kamdash.engine import columns
from kamdash.engine._ibis import apply_filters, customers_table, to_frame
from kamdash.engine._meta import attribute_codes, attributes_of, last_month
from kamdash.engine.filters import (
    ATTRIBUTE_COLUMNS,
    COUNT_COLUMNS,
    MONEY_COLUMNS,
    Filters,
    add_months,
)

# ---------------------------------------------------------------- period numbers per customer
# A period's numbers per customer are the running totals (customer_cum) at its last month minus
# those at the month before it starts; ``kamdash.resident`` holds those month columns in memory
# as arrays indexed by the customer key, so a filter change is array arithmetic (no query once
# the months have been read). The tests check every function here against customer_month sums
# and plain pandas from the order lines.

TIER_CODES = {"A": 1, "B": 2, "C": 3}  # columns.Resident.tiers


def _period_bounds(eng, filters: Filters) -> tuple[date | None, date | None]:
    """(month whose running totals end the period, month whose totals are subtracted); the end
    is None when the period ends before the data starts or starts after it ends."""
    return _bounds(eng, filters.start, filters.end)


def _bounds(eng, start: date | None, end: date | None) -> tuple[date | None, date | None]:
    last = last_month(eng)
    if last is None:
        return None, None
    end = min(end, last) if end else last
    if start and start > end:
        return None, None
    return end, (add_months(start, -1) if start else None)


def customer_mask(eng, filters: Filters) -> np.ndarray:
    """Per customer key (``ck - 1``): True when the customer passes the dimension, customer and
    tier filters (the period does not restrict who)."""
    r = eng.columns
    keep = r.mask(filters.dimension_values(), filters.customer_ids)
    if keep is None:
        keep = np.ones(r.keys.n, dtype=bool)
    within = None
    if filters.scope is not None:
        within = r.mask({}, filters.scope)
        keep = keep & within
    if filters.tiers:
        start, end = filters.tier_period or (filters.start, filters.end)
        codes = r.tiers(*_bounds(eng, start, end), filters.tier_cutoffs, within=within)
        keep = keep & np.isin(codes, [TIER_CODES[t] for t in filters.tiers])
    return keep


def tier_codes(eng, start: date | None, end: date | None,
               cutoffs: tuple[float, float] = pareto.ABC_CUTOFFS_DEFAULT) -> np.ndarray:
    """ABC tier per customer key by revenue over the months ``start``-``end`` (0 = no order
    then, then TIER_CODES): ``pareto.abc_codes``'s rule (``MonthColumns.tiers``)."""
    return eng.columns.tiers(*_bounds(eng, start, end), cutoffs)


PERIOD_CUSTOMER_COLUMNS = (*MONEY_COLUMNS, *COUNT_COLUMNS, "active_months")


def _customer_rows(r, end: date | None, before: date | None, idx: np.ndarray) -> dict:
    """ck, customer_id, the PERIOD_CUSTOMER_COLUMNS, first_order_date and last_order_date (NaT
    without an order in the period) of the customers at positions ``idx`` (``ck - 1``), in that
    order. Made once per period (``_period_facts``): the month columns are read, not kept."""
    p = r.period(end, before, *PERIOD_CUSTOMER_COLUMNS, idx=idx, hold=False)
    ordered = p["orders"] > 0
    e = r.at(end, "last_order", hold=False)["last_order"][idx]
    b = r.at(before, "first_after", "rows", hold=False)
    first = np.where(b["rows"][idx] > 0, b["first_after"][idx], r.keys.first_order[idx])
    return {"ck": idx + 1, "customer_id": r.keys.ids.take(idx),
            **{c: p[c] for c in PERIOD_CUSTOMER_COLUMNS},
            "first_order_date": columns.to_datetime64(np.where(ordered, first, columns.NO_DATE)),
            "last_order_date": columns.to_datetime64(np.where(ordered, e, columns.NO_DATE))}


def customer_facts(eng, filters: Filters, attributes: bool = True) -> pd.DataFrame:
    """One row per customer with any order or cost-to-serve in the filtered period.

    Columns: ck (the customer key, numbered in customer_id order: ``analytics.pareto`` breaks
    ties by it instead of comparing the id strings), customer_id, revenue, cost, gross_profit,
    discount, returns, cost_to_serve, account_profit, orders, order_days, lines,
    active_months, first_order_date, last_order_date, place_revenue, place_gross_profit,
    place_account_profit (the customer's place in the period's order of every customer by
    that value, descending, ties by id: ``pareto.order_by`` ranks by it without a sort), plus
    (when ``attributes``) name, name_zh, customer_type, sector, region, city, account_manager,
    parent_id, as categoricals (compare and group them as strings; ``i18n.customer_names``
    gives the names to show).
    ``active_months`` counts months with an order. The customers with an order in the period
    come first, then those with cost-to-serve alone; each part by revenue descending, ties by
    customer_id. Read from the running totals (``_customer_rows``); the tests check it
    against customer_month and plain pandas.
    """
    end, before = _period_bounds(eng, filters)
    every, combo = _period_facts(eng, end, before)
    keep = _selector(eng, filters)(lambda: every["ck"].to_numpy() - 1, combo)
    if keep is None:
        out = every.copy(deep=False)  # copy-on-write: what the caller does never reaches the held frame
    else:
        out = every[keep].reset_index(drop=True)
    return out if attributes else out.drop(columns=list(ATTRIBUTE_COLUMNS))


def _selector(eng, filters: Filters):
    """``select(positions, combo)``: per row of something held (``positions()``: the rows'
    customer positions, ``ck - 1``; ``combo``: their ``columns.combo_codes``), True when the
    customer passes the filters; None when nothing restricts. Dimension filters alone select by
    combination (a lookup in a table of a few hundred entries, where a mask with an entry per
    customer is read in random order)."""
    if not filters.restricts_customers():
        return lambda positions, combo: None
    if not filters.names_customers():
        table = eng.columns.combo_mask(filters.dimension_values())
        return lambda positions, combo: table.take(combo)  # 2x faster than table[combo]
    keep = customer_mask(eng, filters)
    return lambda positions, combo: keep[positions()]


def _period_facts(eng, end: date | None, before: date | None) -> tuple[pd.DataFrame, np.ndarray]:
    """(``customer_facts`` of every customer, each row's ``columns.combo_codes``), held per
    period (they depend on the data alone): a filter change selects rows, in order, instead of
    working out 14 columns for every customer and ranking them again."""
    r = eng.columns

    def make():
        # the month columns are read but not kept (only the frame is): kept, they would push
        # out the frames of the other periods a user switches between
        idx = np.flatnonzero(r.period(end, before, "rows", hold=False)["rows"] > 0)  # key order: gathers in memory order
        cols = _customer_rows(r, end, before, idx)
        cols.update({f"place_{v}": r.places(end, before, v)[idx] for v in pareto.VALUE_COLUMNS})
        order = pareto.in_place_order(cols["place_revenue"])
        # the customers with an order first (still in revenue order): revenue's and gross
        # profit's population is then a slice of the frame (``pareto.population``), not a copy
        has = cols["orders"][order] > 0
        order = np.concatenate([order[has], order[~has]])
        # each column put in revenue order on its own: the frame is built once, not copied
        # again by a take (300 MB at 100M order lines)
        for c in list(cols):
            cols[c] = cols[c].take(order)
        idx = idx[order]
        codes = attribute_codes(eng)
        cols.update({c: codes[c].take(idx) for c in ATTRIBUTE_COLUMNS})
        return pd.DataFrame(cols), r.combo_codes(idx)
    return r.derived(("facts", end, before), make)


def _periods(filters: Filters, periods: int) -> list[Filters]:
    ranges = [filters]
    for _ in range(periods - 1):
        ranges.append(ranges[-1].previous())
    return ranges


def period_values(eng, filters: Filters, periods: int, cols=("revenue", "gross_profit",
                   "account_profit")) -> list[dict[str, np.ndarray]]:
    """Per period (0 = the filtered one, 1 = the one before, ...): ``idx``, the positions of
    the customers with any activity then that pass the customer filters (ascending), ``cols``
    and ``orders`` for them, and ``active`` (an order then) over every customer key."""
    r = eng.columns
    keep = customer_mask(eng, filters) if filters.restricts_customers() else None
    out = []
    for f in _periods(filters, periods):
        idx, orders, *values = _active_rows(r, *_period_bounds(eng, f), tuple(cols))
        if keep is not None:
            # the rows' numbers once, then takes: compressing each array by a mask in random
            # order costs a mispredicted branch per row
            rows = np.flatnonzero(keep[idx])
            idx, orders, values = idx.take(rows), orders.take(rows), [v.take(rows) for v in values]
        p = {"idx": idx, "orders": orders, **dict(zip(cols, values))}
        p["active"] = np.zeros(r.keys.n, dtype=bool)
        p["active"][idx[orders > 0]] = True
        out.append(p)
    return out


def _active_rows(r, end: date | None, before: date | None, cols: tuple[str, ...]) -> tuple:
    """(positions of the customers with any activity in the months after ``before`` up to
    ``end``, ascending; their orders; their ``cols``), held per period and columns (they depend
    on the data alone): a filter change selects from them. Read-only: a caller that writes into
    one gets an error instead of changing what the next caller reads."""
    def make():
        # every column in one read per month (two reads, not four: a cold start's first chart
        # waits for them)
        p = r.period(end, before, "rows", "orders", *(c for c in cols if c not in ("rows", "orders")), hold=False)
        idx = np.flatnonzero(p["rows"] > 0)
        out = (idx, p["orders"][idx], *(p[c][idx] for c in cols))
        for a in out:
            a.flags.writeable = False
        return out
    return r.derived(("active rows", end, before, cols), make)


def period_summary(eng, filters: Filters, periods: int = 3,
                   top_p: float = pareto.TOP_SHARE_DEFAULT) -> pd.DataFrame:
    """KPI totals of the period and the ``periods - 1`` periods before it.

    One row per period (0 = the filtered period, 1 = the one before, ...): revenue,
    gross_profit, account_profit, active_customers (with an order), top_share (revenue share of
    the first ceil(top_p * N) active customers by revenue), lost_customers (active in the period
    after it in the list, i.e. the older one, and not in this one; NaN for the oldest). The
    tests check it by hand and against plain pandas from the order lines.
    """
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    per = period_values(eng, filters, periods)
    rows = []
    for i, p in enumerate(per):
        act = p["revenue"][p["orders"] > 0]
        rows.append({
            "period": i,
            **{c: float(p[c].sum()) for c in ("revenue", "gross_profit", "account_profit")},
            "active_customers": float(len(act)),
            "lost_customers": (float(np.count_nonzero(per[i + 1]["active"] & ~p["active"]))
                               if i + 1 < periods else float("nan")),
            "top_share": pareto.top_share(act, top_p),
        })
    return pd.DataFrame(rows, columns=["period", "revenue", "gross_profit", "account_profit",
                                       "active_customers", "lost_customers", "top_share"])


def top_customers(eng, filters: Filters, n: int = 10, by: str = "revenue") -> pd.DataFrame:
    """The ``n`` largest customers of the period by ``by`` (ties by customer_id), with their
    revenue in the previous period (``previous_revenue``, NaN when none) and their attributes;
    columns: customer_id, revenue, gross_profit, account_profit, orders, previous_revenue, then
    ATTRIBUTE_COLUMNS."""
    if by not in ("revenue", "gross_profit", "account_profit"):
        raise ValueError(f"cannot rank customers by {by!r}")
    cur, prev = period_values(eng, filters, 2)
    top = columns.order_desc(cur[by], limit=int(n))
    idx = cur["idx"][top]
    at = np.minimum(np.searchsorted(prev["idx"], idx), max(len(prev["idx"]) - 1, 0))
    had = (prev["idx"][at] == idx) if len(prev["idx"]) else np.zeros(len(idx), dtype=bool)
    df = pd.DataFrame({"customer_id": eng.columns.keys.customer_id[idx],
                       **{c: cur[c][top] for c in ("revenue", "gross_profit", "account_profit", "orders")},
                       "previous_revenue": np.where(had, prev["revenue"][at] if len(prev["idx"]) else np.nan,
                                                    np.nan)})
    return pd.concat([df, attributes_of(eng, df["customer_id"].tolist())], axis=1)


MONTHLY_COLUMNS = ("revenue", "cost", "gross_profit", "cost_to_serve", "account_profit", "orders")


def monthly_totals(eng, filters: Filters) -> pd.DataFrame:
    """One row per month of the period: month, revenue, cost, gross_profit, cost_to_serve,
    account_profit, orders, active_customers (customers with an order that month).

    Added up from month_cube (per month and combination of dimensions, held in memory: a few
    thousand rows) unless the filters name customers or tiers, which only customer_month can
    answer."""
    if not filters.names_customers():
        cube = eng.columns.month_cube()
        keep = np.ones(len(cube), dtype=bool)
        if filters.start:
            keep &= (cube["month"] >= pd.Timestamp(filters.start)).to_numpy()
        if filters.end:
            keep &= (cube["month"] <= pd.Timestamp(filters.end)).to_numpy()
        for col, values in filters.dimension_values().items():
            if values:
                keep &= cube[col].isin(values).to_numpy()
        df = cube[keep].groupby("month", sort=True)[[*MONTHLY_COLUMNS, "active_customers"]].sum()
        df = df.reset_index()
    else:
        # customers named one by one (list, tiers, scope): the trend per customer is held nowhere
        cm = apply_filters(eng.ibis.table("customer_month"), filters,
                           customers_table(eng, customer_mask(eng, filters)))
        df = to_frame(cm.group_by("month").aggregate(
            **{c: cm[c].sum() for c in MONTHLY_COLUMNS}, active_customers=(cm.orders > 0).sum(),
        ).order_by("month"))
    df["orders"] = df["orders"].astype("int64")
    df["active_customers"] = df["active_customers"].astype("int64")
    return df[["month", *MONTHLY_COLUMNS, "active_customers"]]


GRAINS = {"quarter": ("Q", 3), "year": ("Y", 12)}


def concentration_over_time(eng, filters: Filters, value: str, grain: str = "quarter",
                            p: float = pareto.TOP_SHARE_DEFAULT) -> pd.DataFrame:
    """Gini and top-``p`` share of ``value`` per calendar quarter (or year) of the filtered
    months: ``analytics.pareto.over_time`` of a row per customer and quarter (the tests compare
    the two) without a row per customer and quarter. Each quarter's population (every customer
    with activity for account profit, with an order otherwise, as ``pareto.population``) is
    held sorted by value in memory, so a filter change only selects from it.
    Columns: period, complete, customers, total, gini, top_share."""
    if value not in ("revenue", "gross_profit", "account_profit"):
        raise ValueError(f"cannot measure the concentration of {value!r}")
    if not 0 < p <= 1:
        raise ValueError(f"p must be in (0, 1], got {p}")
    _, months = GRAINS[grain]
    cols = ["period", "complete", "customers", "total", "gini", "top_share"]
    r = eng.columns
    first, last = r.extent()
    if first is None:
        return pd.DataFrame(columns=cols)
    population = "rows" if value == "account_profit" else "orders"
    select = _selector(eng, filters)
    last_start = add_months(last, -(months - 1))
    rows = []
    q = date(first.year, (first.month - 1) // months * months + 1, 1)
    while q <= last:
        lo = max(q, filters.start) if filters.start else q
        hi = min(add_months(q, months - 1), filters.end or last, last)
        if lo <= hi:
            v, pos, combo = r.sorted_values(hi, add_months(lo, -1), value, population)
            keep = select(lambda: pos, combo)
            if keep is not None:
                v = np.compress(keep, v)  # faster than v[keep] on a mask in random order
            if len(v):
                # no BLAS dot here: with other processes on the cores, OpenBLAS's threads make a
                # short dot many times slower
                g, top = pareto.gini_top_sorted(v, p)
                rows.append({"period": pd.Timestamp(q), "complete": first <= q <= last_start,
                             "customers": len(v), "total": float(v.sum()), "gini": g, "top_share": top})
        q = add_months(q, months)
    df = pd.DataFrame(rows, columns=cols)
    df["customers"] = df["customers"].astype("int64")
    df["complete"] = df["complete"].astype(bool)
    return df
