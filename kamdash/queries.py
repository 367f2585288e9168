"""The query layer: one filter model, and the tables every page starts from.

Queries are Ibis expressions over the sales database (DuckDB by default). Filter values from
users only ever enter as Ibis literals (``isin``, comparisons), which Ibis renders as escaped
constants, or as bound parameters of fixed SQL text: no user text is pasted into SQL here. The
queries of the landing page's first render (``data_facts``, ``dimension_options``,
``value_labels`` and the period numbers below) do not use Ibis, so a cold start to the overview
never imports it (see ``Backend``). Everything reads the ``customer_month``
pre-aggregate or the running totals built from it at load time, so a filter change never rescans
order lines; a period's numbers per customer are computed on arrays of running-total month
columns held in memory (``kamdash.resident``), where filter values only select customers.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import pyarrow as pa

from kamdash import config, resident, schema
from kamdash.analytics import growth, pareto

if TYPE_CHECKING:
    import ibis
else:
    class _LazyIbis:
        """``ibis``, imported on first use: importing it and its DuckDB backend costs about 1 s
        of CPU, which the landing page's first chart does not need."""

        def __getattr__(self, name):
            import ibis as module

            return getattr(module, name)

    ibis = _LazyIbis()

# The filterable customer attributes: column in customer_month -> Filters field.
DIMENSIONS: dict[str, str] = {
    "region": "regions",
    "customer_type": "customer_types",
    "sector": "sectors",
    "account_manager": "account_managers",
}

MONEY_COLUMNS = ("revenue", "cost", "gross_profit", "discount", "returns", "cost_to_serve",
                 "account_profit")
COUNT_COLUMNS = ("orders", "order_days", "lines")
ATTRIBUTE_COLUMNS = ("name", "name_zh", "customer_type", "sector", "region", "city",
                     "account_manager", "parent_id")


# ABC tier cut-offs: A = customers within the first 80% of revenue, B = the next 15%, C = rest
# (the same default as kamdash.analytics.pareto.ABC_CUTOFFS_DEFAULT).
TIER_CUTOFFS_DEFAULT = (0.80, 0.95)
TIER_CUTOFFS_SETTING = "concentration.tier_cutoffs"  # the user's cut-offs, saved in the user database


def tier_cutoffs_or_default(saved) -> tuple[float, float]:
    """Saved cut-offs (two numbers, 0 < a < b ≤ 1) as a tuple, else TIER_CUTOFFS_DEFAULT."""
    try:
        a, b = (float(x) for x in saved)
        if 0 < a < b <= 1:
            return (a, b)
    except (TypeError, ValueError):
        pass
    return TIER_CUTOFFS_DEFAULT
_TIER_EPS = 1e-9


def month_start(d: date) -> date:
    return date(d.year, d.month, 1)


def add_months(d: date, n: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 + n, 12)
    return date(y, m + 1, 1)


@dataclass(frozen=True)
class Filters:
    """What the user is looking at; the same model for every page.

    ``start`` and ``end`` are the first and last month of the period (first day of the month,
    both included); None means open-ended. Empty dimension tuples mean "all".
    ``customer_ids`` restricts to a set of customers (KA types, segments resolve to it); None
    means no restriction.
    ``tiers`` restricts to ABC tiers ("A", "B", "C"; empty means all). A customer's tier is
    computed on its revenue in ``tier_period`` (first and last month; when not given, this
    filter's own period, fixed at creation) over *all* customers with an order then, whatever the other filters, with the
    cut-offs ``tier_cutoffs`` (see ``tier_members``); ``previous()`` and other copies keep the
    same accounts.
    ``scope`` is the user's row-level access: the customers this user may see (None: everyone).
    It is applied before anything else, as if the other customers were not in the data: tiers,
    ranks, shares and totals are computed within it, and no other filter widens it.
    """

    start: date | None = None
    end: date | None = None
    regions: tuple[str, ...] = ()
    customer_types: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()
    account_managers: tuple[str, ...] = ()
    customer_ids: tuple[str, ...] | None = field(default=None)
    tiers: tuple[str, ...] = ()
    tier_cutoffs: tuple[float, float] = TIER_CUTOFFS_DEFAULT
    tier_period: tuple[date | None, date | None] | None = None
    scope: tuple[str, ...] | None = field(default=None)

    def __post_init__(self):
        if self.start and self.end and self.start > self.end:
            raise ValueError(f"period starts ({self.start}) after it ends ({self.end})")
        if self.tiers and self.tier_period is None:
            # anchor the tiers to this period, so copies for other periods keep the same accounts
            object.__setattr__(self, "tier_period", (self.start, self.end))

    @property
    def months(self) -> int | None:
        if not (self.start and self.end):
            return None
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    def previous(self) -> "Filters":
        """The period of the same length just before this one, same dimension filters."""
        n = self.months
        if n is None:
            raise ValueError("an open-ended period has no previous period")
        return replace(self, start=add_months(self.start, -n), end=add_months(self.start, -1))

    def covered_by(self, first_month: date) -> bool:
        """True when data starting at ``first_month`` covers this whole period."""
        return self.start is not None and self.start >= month_start(first_month)

    def dimension_values(self) -> dict[str, tuple[str, ...]]:
        return {col: getattr(self, attr) for col, attr in DIMENSIONS.items()}

    def restricts_customers(self) -> bool:
        """Whether the dimension, customer or tier filters leave customers out (the period
        alone does not)."""
        return bool(any(self.dimension_values().values()) or self.names_customers())

    def names_customers(self) -> bool:
        """Whether the customer, tier or scope filters select customers one by one (what the
        tables per combination of dimension values cannot answer)."""
        return self.customer_ids is not None or bool(self.tiers) or self.scope is not None


def to_frame(expr) -> pd.DataFrame:
    """Run an expression and return pandas (through Arrow: several times faster than Ibis's own
    pandas conversion on wide string columns). Dates come back as datetime64."""
    return expr.to_pyarrow().to_pandas(date_as_object=False)


