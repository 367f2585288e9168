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
    # try() catches an invalid date, but an error per value is slow: a month or day out of
    # range (every value read in the wrong day order) gives NULL without one
    m, d = f"TRY_CAST({m} AS INTEGER)", f"TRY_CAST({d} AS INTEGER)"
    return (f"(CASE WHEN {m} BETWEEN 1 AND 12 AND {d} BETWEEN 1 AND 31 "
            f"THEN try(make_date(CAST({y} AS INTEGER), {m}, {d})) END)")


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


def date_order_evidence(col: str) -> str:
    """SELECT list giving (a/b/c values, day-first evidence, month-first evidence, year-first)
    for the date field ``col`` from the evidence bits its read stored (``ev_<col>``, see
    ``typed_layers``): counted over the values that are not ISO dates."""
    return ", ".join(f"count(*) FILTER ((ev_{col} & {bit}) <> 0)" for bit in (1, 2, 4, 8))


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


def decimal_evidence_sql(col: str, point: bool = True) -> str:
    """SELECT list giving (decimal comma evidence[, decimal point evidence]) for ``col``. Every
    decimal-comma pattern holds a comma: values without one are not looked at again."""
    v = _v(col)
    comma = rf"^[-+(]?[¥￥$€£]?\d{{1,3}}([.\s]\d{{3}})*,\d{{1,2}}\)?$|^[-+(]?\d+,\d{{1,2}}\)?$|^[-+(]?\d{{1,3}}(\.\d{{3}})+,\d+\)?$"
    out = f"count(*) FILTER (CASE WHEN contains({col}, ',') THEN regexp_full_match({v}, '{comma}') ELSE false END)"
    if point:
        pattern = rf"^[-+(]?[¥￥$€£]?\d{{1,3}}(,\d{{3}})*\.\d{{1,2}}\)?$|^[-+(]?\d+\.\d{{1,2}}\)?$|^[-+(]?\d{{1,3}}(,\d{{3}})+\.\d+\)?$"
        out += f", count(*) FILTER (regexp_full_match({v}, '{pattern}'))"
    return out


def typed_layers(field_: str, kind: str, decimal: str) -> tuple[list[list[str]], list[str]]:
    """The parse of ``field_`` (its text column) as successive SELECT layers, so that each step
    runs once per value and only where the value can pass it (a failing cast or regular
    expression costs as much as a success): (expressions per layer, the columns to keep).

    Dates keep one parsed column per day order (``p_<f>_dmy``, ``_mdy``, ``_ymd``, ``_none``
    when undecided: ``typed_value`` picks one once the order is known) and ``ev_<f>``, the
    day-order evidence bits of the value (1: an ``a/b/c`` date, 2: day first, 4: month first,
    8: two-digit year first). An ISO date (4-digit year) is taken by a plain cast; ``a/b/c``
    dates by one regular expression; anything else by ``date_expr``.
    Numbers (``p_<f>``) under the decimal separator ``decimal``: one cleaning regex, then a
    cast, only for values a plain cast does not read. Text (``p_<f>``) is the cell cleaned
    (``text_expr``); the cell as written is ``raw_text``.
    """
    f = field_
    if kind == "date":
        iso_like = f"substr(t_{f}, 5, 1) IN ('-', '/', '.')"
        a, b, c = (f"abc_{f}.{x}" for x in "abc")
        ia, ib = f"TRY_CAST({a} AS INTEGER)", f"TRY_CAST({b} AS INTEGER)"
        bits = [f"{a} <> ''", f"{ia} > 12 AND {ib} <= 12", f"{ib} > 12 AND {ia} <= 12",
                f"length({c}) = 2 AND {ia} > 31"]
        ev = " + ".join(f"{1 << k} * CAST(coalesce({e}, false) AS INTEGER)" for k, e in enumerate(bits))
        iso = f"{iso_like} AND year(dt_{f}) >= 1000"
        layers = [
            [f"trim(CAST({f} AS VARCHAR)) AS t_{f}"],
            # only values with a 4-digit year first can be ISO dates: a failing cast costs
            # as much as a success
            [f"(CASE WHEN {iso_like} THEN TRY_CAST(t_{f} AS DATE) END) AS dt_{f}",
             f"coalesce(length(t_{f}) > 16 AND regexp_full_match(t_{f}, '{_TZ}'), false) AS tzm_{f}"],
            [f"(CASE WHEN NOT coalesce(year(dt_{f}) >= 1000, false) "
             f"THEN regexp_extract(t_{f}, '{_ABC}', ['a', 'b', 'c']) END) AS abc_{f}"],
            [f"CAST({ev} AS UTINYINT) AS ev_{f}",
             f"(NOT tzm_{f} AND NOT coalesce({iso}, false) AND coalesce({a} <> '', false)) AS has_abc_{f}",
             f"(CASE WHEN tzm_{f} THEN CAST(TRY_CAST(t_{f} AS TIMESTAMPTZ) AS DATE) "
             f"WHEN {iso} THEN dt_{f} WHEN coalesce({a} <> '', false) THEN CAST(NULL AS DATE) "
             f"ELSE {date_expr(f't_{f}', None)} END) AS base_{f}"],
            [f"(CASE WHEN has_abc_{f} THEN {_abc_date(a, b, c, o)} ELSE base_{f} END) AS p_{f}_{o or 'none'}"
             for o in DATE_ORDERS + (None,)],
        ]
        return layers, [f"ev_{f}"] + [f"p_{f}_{o}" for o in DATE_ORDERS + ("none",)]
    if kind in ("number", "integer"):
        # currency signs and thousands separators (spaces, no-break spaces, apostrophes)
        drop = "[\\s\u00a0\u202f¥￥$€£元.''\u2019]" if decimal == "," else "[\\s\u00a0\u202f¥￥$€£元,''\u2019]"
        cleaned = f"regexp_replace(trim(CAST({f} AS VARCHAR)), '{drop}', '', 'g')"
        if decimal == ",":
            cleaned = f"replace({cleaned}, ',', '.')"
        slow = f"TRY_CAST(regexp_replace({cleaned}, '^\\((.*)\\)$', '-\\1') AS DOUBLE)"
        # plain numbers need no cleaning (a cast reads surrounding spaces): cast first, clean
        # only the others; with a decimal comma every value is cleaned
        first = "CAST(NULL AS DOUBLE)" if decimal == "," else f"TRY_CAST({f} AS DOUBLE)"
        if kind == "number":
            last = f"(CASE WHEN isfinite(x_{f}) THEN x_{f} END) AS p_{f}"
        else:
            last = f"(CASE WHEN x_{f} = floor(x_{f}) AND abs(x_{f}) < 2147483647 THEN CAST(x_{f} AS INTEGER) END) AS p_{f}"
        layers = [[f"{first} AS t_{f}"],
                  [f"(CASE WHEN t_{f} IS NULL AND {f} IS NOT NULL THEN {slow} ELSE t_{f} END) AS x_{f}"],
                  [last]]
        return layers, [f"p_{f}"]
    # text: the cell cleaned once where it is read (``text_expr``), and the cell as written
    # (``r_<f>``) only where it differs from that (spaces around it, control characters, an
    # empty cell): each text is kept once, and no query cleans it again
    return ([[], [f"{text_expr(f, '_odd')} AS p_{f}"],
             [f"(CASE WHEN {f} IS DISTINCT FROM p_{f} THEN {f} END) AS r_{f}"]], [f"p_{f}", f"r_{f}"])


