"""One account seen against the portfolio: its group and referral chains, its rank, its peers,
and how its plan's goals track against what it actually buys. Pure functions, no I/O.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

MAX_DEPTH = 20  # chains deeper than this are cut (and cycles in bad data end there)
AT_RISK_SHARE = 0.9  # revenue goal: projected >= 90% of the target is "at risk", below "off track"
AT_RISK_MARGIN_POINTS = 0.02  # margin goal: within 2 points under the target is "at risk"
STATUSES = ("achieved", "on_track", "at_risk", "off_track", "not_started")
PEER_METRICS = ("revenue", "gross_profit", "account_profit", "account_margin", "orders")
MARGIN_METRICS = ("gross_margin", "account_margin")
# Goals saved before margins were named say "margin": they were always computed as gross margin
# ((revenue − cost of goods) ÷ revenue), so they are read as gross-margin goals.
RENAMED_METRICS = {"margin": "gross_margin"}


def chain(links: pd.DataFrame, root: str, column: str, max_depth: int = MAX_DEPTH) -> pd.DataFrame:
    """Every customer reached from ``root`` going down ``column`` (``parent_id``: children,
    their children...; ``referred_by``: customers it referred, the ones those referred...).

    ``links``: customer_id and ``column``. Out: customer_id, depth (1 = direct), via (the
    customer one level up), in breadth-first order (depth, then customer_id). The root itself and
    cycles are never listed twice.
    """
    up = links[["customer_id", column]].dropna()
    children = up.groupby(column)["customer_id"].apply(sorted).to_dict()
    seen, rows, level = {root}, [], [root]
    for depth in range(1, max_depth + 1):
        nxt = []
        for parent in level:
            for child in children.get(parent, []):
                if child not in seen:
                    seen.add(child)
                    rows.append((child, depth, parent))
                    nxt.append(child)
        if not nxt:
            break
        level = sorted(nxt)
    out = pd.DataFrame(rows, columns=["customer_id", "depth", "via"])
    return out.sort_values(["depth", "customer_id"], kind="stable").reset_index(drop=True)


def with_value(members: pd.DataFrame, facts: pd.DataFrame) -> pd.DataFrame:
    """``members`` plus revenue, gross_profit and account_profit of the period from ``facts``
    (customer_facts); 0 for customers without activity (``active`` False)."""
    value = facts.set_index("customer_id")[["revenue", "gross_profit", "account_profit"]]
    out = members.join(value, on="customer_id")
    out["active"] = out["revenue"].notna()
    out[["revenue", "gross_profit", "account_profit"]] = out[
        ["revenue", "gross_profit", "account_profit"]].fillna(0.0)
    return out


def chain_totals(members: pd.DataFrame) -> dict:
    """Totals of a valued chain: customers, direct (depth 1), active, revenue, account_profit."""
    return {"customers": int(len(members)), "direct": int((members["depth"] == 1).sum()),
            "active": int(members["active"].sum()) if len(members) else 0,
            "revenue": float(members["revenue"].sum()),
            "account_profit": float(members["account_profit"].sum())}


def rank(facts: pd.DataFrame, customer_id: str, by: str = "revenue") -> tuple[int | None, int]:
    """(rank, customers) of ``customer_id`` by ``by`` descending, ties by customer_id; rank is
    None when the account is not in ``facts`` (no activity in the period)."""
    order = facts.sort_values([by, "customer_id"], ascending=[False, True], kind="stable")
    ids = order["customer_id"].tolist()
    return (ids.index(customer_id) + 1 if customer_id in ids else None), len(ids)


def peers(facts: pd.DataFrame, members, customer_id: str) -> pd.DataFrame:
    """The account against its peers (``members``: ids of the peer group, the account included).

    Out, one row per metric of PEER_METRICS: metric, account, peer_median, peer_mean, rank (of
    the account among the peers with activity, descending), peers (with activity).
    ``account_margin`` is account profit / revenue per customer (customers without positive
    revenue left out).
    """
    f = facts[facts["customer_id"].isin(list(members))].copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        f["account_margin"] = np.where(f["revenue"] > 0, f["account_profit"] / f["revenue"], np.nan)
    rows = []
    for m in PEER_METRICS:
        s = f[["customer_id", m]].dropna()
        mine = s.loc[s["customer_id"] == customer_id, m]
        r = rank(s, customer_id, m)[0] if len(mine) else None
        rows.append({"metric": m, "account": float(mine.iloc[0]) if len(mine) else np.nan,
                     "peer_median": float(s[m].median()) if len(s) else np.nan,
                     "peer_mean": float(s[m].mean()) if len(s) else np.nan,
                     "rank": r, "peers": int(len(s))})
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- plan vs actual


def cost_to_serve_in(costs: pd.DataFrame | None, start: date, end: date) -> float:
    """The cost-to-serve of the days ``start``..``end`` (both included): each month's amount
    (``costs``: month (its first day), amount) spread evenly over the month's days, counted for
    the days that fall in the window."""
    if costs is None or not len(costs):
        return 0.0
    month = pd.to_datetime(costs["month"]).dt.to_period("M")
    first = month.dt.start_time
    last = month.dt.end_time.dt.normalize()
    lo = np.maximum(first.to_numpy(), np.datetime64(pd.Timestamp(start)))
    hi = np.minimum(last.to_numpy(), np.datetime64(pd.Timestamp(end)))
    days_in = np.clip((hi - lo) / np.timedelta64(1, "D") + 1, 0, None)
    share = days_in / month.dt.days_in_month.to_numpy()
    return float((costs["amount"].to_numpy(dtype=float) * share).sum())


def goal_progress(goal: dict, lines: pd.DataFrame, as_of: date, plan_start: date,
                  costs: pd.DataFrame | None = None) -> dict:
    """How one goal tracks against the account's actual purchases.

    ``goal``: metric (revenue | gross_margin | account_margin | adoption), target, category,
    start, due (ISO dates; start defaults to ``plan_start``, the day the plan was first saved).
    ``lines``: the account's order lines with order_date, revenue, cost, category. ``costs``:
    the account's cost-to-serve (month, amount; only account-margin goals need it).
    ``as_of``: the data's last order date.

    The window is start..due (both included); actuals count lines from start to min(due, as_of).
    - revenue: actual = revenue in the window so far; projected end value = actual × window
      days ÷ elapsed days (linear run-rate); expected_now = target × elapsed ÷ window days;
      gap = actual − expected_now. on_track when projected ≥ target, at_risk when ≥ 90 %.
    - gross_margin = (revenue − cost of goods) ÷ revenue and account_margin = (revenue − cost
      of goods − cost-to-serve) ÷ revenue, target a fraction: actual = the margin in the window
      so far (cost-to-serve: ``cost_to_serve_in`` the window); projected = actual (run-rate of a
      ratio is the ratio); gap = actual − target; at_risk within 2 points under the target.
    - adoption (a product category bought): actual = revenue of that category in the window;
      achieved once positive; before the due date at_risk, after it off_track.
    A goal whose window has not started by ``as_of`` is not_started; once due passed, revenue
    and margin goals are achieved or off_track on the final value. A goal saved under the old
    metric name "margin" is a gross-margin goal (RENAMED_METRICS).
    Out: metric, target, category, start, due, actual, expected_now, projected, gap, elapsed
    (share of the window passed), status.
    """
    metric, target = goal["metric"], goal.get("target")
    metric = RENAMED_METRICS.get(metric, metric)
    start = date.fromisoformat(goal["start"]) if goal.get("start") else plan_start
    due = date.fromisoformat(goal["due"])
    out = {"metric": metric, "target": target, "category": goal.get("category"), "start": start,
           "due": due, "actual": np.nan, "expected_now": np.nan, "projected": np.nan, "gap": np.nan,
           "elapsed": 0.0, "status": "not_started"}
    total_days = (due - start).days + 1
    if total_days <= 0 or as_of < start:
        return out
    end = min(due, as_of)
    elapsed_days = (end - start).days + 1
    out["elapsed"] = elapsed_days / total_days
    d = pd.to_datetime(lines["order_date"]).dt.date if len(lines) else pd.Series([], dtype=object)
    win = lines[(d >= start) & (d <= end)] if len(lines) else lines
    finished = as_of >= due
    if metric == "revenue":
        actual = float(win["revenue"].sum())
        out["actual"] = actual
        out["projected"] = actual * total_days / elapsed_days
        if target is not None:
            out["expected_now"] = target * out["elapsed"]
            out["gap"] = actual - out["expected_now"]
            p = out["projected"]
            out["status"] = ("achieved" if actual >= target else "off_track") if finished else (
                "on_track" if p >= target else "at_risk" if p >= AT_RISK_SHARE * target else "off_track")
    elif metric in MARGIN_METRICS:
        rev = float(win["revenue"].sum())
        profit = rev - float(win["cost"].fillna(0).sum())
        if metric == "account_margin":
            profit -= cost_to_serve_in(costs, start, end)
        actual = profit / rev if rev > 0 else np.nan
        out["actual"] = out["projected"] = actual
        if target is not None and actual == actual:
            out["expected_now"] = target
            out["gap"] = actual - target
            if finished:
                out["status"] = "achieved" if actual >= target else "off_track"
            else:
                out["status"] = ("on_track" if actual >= target else
                                 "at_risk" if actual >= target - AT_RISK_MARGIN_POINTS else "off_track")
        elif target is not None:
            out["status"] = "off_track" if finished else "at_risk"  # nothing bought yet
    elif metric == "adoption":
        cat = win[win["category"] == goal.get("category")] if len(win) else win
        actual = float(cat["revenue"].sum()) if len(cat) else 0.0
        out["actual"] = actual
        bought = len(cat) > 0 and actual > 0
        out["projected"] = actual * total_days / elapsed_days
        out["status"] = "achieved" if bought else ("off_track" if finished else "at_risk")
    return out


def plan_progress(body: dict, lines: pd.DataFrame, as_of: date, plan_start: date,
                  costs: pd.DataFrame | None = None) -> pd.DataFrame:
    """goal_progress for every goal of a plan body (one row per goal, in the plan's order)."""
    cols = ["metric", "target", "category", "start", "due", "actual", "expected_now", "projected",
            "gap", "elapsed", "status"]
    rows = [goal_progress(g, lines, as_of, plan_start, costs) for g in body.get("goals", [])]
    return pd.DataFrame(rows, columns=cols)


def plan_status(progress: pd.DataFrame) -> str:
    """One status for a plan: the worst of its goals (off_track > at_risk > on_track/achieved);
    not_started when no goal has started; no_goals when it has none."""
    if progress.empty:
        return "no_goals"
    s = set(progress["status"])
    for worst in ("off_track", "at_risk"):
        if worst in s:
            return worst
    if s <= {"not_started"}:
        return "not_started"
    return "on_track"