class Backend:
    """The sales database file opened by ``connect``: DuckDB's connection (``con``), and an Ibis
    backend over that same connection (``ibis``), made on first use.

    Every other attribute (``table``, ``raw_sql``, ...) is the Ibis backend's, so the query
    functions use it as they would Ibis's own. The queries of the landing page's first render
    only use ``con`` (fixed SQL with bound parameters), so a cold start to the overview never
    imports Ibis (about 1 s of CPU with its DuckDB backend and SQL compilers).
    """

    name = "duckdb"

    def __init__(self, con):
        self.con = con
        self._ibis = None
        self._ibis_lock = threading.Lock()

    @property
    def ibis(self):
        if self._ibis is None:
            with self._ibis_lock:
                if self._ibis is None:
                    import ibis as module

                    self._ibis = module.duckdb.from_connection(self.con)
        return self._ibis

    def __getattr__(self, name: str):
        if name.startswith("_"):  # not Ibis's: copy and pickle probe for these
            raise AttributeError(name)
        return getattr(self.ibis, name)

    def disconnect(self) -> None:
        self.con.close()


def connect(target: str):
    """Open the sales database read-only: a DuckDB file path (a ``Backend``) or an Ibis URL (an
    Ibis backend). DuckDB may use at most ``KAMDASH_QUERY_MEMORY`` (1 GB by default; its own
    default is 80% of the RAM, which an unfiltered query over 100M order lines took, next to
    the arrays held in memory)."""
    if "://" in target:
        backend = ibis.connect(target, read_only=True) if target.startswith("duckdb") else ibis.connect(target)
    else:
        import duckdb

        con = duckdb.connect(str(Path(target).absolute()), read_only=True)
        # what Ibis sets on a connection it makes (and again in Backend.ibis)
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET python_enable_replacements = false")
        backend = Backend(con)
    if backend.name == "duckdb":
        s = config.SETTINGS["query_memory"]
        limit = config.memory_size(s.env, s.get())  # validated: digits and a unit only
        backend.con.execute(f"SET memory_limit = '{limit}'")
    return backend


def sql_table(backend, sql: str, params: list | None = None) -> pa.Table:
    """Run our own fixed DuckDB SQL (values only as bound ``?`` parameters) on a cursor of the
    backend's connection (sessions run in threads) and return Arrow."""
    con = backend.con.cursor()
    try:
        return con.sql(sql, params=params).to_arrow_table()
    finally:
        con.close()


def apply_filters(t, filters: Filters, month_col: str = "month"):
    """Apply the period and dimension filters to a table expression with ``month_col``."""
    preds = []
    if filters.start:
        preds.append(t[month_col] >= filters.start)
    if filters.end:
        preds.append(t[month_col] <= filters.end)
    for col, values in filters.dimension_values().items():
        if values:
            preds.append(t[col].isin(list(values)))
    if filters.customer_ids is not None:
        preds.append(t.customer_id.isin(list(filters.customer_ids)))
    if filters.scope is not None:
        preds.append(t.customer_id.isin(list(filters.scope)))
    if filters.tiers:
        preds.append(t.customer_id.isin(tier_members(t, filters).customer_id))
    return t.filter(*preds) if preds else t


def customer_tiers(cm, start: date | None, end: date | None,
                   cutoffs: tuple[float, float] = TIER_CUTOFFS_DEFAULT):
    """ABC tier of every customer with an order between ``start`` and ``end`` (months, both
    included), by revenue: an expression with customer_id, revenue, tier.

    ``cm`` is the customer_month table. Customers ranked by revenue descending (ties by
    customer_id); A when the customers above hold less than ``cutoffs[0]`` of the sum of the
    positive revenues, B when less than ``cutoffs[1]``, else C; no positive revenue is always C
    (the filter has no group of its own for the rare customer whose returns exceed its sales
    in the period). The same rule as ``kamdash.analytics.pareto.abc_tiers`` for A and B; its
    C and L together are this C.
    """
    a, b = cutoffs
    if not 0 < a < b <= 1:
        raise ValueError(f"cut-offs must satisfy 0 < A < B <= 1, got {cutoffs}")
    preds = []
    if start:
        preds.append(cm.month >= start)
    if end:
        preds.append(cm.month <= end)
    per = cm.filter(*preds) if preds else cm
    per = per.group_by("customer_id").aggregate(revenue=per.revenue.sum(), orders=per.orders.sum())
    per = per.filter(per.orders > 0)
    cum = per.revenue.sum().over(ibis.cumulative_window(order_by=[ibis.desc(per.revenue), per.customer_id]))
    total = ibis.greatest(per.revenue, 0).sum().over(ibis.window())
    before = (cum - per.revenue) / total
    tier = ibis.cases(
        ((per.revenue <= 0) | (total <= 0), "C"),
        (before < a * (1 - _TIER_EPS), "A"),
        (before < b * (1 - _TIER_EPS), "B"),
        else_="C",
    )
    return per.select("customer_id", "revenue", tier=tier)


def tier_members(cm, filters: Filters):
    """Customers (expression with customer_id) whose tier is in ``filters.tiers``."""
    start, end = filters.tier_period or (filters.start, filters.end)
    if filters.scope is not None:  # tiers within the user's scope
        cm = cm.filter(cm.customer_id.isin(list(filters.scope)))
    tiers = customer_tiers(cm, start, end, filters.tier_cutoffs)
    return tiers.filter(tiers.tier.isin(list(filters.tiers))).select("customer_id")


def data_facts(backend) -> dict:
    """What the database holds: as-of date, extent, row counts, version, currency (read once per
    backend object: a database file never changes under its backend)."""
    return dict(resident.of(backend).memo("data_facts", lambda: _data_facts(backend)))


def _data_facts(backend) -> dict:
    meta = sql_table(backend, "SELECT key, value FROM meta").to_pydict()
    meta = dict(zip(meta["key"], meta["value"]))
    row = sql_table(backend, "SELECT (SELECT min(month) FROM customer_month) AS first_month, "
                             "(SELECT max(month) FROM customer_month) AS last_month, "
                             "(SELECT count(*) FROM customers) AS customers").to_pylist()[0]
    n_lines = meta.get("order_lines") or sql_table(
        backend, "SELECT count(*) AS n FROM order_lines").to_pylist()[0]["n"]
    as_of = meta.get("as_of") or ""
    return {
        "as_of": date.fromisoformat(as_of) if as_of else row["last_month"],
        "first_month": row["first_month"],
        "last_month": row["last_month"],
        "order_lines": int(n_lines),
        "customers": int(row["customers"]),
        "data_version": meta.get("data_version", ""),
        "currency": meta.get("currency", "CNY"),
        "source": meta.get("source", ""),
        "built_at": meta.get("built_at", ""),
        "lines_at": meta.get("lines_at", ""),  # "source": the order lines stay in a company source
    }


