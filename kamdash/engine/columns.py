"""The engine's per-customer arrays, held in memory between filter changes.

A filter change on a page asks for a period's numbers per customer. The running totals
(``customer_cum``) make any period the totals at its last month minus those just before it
(``store.derive_cumulative``); this module keeps those month columns in memory as numpy arrays
indexed by the customer key (``ck - 1``), so that a filter change is array arithmetic on data
already read: the dimension filters are a boolean mask over the customer attributes' codes, a
period is a subtraction of two arrays. Only a month column not read before costs a query (one
month of one column: ``N`` values, bound parameter for the month).

One ``MonthColumns`` per engine (a new database file gets a new engine, so nothing can go stale);
month columns are kept in a least-recently-used cache of ``KAMDASH_RESIDENT_MB`` megabytes
(default 512, or 96 month columns when that is more: ``budget_bytes``). Thread-safe: Streamlit
sessions share the engine.

This is the deliberate exception to "cache only at the edge" (DESIGN.md): what is held is data
and what depends on the data alone (a period's tiers, places, customer facts and active
customers, each quarter's values sorted, account values from a stored fit), never anything that
depends on the filters; every figure is still computed on every filter change, from the rows the
filters select. Values made once per period read their month columns without keeping them
(``hold=False``), so that they do not push out what a filter change reads. Rows held in another
order than the customer key keep their combination of dimension values (``combo_codes``): a
dimension filter selects them through a small table instead of a per-customer mask read in
random order.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from kamdash import config, schema
from kamdash.analytics.pareto import abc_codes, rank_order
from kamdash.store import NO_DATE, date_days

DATE_COLUMNS = ("last_order", "first_after")
COUNT_COLUMNS = schema.CUMULATIVE_COUNTS
_EPOCH = np.datetime64("1970-01-01", "D")
TABLE_CELLS_PER_ROW = 4  # MonthColumns.activity_table


def use_system_memory_pool() -> None:
    """Arrow's buffers from the C library's allocator, unless the user chose one
    (``ARROW_DEFAULT_MEMORY_POOL``): mimalloc, pyarrow's default, keeps what a first view freed
    where ``release_freed_memory`` gives it back. Called when the first ``MonthColumns`` is made, so
    importing this module changes nothing."""
    if not config.SETTINGS["arrow_memory_pool"].get() and pa.default_memory_pool().backend_name != "system":
        pa.set_memory_pool(pa.system_memory_pool())

BUDGET_MB_DEFAULT = 512
BUDGET_COLUMNS_DEFAULT = 96  # at least this many month columns when KAMDASH_RESIDENT_MB is unset


def budget_bytes(customers: int = 0) -> int:
    """``KAMDASH_RESIDENT_MB`` when set; else 512 MB or room for 96 month columns of
    ``customers`` (8 bytes each), whichever is larger: the concentration page switching
    between three periods holds about 85 columns' worth (each period's customer facts, about
    19 columns' worth, each quarter sorted for the trend, the places), and a cache smaller than
    that makes them again on every period switch (at 1M customers, 512 MB)."""
    raw = config.SETTINGS["resident_mb"].get()
    if raw:
        return int(float(raw) * 1024 * 1024)
    return max(BUDGET_MB_DEFAULT * 1024 * 1024, BUDGET_COLUMNS_DEFAULT * 8 * customers)


def to_datetime64(days: np.ndarray) -> np.ndarray:
    """int32 days since 1970 (NO_DATE for missing) -> datetime64[ns] with NaT."""
    out = (_EPOCH + days.astype("timedelta64[D]")).astype("datetime64[ns]")
    out[days == NO_DATE] = np.datetime64("NaT")
    return out


def snap(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """hi - lo with the float noise of subtracting two large running totals snapped to 0 (a
    customer with nothing in the period gets exactly 0); the same rule as the SQL ``_diff``."""
    d = hi - lo
    d[np.abs(d) <= 1e-12 * np.abs(hi)] = 0.0
    return d


@dataclass(frozen=True)
class Keys:
    """Every customer in ``ck`` order (which is customer_id order)."""

    customer_id: np.ndarray  # numpy StringDType (a quarter of an object array of Python strings:
    # 30 instead of 123 MB at 2M customers); searchsorted and == take object arrays as they are
    ids: object  # the same as a pandas string array (taking rows of it is ~10x cheaper than
    # building a string column from Python strings)
    codes: dict  # dimension -> (int32 codes, np.ndarray of categories); code -1 = missing
    first_order: np.ndarray  # int32 days, NO_DATE when the customer never ordered

    @property
    def n(self) -> int:
        return len(self.customer_id)


class MonthColumns:
    """The customer keys and an LRU cache of running-total month columns of one database."""

    def __init__(self, engine, budget: int | None = None):
        use_system_memory_pool()
        self._engine = weakref.ref(engine)  # the engine owns this object: no cycle
        self._fixed_budget = budget
        self._lock = threading.Lock()
        self._cols: OrderedDict[tuple[date, str], np.ndarray] = OrderedDict()
        self._bytes = 0
        self._small: dict = {}

    @property
    def _budget(self) -> int:
        if self._fixed_budget is None:
            self._fixed_budget = budget_bytes(self.keys.n)
        return self._fixed_budget

    @property
    def keys(self) -> Keys:
        """Every customer's key, id and dimensions (read on first use)."""
        return self.memo("keys", self._read_keys)

    # ------------------------------------------------------------------ reading
    def _sql(self, sql: str, params=None) -> pa.Table:
        return self._engine().sql(sql, params)

    def _read_keys(self) -> Keys:
        t = self._sql(f"SELECT ck, customer_id, {', '.join(schema.DIMENSIONS)}, first_order "
                      "FROM customer_key ORDER BY ck")
        ck = t["ck"].to_numpy()
        if not (ck == np.arange(1, len(ck) + 1)).all():
            raise ValueError("customer_key.ck is not 1..N")
        codes = {}
        for col in schema.DIMENSIONS:
            enc = pc.dictionary_encode(t[col]).combine_chunks()
            idx = enc.indices.to_numpy(zero_copy_only=False)
            idx = np.where(np.isnan(idx), -1, idx).astype(np.int32) if idx.dtype.kind == "f" else idx.astype(np.int32)
            codes[col] = (idx, np.asarray(enc.dictionary.to_pylist(), dtype=object))
        cid = _string_array(t["customer_id"])
        if len(cid) > 1 and not (cid[1:] > cid[:-1]).all():  # searchsorted in mask() relies on it
            raise ValueError("customer_key is not in customer_id order")
        ids = pd.array(pa.chunked_array([t["customer_id"].combine_chunks()]), dtype="str") if len(cid) \
            else pd.array([], dtype="str")
        return Keys(customer_id=cid, ids=ids, codes=codes,
                    first_order=date_days(t["first_order"]))

    def _load(self, month: date, cols: list[str]) -> dict[str, np.ndarray]:
        # databases built before the numpy running totals store the counts as HUGEINT (128-bit;
        # now BIGINT): cast in the database, not through Python ints
        sel = ", ".join(f"CAST({c} AS BIGINT) AS {c}" if c in COUNT_COLUMNS else c for c in cols)
        t = self._sql(f"SELECT ck, {sel} FROM customer_cum WHERE month = ?", [month])
        pos = t["ck"].to_numpy() - 1
        out = {}
        for c in cols:
            if c in DATE_COLUMNS:
                a = np.full(self.keys.n, NO_DATE, dtype=np.int32)
                a[pos] = date_days(t[c])
            else:
                a = np.zeros(self.keys.n, dtype=np.int64 if c in COUNT_COLUMNS else np.float64)
                a[pos] = t[c].to_numpy(zero_copy_only=False)
            out[c] = a
        return out

    def at(self, month: date | None, *cols: str, hold: bool = True) -> dict[str, np.ndarray]:
        """The running totals of ``cols`` at the end of ``month`` for every customer (zeros, or
        NO_DATE for dates, before its first month; all zeros for ``None``). Do not modify.
        ``hold=False``: a column not held already is read but not kept (for values derived
        once and kept themselves, so that reading them does not push out what pages use)."""
        bad = [c for c in cols if c not in schema.CUMULATIVE_COLUMNS and c not in DATE_COLUMNS]
        if bad:
            raise ValueError(f"not a running-total column: {bad}")
        if month is None:
            return {c: (np.full(self.keys.n, NO_DATE, dtype=np.int32) if c in DATE_COLUMNS
                        else np.zeros(self.keys.n, dtype=np.int64 if c in COUNT_COLUMNS else np.float64))
                    for c in cols}
        with self._lock:
            have = {c: self._cols[(month, c)] for c in cols if (month, c) in self._cols}
            for c in have:
                self._cols.move_to_end((month, c))
        missing = [c for c in cols if c not in have]
        if missing and not hold:
            have.update(self._load(month, missing))
        elif missing:
            loaded = self._load(month, missing)
            budget = self._budget  # outside the lock: the first call reads the keys
            with self._lock:
                for c, a in loaded.items():
                    if (month, c) not in self._cols:
                        self._cols[(month, c)] = a
                        self._bytes += a.nbytes
                while self._bytes > budget and len(self._cols) > len(cols):
                    _, old = self._cols.popitem(last=False)
                    self._bytes -= _nbytes(old)
            have.update(loaded)
        return {c: have[c] for c in cols}

    def held_bytes(self) -> int:
        return self._bytes

    def held(self, key: tuple):
        """What ``derived`` holds under ``key``, or None (nothing is made)."""
        with self._lock:
            if key in self._cols:
                self._cols.move_to_end(key)
                return self._cols[key]
        return None

    def derived(self, key: tuple, make) -> tuple:
        """Values derived from the data (not from filters), kept in the same cache: a tuple of
        numpy arrays and pandas frames."""
        value = self.held(key)
        if value is not None:
            return value
        value = make()
        if _nbytes(value) >= RELEASE_AFTER_BYTES:
            release_freed_memory()
        budget = self._budget  # outside the lock: the first call reads the keys
        with self._lock:
            if key not in self._cols:
                self._cols[key] = value
                self._bytes += _nbytes(value)
            while self._bytes > budget and len(self._cols) > 1:
                _, old = self._cols.popitem(last=False)
                self._bytes -= _nbytes(old)
        return value

    def sorted_values(self, end: date | None, before: date | None, value: str,
                      population: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(values ascending, their customer positions, their combinations of dimension values
        (``combo_codes``)) of ``value`` over the months after ``before`` up to ``end``, for every
        customer whose ``population`` column (``rows``: any activity, ``orders``: an order) is
        positive then. Filters select from it."""
        def make():
            # the quarter's month columns are not kept: the sorted values are
            p = self.period(end, before, value, population, hold=False)
            pos = np.flatnonzero(p[population] > 0)
            order = np.argsort(p[value][pos])  # ties do not change the sums taken from it
            pos = pos[order].astype(np.int32)
            return p[value][pos], pos, self.combo_codes(pos)
        return self.derived(("sorted", end, before, value, population), make)

    def combo_codes(self, pos: np.ndarray) -> np.ndarray:
        """The combination of dimension values (``combos``) of the customers at ``pos``, in the
        smallest integer type: kept next to rows held in another order than the customer key,
        a dimension filter selects them by looking up ``combo_mask`` (a table of a few hundred
        entries, in cache) instead of a mask with an entry per customer (millions, in random
        order)."""
        inv, uniq = self.combos()
        return inv[pos].astype(np.int16 if len(uniq) < 2**15 else np.int32)

    def memo(self, name: str, make):
        """A small value computed once per database (``make()``), e.g. its last month."""
        with self._lock:
            if name in self._small:
                return self._small[name]
        value = make()
        with self._lock:
            return self._small.setdefault(name, value)

    def extent(self) -> tuple[date | None, date | None]:
        """(first, last) month of customer_month (None, None when empty)."""
        def make():
            t = self._sql("SELECT min(month) AS f, max(month) AS l FROM customer_month").to_pylist()[0]
            return t["f"], t["l"]
        return self.memo("extent", make)

    def month_cube(self):
        """month_cube as pandas (months x combinations of the dimensions: small)."""
        return self.memo("month_cube", lambda: self._sql("SELECT * FROM month_cube").to_pandas(
            date_as_object=False))

    # ------------------------------------------------------------------ activity (retention)
    def activity(self, freq: str = "M") -> tuple:
        """Every customer's months (``M``) or quarters (``Q``) with an order, as rows in customer
        key order (a customer's rows in time order): ``(base, n, n_rows, cohort_code, gap_code)``.
        ``base`` is the absolute index (year·12 + month − 1, or that // 3 for quarters) of the
        first period with an order; ``n`` the number of periods from there to the last;
        ``n_rows[ck - 1]`` the customer's rows; per row, ``cohort_code`` = cohort · n + period
        (cohort = the customer's first period, both relative to ``base``) and ``gap_code`` =
        period · (n + 1) + periods to the customer's next row (``n`` when there is none). A filter
        selects rows with ``np.repeat(mask, n_rows)``. Read once (not filtered), held in the cache."""
        if freq not in ("M", "Q"):
            raise ValueError(f"unknown cohort frequency {freq!r}")
        return self.derived(("activity", freq), lambda: self._read_activity(freq))

    def _read_activity(self, freq: str) -> tuple:
        t = self._sql("SELECT k.ck, (year(m.month) * 12 + month(m.month) - 1)::INTEGER AS m "
                      "FROM customer_month m JOIN customer_key k USING (customer_id) "
                      "WHERE m.orders > 0 ORDER BY k.ck, m")
        ck = t["ck"].to_numpy().astype(np.int32)
        m = t["m"].to_numpy().astype(np.int32)
        if freq == "Q":
            m = m // 3
            if len(m):  # one row per customer and quarter
                new = np.ones(len(m), dtype=bool)
                new[1:] = (ck[1:] != ck[:-1]) | (m[1:] != m[:-1])
                ck, m = ck[new], m[new]
        base = int(m.min()) if len(m) else 0
        n = int(m.max()) - base + 1 if len(m) else 0
        p = m - base
        n_rows = np.bincount(ck - 1, minlength=self.keys.n).astype(np.int32)
        starts = np.concatenate(([0], np.cumsum(n_rows)[:-1]))[n_rows > 0]
        cohort = np.repeat(p[starts], n_rows[n_rows > 0])
        same = np.zeros(len(p), dtype=bool)
        same[:-1] = ck[1:] == ck[:-1]
        gap = np.full(len(p), n, dtype=np.int32)
        gap[:-1] = np.where(same[:-1], p[1:] - p[:-1], n)
        dt = np.int16 if n * (n + 1) < np.iinfo(np.int16).max else np.int32
        return (np.int64(base), np.int64(n), n_rows, (cohort * n + p).astype(dt),
                (p * (n + 1) + gap).astype(dt))

    def combos(self) -> tuple[np.ndarray, np.ndarray]:
        """(combination of dimension values per customer (int32), the combinations: one row of
        ``schema.DIMENSIONS`` codes each). The dimension filters select whole combinations."""
        def make():
            codes = np.stack([self.keys.codes[c][0] for c in schema.DIMENSIONS], axis=1)
            uniq, inv = np.unique(codes, axis=0, return_inverse=True)
            return inv.reshape(-1).astype(np.int32), uniq.astype(np.int32)
        return self.derived(("combos",), make)

    def combo_mask(self, dims: dict[str, tuple[str, ...]]) -> np.ndarray:
        """Per combination of ``combos()``: True when it passes the dimension filters."""
        _, uniq = self.combos()
        keep = np.ones(len(uniq), dtype=bool)
        for i, col in enumerate(schema.DIMENSIONS):
            if dims.get(col):
                keep &= self._allowed(col, dims[col])[uniq[:, i]]
        return keep

    def activity_table(self, freq: str, which: str) -> np.ndarray | None:
        """``activity(freq)``'s rows counted per combination of dimension values (``combos``)
        and ``which`` code (``cohort`` or ``gap``): int32 (combinations, codes); the dimension
        filters then add up rows of it. None when that table would have more cells than
        TABLE_CELLS_PER_ROW per activity row (many combinations: the rows are cheaper)."""
        base, n, n_rows, cohort_code, gap_code = self.activity(freq)
        code = cohort_code if which == "cohort" else gap_code
        width = int(n) * (int(n) + (which == "gap"))
        inv, uniq = self.combos()
        if len(uniq) * width > TABLE_CELLS_PER_ROW * max(len(code), 1):
            return None

        def make():
            key = np.repeat(inv, n_rows).astype(np.int64) * width + code
            counts = np.bincount(key, minlength=len(uniq) * width)
            return counts.astype(np.int32).reshape(len(uniq), width)
        return self.derived(("activity_table", freq, which), make)

    # ------------------------------------------------------------------ customers
    def _allowed(self, col: str, values) -> np.ndarray:
        """Per code of dimension ``col`` plus one for code -1 (missing, never allowed): whether
        the value is in ``values``. Index it with the codes."""
        cats = self.keys.codes[col][1]
        return np.append(np.isin(cats, np.asarray(list(values), dtype=object)), False)

    def mask(self, dims: dict[str, tuple[str, ...]], customer_ids=None) -> np.ndarray | None:
        """Customers passing the dimension filters (``{column: values}``, empty = all) and, when
        given, in ``customer_ids``; None when nothing restricts."""
        keep = None
        for col, values in dims.items():
            if not values:
                continue
            m = self._allowed(col, values)[self.keys.codes[col][0]]
            keep = m if keep is None else keep & m
        if customer_ids is not None:
            cid = self.keys.customer_id
            ids = np.asarray(sorted(set(customer_ids)), dtype=object)
            pos = np.searchsorted(cid, ids) if len(ids) else np.zeros(0, dtype=np.int64)
            ok = pos < self.keys.n
            pos, ids = pos[ok], ids[ok]
            pos = pos[cid[pos] == ids]
            m = np.zeros(self.keys.n, dtype=bool)
            m[pos] = True
            keep = m if keep is None else keep & m
        return keep

    def period(self, end: date | None, before: date | None, *cols: str,
               idx: np.ndarray | None = None, hold: bool = True) -> dict[str, np.ndarray]:
        """Per customer, ``cols`` summed over the months after ``before`` up to ``end`` (money
        snapped: see ``snap``); all zeros when ``end`` is None. With ``idx`` (customer
        positions), only those customers, in that order (cheaper than all, then a selection)."""
        e, b = self.at(end, *cols, hold=hold), self.at(before, *cols, hold=hold)
        out = {}
        for c in cols:
            hi, lo = (e[c], b[c]) if idx is None else (e[c][idx], b[c][idx])
            out[c] = snap(hi, lo) if hi.dtype.kind == "f" else hi - lo
        return out

    def places(self, end: date | None, before: date | None, value: str) -> np.ndarray:
        """Per customer key: its place (0 = first) in the order of every customer by ``value``
        over the months after ``before`` up to ``end``, descending, ties by customer_id. Any
        subset of customers sorted by value (ties by id) is the subset sorted by place
        (``in_place_order``), which needs no sort: a filter change keeps the period, so the
        sort is paid once per period and value."""
        def make():
            order = order_desc(self.period(end, before, value, hold=False)[value])
            place = np.empty(self.keys.n, dtype=np.int32)
            place[order] = np.arange(self.keys.n, dtype=np.int32)
            return (place,)
        return self.derived(("places", end, before, value), make)[0]

    def tiers(self, end: date | None, before: date | None, cutoffs: tuple[float, float],
              within: np.ndarray | None = None) -> np.ndarray:
        """ABC tier code per customer by revenue over the months after ``before`` up to ``end``,
        among customers with an order then (0 = no order then, 1 = A, 2 = B, 3 = C): the rule of
        ``pareto.abc_codes`` on the customers ranked by revenue descending, ties by customer_id,
        with its C and L (loss) together as C. Tiers count every customer whatever the other
        filters, so they are kept per period like the month columns. Do not modify.
        ``within`` (a mask per customer key) ranks only those customers (a user's scope); those
        tiers are not kept."""
        if within is not None:
            return self._tiers(end, before, cutoffs, within)
        return self.derived(("tiers", end, before, tuple(cutoffs)),
                            lambda: (self._tiers(end, before, cutoffs),))[0]

    def _tiers(self, end, before, cutoffs, within=None) -> np.ndarray:
        p = self.period(end, before, "revenue", "orders", hold=False)
        has = p["orders"] > 0
        act = np.flatnonzero(has if within is None else has & within)
        out = np.zeros(self.keys.n, dtype=np.int8)
        rev = p["revenue"][act]
        order = order_desc(rev)  # act is in ck order: ties by customer_id
        out[act[order]] = np.minimum(abc_codes(rev[order], cutoffs), 2) + 1
        return out


RELEASE_AFTER_BYTES = 32 * 1024 * 1024


def release_freed_memory() -> None:
    """Give the memory freed by a large computation back to the operating system (glibc keeps
    freed heap pages, and raises its threshold for using fresh pages after large arrays are
    freed: at 100M order lines a period's facts left ~0.5 GB of free pages in the process).
    Nothing on other C libraries."""
    global _malloc_trim
    if _malloc_trim is None:
        try:
            import ctypes
            _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _malloc_trim = False
    if _malloc_trim:
        _malloc_trim(0)


_malloc_trim = None


def _string_array(col, chunk: int = 1 << 18) -> np.ndarray:
    """An Arrow string column as a numpy StringDType array, converted a slice at a time (the
    Python strings of one slice exist at once, never those of every customer)."""
    out = np.empty(len(col), dtype=np.dtypes.StringDType())
    for lo in range(0, len(col), chunk):
        out[lo:lo + chunk] = col.slice(lo, chunk).to_numpy(zero_copy_only=False)
    return out


def categorical(arr) -> pd.Categorical:
    """An Arrow string array (or chunked array) as a pandas categorical: the same categories
    (sorted, missing values excluded) and codes as ``pd.Categorical(values)``, made by Arrow's
    dictionary encoding and sort. pandas' own factorizing took 5.5 s and 0.3 GB more for 2M
    customer names, and its check that the categories are unique keeps every category as a
    Python string (190 MB per 2M names); the dictionary's values are unique by construction,
    so that check is skipped."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    enc = pc.dictionary_encode(arr)
    order = pc.array_sort_indices(enc.dictionary).to_numpy()
    rank = np.empty(len(order) + 1, dtype=np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    rank[-1] = -1  # a missing value's index is filled with len(order): code -1
    codes = rank[pc.fill_null(enc.indices, len(order)).to_numpy()]
    cats = pd.Index(pd.array(enc.dictionary.take(order), dtype="str"))
    dtype = pd.CategoricalDtype._from_fastpath(cats, False)
    return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)  # codes made as small as pandas' own


def strings(cat: pd.Categorical):
    """A categorical of strings as a pandas string array (the same values, missing ones
    missing), by an Arrow take of its categories: ``astype("str")`` took 3 s for 1M names."""
    codes = np.asarray(cat.codes)
    return pd.array(pa.array(cat.categories.array).take(pa.array(codes, mask=codes < 0)), dtype="str")


def _nbytes(v) -> int:
    if isinstance(v, tuple):
        return sum(_nbytes(a) for a in v)
    if isinstance(v, pd.DataFrame):
        # a categorical's categories are shared with where its codes were taken from (the
        # attribute codes, one copy per database): only its codes are this frame's
        return int(sum(v[c].cat.codes.nbytes if isinstance(v[c].dtype, pd.CategoricalDtype)
                       else v[c].memory_usage(index=False, deep=False) for c in v.columns))
    return v.nbytes


def order_desc(values: np.ndarray, limit: int | None = None) -> np.ndarray:
    """Positions that sort ``values`` descending, ties by position (rows in customer key order:
    ties by customer_id): ``pareto.rank_order`` with the positions as ids; only the first
    ``limit`` when given (a partition first: the candidates down to the limit-th value)."""
    v = np.asarray(values, dtype=np.float64)
    if limit is not None and limit < len(v):
        if limit <= 0:
            return np.zeros(0, dtype=np.int64)
        cut = -np.partition(-v, limit - 1)[limit - 1]  # the limit-th largest value
        cand = np.flatnonzero(v >= cut)  # ties at the cut included, in position order
        return cand[order_desc(v[cand])][:limit]
    return rank_order(v, np.arange(len(v)))
