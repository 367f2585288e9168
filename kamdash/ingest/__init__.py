"""Importing sales files.

The import engine (``engine.run`` / ``engine.inspect``, re-exported here) reads CSV/TSV/TXT,
Excel and Parquet files with any header names: see engine.py, sniff.py (encodings, delimiters,
header rows, sheets), parse.py (dates and numbers), mapping.py (header suggestions, profiles).

Below, the older loader of files whose columns carry the canonical names (schema.SALES_TABLES),
kept for ``python -m kamdash load``:

``load_files(out, orders=..., customers=..., products=..., cost_to_serve=...)`` validates every
row first and raises ``LoadError`` listing the problems (file, line, column, value, reason); only
when there are none is a new database built, and it replaces ``out`` in one step
(``store.build_sales_db``). Files are read by DuckDB itself (CSV or Parquet), so memory stays
bounded on large files. File paths go to DuckDB's reader as arguments, never into SQL text; the
SQL here only names our own canonical columns.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from kamdash import schema, store
from kamdash.ingest.problems import MAX_REPORTED, LoadError, LoadReport, Problem  # noqa: F401
from kamdash.ingest.engine import (  # noqa: F401  (the import engine: see engine.py)
    FileInfo, ImportReport, Options, SourceFile, inspect, run,
)

DATE_FORMATS = ["%Y-%m-%d", "%Y/%m/%d", "%Y%m%d", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S"]

KEYS = {"customers": "customer_id", "products": "product_id"}  # must be unique in their file

# Which canonical columns each table needs (besides what can be derived).
REQUIRED = {
    "order_lines": ("customer_id", "order_date"),
    "customers": ("customer_id",),
    "products": ("product_id",),
    "cost_to_serve": ("customer_id", "month", "amount"),
}


def _kind(sql_type: str) -> str:
    t = sql_type.split()[0]
    return {"DATE": "date", "DOUBLE": "number", "INTEGER": "integer"}.get(t, "text")


def _parse_expr(col: str, kind: str) -> str:
    """SQL turning the text column ``col`` (one of ours) into its canonical type; NULL if not."""
    raw = f"nullif(trim(\"{col}\"), '')"
    if kind == "date":
        formats = ", ".join(f"'{f}'" for f in DATE_FORMATS)
        return f"CAST(try_strptime({raw}, [{formats}]) AS DATE)"
    if kind == "number":
        return f"TRY_CAST({raw} AS DOUBLE)"
    if kind == "integer":
        return f"TRY_CAST({raw} AS INTEGER)"
    return raw


def _read(con, path: Path, view: str) -> tuple[list[str], bool]:
    """Expose a file as a view of text columns with canonical (lower-case) names."""
    if not path.exists():
        raise LoadError([Problem(str(path), None, "-", "", "file not found")])
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            rel = con.read_parquet(str(path))
            is_csv = False
        elif suffix in (".csv", ".txt", ".tsv"):
            rel = con.read_csv(str(path), all_varchar=True, header=True)
            is_csv = True
        else:
            raise LoadError([Problem(str(path), None, "-", "", "only .csv, .tsv, .txt and .parquet "
                                     "files are read here")])
    except duckdb.Error as exc:
        raise LoadError([Problem(str(path), None, "-", "", "cannot read the file: "
                                 + str(exc).splitlines()[0])]) from exc
    rel.create_view(f"{view}_raw", replace=True)
    names = {c.strip().lower(): c for c in rel.columns}
    # Canonical names only: anything else in the file is ignored (and reported as a warning)
    select = ", ".join(f'CAST("{orig}" AS VARCHAR) AS "{canon}"'
                       for canon, orig in names.items() if canon.isidentifier())
    con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT row_number() OVER () AS _row, "
                f"{select} FROM {view}_raw")
    return list(names), is_csv


def _check(con, table: str, view: str, path: Path, present: list[str], is_csv: bool,
           problems: list[Problem], report: LoadReport) -> int:
    columns = schema.SALES_TABLES[table]
    missing = [c for c in REQUIRED[table] if c not in present]
    if table == "order_lines" and "revenue" not in present and not {"quantity", "unit_price"} <= set(present):
        missing.append("revenue (or quantity and unit_price)")
    if missing:
        problems.append(Problem(str(path), None, ", ".join(missing), "",
                                f"required column missing (found: {', '.join(present) or 'none'})"))
        return 0
    ignored = [c for c in present if c not in columns]
    if ignored:
        report.warnings.append(f"{path.name}: columns not used: {', '.join(ignored)}")
    line = "_row + 1" if is_csv else "_row"
    for col in (c for c in columns if c in present):
        kind = _kind(columns[col])
        conds = []
        if kind != "text":
            conds.append((f"\"{col}\" IS NOT NULL AND trim(\"{col}\") <> '' AND {_parse_expr(col, kind)} IS NULL",
                          f"not a {'date (use YYYY-MM-DD)' if kind == 'date' else 'number'}"))
        if col in REQUIRED[table] or col == "revenue":
            conds.append((f"\"{col}\" IS NULL OR trim(\"{col}\") = ''", "value missing"))
        for cond, reason in conds:
            total = con.execute(f"SELECT count(*) FROM {view} WHERE {cond}").fetchall()[0][0]
            if total:
                rows = con.execute(f"SELECT {line}, \"{col}\" FROM {view} WHERE {cond} ORDER BY _row "
                                   f"LIMIT {MAX_REPORTED}").fetchall()
                problems.extend(Problem(str(path), r, col, v or "", reason) for r, v in rows)
                if total > len(rows):
                    problems.append(Problem(str(path), None, col, "",
                                            f"{total - len(rows)} more rows: {reason}"))
    return con.execute(f"SELECT count(*) FROM {view}").fetchall()[0][0]


def _insert(con, table: str, view: str, present: list[str]) -> None:
    columns = schema.SALES_TABLES[table]
    exprs = []
    for col, typ in columns.items():
        if col in present:
            e = _parse_expr(col, _kind(typ))
        elif table == "order_lines" and col == "revenue":
            e = ("TRY_CAST(quantity AS DOUBLE) * TRY_CAST(unit_price AS DOUBLE) "
                 "- coalesce(TRY_CAST(discount AS DOUBLE), 0)")
        elif table == "order_lines" and col == "order_id":
            e = "customer_id || '@' || CAST(" + _parse_expr("order_date", "date") + " AS VARCHAR)"
        elif table == "order_lines" and col == "line_no":
            e = "CAST(_row AS INTEGER)"
        else:
            e = "NULL"
        if table == "cost_to_serve" and col == "month":
            e = f"CAST(date_trunc('month', {e}) AS DATE)"
        exprs.append(f"{e} AS {col}")
    con.execute(f"INSERT INTO {table} SELECT {', '.join(exprs)} FROM {view}")


def load_files(out: Path | str, orders: Path | str, customers: Path | str | None = None,
               products: Path | str | None = None, cost_to_serve: Path | str | None = None,
               currency: str = "CNY") -> LoadReport:
    """Validate the files and, if every row is usable, replace the sales database ``out``."""
    files = {"order_lines": orders, "customers": customers, "products": products,
             "cost_to_serve": cost_to_serve}
    files = {t: Path(p) for t, p in files.items() if p}
    report = LoadReport()

    def fill(con):
        problems: list[Problem] = []
        present = {}
        for table, path in files.items():
            cols, is_csv = _read(con, path, f"src_{table}")
            present[table] = cols
            report.rows[table] = _check(con, table, f"src_{table}", path, cols, is_csv, problems, report)
            key = KEYS.get(table)
            if key and key in cols:
                line = "_row + 1" if is_csv else "_row"
                dups = con.execute(f"""
                    SELECT {line}, {key} FROM (SELECT _row, {key}, count(*) OVER (PARTITION BY {key}) n
                                               FROM src_{table} WHERE {key} IS NOT NULL)
                    WHERE n > 1 ORDER BY _row LIMIT {MAX_REPORTED}""").fetchall()
                problems.extend(Problem(str(path), r, key, v, "appears more than once") for r, v in dups)
        if problems:
            raise LoadError(problems)
        for table in files:
            _insert(con, table, f"src_{table}", present[table])
        # customers that appear only in the order lines get a row of their own
        added = con.execute("""
            INSERT INTO customers (customer_id)
            SELECT DISTINCT customer_id FROM order_lines ANTI JOIN customers USING (customer_id)
        """).fetchall()[0][0]
        if added and "customers" in files:
            report.warnings.append(f"{added} customer ids in the order lines are not in the customers "
                                   "file; they were added without attributes")
        if "cost_to_serve" not in files:
            report.warnings.append("no cost-to-serve file: account profit equals gross profit")
        if "cost" not in present["order_lines"]:
            report.warnings.append("no cost column: gross profit equals revenue")

    report.meta = store.build_sales_db(out, fill, source="files: " + ", ".join(p.name for p in files.values()),
                                       currency=currency)
    return report