def dimension_options(backend) -> dict[str, list[str]]:
    """Distinct values of each filter dimension, sorted (for the filter widgets)."""
    lists = ", ".join(f"list(DISTINCT {col}) AS {col}" for col in DIMENSIONS)  # our own names
    row = sql_table(backend, f"SELECT {lists} FROM customers").to_pylist()[0]
    return {col: sorted(str(v) for v in (row[col] or []) if v is not None) for col in DIMENSIONS}


def value_labels(backend, lang: str) -> dict[tuple[str, str], str]:
    """Display labels of data values in ``lang``: {(column, value): label}."""
    df = sql_table(backend, "SELECT column_name, value, label FROM value_labels WHERE lang = ?",
                   [lang]).to_pydict()
    return {(c, v): lab for c, v, lab in zip(df["column_name"], df["value"], df["label"])}


def last_month(backend) -> date | None:
    """The last month of the data (remembered per backend object: ``resident.Resident.memo``)."""
    last = resident.of(backend).extent()[1]
    return None if last is None else pd.Timestamp(last).date()


def last_order_date(backend) -> date:
    """The date of the last order in the data (remembered per backend object)."""
    def make():
        cm = backend.table("customer_month")
        return pd.Timestamp(to_frame(cm.aggregate(m=cm.last_order_date.max()))["m"].iloc[0]).date()
    return resident.of(backend).memo("last_order_date", make)


def _attribute_columns(backend):
    """ATTRIBUTE_COLUMNS and referred_by of every customer, one column at a time as
    ``(name, Arrow strings)``, row ``ck - 1`` for key ``ck``. Each column is a plain scan of
    customers put in key order by the customers' row positions (read once): joining every
    column's strings at once held 1 GB more at 2M customers."""
    t = sql_table(backend, "SELECT k.ck, cu.rowid AS row FROM customer_key k "
                           "LEFT JOIN customers cu ON cu.customer_id = k.customer_id ORDER BY k.ck")
    if not (t["ck"].to_numpy() == np.arange(1, t.num_rows + 1)).all():
        raise ValueError("customer_key.ck is not 1..N")
    if t["row"].null_count:
        raise ValueError("customer_key has a customer missing from customers")
    row = t["row"].to_numpy()
    for c in (*ATTRIBUTE_COLUMNS, "referred_by"):  # our own names
        col = sql_table(backend, f"SELECT rowid AS row, {c} FROM customers")
        at = np.zeros(int(col["row"].to_numpy().max(initial=-1)) + 1, dtype=np.int64)
        at[col["row"].to_numpy()] = np.arange(col.num_rows)  # customers row -> position in the scan
        yield c, col[c].combine_chunks().take(pa.array(at[row]))


def attribute_codes(backend) -> dict[str, pd.Categorical]:
    """ATTRIBUTE_COLUMNS and referred_by of every customer (position ``ck - 1`` for key ``ck``)
    as pandas categoricals, made once per backend object (joining the strings in DuckDB or
    pandas on every filter change cost more than the period's numbers): taking a period's rows
    of them moves integer codes, where taking rows of strings cost more than the period's
    numbers (8 columns × 172k customers at 10M order lines). Made column by column from Arrow (``resident.categorical``): at 2M customers,
    a pandas frame of every attribute's strings and pandas' factorizing of it peaked 1.2 GB
    above the codes."""
    def make():
        codes = {c: resident.categorical(strings) for c, strings in _attribute_columns(backend)}
        resident.release_freed_memory()
        return codes
    return resident.of(backend).memo("attribute_codes", make)


# ---------------------------------------------------------------- period numbers per customer
# A period's numbers per customer are the running totals (customer_cum) at its last month minus
# those at the month before it starts; ``kamdash.resident`` holds those month columns in memory
# as arrays indexed by the customer key, so a filter change is array arithmetic (no query once
# the months have been read). The tests check every function here against customer_month sums
# and plain pandas from the order lines.

TIER_CODES = {"A": 1, "B": 2, "C": 3}  # resident.Resident.tiers


def _period_bounds(backend, filters: Filters) -> tuple[date | None, date | None]:
    """(month whose running totals end the period, month whose totals are subtracted); the end
    is None when the period ends before the data starts or starts after it ends."""
    return _bounds(backend, filters.start, filters.end)


def _bounds(backend, start: date | None, end: date | None) -> tuple[date | None, date | None]:
    last = last_month(backend)
    if last is None:
        return None, None
    end = min(end, last) if end else last
    if start and start > end:
        return None, None
    return end, (add_months(start, -1) if start else None)


def customer_mask(backend, filters: Filters) -> np.ndarray:
    """Per customer key (``ck - 1``): True when the customer passes the dimension, customer and
    tier filters (the period does not restrict who)."""
    r = resident.of(backend)
    keep = r.mask(filters.dimension_values(), filters.customer_ids)
    if keep is None:
        keep = np.ones(r.keys.n, dtype=bool)
    within = None
    if filters.scope is not None:
        within = r.mask({}, filters.scope)
        keep = keep & within
    if filters.tiers:
        start, end = filters.tier_period or (filters.start, filters.end)
        codes = r.tiers(*_bounds(backend, start, end), filters.tier_cutoffs, within=within)
        keep = keep & np.isin(codes, [TIER_CODES[t] for t in filters.tiers])
    return keep


def tier_codes(backend, start: date | None, end: date | None,
               cutoffs: tuple[float, float] = TIER_CUTOFFS_DEFAULT) -> np.ndarray:
    """ABC tier per customer key over the months ``start``-``end`` (0 = no order then, then
    TIER_CODES); the same rule as ``customer_tiers``."""
    a, b = cutoffs
    if not 0 < a < b <= 1:
        raise ValueError(f"cut-offs must satisfy 0 < A < B <= 1, got {cutoffs}")
    return resident.of(backend).tiers(*_bounds(backend, start, end), cutoffs)


