"""The import engine shared by the Data page and ``python -m kamdash import``.

Steps: ``inspect`` (what each file is: encoding, delimiter, header row, sheets, columns, a
sample, the suggested or saved mapping) → ``run(commit=False)`` (the validation report: counts,
located errors, warnings, which pages will be limited) → ``run(commit=True)`` (the same checks,
then a new database built atomically by ``store.build_sales_db``; on any error the current file
stays byte-identical).

Memory stays bounded on large files: text files are transcoded in chunks when they are not UTF-8,
Excel sheets are streamed row by row, and every file is read once by DuckDB's own readers into
a table of its rows, parsed values and check flags (``_Rows``; spilling to disk beyond
``MEMORY_LIMIT``); nothing is ever loaded into pandas.
File paths reach DuckDB as arguments of its Python reader functions; header names and cell
values never become SQL text (file columns are renamed c0, c1, … at read time).
"""

from __future__ import annotations

import math
import os
import re
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable

import duckdb

from kamdash import config, schema, store
from kamdash.ingest import mapping as maps
from kamdash.ingest import parse, sniff
from kamdash.ingest.problems import MAX_REPORTED, LoadError, Problem, problem

MODES = ("replace", "append")
MAX_AMOUNT = 1e15  # larger amounts, quantities and prices are errors (no sale is that large)
OPEN_ENDED = date(9000, 1, 1)  # from here on a date is an ERP's "no end" (9999-12-31), no order
EARLIEST_OTHER_DATE = date(1900, 1, 1)  # customers' "acquired on" may predate the order window
MEMORY_LIMIT = "640MB"  # DuckDB spills to disk beyond this: an import stays within 1 GB
MAX_TEXT = 1000  # characters in one text cell
SAMPLE_ROWS = 5
LOCATED_WARNINGS = 10  # located examples per kind of warning
DECIMAL_SAMPLE = 200_000  # rows looked at to tell a decimal comma from a decimal point

Progress = Callable[[float, str], None]


@dataclass
class SourceFile:
    """A file to import, as the user pointed at it (and, once chosen, its role and mapping)."""

    path: Path | str
    name: str | None = None  # shown in messages (the uploaded file's own name)
    role: str | None = None  # order_lines, customers, products, cost_to_serve; None: guessed
    sheet: str | None = None  # Excel: the sheet (default the first visible one)
    delimiter: str | None = None  # text: one of sniff.LAYOUTS; None: detected
    mapping: dict[str, str] | None = None  # source column -> field; None: suggested
    overrides: dict[str, str] = field(default_factory=dict)  # source column -> field ("" ignores)


@dataclass
class Options:
    mode: str = "replace"
    date_order: str | None = None  # dmy, mdy, ymd; None: decided from the data
    skip_bad_rows: bool = False
    currency: str = "CNY"
    user_db: Path | None = None  # where mapping profiles are kept
    save_profiles: bool = True
    today: date | None = None  # future dates are after this (default: today)


@dataclass
class FileInfo:
    name: str
    role: str
    kind: str
    encoding: str
    delimiter: str
    header_line: int
    sheets: list[str]
    sheet: str | None
    columns: list[str]
    sample: list[dict]
    mapping: dict[str, str]
    from_profile: bool = False
    rows: int | None = None
    bad_rows: int | None = None
    date_order: str | None = None
    decimal: str = "."
    hidden_sheets: list[str] = field(default_factory=list)
    units_row: bool = False  # a units row under the header was left out


@dataclass
class ImportReport:
    files: list[FileInfo] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    problem_total: int = 0
    warnings: list[Problem] = field(default_factory=list)
    limits: list[str] = field(default_factory=list)
    needs_date_order: bool = False
    mode: str = "replace"
    committed: bool = False
    meta: dict = field(default_factory=dict)
    counts: dict = field(default_factory=dict)  # rows written per table, replaced lines (append)

    @property
    def rows(self) -> int:
        return sum(f.rows or 0 for f in self.files)

    @property
    def bad_rows(self) -> int:
        return sum(f.bad_rows or 0 for f in self.files)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def can_skip(self) -> bool:
        """Every error is on a row, and some rows of order lines are good."""
        good = sum((f.rows or 0) - (f.bad_rows or 0) for f in self.files if f.role == "order_lines")
        return (bool(self.problems) and not self.needs_date_order and good > 0
                and all(p.line is not None or p.code == "more_rows" for p in self.problems))

    def as_dict(self) -> dict:
        return {
            "ok": self.ok, "committed": self.committed, "mode": self.mode,
            "rows": self.rows, "bad_rows": self.bad_rows, "needs_date_order": self.needs_date_order,
            "files": [{k: v for k, v in f.__dict__.items() if k != "sample"} for f in self.files],
            "problems": [p.as_dict() for p in self.problems], "problem_total": self.problem_total,
            "warnings": [p.as_dict() for p in self.warnings], "limits": self.limits,
            "counts": self.counts, "meta": self.meta,
        }


TMP_PREFIX = "kamdash-"  # temporary folders: kamdash-<use>-<process id>-<random>
_TMP_NAME = re.compile(r"kamdash-(import|inspect|upload)-(?:(\d+)-)?")
STALE_SECONDS = 6 * 3600  # a folder of an older kamdash (no process id in its name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process: alive
        return True
    return True


def sweep_stale(workdir: Path | str | None = None, db: Path | str | None = None) -> list[Path]:
    """Remove what interrupted imports left behind: temporary folders (in ``workdir``, else the
    system's temporary folder) of processes that no longer run, and the half-built database
    files next to ``db`` (``store.sweep_stale``). Returns what was removed."""
    removed = []
    folder = Path(workdir) if workdir else Path(tempfile.gettempdir())
    try:
        entries = list(folder.iterdir())
    except OSError:
        entries = []
    for entry in entries:
        m = _TMP_NAME.match(entry.name)
        if not m or not entry.is_dir():
            continue
        pid = int(m.group(2)) if m.group(2) else None
        if pid is not None:
            stale = not _alive(pid)
        else:
            try:
                stale = time.time() - entry.stat().st_mtime > STALE_SECONDS
            except OSError:
                stale = False
        if stale:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    if db is not None:
        removed += store.sweep_stale(Path(db), _alive)
    return removed


