"""SQL that turns text cells into dates and numbers, and the detection of formats from the data.

Every expression here is built from our own column names (staging columns are named after the
canonical fields) and constant patterns; no file content is ever part of the SQL text.

Dates understood: ISO ``2024-03-05`` (also with ``/`` or ``.``, and a time after it),
``05/03/2024`` and ``05/03/24`` with the day/month order decided from the data (a first part
above 12 means day first, a second part above 12 means month first; when no value decides it,
the user is asked), ``2024年3月5日``, ``20240305``, Excel serial numbers (``45356``), and
``5-Mar-2024`` / ``Mar 5, 2024``. Two-digit years: 00-69 are 2000-2069, 70-99 are 1970-1999.

Timestamps with a time zone (``2025-01-31T20:00:00-05:00``, Parquet timestamps with a zone)
become the date in the business's time zone (the DuckDB session's, set from KAMDASH_TIMEZONE).

Numbers: ``1234.5``, ``1,234.5``, ``1.234,5`` and ``1 234,5`` (decimal comma decided from the
data), currency signs (¥ ￥ $ € £ 元) and ``(123)`` for a negative amount.
"""

from __future__ import annotations

DATE_ORDERS = ("dmy", "mdy", "ymd")
EXCEL_EPOCH = "1899-12-30"

_ISO = r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?$"
_CN = r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?(?:\s.*)?$"
_COMPACT = r"^((?:19|20)\d{2})(\d{2})(\d{2})$"
_SERIAL = r"^\d{5}(?:\.\d+)?$"
_ABC = r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{2}|\d{4})(?:[ T].*)?$"
# a timestamp with a time zone (Z, +08:00, -0500, +08): read as the date in the business's zone
_TZ = r"^\d{4}-\d{1,2}-\d{1,2}[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*(Z|[+-]\d{2}(:?\d{2})?)$"
_TEXT_MONTH_FORMATS = ("%d-%b-%Y", "%d %b %Y", "%b %d, %Y", "%d-%b-%y", "%B %d, %Y", "%d %B %Y")


def _v(col: str) -> str:
    return f"trim(CAST({col} AS VARCHAR))"


def _ymd(y: str, m: str, d: str) -> str:
    return f"try(make_date(CAST({y} AS INTEGER), CAST({m} AS INTEGER), CAST({d} AS INTEGER)))"


def _year(y: str) -> str:
    return (f"(CASE WHEN length({y}) = 2 THEN CAST({y} AS INTEGER) + "
            f"(CASE WHEN CAST({y} AS INTEGER) < 70 THEN 2000 ELSE 1900 END) ELSE CAST({y} AS INTEGER) END)")


def _abc_date(a: str, b: str, c: str, order: str | None) -> str:
    """SQL date from the three numeric parts of a slashed/dashed date in the given day order
    (dmy, mdy or ymd); NULL when the order is not decided."""
    if order == "dmy":
        return _ymd(_year(c), b, a)
    if order == "mdy":
        return _ymd(_year(c), a, b)
    if order == "ymd":
        return f"(CASE WHEN length({c}) <= 2 THEN {_ymd(_year(a), b, c)} END)"
    return "CAST(NULL AS DATE)"


def date_expr(col: str, order: str | None) -> str:
    """DATE from the text column ``col``; NULL when empty or not a date under ``order``.

    ``order`` is how ``a/b/c`` dates are read: dmy, mdy, ymd (two-digit year first), or None
    when undecided (such values then give NULL).
    """
    v = _v(col)
    parts = lambda pat, i: f"regexp_extract({v}, '{pat}', {i})"  # noqa: E731
    iso = _ymd(parts(_ISO, 1), parts(_ISO, 2), parts(_ISO, 3))
    cn = _ymd(parts(_CN, 1), parts(_CN, 2), parts(_CN, 3))
    compact = _ymd(parts(_COMPACT, 1), parts(_COMPACT, 2), parts(_COMPACT, 3))
    serial = f"CAST(DATE '{EXCEL_EPOCH}' + CAST(floor(CAST({v} AS DOUBLE)) AS INTEGER) AS DATE)"
    a, b, c = parts(_ABC, 1), parts(_ABC, 2), parts(_ABC, 3)
    abc = _abc_date(a, b, c, order)
    fmts = ", ".join(f"'{f}'" for f in _TEXT_MONTH_FORMATS)
    return f"""(CASE
        WHEN {col} IS NULL OR {v} = '' THEN CAST(NULL AS DATE)
        WHEN regexp_full_match({v}, '{_ISO}') THEN {iso}
        WHEN regexp_full_match({v}, '{_CN}') THEN {cn}
        WHEN regexp_full_match({v}, '{_COMPACT}') THEN {compact}
        WHEN regexp_full_match({v}, '{_SERIAL}') AND CAST({v} AS DOUBLE) BETWEEN 1 AND 2958465 THEN {serial}
        WHEN regexp_full_match({v}, '{_ABC}') THEN {abc}
        ELSE CAST(try_strptime({v}, [{fmts}]) AS DATE) END)"""


def date_order_evidence_sql(col: str, table: str) -> str:
    """A query giving (a/b/c values, day-first evidence, month-first evidence, year-first) for
    ``col``: one regular expression per value that is not an ISO date."""
    v = _v(col)
    return f"""SELECT count(*) FILTER (m.a <> ''),
                      count(*) FILTER (TRY_CAST(m.a AS INTEGER) > 12 AND TRY_CAST(m.b AS INTEGER) <= 12),
                      count(*) FILTER (TRY_CAST(m.b AS INTEGER) > 12 AND TRY_CAST(m.a AS INTEGER) <= 12),
                      count(*) FILTER (length(m.c) = 2 AND TRY_CAST(m.a AS INTEGER) > 31)
               FROM (SELECT regexp_extract({v}, '{_ABC}', ['a', 'b', 'c']) AS m FROM {table}
                     WHERE {col} IS NOT NULL AND NOT coalesce(year(TRY_CAST({v} AS DATE)) >= 1000, false))"""


