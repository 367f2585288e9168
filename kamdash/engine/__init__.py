"""The engine: the one door to the sales data.

``connect(target)`` opens a sales database read-only and returns an ``Engine``. The engine owns
the connection (DuckDB's, and an Ibis backend over it made on first use), the per-customer month
columns held in memory with their cache (``kamdash.engine.columns``) and the query lock; every
number a view shows comes from one of its methods. Outside the engine only the store (building,
checking and upgrading files), the importer and sync read or write a sales database.

What a method answers and how it is read:

- *what the database holds* (``data_facts``, ``dimension_options``, ``value_labels``,
  ``data_coverage``, attributes): fixed SQL with bound parameters, read once per engine;
- *a period's numbers* (``customer_facts``, ``period_summary``, ``top_customers``,
  ``concentration_over_time``, ``tier_codes``, ``customer_features``): the running totals at the
  period's last month minus those just before it starts, as arrays held in memory; a filter
  change selects rows of what is held, with no query;
- *retention* (``cohort_counts``, ``activity_gaps``, ``rfm_summary``, ``value_inputs``): every
  customer's months with an order and purchase days, read once and held;
- Ibis expressions where a page asks for something held nowhere (a holdout period, the
  monthly trend of named customers, the products bought in a period).

Filter values reach the database only as bound parameters or Ibis literals. The rules themselves
(ABC tiers, top-p share, Gini, growth) are ``kamdash.analytics``'s; the engine calls them on its
arrays. ``Filters`` is the one filter model; its ``scope`` (a user's customers) is applied here
before anything is added up.

Module-level state of the engine package, all of it:

- ``kamdash.engine._ibis.ibis``: Ibis, imported on first use (about 1 s of CPU that the landing
  page's first chart does not need);
- ``kamdash.engine.columns._malloc_trim``: the C library's ``malloc_trim``, looked up once;
- Arrow's default memory pool: set once, process-wide, to the system allocator when the first
  engine is made (``columns.use_system_memory_pool``), unless ``ARROW_DEFAULT_MEMORY_POOL`` chose
  one.

Everything else lives on an ``Engine`` and goes with it: a new database file gets a new engine
(``kamdash.ui.data`` keeps one per target and reopens it when the file changes), so nothing held
can go stale. Sessions of one server share an engine; its public methods run under its lock.
"""

from __future__ import annotations

import functools
import threading
from pathlib import Path

import pyarrow as pa

from kamdash import config
from kamdash.engine import _account, _customers, _meta, _periods, _retention
from kamdash.engine._ibis import ibis
from kamdash.engine.columns import Keys, MonthColumns
from kamdash.engine.filters import ATTRIBUTE_COLUMNS, FILTER_FIELDS, Filters, add_months, month_start

__all__ = ["ATTRIBUTE_COLUMNS", "FILTER_FIELDS", "Engine", "Filters", "add_months", "connect",
           "month_start"]


def _locked(fn):
    """``fn(engine, ...)`` as a method that runs under the engine's lock (one DuckDB connection
    and one cache are shared by every session of a server)."""
    @functools.wraps(fn)
    def method(self, *args, **kwargs):
        with self.lock:
            return fn(self, *args, **kwargs)
    return method