def _cache(workdir) -> Path | None:
    """Where the CSV of an Excel sheet is kept between the check and the import (only with a
    session folder: the command line checks and imports in one run)."""
    return Path(workdir) / "parsed" if workdir else None


def _connect_work(tmp) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config={"memory_limit": MEMORY_LIMIT, "temp_directory": str(tmp)})
    _set_timezone(con)
    return con


def _set_timezone(con) -> None:
    """Time-zone-aware timestamps become dates in the business's time zone (KAMDASH_TIMEZONE;
    the machine's own when unset)."""
    tz = config.business_timezone()
    if tz:
        try:
            con.execute(f"SET TimeZone = '{tz}'")  # validated by config: a zone name only
        except duckdb.Error:
            raise ValueError(f"KAMDASH_TIMEZONE={tz!r}: not a time zone DuckDB knows "
                             "(e.g. Asia/Shanghai)") from None


class _Failed(Exception):
    """Raised inside the build to abandon it (the report says why)."""


# ------------------------------------------------------------------------------ inspection


# DuckDB's CSV reader, tried with these options in turn until it reads the whole file: rows
# shorter than the header need null_padding, which its parallel reader cannot combine with a
# quoted cell holding a line break; strict_mode off reads mixed line endings.
READ_ATTEMPTS = (
    dict(null_padding=True),
    dict(null_padding=False, strict_mode=False),
    dict(null_padding=True, strict_mode=False, parallel=False),
)


def _unreadable(prep, exc) -> LoadError:
    detail = str(exc).splitlines()[0].replace(str(prep.path), prep.name)  # never a temporary path
    return LoadError([problem(prep.name, None, "-", "", "unreadable", detail=detail[:300])])


def _relation(con, prep: sniff.Prepared, attempt: int = 0):
    """(relation with text columns c0…cN, header names, the read options used) of a prepared
    file; the first of READ_ATTEMPTS from ``attempt`` on that reads its start."""
    if prep.kind == "parquet":
        try:
            rel = con.read_parquet(str(prep.path))
        except duckdb.Error as exc:
            raise _unreadable(prep, exc) from exc
        headers = list(rel.columns)
        rel = rel.select(*[duckdb.ColumnExpression(c).cast(duckdb.sqltypes.VARCHAR).alias(f"c{i}")
                           for i, c in enumerate(headers)])
        return rel, headers, attempt
    first = None
    for k in range(attempt, len(READ_ATTEMPTS)):
        opts = dict(all_varchar=True, header=True, delimiter=prep.delimiter, skiprows=prep.skip,
                    quotechar='"', escapechar='"', max_line_size=16 * 1024 * 1024, **READ_ATTEMPTS[k])
        try:
            headers = list(con.read_csv(str(prep.path), **opts).columns)
            rel = con.read_csv(str(prep.path), names=[f"c{i}" for i in range(len(headers))], **opts)
            rel.limit(SAMPLE_ROWS + 1).fetchall()
            return rel, headers, k
        except duckdb.Error as exc:
            first = first or exc
    raise _unreadable(prep, first) from first


def _prepare(src: SourceFile, workdir: Path, progress: Progress | None,
             cache: Path | None = None) -> sniff.Prepared:
    path = Path(src.path)
    cb = (lambda f: progress(f, "prepare")) if progress else None
    return sniff.prepare(path, workdir, name=src.name or path.name, sheet=src.sheet, progress=cb,
                         delimiter=src.delimiter, cache=cache)


def _info(con, src: SourceFile, prep: sniff.Prepared, user_db) -> tuple[FileInfo, object, int]:
    rel, headers, attempt = _relation(con, prep)
    if not headers or (len(headers) == 1 and prep.kind == "csv" and not headers[0].strip()):
        raise LoadError([problem(prep.name, None, "-", "", "no_columns")])
    try:
        sample_rows = rel.limit(SAMPLE_ROWS, offset=1 if prep.units_row else 0).fetchall()
    except duckdb.Error as exc:
        raise _unreadable(prep, exc) from exc
    role = src.role or maps.guess_role(headers)
    profile = None if src.mapping is not None else maps.load_profile(user_db, headers, role)
    if src.mapping is not None:
        mapping = {c: f for c, f in src.mapping.items() if c in headers and f}
    elif profile:
        mapping = profile["mapping"]
    else:
        mapping = maps.suggest(headers, role)
    for col, f in src.overrides.items():
        if col in headers:
            mapping = {c: g for c, g in mapping.items() if g != f or not f}
            mapping[col] = f
    mapping = {c: f for c, f in mapping.items() if f}
    info = FileInfo(
        name=prep.name, role=role, kind="excel" if prep.sheets else prep.kind, encoding=prep.encoding,
        delimiter=prep.layout or prep.delimiter, header_line=prep.skip + 1, sheets=prep.sheets,
        sheet=prep.sheet, columns=headers, sample=[dict(zip(headers, r)) for r in sample_rows],
        mapping=mapping, from_profile=bool(profile), date_order=(profile or {}).get("date_order"),
        hidden_sheets=prep.hidden, units_row=prep.units_row,
    )
    return info, rel, attempt


