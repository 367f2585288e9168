"""Downloads: tables as CSV or Excel bytes (no Streamlit here), data a spreadsheet can compute with.

One path for every table download:

- ``frame`` builds the downloaded table from typed columns: ``(label, kind, values)`` with kind
  one of ``KINDS``. Numbers stay numbers (money rounded to cents, percentages as percent numbers
  such as 23.4), the unit is in the header ("Revenue (CNY)", "Gross margin (%)"), dates are
  dates, IDs are text. The kinds and the header labels travel in ``df.attrs``, so the page can
  show the same table formatted for the screen (``kamdash.ui.components.shown``) and Excel gets a
  number format per column (``excel_bytes``).
- Text cells starting with ``=``, ``+``, ``-``, ``@`` (also after spaces, and tab / carriage
  return starts) are read as formulas by Excel and LibreOffice: a customer name like
  ``=HYPERLINK("http://…")`` in imported data would run when an exported file is opened (formula
  injection, OWASP "CSV injection"). ``neutralise`` puts an apostrophe in front of such text;
  numbers stay numbers (``-5`` as a number is not touched).
- Control characters (other than tab, line feed and carriage return) are removed from text: an
  .xlsx file cannot hold them (openpyxl raises ``IllegalCharacterError``) and they mean nothing
  in a CSV either.

Use ``csv_bytes`` / ``excel_bytes`` for every download.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable

import pandas as pd

FORMULA_START = re.compile(r"^\s*[=+\-@\t\r]")
# what openpyxl refuses in a cell (its ILLEGAL_CHARACTERS_RE): C0 controls except \t \n \r
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

KINDS = ("id", "text", "int", "number", "money", "pct", "delta", "date")
# Excel number format of each kind (text kinds: "@" keeps IDs such as 00123 as text)
EXCEL_FORMATS = {"id": "@", "text": "General", "int": "#,##0", "number": "#,##0.00",
                 "money": "#,##0.00", "pct": "0.0", "delta": "+0.0;-0.0;0.0",
                 "date": "yyyy-mm-dd"}


def clean_text(value):
    """``value`` without the control characters a spreadsheet cannot hold (non-text unchanged)."""
    if isinstance(value, str) and CONTROL.search(value):
        return CONTROL.sub("", value)
    return value


def neutralise_value(value):
    value = clean_text(value)
    if isinstance(value, str) and FORMULA_START.match(value):
        return "'" + value
    return value


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells (and column names) cannot start a formula and hold no
    control characters."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s) \
                or isinstance(s.dtype, pd.CategoricalDtype):
            out[col] = s.astype(object).map(neutralise_value, na_action="ignore")
    out.columns = [neutralise_value(c) if isinstance(c, str) else c for c in out.columns]
    out.attrs = dict(df.attrs)
    return out


def header(label: str, kind: str, currency: str) -> str:
    """The downloaded column's header: the label with its unit (money: the currency code)."""
    if kind == "money":
        return f"{label} ({currency})"
    if kind in ("pct", "delta"):
        return f"{label} (%)"
    return label


def _typed(kind: str, values) -> pd.Series:
    s = pd.Series(list(values) if not isinstance(values, pd.Series) else values.to_numpy(), dtype=object)
    if kind in ("id", "text"):
        return s.map(lambda v: None if v is None or (isinstance(v, float) and v != v) else clean_text(str(v))
                     ).astype("string")
    if kind == "date":
        return pd.to_datetime(s, errors="coerce")
    x = pd.to_numeric(s, errors="coerce").astype("float64")
    if kind == "int":
        return x.round().astype("Int64")
    if kind == "money":
        return x.round(2)
    if kind in ("pct", "delta"):
        return (x * 100).round(2)
    return x.round(6)


def frame(columns: Iterable[tuple[str, str, object]], currency: str) -> pd.DataFrame:
    """The download of a table: ``columns`` are ``(label, kind, values)`` with kind in ``KINDS``
    (``pct`` values are fractions: 0.234 becomes 23.4 under "label (%)"; ``delta`` is a relative
    change, the same numbers shown with a sign). ``attrs`` keeps
    ``kinds`` (header -> kind) and ``labels`` (header -> label) for display and Excel formats."""
    data, kinds, labels = {}, {}, {}
    for label, kind, values in columns:
        if kind not in KINDS:
            raise ValueError(f"unknown column kind {kind!r} for {label!r}; one of {KINDS}")
        h = header(label, kind, currency)
        if h in data:
            raise ValueError(f"two columns named {h!r}")
        data[h] = _typed(kind, values)
        kinds[h], labels[h] = kind, label
    out = pd.DataFrame(data)
    out.attrs = {"kinds": kinds, "labels": labels}
    return out


def kinds_of(df: pd.DataFrame) -> dict[str, str]:
    """The kind of every column: from ``attrs`` when ``frame`` built it, else from the dtype."""
    known = dict(df.attrs.get("kinds", {}))
    for col in df.columns:
        if col in known:
            continue
        s = df[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            known[col] = "date"
        elif pd.api.types.is_bool_dtype(s):
            known[col] = "text"
        elif pd.api.types.is_integer_dtype(s):
            known[col] = "int"
        elif pd.api.types.is_float_dtype(s):
            known[col] = "number"
        else:
            known[col] = "text"
    return known


def csv_bytes(df: pd.DataFrame) -> bytes:
    """UTF-8 CSV with a byte-order mark (so Excel opens Chinese names correctly), neutralised;
    dates as ISO dates (2026-03-31)."""
    out = neutralise(df)
    for col, kind in kinds_of(df).items():
        if kind == "date" and col in out:
            out[col] = pd.to_datetime(out[col], errors="coerce").dt.strftime("%Y-%m-%d")
    return out.to_csv(index=False).encode("utf-8-sig")


def excel_bytes(df: pd.DataFrame, sheet: str = "accounts") -> bytes:
    """An .xlsx workbook with ``df`` on one sheet (openpyxl), neutralised; cells are values with
    a number format per column kind, columns wide enough for their header."""
    buf = io.BytesIO()
    kinds = kinds_of(df)
    out = neutralise(df)
    for col, kind in kinds.items():
        if kind == "date" and col in out:
            out[col] = pd.to_datetime(out[col], errors="coerce").dt.date  # a date cell, not a datetime
    name = CONTROL.sub("", sheet)[:31] or "data"
    for bad in "[]:*?/\\":
        name = name.replace(bad, "-")
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        out.to_excel(writer, index=False, sheet_name=name)
        ws = writer.sheets[name]
        for i, col in enumerate(df.columns, start=1):
            fmt = EXCEL_FORMATS[kinds.get(col, "text")]
            letter = ws.cell(row=1, column=i).column_letter
            for (cell,) in ws.iter_rows(min_row=2, min_col=i, max_col=i):
                cell.number_format = fmt
            ws.column_dimensions[letter].width = min(max(len(str(col)) + 2, 10), 60)
    return buf.getvalue()
