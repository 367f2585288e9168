"""Opening the databases, creating and checking their schema, and atomic rebuilds.

Sales data is never modified in place: ``build_sales_db`` writes a complete new database next
to the target and renames it over the old one only after everything (load, derived tables,
checks) succeeded. Readers that still hold the old file keep a consistent view; a failure
leaves the current file byte-identical.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable, Iterator

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kamdash import config, schema


class StoreError(Exception):
    """A database problem described for a person (what is wrong, where, what to do)."""


@dataclass(frozen=True)
class DatabaseStatus:
    """Result of checking the sales database before the app uses it.

    ``problem`` is None when the database can be used, else one of ``missing``, ``corrupt``,
    ``locked`` (another program has it open for writing), ``not_kamdash``, ``newer_version``,
    ``older_version``, ``empty``. ``detail`` carries the
    underlying message for the expert.
    """

    path: str
    problem: str | None = None
    detail: str = ""
    found_version: int | None = None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _connect(path: Path | str, read_only: bool) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(path), read_only=read_only)


def read_meta(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    return dict(con.execute("SELECT key, value FROM meta").fetchall())


def check_sales_db(path: Path | str) -> DatabaseStatus:
    """Check that ``path`` is a kamdash sales database of the version this code reads."""
    p = Path(path)
    if not p.exists():
        return DatabaseStatus(str(p), "missing")
    try:
        con = _connect(p, read_only=True)
    except duckdb.Error as exc:  # not a DuckDB file, truncated, wrong storage version, locked
        detail = str(exc).splitlines()[0]
        return DatabaseStatus(str(p), "locked" if is_lock_error(exc) else "corrupt", detail)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if "meta" not in tables:
            return DatabaseStatus(str(p), "not_kamdash", "no meta table")
        meta = read_meta(con)
        if meta.get("kind") != schema.SALES_KIND:
            return DatabaseStatus(str(p), "not_kamdash", f"kind={meta.get('kind')!r}")
        version = int(meta.get("schema_version", "0"))
        if version > schema.SALES_SCHEMA_VERSION:
            return DatabaseStatus(str(p), "newer_version", "", version)
        if version < schema.SALES_SCHEMA_VERSION:
            return DatabaseStatus(str(p), "older_version", "", version)
        missing = [t for t in (*schema.SALES_TABLES, *schema.DERIVED_TABLES) if t not in tables]
        if missing:
            return DatabaseStatus(str(p), "corrupt", "missing tables: " + ", ".join(missing))
        if meta.get("lines_at") == "source":  # the order lines stay in a company source
            n = int(meta.get("order_lines") or 0)
        else:
            n = con.execute("SELECT count(*) FROM order_lines").fetchall()[0][0]
        if n == 0:
            return DatabaseStatus(str(p), "empty", "", version)
        return DatabaseStatus(str(p), None, "", version)
    except (duckdb.Error, ValueError) as exc:
        return DatabaseStatus(str(p), "corrupt", str(exc).splitlines()[0])
    finally:
        con.close()


def is_lock_error(exc: BaseException) -> bool:
    """True when DuckDB refused a file because another process holds it open for writing."""
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def create_sales_schema(con: duckdb.DuckDBPyConnection) -> None:
    for name, cols in schema.SALES_TABLES.items():
        con.execute(schema.create_table_sql(name, cols))


# customer_month's columns as Arrow types (the types the SQL derive gives them)
CUSTOMER_MONTH_SCHEMA = pa.schema(
    [(c, pa.string()) for c in ("customer_id",)] + [("month", pa.date32())]
    + [(c, pa.string()) for c in schema.DIMENSIONS]
    + [(c, pa.float64()) for c in ("revenue", "cost", "gross_profit", "discount", "returns",
                                   "cost_to_serve", "account_profit")]
    + [(c, pa.int64()) for c in ("orders", "order_days", "lines")]
    + [(c, pa.date32()) for c in ("first_order_date", "last_order_date")])
assert tuple(CUSTOMER_MONTH_SCHEMA.names) == schema.CUSTOMER_MONTH_COLUMNS


@dataclass(frozen=True)
class StagedMonths:
    """customer_month handed to ``derive`` by a fill that has the totals per customer and month
    at hand (the demo generator): a fill returns one of these instead of None.

    ``months()`` yields one Arrow table per calendar month, months ascending, each with the
    columns of ``CUSTOMER_MONTH_SCHEMA`` and its rows in customer_id order: customer_month is
    written from the stream as it comes, without a join or a sort. ``close()`` frees whatever
    holds the months (called by ``build_sales_db`` once derive is done, also on error).
    """

    months: Callable[[], Iterator[pa.Table]]
    close: Callable[[], None] = lambda: None
    # optional, for customer_cum: every customer_id of the customers table, ascending (so the
    # customer key ``ck`` of customer_ids[i] is i + 1), and the months again without strings:
    # "key" (that index i) instead of customer_id, the numeric and date columns of
    # customer_month, and "month". Used only when customer_key numbers exactly these ids.
    customer_ids: pa.Array | pa.ChunkedArray | None = None
    keyed_months: Callable[[], Iterator[pa.Table]] | None = None


ROW_GROUP_ROWS = 122_880  # DuckDB's rows per row group


def _row_groups(tables: Iterator[pa.Table]) -> Iterator[pa.RecordBatch]:
    """The rows of ``tables`` in record batches of exactly one DuckDB row group each (the last
    one shorter). A CREATE TABLE AS from an Arrow stream writes each batch to its own row
    groups: batches of other sizes (a month each) leave row groups part full, and the next
    checkpoint writes the whole table again to merge them (8 CPU-s for customer_month at 10M
    order lines)."""
    held: list[pa.Table] = []
    n = 0
    for t in tables:
        held.append(t)
        n += len(t)
        if n >= ROW_GROUP_ROWS:
            rest = pa.concat_tables(held).combine_chunks()
            full = len(rest) - len(rest) % ROW_GROUP_ROWS
            yield from rest.slice(0, full).to_batches(max_chunksize=ROW_GROUP_ROWS)
            held, n = [rest.slice(full)], len(rest) - full
    if n:
        yield from pa.concat_tables(held).combine_chunks().to_batches(max_chunksize=ROW_GROUP_ROWS)


def _customer_month_from(con: duckdb.DuckDBPyConnection, staged: StagedMonths) -> None:
    """customer_month written by one CREATE TABLE AS from the fill's stream of months. The
    stream is checked as it passes: months ascending, customer_ids strictly ascending within
    a month (so (customer_id, month) is unique and the physical order is (month, customer_id),
    as the SQL derive writes it); the totals are checked against the source tables by
    ``build_sales_db``."""
    problems: list[str] = []

    def months():
        last_month = None
        for t in staged.months():
            t = t.select(CUSTOMER_MONTH_SCHEMA.names).cast(CUSTOMER_MONTH_SCHEMA)
            if not len(t):
                continue
            lo, hi = pc.min_max(t["month"]).values()
            ids = t["customer_id"]
            if (lo != hi or (last_month is not None and lo.as_py() <= last_month)
                    or ids.null_count
                    or (len(t) > 1 and not pc.all(pc.less(ids.slice(0, len(t) - 1), ids.slice(1))).as_py())):
                problems.append("the staged customer months are not in (month, customer_id) order")
                return
            last_month = lo.as_py()
            yield t

    con.register("customer_month_rows", pa.RecordBatchReader.from_batches(
        CUSTOMER_MONTH_SCHEMA, _row_groups(months())))
    try:
        con.execute("CREATE TABLE customer_month AS SELECT * FROM customer_month_rows")
    finally:
        con.unregister("customer_month_rows")
    if problems:
        raise StoreError("; ".join(problems))


def _customer_month_sql(months: str) -> str:
    """customer_month from per customer-month totals ``months`` (a CTE)."""
    return f"""
        SELECT m.customer_id, m.month,
               cu.region, cu.customer_type, cu.sector, cu.account_manager,
               m.revenue, m.cost, m.revenue - m.cost AS gross_profit, m.discount, m.returns,
               m.cost_to_serve, m.revenue - m.cost - m.cost_to_serve AS account_profit,
               m.orders, m.order_days, m.lines, m.first_order_date, m.last_order_date
        FROM {months} m LEFT JOIN customers cu USING (customer_id)
        ORDER BY m.month, m.customer_id
        """


@dataclass(frozen=True)
class Aggregated:
    """What a fill returns when the order lines stay where they live (a company source whose
    engine added them up): ``table`` names a table of the fresh database holding the order
    totals per customer and calendar month (the columns of ``ORDER_MONTH_SCHEMA``), and
    ``totals`` the source's own grand totals (``lines``, ``revenue``, ``cost``, ``discount``,
    ``returns``) that customer_month must add up to. The database then holds no order lines:
    its meta says so (``lines_at`` = ``source``) and counts them (``order_lines``)."""

    table: str
    totals: dict
    meta: dict = field(default_factory=dict)


# Order totals per customer and calendar month: what the SQL derive adds up from order_lines
# and what a company source's engine computes (kamdash.ingest.sources.order_month).
ORDER_MONTH_SCHEMA = pa.schema(
    [("customer_id", pa.string()), ("month", pa.date32())]
    + [(c, pa.float64()) for c in ("revenue", "cost", "discount", "returns")]
    + [(c, pa.int64()) for c in ("orders", "order_days", "lines")]
    + [(c, pa.date32()) for c in ("first_order_date", "last_order_date")])

# The same totals from order_lines. Distinct counts without ``count(DISTINCT ...)``: see derive.
_ORDER_MONTH_FROM_LINES = """
        per_order AS (
            SELECT customer_id,
                   date_trunc('month', order_date)::DATE AS month,
                   order_id,
                   sum(revenue) AS revenue,
                   sum(coalesce(cost, 0)) AS cost,
                   sum(coalesce(discount, 0)) AS discount,
                   sum(CASE WHEN revenue < 0 THEN -revenue ELSE 0 END) AS returns,
                   bit_or(1::BIGINT << (day(order_date) - 1)) AS days,
                   count(*) AS lines,
                   min(order_date) AS first_order_date,
                   max(order_date) AS last_order_date
            FROM order_lines
            GROUP BY ALL
        ), o AS (
            SELECT customer_id, month,
                   sum(revenue) AS revenue,
                   sum(cost) AS cost,
                   sum(discount) AS discount,
                   sum(returns) AS returns,
                   count(order_id) AS orders,
                   bit_count(bit_or(days))::BIGINT AS order_days,
                   sum(lines)::BIGINT AS lines,
                   min(first_order_date) AS first_order_date,
                   max(last_order_date) AS last_order_date
            FROM per_order
            GROUP BY ALL
        )"""


def derive(con: duckdb.DuckDBPyConnection, staged: StagedMonths | None = None,
           order_month: str | None = None, since: date | None = None) -> None:
    """Build the derived tables from the source tables (run once per load).

    customer_month joins orders and cost-to-serve per customer and calendar month, with
    customer attributes copied in, so that every filter change reads this small table and never
    rescans order lines.

    Distinct counts without ``count(DISTINCT ...)`` (which DuckDB runs as one more aggregate
    and join per distinct column, the slowest part of a build): lines are first added up per
    order (``per_order``), so ``orders`` is a plain count of its rows (order_id is never NULL;
    ``count(order_id)`` would skip one that was); ``order_days`` counts the bits of a mask
    with one bit per day of the month, exact because every date of a customer-month group lies
    in that month.

    ``staged``: the fill handed over customer_month month by month (the demo, see
    ``StagedMonths``); it is written as it comes, and the checks of ``build_sales_db`` compare
    its revenue, cost, discounts, returns, lines and cost-to-serve with the source tables.

    ``order_month``: a table of order totals per customer and month (``ORDER_MONTH_SCHEMA``,
    computed where the order lines live) read instead of order_lines; cost-to-serve, the
    customer attributes and everything after are derived here exactly as for order lines.

    ``since`` (a month's first day; with ``order_month``, on a database built before with the
    same customers): only the months from ``since`` on changed. customer_month's rows of those
    months and customer_cum's are written again (``derive_cumulative``), the earlier rows are
    kept; the small derived tables are built again whole.
    """
    if since is not None:
        con.execute("DELETE FROM customer_month WHERE month >= ?", [since])
        con.execute(f"INSERT INTO customer_month {_customer_month_select(order_month, since)}")
        derive_cumulative(con, since=since)
        return
    con.execute("DROP TABLE IF EXISTS customer_month")
    if staged is not None:
        _customer_month_from(con, staged)
        derive_cumulative(con, staged)
        return
    con.execute(f"CREATE TABLE customer_month AS {_customer_month_select(order_month)}")
    derive_cumulative(con)


def _customer_month_select(order_month: str | None, since: date | None = None) -> str:
    """The query of customer_month's rows (of the months from ``since`` on, when given: a
    date of ours, written as a literal) from order_lines or the table ``order_month``."""
    orders = (_ORDER_MONTH_FROM_LINES if order_month is None else
              f"o AS (SELECT * FROM {order_month})")  # a table name of ours, never user text
    cts = "cost_to_serve"
    if since is not None:
        assert order_month is not None, "a partial build reads the order totals table"
        day = f"DATE '{since.isoformat()}'"  # a date object's own text, never user text
        orders = f"o AS (SELECT * FROM {order_month} WHERE month >= {day})"
        cts = f"(SELECT * FROM cost_to_serve WHERE date_trunc('month', month) >= {day})"
    return (
        """
        WITH """ + orders + """, c AS (
            SELECT customer_id, date_trunc('month', month)::DATE AS month,
                   sum(amount) AS cost_to_serve
            FROM """ + cts + """
            GROUP BY ALL
        ), m AS (
            SELECT coalesce(o.customer_id, c.customer_id) AS customer_id,
                   coalesce(o.month, c.month) AS month,
                   coalesce(o.revenue, 0) AS revenue,
                   coalesce(o.cost, 0) AS cost,
                   coalesce(o.discount, 0) AS discount,
                   coalesce(o.returns, 0) AS returns,
                   coalesce(c.cost_to_serve, 0) AS cost_to_serve,
                   coalesce(o.orders, 0) AS orders,
                   coalesce(o.order_days, 0) AS order_days,
                   coalesce(o.lines, 0) AS lines,
                   o.first_order_date, o.last_order_date
            FROM o FULL OUTER JOIN c USING (customer_id, month)
        )
        """ + _customer_month_sql("m"))


def derive_cumulative(con: duckdb.DuckDBPyConnection, staged: StagedMonths | None = None,
                      since: date | None = None) -> None:
    """customer_key and customer_cum: running totals so that any period is two row reads.

    ``customer_key`` numbers every customer (``ck``, in customer_id order) with the filter
    dimensions and its first order date. ``customer_cum`` holds, for each customer and every
    month from its first month in customer_month to the last month of the data, the totals of
    customer_month *up to and including* that month (``rows`` counts customer_month rows, so
    "any activity in a period" is a difference of it too), ``last_order`` (latest order date
    so far) and ``first_after`` (earliest order date in a later month). A period's facts are
    then the row at its last month minus the row at the month before it starts: the filter
    change reads two months of rows however long the history is. Sorted by month so that
    DuckDB's zone maps skip every other month.

    ``since``: customer_month changed from that month on only, and the customers are those
    customer_key numbered before (so ``ck`` is the same); customer_cum's rows of the months
    from ``since`` on are written again from the running totals of the month before, the
    earlier rows are kept (but their ``first_after``, see ``_customer_cum``).
    """
    if since is None:
        con.execute("DROP TABLE IF EXISTS customer_cum")
    con.execute("DROP TABLE IF EXISTS customer_key")
    con.execute("DROP TABLE IF EXISTS month_cube")
    # month_cube: customer_month added up per month and combination of the filter dimensions;
    # every customer has one combination, so counts of customers add up too. The monthly trend
    # under dimension filters reads this (thousands of rows) instead of customer_month.
    con.execute(
        """
        CREATE TABLE month_cube AS
        SELECT month, region, customer_type, sector, account_manager,
               sum(revenue) AS revenue, sum(cost) AS cost, sum(gross_profit) AS gross_profit,
               sum(cost_to_serve) AS cost_to_serve, sum(account_profit) AS account_profit,
               sum(orders) AS orders, count(*) FILTER (WHERE orders > 0) AS active_customers
        FROM customer_month
        GROUP BY ALL
        ORDER BY month
        """
    )
    con.execute(
        """
        CREATE TABLE customer_key AS
        SELECT (row_number() OVER (ORDER BY c.customer_id))::INTEGER AS ck, c.customer_id,
               c.region, c.customer_type, c.sector, c.account_manager, f.first_order
        FROM customers c
        LEFT JOIN (SELECT customer_id, min(first_order_date) AS first_order
                   FROM customer_month GROUP BY customer_id) f USING (customer_id)
        ORDER BY ck
        """
    )
    _customer_cum(con, staged, since)


NO_DATE = np.iinfo(np.int32).min  # a missing date, as days since 1970
CUM_SCHEMA = pa.schema([("ck", pa.int32()), ("month", pa.date32())]
                       + [(c, pa.int64() if c in schema.CUMULATIVE_COUNTS else pa.float64()) for c in schema.CUMULATIVE_COLUMNS]
                       + [("last_order", pa.date32()), ("first_after", pa.date32())])


def date_days(col) -> np.ndarray:
    """A DATE column (Arrow) as int32 days since 1970, NO_DATE where missing."""
    return pc.fill_null(col.cast(pa.date32()).cast(pa.int32()), NO_DATE).to_numpy().astype(np.int32)


# pyarrow's own conversions between Arrow and numpy (to_numpy, pa.array, compute functions)
# import pandas on first use, most of a CPU-second that an import (which has no other use for
# pandas) would spend on it: the running totals read and write their buffers directly.
_NUMPY_TYPES = {pa.int32(): np.int32, pa.int64(): np.int64, pa.float64(): np.float64,
                pa.date32(): np.int32}


def _numpy(col, fill=0) -> np.ndarray:
    """A fixed-width Arrow column (Array or ChunkedArray) as numpy, ``fill`` where missing;
    a DATE column as int32 days since 1970."""
    dtype = _NUMPY_TYPES.get(col.type)
    chunks = col.chunks if isinstance(col, pa.ChunkedArray) else [col]
    if dtype is None or col.null_count:
        if col.type == pa.date32():
            return date_days(col)
        return pc.fill_null(col, fill).to_numpy()
    parts = [np.frombuffer(c.buffers()[1], dtype=dtype, count=len(c), offset=c.offset * np.dtype(dtype).itemsize)
             for c in chunks if len(c)]
    if not parts:
        return np.zeros(0, dtype=dtype)
    return np.concatenate(parts) if len(parts) > 1 else parts[0]  # read-only: never written


def _arrow(values: np.ndarray, type_: pa.DataType, valid: np.ndarray | None = None) -> pa.Array:
    """A numpy array as an Arrow array of ``type_`` (``valid``: False where missing)."""
    values = np.ascontiguousarray(values, dtype=_NUMPY_TYPES[type_])
    bits = None
    if valid is not None and not valid.all():
        bits = pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.Array.from_buffers(type_, len(values), [bits, pa.py_buffer(values)])


def _month_index(col: str, base: int) -> str:
    return f"(year({col}) * 12 + month({col}) - 1 - {int(base)})::INTEGER"


def _keys_match(con: duckdb.DuckDBPyConnection, staged: StagedMonths) -> bool:
    """Whether customer_key numbers exactly the fill's ``customer_ids`` (ck = index + 1)."""
    if staged.keyed_months is None or staged.customer_ids is None:
        return False
    ids = con.sql("SELECT customer_id FROM customer_key ORDER BY ck").to_arrow_table()["customer_id"]
    want = staged.customer_ids
    if isinstance(want, pa.ChunkedArray):
        want = want.combine_chunks()
    return ids.combine_chunks().equals(want.cast(pa.string()))