def _customer_predicates(backend, t, filters: Filters) -> list:
    """Predicates on a table with customer_id and the dimension columns for the dimension,
    customer and tier filters."""
    preds = [t[col].isin(list(values)) for col, values in filters.dimension_values().items() if values]
    if filters.customer_ids is not None:
        preds.append(t.customer_id.isin(list(filters.customer_ids)))
    if filters.scope is not None:
        preds.append(t.customer_id.isin(list(filters.scope)))
    if filters.tiers:
        preds.append(t.customer_id.isin(tier_members(backend.table("customer_month"), filters).customer_id))
    return preds


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
            "first_order_date": resident.to_datetime64(np.where(ordered, first, resident.NO_DATE)),
            "last_order_date": resident.to_datetime64(np.where(ordered, e, resident.NO_DATE))}


def customer_facts(backend, filters: Filters, attributes: bool = True) -> pd.DataFrame:
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
    end, before = _period_bounds(backend, filters)
    every, combo = _period_facts(backend, end, before)
    keep = _selector(backend, filters)(lambda: every["ck"].to_numpy() - 1, combo)
    if keep is None:
        out = every.copy(deep=False)  # copy-on-write: what the caller does never reaches the held frame
    else:
        out = every[keep].reset_index(drop=True)
    return out if attributes else out.drop(columns=list(ATTRIBUTE_COLUMNS))


def _selector(backend, filters: Filters):
    """``select(positions, combo)``: per row of something held (``positions()``: the rows'
    customer positions, ``ck - 1``; ``combo``: their ``resident.combo_codes``), True when the
    customer passes the filters; None when nothing restricts. Dimension filters alone select by
    combination (a lookup in a table of a few hundred entries, where a mask with an entry per
    customer is read in random order)."""
    if not filters.restricts_customers():
        return lambda positions, combo: None
    if not filters.names_customers():
        table = resident.of(backend).combo_mask(filters.dimension_values())
        return lambda positions, combo: table.take(combo)  # 2x faster than table[combo]
    keep = customer_mask(backend, filters)
    return lambda positions, combo: keep[positions()]


def _period_facts(backend, end: date | None, before: date | None) -> tuple[pd.DataFrame, np.ndarray]:
    """(``customer_facts`` of every customer, each row's ``resident.combo_codes``), held per
    period (they depend on the data alone): a filter change selects rows, in order, instead of
    working out 14 columns for every customer and ranking them again."""
    r = resident.of(backend)

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
        codes = attribute_codes(backend)
        cols.update({c: codes[c].take(idx) for c in ATTRIBUTE_COLUMNS})
        return pd.DataFrame(cols), r.combo_codes(idx)
    return r.derived(("facts", end, before), make)


def _periods(filters: Filters, periods: int) -> list[Filters]:
    ranges = [filters]
    for _ in range(periods - 1):
        ranges.append(ranges[-1].previous())
    return ranges


def period_values(backend, filters: Filters, periods: int, cols=("revenue", "gross_profit",
                   "account_profit")) -> list[dict[str, np.ndarray]]:
    """Per period (0 = the filtered one, 1 = the one before, ...): ``idx``, the positions of
    the customers with any activity then that pass the customer filters (ascending), ``cols``
    and ``orders`` for them, and ``active`` (an order then) over every customer key."""
    r = resident.of(backend)
    keep = customer_mask(backend, filters) if filters.restricts_customers() else None
    out = []
    for f in _periods(filters, periods):
        idx, orders, *values = _active_rows(r, *_period_bounds(backend, f), tuple(cols))
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


def _top_sum(values: np.ndarray, p: float) -> float:
    """Sum of the largest ceil(p·N) values (ties do not change the sum)."""
    k = int(math.ceil(len(values) * p - 1e-9))
    if k <= 0:
        return 0.0
    if k >= len(values):
        return float(values.sum())
    return float(-np.partition(-values, k - 1)[:k].sum())


def period_summary(backend, filters: Filters, periods: int = 3, top_p: float = 0.2) -> pd.DataFrame:
    """KPI totals of the period and the ``periods - 1`` periods before it.

    One row per period (0 = the filtered period, 1 = the one before, ...): revenue,
    gross_profit, account_profit, active_customers (with an order), top_share (revenue share of
    the first ceil(top_p * N) active customers by revenue), lost_customers (active in the period
    after it in the list, i.e. the older one, and not in this one; NaN for the oldest). The
    tests check it by hand and against plain pandas from the order lines.
    """
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    per = period_values(backend, filters, periods)
    rows = []
    for i, p in enumerate(per):
        act = p["revenue"][p["orders"] > 0]
        active_revenue = float(act.sum())
        rows.append({
            "period": i,
            **{c: float(p[c].sum()) for c in ("revenue", "gross_profit", "account_profit")},
            "active_customers": float(len(act)),
            "lost_customers": (float(np.count_nonzero(per[i + 1]["active"] & ~p["active"]))
                               if i + 1 < periods else float("nan")),
            "top_share": _top_sum(act, top_p) / active_revenue if active_revenue > 0 else float("nan"),
        })
    return pd.DataFrame(rows, columns=["period", "revenue", "gross_profit", "account_profit",
                                       "active_customers", "lost_customers", "top_share"])


def top_customers(backend, filters: Filters, n: int = 10, by: str = "revenue") -> pd.DataFrame:
    """The ``n`` largest customers of the period by ``by`` (ties by customer_id), with their
    revenue in the previous period (``previous_revenue``, NaN when none) and their attributes;
    columns: customer_id, revenue, gross_profit, account_profit, orders, previous_revenue, then
    ATTRIBUTE_COLUMNS."""
    if by not in ("revenue", "gross_profit", "account_profit"):
        raise ValueError(f"cannot rank customers by {by!r}")
    cur, prev = period_values(backend, filters, 2)
    top = resident.order_desc(cur[by], limit=int(n))
    idx = cur["idx"][top]
    at = np.minimum(np.searchsorted(prev["idx"], idx), max(len(prev["idx"]) - 1, 0))
    had = (prev["idx"][at] == idx) if len(prev["idx"]) else np.zeros(len(idx), dtype=bool)
    df = pd.DataFrame({"customer_id": resident.of(backend).keys.customer_id[idx],
                       **{c: cur[c][top] for c in ("revenue", "gross_profit", "account_profit", "orders")},
                       "previous_revenue": np.where(had, prev["revenue"][at] if len(prev["idx"]) else np.nan,
                                                    np.nan)})
    return pd.concat([df, attributes_of(backend, df["customer_id"].tolist())], axis=1)