def inspect(files: list[SourceFile], workdir: Path | str | None = None, user_db=None) -> list[FileInfo]:
    """What each file is and the mapping suggested for it; raises LoadError when a file cannot
    be read at all (empty, binary, damaged workbook …)."""
    sweep_stale(workdir)
    with tempfile.TemporaryDirectory(prefix=f"{TMP_PREFIX}inspect-{os.getpid()}-", dir=workdir) as tmp:
        con = _connect_work(tmp)
        try:
            out = []
            for src in files:
                prep = _prepare(src, Path(tmp), None, _cache(workdir))
                out.append(_info(con, src, prep, user_db)[0])
            return out
        finally:
            con.close()


# ------------------------------------------------------------------------------ checks


def _filled(f: str) -> str:
    return f"({f} IS NOT NULL AND trim({f}) <> '')"


# Conditions on a row are written CASE WHEN <cheap> THEN <costly> ELSE false END: an AND
# evaluates both sides of every row inside an aggregate's FILTER, a CASE the costly one only
# where the cheap one holds.
def _when(cheap: str, costly: str) -> str:
    return f"(CASE WHEN {cheap} THEN {costly} ELSE false END)"


def _too_long(f: str) -> str:
    return _when(f"strlen({f}) > {MAX_TEXT}", f"length({f}) > {MAX_TEXT}")  # bytes: no decoding


def _unread(f: str) -> str:
    """A cell with a value that could not be read (parsed as NULL)."""
    return _when(f"p_{f} IS NULL", _filled(f))


@dataclass
class _Rows:
    """One file as read: ``table`` holds every row of the file (in file order, so its rowid is
    the row number less one) with the text of each mapped field, its parsed values
    (``parse.typed_layers``) and the row flags; ``view`` shows the rows that count (not blank,
    not ``excluded``) with ``_row`` and ``p_<field>`` under the day order decided."""

    table: str
    view: str
    role: str
    fields: list[str]
    excluded: list[int] = field(default_factory=list)  # row numbers left out: units, total row
    order: str | None = None

    def read_sql(self, source: str, columns: dict[str, str], decimal: str = ".") -> str:
        """SELECT of this table from ``source`` (``columns``: source column -> field)."""
        kinds = maps.FIELDS[self.role]
        layers: list[list[str]] = [[]]
        keep = [f for f in self.fields if kinds[f] != "text"] + ["_filled", "_odd", "_comma"]
        for f in self.fields:
            ls, k = parse.typed_layers(f, kinds[f], decimal)
            for depth, exprs in enumerate(ls):
                if len(layers) <= depth:
                    layers.append([])
                layers[depth] += exprs
            keep += k
        texts = [f for f in self.fields if kinds[f] == "text"]
        numbers = [f for f in self.fields if kinds[f] in ("number", "integer")]
        # a row with every mapped cell empty (a blank line, a spacer row in a sheet) is no row
        # (a CASE stops at the first filled cell)
        filled = " ".join(f"WHEN nullif(trim({f}), '') IS NOT NULL THEN true" for f in self.fields)
        layers[0] = parse.row_flags(texts, numbers) + [f"(CASE {filled} ELSE false END) AS _filled"] + layers[0]
        sql = "SELECT " + ", ".join(f"CAST({c} AS VARCHAR) AS {f}" for c, f in columns.items()) + f" FROM {source}"
        for exprs in layers:
            if exprs:
                sql = f"SELECT *, {', '.join(exprs)} FROM ({sql})"
        return f"SELECT {', '.join(keep)} FROM ({sql})"

    def redo_numbers(self, con, decimal: str) -> None:
        """Parse the number fields again under the decimal separator ``decimal``."""
        kinds = maps.FIELDS[self.role]
        nums = [f for f in self.fields if kinds[f] in ("number", "integer")]
        if not nums:
            return
        sql = f"SELECT * EXCLUDE ({', '.join(f'p_{f}' for f in nums)}) FROM {self.table}"
        parsed = [parse.typed_layers(f, kinds[f], decimal) for f in nums]
        helpers = []
        for depth in range(max(len(ls) for ls, _ in parsed)):
            exprs = [e for ls, _ in parsed if depth < len(ls) for e in ls[depth]]
            sql = f"SELECT *, {', '.join(exprs)} FROM ({sql})"
            helpers += [e.rsplit(" AS ", 1)[1] for e in exprs]
        kept = {k for _, keep in parsed for k in keep}
        helpers = [h for h in helpers if h not in kept]
        # the same rows in the same order: row numbers stay what they were
        con.execute(f"CREATE OR REPLACE TEMP TABLE {self.table} AS SELECT * EXCLUDE ({', '.join(helpers)}) FROM ({sql})")
        self.show(con)

    def show(self, con) -> None:
        """(Re)create the view over the rows that count."""
        kinds = maps.FIELDS[self.role]
        values = [f"{parse.typed_value(f, kinds[f], self.order)} AS p_{f}" for f in self.fields]
        evidence = [f"ev_{f}" for f in self.fields if kinds[f] == "date"]
        left_out = "".join(f" AND rowid <> {int(r) - 1}" for r in self.excluded)
        cells = [parse.raw_text(f) + f" AS {f}" if kinds[f] == "text" else f for f in self.fields]
        inner = (f"SELECT rowid + 1 AS _row, {', '.join(cells)}, {', '.join(values)}, "
                 f"{', '.join(evidence + ['_odd', '_comma'])} FROM {self.table} WHERE _filled{left_out}")
        amount = (f", {_Checker.amount_expr(set(self.fields))} AS p__amount"
                  if self.role == "order_lines" else "")
        con.execute(f"CREATE OR REPLACE TEMP VIEW {self.view} AS SELECT *{amount} FROM ({inner})")


