"""The query layer: one filter model, and the tables every page starts from.

Queries are Ibis expressions over the sales database (DuckDB by default). Filter values from
users only ever enter as Ibis literals (``isin``, comparisons), which Ibis renders as escaped
constants: no user text is pasted into SQL here. Everything reads the ``customer_month``
pre-aggregate (built at load time), so a filter change never rescans order lines.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field, replace
from datetime import date

import ibis
import pandas as pd

from kamdash import schema
from kamdash.analytics.pareto import rank_order

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


def to_frame(expr) -> pd.DataFrame:
    """Run an expression and return pandas (through Arrow: several times faster than Ibis's own
    pandas conversion on wide string columns). Dates come back as datetime64."""
    return expr.to_pyarrow().to_pandas(date_as_object=False)


def connect(target: str):
    """Open the sales database read-only: a DuckDB file path or an Ibis URL."""
    if "://" in target:
        return ibis.connect(target, read_only=True) if target.startswith("duckdb") else ibis.connect(target)
    return ibis.duckdb.connect(database=target, read_only=True)


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
    if filters.tiers:
        preds.append(t.customer_id.isin(tier_members(t, filters).customer_id))
    return t.filter(*preds) if preds else t


def customer_tiers(cm, start: date | None, end: date | None,
                   cutoffs: tuple[float, float] = TIER_CUTOFFS_DEFAULT):
    """ABC tier of every customer with an order between ``start`` and ``end`` (months, both
    included), by revenue: an expression with customer_id, revenue, tier.

    ``cm`` is the customer_month table. Customers ranked by revenue descending (ties by
    customer_id); A when the customers above hold less than ``cutoffs[0]`` of the revenue, B
    when less than ``cutoffs[1]``, else C; no positive revenue is always C. The same rule as
    ``kamdash.analytics.pareto.abc_tiers``.
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
    total = per.revenue.sum().over(ibis.window())
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
    tiers = customer_tiers(cm, start, end, filters.tier_cutoffs)
    return tiers.filter(tiers.tier.isin(list(filters.tiers))).select("customer_id")


def data_facts(backend) -> dict:
    """What the database holds: as-of date, extent, row counts, version, currency."""
    meta = backend.table("meta").execute()
    meta = dict(zip(meta["key"], meta["value"]))
    cm = backend.table("customer_month")
    ext = cm.aggregate(first_month=cm.month.min(), last_month=cm.month.max()).execute()
    n_customers = backend.table("customers").count().execute()
    n_lines = int(meta.get("order_lines") or backend.table("order_lines").count().execute())
    as_of = meta.get("as_of") or ""
    return {
        "as_of": date.fromisoformat(as_of) if as_of else ext["last_month"].iloc[0],
        "first_month": pd.Timestamp(ext["first_month"].iloc[0]).date(),
        "last_month": pd.Timestamp(ext["last_month"].iloc[0]).date(),
        "order_lines": n_lines,
        "customers": int(n_customers),
        "data_version": meta.get("data_version", ""),
        "currency": meta.get("currency", "CNY"),
        "source": meta.get("source", ""),
        "built_at": meta.get("built_at", ""),
    }


def dimension_options(backend) -> dict[str, list[str]]:
    """Distinct values of each filter dimension, sorted (for the filter widgets)."""
    cu = backend.table("customers")
    out = {}
    for col in DIMENSIONS:
        values = cu.select(col).distinct().execute()[col].dropna().astype(str)
        out[col] = sorted(values.tolist())
    return out


def value_labels(backend, lang: str) -> dict[tuple[str, str], str]:
    """Display labels of data values in ``lang``: {(column, value): label}."""
    vl = backend.table("value_labels")
    df = vl.filter(vl.lang == lang).execute()
    return {(c, v): lab for c, v, lab in zip(df["column_name"], df["value"], df["label"])}


_LAST_MONTH: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def last_month(backend) -> date | None:
    """The last month of the data (remembered per backend: a new file gets a new backend)."""
    if backend not in _LAST_MONTH:
        cm = backend.table("customer_month")
        v = to_frame(cm.aggregate(last=cm.month.max()))["last"].iloc[0]
        _LAST_MONTH[backend] = None if pd.isna(v) else pd.Timestamp(v).date()
    return _LAST_MONTH[backend]


