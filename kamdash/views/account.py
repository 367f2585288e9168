"""Data of the Account 360 page and the account plans: one account's profile, history, product
mix, cost-to-serve, rank, group and referral chains, peers, value (P(alive), CLV), and its plan
tracked against actual purchases; plus the one-pager slides for an account review.

Queries here read one account (or the accounts with a plan) with Ibis expressions; customer ids
enter only as literals. Period values (rank, peers, chains, mix, cost-to-serve) use the period
of the filters and all customers (the dimension filters choose lists elsewhere, not an
account's peers); the timeline shows every month of the account's history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd

from kamdash import queries
from kamdash.analytics import account as acc
from kamdash.analytics import losses, pareto

if TYPE_CHECKING:  # imported where used: the value models load scipy, which lists do not need
    from kamdash import retention

PROFILE_COLUMNS = ("customer_id", "name", "name_zh", "customer_type", "sector", "region", "city",
                   "parent_id", "account_manager", "acquired_on", "referred_by")


# ---------------------------------------------------------------- queries (one account)


def profile(backend, customer_id: str) -> dict | None:
    """The account's row of ``customers`` as a dict, or None when it does not exist."""
    cu = backend.table("customers")
    df = queries.to_frame(cu.filter(cu.customer_id == customer_id).select(*PROFILE_COLUMNS))
    if df.empty:
        return None
    row = df.iloc[0].to_dict()
    return {k: (None if (v is None or (isinstance(v, float) and v != v) or v is pd.NaT) else v)
            for k, v in row.items()}


def monthly(backend, customer_id: str) -> pd.DataFrame:
    """Every month of the account's history: month, revenue, gross_profit, cost_to_serve,
    account_profit, orders."""
    cm = backend.table("customer_month")
    cm = cm.filter(cm.customer_id == customer_id)
    return queries.to_frame(cm.select("month", "revenue", "gross_profit", "cost_to_serve",
                                      "account_profit", "orders").order_by("month"))


def _period(t, col: str, start: date | None, end: date | None):
    preds = []
    if start:
        preds.append(t[col] >= start)
    if end:
        preds.append(t[col] < queries.add_months(end, 1))
    return t.filter(*preds) if preds else t


def product_mix(backend, customer_id: str, start: date | None, end: date | None) -> pd.DataFrame:
    """Revenue and gross profit by product category in the period: category, revenue,
    gross_profit, share (of the account's revenue), sorted by revenue. Lines without a known
    product have category None."""
    ol = backend.table("order_lines")
    ol = _period(ol.filter(ol.customer_id == customer_id), "order_date", start, end)
    pr = backend.table("products").select("product_id", "category")
    j = ol.left_join(pr, "product_id")
    g = j.group_by("category").aggregate(revenue=j.revenue.sum(),
                                         gross_profit=(j.revenue - j.cost.fill_null(0)).sum())
    df = queries.to_frame(g)
    total = df["revenue"].sum()
    df["share"] = df["revenue"] / total if total else float("nan")
    return df.sort_values(["revenue", "category"], ascending=[False, True]).reset_index(drop=True)


def cost_breakdown(backend, customer_id: str, start: date | None, end: date | None) -> pd.DataFrame:
    """Cost-to-serve by type in the period: cost_type, amount, sorted by amount."""
    c = backend.table("cost_to_serve")
    c = _period(c.filter(c.customer_id == customer_id), "month", start, end)
    df = queries.to_frame(c.group_by("cost_type").aggregate(amount=c.amount.sum()))
    return df.sort_values(["amount", "cost_type"], ascending=[False, True]).reset_index(drop=True)


def plan_lines(backend, customer_ids, since: date | None = None) -> pd.DataFrame:
    """Order lines of the accounts (from ``since``) with their product category: customer_id,
    order_date, revenue, cost, category (the actuals a plan is tracked against)."""
    ol = backend.table("order_lines")
    ol = ol.filter(ol.customer_id.isin(list(customer_ids)))
    if since is not None:
        ol = ol.filter(ol.order_date >= since)
    pr = backend.table("products").select("product_id", "category")
    j = ol.left_join(pr, "product_id")
    return queries.to_frame(j.select("customer_id", "order_date", "revenue", "cost", "category"))