class _Checker:
    def __init__(self, con, report: ImportReport, options: Options):
        self.con, self.report, self.options = con, report, options
        self.today = options.today or date.today()
        self.known: dict[str, int] = {}  # condition -> rows, counted together in one scan

    def count_all(self, table: str, conds: list[str]) -> None:
        conds = [c for c in dict.fromkeys(conds) if c not in self.known]
        if conds:
            # a file with no finding (the usual case) is told by one condition: evaluating the
            # OR of every condition costs half of counting each
            if not self.q(f"SELECT count(*) FILTER ({' OR '.join(f'({c})' for c in conds)}) FROM {table}")[0][0]:
                self.known.update(dict.fromkeys(conds, 0))
                return
            got = self.q("SELECT " + ", ".join(f"count(*) FILTER ({c})" for c in conds) + f" FROM {table}")[0]
            self.known.update(zip(conds, got))

    def q(self, sql: str, params=None):
        return self.con.execute(sql, params or []).fetchall()

    def located(self, table: str, info: FileInfo, offset: int, cond: str, column: str, value: str,
                code: str, target: list, **fields) -> int:
        total = self.known.get(cond)
        if total is None:
            total = self.q(f"SELECT count(*) FROM {table} WHERE {cond}")[0][0]
        if total:
            limit = MAX_REPORTED if target is self.report.problems else LOCATED_WARNINGS
            rows = self.q(f"SELECT _row, CAST({value} AS VARCHAR) FROM {table} WHERE {cond} "
                          f"ORDER BY _row LIMIT {limit}")
            target.extend(problem(info.name, r + offset, column, v, code, **fields) for r, v in rows)
            if total > len(rows):
                target.append(problem(info.name, None, column, "", "more_rows", n=total - len(rows),
                                      reason=target[-1].reason))
        return total

    def file(self, rows: _Rows, info: FileInfo, offset: int) -> str:
        """Check one file as read; returns the SQL condition of its bad rows (in ``rows.view``)."""
        rep, role = self.report, info.role
        kinds = maps.FIELDS[role]
        present = set(rows.fields)
        table = rows.view
        colname = {f: src for src, f in info.mapping.items()}
        errors = rep.problems
        bad: list[str] = []
        # how this file writes dates and numbers
        date_fields = [f for f in present if kinds[f] == "date"]
        order = self.options.date_order or info.date_order
        if not order and date_fields:
            ev = self.q("SELECT " + ", ".join(parse.date_order_evidence(f) for f in date_fields)
                        + f" FROM {table}")[0]
            order = parse.decide_date_order(*(sum(ev[i::4]) for i in range(4)))
            if order is None:
                rep.needs_date_order = True
        info.date_order = rows.order = order
        num_fields = sorted(f for f in present if kinds[f] in ("number", "integer"))
        if num_fields:
            sample = f"(SELECT * FROM {table} LIMIT {DECIMAL_SAMPLE})"
            comma = sum(self.q("SELECT " + ", ".join(parse.decimal_evidence_sql(f, point=False)
                                                     for f in num_fields) + f" FROM {sample}")[0])
            if comma:  # without a decimal comma, the decimal point wins
                ev = self.q("SELECT " + ", ".join(parse.decimal_evidence_sql(f) for f in num_fields)
                            + f" FROM {sample}")[0]
                info.decimal = "," if sum(ev[0::2]) > sum(ev[1::2]) else "."
            else:
                info.decimal = "."
        if info.decimal != ".":  # read under a decimal point
            rows.redo_numbers(self.con, info.decimal)
        else:
            rows.show(self.con)
        conds = []
        for f in present:
            if kinds[f] != "text":
                conds.append(_unread(f))
            else:
                conds += [_too_long(f), parse.formula(f)]
            if f in maps.REQUIRED[role]:
                conds.append(f"NOT {_filled(f)}")
        checks = self.value_checks(info, present)
        self.count_all(table, conds + [c[1] for c in checks])  # one scan for every condition
        self.values(table, info, offset, colname, checks, bad)
        # cells that cannot be read, required values missing, text too long
        for f in kinds:
            if f not in present:
                continue
            col = colname[f]
            kind = kinds[f]
            if kind != "text":
                cond = _unread(f)
                if kind == "date" and order is None:
                    code = "ambiguous_date"
                else:
                    code = {"date": "bad_date", "number": "bad_number", "integer": "bad_integer"}[kind]
                if self.located(table, info, offset, cond, col, f, code, errors):
                    bad.append(cond)
            else:
                cond = _too_long(f)
                if self.located(table, info, offset, cond, col, f"length({f})", "too_long", errors,
                                limit=MAX_TEXT):
                    bad.append(cond)
                cond = parse.formula(f)
                self.located(table, info, offset, cond, col, f, "formula_cell", rep.warnings)
            if f in maps.REQUIRED[role]:
                cond = f"NOT {_filled(f)}"
                if self.located(table, info, offset, cond, col, "''", "missing_value", errors):
                    bad.append(cond)
        if role == "order_lines":
            amount = "p__amount"
            amount_col = colname.get("revenue") or colname.get("unit_price") or "revenue"
            cond = f"({amount}) IS NULL AND NOT ({' OR '.join(bad) or 'false'})"
            if self.located(table, info, offset, cond, amount_col, "''", "missing_amount", errors):
                bad.append(f"({amount}) IS NULL")
            self.order_warnings(table, info, offset, present, colname, amount, order)
        key = {"customers": "customer_id", "products": "product_id"}.get(role)
        if key in present:
            cond = (f"{_filled(key)} AND trim({key}) IN (SELECT trim({key}) FROM {table} "
                    f"GROUP BY trim({key}) HAVING count(*) > 1)")
            if self.located(table, info, offset, cond, colname[key], key, "duplicate_id", errors):
                bad.append(cond)
        name = {"order_lines": "customer_name", "customers": "name"}.get(role)
        if name in present and "customer_id" in present and role == "order_lines":
            rows = self.q(f"""SELECT customer_id, count(DISTINCT trim({name})),
                                     list(DISTINCT trim({name}))[1:3], count(*) OVER ()
                              FROM {table} WHERE {_filled(name)} AND {_filled("customer_id")}
                              GROUP BY customer_id HAVING count(DISTINCT trim({name})) > 1
                              ORDER BY customer_id LIMIT {LOCATED_WARNINGS}""")
            for cid, n, names, total in rows:
                rep.warnings.append(problem(info.name, None, colname[name], cid, "several_names",
                                            n=n, names=" / ".join(names), total=total))
        bad_cond = " OR ".join(f"({c})" for c in bad) or "false"
        info.bad_rows = self.q(f"SELECT count(*) FROM {table} WHERE {bad_cond}")[0][0] if bad else 0
        return bad_cond

    def value_checks(self, info: FileInfo, present: set) -> list[tuple]:
        """Values a file can hold but no sales record can: dates outside the accepted window
        (9999-12-31 named as an open-ended date), amounts beyond MAX_AMOUNT, numbers written
        against the file's decimal separator; and control characters in text (removed).
        Returns (field, condition, code, errors or warnings, fields of the message)."""
        kinds = maps.FIELDS[info.role]
        errors, warn = self.report.problems, self.report.warnings
        earliest, latest = config.date_window(self.today)
        checks = []
        for f in sorted(present):
            kind = kinds[f]
            if kind == "date":
                lo = EARLIEST_OTHER_DATE if f == "acquired_on" else earliest
                end = f"DATE '{OPEN_ENDED.isoformat()}'"
                checks.append((f, f"p_{f} >= {end}", "open_ended_date", errors, {}))
                checks.append((f, f"(p_{f} < DATE '{lo.isoformat()}' OR p_{f} > DATE '{latest.isoformat()}') "
                                  f"AND p_{f} < {end}", "date_outside_window", errors,
                               dict(earliest=lo.isoformat(), latest=latest.isoformat())))
            elif kind in ("number", "integer"):
                checks.append((f, f"abs(p_{f}) > {MAX_AMOUNT!r}", "number_too_large", errors,
                               dict(limit=f"{MAX_AMOUNT:,.0f}")))
                against = r"\d,\d*\.\d" if info.decimal == "," else r"\d\.\d*,\d"
                checks.append((f, _when(f"_comma AND p_{f} IS NOT NULL", f"regexp_matches({f}, '{against}')"),
                               "decimal_conflict", errors, dict(decimal=info.decimal)))
            else:
                checks.append((f, _when("_odd", parse.has_control(f)), "control_chars", warn, {}))
        if info.role == "order_lines":
            checks.append(("p__amount", f"abs(p__amount) > {MAX_AMOUNT!r}", "number_too_large", errors,
                           dict(limit=f"{MAX_AMOUNT:,.0f}")))
        return checks

    def values(self, table, info: FileInfo, offset: int, colname: dict, checks: list, bad: list) -> None:
        """Report the value checks (counted already): errors make their rows bad."""
        errors = self.report.problems
        amount_col = colname.get("revenue") or colname.get("unit_price") or "revenue"
        for f, cond, code, target, fields in checks:
            col = amount_col if f == "p__amount" else colname[f]
            value = f"regexp_replace({f}, '{parse.CONTROL_CHARS}', '?', 'g')" if code == "control_chars" else f
            if self.located(table, info, offset, cond, col, value, code, target, **fields) and target is errors:
                bad.append(cond)

    @staticmethod
    def amount_expr(present: set) -> str:
        """Revenue: the amount column, else quantity × unit price − discount (parsed columns)."""
        parts = []
        if "revenue" in present:
            parts.append("p_revenue")
        if {"quantity", "unit_price"} <= present:
            disc = "coalesce(p_discount, 0)" if "discount" in present else "0"
            parts.append(f"p_quantity * p_unit_price - {disc}")
        return f"coalesce({', '.join(parts)})" if parts else "CAST(NULL AS DOUBLE)"

    def order_warnings(self, table, info, offset, present, colname, amount, order) -> None:
        rep = self.report
        warn = rep.warnings
        amount_col = colname.get("revenue") or colname.get("unit_price") or "revenue"
        if {"order_id", "line_no"} <= present:
            keys, code = ["order_id", "line_no"], "duplicate_key"
        else:
            keys, code = sorted(present), "duplicate_row"
        klist = ", ".join(keys)
        dups = self.q(f"""SELECT count(*), sum(n - 1), min(first_row) FROM (
                              SELECT count(*) AS n, min(_row) AS first_row FROM {table}
                              GROUP BY {klist} HAVING count(*) > 1)""")[0]
        if dups[0]:
            first = self.q(f"""SELECT list(_row ORDER BY _row)[1:3] FROM {table} GROUP BY {klist}
                               HAVING count(*) > 1 ORDER BY min(_row) LIMIT 1""")[0][0]
            warn.append(problem(info.name, first[0] + offset, ", ".join(colname[k] for k in keys), "",
                                code, n=int(dups[1]), groups=dups[0],
                                lines=", ".join(str(r + offset) for r in first)))
        neg, neg_sum = self.q(f"SELECT count(*), sum(a) FROM (SELECT {amount} AS a FROM {table}) WHERE a < 0")[0]
        if neg:
            first = self.q(f"SELECT min(_row) FROM {table} WHERE {amount} < 0")[0][0]
            warn.append(problem(info.name, first + offset, amount_col, "", "returns", n=neg,
                                total=f"{-neg_sum:,.2f}"))
        if "order_date" in present:
            d = "p_order_date"
            latest = config.date_window(self.today)[1]
            self.located(table, info, offset, f"{d} > DATE '{self.today.isoformat()}' "
                         f"AND {d} <= DATE '{latest.isoformat()}'",
                         colname["order_date"], "order_date", "future_date", warn,
                         today=self.today.isoformat())
        q = self.q(f"SELECT approx_quantile(abs(a), [0.25, 0.5, 0.75]) FROM "
                   f"(SELECT {amount} AS a FROM {table}) WHERE a IS NOT NULL AND a <> 0 "
                   f"AND abs(a) <= {MAX_AMOUNT!r}")[0][0]
        if q and q[1]:
            q1, med, q3 = q
            limit = max(q3 + 20 * (q3 - q1), 100 * med)
            if not math.isfinite(limit) or limit > MAX_AMOUNT:
                return
            self.located(table, info, offset, f"abs({amount}) > {float(limit)!r}", amount_col,
                         amount, "outlier", warn, limit=f"{limit:,.0f}")