def _month_table(parts: list[pa.Table], schema_: pa.Schema) -> pa.Table:
    """The slices of one month's rows as one table (an empty one for a month without rows)."""
    return pa.concat_tables(parts) if parts else pa.Table.from_batches([], schema=schema_)


def _customer_cum(con: duckdb.DuckDBPyConnection, staged: StagedMonths | None = None,
                  since: date | None = None) -> None:
    """customer_cum in one pass over the months (see ``derive_cumulative``).

    Running totals per customer key are numpy arrays: for each month, the customer_month rows
    of that month are added in and one row per customer whose first month has passed is
    written, so the table comes out in (month, ck) order without sorting it, and no window
    function runs over the dense customer x month grid. Memory: the running totals (~100 bytes
    per customer), one month of rows, and the rows with an order (12 bytes each).
    ``first_after`` (earliest order date in a later month) comes from one backward pass over
    the rows with an order: for each such row, the first order date of the customer's next
    month with an order.

    The rows of each month come from customer_month joined to customer_key, or, when the fill
    handed over its months with keys (``StagedMonths.keyed_months``) for exactly the customers
    customer_key numbers, from that stream (read twice: first months and first order dates,
    then the months), without a join or a query per month.

    ``since``: the rows of the months from ``since`` on are written again, starting from the
    running totals and last order dates of the row of the month before; the earlier rows keep
    everything but ``first_after`` where it lay in those months or was missing (the next order
    after them may have changed): it becomes the customer's first order date from ``since`` on.
    """
    lo, hi = con.execute("SELECT min(month), max(month) FROM customer_month").fetchall()[0]
    if since is not None:
        assert staged is None and lo is not None, "a partial build reads customer_month"
    if lo is None:
        con.register("customer_cum_rows", CUM_SCHEMA.empty_table())
        con.execute("CREATE TABLE customer_cum AS SELECT * FROM customer_cum_rows")
        con.unregister("customer_cum_rows")
        return
    base = lo.year * 12 + lo.month - 1
    n_months = hi.year * 12 + hi.month - 1 - base + 1
    start = 0 if since is None else max(0, since.year * 12 + since.month - 1 - base)
    n = con.execute("SELECT count(*) FROM customer_key").fetchall()[0][0]
    join = "FROM customer_month cm JOIN customer_key k USING (customer_id)"

    stored = [c for c in schema.CUMULATIVE_COLUMNS if c not in ("rows", "active_months")]
    month0 = np.datetime64(lo, "M")
    first_month = np.full(n + 1, n_months, dtype=np.int32)  # indexed by ck; n_months: never
    keyed = staged.keyed_months if staged is not None and _keys_match(con, staged) else None
    reader = con.cursor()  # the months are read while the table is being written

    def month_of(t: pa.Table) -> int:
        return int((np.datetime64(t["month"][0].as_py(), "M") - month0).astype(np.int64))

    if keyed is None:
        t = con.sql(f"SELECT k.ck, {_month_index('min(cm.month)', base)} AS m {join} "
                    "GROUP BY k.ck").fetchnumpy()
        first_month[t["ck"]] = t["m"]
        from_month = lo if since is None else since
        t = con.sql(f"SELECT k.ck, {_month_index('cm.month', base)} AS m, "
                    f"(cm.first_order_date - DATE '1970-01-01')::INTEGER AS d "
                    f"{join} WHERE cm.first_order_date IS NOT NULL AND cm.month >= ?",
                    params=[from_month]).fetchnumpy()
        f_ck, f_m, f_day = t["ck"], t["m"], t["d"]
        del t

        def month_rows():
            # one query streamed in month order (a query per month built the join's hash
            # table once per month), cut into months as it comes
            batches = reader.sql(
                f"SELECT {_month_index('cm.month', base)} AS _m, k.ck, "
                f"{', '.join(f'coalesce(cm.{c}, 0) AS {c}' for c in stored)}, "
                f"coalesce((cm.last_order_date - DATE '1970-01-01')::INTEGER, {NO_DATE}) AS last_order_date "
                f"{join} WHERE cm.month >= ? ORDER BY cm.month",
                params=[from_month]).to_arrow_reader(ROW_GROUP_ROWS)
            held: list[pa.Table] = []
            m = start
            for batch in batches:
                t = pa.Table.from_batches([batch])
                ms = _numpy(t["_m"])
                cuts = [0, *(np.flatnonzero(ms[1:] != ms[:-1]) + 1).tolist(), len(t)]
                for a, b in zip(cuts[:-1], cuts[1:]):
                    while m < ms[a]:  # the months before this slice's month are complete
                        yield _month_table(held, batches.schema)
                        held, m = [], m + 1
                    held.append(t.slice(a, b - a))
            while m < n_months:
                yield _month_table(held, batches.schema)
                held, m = [], m + 1
    else:
        parts = []
        for t in keyed():
            if not len(t):
                continue
            m, ck = month_of(t), t["key"].to_numpy().astype(np.int64) + 1
            first_month[ck] = np.minimum(first_month[ck], m)
            has = t["first_order_date"].is_valid()
            parts.append((ck[has.to_numpy(zero_copy_only=False)].astype(np.int32),
                          date_days(t["first_order_date"].filter(has)), m))
        f_ck = np.concatenate([p[0] for p in parts] or [np.zeros(0, np.int32)])
        f_day = np.concatenate([p[1] for p in parts] or [np.zeros(0, np.int32)])
        f_m = np.repeat(np.array([p[2] for p in parts], dtype=np.int32), [len(p[0]) for p in parts])
        del parts

        def month_rows():
            empty = None
            stream = (t for t in keyed() if len(t))
            t = next(stream, None)
            for m in range(n_months):
                if t is not None and month_of(t) == m:
                    yield t.append_column("ck", pc.add(t["key"].cast(pa.int32()), 1))
                    t = next(stream, None)
                else:
                    if empty is None:
                        empty = con.sql(f"SELECT k.ck, {', '.join('cm.' + c for c in stored)}, "
                                        f"cm.last_order_date {join} LIMIT 0").to_arrow_table()
                    yield empty
            if t is not None:
                raise StoreError("the staged customer months do not match customer_month")

    # first_after: for every row with an order, the first order date of the customer's next
    # month with an order (backward pass); ``nxt`` then starts at each customer's first order
    f_order = np.argsort(f_m.astype(np.int16) if n_months < 2**15 else f_m, kind="stable")  # radix sort
    f_bounds = np.searchsorted(f_m[f_order], np.arange(n_months + 1))
    f_next = np.empty(len(f_ck), dtype=np.int32)
    nxt = np.full(n + 1, NO_DATE, dtype=np.int32)
    for m in range(n_months - 1, -1, -1):
        r = f_order[f_bounds[m]:f_bounds[m + 1]]
        f_next[r] = nxt[f_ck[r]]
        nxt[f_ck[r]] = f_day[r]

    run = {c: np.zeros(n + 1, dtype=np.int64 if c in schema.CUMULATIVE_COUNTS else np.float64)
           for c in schema.CUMULATIVE_COLUMNS}
    last = np.full(n + 1, NO_DATE, dtype=np.int32)
    if start:  # the running totals as the month before ``since`` left them
        before = (month0 + np.timedelta64(start - 1, "M")).astype("datetime64[D]").item()
        t = con.sql(f"SELECT ck, {', '.join(schema.CUMULATIVE_COLUMNS)}, last_order FROM customer_cum "
                    "WHERE month = ?", params=[before]).to_arrow_table()
        ck = t["ck"].to_numpy()
        for c in schema.CUMULATIVE_COLUMNS:
            run[c][ck] = t[c].to_numpy()
        last[ck] = date_days(t["last_order"])
        del t

    def months():
        for m, t in zip(range(start, n_months), month_rows()):
            month = (month0 + np.timedelta64(m, "M")).astype("datetime64[D]")
            ck = _numpy(t["ck"])
            for c in stored:
                run[c][ck] += _numpy(t[c])
            run["rows"][ck] += 1
            run["active_months"][ck] += _numpy(t["orders"]) > 0
            last[ck] = np.maximum(last[ck], _numpy(t["last_order_date"], NO_DATE))
            r = f_order[f_bounds[m]:f_bounds[m + 1]]
            nxt[f_ck[r]] = f_next[r]
            keys = np.flatnonzero(first_month <= m)
            day = int(month.astype("datetime64[D]").astype(np.int64))
            out = [_arrow(keys, pa.int32()), _arrow(np.full(len(keys), day), pa.date32())]
            out += [_arrow(run[c][keys], CUM_SCHEMA.field(c).type) for c in schema.CUMULATIVE_COLUMNS]
            out += [_arrow(days, pa.date32(), days != NO_DATE) for days in (last[keys], nxt[keys])]
            yield pa.Table.from_arrays(out, schema=CUM_SCHEMA)

    # written by one CREATE TABLE AS from a stream of months: many INSERTs of the same rows
    # took ~2x the time, and the file grew by a fifth
    con.register("customer_cum_rows", pa.RecordBatchReader.from_batches(CUM_SCHEMA, _row_groups(months())))
    try:
        if since is None:
            con.execute("CREATE TABLE customer_cum AS SELECT * FROM customer_cum_rows")
        else:
            con.execute("DELETE FROM customer_cum WHERE month >= ?", [since])
            con.execute("INSERT INTO customer_cum SELECT * FROM customer_cum_rows")
            # earlier months whose next order lay from ``since`` on (or was missing): the
            # customer's first order date from ``since`` on, or none
            con.execute("UPDATE customer_cum SET first_after = NULL WHERE month < ? AND first_after >= ?",
                        [since, since])
            con.execute(
                f"""UPDATE customer_cum SET first_after = f.first_after
                FROM (SELECT k.ck, min(cm.first_order_date) AS first_after {join}
                      WHERE cm.month >= ? AND cm.first_order_date IS NOT NULL GROUP BY k.ck) f
                WHERE customer_cum.ck = f.ck AND customer_cum.month < ? AND customer_cum.first_after IS NULL""",
                [since, since])
    finally:
        con.unregister("customer_cum_rows")
        reader.close()


