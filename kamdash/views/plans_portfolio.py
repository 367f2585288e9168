"""The Account plans page beyond each plan's status: overdue actions rolled up per owner, and
the key accounts that have no plan yet. Pure functions of the stored plans (plans.all_latest),
the stored assignment (store.get_assignment) and the period's customer facts."""

from __future__ import annotations

from datetime import date

import pandas as pd

from kamdash.engine.filters import Filters

OVERDUE_COLUMNS = ["owner", "customer_id", "action", "due", "days_overdue", "status"]
ROLLUP_COLUMNS = ["owner", "actions", "accounts", "oldest_due", "most_days_overdue"]


def overdue_actions(latest_plans, as_of: date) -> pd.DataFrame:
    """Every action of the current plans that is not done and was due before ``as_of`` (the
    data's last order date): owner ("" when none), customer_id, action, due, days_overdue,
    status; most overdue first."""
    rows = []
    for p in latest_plans:
        for a in p.body.get("actions", []):
            if a.get("status") == "done" or not a.get("due"):
                continue
            due = date.fromisoformat(a["due"])
            if due < as_of:
                rows.append({"owner": a.get("owner") or "", "customer_id": p.customer_id, "action": a["action"],
                             "due": due, "days_overdue": (as_of - due).days, "status": a.get("status", "open")})
    out = pd.DataFrame(rows, columns=OVERDUE_COLUMNS)
    return out.sort_values(["days_overdue", "owner", "customer_id"], ascending=[False, True, True],
                           ignore_index=True)


def overdue_by_owner(overdue: pd.DataFrame) -> pd.DataFrame:
    """Overdue actions per owner: how many, on how many accounts, the oldest due date and its
    days overdue; owners with the most overdue actions first."""
    if overdue.empty:
        return pd.DataFrame(columns=ROLLUP_COLUMNS)
    g = overdue.groupby("owner", sort=False)
    out = pd.DataFrame({"actions": g.size(), "accounts": g["customer_id"].nunique(), "oldest_due": g["due"].min(),
                        "most_days_overdue": g["days_overdue"].max()}).reset_index()
    return out.sort_values(["actions", "most_days_overdue", "owner"], ascending=[False, False, True],
                           ignore_index=True)[ROLLUP_COLUMNS]


def unplanned(engine, filters: Filters, assignment: pd.DataFrame, planned) -> pd.DataFrame:
    """``key_accounts_without_plan`` with the customer facts of ``filters`` and the customers'
    names read from the database."""
    return key_accounts_without_plan(assignment, planned, engine.customer_facts(filters),
                                     engine.customer_links())


def key_accounts_without_plan(assignment: pd.DataFrame, planned, facts: pd.DataFrame,
                              links: pd.DataFrame) -> pd.DataFrame:
    """The key accounts of the stored assignment (a key-account type set) with no plan:
    customer_id, name, name_zh, account_manager, ka_types, revenue and account_profit of the
    period (0 without orders); largest revenue first."""
    cols = ["customer_id", "name", "name_zh", "account_manager", "ka_types", "revenue", "account_profit"]
    if assignment is None or not len(assignment):
        return pd.DataFrame(columns=cols)
    ka = assignment[assignment["ka_types"].fillna("").astype(str) != ""]
    ka = ka[~ka["customer_id"].isin(set(planned))][["customer_id", "ka_types"]]
    info = links.set_index("customer_id")[["name", "name_zh"]]
    out = ka.join(info, on="customer_id")
    f = facts.set_index("customer_id")
    for col in ("revenue", "account_profit"):
        out[col] = out["customer_id"].map(f[col]).fillna(0.0).astype(float)
    out["account_manager"] = out["customer_id"].map(f["account_manager"].astype(object)) if "account_manager" in f else None
    return out.sort_values(["revenue", "customer_id"], ascending=[False, True], ignore_index=True)[cols]