class Engine:
    """One sales database opened read-only, with what is held in memory from it.

    ``con`` is DuckDB's connection (None for an Ibis URL target other than DuckDB); ``ibis`` an
    Ibis backend over the same connection, made on first use. Each public method's docstring
    says what goes in and what comes out; the implementations live in the private modules
    ``_meta`` (what the database holds), ``_periods`` (a period's numbers), ``_retention``
    (purchase days, cohorts, RFM), ``_customers`` (customer features, account health) and
    ``_account`` (one account's rows, account plans).
    """

    def __init__(self, con, ibis_backend=None):
        self.con = con
        self._ibis = ibis_backend
        self._ibis_lock = threading.Lock()
        self.lock = threading.RLock()
        self.columns = MonthColumns(self)

    @property
    def ibis(self):
        """The Ibis backend over this engine's connection (made on first use)."""
        if self._ibis is None:
            with self._ibis_lock:
                if self._ibis is None:
                    self._ibis = ibis.duckdb.from_connection(self.con)
        return self._ibis

    def sql(self, sql: str, params: list | None = None) -> pa.Table:
        """Run our own fixed DuckDB SQL (values only as bound ``?`` parameters) on a cursor of
        the connection (sessions run in threads) and return Arrow."""
        con = self.con.cursor()
        try:
            return con.sql(sql, params=params).to_arrow_table()
        finally:
            con.close()

    def close(self) -> None:
        """Close the connection (what is held goes with the engine)."""
        if self.con is not None:
            self.con.close()
        elif self._ibis is not None:
            self._ibis.disconnect()

    # ------------------------------------------------------------ held in memory
    @property
    def keys(self) -> Keys:
        """Every customer's key (``ck``, in customer_id order), id and dimension codes."""
        return self.columns.keys

    def derived(self, key: tuple, make):
        """A value derived from the data alone (never from filters), made once by ``make()``
        and kept in the engine's cache under ``key`` (a tuple of arrays and frames)."""
        return self.columns.derived(key, make)

    def held(self, key: tuple):
        """What ``derived`` holds under ``key``, or None (nothing is made)."""
        return self.columns.held(key)

    def held_bytes(self) -> int:
        """Bytes of month columns and derived values held."""
        return self.columns.held_bytes()

    # ------------------------------------------------------------ what the database holds
    data_facts = _locked(_meta.data_facts)
    data_coverage = _locked(_meta.data_coverage)
    schema_version = _locked(_meta.schema_version)
    dimension_options = _locked(_meta.dimension_options)
    value_labels = _locked(_meta.value_labels)
    last_month = _locked(_meta.last_month)
    last_order_date = _locked(_meta.last_order_date)
    attribute_codes = _locked(_meta.attribute_codes)
    attributes_of = _locked(_meta.attributes_of)
    customer_attributes = _locked(_meta.customer_attributes)
    customer_links = _locked(_meta.customer_links)
    scope_customers = _locked(_meta.scope_customers)

    # ------------------------------------------------------------ a period's numbers
    customer_mask = _locked(_periods.customer_mask)
    tier_codes = _locked(_periods.tier_codes)
    customer_facts = _locked(_periods.customer_facts)
    period_values = _locked(_periods.period_values)
    period_summary = _locked(_periods.period_summary)
    top_customers = _locked(_periods.top_customers)
    monthly_totals = _locked(_periods.monthly_totals)
    concentration_over_time = _locked(_periods.concentration_over_time)

    # ------------------------------------------------------------ retention
    rfm_summary = _locked(_retention.rfm_summary)
    repeat_purchase_track = _locked(_retention.repeat_purchase_track)
    cohort_counts = _locked(_retention.cohort_counts)
    activity_gaps = _locked(_retention.activity_gaps)
    value_inputs = _locked(_retention.value_inputs)
    customer_margins = _locked(_retention.customer_margins)

    # ------------------------------------------------------------ customers and accounts
    customer_features = _locked(_customers.customer_features)
    purchase_day_rows = _locked(_customers.purchase_day_rows)
    category_spend = _locked(_customers.category_spend)
    month_totals = _locked(_customers.month_totals)

    # ------------------------------------------------------------ one account, account plans
    account_profile = _locked(_account.account_profile)
    account_months = _locked(_account.account_months)
    account_product_mix = _locked(_account.account_product_mix)
    account_costs = _locked(_account.account_costs)
    plan_lines = _locked(_account.plan_lines)
    plan_costs = _locked(_account.plan_costs)
    product_categories = _locked(_account.product_categories)


def connect(target: str) -> Engine:
    """Open the sales database read-only: a DuckDB file path, or an Ibis URL. DuckDB may use
    at most ``KAMDASH_QUERY_MEMORY`` (1 GB by default; its own default is 80% of the RAM, which
    an unfiltered query over 100M order lines took, next to the arrays held in memory)."""
    if "://" in target:
        backend = ibis.connect(target, read_only=True) if target.startswith("duckdb") else ibis.connect(target)
        engine = Engine(backend.con if backend.name == "duckdb" else None, backend)
    else:
        import duckdb

        con = duckdb.connect(str(Path(target).absolute()), read_only=True)
        # what Ibis sets on a connection it makes (Engine.ibis reuses this connection)
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET python_enable_replacements = false")
        engine = Engine(con)
    if engine.con is not None:
        s = config.SETTINGS["query_memory"]
        limit = config.memory_size(s.env, s.get())  # validated: digits and a unit only
        engine.con.execute(f"SET memory_limit = '{limit}'")
    return engine