_LAST_ORDER: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def last_order_date(backend) -> date:
    """The date of the last order in the data (remembered per backend)."""
    if backend not in _LAST_ORDER:
        cm = backend.table("customer_month")
        _LAST_ORDER[backend] = pd.Timestamp(to_frame(cm.aggregate(m=cm.last_order_date.max()))["m"].iloc[0]).date()
    return _LAST_ORDER[backend]


_ATTRIBUTES: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def attributes_by_key(backend) -> pd.DataFrame:
    """ATTRIBUTE_COLUMNS and referred_by of every customer, row ``ck - 1`` for key ``ck`` (read once per
    backend: joining the strings in DuckDB or pandas on every filter change cost more than the
    period's numbers)."""
    if backend not in _ATTRIBUTES:
        k = backend.table("customer_key").select("ck", "customer_id")
        cols = [*ATTRIBUTE_COLUMNS, "referred_by"]
        cu = backend.table("customers").select("customer_id", *cols)
        df = to_frame(k.left_join(cu, "customer_id").select(k.ck, *[cu[c] for c in cols]).order_by("ck"))
        if not (df["ck"].to_numpy() == range(1, len(df) + 1)).all():
            raise ValueError("customer_key.ck is not 1..N")
        _ATTRIBUTES[backend] = df.drop(columns="ck")
    return _ATTRIBUTES[backend]


_NO_MONTH = date(1, 1, 1)  # a month no row has: "no running totals before the period"


def _cum_at(backend, month: date | None):
    """The customer_cum rows of one month (none for ``None``)."""
    cum = backend.table("customer_cum")
    return cum.filter(cum.month == (month or _NO_MONTH))


def _period_bounds(backend, filters: Filters) -> tuple[date | None, date | None]:
    """(month whose running totals end the period, month whose totals are subtracted); the end
    is None when the period ends before the data starts or starts after it ends."""
    last = last_month(backend)
    if last is None:
        return None, None
    end = min(filters.end, last) if filters.end else last
    if filters.start and filters.start > end:
        return None, None
    return end, (add_months(filters.start, -1) if filters.start else None)


def _filters_customers(filters: Filters) -> bool:
    """Whether the filters restrict customers (not only the period)."""
    return bool(any(filters.dimension_values().values()) or filters.customer_ids is not None
                or filters.tiers)


def customer_keys(backend, filters: Filters):
    """customer_key rows (ck, customer_id, dimensions, first_order) passing the dimension,
    customer and tier filters (an expression)."""
    k = backend.table("customer_key")
    preds = _customer_predicates(backend, k, filters)
    return k.filter(*preds) if preds else k


def _customer_predicates(backend, t, filters: Filters) -> list:
    """Predicates on a table with customer_id and the dimension columns for the dimension,
    customer and tier filters."""
    preds = [t[col].isin(list(values)) for col, values in filters.dimension_values().items() if values]
    if filters.customer_ids is not None:
        preds.append(t.customer_id.isin(list(filters.customer_ids)))
    if filters.tiers:
        preds.append(t.customer_id.isin(tier_members(backend.table("customer_month"), filters).customer_id))
    return preds


def _diff(col: str, end: str = "e", start: str = "b") -> str:
    """Running total at the end minus at the start, with the float noise of the subtraction of
    two large totals snapped to 0 (a customer with nothing in the period gets exactly 0)."""
    hi = f"coalesce({end}.{col}, 0)"
    d = f"({hi} - coalesce({start}.{col}, 0))"
    return f"CASE WHEN abs({d}) <= 1e-12 * abs({hi}) THEN 0 ELSE {d} END"


CUSTOMER_FACTS_SQL = """
SELECT k.customer_ck AS ck, k.customer_id, {money}, {counts},
       CASE WHEN e.orders - coalesce(b.orders, 0) > 0
            THEN CASE WHEN b.ck IS NULL THEN k.first_order ELSE b.first_after END END AS first_order_date,
       CASE WHEN e.orders - coalesce(b.orders, 0) > 0 THEN e.last_order END AS last_order_date
FROM ({end}) e
JOIN (SELECT ck AS customer_ck, customer_id, first_order FROM ({keys})) k ON k.customer_ck = e.ck
LEFT JOIN ({start}) b ON b.ck = e.ck
WHERE e.rows - coalesce(b.rows, 0) > 0
"""


