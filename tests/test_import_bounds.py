"""Bounded work: a workbook that would expand too far is refused before it is parsed, a
workbook is parsed once for the check and the import, what interrupted imports left behind is
removed, and nothing in a built database names the source file."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
import zipfile
from datetime import date

import duckdb
import openpyxl
import pytest

from kamdash.ingest import engine, sniff
from kamdash.ingest.engine import Options, SourceFile


def _xlsx(path, rows=20):
    wb = openpyxl.Workbook()
    wb.active.append(["customer_id", "order_date", "revenue"])
    for i in range(rows):
        wb.active.append([f"C{i}", date(2025, 1, 1 + i % 28), 10 + i])
    wb.save(path)
    return path


def _rewrite(path, member, edit):
    """Rewrite one member of a zip (an .xlsx) with ``edit(text) -> text``."""
    src = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == member:
                data = edit(data.decode()).encode()
            out.writestr(info, data)


def test_a_shared_strings_table_of_millions_is_refused_before_parsing(tmp_path, db_path):
    path = _xlsx(tmp_path / "bomb.xlsx")
    # an .xlsx from openpyxl has inline strings: add a shared-strings part that declares 15M
    # entries, made of one entry repeated (it compresses to almost nothing)
    entry = "<si><t>x</t></si>"
    sst = ('<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
           'spreadsheetml/2006/main" count="15000000" uniqueCount="15000000">' + entry * 200_000 + "</sst>")
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/sharedStrings.xml", sst)
    assert path.stat().st_size < 1_000_000
    started = time.perf_counter()
    report = engine.run([SourceFile(path)], db_path, commit=True)
    assert time.perf_counter() - started < 5
    first = report.problems[0]
    assert first.code == "xlsx_too_big" and "15,000,000 shared texts" in first.reason
    assert "limit 2,000,000" in first.reason


def test_a_sheet_declaring_too_many_cells_is_refused(tmp_path, db_path):
    path = _xlsx(tmp_path / "wide.xlsx")
    _rewrite(path, "xl/worksheets/sheet1.xml",
             lambda t: t.replace('<dimension ref="A1:C21"/>', '<dimension ref="A1:XFD1048576"/>'))
    report = engine.run([SourceFile(path)], db_path)
    assert report.problems[0].code == "xlsx_too_big"
    assert "17,179,869,184 cells in one sheet" in report.problems[0].reason


def test_a_workbook_is_parsed_once_for_inspect_check_and_import(tmp_path, db_path, monkeypatch):
    path = _xlsx(tmp_path / "orders.xlsx")
    calls = []
    real = sniff.excel_to_csv
    monkeypatch.setattr(sniff, "excel_to_csv", lambda *a: calls.append(a) or real(*a))
    session = tmp_path / "session"
    session.mkdir()
    src = [SourceFile(path)]
    engine.inspect(src, workdir=session)
    assert engine.run(src, db_path, workdir=session).ok
    assert engine.run(src, db_path, commit=True, workdir=session).committed
    assert len(calls) == 1
    # another sheet, or a changed file, is parsed again
    _xlsx(path, rows=21)
    os.utime(path, (time.time() + 5, time.time() + 5))
    assert engine.run(src, db_path, workdir=session).rows == 21
    assert len(calls) == 2


@pytest.fixture
def db_path(tmp_path):
    return tmp_path / "sales.duckdb"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_leftovers_of_interrupted_imports_are_removed(tmp_path, db_path):
    work = tmp_path / "work"
    work.mkdir()
    dead, alive = _dead_pid(), os.getpid()
    left = [work / f"kamdash-import-{dead}-abc", work / f"kamdash-inspect-{dead}-def",
            work / f"kamdash-upload-{dead}-ghi"]
    kept = [work / f"kamdash-import-{alive}-jkl", work / "kamdash-import-notmine"]
    for d in left + kept:
        d.mkdir()
        (d / "current_order_lines.parquet").write_bytes(b"PAR1")
    half = [tmp_path / f".sales.duckdb.tmp-{dead}-0a1b2c3d", tmp_path / f".sales.duckdb.tmp-{dead}-0a1b2c3d.wal"]
    for f in half:
        f.write_bytes(b"x" * 1000)
    spill = tmp_path / f".sales.duckdb.tmp-{dead}-0a1b2c3d.tmp"
    spill.mkdir()
    (spill / "duckdb_temp_block-1.block").write_bytes(b"x")
    mine = tmp_path / f".sales.duckdb.tmp-{alive}-99999999"  # a build running in this process
    mine.write_bytes(b"x")
    csv = tmp_path / "o.csv"
    csv.write_text("customer_id,order_date,revenue\nA,2025-01-05,100\n")
    assert engine.run([SourceFile(csv)], db_path, commit=True, workdir=work).committed
    assert not [p for p in left + half + [spill] if p.exists()]
    assert all(p.exists() for p in kept + [mine])
    assert not [p for p in work.iterdir() if p.name.startswith(f"kamdash-import-{alive}-") and p not in kept]


def test_an_append_keeps_no_path_and_no_copy(tmp_path, tiny_db):
    db = tmp_path / "sales.duckdb"
    shutil.copy(tiny_db, db)
    csv = tmp_path / "new.csv"
    csv.write_text("customer_id,order_date,revenue\nA,2025-07-05,100\n")
    work = tmp_path / "work"
    work.mkdir()
    report = engine.run([SourceFile(csv)], db, Options(mode="append"), commit=True, workdir=work)
    assert report.committed
    con = duckdb.connect(str(db), read_only=True)
    try:
        views = con.execute("SELECT view_name, sql FROM duckdb_views() WHERE NOT internal").fetchall()
        assert con.execute("SELECT count(*) FROM order_lines").fetchone()[0] == 12
    finally:
        con.close()
    assert views == []
    assert list(work.iterdir()) == []  # the Parquet copy of the current data is gone
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".sales.duckdb.tmp")]


def test_nothing_is_appended_to_a_database_that_cannot_be_read(tmp_path, tiny_db):
    db = tmp_path / "sales.duckdb"
    db.write_bytes(tiny_db.read_bytes()[:20_000])
    before = db.read_bytes()
    csv = tmp_path / "new.csv"
    csv.write_text("customer_id,order_date,revenue\nA,2025-07-05,100\n")
    report = engine.run([SourceFile(csv)], db, Options(mode="append"), commit=True)
    assert [p.code for p in report.problems] == ["target_corrupt"]
    assert "import in replace mode instead" in report.problems[0].reason
    assert db.read_bytes() == before
