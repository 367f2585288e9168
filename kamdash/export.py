"""Downloads that are safe to open in a spreadsheet.

Text cells starting with ``=``, ``+``, ``-``, ``@`` (also after spaces, and tab / carriage return
starts) are read as formulas by Excel and LibreOffice: a customer name like
``=HYPERLINK("http://…")`` in imported data would run when an exported file is opened (formula
injection, OWASP "CSV injection"). Every CSV/Excel export goes through ``neutralise``, which
puts an apostrophe in front of such text; numbers stay numbers (``-5`` as a number is not
touched). Use ``to_csv_bytes`` / ``to_excel_bytes`` for every download.
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


def to_csv_bytes(df: pd.DataFrame, index: bool = False) -> bytes:
    """CSV download (UTF-8 with BOM so that Excel shows Chinese correctly), neutralised."""
    return neutralise(df).to_csv(index=index).encode("utf-8-sig")


def to_excel_bytes(df: pd.DataFrame, sheet: str = "data", index: bool = False) -> bytes:
    """.xlsx download, neutralised (cells are written as values, never as formulas)."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        neutralise(df).to_excel(writer, sheet_name=sheet[:31], index=index)
    return buf.getvalue()
