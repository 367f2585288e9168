"""Account plans in the user database: versioned, with optimistic concurrency (no Streamlit).

One plan per account (``plan_id`` is the account's customer_id). Every save appends a new
version (1, 2, ...) with its author and time; nothing is overwritten, so the full history can be
read back. A save names the version it started from (``base_version``; None for a new plan): if
another writer saved in the meantime, the save is refused with ``PlanConflict`` carrying their
version, and the caller decides (keep mine = save again on top of theirs, take theirs, merge).
Deleting removes the plan with its history, under the same check; every save and the deleted
history go to the audit log (``store.audit``), so a deleted plan can still be read there.
Who may save or delete is checked here (``actor``: ``kamdash.access``), not only by the pages.

The check and the append run under one lock in this process and in one DuckDB transaction; a
unique index on (plan_id, version) makes a lost update impossible even across processes.
Plans live in the user database, which a sales re-import never opens (``store``).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from kamdash import access, store
from kamdash.analytics.account import RENAMED_METRICS

METRICS = ("revenue", "gross_margin", "account_margin", "adoption")  # what a goal's target measures
# A goal stored under an old metric name (RENAMED_METRICS: "margin" was always gross margin) is
# read under its new one. Stored versions are never rewritten (the history stays as saved);
# every read and save goes through normalise.
ACTION_STATUSES = ("open", "in_progress", "done", "blocked")
BODY_FIELDS = ("goals", "solution", "actions", "notes")

_write_lock = threading.Lock()


@dataclass(frozen=True)
class PlanVersion:
    plan_id: str
    version: int
    customer_id: str
    body: dict
    author: str
    saved_at: datetime  # UTC
    renamed: int = 0  # goals stored under an old metric name, read as RENAMED_METRICS says


class PlanConflict(Exception):
    """The plan changed since ``base_version`` was read: ``theirs`` is the latest version (None
    when the plan was deleted in the meantime)."""

    def __init__(self, base_version: int | None, theirs: PlanVersion | None):
        self.base_version = base_version
        self.theirs = theirs
        latest = theirs.version if theirs else "deleted"
        super().__init__(f"plan changed since version {base_version} (now {latest})")


def plan_id_for(customer_id: str) -> str:
    return str(customer_id)


def _missing(value) -> bool:
    """None, NaN, NaT, pd.NA or empty text (as table editors give back empty cells)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return True
    try:
        return bool(value != value)
    except TypeError:  # pd.NA
        return True


def _iso(value) -> str | None:
    if _missing(value):
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return date.fromisoformat(str(value)[:10]).isoformat()


def _num(value) -> float | None:
    if _missing(value):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return None if x != x else x


def _text(value) -> str:
    return "" if _missing(value) else str(value).strip()


def normalise(body: dict | None) -> dict:
    """A plan body in its canonical form (what is stored and compared).

    goals: [{metric: revenue|gross_margin|account_margin|adoption, target: number (revenue in
    money, a margin as a fraction, adoption unused), category: product category (adoption),
    start, due: ISO dates}] (a goal saved as "margin" becomes gross_margin: RENAMED_METRICS);
    solution: text; actions: [{action, owner, due (ISO date or None), status}]; notes: text.
    Goals without a metric or due date and actions without text are dropped.
    """
    body = body or {}
    goals = []
    for g in body.get("goals") or []:
        metric = _text(g.get("metric"))
        metric = RENAMED_METRICS.get(metric, metric)
        due = _iso(g.get("due"))
        if metric not in METRICS or not due:
            continue
        goals.append({"metric": metric, "target": _num(g.get("target")),
                      "category": _text(g.get("category")) or None,
                      "start": _iso(g.get("start")), "due": due})
    actions = []
    for a in body.get("actions") or []:
        text = _text(a.get("action"))
        if not text:
            continue
        status = _text(a.get("status")) or "open"
        actions.append({"action": text, "owner": _text(a.get("owner")), "due": _iso(a.get("due")),
                        "status": status if status in ACTION_STATUSES else "open"})
    return {"goals": goals, "solution": _text(body.get("solution")), "actions": actions,
            "notes": _text(body.get("notes"))}


def renamed_goals(body: dict) -> int:
    """How many goals of a stored body use a metric name RENAMED_METRICS reads differently."""
    return sum(1 for g in body.get("goals") or [] if g.get("metric") in RENAMED_METRICS)


