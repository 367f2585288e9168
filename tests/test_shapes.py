"""The corpus of real file shapes (tests/data/shapes, made by tests/shapes.py): each imports to
the customers and total of the lines it holds, with the warnings it deserves, or is refused at
the line that holds a value no sale can have."""

from __future__ import annotations

import duckdb
import pytest

from kamdash.ingest import engine
from kamdash.ingest.engine import SourceFile
from tests import shapes

SHAPES = {s.name: s for s in shapes.shapes()}


def test_the_corpus_is_what_the_script_makes():
    assert sorted(p.name for p in shapes.HERE.iterdir()) == sorted(SHAPES)
    for name, shape in SHAPES.items():
        if not name.endswith((".xlsx", ".parquet")):  # those embed their writer's version
            assert (shapes.HERE / name).read_bytes() == shape.data, name


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_each_shape(name, tmp_path, monkeypatch):
    shape = SHAPES[name]
    for key, value in shape.env.items():
        monkeypatch.setenv(key, value)
    db = tmp_path / "sales.duckdb"
    report = engine.run([SourceFile(shapes.HERE / name)], db, commit=True)
    warnings = {(w.line, w.code) for w in report.warnings}
    if shape.customers is None:
        assert not report.committed and not db.exists()
        first = report.problems[0]
        assert (first.line, first.code) == shape.error, [str(p) for p in report.problems]
        return
    assert report.committed, [str(p) for p in report.problems]
    assert shape.warnings <= warnings, warnings
    con = duckdb.connect(str(db), read_only=True)
    try:
        customers, total, first, last, lines = con.execute(
            "SELECT count(DISTINCT customer_id), round(sum(revenue), 2), min(order_date), "
            "max(order_date), count(*) FROM order_lines").fetchone()
        views = con.execute("SELECT view_name, sql FROM duckdb_views() WHERE NOT internal").fetchall()
        names = [r[0] for r in con.execute("SELECT name FROM customers WHERE name IS NOT NULL").fetchall()]
    finally:
        con.close()
    assert (customers, total, lines) == (shape.customers, shape.total, len(shapes.ROWS))
    assert (first.isoformat(), last.isoformat()) == (shape.first_date, shape.last_date)
    assert not views  # nothing in the database names the source file
    assert not [n for n in names if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in n)]
    expected = {r[1] for r in shapes.ROWS} | {"Beta Hospital\nWest Wing", "Delta Bureau", "GammaSchool No 2"}
    assert set(names) <= expected, names  # names read whole, from the right column


def test_the_layout_can_be_chosen_on_the_command_line(tmp_path, capsys):
    from kamdash import cli

    db = tmp_path / "sales.duckdb"
    # read as whitespace-separated, the fixed-width names split into words: no longer one column
    rc = cli.main(["import", str(shapes.HERE / "fixed_width.txt"), "--db", str(db), "--check",
                   "--delimiter", "whitespace"])
    out = capsys.readouterr()
    assert rc == 1 and "fixed_width.txt, line 5, column -: value 'K003      Gamma School No 2" in out.err
    assert "this line has 7 columns, the header 6: choose another column layout" in out.err
    rc = cli.main(["import", str(shapes.HERE / "fixed_width.txt"), "--db", str(db), "--delimiter", "fixed"])
    out = capsys.readouterr()
    assert rc == 0 and "delimiter 'fixed'" in out.out, out
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("SELECT name FROM customers WHERE customer_id = 'K003'").fetchone()[0] == \
            "Gamma School No 2"
    finally:
        con.close()


def test_the_report_says_where_the_header_was_found(tmp_path, capsys):
    from kamdash import cli

    rc = cli.main(["import", str(shapes.HERE / "excel_merged_title_units_total.xlsx"),
                   "--db", str(tmp_path / "s.duckdb"), "--check"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "header on line 2" in out
    assert "line 2, column -: the header was found on line 2: the 1 lines above it" in out
    assert "line 3, column -: the row under the header gives units" in out
    assert "line 11, column -: value '合计': a last row that adds up the others: left out" in out


@pytest.mark.parametrize("zone, day", [("America/New_York", "2025-01-31"), ("Asia/Shanghai", "2025-02-01")])
def test_text_timestamps_with_a_zone_become_the_business_date(zone, day, tmp_path, monkeypatch):
    monkeypatch.setenv("KAMDASH_TIMEZONE", zone)
    csv = tmp_path / "o.csv"
    csv.write_text("customer_id,order_date,revenue\nA,2025-01-31T20:00:00-05:00,5\nB,2025-01-15,1\n")
    db = tmp_path / "s.duckdb"
    assert engine.run([SourceFile(csv)], db, commit=True).committed
    con = duckdb.connect(str(db), read_only=True)
    try:
        got = con.execute("SELECT order_date FROM order_lines WHERE customer_id = 'A'").fetchone()[0]
    finally:
        con.close()
    assert got.isoformat() == day


@pytest.mark.parametrize("zone", ["Mars/Olympus'; DROP", "Mars/Olympus"])
def test_a_bad_time_zone_setting_is_named(zone, tmp_path, monkeypatch):
    monkeypatch.setenv("KAMDASH_TIMEZONE", zone)
    csv = tmp_path / "o.csv"
    csv.write_text("customer_id,order_date,revenue\nA,2025-01-31,5\n")
    with pytest.raises(ValueError, match="KAMDASH_TIMEZONE"):
        engine.run([SourceFile(csv)], tmp_path / "s.duckdb")


def test_a_ragged_comma_file_with_spaces_in_names_stays_comma_separated():
    from kamdash.ingest import sniff

    text = "customer_id,name,order_date,revenue,region\n" + "".join(
        f"K{i},Acme Corp,2025-01-0{1 + i % 9},5" + (",East\n" if i % 3 == 0 else "\n") for i in range(30))
    assert sniff.sniff_text(text, complete=True).delimiter == ","