def _integrity_problems(con: duckdb.DuckDBPyConnection, totals: dict | None = None) -> list[str]:
    """What does not add up in a built database. ``totals``: the grand totals of order lines
    kept at their source (``Aggregated``), checked instead of the order_lines table."""
    problems = []
    if totals is None:
        orphans = con.execute(
            "SELECT count(*) FROM order_lines o ANTI JOIN customers c USING (customer_id)"
        ).fetchall()[0][0]
        if orphans:
            problems.append(f"{orphans} order lines name a customer_id missing from customers")
        n_lines, rev_lines, cost_lines, disc_lines, ret_lines = con.execute(
            "SELECT count(*), sum(revenue), sum(coalesce(cost, 0)), sum(coalesce(discount, 0)), "
            "sum(CASE WHEN revenue < 0 THEN -revenue ELSE 0 END) FROM order_lines").fetchall()[0]
    else:
        orphans = con.execute(
            "SELECT count(DISTINCT customer_id) FROM customer_month ANTI JOIN customers USING (customer_id)"
        ).fetchall()[0][0]
        if orphans:
            problems.append(f"{orphans} customer_ids of the order lines are missing from customers")
        n_lines, rev_lines, cost_lines, disc_lines, ret_lines = (
            totals[k] for k in ("lines", "revenue", "cost", "discount", "returns"))
    cts = con.execute("SELECT sum(amount) FROM cost_to_serve").fetchall()[0][0]
    rev_cm, cost_cm, disc_cm, ret_cm, lines_cm, cts_cm = con.execute(
        "SELECT sum(revenue), sum(cost), sum(discount), sum(returns), sum(lines), sum(cost_to_serve) "
        "FROM customer_month").fetchall()[0]

    def differ(a, b) -> bool:
        return abs((a or 0) - (b or 0)) > 1e-6 * max(1.0, abs(b or 0))

    if n_lines and differ(rev_cm, rev_lines):
        problems.append("customer_month revenue does not add up to order_lines revenue")
    if (differ(cost_cm, cost_lines) or differ(disc_cm, disc_lines) or differ(ret_cm, ret_lines)
            or (lines_cm or 0) != n_lines or differ(cts_cm, cts)):
        problems.append("customer_month cost, discounts, returns, lines or cost-to-serve do not add up "
                        "to the source tables")
    rev_cum = con.execute(
        "SELECT sum(revenue) FROM customer_cum WHERE month = (SELECT max(month) FROM customer_cum)"
    ).fetchall()[0][0]
    if n_lines and differ(rev_cum, rev_lines):
        problems.append("customer_cum running totals do not end at order_lines revenue")
    return problems


