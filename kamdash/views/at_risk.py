"""Data of the Retention page's at-risk list (no Streamlit): the saveable and the already-lost
accounts from the account values, and the action an "add to its plan" click stores.

The rule itself (which account is slipping, lost, high-value) is ``analytics.clv.at_risk``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from kamdash import plans
from kamdash.analytics import clv

ACTION_DUE_DAYS = 14  # an action added from the at-risk list is due two weeks later


@dataclass(frozen=True)
class AtRisk:
    saveable: pd.DataFrame  # clv.at_risk()["saveable"]: slipping, high value, not lost
    lost: pd.DataFrame  # clv.at_risk()["lost"]: high past revenue, already lost
    accounts: int  # accounts valued


def build(values: pd.DataFrame, fit: dict) -> AtRisk:
    """``values``: retention.account_values (per account, with name, region, account manager,
    revenue, last_date); ``fit``: the stored fit (its time unit)."""
    lists = clv.at_risk(values, clv.UNIT_DAYS[fit.get("time_unit", "W")])
    return AtRisk(saveable=lists["saveable"], lost=lists["lost"], accounts=len(values))


def plan_action(row: pd.Series, text: str, today: date) -> dict:
    """The plan action for one saveable account: ``text`` (already translated), owned by its
    account manager, due ACTION_DUE_DAYS from ``today``, open."""
    owner = row.get("account_manager")
    return {"action": text, "owner": "" if owner is None or owner != owner else str(owner),
            "due": (today + timedelta(days=ACTION_DUE_DAYS)).isoformat(), "status": "open"}


def add_to_plan(user_db: Path | str, row: pd.Series, text: str, author: str,
                today: date) -> plans.PlanVersion:
    """Store the action in the account's plan (a new plan version, by ``author``)."""
    return plans.add_action(user_db, str(row["customer_id"]), plan_action(row, text, today), author)