# ------------------------------------------------------------------------------ writing


def _insert(con, role: str, table: str, present: set, info: FileInfo, where: str, line_base: int,
            prefix: str = "") -> int:
    kinds = maps.FIELDS[role]
    order, dec = info.date_order, info.decimal

    def val(f):
        return f"p_{f}" if f in present else "NULL"

    if role == "order_lines":
        date_ = val("order_date")
        amount = "p__amount"
        cols = {
            "order_id": val("order_id") if "order_id" in present else
            f"trim(customer_id) || '@' || CAST({date_} AS VARCHAR)",
            "line_no": val("line_no") if "line_no" in present else
            (f"CAST(row_number() OVER (PARTITION BY {val('order_id')} ORDER BY _row) AS INTEGER)"
             if "order_id" in present else f"CAST(_row + {line_base} AS INTEGER)"),
            "order_date": date_,
            "customer_id": val("customer_id"),
            "product_id": val("product_id") if "product_id" in present else val("product_name"),
            "quantity": val("quantity"),
            "unit_price": val("unit_price"),
            "discount": val("discount"),
            "revenue": amount,
            "cost": val("cost") if "cost" in present else
            (f"{amount} - {val('gross_margin')}" if "gross_margin" in present else "NULL"),
        }
        target = f"{prefix}order_lines"
    else:
        cols = {}
        for col in schema.SALES_TABLES[role]:
            e = val(col)
            if role == "cost_to_serve" and col == "month":
                e = f"CAST(date_trunc('month', {e}) AS DATE)"
            cols[col] = e
        target = f"{prefix}{role}"
    select = ", ".join(f"{e} AS {c}" for c, e in cols.items())
    con.execute(f"INSERT INTO {target} SELECT {select} FROM {table} WHERE NOT ({where})")
    return con.execute(f"SELECT count(*) FROM {table} WHERE NOT ({where})").fetchall()[0][0]