def period_customers(backend, filters: Filters) -> pd.DataFrame:
    """One row per customer with any order or cost-to-serve in the filtered period, from the
    running totals (two months of rows read, whatever the period's length): ck, customer_id,
    the MONEY_COLUMNS, the COUNT_COLUMNS, active_months, first_order_date, last_order_date.
    Unordered."""
    end, before = _period_bounds(backend, filters)
    money = ", ".join(f"{_diff(c)} AS {c}" for c in MONEY_COLUMNS)
    counts = ", ".join(f"(e.{c} - coalesce(b.{c}, 0))::BIGINT AS {c}"
                       for c in (*COUNT_COLUMNS, "active_months"))
    sql = CUSTOMER_FACTS_SQL.replace("{money}", money).replace("{counts}", counts)
    return run_sql(backend, sql, end=_cum_at(backend, end), start=_cum_at(backend, before),
                   keys=customer_keys(backend, filters))


def customer_facts(backend, filters: Filters, attributes: bool = True) -> pd.DataFrame:
    """One row per customer with any order or cost-to-serve in the filtered period.

    Columns: customer_id, revenue, cost, gross_profit, discount, returns, cost_to_serve,
    account_profit, orders, order_days, lines, active_months, first_order_date,
    last_order_date, plus (when ``attributes``) name, name_zh, customer_type, sector, region,
    city, account_manager, parent_id. ``active_months`` counts months with an order. Ordered
    by revenue descending, ties by customer_id. Read from the running totals
    (``period_customers``); the tests check it against customer_month and plain pandas.
    """
    df = period_customers(backend, filters)
    # Sorted here, not in DuckDB: sorting rows that carry the attribute strings cost DuckDB
    # ~0.5 s at 170k customers; numpy sorts the revenue column in milliseconds. The attribute
    # strings are then taken once, in that order.
    df = df.take(rank_order(df["revenue"], df["customer_id"])).reset_index(drop=True)
    if attributes:
        attrs = attributes_by_key(backend)[list(ATTRIBUTE_COLUMNS)]
        df = pd.concat([df, attrs.take(df["ck"].to_numpy() - 1).reset_index(drop=True)], axis=1)
    df = df.drop(columns="ck")
    for c in COUNT_COLUMNS + ("active_months",):
        df[c] = df[c].astype("int64")
    return df


def _periods(filters: Filters, periods: int) -> list[Filters]:
    ranges = [filters]
    for _ in range(periods - 1):
        ranges.append(ranges[-1].previous())
    return ranges


PERIOD_ROWS_SQL = """SELECT {i} AS period, e.ck AS customer_id, {money},
       e.orders - coalesce(b.orders, 0) AS orders
FROM ({e}) e SEMI JOIN ({keys}) k ON k.ck = e.ck LEFT JOIN ({b}) b ON b.ck = e.ck
WHERE e.rows - coalesce(b.rows, 0) > 0"""


def _customer_periods(backend, filters: Filters, periods: int) -> tuple[str, dict]:
    """SQL of per-customer totals of the last ``periods`` periods of the same length, with a
    ``period`` column (0 = the filtered period, 1 = the one before, ...): period, customer_id
    (the integer key ck, which sorts like the customer_id), revenue, gross_profit,
    account_profit, orders; customers with any activity in the period. Each period is two
    month-rows of the running totals. Returns (SQL with slots, relations for ``run_sql``)."""
    money = ", ".join(f"{_diff(c)} AS {c}" for c in ("revenue", "gross_profit", "account_profit"))
    rel, parts, template = {}, [], PERIOD_ROWS_SQL
    if _filters_customers(filters):
        rel["keys"] = customer_keys(backend, filters).select("ck")
    else:  # every customer: no join with the keys
        template = template.replace(" SEMI JOIN ({keys}) k ON k.ck = e.ck", "")
    for i, f in enumerate(_periods(filters, periods)):
        end, before = _period_bounds(backend, f)
        rel[f"e{i}"], rel[f"b{i}"] = _cum_at(backend, end), _cum_at(backend, before)
        parts.append(template.replace("{i}", str(i)).replace("{money}", money)
                     .replace("{e}", f"{{e{i}}}").replace("{b}", f"{{b{i}}}"))
    return "\nUNION ALL\n".join(parts), rel


