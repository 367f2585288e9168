"""What the database holds: its facts, the filter widgets' values, labels and customer
attributes (fixed SQL with bound parameters, or Ibis; each read once per engine)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa

from kamdash import schema
from kamdash.engine import columns
from kamdash.engine._ibis import to_frame
from kamdash.engine.filters import ATTRIBUTE_COLUMNS


def data_facts(eng) -> dict:
    """What the database holds: as-of date, extent, row counts, version, currency (read once per
    eng object: a database file never changes under its eng)."""
    return dict(eng.columns.memo("data_facts", lambda: _data_facts(eng)))


def _data_facts(eng) -> dict:
    meta = eng.sql("SELECT key, value FROM meta").to_pydict()
    meta = dict(zip(meta["key"], meta["value"]))
    row = eng.sql("SELECT (SELECT min(month) FROM customer_month) AS first_month, "
                  "(SELECT max(month) FROM customer_month) AS last_month, "
                  "(SELECT count(*) FROM customers) AS customers").to_pylist()[0]
    n_lines = meta.get("order_lines") or eng.sql(
        "SELECT count(*) AS n FROM order_lines").to_pylist()[0]["n"]
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


def dimension_options(eng) -> dict[str, list[str]]:
    """Distinct values of each filter dimension, sorted (for the filter widgets)."""
    lists = ", ".join(f"list(DISTINCT {col}) AS {col}" for col in schema.DIMENSIONS)  # our own names
    row = eng.sql(f"SELECT {lists} FROM customers").to_pylist()[0]
    return {col: sorted(str(v) for v in (row[col] or []) if v is not None) for col in schema.DIMENSIONS}


def value_labels(eng, lang: str) -> dict[tuple[str, str], str]:
    """Display labels of data values in ``lang``: {(column, value): label}."""
    df = eng.sql("SELECT column_name, value, label FROM value_labels WHERE lang = ?",
                   [lang]).to_pydict()
    return {(c, v): lab for c, v, lab in zip(df["column_name"], df["value"], df["label"])}


def last_month(eng) -> date | None:
    """The last month of the data (remembered per eng object: ``columns.MonthColumns.memo``)."""
    last = eng.columns.extent()[1]
    return None if last is None else pd.Timestamp(last).date()


def last_order_date(eng) -> date:
    """The date of the last order in the data (remembered per eng object)."""
    def make():
        if eng.con is None:  # an Ibis URL target other than DuckDB
            cm = eng.ibis.table("customer_month")
            return pd.Timestamp(to_frame(cm.aggregate(m=cm.last_order_date.max()))["m"].iloc[0]).date()
        # fixed SQL on DuckDB's connection: the pages that need only this of Ibis do not import it
        m = eng.sql("SELECT max(last_order_date) AS m FROM customer_month")["m"][0].as_py()
        return pd.Timestamp(m).date()
    return eng.columns.memo("last_order_date", make)


def _attribute_columns(eng):
    """ATTRIBUTE_COLUMNS and referred_by of every customer, one column at a time as
    ``(name, Arrow strings)``, row ``ck - 1`` for key ``ck``. Each column is a plain scan of
    customers put in key order by the customers' row positions (read once): joining every
    column's strings at once held 1 GB more at 2M customers."""
    t = eng.sql("SELECT k.ck, cu.rowid AS row FROM customer_key k "
                           "LEFT JOIN customers cu ON cu.customer_id = k.customer_id ORDER BY k.ck")
    if not (t["ck"].to_numpy() == np.arange(1, t.num_rows + 1)).all():
        raise ValueError("customer_key.ck is not 1..N")
    if t["row"].null_count:
        raise ValueError("customer_key has a customer missing from customers")
    row = t["row"].to_numpy()
    for c in (*ATTRIBUTE_COLUMNS, "referred_by"):  # our own names
        col = eng.sql(f"SELECT rowid AS row, {c} FROM customers")
        at = np.zeros(int(col["row"].to_numpy().max(initial=-1)) + 1, dtype=np.int64)
        at[col["row"].to_numpy()] = np.arange(col.num_rows)  # customers row -> position in the scan
        yield c, col[c].combine_chunks().take(pa.array(at[row]))