ATTRS = {  # orders field -> customers / products column
    "customer_name": ("customers", "name"), "customer_type": ("customers", "customer_type"),
    "sector": ("customers", "sector"), "region": ("customers", "region"),
    "city": ("customers", "city"), "account_manager": ("customers", "account_manager"),
    "product_name": ("products", "name"), "category": ("products", "category"),
}


def _derive_dimensions(con, staged: list, prefix: str = "") -> None:
    """Customers and products named in the order lines but not in their own files get a row,
    with the attributes the order lines carry (the latest value per id)."""
    for dim, key in (("customers", "customer_id"), ("products", "product_id")):
        parts = []
        for table, info, where, present in staged:
            if info.role != "order_lines":
                continue
            kinds = maps.FIELDS["order_lines"]
            if dim == "customers":
                key_e = "p_customer_id"
            elif "product_id" in present:
                key_e = "p_product_id"
            elif "product_name" in present:
                key_e = "p_product_name"
            else:
                continue
            attrs = {col: (f"p_{f}" if f in present else "CAST(NULL AS VARCHAR)")
                     for f, (d, col) in ATTRS.items() if d == dim}
            d = "p_order_date"
            sel = ", ".join(f"{e} AS {c}" for c, e in attrs.items())
            parts.append(f"SELECT {key_e} AS k, {d} AS d, {sel} FROM {table} WHERE NOT ({where})")
        if not parts:
            continue
        cols = [c for f, (d, c) in ATTRS.items() if d == dim]
        aggs = ", ".join(f"arg_max({c}, d) FILTER (WHERE {c} IS NOT NULL) AS {c}" for c in cols)
        # the distinct attribute combinations of each id first, with their latest date (an id
        # mostly keeps its attributes: a few rows per id, so the arg_max runs over few rows)
        con.execute(f"""INSERT INTO {prefix}{dim} ({key}, {', '.join(cols)})
                        SELECT k, {', '.join(cols)} FROM (
                            SELECT k, {aggs} FROM (
                                SELECT k, {', '.join(cols)}, max(d) AS d
                                FROM ({' UNION ALL '.join(parts)}) WHERE k IS NOT NULL GROUP BY ALL)
                            GROUP BY k)
                        ANTI JOIN {prefix}{dim} ON {prefix}{dim}.{key} = k""")


def _export_current(db: Path, workdir: Path) -> dict[str, Path]:
    """Copy the current database's source tables to Parquet files (for append mode)."""
    copy = workdir / "current.duckdb"
    shutil.copyfile(db, copy)
    out = {}
    con = duckdb.connect(str(copy), read_only=True)
    try:
        for table in ("order_lines", "customers", "products", "cost_to_serve", "value_labels"):
            p = workdir / f"current_{table}.parquet"
            con.table(table).write_parquet(str(p))
            out[table] = p
    finally:
        con.close()
    copy.unlink()
    return out


def _target_problem(db: Path, mode: str) -> Problem | None:
    """Why the database file ``db`` must not be replaced (another program's DuckDB database)
    or appended to (unreadable, or written by a newer kamdash); None when it may be."""
    if not db.exists():
        return None
    status = store.check_sales_db(db)
    refused = {"not_kamdash"} | ({"corrupt", "locked", "newer_version"} if mode == "append" else set())
    if status.problem in refused:
        return problem(db.name, None, "-", "", f"target_{status.problem}", path=str(db),
                       detail=status.detail, found=status.found_version)
    return None


