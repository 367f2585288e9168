"""The account one-pager: one page (two when there is a plan or a group) for an account review,
in the context's language, as kamdash.deck slides.

Page 1: the trend chart of the account's history beside what a director needs to say about it:
value and trend (the period against the same months a year before), rank and tier, account
profit and why (gross profit less cost-to-serve; for a loss-maker the main cause against its
peers, views.account.CAUSES), P(still active) and lifetime value, the health score with why
and the largest whitespace gaps (as on the My accounts page), the group or referral network, and
the profile. Page 2: the plan's goals with progress, the top
open actions (overdue first), and the group's largest members.

A line is printed only when it says something: no "no customer names this account" lines, no
"not available" rows, no screen wording.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from kamdash import i18n
from kamdash.deck import Slide
from kamdash.ui import account_words as words
from kamdash.views import account as view
from kamdash.views.common import add_months

TOP_ACTIONS = 5
TOP_MEMBERS = 5
TEXT_SIZE = 12  # points of the lines beside the chart and above the tables


def trend(monthly: pd.DataFrame, start: date | None, end: date | None, col: str = "revenue") -> float | None:
    """Change of ``col`` over the period [start, end] (month starts) against the same months a
    year before, from the account's monthly history; None when the year before had no value
    (or the period is open)."""
    if start is None or end is None or monthly.empty:
        return None
    months = pd.to_datetime(monthly["month"]).dt.date
    now = monthly.loc[(months >= start) & (months <= end), col].sum()
    p0, p1 = add_months(start, -12), add_months(end, -12)
    before = monthly.loc[(months >= p0) & (months <= p1), col].sum()
    if before <= 0:
        return None
    return float(now / before - 1)


def value_line(ctx, v: view.AccountView) -> str | None:
    if v.value is None:
        return None
    x = v.value
    return ctx.t("op.value", p=i18n.fmt_pct(x["p_alive"], ctx.lang, digits=0), clv=ctx.money(words.clv_shown(x)),
                 lo=ctx.money(x["clv_lo"]), hi=ctx.money(x["clv_hi"]))


def profit_line(ctx, v: view.AccountView) -> str:
    t = v.totals
    gm = t["gross_profit"] / t["revenue"] if t["revenue"] else None
    line = ctx.t("op.profit", profit=ctx.money(t["account_profit"]), gross=ctx.money(t["gross_profit"]),
                 margin=i18n.fmt_pct(gm, ctx.lang, digits=0) if gm is not None else "–",
                 cts=ctx.money(t["cost_to_serve"]))
    c = v.causes  # the loss decomposition against the account's peers (views.account.CAUSES)
    if t["account_profit"] < 0 and c is not None and c.get("main_cause") in view.CAUSES:
        main = c["main_cause"]
        line += " " + ctx.t("op.loss_cause", reason=ctx.t(f"conc.reason.{main}").lower(),
                            amount=ctx.money(c[f"cause_{main}"]), peers=words.peer_group_text(ctx, c))
    return line


def headline(ctx, v: view.AccountView) -> str:
    ch = trend(v.monthly, *v.period)
    revenue = ctx.money(v.totals["revenue"])
    if v.rank is None:
        return ctx.t("op.headline.inactive")
    if ch is None:
        return ctx.t("op.headline", revenue=revenue, profit=ctx.money(v.totals["account_profit"]))
    return ctx.t("op.headline.trend", revenue=revenue, change=i18n.fmt_delta_pct(ch, ctx.lang, digits=0),
                 profit=ctx.money(v.totals["account_profit"]))


def network_lines(ctx, v: view.AccountView) -> list[str]:
    out = []
    if v.parent:
        root = v.group_root or v.parent
        out.append(ctx.t("op.in_group", name=words.link_name(ctx, root)))
    for kind, members in (("group", v.children), ("referrals", v.referrals)):
        if len(members):
            out.append(words.chain_sentence(ctx, members, kind))
        if note := words.outside_note(ctx, v, kind):
            out.append(note)
    return out


def profile_table(ctx, v: view.AccountView) -> pd.DataFrame:
    """The profile rows that hold something (no "none" / "not available" rows)."""
    p = v.profile
    rows = [(ctx.t("col.customer_id"), str(p["customer_id"])),
            (ctx.t("col.customer_type"), ctx.label("customer_type", p["customer_type"])),
            (ctx.t("filters.sector"), ctx.label("sector", p["sector"])),
            (ctx.t("col.region"), " · ".join(ctx.label(c, p[c]) for c in ("region", "city") if p.get(c))),
            (ctx.t("acct.owner"), ctx.label("account_manager", p["account_manager"]) if p.get("account_manager") else "")]
    if v.ka_types:
        rows.append((ctx.t("filters.ka_type"), ctx.t("seg.name.sep").join(ctx.t(f"ka.type.{k}") for k in v.ka_types)))
    if v.segment:
        rows.append((ctx.t("filters.segment"), words.segment_text(ctx, v)))
    if v.tier:
        rows.append((ctx.t("acct.tier"), ctx.t("acct.tier_value", tier=v.tier)))
    if p.get("acquired_on"):
        rows.append((ctx.t("acct.acquired"), i18n.fmt_date(pd.Timestamp(p["acquired_on"]).date(), ctx.lang)))
    missing = ctx.t("values.missing")
    rows = [(k, x) for k, x in rows if x and x != missing]
    return pd.DataFrame(rows, columns=[ctx.t("acct.col.field"), ctx.t("acct.col.value")])


def top_actions(body: dict, as_of: date, n: int = TOP_ACTIONS) -> list[dict]:
    """The open actions (not done), overdue first, then by due date (undated last); each with
    ``overdue`` (due before ``as_of``)."""
    out = []
    for a in body.get("actions", []):
        if a.get("status") == "done":
            continue
        due = date.fromisoformat(a["due"]) if a.get("due") else None
        out.append({**a, "due_date": due, "overdue": due is not None and due < as_of})
    out.sort(key=lambda a: (not a["overdue"], a["due_date"] or date.max, a["action"]))
    return out[:n]


def action_line(ctx, a: dict) -> str:
    due = i18n.fmt_date(a["due_date"], ctx.lang) if a["due_date"] else None
    key = "op.action.overdue" if a["overdue"] else ("op.action.due" if due else "op.action.undated")
    return ctx.t(key, action=a["action"], owner=a["owner"] or "–", due=due or "",
                 status=ctx.t(f"acct.action.{a['status']}"))


def member_lines(ctx, members: pd.DataFrame, n: int = TOP_MEMBERS) -> list[str]:
    active = members[(members["revenue"] != 0) | (members["account_profit"] != 0)]
    top = active.sort_values(["revenue", "customer_id"], ascending=[False, True]).head(n)
    return [ctx.t("op.member", name=words.display_name(ctx, r.name, r.name_zh, r.customer_id),
                  revenue=ctx.money(r.revenue), profit=ctx.money(r.account_profit))
            for r in top.itertuples()]


def health_lines(ctx, health) -> list[str]:
    """The account's health score with why, and its largest whitespace gaps, as on the My
    accounts page (``health``: views.my_accounts.AccountHealth)."""
    from kamdash.ui import my_accounts

    row = health.row
    out = []
    if pd.notna(row["score"]):
        out.append(ctx.t("op.health", score=i18n.fmt_number(float(row["score"]), ctx.lang, digits=0),
                         month=ctx.t_month(health.now), why=my_accounts.why_text(ctx, row, health.typical_rhythm)))
    g = health.gaps
    if len(g):
        items = ctx.t("my.sep").join(ctx.t("op.whitespace.item", category=ctx.label("category", c), value=ctx.money(x),
                                           status=ctx.t(f"my.ws.{s}"))
                                     for c, s, x in zip(g["category"], g["status"], g["value"]))
        out.append(ctx.t("op.whitespace", items=items))
    return out


def slides(ctx, v: view.AccountView, plan=None, progress: pd.DataFrame | None = None,
           health=None) -> list[Slide]:
    """The one-pager's pages (1 or 2) as deck slides; ``health``: the account on the My accounts
    page (views.my_accounts.account_health), None to leave it out."""
    name = words.display_name(ctx, v.profile["name"], v.profile["name_zh"], v.customer_id)
    period = (f"{ctx.t_month(v.period[0])} – {ctx.t_month(v.period[1])}" if v.period[0] and v.period[1]
              else ctx.t("op.all_time"))
    lines = []
    if v.rank:
        rank = ctx.t("op.rank", rank=i18n.fmt_number(v.rank, ctx.lang), n=i18n.fmt_number(v.ranked, ctx.lang))
        lines.append(rank + (ctx.t("op.tier", tier=v.tier) if v.tier else ""))
    lines.append(profit_line(ctx, v))
    value = value_line(ctx, v)
    if value:
        lines.append(value)
    if health is not None:
        lines += health_lines(ctx, health)
    lines += network_lines(ctx, v)
    first = Slide(title=ctx.t("op.title", name=name, period=period), headline=headline(ctx, v),
                  figure=words.timeline_figure(ctx, v), bullets=lines, table=profile_table(ctx, v),
                  text_size=TEXT_SIZE)
    out = [first]
    has_plan = plan is not None
    if has_plan or len(v.children):
        second, table = [], None
        if has_plan:
            body = plan.body
            status = words.status_text(ctx, words._plan_status(progress))  # noqa: SLF001 - one rule, in views.account
            head = ctx.t("op.plan_head", version=plan.version, author=plan.author or "–", status=status)
            if body.get("solution"):
                second.append(ctx.t("acct.slide.solution", text=body["solution"]))
            acts = top_actions(body, ctx.facts["as_of"])
            if acts:
                second.append(ctx.t("op.actions", n=len(acts)))
                second += [action_line(ctx, a) for a in acts]
            if progress is not None and len(progress):
                table = words.progress_table(ctx, progress)
            members = member_lines(ctx, v.children) if len(v.children) else []
            if members:
                second.append(ctx.t("op.members"))
                second += members
        else:
            head = words.chain_sentence(ctx, v.children, "group")
            table = words.chain_table(ctx, v.children.sort_values(["revenue", "customer_id"], ascending=[False, True]))
        out.append(Slide(title=ctx.t("op.title2", name=name), headline=head, bullets=second, table=table,
                         text_size=TEXT_SIZE, table_first=True, notes=ctx.t("acct.projection_method", as_of=i18n.fmt_date(
                             ctx.facts["as_of"], ctx.lang)) if table is not None and has_plan else ""))
    return out