BUILD_MEMORY_DEFAULT_GB = 4.0  # DuckDB's own default is 80% of the RAM


def build_memory_limit() -> str:
    """The most memory DuckDB may use while building a sales database (it spills to disk
    beyond it): ``KAMDASH_BUILD_MEMORY`` (e.g. ``4GB``) when set, else 4 GB or 40% of the RAM
    if that is less. A 100-million-line demo builds within 4 GB; without a cap DuckDB took 12 GB
    for half of it, crowding out whatever else runs on the machine."""
    raw = config.SETTINGS["build_memory"].get()
    if not raw:
        try:
            ram_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        except (ValueError, OSError, AttributeError):  # not a POSIX system
            ram_gb = 10 * BUILD_MEMORY_DEFAULT_GB
        return f"{max(0.5, min(BUILD_MEMORY_DEFAULT_GB, 0.4 * ram_gb)):.1f}GB"
    try:
        return config.memory_size("KAMDASH_BUILD_MEMORY", raw)
    except ValueError as e:
        raise StoreError(str(e)) from None


def build_sales_db(
    path: Path | str,
    fill: Callable[[duckdb.DuckDBPyConnection], None],
    source: str,
    currency: str = "CNY",
) -> dict[str, str]:
    """Build a complete sales database at ``path`` atomically.

    ``fill(con)`` inserts rows into the canonical source tables of a fresh database (and may
    hand over customer_month as ``StagedMonths``, or order totals per customer and month as
    ``Aggregated`` when the order lines stay in their source). Derived tables and meta are then
    written, integrity is checked, and only then is the new file renamed over ``path``. On any error the temporary file is removed and ``path`` is
    untouched. Returns the meta written.
    """
    target = Path(path)
    if target.exists() and check_sales_db(target).problem == "not_kamdash":
        raise StoreError(f"{target} is a DuckDB database but not a kamdash sales database: it is "
                         "left alone; choose another file")
    target.parent.mkdir(parents=True, exist_ok=True)
    with _replacing(target) as tmp:
        try:
            con = _connect(tmp, read_only=False)
        except duckdb.IOException as exc:  # a folder that cannot be written, a full disk
            raise StoreError(f"cannot write a database in {target.parent}: "
                             + str(exc).splitlines()[0]) from None
        try:
            # validated or made here: digits and a unit only
            con.execute(f"SET memory_limit = '{build_memory_limit()}'")
            create_sales_schema(con)
            staged = fill(con)
            aggregated = staged if isinstance(staged, Aggregated) else None
            try:
                derive(con, staged if isinstance(staged, StagedMonths) else None,
                       order_month=aggregated.table if aggregated else None)
            finally:
                if isinstance(staged, StagedMonths):
                    staged.close()
            meta = _finish(con, aggregated, source, currency)
        finally:
            con.close()
    return meta


