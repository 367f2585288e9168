"""Data of the Data page: what the sales database holds and where it came from, the copy kept by
the last import (restorable), the company source it refreshes from, and an import check's
result.

The import itself (upload, mapping, check, import) is interactive and lives in
``kamdash.ui.importer``; it runs ``kamdash.ingest.engine`` and hands the report here
(``import_check``), so the UI words what the engine found.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from kamdash import store

__all__ = ["DataPage", "ImportCheck", "Problem", "SavedSource", "build", "import_check", "problems", "refreshed"]


@dataclass(frozen=True)
class SavedSource:
    """The company source saved by the last successful sync (``kamdash.sync.saved_source``)."""

    url: str
    tables: tuple  # (role, table name) pairs, as saved
    settings: dict  # the whole saved entry (``ingest.sources.Source.from_dict`` reads it)


@dataclass(frozen=True)
class DataPage:
    order_lines: int
    as_of: date
    source: str  # what the data was built from (a file name, "demo", a source URL)
    synced: bool  # the order lines stay in a company source (a synced database)
    refreshed: datetime | None  # when the database was built or last refreshed (UTC), when known
    backup_kept: datetime | None  # when the copy kept by the last import was made (local time); None: no copy
    saved_source: SavedSource | None  # None: no company source is set up


def refreshed(built_at: str) -> datetime | None:
    """``built_at`` (ISO text of the database's build, UTC) as a datetime; None when it is not one."""
    try:
        when = datetime.fromisoformat(built_at)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def build(facts: dict, db_path: Path | None, saved_source: dict | None = None) -> DataPage:
    """``facts``: Engine.data_facts; ``db_path``: the sales database file (None when the data is
    not a file of ours); ``saved_source``: ``kamdash.sync.saved_source`` of the user database
    (read by the caller: it costs the import of Ibis, which only admins need)."""
    kept = None
    if db_path is not None:
        backup = store.backup_path(db_path)
        if backup.exists():
            kept = datetime.fromtimestamp(backup.stat().st_mtime)
    src = None
    if saved_source:
        tables = tuple((str(r), str(n)) for r, n in (saved_source.get("tables") or {}).items())
        src = SavedSource(str(saved_source.get("url", "")), tables, dict(saved_source))
    return DataPage(int(facts["order_lines"]), facts["as_of"], str(facts.get("source", "")),
                    facts.get("lines_at") == "source", refreshed(facts.get("built_at", "")), kept, src)


@dataclass(frozen=True)
class Problem:
    """One located problem of an import: where (file, line, column, value) and what, as a
    reason code with its fields (``ingest.problems.Problem``; ``reason`` is its English text,
    used when the code is empty)."""

    file: str
    line: int | None
    column: str
    value: str
    code: str
    fields: dict
    reason: str


def problems(found) -> tuple[Problem, ...]:
    """``found``: ingest.problems.Problem items (an import report's problems or warnings, or a
    failed sync's)."""
    return tuple(Problem(p.file, p.line, p.column, p.value, p.code, dict(p.fields), p.reason) for p in found)


@dataclass(frozen=True)
class ImportCheck:
    """What a check (or a failed import) found: rows read, rows with an error, the located
    errors (the first ones; ``error_total`` counts them all), the warnings, whether the date
    order must be chosen, what the pages will lack, and what the user can do next."""

    rows: int
    bad_rows: int
    errors: tuple[Problem, ...]
    error_total: int
    warnings: tuple[Problem, ...]
    needs_date_order: bool
    limits: tuple[str, ...]  # codes of what the pages cannot show with this data
    ok: bool  # no error: everything can be imported
    can_skip: bool  # every error is on a row and some rows are good: the good rows can be imported


def import_check(rep) -> ImportCheck:
    """``rep``: ingest.engine.ImportReport."""
    return ImportCheck(rep.rows, rep.bad_rows, problems(rep.problems), rep.problem_total, problems(rep.warnings),
                       rep.needs_date_order, tuple(rep.limits), rep.ok, rep.can_skip)