def _limits(staged, report: ImportReport) -> list[str]:
    """What the pages cannot show with this data (catalog keys ingest.limit.<code>)."""
    roles = {info.role for _, info, _, _ in staged}
    order_fields = set().union(*[p for _, i, _, p in staged if i.role == "order_lines"] or [set()])
    cust_fields = set().union(*[p for _, i, _, p in staged if i.role == "customers"] or [set()])
    out = []
    if not ({"cost", "gross_margin"} & order_fields):
        out.append("no_cost")
    if "cost_to_serve" not in roles:
        out.append("no_cost_to_serve")
    seg = set(schema.DIMENSIONS)
    if not (seg & (order_fields | cust_fields)):
        out.append("no_segments")
    elif "sector" not in order_fields | cust_fields:
        out.append("no_sector")
    if "parent_id" not in cust_fields:
        out.append("no_groups")
    if not ({"product_id", "product_name"} & order_fields):
        out.append("no_products")
    if "order_id" not in order_fields:
        out.append("no_order_id")
    return out


def run(files: list[SourceFile], db: Path | str, options: Options | None = None, commit: bool = False,
        progress: Progress | None = None, workdir: Path | str | None = None) -> ImportReport:
    """Validate ``files`` and, with ``commit``, load them into ``db`` (all or nothing).

    Returns the report; ``report.committed`` says whether the database was written. With
    errors, nothing is written unless ``options.skip_bad_rows`` and every error is on a row.
    """
    options = options or Options()
    if options.mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}")
    db = Path(db)
    report = ImportReport(mode=options.mode)
    step = progress or (lambda f, s: None)
    sweep_stale(workdir, db if commit else None)
    tmp = tempfile.mkdtemp(prefix=f"{TMP_PREFIX}import-{os.getpid()}-", dir=workdir)
    workpath = Path(tmp)
    try:
        preps = []
        for i, src in enumerate(files):
            step(0.05 * i / max(1, len(files)), "prepare")
            try:
                preps.append(_prepare(src, workpath, progress, _cache(workdir)))
            except LoadError as exc:
                report.problems.extend(exc.problems)
        target = _target_problem(db, options.mode)
        if target:
            report.problems.append(target)
        if report.problems:
            report.problem_total = len(report.problems)
            return report
        current = None
        if options.mode == "append" and db.exists():
            step(0.08, "prepare")
            current = _export_current(db, workpath)

        def fill(con):
            con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
            spill = str(workpath / "spill").replace("'", "''")  # our own folder, quoted
            con.execute(f"SET temp_directory = '{spill}'")
            _set_timezone(con)
            prefix = "new_" if current else ""  # append: new rows first, then the current ones
            if commit and prefix:
                for role in maps.ROLES:
                    con.execute(f"CREATE TEMP TABLE new_{role} AS SELECT * FROM {role} LIMIT 0")
            staged = _stage_and_check(con, files, preps, report, options, step)
            if report.problems and not (options.skip_bad_rows and report.can_skip):
                raise _Failed()
            if report.needs_date_order:
                raise _Failed()
            if not commit:
                return staged
            step(0.7, "write")
            counts: dict[str, int] = {}
            base = 0
            for table, info, where, present in staged:
                n = _insert(con, info.role, table, present, info, where, base, prefix)
                base += info.rows or 0
                counts[info.role] = counts.get(info.role, 0) + n
            _derive_dimensions(con, staged, prefix)
            if current:
                _append_current(con, current, counts)
                for role in maps.ROLES:
                    con.execute(f"INSERT INTO {role} SELECT * FROM new_{role}")
            con.execute("""INSERT INTO customers (customer_id)
                           SELECT DISTINCT customer_id FROM order_lines ANTI JOIN customers USING (customer_id)""")
            if current:
                con.read_parquet(str(current["value_labels"])).create_view("old_value_labels")
                con.execute("INSERT INTO value_labels SELECT * FROM old_value_labels")
            # the views over the current data's Parquet copy name temporary files: never kept
            for (view,) in con.execute("SELECT view_name FROM duckdb_views() "
                                       "WHERE NOT internal AND NOT temporary").fetchall():
                con.execute(f'DROP VIEW "{view}"')  # our own names (old_<table>)
            report.counts = counts
            step(0.85, "derive")
            return staged

        if commit:
            try:
                report.meta = store.build_sales_db(
                    db, fill, currency=options.currency,
                    source="files: " + ", ".join(p.name for p in preps))
                report.committed = True
            except _Failed:
                pass
            except LoadError as exc:
                report.problems.extend(exc.problems)
            except (duckdb.Error, store.StoreError) as exc:
                report.problems.append(problem(", ".join(p.name for p in preps), None, "-", "",
                                               "load_failed", detail=str(exc).splitlines()[0][:300]))
        else:
            con = _connect_work(tmp)
            try:
                fill(con)
            except _Failed:
                pass
            finally:
                con.close()
        report.problem_total = max(report.problem_total, len(report.problems))
        if report.committed and options.save_profiles and options.user_db is not None:
            for info in report.files:
                try:
                    maps.save_profile(options.user_db, info.columns, info.role, info.mapping,
                                      date_order=info.date_order, decimal=info.decimal)
                except Exception:  # a profile is a convenience: never fail an import for it
                    pass
        step(1.0, "done")
        return report
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# A trailing row that adds up the others, named in its first cells ("Total", "合计" …)
TOTAL_ROW = r"\s*(grand\s+total|total|totals|sum|summe|gesamt|合计|总计|合計|總計|共计|小计)\s*[:：]?\s*"