def update_sales_db(
    path: Path | str,
    fill: Callable[[duckdb.DuckDBPyConnection], "Aggregated"],
    since: date,
    source: str,
    currency: str = "CNY",
) -> dict[str, str]:
    """Update a sales database built from a company source (``Aggregated``) whose order totals
    or cost-to-serve changed from the month ``since`` on, atomically, as ``build_sales_db``
    builds one: a copy of ``path`` is changed, checked and renamed over it; on any error
    ``path`` is untouched.

    ``fill(con)`` replaces the changed months' rows of order_month and cost_to_serve in the
    copy and returns the ``Aggregated`` of the whole data; the customers must be the ones the
    database numbers already (``derive`` with ``since``: the rows of earlier months are
    kept). The checks and meta are those of a full build (a new data version)."""
    target = Path(path)
    with _replacing(target) as tmp:
        try:
            shutil.copyfile(target, tmp)
            con = _connect(tmp, read_only=False)
        except (OSError, duckdb.IOException) as exc:  # a folder that cannot be written, a full disk
            raise StoreError(f"cannot write a database in {target.parent}: "
                             + str(exc).splitlines()[0]) from None
        try:
            con.execute(f"SET memory_limit = '{build_memory_limit()}'")
            aggregated = fill(con)
            derive(con, order_month=aggregated.table, since=since)
            meta = _finish(con, aggregated, source, currency)
        finally:
            con.close()
    return meta