def attribute_codes(eng) -> dict[str, pd.Categorical]:
    """ATTRIBUTE_COLUMNS and referred_by of every customer (position ``ck - 1`` for key ``ck``)
    as pandas categoricals, made once per eng object (joining the strings in DuckDB or
    pandas on every filter change cost more than the period's numbers): taking a period's rows
    of them moves integer codes, where taking rows of strings cost more than the period's
    numbers (8 columns × 172k customers at 10M order lines). Made column by column from Arrow (``columns.categorical``): at 2M customers,
    a pandas frame of every attribute's strings and pandas' factorizing of it peaked 1.2 GB
    above the codes."""
    def make():
        codes = {c: columns.categorical(strings) for c, strings in _attribute_columns(eng)}
        columns.release_freed_memory()
        return codes
    return eng.columns.memo("attribute_codes", make)


def attributes_of(eng, ids: list[str]) -> pd.DataFrame:
    """ATTRIBUTE_COLUMNS of the customers ``ids``, row for row (missing values where a customer
    has no row): a query of those rows alone, where ``attribute_codes`` reads every customer's
    (0.6 s of CPU at 10M order lines, in the overview's first render for its top 10). Rows read
    once are kept per database (they depend on the data alone), so a filter change that shows
    customers seen before runs no query (the lookup scans the customers table: 12 ms at 10M)."""
    known = eng.columns.memo("attribute_rows", dict)
    missing = sorted({str(i) for i in ids} - known.keys())
    if missing:
        cols = ", ".join(ATTRIBUTE_COLUMNS)  # our own names; the ids are bound parameters
        marks = ", ".join("?" * len(missing))
        found = eng.sql(f"SELECT customer_id, {cols} FROM customers WHERE customer_id IN ({marks})",
                          missing).to_pylist()
        rows = {r.pop("customer_id"): r for r in found}
        known.update({i: rows.get(i, dict.fromkeys(ATTRIBUTE_COLUMNS)) for i in missing})
    out = pd.DataFrame([known[str(i)] for i in ids], columns=list(ATTRIBUTE_COLUMNS))
    return out.astype({c: "str" for c in ATTRIBUTE_COLUMNS})


def data_coverage(eng) -> dict[str, bool]:
    """Which optional data the database holds, read from the pre-aggregate: cost (cost of
    goods on order lines), cost_to_serve, discount, returns. False means every value is zero or
    missing (a file with only customer, date and amount: gross profit then equals revenue and
    account profit equals gross profit)."""
    cols = ("cost", "cost_to_serve", "discount", "returns")
    if eng.con is not None:  # plain SQL: the overview asks on its first render, without Ibis
        sql = "SELECT " + ", ".join(f"bool_or({c} <> 0) AS {c}" for c in cols) + " FROM customer_month"
        row = eng.sql(sql).to_pylist()[0]
        return {c: bool(row[c]) for c in cols}
    cm = eng.ibis.table("customer_month")
    row = to_frame(cm.aggregate(**{c: (cm[c] != 0).any() for c in cols}))
    return {c: bool(row[c].iloc[0]) if pd.notna(row[c].iloc[0]) else False for c in cols}


def schema_version(eng) -> int:
    meta = eng.ibis.table("meta").execute()
    row = meta.loc[meta["key"] == "schema_version", "value"]
    return int(row.iloc[0]) if len(row) else 0



def customer_attributes(eng, ids=None) -> pd.DataFrame:
    """Customer attributes for naming and grouping model results. Columns: customer_id, name,
    name_zh, plus the filter dimensions (``schema.DIMENSIONS``)."""
    cu = eng.ibis.table("customers").select("customer_id", "name", "name_zh", *schema.DIMENSIONS)
    return to_frame(cu.order_by("customer_id"))


def scope_customers(eng) -> pd.DataFrame:
    """customer_id and the filter dimensions (region, customer_type, sector, account_manager)
    of every customer: what a user's scope (``kamdash.access``) is resolved against, and what
    the sidebar's options within a scope come from (``access.options_within``)."""
    cu = eng.ibis.table("customers")
    return to_frame(cu.select("customer_id", *schema.DIMENSIONS).order_by("customer_id"))


def customer_links(eng) -> pd.DataFrame:
    """How customers are linked, for all customers: customer_id, name, name_zh, parent_id,
    referred_by (group accounts and referral chains)."""
    cu = eng.ibis.table("customers")
    return to_frame(cu.select("customer_id", "name", "name_zh", "parent_id", "referred_by")
                    .order_by("customer_id"))