def attributes_of(backend, ids: list[str]) -> pd.DataFrame:
    """ATTRIBUTE_COLUMNS of the customers ``ids``, row for row (missing values where a customer
    has no row): a query of those rows alone, where ``attribute_codes`` reads every customer's
    (0.6 s of CPU at 10M order lines, in the overview's first render for its top 10). Rows read
    once are kept per database (they depend on the data alone), so a filter change that shows
    customers seen before runs no query (the lookup scans the customers table: 12 ms at 10M)."""
    known = resident.of(backend).memo("attribute_rows", dict)
    missing = sorted({str(i) for i in ids} - known.keys())
    if missing:
        cols = ", ".join(ATTRIBUTE_COLUMNS)  # our own names; the ids are bound parameters
        marks = ", ".join("?" * len(missing))
        found = sql_table(backend, f"SELECT customer_id, {cols} FROM customers WHERE customer_id IN ({marks})",
                          missing).to_pylist()
        rows = {r.pop("customer_id"): r for r in found}
        known.update({i: rows.get(i, dict.fromkeys(ATTRIBUTE_COLUMNS)) for i in missing})
    out = pd.DataFrame([known[str(i)] for i in ids], columns=list(ATTRIBUTE_COLUMNS))
    return out.astype({c: "str" for c in ATTRIBUTE_COLUMNS})


MONTHLY_COLUMNS = ("revenue", "cost", "gross_profit", "cost_to_serve", "account_profit", "orders")


def monthly_totals(backend, filters: Filters) -> pd.DataFrame:
    """One row per month of the period: month, revenue, cost, gross_profit, cost_to_serve,
    account_profit, orders, active_customers (customers with an order that month).

    Added up from month_cube (per month and combination of dimensions, held in memory: a few
    thousand rows) unless the filters name customers or tiers, which only customer_month can
    answer."""
    if not filters.names_customers():
        cube = resident.of(backend).month_cube()
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
        cm = apply_filters(backend.table("customer_month"), filters)
        df = to_frame(cm.group_by("month").aggregate(
            **{c: cm[c].sum() for c in MONTHLY_COLUMNS}, active_customers=(cm.orders > 0).sum(),
        ).order_by("month"))
    df["orders"] = df["orders"].astype("int64")
    df["active_customers"] = df["active_customers"].astype("int64")
    return df[["month", *MONTHLY_COLUMNS, "active_customers"]]


GRAINS = {"quarter": ("Q", 3), "year": ("Y", 12)}


def customer_period_facts(backend, filters: Filters, grain: str = "quarter") -> pd.DataFrame:
    """One row per customer and calendar quarter (or year) of the filtered months, unordered.

    Columns: period (first day, datetime64), customer_id, revenue, gross_profit, account_profit,
    orders, complete (True when the whole quarter/year lies inside the months the database
    covers). A group-by over customer_month: the reference ``concentration_over_time`` is
    tested against.
    """
    unit, months = GRAINS[grain]
    base = backend.table("customer_month")
    ext = to_frame(base.aggregate(first=base.month.min(), last=base.month.max()))
    cm = apply_filters(base, filters)
    cm = cm.mutate(period=cm.month.truncate(unit))
    out = cm.group_by("period", "customer_id").aggregate(
        revenue=cm.revenue.sum(), gross_profit=cm.gross_profit.sum(),
        account_profit=cm.account_profit.sum(), orders=cm.orders.sum(),
    )
    df = to_frame(out)  # in no particular order: sorting 2M (period, customer) rows cost seconds
    df["period"] = pd.to_datetime(df["period"])
    df["orders"] = df["orders"].astype("int64")
    last_start = pd.Timestamp(ext["last"].iloc[0]) - pd.DateOffset(months=months - 1)
    df["complete"] = (df["period"] >= pd.Timestamp(ext["first"].iloc[0])) & (df["period"] <= last_start)
    return df


def concentration_over_time(backend, filters: Filters, value: str, grain: str = "quarter",
                            p: float = 0.2) -> pd.DataFrame:
    """Gini and top-``p`` share of ``value`` per calendar quarter (or year) of the filtered
    months: ``analytics.pareto.over_time`` of ``customer_period_facts`` (the tests compare the
    two) without a row per customer and quarter. Each quarter's population (every customer
    with activity for account profit, with an order otherwise, as ``pareto.population``) is
    held sorted by value in memory, so a filter change only selects from it.
    Columns: period, complete, customers, total, gini, top_share."""
    if value not in ("revenue", "gross_profit", "account_profit"):
        raise ValueError(f"cannot measure the concentration of {value!r}")
    if not 0 < p <= 1:
        raise ValueError(f"p must be in (0, 1], got {p}")
    _, months = GRAINS[grain]
    cols = ["period", "complete", "customers", "total", "gini", "top_share"]
    r = resident.of(backend)
    first, last = r.extent()
    if first is None:
        return pd.DataFrame(columns=cols)
    population = "rows" if value == "account_profit" else "orders"
    select = _selector(backend, filters)
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


def data_coverage(backend) -> dict[str, bool]:
    """Which optional data the database holds, read from the pre-aggregate: cost (cost of
    goods on order lines), cost_to_serve, discount, returns. False means every value is zero or
    missing (a file with only customer, date and amount: gross profit then equals revenue and
    account profit equals gross profit)."""
    cols = ("cost", "cost_to_serve", "discount", "returns")
    if isinstance(backend, Backend):  # plain SQL: the overview asks on its first render, without Ibis
        sql = "SELECT " + ", ".join(f"bool_or({c} <> 0) AS {c}" for c in cols) + " FROM customer_month"
        row = sql_table(backend, sql).to_pylist()[0]
        return {c: bool(row[c]) for c in cols}
    cm = backend.table("customer_month")
    row = to_frame(cm.aggregate(**{c: (cm[c] != 0).any() for c in cols}))
    return {c: bool(row[c].iloc[0]) if pd.notna(row[c].iloc[0]) else False for c in cols}


def schema_version(backend) -> int:
    meta = backend.table("meta").execute()
    row = meta.loc[meta["key"] == "schema_version", "value"]
    return int(row.iloc[0]) if len(row) else 0