def _finish(con: duckdb.DuckDBPyConnection, aggregated: "Aggregated | None", source: str,
            currency: str) -> dict[str, str]:
    """The checks and meta of a database whose tables are all written; returns the meta."""
    problems = _integrity_problems(con, aggregated.totals if aggregated else None)
    if problems:
        raise StoreError("; ".join(problems))
    if aggregated is None:
        as_of, n_lines = con.execute(
            "SELECT max(order_date), count(*) FROM order_lines"
        ).fetchall()[0]
    else:
        as_of = con.execute("SELECT max(last_order_date) FROM customer_month").fetchall()[0][0]
        n_lines = int(aggregated.totals["lines"] or 0)
    meta = {
        "kind": schema.SALES_KIND,
        "schema_version": str(schema.SALES_SCHEMA_VERSION),
        "data_version": uuid.uuid4().hex,
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": source,
        "as_of": as_of.isoformat() if as_of else "",
        "order_lines": str(n_lines),
        "currency": currency,
        **({"lines_at": "source", **aggregated.meta} if aggregated else {}),
    }
    con.executemany(
        "INSERT OR REPLACE INTO meta VALUES (?, ?)", [(k, v) for k, v in meta.items()]
    )
    con.execute("CHECKPOINT")
    return meta


@contextlib.contextmanager
def _replacing(target: Path):
    """A temporary path next to ``target``, renamed over it when the block ends without an
    error; on any error (or after the rename) no temporary file is left and ``target`` is
    untouched (``os.replace`` is atomic)."""
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            if leftover.exists():
                leftover.unlink()
        shutil.rmtree(tmp.with_name(tmp.name + ".tmp"), ignore_errors=True)  # DuckDB's spill folder


def sweep_stale(target: Path, alive: Callable[[int], bool]) -> list[Path]:
    """Remove the half-built files that an interrupted build left next to ``target`` (the
    temporary database, its write-ahead log and DuckDB's spill folder, all named
    ``.<name>.tmp-<process id>-…``) when that process no longer runs."""
    removed = []
    prefix = f".{target.name}.tmp-"
    try:
        entries = list(target.parent.iterdir())
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        pid = entry.name[len(prefix):].split("-", 1)[0]
        if not pid.isdigit() or alive(int(pid)):
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


BACKUP_SUFFIX = ".previous"  # the sales database as it was before the last replacing import


def backup_path(path: Path | str) -> Path:
    p = Path(path)
    return p.with_name(p.name + BACKUP_SUFFIX)


def keep_backup(path: Path | str) -> Path | None:
    """Keep the current sales database as ``<file>.previous`` before an import replaces it (a
    hard link when the file system allows: instant, and safe because every writer of a sales
    database builds a new file and swaps it in (``_replacing``), never changing the old one;
    else a copy). Returns the backup, None when there is no database."""
    p = Path(path)
    if not p.exists():
        return None
    dest = backup_path(p)
    tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        try:
            os.link(p, tmp)
        except OSError:
            shutil.copy2(p, tmp)
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
    return dest


def restore_backup(path: Path | str) -> Path:
    """Put the kept ``<file>.previous`` back in place of the sales database (atomically; the
    backup stays, so a restore can be repeated). StoreError when there is none or it cannot
    be used."""
    p = Path(path)
    src = backup_path(p)
    if not src.exists():
        raise StoreError(f"no earlier database kept next to {p} (an import that replaces the data keeps one)")
    status = check_sales_db(src)
    if not status.ok:
        raise StoreError(f"the kept database {src} cannot be used: {status.problem} {status.detail}".strip())
    with _replacing(p) as tmp:
        shutil.copy2(src, tmp)
    return src