def _row(r) -> PlanVersion:
    saved = r[5]
    if saved is not None and saved.tzinfo is None:
        saved = saved.replace(tzinfo=timezone.utc)
    stored = json.loads(r[3])
    return PlanVersion(plan_id=r[0], version=int(r[1]), customer_id=r[2], body=normalise(stored),
                       author=r[4] or "", saved_at=saved, renamed=renamed_goals(stored))


_COLUMNS = "plan_id, version, customer_id, body, author, saved_at"


def _latest(con, plan_id: str) -> PlanVersion | None:
    rows = con.execute(f"SELECT {_COLUMNS} FROM account_plans WHERE plan_id = ? "
                       "ORDER BY version DESC LIMIT 1", [plan_id]).fetchall()
    return _row(rows[0]) if rows else None


def latest(path: Path | str, customer_id: str) -> PlanVersion | None:
    """The current version of the account's plan, or None."""
    if not Path(path).exists():
        return None
    return store._with_user_db(path, lambda con: _latest(con, plan_id_for(customer_id)))


def history(path: Path | str, customer_id: str) -> list[PlanVersion]:
    """Every saved version of the account's plan, newest first."""
    if not Path(path).exists():
        return []
    rows = store._with_user_db(path, lambda con: con.execute(
        f"SELECT {_COLUMNS} FROM account_plans WHERE plan_id = ? ORDER BY version DESC",
        [plan_id_for(customer_id)]).fetchall())
    return [_row(r) for r in rows]


def version(path: Path | str, customer_id: str, number: int) -> PlanVersion | None:
    """One saved version of the account's plan, or None."""
    if not Path(path).exists():
        return None
    rows = store._with_user_db(path, lambda con: con.execute(
        f"SELECT {_COLUMNS} FROM account_plans WHERE plan_id = ? AND version = ?",
        [plan_id_for(customer_id), int(number)]).fetchall())
    return _row(rows[0]) if rows else None


def first_saved(path: Path | str) -> dict[str, date]:
    """customer_id -> the day (UTC) the current plan's first kept version was saved: the
    default start of its goals."""
    if not Path(path).exists():
        return {}
    rows = store._with_user_db(path, lambda con: con.execute(
        "SELECT customer_id, min(saved_at) FROM account_plans GROUP BY customer_id").fetchall())
    return {r[0]: r[1].date() for r in rows}


def all_latest(path: Path | str) -> list[PlanVersion]:
    """The current version of every plan (portfolio view), by customer_id."""
    if not Path(path).exists():
        return []
    rows = store._with_user_db(path, lambda con: con.execute(
        f"SELECT {_COLUMNS} FROM account_plans QUALIFY version = max(version) OVER (PARTITION BY plan_id) "
        "ORDER BY customer_id").fetchall())
    return [_row(r) for r in rows]


def save(path: Path | str, customer_id: str, body: dict, author: str,
         base_version: int | None, actor: access.Actor = access.FULL) -> PlanVersion:
    """Append a new version of the account's plan, started from ``base_version`` (None: a new
    plan). Raises PlanConflict when the latest version is not ``base_version``, and
    access.AccessDenied when ``actor`` may not edit this account's plan."""
    actor.require_plan_edit(customer_id)
    plan_id = plan_id_for(customer_id)
    clean = normalise(body)

    def write(con):
        con.execute("BEGIN")
        try:
            cur = _latest(con, plan_id)
            if (cur.version if cur else None) != base_version:
                con.execute("ROLLBACK")
                raise PlanConflict(base_version, cur)
            version = (cur.version if cur else 0) + 1
            saved_at = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
            con.execute("INSERT INTO account_plans VALUES (?, ?, ?, ?, ?, ?)",
                        [plan_id, version, str(customer_id), json.dumps(clean, ensure_ascii=False),
                         author or "", saved_at])
            store.audit(con, author or actor.who, "plan", plan_id, "save",
                        cur.body if cur else None, clean)
            con.execute("COMMIT")
        except PlanConflict:
            raise
        except Exception:
            con.execute("ROLLBACK")
            raise
        return PlanVersion(plan_id, version, str(customer_id), clean, author or "",
                           saved_at.replace(tzinfo=timezone.utc))

    with _write_lock:
        return store._with_user_db(path, write)