def raw_text(field_: str) -> str:
    """The text cell ``field_`` as written, from what ``typed_layers`` kept."""
    return f"coalesce(r_{field_}, p_{field_})"


def typed_value(field_: str, kind: str, order: str | None) -> str:
    """The parsed value of ``field_`` from what ``typed_layers`` kept: for dates in the day
    order ``order`` (None: undecided, such dates are NULL)."""
    if kind == "date":
        return f"p_{field_}_{order or 'none'}"
    return f"p_{field_}"


# Control characters a text cell must not keep (a spreadsheet refuses them): C0 except tab,
# line feed and carriage return, and DEL (a regular-expression class).
CONTROL_CHARS = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"


# Text a spreadsheet would read as a formula starts with one of these after spaces (``formula``)
_FORMULA_START = r"^ *[=+\-@]"


def row_flags(texts: list[str], numbers: list[str]) -> list[str]:
    """Cheap tests of a whole row that rule out the rarer checks for almost every row: ``_odd``
    (a text cell may hold a control character or start like a formula: one regular expression
    over the row's text cells, one per line) and ``_comma`` (a number cell holds a comma: the
    only way to write a number against the decimal separator)."""
    odd = (f"regexp_matches(concat_ws(chr(10), {', '.join(texts)}), '{CONTROL_CHARS}|(?m:{_FORMULA_START})')"
           if texts else "false")
    # a CASE stops at the first cell with a comma
    comma = ("CASE " + " ".join(f"WHEN contains({f}, ',') THEN true" for f in numbers) + " ELSE false END"
             if numbers else "false")
    return [f"{odd} AS _odd", f"({comma}) AS _comma"]


def has_control(col: str) -> str:
    return f"regexp_matches({col}, '{CONTROL_CHARS}')"


def formula(col: str) -> str:
    """Text that a spreadsheet would read as a formula (a number like -5 is not); only in
    rows whose ``_odd`` flag is set."""
    return (f"(CASE WHEN _odd THEN left(ltrim({col}), 1) IN ('=', '+', '-', '@') "
            f"AND TRY_CAST(trim({col}) AS DOUBLE) IS NULL ELSE false END)")


def text_expr(col: str, odd: str | None = None) -> str:
    """Text trimmed, control characters removed, NULL when empty (the replacement only where
    the cheap test finds one; with ``odd``, a row flag, only in rows where it is set)."""
    v = f"CAST({col} AS VARCHAR)"
    clean = (f"(CASE WHEN {has_control(v)} THEN regexp_replace({v}, '{CONTROL_CHARS}', '', 'g') "
             f"ELSE {v} END)")
    if odd:
        clean = f"(CASE WHEN {odd} THEN {clean} ELSE {v} END)"
    return f"nullif(trim({clean}), '')"
