"""Formula-injection neutralisation of every CSV/Excel download."""

import io

import openpyxl
import pandas as pd

from kamdash import export

EVIL = ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "  =HYPERLINK(\"http://x\")", "\t=1", "normal", "a=b"]


def test_neutralise_prefixes_formula_text_and_leaves_numbers():
    df = pd.DataFrame({"name": EVIL, "n": range(len(EVIL)), "neg": [-1.5] * len(EVIL)})
    out = export.neutralise(df)
    assert out["name"].tolist() == ["'=1+1", "'+SUM(A1)", "'-2+3", "'@cmd", "'  =HYPERLINK(\"http://x\")",
                                     "'\t=1", "normal", "a=b"]
    assert out["neg"].tolist() == [-1.5] * len(EVIL) and df["name"].tolist() == EVIL  # input untouched


def test_csv_and_excel_downloads_hold_no_formulas():
    df = pd.DataFrame({"客户": ["=cmd|' /C calc'!A0", "华为"], "金额": [-100.0, 5.0]})
    text = export.csv_bytes(df).decode("utf-8-sig")
    assert text.splitlines()[1] == "'=cmd|' /C calc'!A0,-100.0"
    wb = openpyxl.load_workbook(io.BytesIO(export.excel_bytes(df)))
    cells = [c.value for c in wb.active["A"]]
    assert cells == ["客户", "'=cmd|' /C calc'!A0", "华为"]
    assert wb.active["B2"].value == -100 and wb.active["B2"].data_type == "n"