def plan_costs(backend, customer_ids, since: date | None = None) -> pd.DataFrame:
    """Cost-to-serve of the accounts by month (from the month of ``since``): customer_id,
    month, amount (what account-margin goals are tracked against)."""
    c = backend.table("cost_to_serve")
    c = c.filter(c.customer_id.isin(list(customer_ids)))
    if since is not None:
        c = c.filter(c.month >= queries.month_start(since))
    g = c.group_by(["customer_id", "month"]).aggregate(amount=c.amount.sum())
    return queries.to_frame(g.select("customer_id", "month", "amount"))


def categories(backend) -> list[str]:
    pr = backend.table("products")
    return sorted(queries.to_frame(pr.select("category").distinct())["category"].dropna())


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


def build(backend, customer_id: str, facts: pd.DataFrame, links: pd.DataFrame,
          start: date | None, end: date | None, assignment: pd.DataFrame | None = None,
          tier_cutoffs: tuple[float, float] = queries.TIER_CUTOFFS_DEFAULT,
          value: dict | None = None, scope=None) -> AccountView | None:
    """Everything the Account 360 page shows for ``customer_id`` (None: no such account).

    ``facts``: queries.customer_facts of the period for all customers (of the scope);
    ``links``: queries.customer_links; ``assignment``: store.get_assignment (empty: none
    stored); ``value``: account_value() result or None; ``scope``: the customer ids the user
    sees (None: every customer): the parent, group top, referrer and chain members outside it
    are not named (``OUTSIDE``, ``children_outside``, ``referrals_outside``)."""
    prof = profile(backend, customer_id)
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
        tier=tier, monthly=monthly(backend, customer_id),
        mix=product_mix(backend, customer_id, start, end),
        costs=cost_breakdown(backend, customer_id, start, end),
        parent=_name_row(links, prof["parent_id"], scope),
        group_root=(_name_row(links, root_id, scope) if root_id not in (None, customer_id, prof["parent_id"])
                    else None),
        children=children, referrals=referrals, referred_by=_name_row(links, prof["referred_by"], scope),
        segment=segment, ka_types=ka_types, peer_basis=peer_basis,
        peers=acc.peers(facts, members, customer_id), value=value, causes=causes,
        children_outside=children_outside, referrals_outside=referrals_outside)