def run_sql(backend, template: str, **relations) -> pd.DataFrame:
    """Run fixed SQL over Ibis-built relations and return pandas.

    ``template`` is our own SQL text (never user input) with ``{name}`` slots; each slot gets an
    Ibis expression compiled to SQL, which is where filter values live, as escaped literals. Used
    where the Ibis expression for the whole query would cost more to build and compile than the
    database takes to answer it (window functions, joins of aggregates). The template is written
    in DuckDB's SQL dialect.
    """
    sql = template.format(**{k: ibis.to_sql(v, dialect="duckdb") for k, v in relations.items()})
    return backend.con.sql(sql).to_arrow_table().to_pandas(date_as_object=False)


PERIOD_SUMMARY_SQL = """
WITH per AS ({per}),
act AS (SELECT * FROM per WHERE orders > 0),
top AS (SELECT period, count(*) AS active_customers,
               -- the largest ceil(p·N) revenues: sorting the values alone (ties do not change
               -- the sum) is ~50x cheaper than a row_number() window over the rows
               list_sum(list_slice(list_reverse_sort(list(revenue)), 1,
                                   ceil(count(*) * {top_p} - 1e-9)::BIGINT)) AS top_revenue,
               sum(revenue) AS active_revenue
        FROM act GROUP BY period),
tot AS (SELECT period, sum(revenue) AS revenue, sum(gross_profit) AS gross_profit,
               sum(account_profit) AS account_profit
        FROM per GROUP BY period),
lost AS (SELECT o.period - 1 AS period, count(*) AS lost_customers
         FROM act o ANTI JOIN act c ON c.customer_id = o.customer_id AND c.period = o.period - 1
         GROUP BY 1)
SELECT tot.period, tot.revenue, tot.gross_profit, tot.account_profit, top.active_customers,
       top.top_revenue, top.active_revenue, lost.lost_customers
FROM tot LEFT JOIN top USING (period) LEFT JOIN lost USING (period)
ORDER BY tot.period
"""


def period_summary(backend, filters: Filters, periods: int = 3, top_p: float = 0.2) -> pd.DataFrame:
    """KPI totals of the period and the ``periods - 1`` periods before it, computed in the
    database (one scan; nothing per customer leaves DuckDB).

    One row per period (0 = the filtered period, 1 = the one before, ...): revenue,
    gross_profit, account_profit, active_customers (with an order), top_share (revenue share of
    the first ceil(top_p * N) active customers by revenue), lost_customers (active in the period
    after it in the list, i.e. the older one, and not in this one; NaN for the oldest). The
    tests check it by hand and against plain pandas from the order lines.
    """
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    per, relations = _customer_periods(backend, filters, periods)
    df = run_sql(backend, PERIOD_SUMMARY_SQL.replace("{top_p}", repr(float(top_p))).replace("{per}", per),
                 **relations)
    df = df.set_index("period").reindex(range(periods))
    money = ["revenue", "gross_profit", "account_profit"]
    df[money] = df[money].astype("float64").fillna(0.0)
    for col in ("active_customers", "lost_customers"):
        df[col] = df[col].astype("float64").fillna(0.0)
    df.loc[periods - 1, "lost_customers"] = float("nan")
    df["top_share"] = (df["top_revenue"] / df["active_revenue"]).where(df["active_revenue"] > 0)
    return df.drop(columns=["top_revenue", "active_revenue"]).reset_index()


TOP_CUSTOMERS_SQL = """
WITH per AS ({per}),
cur AS (SELECT * FROM per WHERE period = 0 ORDER BY {by} DESC, customer_id LIMIT {n})
SELECT key.customer_id, cur.revenue, cur.gross_profit, cur.account_profit, cur.orders,
       prev.revenue AS previous_revenue, {attributes}
FROM cur
JOIN customer_key AS key ON key.ck = cur.customer_id
LEFT JOIN per AS prev ON prev.customer_id = cur.customer_id AND prev.period = 1
LEFT JOIN customers AS cu ON cu.customer_id = key.customer_id
ORDER BY cur.{by} DESC, cur.customer_id
"""