def delete(path: Path | str, customer_id: str, base_version: int,
           actor: access.Actor = access.FULL) -> None:
    """Delete the account's plan and its history, if nobody saved since ``base_version``; the
    whole history (every version with author and time) is kept in the audit log."""
    actor.require_plan_edit(customer_id)
    plan_id = plan_id_for(customer_id)

    def write(con):
        con.execute("BEGIN")
        cur = _latest(con, plan_id)
        if cur is None or cur.version != base_version:
            con.execute("ROLLBACK")
            raise PlanConflict(base_version, cur)
        rows = con.execute(f"SELECT {_COLUMNS} FROM account_plans WHERE plan_id = ? ORDER BY version",
                           [plan_id]).fetchall()
        kept = [{"version": v.version, "author": v.author, "saved_at": v.saved_at.isoformat(),
                 "body": v.body} for v in map(_row, rows)]
        con.execute("DELETE FROM account_plans WHERE plan_id = ?", [plan_id])
        store.audit(con, actor.who, "plan", plan_id, "delete", {"history": kept}, None)
        con.execute("COMMIT")

    with _write_lock:
        store._with_user_db(path, write)


def changed_fields(a: dict, b: dict) -> tuple[str, ...]:
    """The body fields (goals, solution, actions, notes) whose values differ."""
    a, b = normalise(a), normalise(b)
    return tuple(f for f in BODY_FIELDS if a[f] != b[f])


def merge(base: dict | None, mine: dict, theirs: dict) -> tuple[dict, tuple[str, ...]]:
    """Field-by-field three-way merge: a field only I changed (vs ``base``) takes mine, else
    theirs. Returns (merged body, fields both changed differently: theirs kept, mine lost)."""
    base, mine, theirs = normalise(base), normalise(mine), normalise(theirs)
    out, clashes = {}, []
    for f in BODY_FIELDS:
        mine_changed, theirs_changed = mine[f] != base[f], theirs[f] != base[f]
        if mine_changed and not theirs_changed:
            out[f] = mine[f]
        else:
            out[f] = theirs[f]
            if mine_changed and theirs_changed and mine[f] != theirs[f]:
                clashes.append(f)
    return out, tuple(clashes)


def add_action(path: Path | str, customer_id: str, action: dict, author: str) -> PlanVersion:
    """Append one action ({action, owner, due, status}) to the account's plan as a new version
    (a new plan when it has none), keeping everything else of the latest version. A save by
    someone else in between is re-read and the action appended to theirs (one retry)."""
    for attempt in (1, 2):
        cur = latest(path, customer_id)
        body = normalise(cur.body if cur else None)
        body["actions"] = [*body["actions"], action]
        try:
            return save(path, customer_id, body, author, cur.version if cur else None)
        except PlanConflict:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


GOAL_PROBLEMS = ("metric", "target", "category", "unknown_category", "due", "window")


def goal_problems(goals: list[dict], categories) -> list[tuple[int, str]]:
    """What keeps each goal from being tracked, as (row number from 1, problem) with problem in
    ``GOAL_PROBLEMS``: no or an unknown metric, no target (revenue and margin goals), no
    category or one the data does not sell (adoption goals), no due date, a start after the due
    date. Rows left entirely empty are ignored (the editor's blank new row). ``normalise`` would
    silently drop such goals; the plan form refuses to save them instead."""
    known = {str(c) for c in categories}
    out = []
    for i, g in enumerate(goals, start=1):
        values = [g.get(k) for k in ("metric", "target", "category", "start", "due")]
        if all(v is None or (isinstance(v, float) and v != v) or v == "" for v in values):
            continue
        metric = RENAMED_METRICS.get(g.get("metric"), g.get("metric"))
        if metric not in METRICS:
            out.append((i, "metric"))
        elif metric == "adoption":
            cat = _text(g.get("category"))
            if not cat:
                out.append((i, "category"))
            elif cat not in known:
                out.append((i, "unknown_category"))
        elif _num(g.get("target")) is None:
            out.append((i, "target"))
        due, start = _iso(g.get("due")), _iso(g.get("start"))
        if not due:
            out.append((i, "due"))
        elif start and start > due:
            out.append((i, "window"))
    return out