def _stage_and_check(con, files, preps, report: ImportReport, options: Options, step) -> list:
    staged = []
    checker = _Checker(con, report, options)
    report.files = []
    for i, (src, prep) in enumerate(zip(files, preps)):
        try:
            info, rel, attempt = _info(con, src, prep, options.user_db)
        except LoadError as exc:
            report.problems.extend(exc.problems)
            continue
        report.files.append(info)
        for code, fields_ in prep.notes:
            report.warnings.append(problem(info.name, None, "-", "", code, **fields_))
        if info.header_line > 1:
            report.warnings.append(problem(info.name, info.header_line, "-", "", "header_below_top",
                                           header=info.header_line, n=info.header_line - 1))
        if info.units_row:
            report.warnings.append(problem(info.name, info.header_line + 1, "-", "", "units_row"))
        missing = maps.missing_required(info.mapping, info.role)
        if missing:
            report.problems.append(problem(info.name, None, ", ".join(missing), "", "missing_column",
                                           found=", ".join(info.columns)))
            continue
        unused = [c for c in info.columns if c not in info.mapping]
        if unused:
            report.warnings.append(problem(info.name, None, ", ".join(unused[:12]), "", "unused_columns",
                                           n=len(unused)))
        fields = {}
        index = {c: j for j, c in enumerate(info.columns)}
        for srccol, f in info.mapping.items():
            if f in maps.FIELDS[info.role] and f not in fields.values():
                fields[f"c{index[srccol]}"] = f
        rows = _Rows(f"rows_{i}", f"typed_{i}", info.role, list(fields.values()))
        step(0.1 + 0.4 * i / max(1, len(files)), "read")
        error = None
        for k in range(attempt, len(READ_ATTEMPTS) if prep.kind == "csv" else attempt + 1):
            view = f"raw_{i}"
            try:
                if k != attempt:
                    rel = _relation(con, prep, k)[0]
                rel.create_view(view, replace=True)
                # one pass over the file: text, parsed values and row flags of every row
                _with_progress(con, lambda: con.execute(
                    f"CREATE OR REPLACE TEMP TABLE {rows.table} AS {rows.read_sql(view, fields)}"),
                    lambda f: step(0.1 + 0.4 * (i + f) / max(1, len(files)), "read"))
                error = None
                break
            except (duckdb.Error, LoadError) as exc:
                error = error or exc
            finally:
                con.execute(f"DROP VIEW IF EXISTS {view}")  # it names the file: never kept
        if error is not None:
            report.problems.extend(error.problems if isinstance(error, LoadError) else
                                   [problem(info.name, None, "-", "", "unreadable",
                                            detail=str(error).splitlines()[0][:300])])
            continue
        if prep.units_row:
            rows.excluded.append(1)
        rows.show(con)
        offset = prep.line_offset - 1 if prep.kind == "csv" else 0
        _drop_total_row(con, rows, info, offset, report)
        info.rows = con.execute(f"SELECT count(*) FROM {rows.view}").fetchall()[0][0]
        if info.rows == 0:
            report.problems.append(problem(info.name, None, "-", "", "no_rows"))
            continue
        step(0.5 + 0.2 * i / max(1, len(files)), "check")
        where = checker.file(rows, info, offset)
        staged.append((rows.view, info, where, set(rows.fields)))
    if not any(info.role == "order_lines" for _, info, _, _ in staged) and not report.problems:
        report.problems.append(problem(", ".join(p.name for p in preps), None, "-", "", "no_orders"))
    report.limits = _limits(staged, report)
    return staged


def _drop_total_row(con, rows: _Rows, info: FileInfo, offset: int, report) -> None:
    """Leave out a last row that sums up the others ("Total", "合计" … in one of its text
    cells, its identifying cells otherwise empty or the same label), with a warning."""
    kinds = maps.FIELDS[info.role]
    table = rows.view
    texts = [f for f in rows.fields if kinds[f] == "text"]
    if not texts:
        return
    label = " OR ".join(f"regexp_full_match(lower(coalesce({f}, '')), ?)" for f in texts)
    last = con.execute(f"SELECT max(_row) FROM {table}").fetchall()[0][0]
    row = con.execute(f"SELECT _row, concat_ws(' ', {', '.join(texts)}) FROM {table} "
                      f"WHERE _row = ? AND ({label})", [last] + [TOTAL_ROW] * len(texts)).fetchall()
    if row:
        rows.excluded.append(row[0][0])
        rows.show(con)
        report.warnings.append(problem(info.name, row[0][0] + offset, "-", row[0][1], "total_row"))


def _append_current(con, current: dict[str, Path], counts: dict) -> None:
    """Append mode: keep the current rows that the new files do not replace."""
    for table, keys in (("order_lines", "order_id, line_no"), ("customers", "customer_id"),
                        ("products", "product_id"), ("cost_to_serve", "customer_id, month, cost_type")):
        con.read_parquet(str(current[table])).create_view(f"old_{table}")
        if table == "order_lines":
            counts["replaced_lines"] = con.execute(
                f"SELECT count(*) FROM old_{table} SEMI JOIN new_{table} USING ({keys})").fetchall()[0][0]
            counts["kept_lines"] = con.execute(
                f"SELECT count(*) FROM old_{table} ANTI JOIN new_{table} USING ({keys})").fetchall()[0][0]
        if table in ("customers", "products"):
            # the current attributes win over the bare rows derived from order lines
            con.execute(f"""DELETE FROM new_{table} n WHERE n.{keys} IN (SELECT {keys} FROM old_{table})
                            AND n.name IS NULL""")
        con.execute(f"INSERT INTO new_{table} SELECT * FROM old_{table} ANTI JOIN new_{table} USING ({keys})")


def _with_progress(con, work: Callable[[], object], report: Callable[[float], None]):
    """Run ``work`` while a thread reports DuckDB's own query progress."""
    done = threading.Event()

    def poll():
        while not done.wait(0.3):
            try:
                p = con.query_progress()
            except Exception:  # progress is a nicety: the query itself decides success
                return
            if p is not None and p >= 0:
                report(min(1.0, p / 100))

    t = threading.Thread(target=poll, daemon=True)
    t.start()
    try:
        return work()
    finally:
        done.set()
        t.join()
