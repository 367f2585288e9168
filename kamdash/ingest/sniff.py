"""Making any accepted file readable by DuckDB: encoding, delimiter, header row, Excel sheets.

``prepare(path, workdir)`` looks at the start of the file only (never the whole file in memory)
and returns a ``Prepared`` file: a UTF-8 CSV (the original when it already is one, else a copy
transcoded in streaming chunks, or the rows of the chosen Excel sheet) or a Parquet file, with
the delimiter and the number of lines before the header row.
"""

from __future__ import annotations

import codecs
import csv
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Callable

from kamdash.ingest.problems import LoadError, problem

TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
SUFFIXES = TEXT_SUFFIXES + EXCEL_SUFFIXES + (".parquet",)
SNIFF_BYTES = 256 * 1024
CHUNK = 4 * 1024 * 1024
DELIMITERS = (",", ";", "\t", "|")
MAGIC = {  # start of a file -> what it really is
    b"PK\x03\x04": "zip",
    b"\xd0\xcf\x11\xe0": "xls",
    b"PAR1": "parquet",
    b"%PDF": "pdf",
    b"\x89PNG": "png",
    b"\xff\xd8\xff": "jpeg",
    b"\x1f\x8b": "gzip",
    b"SQLite format 3": "sqlite",
    b"MZ": "exe",
    b"\x7fELF": "exe",
}


@dataclass
class Prepared:
    name: str  # what the user calls the file (shown in messages)
    source: Path  # the file the user pointed at
    path: Path  # the file DuckDB reads
    kind: str  # csv | parquet
    encoding: str = "utf-8"
    delimiter: str = ","
    skip: int = 0  # lines before the header row
    sheets: list[str] = field(default_factory=list)
    sheet: str | None = None
    line_offset: int = 1  # line of data row 1 = _row + line_offset


def _fail(name: str, code: str, **fields):
    raise LoadError([problem(name, None, "-", "", code, **fields)])


