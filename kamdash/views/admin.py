"""Data of the Admin page: who may sign in (entitlements: role and scope), each checked against
the sales data as it is now, and the audit log.

An entitlement is validated when it is saved (``access.validate``); the sales data can change
afterwards (a re-import, a refresh from the company source), so the page shows for each one how
many accounts its scope covers today and which of its values the data no longer has: a region
or manager that is gone leaves a user with fewer accounts, or none, without an error anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from kamdash import access, store
from kamdash.access import ROLES, SCOPE_KINDS, Entitlement

__all__ = ["ROLES", "SCOPE_KINDS", "AdminView", "Entitlement", "EntitlementCheck", "build", "check"]


@dataclass(frozen=True)
class EntitlementCheck:
    entitlement: Entitlement
    accounts: int | None  # customers its scope covers in the data now (None: every customer)
    missing: tuple[str, ...]  # scope values the sales data no longer has


@dataclass(frozen=True)
class AdminView:
    entitlements: tuple[EntitlementCheck, ...]  # as stored, by e-mail
    known: dict  # access.scope_known: the values a scope may name, per scope kind
    customers: int  # customers in the sales data
    audit: pd.DataFrame  # store.read_audit: changed_at, who, kind, key, action, old, new (newest first)


def check(ent: Entitlement, customers: pd.DataFrame, known: dict) -> EntitlementCheck:
    """``ent`` against the data: the accounts its scope covers (``access.resolve``) and its
    values not in ``known`` (``access.scope_known`` of ``customers``)."""
    covered = access.resolve(ent, customers)
    missing = () if ent.scope_kind == "all" else tuple(v for v in ent.scope_values
                                                        if v not in known.get(ent.scope_kind, set()))
    return EntitlementCheck(ent, None if covered is None else len(covered), missing)


def build(user_db, customers: pd.DataFrame) -> AdminView:
    """``customers``: Engine.scope_customers (customer_id, region, account_manager of every
    customer), what scopes resolve against."""
    known = access.scope_known(customers)
    rows = tuple(check(e, customers, known) for e in access.list_entitlements(user_db))
    return AdminView(rows, known, int(customers["customer_id"].nunique()), store.read_audit(user_db))
