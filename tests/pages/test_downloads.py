"""Every table download of every page is data: each file is built as the page builds it, opened
back with pandas and openpyxl, and its columns checked (numbers as numbers with the unit in the
header, IDs as text, dates as dates, Excel number formats), and Streamlit's own table toolbar
download is off."""

import io

import openpyxl
import pandas as pd
import pytest
import streamlit as st

from kamdash import export
from kamdash.ui import components
from tests.pages.conftest import page

PAGES = {  # page: the table downloads it offers (download keys)
    "pages/overview.py": {"top_accounts"},
    "pages/concentration.py": {"worst", "tiers", "breakdown", "dl"},
    "pages/segments.py": {"segment_table", "seg_download"},
    "pages/key_accounts.py": {"ka_types_table", "ka_groups", "ka_download",
                              *{f"ka_quadrant_{q}" for q in ("star", "develop", "maintain", "review")}},
    "pages/retention.py": {"ret_at_risk"},
}
NUMERIC = {"int", "number", "money", "pct", "delta"}


@pytest.fixture
def recorded(monkeypatch):
    """The frames handed to the table downloads while a page runs, by download key."""
    seen = {}
    real = components.table_downloads

    def record(ctx, df, key, name, where=None):
        seen[key] = df
        return real(ctx, df, key, name, where)

    monkeypatch.setattr(components, "table_downloads", record)
    return seen


def check_download(key: str, df: pd.DataFrame) -> None:
    kinds = export.kinds_of(df)
    assert "kinds" in df.attrs, f"{key}: not built by kamdash.export.frame"
    # CSV: what a spreadsheet or pandas reads back
    back = pd.read_csv(io.BytesIO(export.csv_bytes(df)), encoding="utf-8-sig", dtype={
        c: str for c, k in kinds.items() if k in ("id", "text")})
    assert list(back.columns) == list(df.columns), key
    for col, kind in kinds.items():
        if kind in NUMERIC:
            assert pd.api.types.is_numeric_dtype(back[col]), f"{key}: {col} is not numeric in the CSV"
            assert back[col].tolist() == pytest.approx(df[col].astype("float64").tolist(), nan_ok=True), (key, col)
        if kind == "money":
            assert col.endswith(")"), f"{key}: {col} has no currency"
        if kind == "date":
            assert pd.api.types.is_datetime64_any_dtype(pd.to_datetime(back[col], format="%Y-%m-%d")), (key, col)
    # Excel: openpyxl cells are numbers with a number format, dates are dates
    wb = openpyxl.load_workbook(io.BytesIO(export.excel_bytes(df, key)))
    ws = wb.active
    assert [c.value for c in ws[1]] == list(df.columns), key
    for i, (col, kind) in enumerate(kinds.items()):
        cells = [row[i] for row in ws.iter_rows(min_row=2, max_row=min(ws.max_row, 30))]
        for cell in cells:
            if cell.value is None:
                continue
            if kind in NUMERIC:
                assert cell.data_type == "n" and cell.number_format == export.EXCEL_FORMATS[kind], (key, col, cell.value)
            elif kind == "date":
                assert cell.is_date and cell.number_format == "yyyy-mm-dd", (key, col)
            else:
                assert cell.data_type == "s", (key, col, cell.value)
    read = pd.read_excel(io.BytesIO(export.excel_bytes(df, key)))
    for col, kind in kinds.items():
        if kind in NUMERIC and read[col].notna().any():
            assert pd.api.types.is_numeric_dtype(read[col]), (key, col)
        if kind == "date" and read[col].notna().any():
            assert pd.api.types.is_datetime64_any_dtype(read[col]), (key, col)


@pytest.mark.parametrize("path", list(PAGES))
def test_every_table_download_is_data(path, small_fit, recorded, small_db, use_db, user_db):
    # small_fit (session-wide) is stored in the small database's own user database before
    # ``user_db`` points KAMDASH_USER_DB elsewhere (asked for inside the test, it was stored in
    # this test's temporary user database, and every later test using it found no fit); this
    # test's user database starts as a copy of that one, fit included
    import shutil

    from kamdash import config

    shutil.copyfile(small_db.with_name(small_db.stem + ".user.duckdb"), user_db)
    assert config.user_db_path(small_db) == user_db
    use_db(small_db)
    at = page(path).run()
    assert not at.exception
    assert st.get_option("client.disableDataExport") is True  # no toolbar "Download as CSV"
    assert PAGES[path] <= set(recorded), sorted(recorded)
    keys = {b.key for b in at.get("download_button")}
    for key, df in recorded.items():
        assert {f"{key}_csv", f"{key}_xlsx"} <= keys
        assert len(df.columns) and len(df), key
        check_download(key, df)
        ids = [c for c, k in export.kinds_of(df).items() if k == "id"]
        if any(w in path for w in ("overview", "retention")) or key in ("worst", "dl", "ka_groups", "ka_download"):
            assert ids, f"{key}: an account list without its IDs"
