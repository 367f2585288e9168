"""Who may see and change what: roles, scopes and the entitlements stored in the user database.

An entitlement gives one user (their e-mail, as the sign-in provider reports it) a role and a
scope:

- roles: ``admin`` (everything, and edits entitlements), ``director`` (sees and edits
  everything), ``regional_head`` and ``account_manager`` (see their scope, edit the plans of
  its accounts and their own scenarios), ``viewer`` (reads its scope, changes nothing);
- scopes: ``all``; ``regions`` (customers whose region is one of the values); ``managers``
  (customers whose account manager is one of the values); ``customers`` (a list of ids).

A scope becomes a set of customer ids (``resolve``) that the engine applies before any
aggregation (``engine.Filters.scope``). An ``Actor`` is the user acting in a session; the
command line and single-user mode act as ``FULL``. Saving an entitlement names the version it
was read at, so two admins editing at once get ``EntitlementConflict`` instead of overwriting
each other, and every change is written to the audit log in the same transaction.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from kamdash import store

ROLES = ("admin", "director", "regional_head", "account_manager", "viewer")
SCOPE_KINDS = ("all", "regions", "managers", "customers")
SCOPE_COLUMN = {"regions": "region", "managers": "account_manager", "customers": "customer_id"}
EDIT_ALL = ("admin", "director")  # edit every plan, scenario and setting
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_write_lock = threading.Lock()


class AccessDenied(PermissionError):
    """The acting user may not do this (the message says what)."""


class EntitlementError(ValueError):
    """An entitlement that cannot be saved (the message says what is wrong)."""


class EntitlementConflict(Exception):
    """The entitlement changed since it was read: ``theirs`` is what is stored now (None when
    it was removed or did not exist)."""

    def __init__(self, email: str, theirs: "Entitlement | None"):
        self.email = email
        self.theirs = theirs
        super().__init__(f"the entitlement of {email} was changed by someone else meanwhile")


@dataclass(frozen=True)
class Entitlement:
    email: str
    role: str
    scope_kind: str = "all"
    scope_values: tuple[str, ...] = ()
    version: int = 0  # 0: not stored yet
    updated_at: datetime | None = None
    updated_by: str = ""

    def as_json(self) -> dict:
        return {"role": self.role, "scope_kind": self.scope_kind, "scope_values": list(self.scope_values)}


@dataclass(frozen=True)
class Actor:
    """The user acting: ``who`` (e-mail or name, for the audit log), ``role`` and ``scope``
    (the customer ids they may see; None: every customer)."""

    who: str
    role: str
    scope: frozenset[str] | None = field(default=None)

    def sees(self, customer_id: str) -> bool:
        return self.scope is None or str(customer_id) in self.scope

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def edits_everything(self) -> bool:
        return self.role in EDIT_ALL

    @property
    def reads_only(self) -> bool:
        return self.role == "viewer"

    def can_edit_plan(self, customer_id: str) -> bool:
        if self.edits_everything:
            return True
        return self.role in ("regional_head", "account_manager") and self.sees(customer_id)

    def require_plan_edit(self, customer_id: str) -> None:
        if not self.can_edit_plan(customer_id):
            raise AccessDenied(f"{self.who or 'this user'} ({self.role}) may not change the plan of {customer_id}")

    def can_save_scenario(self, owner: str | None = None) -> bool:
        """New scenarios: anyone but a viewer; replacing or deleting one: its owner, or a
        director or admin."""
        if self.reads_only:
            return False
        return owner is None or self.edits_everything or owner == self.who

    def require_scenario(self, owner: str | None = None) -> None:
        if not self.can_save_scenario(owner):
            raise AccessDenied(f"{self.who or 'this user'} ({self.role}) may not change this scenario")

    @property
    def can_edit_settings(self) -> bool:
        """Shared settings (tier cut-offs, segment names, key-account rules, slide order) and
        the data itself (imports, restores): directors and admins."""
        return self.edits_everything

    def require_settings(self) -> None:
        if not self.can_edit_settings:
            raise AccessDenied(f"{self.who or 'this user'} ({self.role}) may not change shared settings")


FULL = Actor("", "admin", None)  # the command line and single-user mode


def normalise_email(email: str) -> str:
    e = str(email or "").strip().lower()
    if not _EMAIL.match(e):
        raise EntitlementError(f"{email!r} is not an e-mail address")
    return e


def validate(ent: Entitlement, known: dict[str, set[str]]) -> Entitlement:
    """The entitlement cleaned (e-mail lower-cased, values stripped, sorted, unique), or
    EntitlementError saying what is wrong. ``known``: the existing values per scope kind
    (``regions``, ``managers``, ``customers``), from the sales data."""
    email = normalise_email(ent.email)
    if ent.role not in ROLES:
        raise EntitlementError(f"unknown role {ent.role!r}: choose one of {', '.join(ROLES)}")
    if ent.scope_kind not in SCOPE_KINDS:
        raise EntitlementError(f"unknown scope {ent.scope_kind!r}: choose one of {', '.join(SCOPE_KINDS)}")
    values = tuple(sorted({str(v).strip() for v in ent.scope_values if str(v).strip()}))
    if ent.scope_kind == "all":
        values = ()
    else:
        if not values:
            raise EntitlementError(f"a scope of {ent.scope_kind} needs at least one value")
        unknown = [v for v in values if v not in known.get(ent.scope_kind, set())]
        if unknown:
            shown = ", ".join(unknown[:5]) + (" …" if len(unknown) > 5 else "")
            raise EntitlementError(f"not in the sales data ({ent.scope_kind}): {shown}")
    return Entitlement(email, ent.role, ent.scope_kind, values, ent.version, ent.updated_at, ent.updated_by)


def resolve(ent: Entitlement | None, customers) -> frozenset[str] | None:
    """The customer ids an entitlement's scope covers (None: every customer; an empty set for
    no entitlement). ``customers``: a frame with customer_id, region, account_manager."""
    if ent is None:
        return frozenset()
    if ent.scope_kind == "all":
        return None
    col = SCOPE_COLUMN[ent.scope_kind]
    keep = customers[col].astype("string").isin(list(ent.scope_values)).fillna(False)
    return frozenset(customers.loc[keep.to_numpy(dtype=bool), "customer_id"].astype(str))


def options_within(customers, scope, columns) -> dict[str, list[str]]:
    """The values of each filter dimension in ``columns`` held by the customers of ``scope``
    (a collection of customer ids; None: every customer), sorted, as the sidebar lists them:
    a user is offered the regions, managers, types and sectors of their own accounts only.
    ``customers``: a frame with customer_id and those columns."""
    if scope is None:
        rows = customers
    else:
        keep = customers["customer_id"].astype(str).isin(list(scope)).to_numpy(dtype=bool)
        rows = customers.loc[keep]
    return {c: sorted(str(v) for v in rows[c].dropna().unique()) for c in columns}


def actor_for(ent: Entitlement | None, customers) -> Actor | None:
    """The Actor of a signed-in user with this entitlement (None: no entitlement)."""
    if ent is None:
        return None
    return Actor(ent.email, ent.role, resolve(ent, customers))


# ---------------------------------------------------------------- stored entitlements

_COLUMNS = "email, role, scope_kind, scope_values, version, updated_at, updated_by"


def _row(r) -> Entitlement:
    return Entitlement(r[0], r[1], r[2], tuple(json.loads(r[3] or "[]")), int(r[4]),
                       r[5].replace(tzinfo=timezone.utc) if r[5] else None, r[6] or "")


def list_entitlements(path: Path | str) -> list[Entitlement]:
    if not Path(path).exists():
        return []
    rows = store._with_user_db(path, lambda con: con.execute(
        f"SELECT {_COLUMNS} FROM entitlements ORDER BY email").fetchall())
    return [_row(r) for r in rows]


def get(path: Path | str, email: str) -> Entitlement | None:
    """The stored entitlement of ``email`` (any case), or None."""
    if not Path(path).exists():
        return None
    e = str(email or "").strip().lower()
    rows = store._with_user_db(path, lambda con: con.execute(
        f"SELECT {_COLUMNS} FROM entitlements WHERE email = ?", [e]).fetchall())
    return _row(rows[0]) if rows else None


def admins(path: Path | str) -> list[str]:
    return [e.email for e in list_entitlements(path) if e.role == "admin"]


def save(path: Path | str, ent: Entitlement, known: dict[str, set[str]], by: str,
         base_version: int | None, actor: Actor = FULL) -> Entitlement:
    """Store ``ent`` (validated against ``known``) if the stored one is still at
    ``base_version`` (None or 0: there must be none yet). Admins only."""
    if not actor.is_admin:
        raise AccessDenied(f"{actor.who or 'this user'} ({actor.role}) may not change who has access")
    clean = validate(ent, known)

    def write(con):
        con.execute("BEGIN")
        try:
            rows = con.execute(f"SELECT {_COLUMNS} FROM entitlements WHERE email = ?", [clean.email]).fetchall()
            cur = _row(rows[0]) if rows else None
            if (cur.version if cur else 0) != (base_version or 0):
                raise EntitlementConflict(clean.email, cur)
            _check_last_admin(con, clean.email, clean.role)
            version = (cur.version if cur else 0) + 1
            at = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
            con.execute("INSERT OR REPLACE INTO entitlements VALUES (?, ?, ?, ?, ?, ?, ?)",
                        [clean.email, clean.role, clean.scope_kind, json.dumps(list(clean.scope_values)),
                         version, at, by or ""])
            store.audit(con, by, "entitlement", clean.email, "save",
                        cur.as_json() if cur else None, clean.as_json())
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        return Entitlement(clean.email, clean.role, clean.scope_kind, clean.scope_values, version,
                           at.replace(tzinfo=timezone.utc), by or "")

    with _write_lock:
        return store._with_user_db(path, write)


def remove(path: Path | str, email: str, by: str, base_version: int | None,
           actor: Actor = FULL) -> None:
    """Remove a user's entitlement (they lose access at their next click); the old one stays
    in the audit log. ``base_version`` None: whatever is stored."""
    if not actor.is_admin:
        raise AccessDenied(f"{actor.who or 'this user'} ({actor.role}) may not change who has access")
    e = str(email or "").strip().lower()

    def write(con):
        con.execute("BEGIN")
        try:
            rows = con.execute(f"SELECT {_COLUMNS} FROM entitlements WHERE email = ?", [e]).fetchall()
            cur = _row(rows[0]) if rows else None
            if cur is None:
                raise EntitlementError(f"{email} has no entitlement")
            if base_version is not None and cur.version != base_version:
                raise EntitlementConflict(e, cur)
            _check_last_admin(con, e, None)
            con.execute("DELETE FROM entitlements WHERE email = ?", [e])
            store.audit(con, by, "entitlement", e, "delete", cur.as_json(), None)
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise

    with _write_lock:
        store._with_user_db(path, write)


def _check_last_admin(con, email: str, new_role: str | None) -> None:
    """Refuse to remove or demote the last admin (nobody could edit entitlements any more)."""
    if new_role == "admin":
        return
    others = con.execute("SELECT count(*) FROM entitlements WHERE role = 'admin' AND email <> ?",
                         [email]).fetchone()[0]
    was = con.execute("SELECT count(*) FROM entitlements WHERE role = 'admin' AND email = ?",
                      [email]).fetchone()[0]
    if was and not others:
        raise EntitlementError(f"{email} is the last admin: name another admin first")


def scope_known(customers) -> dict[str, set[str]]:
    """The values an entitlement's scope may name, per scope kind, from ``customers`` (a frame
    with customer_id, region, account_manager: ``Engine.scope_customers``)."""
    return {"regions": set(customers["region"].dropna().astype(str)),
            "managers": set(customers["account_manager"].dropna().astype(str)),
            "customers": set(customers["customer_id"].astype(str))}