def top_customers(backend, filters: Filters, n: int = 10, by: str = "revenue") -> pd.DataFrame:
    """The ``n`` largest customers of the period by ``by``, with their revenue in the previous
    period (``previous_revenue``, NaN when none) and their attributes; columns: customer_id,
    revenue, gross_profit, account_profit, orders, previous_revenue, then ATTRIBUTE_COLUMNS."""
    if by not in ("revenue", "gross_profit", "account_profit"):
        raise ValueError(f"cannot rank customers by {by!r}")
    per, relations = _customer_periods(backend, filters, 2)
    sql = (TOP_CUSTOMERS_SQL.replace("{by}", by).replace("{n}", str(int(n))).replace("{per}", per)
           .replace("{attributes}", ", ".join(f"cu.{c}" for c in ATTRIBUTE_COLUMNS)))
    return run_sql(backend, sql, **relations)


def monthly_totals(backend, filters: Filters) -> pd.DataFrame:
    """One row per month of the period: month, revenue, cost, gross_profit, cost_to_serve,
    account_profit, orders, active_customers (customers with an order that month).

    Read from month_cube (per month and combination of dimensions) unless the filters name
    customers or tiers, which only customer_month can answer."""
    if filters.customer_ids is None and not filters.tiers:
        cube = apply_filters(backend.table("month_cube"), filters)
        active = cube.active_customers.sum()
    else:
        cube = apply_filters(backend.table("customer_month"), filters)
        active = (cube.orders > 0).sum()
    out = cube.group_by("month").aggregate(
        revenue=cube.revenue.sum(),
        cost=cube.cost.sum(),
        gross_profit=cube.gross_profit.sum(),
        cost_to_serve=cube.cost_to_serve.sum(),
        account_profit=cube.account_profit.sum(),
        orders=cube.orders.sum(),
        active_customers=active,
    ).order_by("month")
    df = to_frame(out)
    df["active_customers"] = df["active_customers"].astype("int64")
    return df


GRAINS = {"quarter": ("Q", 3), "year": ("Y", 12)}


def customer_period_facts(backend, filters: Filters, grain: str = "quarter") -> pd.DataFrame:
    """One row per customer and calendar quarter (or year) of the filtered months, unordered.

    Columns: period (first day, datetime64), customer_id, revenue, gross_profit, account_profit,
    orders, complete (True when the whole quarter/year lies inside the months the database
    covers).
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


OVER_TIME_SQL = """
WITH per AS ({per}),
pop AS (SELECT period, v FROM per WHERE {population}),
r AS (SELECT period, v,
             row_number() OVER (PARTITION BY period ORDER BY v) AS asc_rank,
             row_number() OVER (PARTITION BY period ORDER BY v DESC) AS desc_rank,
             count(*) OVER (PARTITION BY period) AS n
      FROM pop)
SELECT period, max(n) AS customers, sum(v) AS total, sum(abs(v)) AS size,
       sum((2 * asc_rank - n - 1) * v) AS pairs_half,
       sum(v) FILTER (WHERE desc_rank <= ceil(n * {p} - 1e-9)) AS top_value
FROM r GROUP BY period ORDER BY period
"""


def concentration_over_time(backend, filters: Filters, value: str, grain: str = "quarter",
                            p: float = 0.2) -> pd.DataFrame:
    """``analytics.pareto.over_time`` computed in the database: Gini and top-``p`` share of
    ``value`` per calendar quarter (or year), without bringing 2M (period, customer) rows to
    pandas. Same columns and the same numbers (the tests compare the two): period, complete,
    customers, total, gini, top_share."""
    if value not in ("revenue", "gross_profit", "account_profit"):
        raise ValueError(f"cannot measure the concentration of {value!r}")
    if not 0 < p <= 1:
        raise ValueError(f"p must be in (0, 1], got {p}")
    unit, months = GRAINS[grain]
    base = backend.table("customer_month")
    ext = to_frame(base.aggregate(first=base.month.min(), last=base.month.max()))
    cm = apply_filters(base, filters)
    cm = cm.mutate(period=cm.month.truncate(unit))
    per = cm.group_by("period", "customer_id").aggregate(v=cm[value].sum(), orders=cm.orders.sum())
    population = "TRUE" if value == "account_profit" else "orders > 0"  # as pareto.population
    sql = OVER_TIME_SQL.replace("{population}", population).replace("{p}", repr(float(p)))
    df = run_sql(backend, sql, per=per)
    cols = ["period", "complete", "customers", "total", "gini", "top_share"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    df["period"] = pd.to_datetime(df["period"])
    df["customers"] = df["customers"].astype("int64")
    total, size = df["total"].astype(float), df["size"].astype(float)
    df["total"] = total
    df["gini"] = (df["pairs_half"].astype(float) / (df["customers"] * size)).where(size != 0)
    df["top_share"] = (df["top_value"].astype(float) / total).where(total > 0)
    last_start = pd.Timestamp(ext["last"].iloc[0]) - pd.DateOffset(months=months - 1)
    df["complete"] = (df["period"] >= pd.Timestamp(ext["first"].iloc[0])) & (df["period"] <= last_start)
    return df[cols].reset_index(drop=True)


def data_coverage(backend) -> dict[str, bool]:
    """Which optional data the database holds, read from the pre-aggregate: cost (cost of
    goods on order lines), cost_to_serve, discount, returns. False means every value is zero or
    missing (a file with only customer, date and amount: gross profit then equals revenue and
    account profit equals gross profit)."""
    cm = backend.table("customer_month")
    cols = ("cost", "cost_to_serve", "discount", "returns")
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
    """
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


