"""Data of the Account 360 page and the account plans: one account's profile, history, product
mix, cost-to-serve, rank, group and referral chains, peers, value (P(alive), CLV), and its plan
tracked against actual purchases; plus the one-pager slides for an account review.

One account's rows (profile, months, product mix, cost-to-serve, plan actuals) come from the
engine (``Engine.account_*``, ``Engine.plan_*``). Period values (rank, peers, chains, mix, cost-to-serve) use the period
of the filters and all customers (the dimension filters choose lists elsewhere, not an
account's peers); the timeline shows every month of the account's history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from kamdash.analytics import account as acc
from kamdash.analytics import losses, pareto
from kamdash.analytics.account import (  # noqa: F401 (for the UI)
    MARGIN_METRICS,
    STATUSES,
    chain_totals,
    plan_status,
)
from kamdash.analytics.ka_types import KA_TYPES  # noqa: F401 (for the UI)
from kamdash.analytics.losses import CAUSES, PORTFOLIO  # noqa: F401 (for the UI)
from kamdash.engine.filters import Filters

if TYPE_CHECKING:  # imported where used: the value models load scipy, which lists do not need
    from kamdash import retention

# ---------------------------------------------------------------- one account


def period_facts(engine, start: date | None, end: date | None, scope=None) -> pd.DataFrame:
    """Engine.customer_facts of every customer of the period (within ``scope``): what an
    account is ranked and compared against."""
    return engine.customer_facts(Filters(start=start, end=end, scope=scope))


# ---------------------------------------------------------------- the 360 view


@dataclass(frozen=True)
class AccountView:
    customer_id: str
    profile: dict
    period: tuple[date | None, date | None]
    totals: dict  # the account's period facts (revenue ... orders), zeros when inactive
    rank: int | None
    ranked: int
    tier: str | None  # ABC tier by revenue of the period (None: no order in the period)
    monthly: pd.DataFrame
    mix: pd.DataFrame
    costs: pd.DataFrame
    parent: dict | None  # {customer_id, name, name_zh} of the direct parent
    group_root: dict | None  # the top of its group, when it is not the account itself
    children: pd.DataFrame  # acc.chain(parent_id) valued
    referrals: pd.DataFrame  # acc.chain(referred_by) valued
    referred_by: dict | None
    segment: str | None  # "3 · name" from the stored assignment (None: none stored)
    ka_types: tuple[str, ...] | None  # None: no assignment stored
    peer_basis: str  # "segment" or "customer_type" (no segments stored)
    peers: pd.DataFrame  # acc.peers
    value: dict | None  # p_alive, expected_purchases, clv, clv_lo, clv_hi, clv_signed (None: no stored fit)
    causes: dict | None  # losses.causes of the account against its customer-type peers (None: not a loss-maker)
    # accounts of the group and referral chains outside the user's scope: counted, never named
    children_outside: int = 0
    referrals_outside: int = 0


_TOTAL_KEYS = ("revenue", "gross_profit", "cost_to_serve", "account_profit", "orders")


OUTSIDE = {"customer_id": "", "name": None, "name_zh": None, "outside": True}  # a named link out of scope


def _name_row(links: pd.DataFrame, cid, scope=None) -> dict | None:
    if cid is None:
        return None
    if scope is not None and str(cid) not in scope:
        return dict(OUTSIDE)
    row = links[links["customer_id"] == cid]
    if row.empty:
        return {"customer_id": cid, "name": cid, "name_zh": None}
    r = row.iloc[0]
    return {"customer_id": cid, "name": r["name"], "name_zh": r["name_zh"]}


def _named(chain: pd.DataFrame, links: pd.DataFrame) -> pd.DataFrame:
    names = links.set_index("customer_id")[["name", "name_zh"]]
    return chain.join(names, on="customer_id")


def within(chain: pd.DataFrame, scope) -> tuple[pd.DataFrame, int]:
    """The members of a chain inside ``scope`` (None: everyone) and how many were left out. The
    chain is walked through every account (a referral of a referral may be in scope when the one
    between is not); a member reached through an account outside the scope names no one as its
    "via"."""
    if scope is None or chain.empty:
        return chain, 0
    inside = chain["customer_id"].astype(str).isin(list(scope)).to_numpy(dtype=bool)
    kept = chain.loc[inside].copy()
    hidden_via = ~kept["via"].astype(str).isin(list(scope)).to_numpy(dtype=bool)
    kept.loc[hidden_via, "via"] = ""
    return kept.reset_index(drop=True), int((~inside).sum())


def build(engine, customer_id: str, facts: pd.DataFrame, links: pd.DataFrame,
          start: date | None, end: date | None, assignment: pd.DataFrame | None = None,
          tier_cutoffs: tuple[float, float] = pareto.ABC_CUTOFFS_DEFAULT,
          value: dict | None = None, scope=None) -> AccountView | None:
    """Everything the Account 360 page shows for ``customer_id`` (None: no such account).

    ``facts``: Engine.customer_facts of the period for all customers (of the scope); ``links``:
    Engine.customer_links; ``assignment``: store.get_assignment (empty: none stored);
    ``value``: account_value() result or None; ``scope``: the customer ids the user sees (None:
    every customer): the parent, group top, referrer and chain members outside it are not
    named (``OUTSIDE``, ``children_outside``, ``referrals_outside``)."""
    prof = engine.account_profile(customer_id)
    if prof is None:
        return None
    mine = facts[facts["customer_id"] == customer_id]
    totals = {k: (float(mine[k].iloc[0]) if len(mine) else 0.0) for k in _TOTAL_KEYS}
    r, n = acc.rank(facts, customer_id, "revenue")
    buyers = facts[facts["orders"] > 0]
    tiers = pareto.abc_tiers(buyers, "revenue", tier_cutoffs) if len(buyers) else None
    tier = None
    if tiers is not None:
        hit = tiers.loc[tiers["customer_id"] == customer_id, "tier"]
        tier = str(hit.iloc[0]) if len(hit) else None
        tier = "C" if tier == pareto.LOSS_TIER else tier  # as the sidebar filter: C by revenue
    causes = None
    if len(mine) and totals["account_profit"] < 0:
        causes = losses.causes(facts, [customer_id]).iloc[0].to_dict()
    roots = None
    if prof["parent_id"]:
        from kamdash.analytics.ka_types import group_roots

        roots = group_roots(links)
    root_id = roots.get(customer_id) if roots is not None else None
    scope = None if scope is None else frozenset(map(str, scope))
    children, children_outside = within(acc.chain(links, customer_id, "parent_id"), scope)
    referrals, referrals_outside = within(acc.chain(links, customer_id, "referred_by"), scope)
    children = _named(acc.with_value(children, facts), links)
    referrals = _named(acc.with_value(referrals, facts), links)
    segment, ka_types, peer_basis, members = None, None, "customer_type", None
    if assignment is not None and len(assignment):
        a = assignment[assignment["customer_id"] == customer_id]
        ka_types = tuple(t for t in (a["ka_types"].iloc[0] or "").split(",") if t) if len(a) else ()
        if len(a) and pd.notna(a["segment"].iloc[0]):
            seg = int(a["segment"].iloc[0])
            segment = f"{seg} · {a['segment_name'].iloc[0] or ''}".rstrip(" ·")
            peer_basis = "segment"
            members = assignment.loc[assignment["segment"] == seg, "customer_id"]
    if members is None:  # no segment stored: peers are the accounts of the same customer type
        members = facts.loc[facts["customer_type"] == prof["customer_type"], "customer_id"]
    return AccountView(
        customer_id=customer_id, profile=prof, period=(start, end), totals=totals, rank=r, ranked=n,
        tier=tier, monthly=engine.account_months(customer_id),
        mix=engine.account_product_mix(customer_id, start, end),
        costs=engine.account_costs(customer_id, start, end),
        parent=_name_row(links, prof["parent_id"], scope),
        group_root=(_name_row(links, root_id, scope) if root_id not in (None, customer_id, prof["parent_id"])
                    else None),
        children=children, referrals=referrals, referred_by=_name_row(links, prof["referred_by"], scope),
        segment=segment, ka_types=ka_types, peer_basis=peer_basis,
        peers=acc.peers(facts, members, customer_id), value=value, causes=causes,
        children_outside=children_outside, referrals_outside=referrals_outside)


def account_value(engine, fit: dict, customer_id: str, as_of: date) -> dict | None:
    """P(alive), expected purchases and CLV (with its interval) of one account from a stored
    fit, with the Retention page's default value settings, and clv_signed: the lifetime value
    before it is counted as 0 in customer equity (negative when the account is expected to
    cost more than it brings); None when it never bought."""
    from kamdash import retention  # the value models (scipy): only where a value is shown

    v = retention.account_values(engine, fit, as_of, Filters(customer_ids=(customer_id,)),
                                 retention.ValueSettings())
    if v.empty:
        return None
    r = v.iloc[0]
    return {k: float(r[k]) for k in ("p_alive", "expected_purchases", "clv", "clv_lo", "clv_hi", "clv_signed")}


def stored_fit(user_db, facts: dict) -> tuple[dict | None, retention.FitSettings | None]:
    """The stored fit with the Retention page's default settings (BG/NBD, then Pareto/NBD), or
    (None, None) when none was fitted yet for this data."""
    from kamdash import retention

    end = retention.calibration_end(facts["as_of"], retention.HOLDOUT_MONTHS_DEFAULT)
    for model in ("bgnbd", "pnbd"):
        fs = retention.FitSettings(model, retention.TIME_UNIT_DEFAULT, end)
        fit = retention.load_fit(user_db, fs, facts["data_version"])
        if fit is not None:
            return fit, fs
    return None, None


# ---------------------------------------------------------------- plans vs actual


def progress(engine, body: dict, customer_id: str, as_of: date, first_saved: date) -> pd.DataFrame:
    """acc.plan_progress of one plan against the account's order lines."""
    starts = [date.fromisoformat(g["start"]) for g in body.get("goals", []) if g.get("start")]
    since = min([first_saved, *starts])
    lines = engine.plan_lines([customer_id], since)
    return acc.plan_progress(body, lines, as_of, first_saved, engine.plan_costs([customer_id], since))