assert set(DIMENSIONS) <= set(schema.CUSTOMER_MONTH_COLUMNS)


# ---------------------------------------------------------------- retention and lifetime value
# Customer attributes a retention/CLV result can be grouped by. Equity by segment or KA type
# joins another column here (one more entry) once those are stored per customer.
GROUP_COLUMNS = ("region", "customer_type", "sector", "account_manager")
TIME_UNIT_DAYS = {"D": 1.0, "W": 7.0}


def _customers_in(backend, filters: Filters):
    """Customer ids passing the dimension filters (the period does not restrict who is modelled)."""
    cu = backend.table("customers")
    preds = _customer_predicates(backend, cu, filters)
    return cu.filter(*preds).select("customer_id") if preds else None


def purchase_days(backend, filters: Filters | None = None, end: date | None = None):
    """Ibis table: one row per customer and purchase day (same-day orders merged), columns
    customer_id, order_date, revenue (net revenue of the day). A purchase day is a day with at least one
    line that is not negative (free goods count: an order happened); days with only returns or
    credit notes are not purchases."""
    ol = backend.table("order_lines")
    if end is not None:
        ol = ol.filter(ol.order_date <= end)
    if filters is not None:
        keep = _customers_in(backend, filters)
        if keep is not None:
            ol = ol.semi_join(keep, "customer_id")
    days = ol.group_by(["customer_id", "order_date"]).aggregate(
        revenue=ol.revenue.sum(), bought=(ol.revenue >= 0).any())
    return days.filter(days.bought).drop("bought")