# Upgrades of a sales database, by the version it has: each step brings it to the next.
UPGRADES: dict[int, Callable[[duckdb.DuckDBPyConnection], None]] = {
    1: derive_cumulative,  # 1 -> 2: running totals (customer_key, customer_cum)
}


def upgrade_sales_db(path: Path | str) -> dict[str, str]:
    """Bring a sales database built by an older kamdash up to this schema version, atomically.

    The sales data is kept as it is: a copy of the file gets the new derived tables and the new
    version, is checked, and only then replaces ``path`` (on any error ``path`` is untouched).
    Returns the meta written. Raises StoreError when the file is not an older kamdash database.
    """
    import shutil

    target = Path(path)
    status = check_sales_db(target)
    if status.problem == "missing":
        raise StoreError(f"there is no database at {target}")
    if status.problem is None or status.problem == "empty":
        raise StoreError(f"{target} needs no upgrade: it is of the current version")
    if status.problem == "locked":
        raise StoreError(f"{target} is open for writing in another program; try again when it has "
                         f"finished ({status.detail})")
    if status.problem != "older_version":
        raise StoreError(f"{target} cannot be upgraded: {status.problem.replace('_', ' ')}"
                         + (f" ({status.detail})" if status.detail else ""))
    with _replacing(target) as tmp:
        shutil.copyfile(target, tmp)
        con = _connect(tmp, read_only=False)
        try:
            version = status.found_version or 0
            while version < schema.SALES_SCHEMA_VERSION:
                if version not in UPGRADES:
                    raise StoreError(f"{target}: no upgrade from schema version {version}; rebuild it")
                UPGRADES[version](con)
                version += 1
            problems = _integrity_problems(con)
            if problems:
                raise StoreError("; ".join(problems))
            con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(version)])
            con.execute("CHECKPOINT")
            meta = read_meta(con)
        finally:
            con.close()
    return meta


# ---------------------------------------------------------------- user-authored state


def ensure_user_db(path: Path | str) -> None:
    """Create the user database (or migrate it) if needed."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    con = _connect(p, read_only=False)
    try:
        _ensure_user_schema(con, p)
    finally:
        con.close()


def _ensure_user_schema(con: duckdb.DuckDBPyConnection, p: Path | str) -> None:
    for name, cols in schema.USER_TABLES.items():
        con.execute(schema.create_table_sql(name, cols))
    for ddl in schema.USER_INDEXES:
        con.execute(ddl)
    meta = read_meta(con)
    found = int(meta.get("schema_version", schema.USER_SCHEMA_VERSION))
    if meta and meta.get("kind") != schema.USER_KIND:
        raise StoreError(f"{p} is not a kamdash user database (kind={meta.get('kind')!r})")
    if found > schema.USER_SCHEMA_VERSION:
        raise StoreError(
            f"{p} was written by a newer kamdash (user schema {found}); "
            "upgrade kamdash to open it"
        )
    con.executemany(
        "INSERT OR REPLACE INTO meta VALUES (?, ?)",
        [("kind", schema.USER_KIND), ("schema_version", str(schema.USER_SCHEMA_VERSION))],
    )


_ensured: set[tuple] = set()  # user database files this process already created or migrated
# One lock per user database file for the threads (browser sessions) of this process: DuckDB
# refuses to attach a file that another thread is attaching at that moment, so they take turns.
_user_db_locks: dict[str, threading.RLock] = {}
_user_db_locks_guard = threading.Lock()


def _user_db_lock(path: Path | str) -> threading.RLock:
    key = os.path.realpath(path)
    with _user_db_locks_guard:
        return _user_db_locks.setdefault(key, threading.RLock())


def _identity(path: Path | str) -> tuple | None:
    try:
        s = os.stat(path)
    except FileNotFoundError:
        return None
    return (str(Path(path).resolve()), s.st_dev, s.st_ino)


def _with_user_db(path: Path | str, fn, retries: int = 20):
    """Open the user database briefly (another process may hold it for a moment). The first
    time in this process (per file, identified by device and inode) the database is created or
    migrated on the same connection: a separate check would open the file once more, ~0.1 s
    of the app's first page."""
    with _user_db_lock(path):
        return _with_user_db_locked(path, fn, retries)


def _with_user_db_locked(path: Path | str, fn, retries: int):
    ensured = _identity(path) in _ensured
    if not ensured:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(retries):
        try:
            con = _connect(path, read_only=False)
        except (duckdb.IOException, duckdb.ResourceInUseException):
            # held by another process (or, through another path to the same file, attached by
            # another thread of this one: "Unique file handle conflict"): try again shortly
            if attempt == retries - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
            continue
        try:
            if not ensured:
                _ensure_user_schema(con, path)
                _ensured.add(_identity(path))
            return fn(con)
        finally:
            con.close()


def audit(con: duckdb.DuckDBPyConnection, who: str, kind: str, key: str, action: str,
          old=None, new=None) -> None:
    """Append one change to the audit log (on the caller's connection, so in its transaction):
    ``kind`` plan / scenario / setting / entitlement, ``action`` save / delete, ``old`` and
    ``new`` JSON-able values (None when there was or is none). Nothing ever updates or deletes
    audit rows."""
    con.execute("INSERT INTO audit_log VALUES (now(), ?, ?, ?, ?, ?, ?)",
                [who or "", kind, key, action,
                 None if old is None else json.dumps(old, ensure_ascii=False, default=str),
                 None if new is None else json.dumps(new, ensure_ascii=False, default=str)])


def read_audit(path: Path | str, limit: int | None = None):
    """The audit log, newest first: changed_at, who, kind, key, action, old, new (JSON text)."""
    import pandas as pd

    cols = ["changed_at", "who", "kind", "key", "action", "old", "new"]
    if not Path(path).exists():
        return pd.DataFrame(columns=cols)
    sql = ("SELECT changed_at, who, kind, key, action, old, new FROM audit_log "
           "ORDER BY changed_at DESC, rowid DESC")
    rows = _with_user_db(path, lambda con: con.execute(
        sql + (" LIMIT ?" if limit else ""), [int(limit)] if limit else []).fetchall())
    return pd.DataFrame(rows, columns=cols)


def put_setting(path: Path | str, key: str, value, user: str = "", audited: bool = True) -> None:
    """Save a setting; the change goes to the audit log (``audited``: False for what a page
    stores by itself, such as a digest of the data it computed from, not a user's choice)."""
    def write(con):
        con.execute("BEGIN")
        try:
            old = con.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchall()
            old = json.loads(old[0][0]) if old and old[0][0] is not None else None
            con.execute("INSERT OR REPLACE INTO settings VALUES (?, ?, now(), ?)",
                        [key, json.dumps(value, ensure_ascii=False), user])
            if audited and old != value:
                audit(con, user, "setting", key, "save", old, value)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise

    _with_user_db(path, write)


