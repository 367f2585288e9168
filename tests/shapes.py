"""The corpus of file shapes real systems export (tests/data/shapes), made from one small table
of order lines: ``python -m tests.shapes`` writes the files again.

Each shape holds the same lines (ROWS) written another way, so each must import to the same
customers and total, computed here from ROWS (not by any parser). A few shapes hold values no
sale can have and must be refused at a named line.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent / "data" / "shapes"

# customer, customer name, order date, amount (two decimals)
ROWS = [
    ("K001", "Acme Trading Co", "2025-01-05", 1234.50),
    ("K002", "Beta Hospital", "2025-01-31", 80.00),
    ("K001", "Acme Trading Co", "2025-02-14", 15000.25),
    ("K003", "Gamma School No 2", "2025-02-28", 999.99),
    ("K004", "Delta Bureau", "2025-03-01", 45.10),
    ("K002", "Beta Hospital", "2025-03-30", 2500.00),
]
CUSTOMERS = len({r[0] for r in ROWS})
TOTAL = round(sum(r[3] for r in ROWS), 2)


@dataclass
class Shape:
    name: str
    data: bytes
    customers: int | None = CUSTOMERS  # None: the file must be refused
    total: float | None = TOTAL
    warnings: set = field(default_factory=set)  # (line, code) the report must hold
    error: tuple | None = None  # (line, code) of the first error, when refused
    env: dict = field(default_factory=dict)
    first_date: str = ROWS[0][2]
    last_date: str = ROWS[-1][2]


def _csv(rows=ROWS, sep=",", nl="\n", header="customer_id,customer_name,order_date,revenue",
         amount=lambda a: f"{a:.2f}") -> str:
    lines = [header.replace(",", sep)]
    lines += [sep.join([c, n, d, amount(a)]) for c, n, d, a in rows]
    return nl.join(lines) + nl


def _de(a: float, thousands: str) -> str:
    """1234.5 as 1 234,50 (thousands separated, decimal comma)."""
    whole, frac = f"{a:.2f}".split(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return thousands.join([whole, *groups]) + "," + frac


def _swiss(a: float) -> str:
    whole, frac = f"{a:,.2f}".split(".")
    return whole.replace(",", "'") + "." + frac


def _xlsx(build) -> bytes:
    import io

    import openpyxl

    wb = openpyxl.Workbook()
    build(wb)
    wb.properties.created = wb.properties.modified = datetime(2025, 4, 1)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _typed_rows(ws):
    for c, n, d, a in ROWS:
        ws.append([c, n, datetime.fromisoformat(d), a])


def _title_and_blank(wb):
    ws = wb.active
    ws.title = "Sales"
    ws.append(["Sales export FY2023-2024"])
    ws.append([])
    ws.append(["customer_id", "customer_name", "order_date", "revenue"])
    _typed_rows(ws)


def _merged_units_total(wb):
    ws = wb.active
    ws.title = "销售明细"
    ws.append(["2025年一季度销售明细"])
    ws.merge_cells("A1:D1")
    ws.append(["客户编号", "客户名称", "订单日期", "金额"])
    ws.append([None, None, None, "(元)"])
    c, n, d, a = ROWS[0]
    ws.append([c, n, datetime.fromisoformat(d), a])
    ws.append([])  # a spacer row between the lines
    for c, n, d, a in ROWS[1:]:
        ws.append([c, n, datetime.fromisoformat(d), a])
    ws.append(["合计", None, None, TOTAL])


def _hidden_first(wb):
    hidden = wb.active
    hidden.title = "lookup"
    hidden.sheet_state = "hidden"
    hidden.append(["customer_id", "order_date", "revenue"])
    hidden.append(["X", datetime(2025, 1, 1), 1])
    ws = wb.create_sheet("orders")
    ws.append(["customer_id", "customer_name", "order_date", "revenue"])
    _typed_rows(ws)


def _whitespace() -> bytes:
    """Columns separated by runs of spaces, lines starting with spaces, CRLF (as CDNOW)."""
    lines = ["customer_id  date   number_of_cds  dollar_value"]
    for c, _, d, a in ROWS:
        lines.append(f"   {c}  {d.replace('-', '')}  {1:>3}  {a:>12.2f}")
    return ("\r\n".join(lines) + "\r\n").encode()


def _fixed() -> bytes:
    """Fixed-width columns whose values hold single spaces (names)."""
    lines = [f"{'Customer':<10}{'Customer Name':<22}{'Order Date':<12}{'Amount':>10}"]
    for c, n, d, a in ROWS:
        lines.append(f"{c:<10}{n:<22}{d:<12}{a:>10.2f}")
    return ("\n".join(lines) + "\n").encode()


def _parquet_tz() -> bytes:
    """Timestamps with a time zone: late evening in New York is the next day in UTC."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    ny = timezone(timedelta(hours=-5))
    ts = [datetime.fromisoformat(d).replace(hour=21, tzinfo=ny) for _, _, d, _ in ROWS]
    table = pa.table({"customer_id": [r[0] for r in ROWS], "order_date": pa.array(ts, pa.timestamp("s", "UTC")),
                      "revenue": [r[3] for r in ROWS]})
    out = io.BytesIO()
    pq.write_table(table, out)
    return out.getvalue()


