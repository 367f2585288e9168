"""The Data page's view: what the database holds and where it came from, the copy kept by the
last import, the saved company source, and an import check's result as numbers and codes."""

from __future__ import annotations

import os
from datetime import date, datetime, timezone

from kamdash import store
from kamdash.ingest import engine
from kamdash.ingest.engine import SourceFile
from kamdash.views import data as view


def test_database_facts_backup_and_source(tmp_path):
    db = tmp_path / "sales.duckdb"
    db.write_bytes(b"x")
    facts = {"order_lines": 12, "as_of": date(2025, 6, 30), "source": "parquet:///lake", "lines_at": "source",
             "built_at": "2026-12-07T21:05:09"}
    v = view.build(facts, db)
    assert (v.order_lines, v.as_of, v.source, v.synced) == (12, date(2025, 6, 30), "parquet:///lake", True)
    assert v.refreshed == datetime(2026, 12, 7, 21, 5, 9, tzinfo=timezone.utc)
    assert v.backup_kept is None and v.saved_source is None
    kept = store.keep_backup(db)
    os.utime(kept, (1_700_000_000, 1_700_000_000))
    saved = {"url": "postgresql://kam@db/sales", "tables": {"order_lines": "ol", "customers": "c"}, "overrides": {}}
    v = view.build({**facts, "lines_at": "", "built_at": "not a time"}, db, saved)
    assert v.backup_kept == datetime.fromtimestamp(1_700_000_000)
    assert v.saved_source.url == "postgresql://kam@db/sales"
    assert v.saved_source.tables == (("order_lines", "ol"), ("customers", "c"))
    assert not v.synced and v.refreshed is None
    assert view.build(facts, None).backup_kept is None  # the data is not a file of ours


def test_an_import_check_as_numbers_and_codes(tmp_path, tiny_db):
    db = tmp_path / "sales.duckdb"
    db.write_bytes(tiny_db.read_bytes())
    text = ("customer_id,order_date,revenue\n"
            "A,2025-01-05,100\n"
            "B,not a date,50\n"
            "C,2025-01-07,abc\n"
            "D,2025-01-08,-5\n")
    path = tmp_path / "orders.csv"
    path.write_text(text, encoding="utf-8")
    check = view.import_check(engine.run([SourceFile(path)], db))
    # four rows; lines 3 and 4 (B's date, C's amount) are bad; D's negative amount is a warning
    assert (check.rows, check.bad_rows, check.error_total) == (4, 2, 2)
    assert [(p.line, p.column) for p in check.errors] == [(3, "order_date"), (4, "revenue")]
    assert all(p.code and p.reason for p in check.errors)
    assert (5, "revenue", "returns") in {(p.line, p.column, p.code) for p in check.warnings}
    assert not check.ok and check.can_skip
    assert db.read_bytes() == tiny_db.read_bytes()  # a check writes nothing