def get_setting(path: Path | str, key: str, default=None):
    if not Path(path).exists():
        return default
    rows = _with_user_db(
        path, lambda con: con.execute("SELECT value FROM settings WHERE key = ?", [key]).fetchall()
    )
    return json.loads(rows[0][0]) if rows else default


def put_fit(path: Path | str, fit_key: str, data_version: str, settings: dict, fit: dict) -> None:
    """Persist a fitted model under ``fit_key`` (replacing one with the same key). Fits of older
    data versions are dropped: they can never be read again."""

    def write(con):
        con.execute("DELETE FROM model_fits WHERE data_version <> ?", [data_version])
        con.execute("INSERT OR REPLACE INTO model_fits VALUES (?, ?, ?, ?, now())",
                    [fit_key, data_version, json.dumps(settings), json.dumps(fit)])

    _with_user_db(path, write)


ASSIGNMENT_COLUMNS = ("customer_id", "segment", "segment_name", "ka_types")


def put_assignment(path: Path | str, df) -> None:
    """Replace the stored customer assignment (segment and KA types per customer) in one
    transaction. ``df`` has the columns customer_id, segment, segment_name, ka_types."""
    frame = df[list(ASSIGNMENT_COLUMNS)]

    def write(con):
        con.execute("BEGIN")
        try:
            con.execute("DELETE FROM customer_assignment")
            con.register("assignment_in", frame)
            con.execute("INSERT INTO customer_assignment SELECT customer_id, segment, segment_name, "
                        "ka_types, now() FROM assignment_in")
            con.unregister("assignment_in")
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise

    _with_user_db(path, write)


_fit_texts: dict[tuple, str | None] = {}  # (file, its state, fit_key) -> stored JSON


def _file_state(path: Path | str) -> tuple:
    """What a write to a DuckDB file changes: inode, size and modification time of the file and
    of its write-ahead log."""
    out = []
    for p in (str(path), f"{path}.wal"):
        try:
            s = os.stat(p)
            out.append((s.st_ino, s.st_size, s.st_mtime_ns))
        except FileNotFoundError:
            out.append(None)
    return tuple(out)


def get_fit(path: Path | str, fit_key: str) -> dict | None:
    """The persisted fit under ``fit_key``, or None. Every page view asks for it: while the
    user database is unchanged (``_file_state``) the JSON read last time is parsed again
    instead of opening the file (20-40 ms)."""
    if not Path(path).exists():
        return None
    key = (str(Path(path).resolve()), _file_state(path), fit_key)
    if key not in _fit_texts:
        rows = _with_user_db(
            path, lambda con: con.execute("SELECT fit FROM model_fits WHERE fit_key = ?", [fit_key]).fetchall()
        )
        if len(_fit_texts) > 64:
            _fit_texts.clear()
        text = rows[0][0] if rows else None
        # opening the file may itself touch it: keep the text under the state it left too
        _fit_texts[key] = _fit_texts[(key[0], _file_state(path), fit_key)] = text
    text = _fit_texts[key]
    return json.loads(text) if text is not None else None


def get_assignment(path: Path | str):
    """The stored assignment as a DataFrame (customer_id, segment, segment_name, ka_types,
    assigned_at); empty when none was stored."""
    import pandas as pd

    cols = [*ASSIGNMENT_COLUMNS, "assigned_at"]
    if not Path(path).exists():
        return pd.DataFrame(columns=cols)
    return _with_user_db(path, lambda con: con.sql(
        "SELECT * FROM customer_assignment ORDER BY customer_id").df())


# ---------------------------------------------------------------- what-if scenarios


def put_scenario(path: Path | str, name: str, params: dict, results: dict, author: str = "",
                 scenario_id: str | None = None) -> str:
    """Save a what-if scenario (replacing the one with ``scenario_id`` when given); returns its
    id. ``params`` and ``results`` are JSON-able dicts; who and when are stored with it."""
    sid = scenario_id or uuid.uuid4().hex[:12]

    def write(con):
        con.execute("BEGIN")
        try:
            old = con.execute("SELECT name, params FROM scenarios WHERE scenario_id = ?", [sid]).fetchall()
            con.execute("INSERT OR REPLACE INTO scenarios VALUES (?, ?, ?, ?, now(), ?)",
                        [sid, name, json.dumps(params, ensure_ascii=False),
                         json.dumps(results, ensure_ascii=False), author or ""])
            audit(con, author, "scenario", sid, "save",
                  {"name": old[0][0], "params": json.loads(old[0][1] or "{}")} if old else None,
                  {"name": name, "params": params})
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise

    _with_user_db(path, write)
    return sid


def list_scenarios(path: Path | str):
    """Saved scenarios, newest first: scenario_id, name, created_at, created_by, params, results
    (the last two parsed)."""
    import pandas as pd

    cols = ["scenario_id", "name", "created_at", "created_by", "params", "results"]
    if not Path(path).exists():
        return pd.DataFrame(columns=cols)
    rows = _with_user_db(path, lambda con: con.execute(
        "SELECT scenario_id, name, created_at, created_by, params, results FROM scenarios "
        "ORDER BY created_at DESC, scenario_id").fetchall())
    return pd.DataFrame([(*r[:4], json.loads(r[4] or "{}"), json.loads(r[5] or "{}")) for r in rows],
                        columns=cols)


def get_scenario(path: Path | str, scenario_id: str) -> dict | None:
    """One saved scenario as a dict (the columns of ``list_scenarios``), or None."""
    if not Path(path).exists():
        return None
    rows = _with_user_db(path, lambda con: con.execute(
        "SELECT scenario_id, name, created_at, created_by, params, results FROM scenarios "
        "WHERE scenario_id = ?", [scenario_id]).fetchall())
    if not rows:
        return None
    r = rows[0]
    return {"scenario_id": r[0], "name": r[1], "created_at": r[2], "created_by": r[3],
            "params": json.loads(r[4] or "{}"), "results": json.loads(r[5] or "{}")}


def delete_scenario(path: Path | str, scenario_id: str, who: str = "") -> None:
    """Delete a scenario; what it was stays in the audit log."""
    def write(con):
        con.execute("BEGIN")
        try:
            old = con.execute("SELECT name, params, results FROM scenarios WHERE scenario_id = ?",
                              [scenario_id]).fetchall()
            con.execute("DELETE FROM scenarios WHERE scenario_id = ?", [scenario_id])
            if old:
                audit(con, who, "scenario", scenario_id, "delete",
                      {"name": old[0][0], "params": json.loads(old[0][1] or "{}"),
                       "results": json.loads(old[0][2] or "{}")}, None)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise

    _with_user_db(path, write)
