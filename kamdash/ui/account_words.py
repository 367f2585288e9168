"""Words, tables and figures of an account in the user's language: the Account 360 page and the
account one-pager show the same text. No Streamlit here (the one-pager is also exported)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from kamdash.views import account as view

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


def outside_note(ctx, v: view.AccountView, kind: str) -> str | None:
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


def profile_items(ctx, v: view.AccountView) -> list[tuple[str, str]]:
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
    return i18n.fmt_pct(x, ctx.lang) if metric in view.MARGIN_METRICS else ctx.money(x)


def progress_table(ctx, progress: pd.DataFrame) -> pd.DataFrame:
    """Goals against actuals: goal, target, window, actual, expected by now, projected, gap (with
    ▲/▼), status."""
    from kamdash import i18n

    rows = []
    for g in progress.itertuples():
        fmt = lambda x, m=g.metric: _target_text(ctx, m if m != "adoption" else "revenue", x)  # noqa: E731
        if g.gap != g.gap:
            gap = ctx.t("values.missing")
        elif g.metric in view.MARGIN_METRICS:
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


def timeline_figure(ctx, v: view.AccountView):
    from kamdash import charts

    labels = {k: ctx.t(f"series.{k}") for k in ("revenue", "gross_profit", "account_profit")}
    labels.update(title=ctx.t("acct.timeline"), x=ctx.t("axis.month"),
                  y=ctx.t("axis.amount", currency=ctx.currency))
    return charts.trend_chart(v.monthly, labels, ctx.lang, ctx.currency)


def mix_figure(ctx, v: view.AccountView):
    from kamdash.charts import account as charts

    mix = v.mix.assign(label=[ctx.label("category", c) for c in v.mix["category"]])
    return charts.share_bars(mix, "label", "revenue", {"title": ctx.t("acct.mix"),
                             "x": ctx.t("axis.amount", currency=ctx.currency)}, ctx.lang, ctx.currency)


def cost_figure(ctx, v: view.AccountView):
    from kamdash.charts import PALETTE
    from kamdash.charts import account as charts

    costs = v.costs.assign(label=[ctx.t(f"acct.cost.{c}") if c in ("sales_visits", "support", "logistics", "rebates")
                                  else str(c) for c in v.costs["cost_type"]])
    return charts.share_bars(costs, "label", "amount", {"title": ctx.t("acct.costs"),
                             "x": ctx.t("axis.amount", currency=ctx.currency)}, ctx.lang, ctx.currency,
                             color=PALETTE["account_profit"])


def kpi_items(ctx, v: view.AccountView) -> list[tuple[str, str]]:
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
    profit, then minus each cause (view.CAUSES), ending at the account profit."""
    steps = [(ctx.t("acct.loss.start"), causes["peer_profit"])]
    steps += [(ctx.t(f"conc.reason.{c}"), -causes[f"cause_{c}"]) for c in view.CAUSES]
    return steps


def peer_group_text(ctx, causes: dict) -> str:
    group = causes["peer_group"]
    if group == view.PORTFOLIO:
        from kamdash import i18n

        return ctx.t("acct.loss.peers.portfolio", n=i18n.fmt_number(causes["peers"], ctx.lang))
    from kamdash import i18n

    return ctx.t("acct.loss.peers.type", type=ctx.label("customer_type", group),
                 n=i18n.fmt_number(causes["peers"], ctx.lang))


def cause_sentence(ctx, causes: dict) -> str:
    """The loss decomposition in one sentence (the same figures as the chart): each cause as
    what it cost more (or less) than at the peers' rates."""
    total = sum(causes[f"cause_{c}"] for c in view.CAUSES)
    items = [ctx.t("acct.loss.more" if causes[f"cause_{c}"] >= 0 else "acct.loss.less",
                   cause=ctx.t(f"acct.loss.cause.{c}"), amount=ctx.money(abs(causes[f"cause_{c}"])))
             for c in view.CAUSES]
    joined = ctx.t("acct.loss.sep").join(items[:-1]) + ctx.t("acct.loss.last_sep") + items[-1]
    return ctx.t("acct.loss.sentence", sales=ctx.money(causes["list_sales"]), peers=peer_group_text(ctx, causes),
                 peer_profit=ctx.money(causes["peer_profit"]), items=joined,
                 total=ctx.money(total), profit=ctx.money(causes["account_profit"]),
                 main=ctx.t(f"conc.reason.{causes['main_cause']}"))


def cause_figure(ctx, v: view.AccountView):
    from kamdash.charts import account as charts

    labels = {"title": ctx.t("acct.loss.title"), "end": ctx.t("acct.loss.end"),
              "y": ctx.t("axis.amount", currency=ctx.currency)}
    return charts.loss_waterfall(cause_items(ctx, v.causes), v.causes["account_profit"], labels, ctx.lang,
                                 ctx.currency)


def one_pager_slides(ctx, v: view.AccountView, plan=None, progress: pd.DataFrame | None = None,
                     health=None) -> list:
    """The account one-pager (kamdash.ui.one_pager): one page, two with a plan or a group;
    ``health``: views.my_accounts.account_health of the account (None: left out)."""
    from kamdash.ui import one_pager

    return one_pager.slides(ctx, v, plan, progress, health)


def _plan_status(progress) -> str:
    return view.plan_status(progress if progress is not None else pd.DataFrame(columns=["status"]))


def chain_sentence(ctx, members: pd.DataFrame, kind: str) -> str:
    t = view.chain_totals(members)
    if not t["customers"]:
        return ctx.t(f"acct.{kind}.none")
    return ctx.t(f"acct.{kind}.summary", n=t["customers"], direct=t["direct"], active=t["active"],
                 revenue=ctx.money(t["revenue"]), profit=ctx.money(t["account_profit"]))


def segment_text(ctx, v: view.AccountView) -> str | None:
    """The account's segment, with a note when the account itself loses money: a segment's name
    describes its customers on the whole, never a loss-making member ("High-value" is not said of
    an account with negative account profit without that note)."""
    if not v.segment:
        return None
    if v.totals.get("account_profit", 0) < 0:
        return ctx.t("acct.segment.loss_note", segment=v.segment)
    return v.segment