def shapes() -> list[Shape]:
    big = "x" * (200 * 1024)
    out = [
        Shape("whitespace_aligned.txt", _whitespace()),
        Shape("fixed_width.txt", _fixed()),
        Shape("mixed_line_endings.csv", _csv(nl="\r\n").replace("\r\n", "\n", 1).encode()),
        Shape("old_mac_line_endings.csv", _csv(nl="\r").encode()),
        Shape("no_final_newline.csv", _csv().rstrip("\n").encode()),
        Shape("nul_bytes.csv", _csv().replace("Delta Bureau", "Delta\x00 Bureau").encode(),
              warnings={(None, "nul_removed")}),
        Shape("total_row.csv", (_csv() + f"Total,,,{TOTAL:.2f}\n").encode(), warnings={(8, "total_row")}),
        Shape("total_row_zh.csv", (_csv() + f"合计,,,{TOTAL:.2f}\n").encode("gb18030"),
              warnings={(8, "total_row")}),
        Shape("thousands_spaces.csv", _csv(sep=";", amount=lambda a: _de(a, " ")).encode()),
        Shape("thousands_apostrophes.csv", _csv(amount=_swiss, sep=";").encode()),
        Shape("quoted_line_break.csv", _csv(header="customer_id,customer_name,order_date,revenue")
              .replace("Beta Hospital", '"Beta Hospital\nWest Wing"', 1).encode()),
        Shape("big_cell.csv", ("customer_id,note,order_date,revenue\n" + "\n".join(
            f"{c},{big if i == 0 else 'ok'},{d},{a:.2f}" for i, (c, _, d, a) in enumerate(ROWS)) + "\n").encode()),
        Shape("control_chars.csv", _csv().replace("Gamma School", "Gamma\x0bSchool").encode(),
              warnings={(5, "control_chars")}),
        Shape("excel_title_blank_row.xlsx", _xlsx(_title_and_blank), warnings={(3, "header_below_top")}),
        Shape("excel_merged_title_units_total.xlsx", _xlsx(_merged_units_total),
              warnings={(2, "header_below_top"), (3, "units_row"), (11, "total_row")}),
        Shape("excel_hidden_first_sheet.xlsx", _xlsx(_hidden_first), warnings={(None, "hidden_sheets")}),
        Shape("parquet_timezone.parquet", _parquet_tz(), env={"KAMDASH_TIMEZONE": "America/New_York"}),
        # values no sale can have: refused at their line
        Shape("open_ended_date.csv", _csv().replace("2025-03-30", "9999-12-31").encode(),
              customers=None, total=None, error=(7, "open_ended_date")),
        Shape("year_one.csv", _csv().replace("2025-01-05", "0001-01-05").encode(),
              customers=None, total=None, error=(2, "date_outside_window")),
        Shape("huge_amount.csv", _csv().replace("45.10", "1.7e308").encode(),
              customers=None, total=None, error=(6, "number_too_large")),
        Shape("infinite_amount.csv", _csv().replace("45.10", "1e309").encode(),
              customers=None, total=None, error=(6, "bad_number")),
        Shape("decimal_conflict.csv", _csv(sep=";", amount=lambda a: _de(a, ".")).replace(
            "15.000,25", "15,000.25").encode(), customers=None, total=None, error=(4, "decimal_conflict")),
    ]
    return out


def write(folder: Path = HERE) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for shape in shapes():
        path = folder / shape.name
        path.write_bytes(shape.data)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for p in write(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE):
        print(p)
