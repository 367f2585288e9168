"""Downloads: tables as CSV or Excel bytes (no Streamlit here), safe to open in a spreadsheet.

Text cells starting with ``=``, ``+``, ``-``, ``@`` (also after spaces, and tab / carriage return
starts) are read as formulas by Excel and LibreOffice: a customer name like
``=HYPERLINK("http://…")`` in imported data would run when an exported file is opened (formula
injection, OWASP "CSV injection"). Every CSV/Excel download goes through ``neutralise``, which
puts an apostrophe in front of such text; numbers stay numbers (``-5`` as a number is not
touched). Use ``csv_bytes`` / ``excel_bytes`` for every download.
"""

from __future__ import annotations

import io
import re

import pandas as pd

FORMULA_START = re.compile(r"^\s*[=+\-@\t\r]")


def neutralise_value(value):
    if isinstance(value, str) and FORMULA_START.match(value):
        return "'" + value
    return value


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells (and column names) cannot start a formula."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
            out[col] = s.map(neutralise_value, na_action="ignore")
    out.columns = [neutralise_value(c) if isinstance(c, str) else c for c in out.columns]
    return out


def csv_bytes(df: pd.DataFrame) -> bytes:
    """UTF-8 CSV with a byte-order mark (so Excel opens Chinese names correctly), neutralised."""
    return neutralise(df).to_csv(index=False).encode("utf-8-sig")


def excel_bytes(df: pd.DataFrame, sheet: str = "accounts") -> bytes:
    """An .xlsx workbook with ``df`` on one sheet (openpyxl), neutralised; cells are values."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        neutralise(df).to_excel(writer, index=False, sheet_name=sheet[:31])
    return buf.getvalue()
