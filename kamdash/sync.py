"""Refreshing the sales database from a company source (kamdash.ingest.sources).

The source's engine adds the order lines up (``sources.order_month``, ``sources.month_totals``);
only those totals and the small tables (customers, products, cost-to-serve) come back, and
``store.build_sales_db`` builds a new database from them exactly as from files (customer_month,
running totals, checks) and swaps it in atomically: on any error the current database is
unchanged.

Incremental by month: the new file keeps the months' fingerprint (``source_months``: lines,
revenue, cost, discount and returns per month) and the order totals (``order_month``). A
refresh computes the fingerprint again (one light pass the engine does), asks the engine for
the totals of the months whose fingerprint changed or is new, and copies the other months from
the current file. A change that leaves every count and sum of a month as it was is not seen:
``full=True`` recomputes every month.

When the customers and products are as they were, the refresh updates a copy of the current
file from the first changed month on (``store.update_sales_db``: the changed months' order
totals and cost-to-serve replaced, customer_month and the running totals written again from
that month, the earlier months kept): about one month's work for a new month. Otherwise, or
when a changed month names a customer id the file has no key for, the file is built whole
from the months' totals (the unchanged months' copied from the current file).

A refresh that finds every month's fingerprint, the customers and products (a hash of their
rows) and cost-to-serve's months as they were leaves the database file alone, byte for byte,
and says so (mode ``unchanged``): the engine's part is the fingerprint pass and the small
tables, the local build does not run.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Callable

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from kamdash import config, store
from kamdash.ingest import sources
from kamdash.ingest.problems import problem
from kamdash.ingest.sources import Source, SourceError

SETTING_KEY = "source"  # the source and its mapping, in the user database (never a password)
MONTHS_SCHEMA = pa.schema([("month", pa.date32()), ("lines", pa.int64())]
                          + [(c, pa.float64()) for c in ("revenue", "cost", "discount", "returns")])
COST_MONTHS_SCHEMA = pa.schema([("month", pa.date32()), ("rows", pa.int64()), ("amount", pa.float64())])
CTS_SCHEMA = pa.schema([("customer_id", pa.string()), ("month", pa.date32()),
                        ("cost_type", pa.string()), ("amount", pa.float64())])


@dataclass
class SyncResult:
    meta: dict
    mode: str  # full, incremental or unchanged (nothing changed at the source: file untouched)
    months: int  # months the source computed
    months_total: int
    rows: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # the first month the local build wrote again (the earlier months of the file were kept);
    # None when the file was built whole or left alone
    since: date | None = None

    def as_dict(self) -> dict:
        return {"ok": True, "mode": self.mode, "months_computed": self.months,
                "months": self.months_total, "rows": self.rows, "warnings": self.warnings,
                "rebuilt_from": self.since.isoformat() if self.since else None,
                "seconds": round(self.seconds, 2), "meta": self.meta}


def source_key(source: Source) -> str:
    return hashlib.sha1(json.dumps(source.as_dict(), sort_keys=True).encode()).hexdigest()[:16]


def saved_source(user_db) -> dict | None:
    """The source saved by the last successful sync (url, tables, overrides, last_refresh,
    mode), or None."""
    try:
        return store.get_setting(user_db, SETTING_KEY)
    except Exception:  # an unreadable user database: no saved source to offer
        return None


def _run(where: str, what: Callable):
    """Run one query on the source, its failures said for a person."""
    try:
        return what()
    except SourceError:
        raise
    except Exception as exc:
        text = str(exc)
        low = text.lower()
        detail = text.strip().splitlines()[0][:200] if text.strip() else type(exc).__name__
        if "permission denied" in low or "insufficient privilege" in low or "access denied" in low:
            raise SourceError([problem(where, None, "-", None, "src_no_rights", detail=detail)]) from exc
        raise SourceError([problem(where, None, "-", None, "src_query_failed", detail=detail)]) from exc


def _arrow(expr, schema: pa.Schema, where: str) -> pa.Table:
    t = _run(where, expr.to_pyarrow)
    return t.select(schema.names).cast(schema)


def _differs(a, b) -> bool:
    if a is None or b is None:
        return (a is None) != (b is None)
    return not math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6)


def _previous(target: Path, key: str) -> tuple[dict, dict] | None:
    """(the fingerprint per month of the current database (month -> row), its meta), when it
    was synced from the same source with the same mapping; else None."""
    if store.check_sales_db(target).problem is not None:
        return None
    con = duckdb.connect(str(target), read_only=True)
    try:
        meta = store.read_meta(con)
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        if meta.get("source_key") != key or not {"source_months", "order_month"} <= tables:
            return None
        months = con.sql("SELECT * FROM source_months").to_arrow_table().to_pylist()
    finally:
        con.close()
    return {r["month"]: r for r in months}, meta


def _fingerprint(tables: dict[str, pa.Table], cost_months: pa.Table | None) -> dict:
    """What changes when a row of customers or products, or a month's count or sum of
    cost-to-serve, changes: for each table its row count and the sum of the rows' hashes (in
    any row order, as an engine may return them), and cost-to-serve's months as the engine
    added them up (compared within rounding: an engine may add in any order)."""
    con = duckdb.connect()
    try:
        out: dict = {}
        for role in sorted(tables):
            t = tables[role]
            con.register("fp_rows", t)
            cols = ", ".join(f'"{c}"' for c in t.column_names)  # our canonical names
            n, h = con.execute(f"SELECT count(*), sum(hash({cols})::HUGEINT) FROM fp_rows").fetchall()[0]
            con.unregister("fp_rows")
            out[role] = [n, str(h)]
        if cost_months is not None:
            out["cost_to_serve"] = [[str(r["month"]), r["rows"], r["amount"]]
                                    for r in cost_months.sort_by("month").to_pylist()]
        return out
    finally:
        con.close()


class _Renumbered(Exception):
    """The changed months name a customer the current database has no key for: its customers
    are numbered again, so it is built whole (from the months' totals it holds)."""


def _partial_plan(old: str | None, new: dict, fingerprints: dict, months: set, todo: list) -> tuple | None:
    """(the first month whose order totals or cost-to-serve changed, the months of
    cost-to-serve to read again) when the current database can be updated from that month on:
    the customers and products are as they were (so are the customer keys) and cost-to-serve
    is still there or still missing. None: build it whole."""
    try:
        old = json.loads(old) if old else None
    except ValueError:
        return None
    if not isinstance(old, dict) or set(old) != set(new):
        return None
    if any(old[role] != new[role] for role in new if role != "cost_to_serve"):
        return None
    before = {r[0]: r[1:] for r in old.get("cost_to_serve", [])}
    after = {r[0]: r[1:] for r in new.get("cost_to_serve", [])}
    cost_todo = sorted(m for m in before.keys() | after.keys()
                       if m not in before or m not in after or before[m][0] != after[m][0]
                       or _differs(before[m][1], after[m][1]))
    gone = [m for m in fingerprints if m not in months]  # months the source no longer has
    changed = [*todo, *gone, *(date.fromisoformat(m) for m in cost_todo)]
    if not changed:
        return None
    return min(changed), [date.fromisoformat(m) for m in cost_todo]


def _same_tables(old: str | None, new: dict) -> bool:
    try:
        old = json.loads(old) if old else None
    except ValueError:
        return False
    if not isinstance(old, dict) or set(old) != set(new):
        return False
    for role, fp in new.items():
        if role != "cost_to_serve":
            if old[role] != fp:
                return False
        elif (len(old[role]) != len(fp)
              or any(a[:2] != b[:2] or _differs(a[2], b[2]) for a, b in zip(old[role], fp))):
            return False
    return True


def _stream(reader: pa.RecordBatchReader, schema: pa.Schema) -> pa.RecordBatchReader:
    """``reader``'s batches with the columns and types of ``schema``."""
    return pa.RecordBatchReader.from_batches(
        schema, (pa.Table.from_batches([b]).select(schema.names).cast(schema).combine_chunks().to_batches()[0]
                 for b in reader if b.num_rows))


def run(target: Path | str, source: Source, password: str | None = None, full: bool = False,
        user_db: Path | str | None = None, currency: str | None = None,
        progress: Callable[[float, str], None] | None = None) -> SyncResult:
    """Refresh the sales database ``target`` from ``source`` (see the module docstring). Raises
    SourceError (nothing changed) when the source cannot be reached, a table or column is
    missing or has the wrong type, rights are lacking or there are no order lines."""
    t0 = time.perf_counter()
    step = progress or (lambda fraction, key: None)
    target = Path(target)
    step(0.0, "connect")
    backend = sources.connect(source, password)
    names = {role: source.tables.get(role, role) for role in sources.ROLES}
    canon, warnings = {}, []
    for role in sources.ROLES:
        try:
            t = sources.table(backend, source, role, names[role])
        except SourceError:
            if role == "order_lines" or role in source.tables:
                raise
            continue  # an optional table the source does not have
        cols = sources.column_mapping(t, role, source.overrides, names[role])
        canon[role] = sources.canonical(t, role, cols)
    if "cost_to_serve" not in canon:
        warnings.append("no cost-to-serve table: account profit equals gross profit")

    step(0.1, "months")
    ol = canon["order_lines"]
    months = _arrow(sources.month_totals(ol), MONTHS_SCHEMA, names["order_lines"])
    if not len(months) or not sum(months["lines"].to_pylist()):
        raise SourceError([problem(names["order_lines"], None, "-", None, "src_empty")])

    step(0.2, "tables")
    small = {role: _arrow(canon[role], _schema_of(role), names[role])
             for role in ("customers", "products") if role in canon}
    for role, id_col in (("customers", "customer_id"), ("products", "product_id")):
        if role in small:  # checked here: the table came back whole anyway
            n = small[role].group_by(id_col).aggregate([(id_col, "count")])
            dups = n.filter(pc.greater(n[f"{id_col}_count"], 1))[id_col].to_pylist()[:5]
            if dups:
                raise SourceError([problem(names[role], None, id_col, d, "duplicate_id") for d in dups])
    cts = sources.cost_month(canon["cost_to_serve"]) if "cost_to_serve" in canon else None
    cost_months = (_arrow(sources.cost_months(canon["cost_to_serve"]), COST_MONTHS_SCHEMA, names["cost_to_serve"])
                   if cts is not None else None)
    tables_fp = _fingerprint(small, cost_months)
    currency = currency or config.currency()

    key = source_key(source)
    previous = None if full else _previous(target, key)
    fingerprints, old_meta = previous if previous is not None else (None, {})
    rows = months.to_pylist()
    if fingerprints is None:
        todo, keep = [r["month"] for r in rows], []
    else:
        same = lambda r, p: not any(_differs(r[c], p[c]) for c in MONTHS_SCHEMA.names[1:])  # noqa: E731
        todo = [r["month"] for r in rows if r["month"] not in fingerprints or not same(r, fingerprints[r["month"]])]
        keep = [r["month"] for r in rows if r["month"] not in todo]
        if (not todo and len(keep) == len(fingerprints) and _same_tables(old_meta.get("source_tables"), tables_fp)
                and old_meta.get("currency") == currency):
            # nothing changed at the source: the database file is left as it is, not rewritten
            result = SyncResult(old_meta, "unchanged", 0, len(rows), {}, warnings, time.perf_counter() - t0)
            _remember(user_db, source, old_meta["built_at"], result)
            step(1.0, "done")
            return result
    # the order totals and cost-to-serve are streamed from the engine into the new file during
    # the build (a month at a time where the engine would hand them over whole), never held
    # whole in this process
    day_masks = backend.name != "pyspark"  # its Ibis compiler has no bitwise OR aggregate
    orders = (sources.order_month(ol, None if fingerprints is None else todo, day_masks=day_masks)
              if todo else None)
    totals = {c: sum(v for v in months[c].to_pylist() if v is not None) for c in MONTHS_SCHEMA.names[1:]}
    counts: dict[str, int] = {}

    def stream_orders(con):
        step(0.3, "orders")
        # a month has at most as many customer totals as lines
        chunks = sources.month_chunks({r["month"]: r["lines"] for r in rows if r["month"] in todo})
        reader = _run(names["order_lines"], lambda: sources.record_batches(backend, orders, chunks))
        con.register("sync_rows", _stream(reader, store.ORDER_MONTH_SCHEMA))
        _run(names["order_lines"], lambda: con.execute("INSERT INTO order_month SELECT * FROM sync_rows"))
        con.unregister("sync_rows")

    def stream_costs(con, months_of_cost):
        sizes = dict(zip(cost_months["month"].to_pylist(), cost_months["rows"].to_pylist()))
        expr = cts if months_of_cost is None else sources.cost_month(canon["cost_to_serve"], months_of_cost)
        chunks = sources.month_chunks({m: n for m, n in sizes.items()
                                       if months_of_cost is None or m in months_of_cost})
        reader = _run(names["cost_to_serve"], lambda: sources.record_batches(backend, expr, chunks))
        con.register("sync_rows", _stream(reader, CTS_SCHEMA))
        _run(names["cost_to_serve"], lambda: con.execute(
            f"INSERT INTO cost_to_serve ({', '.join(CTS_SCHEMA.names)}) "
            f"SELECT {', '.join(CTS_SCHEMA.names)} FROM sync_rows"))
        con.unregister("sync_rows")

    def count_rows(con):
        for table in ("customers", "products", "cost_to_serve", "order_month"):
            counts[table] = con.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]

    meta_extra = {"source_key": key, "source_tables": json.dumps(tables_fp)}
    plan = (None if fingerprints is None or Path(f"{target}.wal").exists()
            else _partial_plan(old_meta.get("source_tables"), tables_fp, fingerprints,
                               {r["month"] for r in rows}, todo))
    if plan is not None:
        since, cost_todo = plan

        def update(con):
            gone = [m for m in fingerprints if m not in keep]  # computed again, or no longer there
            con.execute("DELETE FROM order_month WHERE month IN (SELECT unnest(?::DATE[]))", [gone])
            if orders is not None:
                stream_orders(con)
            if cost_todo:
                con.execute("DELETE FROM cost_to_serve WHERE month IN (SELECT unnest(?::DATE[]))", [cost_todo])
                if cts is not None:
                    stream_costs(con, cost_todo)
            con.execute("DELETE FROM source_months")
            con.register("sync_rows", months)
            con.execute("INSERT INTO source_months SELECT * FROM sync_rows ORDER BY ALL")
            con.unregister("sync_rows")
            if con.execute("SELECT count(*) FROM order_month ANTI JOIN customers USING (customer_id)").fetchall()[0][0]:
                raise _Renumbered()  # a customer id the database does not know yet
            count_rows(con)
            step(0.8, "build")
            return store.Aggregated("order_month", totals, meta_extra)

        try:
            meta = store.update_sales_db(target, update, since, source=source.url, currency=currency)
        except _Renumbered:
            meta = None
        if meta is not None:
            result = SyncResult(meta, "incremental", len(todo), len(rows), counts, warnings,
                                time.perf_counter() - t0, since)
            _remember(user_db, source, meta["built_at"], result)
            step(1.0, "done")
            return result
        orders = (sources.order_month(ol, todo, day_masks=day_masks) if todo else None)

    def fill(con):
        for role, t in small.items():
            con.register("sync_rows", t)
            con.execute(f"INSERT INTO {role} ({', '.join(t.column_names)}) "  # our own names
                        f"SELECT {', '.join(t.column_names)} FROM sync_rows")
            con.unregister("sync_rows")
        if cts is not None:
            stream_costs(con, None)
        for name, t in (("order_month", store.ORDER_MONTH_SCHEMA.empty_table()), ("source_months", months)):
            con.register("sync_rows", t)
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM sync_rows ORDER BY ALL")
            con.unregister("sync_rows")
        if keep:  # unchanged months: their totals as the current file holds them
            old = duckdb.connect(str(target), read_only=True)
            try:
                con.register("sync_rows", old.sql(
                    f"SELECT {', '.join(store.ORDER_MONTH_SCHEMA.names)} FROM order_month "
                    "WHERE month IN (SELECT unnest(?::DATE[]))", params=[keep]).to_arrow_reader())
                con.execute("INSERT INTO order_month SELECT * FROM sync_rows")
                con.unregister("sync_rows")
            finally:
                old.close()
        if orders is not None:
            stream_orders(con)
        added = con.execute("INSERT INTO customers (customer_id) SELECT DISTINCT customer_id "
                            "FROM order_month ANTI JOIN customers USING (customer_id)").fetchall()[0][0]
        if added and "customers" in small:
            warnings.append(f"{added} customer ids in the order lines are not in the customers "
                            "table; they were added without attributes")
        count_rows(con)
        step(0.8, "build")
        return store.Aggregated("order_month", totals, meta_extra)

    meta = store.build_sales_db(target, fill, source=source.url, currency=currency)
    result = SyncResult(meta, "full" if fingerprints is None else "incremental", len(todo), len(rows), counts,
                        warnings, time.perf_counter() - t0)
    _remember(user_db, source, meta["built_at"], result)
    step(1.0, "done")
    return result


def _remember(user_db, source: Source, built_at: str, result: SyncResult) -> None:
    """The source in the user database, with when it was last refreshed (a check that found
    nothing changed counts: the data is as fresh as the source)."""
    if user_db is None:
        return
    when = built_at if result.mode != "unchanged" else datetime.now(timezone.utc).isoformat(timespec="seconds")
    store.put_setting(user_db, SETTING_KEY, {**source.as_dict(), "last_refresh": when, "built_at": built_at,
                                             "mode": result.mode, "months_computed": result.months})


def _schema_of(role: str) -> pa.Schema:
    from kamdash import schema

    types = {"VARCHAR": pa.string(), "DATE": pa.date32(), "DOUBLE": pa.float64()}
    cols = schema.SALES_TABLES[role]
    return pa.schema([(c, types[cols[c].split()[0]]) for c in sources.TABLE_FIELDS[role]])


def password_for(source: Source, secrets: dict | None = None) -> str | None:
    """The source's password: Streamlit secrets (``[source] password``) when given, else
    KAMDASH_SOURCE_PASSWORD; None when neither has one (PostgreSQL may then use ~/.pgpass)."""
    if secrets and secrets.get("password"):
        return str(secrets["password"])
    return config.source_password()