def cohort_counts(backend, filters: Filters, freq: str = "M") -> pd.DataFrame:
    """Active customers per cohort and period: cohort = period (month ``M`` or quarter ``Q``) of
    the customer's first order, a customer is active in a period with at least one order.
    Dimension filters apply; the whole history is used (the cohort window is chosen later).
    Columns: cohort, period, customers (cohort and period are the first day of the month/quarter).
    """
    cm = apply_filters(backend.table("customer_month"), replace(filters, start=None, end=None))
    cm = cm.filter(cm.orders > 0)
    unit = "Q" if freq == "Q" else "M"
    act = cm.select("customer_id", period=cm.month.truncate(unit)).distinct()
    first = act.group_by("customer_id").aggregate(cohort=act.period.min())
    j = act.join(first, "customer_id")
    out = j.group_by(["cohort", "period"]).aggregate(customers=j.customer_id.nunique())
    df = to_frame(out.order_by(["cohort", "period"]))
    df["customers"] = df["customers"].astype("int64")
    return df


def activity_gaps(backend, filters: Filters) -> pd.DataFrame:
    """Months with an order per customer, counted by the gap to that customer's next month with
    an order (``gap`` in months; null when there is none yet). Feeds the defection rate.
    Columns: month, gap, rows."""
    cm = apply_filters(backend.table("customer_month"), replace(filters, start=None, end=None))
    cm = cm.filter(cm.orders > 0).select("customer_id", "month")
    w = ibis.window(group_by="customer_id", order_by="month")
    nxt = cm.month.lead().over(w)
    g = cm.mutate(gap=(nxt.year() * 12 + nxt.month()) - (cm.month.year() * 12 + cm.month.month()))
    out = g.group_by(["month", "gap"]).aggregate(rows=g.count())
    df = to_frame(out.order_by(["month", "gap"]))
    df["rows"] = df["rows"].astype("int64")
    return df


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


FEATURES_SQL = """
SELECT e.ck, k.customer_id,
       {revenue} AS revenue, {gross_profit} AS gross_profit, {account_profit} AS account_profit,
       (e.order_days - coalesce(b.order_days, 0))::BIGINT AS frequency,
       (e.orders - coalesce(b.orders, 0))::BIGINT AS orders,
       (e.active_months - coalesce(b.active_months, 0))::BIGINT AS active_months,
       {last12} AS revenue_last12, {prev12} AS revenue_prev12,
       k.first_order AS first_order_date, e.last_order AS last_order_date
FROM ({e}) e
JOIN ({keys}) k ON k.ck = e.ck
LEFT JOIN ({b}) b ON b.ck = e.ck
LEFT JOIN ({y1}) y1 ON y1.ck = e.ck
LEFT JOIN ({y2}) y2 ON y2.ck = e.ck
WHERE e.orders - coalesce(b.orders, 0) > 0
"""
for _c in ("revenue", "gross_profit", "account_profit"):
    FEATURES_SQL = FEATURES_SQL.replace("{%s}" % _c, _diff(_c))
FEATURES_SQL = (FEATURES_SQL.replace("{last12}", _diff("revenue", "e", "y1"))
                .replace("{prev12}", _diff("revenue", "y1", "y2")))


