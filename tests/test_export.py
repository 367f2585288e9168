"""Formula-injection neutralisation of every CSV/Excel download."""

import io

import openpyxl
import pytest
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


def test_control_characters_never_break_an_excel_download():
    # a name with a control character made openpyxl raise IllegalCharacterError
    df = export.frame([("ID", "id", ["C1", "C2"]), ("Customer", "text", ["Acme\x07 Ltd\x1f", "=cmd\x00"]),
                       ("Revenue", "money", [1.005, -2.5])], "CNY")
    ws = openpyxl.load_workbook(io.BytesIO(export.excel_bytes(df, "a\x01b"))).active
    assert [c.value for c in ws["B"]] == ["Customer", "Acme Ltd", "'=cmd"]
    assert export.csv_bytes(df).decode("utf-8-sig").splitlines()[1:] == ["C1,Acme Ltd,1.0", "C2,'=cmd,-2.5"]
    raw = pd.DataFrame({"x": ["tab\tand\nnewline\x0b"]})  # any frame, not only export.frame ones
    assert openpyxl.load_workbook(io.BytesIO(export.excel_bytes(raw))).active["A2"].value == "tab\tand\nnewline"


def test_frame_types_every_kind_and_puts_the_unit_in_the_header():
    df = export.frame([
        ("ID", "id", [7, "00123"]), ("Rank", "int", [1.0, 2.0]), ("Revenue", "money", [1234.567, None]),
        ("Margin", "pct", [0.2345, -0.5]), ("Change", "delta", [0.1, float("nan")]),
        ("Gini", "number", [0.1234567, 1]), ("Last order", "date", ["2026-03-31", None])], "EUR")
    assert list(df.columns) == ["ID", "Rank", "Revenue (EUR)", "Margin (%)", "Change (%)", "Gini", "Last order"]
    assert df["ID"].tolist() == ["7", "00123"] and df["Rank"].dtype == "Int64"
    assert df["Revenue (EUR)"].tolist()[0] == 1234.57 and pd.isna(df["Revenue (EUR)"].iloc[1])
    assert df["Margin (%)"].tolist() == [23.45, -50.0] and df["Gini"].tolist() == [0.123457, 1.0]
    assert pd.api.types.is_datetime64_any_dtype(df["Last order"])
    ws = openpyxl.load_workbook(io.BytesIO(export.excel_bytes(df))).active
    assert ws["B2"].value == 1 and ws["B2"].number_format == "#,##0"
    assert ws["C2"].value == 1234.57 and ws["C2"].number_format == "#,##0.00"
    assert ws["E2"].number_format == "+0.0;-0.0;0.0" and ws["G2"].is_date and ws["G2"].number_format == "yyyy-mm-dd"
    assert ws["A3"].value == "00123" and ws["A3"].data_type == "s"  # an ID keeps its leading zeros
    assert export.csv_bytes(df).decode("utf-8-sig").splitlines()[1] == "7,1,1234.57,23.45,10.0,0.123457,2026-03-31"
    with pytest.raises(ValueError, match="unknown column kind"):
        export.frame([("x", "currency", [1])], "CNY")