def account_value(backend, fit: dict, customer_id: str, as_of: date) -> dict | None:
    """P(alive), expected purchases and CLV (with its interval) of one account from a stored
    fit, with the Retention page's default value settings, and clv_signed: the lifetime value
    before it is counted as 0 in customer equity (negative when the account is expected to
    cost more than it brings); None when it never bought."""
    from kamdash import retention  # the value models (scipy): only where a value is shown

    v = retention.account_values(backend, fit, as_of, queries.Filters(customer_ids=(customer_id,)),
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


def progress(backend, body: dict, customer_id: str, as_of: date, first_saved: date) -> pd.DataFrame:
    """acc.plan_progress of one plan against the account's order lines."""
    starts = [date.fromisoformat(g["start"]) for g in body.get("goals", []) if g.get("start")]
    since = min([first_saved, *starts])
    lines = plan_lines(backend, [customer_id], since)
    return acc.plan_progress(body, lines, as_of, first_saved, plan_costs(backend, [customer_id], since))


def portfolio(backend, latest_plans, first_saved: dict, as_of: date, links: pd.DataFrame,
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
    lines = plan_lines(backend, ids, min(starts))
    costs = plan_costs(backend, ids, min(starts))
    cu = backend.table("customers")
    mgr = queries.to_frame(cu.filter(cu.customer_id.isin(ids)).select("customer_id", "account_manager"))
    mgr = dict(zip(mgr["customer_id"], mgr["account_manager"]))
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



# ---------------------------------------------------------------- display tables (page and one-pager)
# ``ctx`` is anything with lang, currency, t(key, **fields), money(x), label(column, value)
# (the shell's Context), so the page and the exported one-pager show the same text.

STATUS_COLORS = {"achieved": "#1a7f37", "on_track": "#1a7f37", "at_risk": "#b45309",
                 "off_track": "#c0392b", "not_started": "#6b7280", "no_goals": "#6b7280"}


def link_name(ctx, row: dict) -> str:
    """The name of a linked account (parent, group top, referrer), or "an account outside your
    scope" for one the user may not see."""
    if row.get("outside"):
        return ctx.t("team.outside_one")
    return display_name(ctx, row["name"], row["name_zh"], row["customer_id"])


def outside_note(ctx, v: "AccountView", kind: str) -> str | None:
    """"n more accounts outside your scope" under a chain that left some out (None: none)."""
    n = v.children_outside if kind == "group" else v.referrals_outside
    return ctx.t("team.outside_n", n=n) if n else None


def display_name(ctx, name, name_zh, fallback="") -> str:
    if ctx.lang == "zh" and isinstance(name_zh, str) and name_zh:
        return name_zh
    return name if isinstance(name, str) and name else str(fallback)


def status_text(ctx, status: str) -> str:
    return ctx.t(f"acct.status.{status}")


def status_color(ctx, text: str) -> str:
    """CSS colour of a status text shown by status_text (for table styling)."""
    for status, color in STATUS_COLORS.items():
        if text == status_text(ctx, status):
            return f"color: {color}; font-weight: 600"
    return ""


def profile_items(ctx, v: AccountView) -> list[tuple[str, str]]:
    """(label, text) pairs of the account's profile, "not available yet" where it is not."""
    from kamdash import i18n

    p = v.profile
    missing = ctx.t("acct.not_available")
    ka = (missing if v.ka_types is None else
          ctx.t("acct.ka_none") if not v.ka_types else
          ctx.t("seg.name.sep").join(ctx.t(f"ka.type.{k}") for k in v.ka_types))
    parent = link_name(ctx, v.parent) if v.parent else ctx.t("acct.none")
    if v.group_root:
        parent += " · " + ctx.t("acct.group_top", name=link_name(ctx, v.group_root))
    ref = link_name(ctx, v.referred_by) if v.referred_by else ctx.t("acct.none")
    acquired = i18n.fmt_date(pd.Timestamp(p["acquired_on"]).date(), ctx.lang) if p.get("acquired_on") else ctx.t("values.missing")
    return [
        (ctx.t("col.customer_id"), str(p["customer_id"])),
        (ctx.t("col.customer_type"), ctx.label("customer_type", p["customer_type"])),
        (ctx.t("filters.sector"), ctx.label("sector", p["sector"])),
        (ctx.t("col.region"), f"{ctx.label('region', p['region'])} · {ctx.label('city', p['city'])}"),
        (ctx.t("acct.owner"), ctx.label("account_manager", p["account_manager"])),
        (ctx.t("acct.parent"), parent),
        (ctx.t("acct.referred_by"), ref),
        (ctx.t("acct.acquired"), acquired),
        (ctx.t("filters.ka_type"), ka),
        (ctx.t("filters.segment"), segment_text(ctx, v) or missing),
        (ctx.t("acct.tier"), ctx.t("acct.tier_value", tier=v.tier) if v.tier else ctx.t("acct.tier_none")),
    ]


def chain_table(ctx, members: pd.DataFrame) -> pd.DataFrame:
    """Display rows of a valued chain (children or referrals): id, account, level, via, money."""
    return pd.DataFrame({
        ctx.t("col.customer_id"): members["customer_id"].astype(str),
        ctx.t("col.customer"): [display_name(ctx, n, z, c) for n, z, c in
                                zip(members["name"], members["name_zh"], members["customer_id"])],
        ctx.t("acct.col.depth"): members["depth"].astype(int),
        ctx.t("acct.col.via"): members["via"].astype(str),
        ctx.t("col.revenue"): [ctx.money(x) for x in members["revenue"]],
        ctx.t("col.account_profit"): [ctx.money(x) for x in members["account_profit"]],
    })


def peers_table(ctx, peers: pd.DataFrame) -> pd.DataFrame:
    from kamdash import i18n

    def fmt(metric, x):
        if x != x:
            return ctx.t("values.missing")
        if metric == "account_margin":
            return i18n.fmt_pct(x, ctx.lang)
        if metric == "orders":
            return i18n.fmt_number(round(x, 1), ctx.lang)
        return ctx.money(x)

    return pd.DataFrame({
        ctx.t("acct.col.metric"): [ctx.t(f"acct.metric.{m}") for m in peers["metric"]],
        ctx.t("acct.col.this"): [fmt(m, x) for m, x in zip(peers["metric"], peers["account"])],
        ctx.t("acct.col.peer_median"): [fmt(m, x) for m, x in zip(peers["metric"], peers["peer_median"])],
        ctx.t("acct.col.peer_rank"): [ctx.t("acct.rank_of", rank=int(r), n=int(n)) if r == r and r is not None
                                      else ctx.t("values.missing") for r, n in zip(peers["rank"], peers["peers"])],
    })


def _target_text(ctx, metric: str, x, category=None) -> str:
    from kamdash import i18n

    if metric == "adoption":
        return ctx.t("acct.goal.adopt", category=ctx.label("category", category) if category
                     else ctx.t("values.missing"))
    if x is None or x != x:
        return ctx.t("values.missing")
    return i18n.fmt_pct(x, ctx.lang) if metric in acc.MARGIN_METRICS else ctx.money(x)


def progress_table(ctx, progress: pd.DataFrame) -> pd.DataFrame:
    """Goals against actuals: goal, target, window, actual, expected by now, projected, gap (with
    ▲/▼), status."""
    from kamdash import i18n

    rows = []
    for g in progress.itertuples():
        fmt = lambda x, m=g.metric: _target_text(ctx, m if m != "adoption" else "revenue", x)  # noqa: E731
        if g.gap != g.gap:
            gap = ctx.t("values.missing")
        elif g.metric in acc.MARGIN_METRICS:
            gap = ("▲ " if g.gap >= 0 else "▼ ") + ctx.t("kpi.delta_points", value=i18n.fmt_points(g.gap, ctx.lang))
        else:
            gap = ("▲ +" if g.gap >= 0 else "▼ −") + ctx.money(abs(g.gap))
        rows.append({
            ctx.t("acct.col.goal"): ctx.t(f"acct.metric.{g.metric}"),
            ctx.t("acct.col.target"): _target_text(ctx, g.metric, g.target, g.category),
            ctx.t("acct.col.window"): f"{i18n.fmt_date(g.start, ctx.lang)} – {i18n.fmt_date(g.due, ctx.lang)}",
            ctx.t("acct.col.actual"): fmt(g.actual),
            ctx.t("acct.col.expected"): fmt(g.expected_now) if g.metric != "adoption" else "",
            ctx.t("acct.col.projected"): fmt(g.projected),
            ctx.t("acct.col.gap"): gap if g.metric != "adoption" else "",
            ctx.t("acct.col.status"): status_text(ctx, g.status),
        })
    return pd.DataFrame(rows)


def actions_table(ctx, body: dict) -> pd.DataFrame:
    from kamdash import i18n

    return pd.DataFrame({
        ctx.t("acct.col.action"): [a["action"] for a in body.get("actions", [])],
        ctx.t("acct.col.owner"): [a["owner"] for a in body.get("actions", [])],
        ctx.t("acct.col.due"): [i18n.fmt_date(date.fromisoformat(a["due"]), ctx.lang) if a.get("due") else ""
                                for a in body.get("actions", [])],
        ctx.t("acct.col.action_status"): [ctx.t(f"acct.action.{a['status']}") for a in body.get("actions", [])],
    })


def timeline_figure(ctx, v: AccountView):
    from kamdash import charts

    labels = {k: ctx.t(f"series.{k}") for k in ("revenue", "gross_profit", "account_profit")}
    labels.update(title=ctx.t("acct.timeline"), x=ctx.t("axis.month"),
                  y=ctx.t("axis.amount", currency=ctx.currency))
    return charts.trend_chart(v.monthly, labels, ctx.lang, ctx.currency)


def mix_figure(ctx, v: AccountView):
    from kamdash.charts import account as charts

    mix = v.mix.assign(label=[ctx.label("category", c) for c in v.mix["category"]])
    return charts.share_bars(mix, "label", "revenue", {"title": ctx.t("acct.mix"),
                             "x": ctx.t("axis.amount", currency=ctx.currency)}, ctx.lang, ctx.currency)


def cost_figure(ctx, v: AccountView):
    from kamdash.charts import PALETTE
    from kamdash.charts import account as charts

    costs = v.costs.assign(label=[ctx.t(f"acct.cost.{c}") if c in ("sales_visits", "support", "logistics", "rebates")
                                  else str(c) for c in v.costs["cost_type"]])
    return charts.share_bars(costs, "label", "amount", {"title": ctx.t("acct.costs"),
                             "x": ctx.t("axis.amount", currency=ctx.currency)}, ctx.lang, ctx.currency,
                             color=PALETTE["account_profit"])


def kpi_items(ctx, v: AccountView) -> list[tuple[str, str]]:
    """(label, value) of the account's headline numbers (period values, rank, P(alive), CLV)."""
    from kamdash import i18n

    items = [(ctx.t(f"kpi.{k}"), ctx.money(v.totals[k])) for k in ("revenue", "gross_profit", "account_profit")]
    # the count goes in the label: "#15 of 4,276" did not fit a card in Chinese
    items.append((ctx.t("acct.rank_in", n=i18n.fmt_number(v.ranked, ctx.lang)),
                  ctx.t("acct.rank_value", rank=i18n.fmt_number(v.rank, ctx.lang)) if v.rank else ctx.t("acct.no_sales")))
    if v.value is None:
        # short enough for a card; the page says below what is missing and why
        items += [(ctx.t("ret.col.p_alive"), ctx.t("acct.not_fitted")),
                  (ctx.t("ret.col.clv"), ctx.t("acct.not_fitted"))]
    else:
        items += [(ctx.t("ret.col.p_alive"), i18n.fmt_pct(v.value["p_alive"], ctx.lang, digits=0)),
                  (ctx.t("ret.col.clv"), ctx.money(clv_shown(v.value)))]
    return items


def clv_shown(value: dict) -> float:
    """The lifetime value an account page shows: negative when the account is expected to cost
    more than it brings (customer equity counts it as 0)."""
    return value.get("clv_signed", value["clv"])


def cause_items(ctx, causes: dict) -> list[tuple[str, float]]:
    """(label, money) steps from profit at the peers' rates to the account profit: the peer
    profit, then minus each cause (losses.CAUSES), ending at the account profit."""
    steps = [(ctx.t("acct.loss.start"), causes["peer_profit"])]
    steps += [(ctx.t(f"conc.reason.{c}"), -causes[f"cause_{c}"]) for c in losses.CAUSES]
    return steps


def peer_group_text(ctx, causes: dict) -> str:
    group = causes["peer_group"]
    if group == losses.PORTFOLIO:
        from kamdash import i18n

        return ctx.t("acct.loss.peers.portfolio", n=i18n.fmt_number(causes["peers"], ctx.lang))
    from kamdash import i18n

    return ctx.t("acct.loss.peers.type", type=ctx.label("customer_type", group),
                 n=i18n.fmt_number(causes["peers"], ctx.lang))


def cause_sentence(ctx, causes: dict) -> str:
    """The loss decomposition in one sentence (the same figures as the chart): each cause as
    what it cost more (or less) than at the peers' rates."""
    total = sum(causes[f"cause_{c}"] for c in losses.CAUSES)
    items = [ctx.t("acct.loss.more" if causes[f"cause_{c}"] >= 0 else "acct.loss.less",
                   cause=ctx.t(f"acct.loss.cause.{c}"), amount=ctx.money(abs(causes[f"cause_{c}"])))
             for c in losses.CAUSES]
    joined = ctx.t("acct.loss.sep").join(items[:-1]) + ctx.t("acct.loss.last_sep") + items[-1]
    return ctx.t("acct.loss.sentence", sales=ctx.money(causes["list_sales"]), peers=peer_group_text(ctx, causes),
                 peer_profit=ctx.money(causes["peer_profit"]), items=joined,
                 total=ctx.money(total), profit=ctx.money(causes["account_profit"]),
                 main=ctx.t(f"conc.reason.{causes['main_cause']}"))


def cause_figure(ctx, v: AccountView):
    from kamdash.charts import account as charts

    labels = {"title": ctx.t("acct.loss.title"), "end": ctx.t("acct.loss.end"),
              "y": ctx.t("axis.amount", currency=ctx.currency)}
    return charts.loss_waterfall(cause_items(ctx, v.causes), v.causes["account_profit"], labels, ctx.lang,
                                 ctx.currency)


def one_pager_slides(ctx, v: AccountView, plan=None, progress: pd.DataFrame | None = None) -> list:
    """The account one-pager (kamdash.views.one_pager): one page, two with a plan or a group."""
    from kamdash.views import one_pager

    return one_pager.slides(ctx, v, plan, progress)


def _plan_status(progress) -> str:
    return acc.plan_status(progress if progress is not None else pd.DataFrame(columns=["status"]))


def chain_sentence(ctx, members: pd.DataFrame, kind: str) -> str:
    t = acc.chain_totals(members)
    if not t["customers"]:
        return ctx.t(f"acct.{kind}.none")
    return ctx.t(f"acct.{kind}.summary", n=t["customers"], direct=t["direct"], active=t["active"],
                 revenue=ctx.money(t["revenue"]), profit=ctx.money(t["account_profit"]))


def segment_text(ctx, v: AccountView) -> str | None:
    """The account's segment, with a note when the account itself loses money: a segment's name
    describes its customers on the whole, never a loss-making member ("High-value" is not said of
    an account with negative account profit without that note)."""
    if not v.segment:
        return None
    if v.totals.get("account_profit", 0) < 0:
        return ctx.t("acct.segment.loss_note", segment=v.segment)
    return v.segment