def customer_features(backend, filters: Filters, breadth: bool = True) -> pd.DataFrame:
    """Customer features for segmentation, one row per customer with an order in the period.

    Computed in DuckDB from the running totals ``customer_cum`` (four month-rows per customer;
    the dimension, customer and tier filters apply; the period decides the window), as of ``as_of`` = the last day of the period's last month,
    capped at the last order date in the data:

    - recency: days from the last order (up to ``as_of``) to ``as_of``
    - frequency: distinct order days in the period
    - revenue, gross_profit, account_profit: sums over the period (account profit after
      cost-to-serve)
    - margin: account_profit / revenue (NaN when revenue is not positive)
    - revenue_last12, revenue_prev12: revenue of the 12 months ending with the period's last
      month, and of the 12 months before (the period start does not limit these)
    - growth: symmetric change (last12 - prev12) / ((|last12| + |prev12|) / 2), in [-2, 2];
      2 = new in the last 12 months, -2 = nothing in the last 12 months, 0.67 = doubled
    - breadth: distinct products bought in the period (read from ``order_lines`` directly,
      as no pre-aggregate holds products: about 1 s for 4M lines of a 200k-customer year;
      NaN when ``breadth`` is False)
    - tenure: months from the first order ever (up to ``as_of``) to ``as_of``
    - regularity: share of the period's months with an order (0-1)

    plus attributes name, name_zh, customer_type, sector, region, parent_id, referred_by.
    """
    cm = backend.table("customer_month")
    data_end = last_order_date(backend)
    end = filters.end or month_start(data_end)
    as_of = min(_month_end(end), data_end)
    start = filters.start
    n_months = filters.months if start else None
    # Running totals at the period's end, before its start, and 12 and 24 months before its
    # end (a month after the data reads the last month's totals: nothing happened since).
    last = last_month(backend)
    at = lambda m: _cum_at(backend, min(m, last) if m and last else None)  # noqa: E731
    relations = dict(e=at(end), b=at(add_months(start, -1) if start else None),
                     y1=at(add_months(end, -12)), y2=at(add_months(end, -24)),
                     keys=customer_keys(backend, filters).select("ck", "customer_id", "first_order"))
    df = run_sql(backend, FEATURES_SQL, **relations)
    if n_months is None:  # open-ended: the period starts at each customer's first month in it
        # (a rare path: the app's period always has both ends)
        m = cm.filter(cm.month >= start) if start else cm
        first = to_frame(m.group_by("customer_id").aggregate(first_month=m.month.min()))
        df = df.merge(first, on="customer_id", how="left")
    # rank first, then take the attribute strings once, in that order
    df = df.take(rank_order(df["revenue"], df["customer_id"])).reset_index(drop=True)
    attrs = attributes_by_key(backend)[list(FEATURE_ATTRIBUTES)]
    df = pd.concat([df, attrs.take(df["ck"].to_numpy() - 1).reset_index(drop=True)], axis=1)
    for c in ("first_order_date", "last_order_date", "first_month"):
        if c in df:
            df[c] = pd.to_datetime(df[c])
    if breadth and len(df):
        ol = backend.table("order_lines")
        lo = ol.filter(ol.order_date <= as_of)
        if start:
            lo = lo.filter(lo.order_date >= start)
        b = to_frame(lo.group_by("customer_id").aggregate(breadth=lo.product_id.nunique()))
        df["breadth"] = df["customer_id"].map(b.set_index("customer_id")["breadth"]).fillna(0)
    else:
        df["breadth"] = float("nan")
    money = ["revenue", "gross_profit", "account_profit", "revenue_last12", "revenue_prev12"]
    df[money] = df[money].fillna(0.0)
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
    a, p = df["revenue_last12"], df["revenue_prev12"]
    denom = (a.abs() + p.abs()) / 2
    df["growth"] = ((a - p) / denom).where(denom > 0, 0.0)
    df["frequency"] = df["frequency"].astype(float)
    df["as_of"] = as_of_ts
    cols = ["customer_id", *FEATURES, "revenue_last12", "revenue_prev12", "orders",
            "active_months", "first_order_date", "last_order_date", *FEATURE_ATTRIBUTES]
    return df[cols].reset_index(drop=True)


def customer_links(backend) -> pd.DataFrame:
    """How customers are linked, for all customers: customer_id, name, name_zh, parent_id,
    referred_by (group accounts and referral chains)."""
    cu = backend.table("customers")
    return to_frame(cu.select("customer_id", "name", "name_zh", "parent_id", "referred_by")
                    .order_by("customer_id"))
