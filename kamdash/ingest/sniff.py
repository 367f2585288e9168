"""Making any accepted file readable by DuckDB: encoding, delimiter, header row, Excel sheets.

``prepare(path, workdir)`` looks at the start of the file only (never the whole file in memory)
and returns a ``Prepared`` file: a UTF-8 CSV (the original when it already is one, else a copy
transcoded in streaming chunks, or the rows of the chosen Excel sheet) or a Parquet file, with
the delimiter and the number of lines before the header row.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import math
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
SNIFF_LINES = 60
HEADER_SEARCH = 30  # rows looked at for the header (titles, notes and blank rows above it)
CHUNK = 4 * 1024 * 1024
DELIMITERS = (",", ";", "\t", "|")
WHITESPACE, FIXED = "whitespace", "fixed"
LAYOUTS = DELIMITERS + (WHITESPACE, FIXED)  # what the user can choose
# How far an .xlsx may expand when read (checked in the zip before parsing): a small file can
# hold a shared-strings table of millions of entries, which a reader keeps in memory.
XLSX_MAX_BYTES = 1 << 30  # uncompressed parts, in all
XLSX_MAX_SHARED_STRINGS = 2_000_000
XLSX_MAX_SHARED_BYTES = 200 << 20
XLSX_MAX_CELLS = 20_000_000  # of one sheet, from its declared dimension

csv.field_size_limit(1 << 30)  # a cell of any size: DuckDB reads lines up to 16 MB
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
    units_row: bool = False  # the first row under the header gives units: left out
    hidden: list[str] = field(default_factory=list)  # hidden sheets (never chosen by default)
    layout: str | None = None  # how the text was laid out (LAYOUTS), when it was converted
    notes: list[tuple[str, dict]] = field(default_factory=list)  # (warning code, its fields)


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
        stripped = head.replace(b"\x00", b"")
        if len(head) - len(stripped) > 0.01 * len(head):
            raise ValueError("binary")
        head = stripped  # text with stray NUL characters (left out when the file is copied)
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


@dataclass
class Sniffed:
    delimiter: str  # one of LAYOUTS
    skip: int  # lines before the header row
    units_row: bool = False  # the row under the header gives units, not data
    spans: list[tuple[int, int | None]] = field(default_factory=list)  # fixed: column positions
    columns: int = 0  # cells in a full row


def _lines(text: str, complete: bool) -> list[str]:
    lines = text.splitlines()[:SNIFF_LINES]
    if len(lines) > 1 and not complete and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line may be cut by the sample
    return lines


def fixed_spans(lines: list[str]) -> list[tuple[int, int | None]]:
    """Column positions of a fixed-width text: the runs of characters between positions that
    are blank on every full line (lines much shorter than the others, such as titles, are
    left out), a run with no header text joined to the one before it. The last column runs to
    the end of the line."""
    full = [ln.rstrip() for ln in lines if ln.strip()]
    if not full:
        return []
    lengths = sorted(len(ln) for ln in full)
    median = lengths[len(lengths) // 2]
    full = [ln for ln in full if len(ln) >= 0.6 * median]
    width = max(len(ln) for ln in full)
    blank = [all(i >= len(ln) or ln[i] == " " for ln in full) for i in range(width)]
    spans, start = [], None
    for i, b in enumerate(blank + [True]):
        if not b and start is None:
            start = i
        elif b and start is not None:
            spans.append((start, i))
            start = None
    # a column with no header over it is the overflow of the one on its left (a value with a
    # space in it, such as "School No 2"); the header is the first full line
    header = full[0]
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and not header[a:b].strip():
            merged[-1] = (merged[-1][0], b)
        else:
            merged.append((a, b))
    spans = merged
    if spans:
        spans[-1] = (spans[-1][0], None)
        spans[0] = (0, spans[0][1])
    return spans


def split_rows(lines: list[str], delimiter: str, spans=None) -> list[list[str]]:
    if delimiter == WHITESPACE:
        return [ln.split() for ln in lines]
    if delimiter == FIXED:
        return [[ln[a:b].strip() for a, b in spans] if ln.strip() else [] for ln in lines]
    return list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))


def _consistency(rows: list[list[str]]) -> tuple[float, int]:
    counts = [len(r) for r in rows if any(c.strip() for c in r)]
    if not counts:
        return 0.0, 0
    modal = max(set(counts), key=counts.count)
    return counts.count(modal) / len(counts), modal


def sniff_text(text: str, complete: bool = False, delimiter: str | None = None) -> Sniffed:
    """How a text file is laid out, from its first lines: the delimiter (``,`` ``;`` tab ``|``,
    or ``whitespace`` for columns separated by runs of spaces, or ``fixed`` for columns at fixed
    positions), the lines before the header, and whether a units row follows the header.
    ``delimiter`` imposes the layout (the user's choice)."""
    lines = _lines(text, complete)
    if delimiter is None:
        best, best_score = ",", (-1.0, 0)
        for d in DELIMITERS:
            score = _consistency(split_rows(lines, d))
            if score[1] >= 2 and score > best_score:
                best, best_score = d, score
        if best_score[0] < 0.5:  # no delimiter splits most lines alike: columns of spaces?
            ws = _consistency(split_rows(lines, WHITESPACE))
            if ws[1] >= 2 and ws[0] >= 0.9:
                best = WHITESPACE
            elif len(fixed_spans(lines)) >= 2:
                best = FIXED
        delimiter = best
    spans = fixed_spans(lines) if delimiter == FIXED else []
    rows = split_rows(lines, delimiter, spans)
    skip = header_row(rows, exact=delimiter == WHITESPACE)
    columns = _consistency(rows)[1]
    return Sniffed(delimiter, skip, units_row(rows, skip), spans, columns)


def header_row(rows: list[list[str]], exact: bool = False) -> int:
    """Index of the header among ``rows``: the first row filled about as much as the data rows
    (titles, notes and blank rows above it are skipped) and not mostly numbers."""
    filled = [sum(1 for c in r if c.strip()) for r in rows]
    counts = [f for f in filled if f]
    if not counts:
        return 0
    modal = max(set(counts), key=counts.count)
    need = modal if exact else max(min(2, modal), math.ceil(0.6 * modal))
    for i, row in enumerate(rows[:HEADER_SEARCH]):
        cells = [c.strip() for c in row if c.strip()]
        if len(cells) >= need and sum(1 for c in cells if _numberish(c)) <= len(cells) // 2:
            return i
    return 0


_UNIT = re.compile(r"^[(（\[【].{0,12}[)）\]】]$|^(单位[:：]?)?\s*(元|万元|千元|百万元|亿元|rmb|cny|usd|eur|"
                   r"¥|\$|€|pcs|件|个|台|箱|kg|吨|%|千克|天|日期|yyyy.*)$", re.IGNORECASE)


def units_row(rows: list[list[str]], header: int) -> bool:
    """True when the row under the header names units ("(CNY)", "元", "kg" …) rather than
    holding data."""
    if header + 2 >= len(rows) + 1 or header + 1 >= len(rows):
        return False
    cells = [c.strip() for c in rows[header + 1] if c.strip()]
    return bool(cells) and all(len(c) <= 16 and not _numberish(c) and _UNIT.match(c) for c in cells)


def _numberish(text: str) -> bool:
    return bool(re.fullmatch(r"[-+(]?[\d.,\s/年月日:-]+\)?", text))


def _magic(head: bytes) -> str | None:
    for sig, what in MAGIC.items():
        if head.startswith(sig):
            return what
    return None


def transcode(src: Path, dst: Path, encoding: str, progress: Callable[[float], None] | None = None) -> int:
    """Copy ``src`` to UTF-8 ``dst`` in chunks (bounded memory), leaving out NUL characters;
    returns how many were left out."""
    total = max(1, src.stat().st_size)
    done = nuls = 0
    dec = codecs.getincrementaldecoder(encoding)(errors="strict")
    with open(src, "rb") as fin, open(dst, "w", encoding="utf-8", newline="") as fout:
        while chunk := fin.read(CHUNK):
            text = dec.decode(chunk)
            if "\x00" in text:
                nuls += text.count("\x00")
                text = text.replace("\x00", "")
            fout.write(text)
            done += len(chunk)
            if progress:
                progress(done / total)
        fout.write(dec.decode(b"", final=True))
    return nuls


def convert_layout(src: Path, dst: Path, encoding: str, sniffed: Sniffed, name: str,
                   progress: Callable[[float], None] | None = None) -> int:
    """Copy a whitespace-aligned or fixed-width text to a UTF-8 CSV ``dst``, one line for one
    line (a blank line stays a line of empty cells, so line numbers keep their meaning), cells
    trimmed; returns the NUL characters left out. A line with more cells than the header is
    an error (the layout is not this one)."""
    total = max(1, src.stat().st_size)
    nuls = 0
    width = None
    blank = "," * max(0, sniffed.columns - 1)
    with open(src, encoding=encoding, newline="") as fin, \
            open(dst, "w", encoding="utf-8", newline="") as fout:
        out = csv.writer(fout, lineterminator="\n")
        for n, line in enumerate(fin):
            if "\x00" in line:
                nuls += line.count("\x00")
                line = line.replace("\x00", "")
            line = line.rstrip("\r\n").lstrip("\ufeff")
            cells = split_rows([line], sniffed.delimiter, sniffed.spans)[0]
            if n == sniffed.skip:
                width = len(cells)
            elif width is not None and len(cells) > width:
                raise LoadError([problem(name, n + 1, "-", line.strip(), "layout_mismatch",
                                         cells=len(cells), header=width)])
            if cells:
                out.writerow(cells)
            else:
                fout.write(blank + "\n")
            if progress and n % 100_000 == 0:
                progress(min(1.0, fin.buffer.tell() / total) if hasattr(fin, "buffer") else 0.5)
    return nuls


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


def _bad_excel(name: str, exc: Exception):
    _fail(name, "bad_excel", detail=type(exc).__name__ + ": " + str(exc)[:120])


def check_xlsx(path: Path, name: str) -> None:
    """Refuse an .xlsx that would expand beyond the limits when read (looked at in the zip,
    before any parsing): its parts in all, its shared-strings table, the cells of a sheet."""
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
            total = sum(i.file_size for i in infos)
            if total > XLSX_MAX_BYTES:
                _fail(name, "xlsx_too_big", what=f"{total / 2**20:,.0f} MB of XML",
                      limit=f"{XLSX_MAX_BYTES / 2**20:,.0f} MB")
            for info in infos:
                low = info.filename.lower()
                if low.endswith("sharedstrings.xml"):
                    if info.file_size > XLSX_MAX_SHARED_BYTES:
                        _fail(name, "xlsx_too_big", what=f"{info.file_size / 2**20:,.0f} MB of shared texts",
                              limit=f"{XLSX_MAX_SHARED_BYTES / 2**20:,.0f} MB")
                    with z.open(info) as f:
                        head = f.read(2048).decode("utf-8", "ignore")
                    m = re.search(r'uniqueCount="(\d+)"', head) or re.search(r'\scount="(\d+)"', head)
                    if m and int(m.group(1)) > XLSX_MAX_SHARED_STRINGS:
                        _fail(name, "xlsx_too_big", what=f"{int(m.group(1)):,} shared texts",
                              limit=f"{XLSX_MAX_SHARED_STRINGS:,}")
                elif low.startswith("xl/worksheets/") and low.endswith(".xml"):
                    with z.open(info) as f:
                        head = f.read(4096).decode("utf-8", "ignore")
                    m = re.search(r'<(?:\w+:)?dimension ref="[A-Z]+(\d+)(?::([A-Z]+)(\d+))?"', head)
                    if m and m.group(2):
                        cols = 0
                        for ch in m.group(2):
                            cols = cols * 26 + ord(ch) - 64
                        cells = cols * int(m.group(3))
                        if cells > XLSX_MAX_CELLS:
                            _fail(name, "xlsx_too_big", what=f"{cells:,} cells in one sheet",
                                  limit=f"{XLSX_MAX_CELLS:,}")
    except LoadError:
        raise
    except Exception as exc:  # zipfile.BadZipFile, a truncated member ...
        _bad_excel(name, exc)


def excel_sheets(path: Path, name: str) -> tuple[list[str], list[str]]:
    """(every sheet name, the hidden ones), read without parsing the cells."""
    try:
        if path.suffix.lower() == ".xls":
            import xlrd

            book = xlrd.open_workbook(str(path), on_demand=True)
            try:
                names = book.sheet_names()
                vis = list(getattr(book, "_sheet_visibility", []))
                return names, [n for n, v in zip(names, vis) if v]
            finally:
                book.release_resources()
        from xml.etree import ElementTree

        with zipfile.ZipFile(path) as z:
            root = ElementTree.fromstring(z.read("xl/workbook.xml"))
        sheets = [el for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "sheet"]
        names = [el.get("name") for el in sheets]
        return names, [el.get("name") for el in sheets if el.get("state") in ("hidden", "veryHidden")]
    except Exception as exc:  # a damaged workbook raises many kinds of errors
        _bad_excel(name, exc)


def excel_to_csv(path: Path, dst: Path, sheet: str, name: str) -> None:
    """Write the rows of ``sheet`` to UTF-8 CSV ``dst``, row i of the sheet on line i (every
    line as wide as the widest row)."""
    try:
        with open(dst, "w", encoding="utf-8", newline="") as fout:
            out = csv.writer(fout, lineterminator="\n")
            if path.suffix.lower() == ".xls":
                import xlrd

                book = xlrd.open_workbook(str(path), on_demand=True)
                ws = book.sheet_by_name(sheet)
                for r in range(ws.nrows):
                    row = []
                    for c in ws.row(r):
                        if c.ctype == xlrd.XL_CELL_DATE:
                            row.append(_cell(xlrd.xldate.xldate_as_datetime(c.value, book.datemode)))
                        else:
                            row.append(_cell(c.value if c.ctype != xlrd.XL_CELL_EMPTY else None))
                    out.writerow(row + [""] * (ws.ncols - len(row)))
                book.release_resources()
            else:
                import openpyxl

                wb = openpyxl.load_workbook(str(path), read_only=True, data_only=True)
                ws = wb[sheet]
                width = ws.max_column or 0
                for row in ws.iter_rows(values_only=True):
                    cells = [_cell(v) for v in row]
                    out.writerow(cells + [""] * (width - len(cells)))
                wb.close()
    except KeyError:
        _fail(name, "no_sheet", sheet=sheet or "")
    except LoadError:
        raise
    except Exception as exc:  # zipfile.BadZipFile, xlrd.XLRDError, EOFError, XML errors ...
        _bad_excel(name, exc)


def _cached_sheet(path: Path, sheet: str, workdir: Path, cache: Path | None, name: str) -> Path:
    """The CSV of one sheet: made once per file version and sheet when a ``cache`` folder is
    given (the check and the import then read the workbook once), else in ``workdir``."""
    if cache is None:
        dst = workdir / f"{len(list(workdir.iterdir()))}.csv"
        excel_to_csv(path, dst, sheet, name)
        return dst
    st = path.stat()
    key = hashlib.sha1(json.dumps([str(path.resolve()), st.st_size, st.st_mtime_ns, sheet]).encode())
    dst = cache / f"sheet-{key.hexdigest()[:20]}.csv"
    if not dst.exists():
        cache.mkdir(parents=True, exist_ok=True)
        part = dst.with_suffix(".part")
        excel_to_csv(path, part, sheet, name)
        part.replace(dst)
    return dst


def prepare(path: Path, workdir: Path, name: str | None = None, sheet: str | None = None,
            progress: Callable[[float], None] | None = None, delimiter: str | None = None,
            cache: Path | None = None) -> Prepared:
    """Check what ``path`` really is and make it readable by DuckDB (see module doc).

    ``delimiter`` imposes a text layout (one of LAYOUTS); ``cache`` keeps the CSV of an Excel
    sheet for the next call on the same file."""
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
    complete = len(head) < SNIFF_BYTES
    magic = _magic(head)
    if suffix == ".parquet":
        if magic != "parquet":
            _fail(name, "not_really", expected="Parquet", found=magic or "text")
        return Prepared(name, path, path, "parquet")
    if suffix in EXCEL_SUFFIXES:
        expected = "xls" if suffix == ".xls" else "zip"
        if magic != expected:
            _fail(name, "not_really", expected="Excel", found=magic or "text")
        if expected == "zip":
            check_xlsx(path, name)
        sheets, hidden = excel_sheets(path, name)
        if sheet and sheet not in sheets:
            _fail(name, "no_sheet", sheet=sheet)
        visible = [s for s in sheets if s not in hidden]
        if not sheet and not visible:
            _fail(name, "no_visible_sheet")
        chosen = sheet or visible[0]
        dst = _cached_sheet(path, chosen, workdir, cache, name)
        with open(dst, encoding="utf-8") as f:
            text = f.read(SNIFF_BYTES)
        if not text.strip(","):
            _fail(name, "empty_file")
        sn = sniff_text(text, complete=len(text) < SNIFF_BYTES, delimiter=",")
        notes = [("hidden_sheets", {"sheets": ", ".join(hidden)})] if hidden and not sheet else []
        return Prepared(name, path, dst, "csv", "xlsx", ",", sn.skip, sheets, chosen, sn.skip + 2,
                        units_row=sn.units_row, hidden=hidden, notes=notes)
    # text files
    if magic and magic not in ("parquet",) or (magic == "parquet"):
        _fail(name, "not_really", expected="CSV", found=magic)
    try:
        encoding = detect_encoding(head)
    except ValueError:
        _fail(name, "binary")
    text = head.decode(encoding, errors="ignore").replace("\x00", "")
    if _control_ratio(text) > 0.01:
        _fail(name, "binary")
    if not text.strip():
        _fail(name, "empty_file")
    if delimiter is None and suffix == ".tsv" and "\t" in text:
        delimiter = "\t"
    sn = sniff_text(text.lstrip("\ufeff"), complete=complete, delimiter=delimiter)
    target, nuls = path, 0
    try:
        if sn.delimiter in (WHITESPACE, FIXED):
            target = workdir / f"{len(list(workdir.iterdir()))}.csv"
            nuls = convert_layout(path, target, encoding, sn, name, progress)
        elif encoding not in ("utf-8", "utf-8-sig") or "\x00" in head.decode(encoding, "ignore"):
            target = workdir / f"{len(list(workdir.iterdir()))}.csv"
            nuls = transcode(path, target, encoding, progress)
    except UnicodeDecodeError as exc:
        _fail(name, "bad_encoding", encoding=encoding, offset=exc.start)
    notes = [("nul_removed", {"n": nuls})] if nuls else []
    return Prepared(name, path, target, "csv", encoding, "," if target != path and sn.delimiter in
                    (WHITESPACE, FIXED) else sn.delimiter, sn.skip, line_offset=sn.skip + 2,
                    units_row=sn.units_row, layout=sn.delimiter, notes=notes)


__all__ = ["Prepared", "prepare", "detect_encoding", "sniff_text", "transcode", "zipfile"]