def decide_date_order(n_abc: int, day_first: int, month_first: int, year_first: int) -> str | None:
    """The order the evidence supports, None when it cannot be decided (ask the user)."""
    if not n_abc:
        return "ymd"  # nothing ambiguous: any order reads the other formats the same way
    if year_first and not (day_first or month_first):
        return "ymd"
    if day_first >= month_first and day_first:
        return "dmy"
    if month_first:
        return "mdy"
    return None


def decimal_evidence_sql(col: str) -> str:
    """SELECT list giving (decimal comma evidence, decimal point evidence) for ``col``."""
    v = _v(col)
    comma = rf"^[-+(]?[¥￥$€£]?\d{{1,3}}([.\s]\d{{3}})*,\d{{1,2}}\)?$|^[-+(]?\d+,\d{{1,2}}\)?$|^[-+(]?\d{{1,3}}(\.\d{{3}})+,\d+\)?$"
    point = rf"^[-+(]?[¥￥$€£]?\d{{1,3}}(,\d{{3}})*\.\d{{1,2}}\)?$|^[-+(]?\d+\.\d{{1,2}}\)?$|^[-+(]?\d{{1,3}}(,\d{{3}})+\.\d+\)?$"
    return (f"count(*) FILTER (regexp_full_match({v}, '{comma}')), "
            f"count(*) FILTER (regexp_full_match({v}, '{point}'))")


def typed_layers(field_: str, kind: str, order: str | None, decimal: str) -> tuple[list, list, str]:
    """The parse of ``field_`` split in three SELECT layers so that each step runs once per
    value: (inner expressions, middle expressions, outer expression ``p_<field>``).

    Dates: an ISO date (4-digit year) is taken by a plain cast; ``a/b/c`` dates by one regular
    expression; anything else by ``date_expr``. Numbers: one cleaning regex, then a cast.
    """
    f = field_
    if kind == "date":
        inner = [f"trim(CAST({f} AS VARCHAR)) AS t_{f}"]
        # each test only where the value can pass it: a failing cast or regex costs as much
        iso_like = f"substr(t_{f}, 5, 1) IN ('-', '/', '.')"
        mid = [f"(CASE WHEN {iso_like} THEN TRY_CAST(t_{f} AS DATE) END) AS iso_{f}",
               f"(CASE WHEN NOT {iso_like} THEN regexp_extract(t_{f}, '{_ABC}', ['a', 'b', 'c']) END) AS abc_{f}"]
        a, b, c = (f"abc_{f}.{x}" for x in "abc")
        abc = _abc_date(a, b, c, order)
        outer = (f"(CASE WHEN length(t_{f}) > 16 AND regexp_full_match(t_{f}, '{_TZ}') "
                 f"THEN CAST(TRY_CAST(t_{f} AS TIMESTAMPTZ) AS DATE) "
                 f"WHEN year(iso_{f}) >= 1000 THEN iso_{f} WHEN {a} <> '' THEN {abc} "
                 f"ELSE {date_expr(f't_{f}', order)} END) AS p_{f}")
        return inner, mid, outer
    if kind in ("number", "integer"):
        # currency signs and thousands separators (spaces, no-break spaces, apostrophes)
        drop = "[\\s\u00a0\u202f¥￥$€£元.''\u2019]" if decimal == "," else "[\\s\u00a0\u202f¥￥$€£元,''\u2019]"
        cleaned = f"regexp_replace(trim(CAST({f} AS VARCHAR)), '{drop}', '', 'g')"
        if decimal == ",":
            cleaned = f"replace({cleaned}, ',', '.')"
        slow = f"TRY_CAST(regexp_replace({cleaned}, '^\\((.*)\\)$', '-\\1') AS DOUBLE)"
        if decimal == ",":
            inner = [f"CAST(NULL AS DOUBLE) AS t_{f}"]
        else:  # plain numbers need no cleaning: cast first, clean only the others
            inner = [f"TRY_CAST(trim(CAST({f} AS VARCHAR)) AS DOUBLE) AS t_{f}"]
        mid = [f"(CASE WHEN t_{f} IS NULL AND {f} IS NOT NULL THEN {slow} ELSE t_{f} END) AS x_{f}"]
        if kind == "number":
            outer = f"(CASE WHEN isfinite(x_{f}) THEN x_{f} END) AS p_{f}"
        else:
            outer = f"(CASE WHEN x_{f} = floor(x_{f}) AND abs(x_{f}) < 2147483647 THEN CAST(x_{f} AS INTEGER) END) AS p_{f}"
        return inner, mid, outer
    return [], [], f"{text_expr(f)} AS p_{f}"


# Control characters a text cell must not keep (a spreadsheet refuses them): C0 except tab,
# line feed and carriage return, and DEL (a regular-expression class).
CONTROL_CHARS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"


def has_control(col: str) -> str:
    return f"regexp_matches({col}, '{CONTROL_CHARS}')"


def text_expr(col: str) -> str:
    """Text trimmed, control characters removed, NULL when empty (the replacement only where
    the cheap test finds one)."""
    v = f"CAST({col} AS VARCHAR)"
    return (f"nullif(trim(CASE WHEN {has_control(v)} THEN regexp_replace({v}, '{CONTROL_CHARS}', '', 'g') "
            f"ELSE {v} END), '')")