def detect_encoding(head: bytes) -> str:
    """utf-8, utf-8-sig, utf-16 (with BOM), utf-16-le/-be (without), gb18030, or another
    encoding charset-normalizer finds; raises ValueError for binary content."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:  # UTF-16 without a byte order mark, or binary
        for enc in ("utf-16-le", "utf-16-be"):
            try:
                text = codecs.getincrementaldecoder(enc)().decode(head[: len(head) // 2 * 2], final=False)
            except UnicodeDecodeError:
                continue
            if "\n" in text and _control_ratio(text) < 0.01:
                return enc
        raise ValueError("binary")
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(head, final=False)
        return "gb18030"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(head).best()
    if best is None:
        raise ValueError("binary")
    return best.encoding


def _control_ratio(text: str) -> float:
    bad = sum(1 for ch in text if ord(ch) < 32 and ch not in "\r\n\t")
    return bad / max(1, len(text))


def sniff_text(text: str) -> tuple[str, int]:
    """(delimiter, lines before the header) from the first lines of a text file."""
    lines = [ln for ln in text.splitlines()[:60]]
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line may be cut by the sample
    best, best_score = ",", (-1.0, 0)
    for d in DELIMITERS:
        counts = [len(r) for r in csv.reader(lines, delimiter=d)]
        if not counts:
            continue
        modal = max(set(counts), key=counts.count)
        if modal < 2:
            continue
        score = (counts.count(modal) / len(counts), modal)
        if score > best_score:
            best, best_score = d, score
    rows = list(csv.reader(lines, delimiter=best))
    widths = [len(r) for r in rows]
    modal = max(set(widths), key=widths.count) if widths else 0
    skip = 0
    for i, row in enumerate(rows[:20]):
        cells = [c.strip() for c in row]
        filled = [c for c in cells if c]
        if len(row) >= modal and len(filled) >= max(1, len(cells) // 2) and \
                sum(1 for c in filled if _numberish(c)) <= len(filled) // 2:
            skip = i
            break
    return best, skip


def _numberish(text: str) -> bool:
    return bool(re.fullmatch(r"[-+(]?[\d.,\s/年月日:-]+\)?", text))


def _magic(head: bytes) -> str | None:
    for sig, what in MAGIC.items():
        if head.startswith(sig):
            return what
    return None


def transcode(src: Path, dst: Path, encoding: str, progress: Callable[[float], None] | None = None) -> None:
    """Copy ``src`` to UTF-8 ``dst`` in chunks (bounded memory)."""
    total = max(1, src.stat().st_size)
    done = 0
    dec = codecs.getincrementaldecoder(encoding)(errors="strict")
    with open(src, "rb") as fin, open(dst, "w", encoding="utf-8", newline="") as fout:
        while chunk := fin.read(CHUNK):
            fout.write(dec.decode(chunk))
            done += len(chunk)
            if progress:
                progress(done / total)
        fout.write(dec.decode(b"", final=True))


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def excel_sheets(path: Path, name: str) -> list[str]:
    try:
        if path.suffix.lower() == ".xls":
            import xlrd

            book = xlrd.open_workbook(str(path), on_demand=True)
            try:
                return book.sheet_names()
            finally:
                book.release_resources()
        import openpyxl

        wb = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
        try:
            return list(wb.sheetnames)
        finally:
            wb.close()
    except Exception as exc:  # a damaged workbook raises many kinds of errors
        _fail(name, "bad_excel", detail=type(exc).__name__ + ": " + str(exc)[:120])


def excel_to_csv(path: Path, dst: Path, sheet: str | None, name: str) -> str:
    """Write the rows of ``sheet`` (default: the first) to UTF-8 CSV ``dst``, row i of the sheet
    on line i; returns the sheet name."""
    try:
        with open(dst, "w", encoding="utf-8", newline="") as fout:
            out = csv.writer(fout)
            if path.suffix.lower() == ".xls":
                import xlrd

                book = xlrd.open_workbook(str(path), on_demand=True)
                ws = book.sheet_by_name(sheet) if sheet else book.sheet_by_index(0)
                for r in range(ws.nrows):
                    row = []
                    for c in ws.row(r):
                        if c.ctype == xlrd.XL_CELL_DATE:
                            row.append(_cell(xlrd.xldate.xldate_as_datetime(c.value, book.datemode)))
                        else:
                            row.append(_cell(c.value if c.ctype != xlrd.XL_CELL_EMPTY else None))
                    out.writerow(row)
                chosen = ws.name
                book.release_resources()
            else:
                import openpyxl

                wb = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
                ws = wb[sheet] if sheet else wb.worksheets[0]
                chosen = ws.title
                for row in ws.iter_rows(values_only=True):
                    out.writerow([_cell(v) for v in row])
                wb.close()
        return chosen
    except KeyError:
        _fail(name, "no_sheet", sheet=sheet or "")
    except LoadError:
        raise
    except Exception as exc:  # zipfile.BadZipFile, xlrd.XLRDError, EOFError, XML errors ...
        _fail(name, "bad_excel", detail=type(exc).__name__ + ": " + str(exc)[:120])


def prepare(path: Path, workdir: Path, name: str | None = None, sheet: str | None = None,
            progress: Callable[[float], None] | None = None) -> Prepared:
    """Check what ``path`` really is and make it readable by DuckDB (see module doc)."""
    name = name or path.name
    if not path.is_file():
        _fail(name, "not_found")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        _fail(name, "bad_suffix", suffixes=", ".join(SUFFIXES))
    if path.stat().st_size == 0:
        _fail(name, "empty_file")
    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    magic = _magic(head)
    if suffix == ".parquet":
        if magic != "parquet":
            _fail(name, "not_really", expected="Parquet", found=magic or "text")
        return Prepared(name, path, path, "parquet")
    if suffix in EXCEL_SUFFIXES:
        expected = "xls" if suffix == ".xls" else "zip"
        if magic != expected:
            _fail(name, "not_really", expected="Excel", found=magic or "text")
        sheets = excel_sheets(path, name)
        if sheet and sheet not in sheets:
            _fail(name, "no_sheet", sheet=sheet)
        dst = workdir / f"{len(list(workdir.iterdir()))}.csv"
        chosen = excel_to_csv(path, dst, sheet, name)
        with open(dst, encoding="utf-8") as f:
            text = f.read(SNIFF_BYTES)
        if not text.strip():
            _fail(name, "empty_file")
        _, skip = sniff_text(text)
        return Prepared(name, path, dst, "csv", "xlsx", ",", skip, sheets, chosen, skip + 2)
    # text files
    if magic and magic not in ("parquet",) or (magic == "parquet"):
        _fail(name, "not_really", expected="CSV", found=magic)
    try:
        encoding = detect_encoding(head)
    except ValueError:
        _fail(name, "binary")
    text = head.decode(encoding, errors="ignore")
    if _control_ratio(text) > 0.01:
        _fail(name, "binary")
    if not text.strip():
        _fail(name, "empty_file")
    delimiter, skip = sniff_text(text.lstrip("\ufeff"))
    if suffix == ".tsv" and "\t" in text:
        delimiter = "\t"
    target = path
    if encoding not in ("utf-8", "utf-8-sig"):
        target = workdir / f"{len(list(workdir.iterdir()))}.csv"
        try:
            transcode(path, target, encoding, progress)
        except UnicodeDecodeError as exc:
            _fail(name, "bad_encoding", encoding=encoding, offset=exc.start)
    return Prepared(name, path, target, "csv", encoding, delimiter, skip, line_offset=skip + 2)


__all__ = ["Prepared", "prepare", "detect_encoding", "sniff_text", "transcode", "zipfile"]