def rfm_summary(backend, calibration_end: date, time_unit: str = "W",
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
        held = _held_rfm(backend)
        if held is not None and np.datetime64(calibration_end, "D") >= held[0]:
            return _rfm_from_held(backend, held, calibration_end, time_unit, filters)[0]
    return _rfm_query(backend, calibration_end, time_unit, filters, holdout_end)


def _held_rfm(backend) -> tuple | None:
    """(last order date, pos, frequency, first day, last day, monetary_value, first_value,
    revenue): the RFM summary of every customer with a purchase day to the last order date,
    in customer key order (``pos`` = ``ck - 1``, int32; frequency int32; days as int32 days
    since 1970); None without order lines. What does not depend on the filters or the
    calibration end (T does), read once per backend and held in ``resident``."""
    r = resident.of(backend)

    def last_day():
        return r._sql("SELECT max(order_date) AS d FROM order_lines").to_pylist()[0]["d"]

    last = r.memo("last_order_line", last_day)
    if last is None:
        return None

    def make():
        df = _rfm_query(backend, last, "D")
        ids = df["customer_id"].to_numpy(dtype=object)
        pos = np.searchsorted(r.keys.customer_id, ids)
        if len(pos) and (pos.max() >= r.keys.n or not (r.keys.customer_id[pos] == ids).all()):
            raise ValueError("order lines of customers without a customer key")
        days = lambda c: df[c].to_numpy().astype("datetime64[D]").astype(np.int32)  # noqa: E731
        return (np.datetime64(last, "D"), pos.astype(np.int32), df["frequency"].to_numpy().astype(np.int32),
                days("first_date"), days("last_date"),
                *(df[c].to_numpy(dtype=np.float64) for c in ("monetary_value", "first_value", "revenue")))

    return r.derived(("rfm",), make)


def _rfm_from_held(backend, held: tuple, calibration_end: date, time_unit: str,
                   filters: Filters | None) -> tuple[pd.DataFrame, np.ndarray]:
    """(RFM summary frame, customer positions of its rows) from ``_held_rfm`` for the customers
    the filters select, T to ``calibration_end``."""
    _, pos, freq, first, last, mv, fv, rev = held
    unit = TIME_UNIT_DAYS[time_unit]
    if filters is not None and filters.restricts_customers():
        sel = np.flatnonzero(customer_mask(backend, filters)[pos])
        pos, freq, first, last, mv, fv, rev = (a[sel] for a in (pos, freq, first, last, mv, fv, rev))
    cal = int(np.datetime64(calibration_end, "D").astype(np.int64))
    df = pd.DataFrame({
        "customer_id": resident.of(backend).keys.ids.take(pos),
        "frequency": freq.astype(np.int64),
        "recency": (last - first).astype(np.float64) / unit,
        "T": (cal - first).astype(np.float64) / unit,
        "monetary_value": mv, "first_value": fv, "revenue": rev,
        "first_date": first.astype("datetime64[D]").astype("datetime64[ms]"),
        "last_date": last.astype("datetime64[D]").astype("datetime64[ms]"),
    })
    return df, pos


def _rfm_query(backend, calibration_end: date, time_unit: str = "W",
               filters: Filters | None = None, holdout_end: date | None = None) -> pd.DataFrame:
    """``rfm_summary`` as a query over the order lines (any calibration end, holdout)."""
    unit = TIME_UNIT_DAYS[time_unit]
    days = purchase_days(backend, filters, calibration_end)
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
    ol = backend.table("order_lines")
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
        later = purchase_days(backend, filters, holdout_end)
        later = later.filter(later.order_date > calibration_end)
        hold = later.group_by("customer_id").aggregate(holdout_frequency=later.count())
        out = out.left_join(hold, "customer_id").select(
            out, holdout_frequency=hold.holdout_frequency.fill_null(0).cast("int64"))
    df = to_frame(out.order_by("customer_id"))
    df["frequency"] = df["frequency"].astype("int64")
    return df


def repeat_purchase_track(backend, calibration_end: date, holdout_end: date, time_unit: str = "W",
                          filters: Filters | None = None) -> pd.DataFrame:
    """Repeat purchase days per period, for the customers whose first purchase falls on or
    before ``calibration_end``, up to ``holdout_end``. Period k covers days
    [start + k·unit, start + (k+1)·unit) with start = the earliest first purchase day.
    Columns: period, repeat_purchases."""
    unit = int(TIME_UNIT_DAYS[time_unit])
    days = purchase_days(backend, filters, holdout_end)
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


def _activity_counts(backend, filters: Filters, freq: str, which: str) -> tuple[int, int, np.ndarray]:
    """(base, n, counts per code) of ``resident.activity``'s ``which`` code (``cohort`` or
    ``gap``) over the customers passing the dimension, customer and tier filters (the period
    does not restrict who): dimension filters add up the rows of ``activity_table`` (per
    combination of dimension values), customer and tier filters select rows."""
    r = resident.of(backend)
    base, n, n_rows, cohort_code, gap_code = r.activity(freq)
    base, n = int(base), int(n)
    width = n * (n + (which == "gap"))
    if not filters.names_customers():
        table = r.activity_table(freq, which)
        if table is not None:
            return base, n, table[r.combo_mask(filters.dimension_values())].sum(axis=0, dtype=np.int64)
    code = cohort_code if which == "cohort" else gap_code
    if filters.restricts_customers():
        code = code[np.repeat(customer_mask(backend, filters), n_rows)]
    return base, n, np.bincount(code, minlength=width)


def cohort_counts(backend, filters: Filters, freq: str = "M") -> pd.DataFrame:
    """Active customers per cohort and period: cohort = period (month ``M`` or quarter ``Q``) of
    the customer's first order, a customer is active in a period with at least one order.
    Dimension filters apply; the whole history is used (the cohort window is chosen later).
    Columns: cohort, period, customers (cohort and period are the first day of the month/quarter).

    Counted in memory (``resident.activity``: every customer's months with an order, read once)
    over the customers the filters select; the tests check it against the group-by over
    customer_month."""
    unit = "Q" if freq == "Q" else "M"
    base, n, counts = _activity_counts(backend, filters, unit, "cohort")
    nz = np.flatnonzero(counts)  # cohort-major: ordered by cohort, then period
    cohort, period = np.divmod(nz, n) if n else (nz, nz)
    step = 3 if unit == "Q" else 1
    return pd.DataFrame({"cohort": _month_starts((base + cohort) * step),
                         "period": _month_starts((base + period) * step),
                         "customers": counts[nz].astype(np.int64)})


def activity_gaps(backend, filters: Filters) -> pd.DataFrame:
    """Months with an order per customer, counted by the gap to that customer's next month with
    an order (``gap`` in months; null when there is none yet). Feeds the defection rate.
    Columns: month, gap, rows (ordered by month, then gap, none last).

    Counted in memory like ``cohort_counts``."""
    base, n, counts = _activity_counts(backend, filters, "M", "gap")
    nz = np.flatnonzero(counts)
    month, gap = np.divmod(nz, n + 1)
    return pd.DataFrame({"month": _month_starts(base + month),
                         "gap": np.where(gap == n, np.nan, gap.astype(np.float64)),
                         "rows": counts[nz].astype(np.int64)})


def value_inputs(backend, as_of: date, time_unit: str = "W",
                 filters: Filters | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, np.ndarray]:
    """What valuing the accounts needs, row for row: (``rfm_summary`` to ``as_of``, their
    ``customer_margins`` to ``as_of``, their name, name_zh and GROUP_COLUMNS, their customer
    positions ``ck - 1``). The margins are
    the running totals held in memory (``resident``), the attributes those read once per
    backend: nothing here joins on customer_id."""
    r = resident.of(backend)
    held = _held_rfm(backend)
    if held is not None and np.datetime64(as_of, "D") >= held[0]:
        rfm, pos = _rfm_from_held(backend, held, as_of, time_unit, filters)
    else:
        rfm = _rfm_query(backend, as_of, time_unit, filters)
        pos = np.searchsorted(r.keys.customer_id, rfm["customer_id"].to_numpy(dtype=object))
    month = _bounds(backend, None, month_start(as_of))[0]  # before the data: zeros either way
    tot = r.at(month, "revenue", "gross_profit", "cost_to_serve", "order_days")
    margins = pd.DataFrame({"customer_id": rfm["customer_id"].array,
                            **{c: tot[c][pos] for c in ("revenue", "gross_profit", "cost_to_serve", "order_days")}})
    codes = attribute_codes(backend)
    attrs = pd.DataFrame({c: resident.strings(codes[c].take(pos)) for c in ("name", "name_zh", *GROUP_COLUMNS)})
    return rfm, margins, attrs, pos


def customer_attributes(backend, ids=None) -> pd.DataFrame:
    """Customer attributes for naming and grouping model results. Columns: customer_id, name,
    name_zh, plus GROUP_COLUMNS."""
    cu = backend.table("customers").select("customer_id", "name", "name_zh", *GROUP_COLUMNS)
    return to_frame(cu.order_by("customer_id"))


def customer_margins(backend, end: date | None = None) -> pd.DataFrame:
    """Per customer up to ``end``: revenue, gross_profit, cost_to_serve, order_days (from the
    customer_month pre-aggregate). Turns modelled revenue into profit after the fit."""
    cm = backend.table("customer_month")
    if end is not None:
        cm = cm.filter(cm.month <= month_start(end))
    out = cm.group_by("customer_id").aggregate(
        revenue=cm.revenue.sum(), gross_profit=cm.gross_profit.sum(),
        cost_to_serve=cm.cost_to_serve.sum(), order_days=cm.order_days.sum())
    return to_frame(out.order_by("customer_id"))


# ---------------------------------------------------------------- customer features (segments)

FEATURES = ("recency", "frequency", "revenue", "gross_profit", "account_profit", "margin",
            "growth", "breadth", "tenure", "regularity")
FEATURE_ATTRIBUTES = ("name", "name_zh", "customer_type", "sector", "region", "parent_id",
                      "referred_by")


def _month_end(d: date) -> date:
    return date.fromordinal(add_months(d, 1).toordinal() - 1)


def customer_features(backend, filters: Filters, breadth: bool = True) -> pd.DataFrame:
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
    r = resident.of(backend)
    cm = backend.table("customer_month")
    data_end = last_order_date(backend)
    end = filters.end or month_start(data_end)
    as_of = min(_month_end(end), data_end)
    start = filters.start
    n_months = filters.months if start else None
    # Running totals at the period's end, before its start, and 12 and 24 months before its
    # end (a month after the data reads the last month's totals: nothing happened since).
    last = last_month(backend)
    at = lambda m: min(m, last) if m and last else None  # noqa: E731
    e_m, b_m = at(end), at(add_months(start, -1) if start else None)
    y1_m, y2_m = at(add_months(end, -12)), at(add_months(end, -24))
    idx = np.flatnonzero((r.period(e_m, b_m, "orders")["orders"] > 0) & customer_mask(backend, filters))
    p = r.period(e_m, b_m, "revenue", "gross_profit", "account_profit", "order_days", "orders",
                 "active_months", idx=idx)
    order = resident.order_desc(p["revenue"])  # ranked first, ties by customer_id
    idx, p = idx[order], {c: v[order] for c, v in p.items()}
    rev = r.at(e_m, "revenue")["revenue"]
    y1, y2 = r.at(y1_m, "revenue")["revenue"], r.at(y2_m, "revenue")["revenue"]
    df = pd.DataFrame({
        "customer_id": r.keys.ids.take(idx),
        **{c: p[c] for c in ("revenue", "gross_profit", "account_profit", "orders", "active_months")},
        "frequency": p["order_days"].astype(float),
        "revenue_last12": resident.snap(rev[idx], y1[idx]),
        "revenue_prev12": resident.snap(y1[idx], y2[idx]),
        "first_order_date": resident.to_datetime64(r.keys.first_order[idx]),
        "last_order_date": resident.to_datetime64(r.at(e_m, "last_order")["last_order"][idx]),
    })
    if n_months is None:  # open-ended: the period starts at each customer's first month in it
        # (a rare path: the app's period always has both ends)
        m = cm.filter(cm.month >= start) if start else cm
        first = to_frame(m.group_by("customer_id").aggregate(first_month=m.month.min()))
        df = df.merge(first, on="customer_id", how="left")
        df["first_month"] = pd.to_datetime(df["first_month"])
    codes = attribute_codes(backend)
    df = pd.concat([df, pd.DataFrame({c: codes[c].take(idx) for c in FEATURE_ATTRIBUTES})], axis=1)
    if breadth and len(df):
        ol = backend.table("order_lines")
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


def scope_customers(backend) -> pd.DataFrame:
    """customer_id and the filter dimensions (region, customer_type, sector, account_manager)
    of every customer: what a user's scope (``kamdash.access``) is resolved against, and what
    the sidebar's options within a scope come from (``access.options_within``)."""
    cu = backend.table("customers")
    return to_frame(cu.select("customer_id", *DIMENSIONS).order_by("customer_id"))


def scope_known(customers: pd.DataFrame) -> dict[str, set[str]]:
    """The values an entitlement's scope may name, per scope kind."""
    return {"regions": set(customers["region"].dropna().astype(str)),
            "managers": set(customers["account_manager"].dropna().astype(str)),
            "customers": set(customers["customer_id"].astype(str))}


def customer_links(backend) -> pd.DataFrame:
    """How customers are linked, for all customers: customer_id, name, name_zh, parent_id,
    referred_by (group accounts and referral chains)."""
    cu = backend.table("customers")
    return to_frame(cu.select("customer_id", "name", "name_zh", "parent_id", "referred_by")
                    .order_by("customer_id"))


# ---------------------------------------------------------------- account health (my accounts)

CATEGORY_BITS = 64  # months of category history held per account and category (bit k = k months before)


def purchase_day_rows(backend) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every purchase day of every customer: (customer position ``ck - 1`` (int32), day (int32
    days since 1970), net revenue of the day), in customer key order, then by day. A purchase
    day is a day with a line that is not negative (the rule of ``purchase_days``). What is
    known at any past date is a prefix of each customer's rows, so rhythm, RFM and P(alive)
    as of any month are array work on these rows. Read once per backend, held in ``resident``."""
    r = resident.of(backend)

    def make():
        t = r._sql(
            "SELECT k.ck, datediff('day', DATE '1970-01-01', o.order_date)::INTEGER AS d, "
            "sum(o.revenue) AS revenue FROM order_lines o JOIN customer_key k USING (customer_id) "
            "GROUP BY k.ck, o.order_date HAVING bool_or(o.revenue >= 0) ORDER BY k.ck, d")
        return ((t["ck"].to_numpy() - 1).astype(np.int32), t["d"].to_numpy().astype(np.int32),
                t["revenue"].to_numpy(zero_copy_only=False).astype(np.float64))
    return r.derived(("purchase_days",), make)


def category_spend(backend, now: date) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per customer (rows ``ck - 1``) and product category, as of the end of month ``now``:
    (categories (sorted names), revenue in the 12 months up to ``now`` (float64, customers x
    categories), revenue before those 12 months (float64), months with positive revenue in the
    category (uint64 bits: bit k = ``k`` months before ``now``, the last CATEGORY_BITS months)).
    Lines without a category are left out; no categories at all gives an empty category list.
    Read from the order lines once per ``now`` (no pre-aggregate holds products), held in
    ``resident``."""
    r = resident.of(backend)

    def make():
        after = add_months(month_start(now), 1)
        t = r._sql(
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
        cats = np.asarray(sorted(set(t["category"].to_pylist())), dtype=object)
        n, c = r.keys.n, len(cats)
        spend, before = np.zeros((n, c)), np.zeros((n, c))
        bits = np.zeros((n, c), dtype=np.uint64)
        if len(cats):
            row = t["ck"].to_numpy() - 1
            col = np.searchsorted(cats, np.asarray(t["category"].to_pylist(), dtype=object))
            spend[row, col] = t["spend"].to_numpy(zero_copy_only=False)
            before[row, col] = t["before"].to_numpy(zero_copy_only=False)
            bits[row, col] = t["bits"].to_numpy(zero_copy_only=False).astype(np.uint64)
        return cats, spend, before, bits
    return r.derived(("category_spend", month_start(now)), make)


def month_totals(backend, months: list[date], *cols: str, hold: bool = False) -> dict[str, np.ndarray]:
    """Running totals of ``cols`` at the end of each of ``months`` (None or before the data:
    zeros), stacked: ``{col: array (len(months), customers)}``. Differences of two rows are a
    period's totals per customer (``resident``). ``hold``: keep the month columns read (by
    default they are read for a value derived once and kept itself)."""
    r = resident.of(backend)
    last, first = last_month(backend), r.extent()[0]
    out = {c: [] for c in cols}
    for m in months:
        at = None if (m is None or first is None or m < pd.Timestamp(first).date()) else min(m, last)
        got = r.at(at, *cols, hold=hold)
        for c in cols:
            out[c].append(got[c])
    return {c: np.stack(v) for c, v in out.items()}