def portfolio(engine, latest_plans, first_saved: dict, as_of: date, links: pd.DataFrame,
              assignment: pd.DataFrame | None) -> pd.DataFrame:
    """One row per plan: customer_id, name, name_zh, account_manager, ka_types, version,
    author, saved_at, goals, status (acc.plan_status), and counts of goals per status.
    ``latest_plans``: plans.all_latest; ``first_saved``: customer_id -> date of version 1."""
    cols = ["customer_id", "name", "name_zh", "account_manager", "ka_types", "version", "author",
            "saved_at", "goals", "status", *[f"n_{s}" for s in acc.STATUSES]]
    if not latest_plans:
        return pd.DataFrame(columns=cols)
    ids = [p.customer_id for p in latest_plans]
    starts = [first_saved[p.customer_id] for p in latest_plans]
    for p in latest_plans:
        starts += [date.fromisoformat(g["start"]) for g in p.body.get("goals", []) if g.get("start")]
    lines = engine.plan_lines(ids, min(starts))
    costs = engine.plan_costs(ids, min(starts))
    mgr = dict(zip(ids, (None if pd.isna(m) else m for m in engine.attributes_of(ids)["account_manager"])))
    names = links.set_index("customer_id")
    ka = {} if assignment is None or not len(assignment) else dict(
        zip(assignment["customer_id"], assignment["ka_types"].fillna("")))
    rows = []
    for p in latest_plans:
        prog = acc.plan_progress(p.body, lines[lines["customer_id"] == p.customer_id], as_of,
                                 first_saved[p.customer_id], costs[costs["customer_id"] == p.customer_id])
        counts = prog["status"].value_counts()
        rows.append({"customer_id": p.customer_id,
                     "name": names["name"].get(p.customer_id, p.customer_id),
                     "name_zh": names["name_zh"].get(p.customer_id),
                     "account_manager": mgr.get(p.customer_id), "ka_types": ka.get(p.customer_id),
                     "version": p.version, "author": p.author, "saved_at": p.saved_at,
                     "goals": len(prog), "status": acc.plan_status(prog),
                     **{f"n_{s}": int(counts.get(s, 0)) for s in acc.STATUSES}})
    return pd.DataFrame(rows, columns=cols)


def filter_portfolio(table: pd.DataFrame, owners=(), ka_types=(), statuses=()) -> pd.DataFrame:
    """Plans whose account manager is in ``owners``, that hold any of ``ka_types`` and whose
    status is in ``statuses`` (an empty choice keeps all)."""
    keep = pd.Series(True, index=table.index)
    if owners:
        keep &= table["account_manager"].isin(list(owners))
    if ka_types:
        keep &= [bool(set((v or "").split(",")) & set(ka_types)) for v in table["ka_types"]]
    if statuses:
        keep &= table["status"].isin(list(statuses))
    return table[keep].reset_index(drop=True)
