"""Sections of the concentration page (widgets, readouts, tables); the page stays a short list
of calls. Numbers come from ``kamdash.views.concentration``; this module only formats and lays
them out."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kamdash import export, i18n
from kamdash.charts import concentration as charts
from kamdash.ui import account, allowed, components, data
from kamdash.views import concentration as view

GRAINS = ("quarter", "year")
TOP_N_CHOICES = (10, 20, 50, 100)
DRILL_ROWS_SHOWN = 1000  # on screen; the downloads hold every row of the tier
DRILL_MONEY = ("revenue", "gross_profit", "cost_to_serve", "account_profit")
TRANSLATED_CHOICES = ("value", "grain", "by")  # widgets whose options are shown translated
SHOWN_LANG_KEY = "kamdash.concentration.shown_lang"


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=data.HASH_FUNCS)
def concentration(data_key, filters, value: str) -> view.Concentration:
    """The concentration of ``value`` under ``filters`` (cached by data version, filters, value)."""
    return view.build(data.engine(), filters, value)


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=data.HASH_FUNCS)
def whale_data(data_key, filters, _c: view.Concentration) -> view.Whale:
    """The whale curve and loss-makers of ``_c``'s facts (the facts depend on the data and the
    filters only, so those are the cache key)."""
    return view.whale(data.engine(), filters, _c.facts)


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=data.HASH_FUNCS)
def over_time_data(data_key, filters, value: str, grain: str) -> view.OverTime:
    return view.over_time(data.engine(), filters, value, grain)


def pct(ctx, x, digits: int = 1) -> str:
    return i18n.fmt_pct(x, ctx.lang, digits)


def num(ctx, x, digits: int = 3) -> str:
    return "–" if x is None or x != x else f"{x:.{digits}f}"


def value_name(ctx, value: str) -> str:
    return ctx.t(f"series.{value}")


def keep_choices_across_languages(ctx) -> None:
    """Bound widgets keep the text shown when a choice was made; after a language switch, hand
    the same choices back so they are shown in the new language (as the shell does)."""
    if st.session_state.get(SHOWN_LANG_KEY, ctx.lang) != ctx.lang:
        for key in TRANSLATED_CHOICES:
            if st.session_state.get(key) is not None:
                st.session_state[key] = st.session_state[key]
    st.session_state[SHOWN_LANG_KEY] = ctx.lang


def value_selector(ctx, coverage: dict) -> str:
    """Revenue / gross profit / account profit (bound to the URL as ``value``), opening on
    account profit when the data has costs and on revenue (saying why) when it has none; says
    next to it when the chosen profit only repeats a simpler figure."""
    keep_choices_across_languages(ctx)
    default = view.default_value(coverage)
    value = st.segmented_control(
        ctx.t("conc.value"), list(view.VALUE_COLUMNS), default=default, required=True,
        format_func=lambda v: value_name(ctx, v), key="value", bind="query-params",
    ) or default
    if value == "revenue" and not view.has_profit(coverage):
        st.info(ctx.t("conc.opens_on_revenue"))
    components.coverage_note(ctx, (value,))
    return value


def readout_values(ctx, r: dict) -> dict[str, str]:
    """Label -> shown value of the item-2 readouts (also used by the page test)."""
    out = {ctx.t("conc.customers"): i18n.fmt_number(r["customers"], ctx.lang)}
    for p, share in r["top"].items():
        out[ctx.t("conc.top", p=round(p * 100))] = pct(ctx, share)
    out[ctx.t("conc.for80")] = pct(ctx, r["for_target_share"])
    out[ctx.t("conc.gini")] = num(ctx, r["gini"])
    out[ctx.t("conc.hhi")] = num(ctx, r["hhi"], 4)
    return out


def readouts(ctx, r: dict, value: str) -> None:
    helps = [None] + [ctx.t("conc.top.help")] * len(r["top"]) + [
        ctx.t("conc.for80.help", n=i18n.fmt_number(r["for_target"], ctx.lang)),
        ctx.t("conc.gini.help"), ctx.t("conc.hhi.help", n=i18n.fmt_number(round(1 / r["hhi"]) if r["hhi"] == r["hhi"] else float("nan"), ctx.lang))]
    items = list(readout_values(ctx, r).items())
    for row in range(0, len(items), 4):
        for col, (label, shown), h in zip(st.columns(4), items[row:row + 4], helps[row:row + 4]):
            col.metric(label, shown, help=h, border=True)
    if r["total"] <= 0:
        st.warning(ctx.t("conc.total_not_positive", value=value_name(ctx, value).lower(),
                         total=ctx.money(r["total"])))
    elif r["loss_makers"]:
        st.info(ctx.t("conc.negatives", n=i18n.fmt_number(r["loss_makers"], ctx.lang),
                      losses=ctx.money(r["losses"]), value=value_name(ctx, value).lower(),
                      signed=num(ctx, r["gini_signed"]), gini=num(ctx, r["gini"])))


def curves(ctx, c: view.Concentration) -> None:
    value, r = c.value, c.readouts
    left, right = st.columns(2)
    point = ctx.t("conc.point", c=pct(ctx, r["for_target_share"], 0), v="80%")
    labels = dict(title=ctx.t("conc.pareto_title", value=value_name(ctx, value)),
                  x=ctx.t("conc.axis.customers"), y=ctx.t("axis.amount", currency=ctx.currency),
                  y2=ctx.t("conc.axis.cum_share"), bars=ctx.t("conc.bars"), line=ctx.t("conc.cum_line"),
                  point=point)
    components.chart(ctx, charts.pareto_chart(c.pareto, labels, ctx.lang, ctx.currency,
                                              r["for_target_share"]), "pareto", f"kamdash-pareto-{value}", where=left)
    labels = dict(title=ctx.t("conc.lorenz_title"), x=ctx.t("conc.axis.customers_asc"),
                  y=ctx.t("conc.axis.cum_share"), curve=ctx.t("conc.lorenz"),
                  equality=ctx.t("conc.equality"), gini=ctx.t("conc.gini") + " " + num(ctx, r["gini"]))
    components.chart(ctx, charts.lorenz_chart(c.lorenz, labels, r["gini"]),
                     "lorenz", f"kamdash-lorenz-{value}", where=right)


def whale(ctx, c: view.Concentration, coverage: dict) -> None:
    st.subheader(ctx.t("conc.whale_header"))
    if not view.has_profit(coverage):
        st.info(ctx.t("conc.whale_needs_costs"))
        return
    components.coverage_note(ctx, ("account_profit",))
    w = whale_data(ctx.data_key, ctx.filters, c)
    s = w.summary
    cards = [(ctx.t("conc.whale.peak"), pct(ctx, s["peak"])),
             (ctx.t("conc.whale.peak_at"), pct(ctx, s["peak_customer_share"])),
             (ctx.t("conc.whale.loss_makers"), i18n.fmt_number(s["loss_makers"], ctx.lang)),
             (ctx.t("conc.whale.losses"), ctx.money(s["losses"]))]
    for col, (label, shown) in zip(st.columns(4), cards):
        col.metric(label, shown, border=True)
    labels = dict(title=ctx.t("conc.whale_title"), x=ctx.t("conc.axis.customers_profit"),
                  y=ctx.t("conc.axis.cum_profit"), curve=ctx.t("conc.whale_curve"),
                  total=ctx.t("conc.whale_total"),
                  peak=ctx.t("conc.whale_peak_note", peak=pct(ctx, s["peak"], 0),
                             n=i18n.fmt_number(s["peak_customers"], ctx.lang)))
    components.chart(ctx, charts.whale_chart(w.curve, labels, s["peak"],
                                             s["peak_customer_share"]), "whale", "kamdash-whale-curve")
    every = w.loss_makers
    if every.empty:
        st.success(ctx.t("conc.no_loss_makers"))
        return
    worst = w.worst
    st.markdown("**" + ctx.t("conc.worst_title", n=len(worst)) + "**")
    table = export.frame([
        (ctx.t("col.rank"), "int", worst["rank"]),
        (ctx.t("col.customer_id"), "id", worst["customer_id"]),
        (ctx.t("col.customer"), "text", i18n.customer_names(worst, ctx.lang)),
        (ctx.t("col.customer_type"), "text", [ctx.label("customer_type", v) for v in worst["customer_type"]]),
        *[(ctx.t(f"col.{col}"), "money", worst[col]) for col in ("revenue", "account_profit")],
        (ctx.t("col.margin"), "pct", worst["account_margin"]),
        (ctx.t("conc.causes"), "text", [cause_text(ctx, lead) for lead in w.causes]),
        (ctx.t("conc.peer_profit"), "money", worst["peer_profit"]),
        *[(ctx.t(f"conc.why.{r}"), "money", worst[f"why_{r}"]) for r in view.LOSS_REASONS],
    ], ctx.currency)
    # on screen: what fits a 1280-px window (the cost of the main cause instead of all four);
    # the downloads hold every column
    detail = (ctx.t("col.customer_id"), ctx.t("col.customer_type"), ctx.t("col.revenue"), ctx.t("conc.peer_profit"),
              *[ctx.t(f"conc.why.{r}") for r in view.LOSS_REASONS])
    display = components.shown(ctx, table, hide=detail)
    display[ctx.t("conc.main_cost")] = [ctx.money(worst[f"why_{r}"].iloc[i]) if r in view.LOSS_REASONS
                                        else ctx.t("values.missing") for i, r in enumerate(worst["main_reason"])]
    components.table(ctx, table, "worst", "kamdash-loss-makers", display=display, ids=worst["customer_id"],
                     column_config={ctx.t("col.rank"): st.column_config.TextColumn(width=40),
                                    ctx.t("col.customer"): st.column_config.TextColumn(width="medium"),
                                    ctx.t("conc.causes"): st.column_config.TextColumn(width=160)})
    st.markdown(cause_counts_sentence(ctx, every))
    st.caption(ctx.t("conc.worst_caption"))


def cause_text(ctx, lead: list[tuple[str, float]]) -> str:
    """"Discounts 91% · Cost-to-serve 9%": an account's leading causes with their shares."""
    if not lead:
        return ctx.t("conc.reason.none")
    return " · ".join(f"{ctx.t(f'conc.reason.{c}')} {pct(ctx, share, 0)}" for c, share in lead)


def cause_counts_sentence(ctx, every: pd.DataFrame) -> str:
    """How many loss-makers each cause is the main one for, most frequent first."""
    counts = every["main_reason"].value_counts()
    parts = [ctx.t("conc.cause_count", cause=ctx.t(f"conc.reason.{c}"), n=i18n.fmt_number(int(k), ctx.lang))
             for c, k in counts.items()]
    return ctx.t("conc.cause_counts", n=i18n.fmt_number(len(every), ctx.lang), list=ctx.t("seg.name.sep").join(parts))


def cutoffs(ctx) -> tuple[float, float]:
    """The A and B cut-offs (range slider bound to the URL as ``abc``), starting from the saved
    ones; a button saves them for the tier filter."""
    saved = data.tier_cutoffs()
    a, b = st.slider(ctx.t("conc.cutoffs"), 50, 100, value=(round(saved[0] * 100), round(saved[1] * 100)),
                     step=1, format="%d%%", key="abc", bind="query-params", help=ctx.t("conc.cutoffs.help"))
    if a >= b:
        st.warning(ctx.t("conc.cutoffs_invalid"))
        return saved
    chosen = (a / 100, b / 100)
    why_not = allowed.settings(ctx)
    if chosen != tuple(saved) and st.button(ctx.t("conc.save_cutoffs", a=a, b=b), key="save_cutoffs",
                                            disabled=why_not is not None, help=why_not):
        data.save_tier_cutoffs(chosen)
        st.toast(ctx.t("conc.saved_cutoffs", a=a, b=b))
    return chosen


def group_name(ctx, tier: str, value: str) -> str:
    """A, B, C, or the loss-makers' group (negative value) in words."""
    if tier != view.LOSS_TIER:
        return tier
    return ctx.t("conc.group.below_zero") if value == "revenue" else ctx.t("conc.group.loss_makers")


def tiers(c: view.Concentration, cut: tuple[float, float]) -> pd.DataFrame:
    return view.tiers(c, cut)


def tier_table(ctx, summary: pd.DataFrame, value: str, cut: tuple[float, float]) -> None:
    """The A/B/C rows and, when there are any, the loss-makers' row, with a total row: the
    counts and sums of the rows add up to it."""
    losers = summary[summary["tier"] == view.LOSS_TIER]
    if not int(losers["customers"].sum()):
        summary = summary[summary["tier"] != view.LOSS_TIER]
    total = pd.DataFrame([{"tier": ctx.t("conc.total"), **{c: summary[c].sum() for c in (
        "customers", "customer_share", "revenue", "gross_profit", "account_profit", "value", "orders")}}])
    total["value_share"] = 1.0 if summary["value"].sum() > 0 else float("nan")
    total["avg_order"] = total["revenue"] / total["orders"] if int(total["orders"].iloc[0]) else float("nan")
    summary = pd.concat([summary.assign(tier=[group_name(ctx, x, value) for x in summary["tier"]]), total],
                        ignore_index=True)
    t = export.frame([
        (ctx.t("conc.tier"), "text", summary["tier"]),
        (ctx.t("conc.customers"), "int", summary["customers"]),
        (ctx.t("conc.customer_share"), "pct", summary["customer_share"]),
        *[(ctx.t(f"col.{col}"), "money", summary[col]) for col in ("revenue", "gross_profit", "account_profit")],
        (ctx.t("conc.value_share", value=value_name(ctx, value).lower()), "pct", summary["value_share"]),
        (ctx.t("conc.avg_order"), "money", summary["avg_order"]),
    ], ctx.currency)
    components.table(ctx, t, "tiers", "kamdash-abc-tiers")
    name = value_name(ctx, value).lower()
    if len(losers) and int(losers["customers"].iloc[0]):
        st.caption(ctx.t("conc.tiers_with_losses", value=name, a=round(cut[0] * 100), b=round(cut[1] * 100),
                         group=group_name(ctx, view.LOSS_TIER, value),
                         n=i18n.fmt_number(int(losers["customers"].iloc[0]), ctx.lang),
                         sum=ctx.money(float(losers["value"].iloc[0]))))


def over_time(ctx, value: str) -> None:
    """Gini and top-20% share by quarter or year over all the data, with the other filters."""
    st.subheader(ctx.t("conc.time_header"))
    grain = st.segmented_control(ctx.t("conc.grain"), list(GRAINS), default="quarter", required=True,
                                 format_func=lambda g: ctx.t(f"conc.grain.{g}"), key="grain",
                                 bind="query-params") or "quarter"
    ot = over_time_data(ctx.data_key, ctx.filters, value, grain)
    over = ot.frame
    labels = dict(title=ctx.t("conc.time_title", value=value_name(ctx, value).lower()), x=ctx.t(f"conc.grain.{grain}"),
                  y=ctx.t("conc.axis.index"), gini=ctx.t("conc.gini"), top_share=ctx.t("conc.top", p=20),
                  partial=ctx.t("conc.partial"))
    components.chart(ctx, charts.over_time_chart(over, labels, ctx.lang, grain), "over_time",
                     f"kamdash-concentration-{grain}")
    st.markdown(trend_sentence(ctx, ot, grain))


def trend_sentence(ctx, ot: view.OverTime, grain: str) -> str:
    g, s = ot.gini, ot.top_share
    if g is None or s is None:
        return ctx.t("conc.trend.too_short")
    fmt = (lambda p: str(p.year)) if grain == "year" else (lambda p: ctx.t("conc.quarter", y=p.year, q=(p.month - 1) // 3 + 1))
    words = {"rising": "up", "falling": "down", "stable": "flat"}
    verdict = words[g["direction"]] if g["direction"] == s["direction"] else "mixed"
    return ctx.t(f"conc.trend.{verdict}", first=fmt(g["first_period"]), last=fmt(g["last_period"]),
                 g0=num(ctx, g["first"]), g1=num(ctx, g["last"]), s0=pct(ctx, s["first"]), s1=pct(ctx, s["last"]),
                 dg=f"{g['change']:+.3f}", ds=i18n.fmt_points(s["change"], ctx.lang))


def breakdown(ctx, c: view.Concentration) -> None:
    st.subheader(ctx.t("conc.breakdown_header"))
    value = c.value
    dim = st.selectbox(ctx.t("conc.breakdown_by"), list(view.BREAKDOWN_DIMENSIONS), key="by",
                       format_func=lambda d: ctx.t(f"filters.{d}"), bind="query-params")
    b = view.breakdown(c, dim)
    t = export.frame([
        (ctx.t(f"filters.{dim}"), "text", [ctx.label(dim, v) for v in b["group"]]),
        (ctx.t("conc.customers"), "int", b["customers"]),
        (value_name(ctx, value), "money", b["total"]),
        *[(ctx.t("conc.top", p=round(p * 100)), "pct", b[f"top_{round(p * 100)}"]) for p in view.TOP_SHARES],
        (ctx.t("conc.for80"), "pct", b["for_target_share"]),
        (ctx.t("conc.gini"), "number", b["gini"]),
        (ctx.t("conc.hhi"), "number", b["hhi"]),
    ], ctx.currency)
    components.table(ctx, t, "breakdown", f"kamdash-breakdown-{dim}")


def drilldown(ctx, c: view.Concentration, cut: tuple[float, float]) -> None:
    st.subheader(ctx.t("conc.drill_header"))
    value = c.value
    left, right = st.columns([3, 1])
    groups = list(c.groups)
    pick = left.segmented_control(ctx.t("conc.drill_pick"), [*groups, "top"], default="A", required=True,
                                  format_func=lambda v: ctx.t("conc.drill_top") if v == "top" else
                                  group_name(ctx, v, value) if v == view.LOSS_TIER else ctx.t("conc.tier_n", t=v),
                                  key="drill") or "A"
    n = right.selectbox(ctx.t("conc.drill_n"), TOP_N_CHOICES, key="drill_n", disabled=pick != "top")
    d = view.drilldown(c, pick, n, cut)
    rows = drill_table(ctx, d.head(DRILL_ROWS_SHOWN), value)
    if len(d) > DRILL_ROWS_SHOWN:
        st.caption(ctx.t("conc.drill_count_shown", n=i18n.fmt_number(len(d), ctx.lang),
                         k=i18n.fmt_number(DRILL_ROWS_SHOWN, ctx.lang)))
    else:
        st.caption(ctx.t("conc.drill_count", n=i18n.fmt_number(len(d), ctx.lang)))
    # on screen: what fits a 1280-px window; the downloads hold every column
    shown = components.shown(ctx, rows, hide=(*[ctx.t(f"filters.{d}") for d in ("customer_type", "sector", "region")],
                                              ctx.t("conc.col.gross_profit"), ctx.t("conc.col.cost_to_serve")))
    linked, config = account.with_links(ctx, shown, d["customer_id"].head(DRILL_ROWS_SHOWN),
                                        {ctx.t("col.rank"): st.column_config.TextColumn(width=50)})
    st.dataframe(linked, hide_index=True, width="stretch", key="drill_table", column_config=config)
    name = f"kamdash-{value}-{'top' + str(n) if pick == 'top' else 'tier-' + pick}"
    # every row in the downloads, built only when one is clicked
    components.table_downloads(ctx, drill_table(ctx, d, value), "dl", name)


def drill_table(ctx, d: pd.DataFrame, value: str) -> pd.DataFrame:
    """The drill-down rows as downloaded (kamdash.export.frame; headers and labels in the
    context's language)."""
    dims = [(ctx.t(f"filters.{dim}"), "text", [ctx.label(dim, v) for v in d[dim]])
            for dim in ("customer_type", "sector", "region") if dim in d]
    return export.frame([
        (ctx.t("col.rank"), "int", d["rank"]),
        (ctx.t("conc.tier"), "text", [group_name(ctx, x, value) for x in d["tier"]]),
        (ctx.t("col.customer_id"), "id", d["customer_id"]),
        (ctx.t("col.customer"), "text", i18n.customer_names(d, ctx.lang)), *dims,
        *[(ctx.t(f"conc.col.{col}"), "money", d[col]) for col in DRILL_MONEY],
        (ctx.t("conc.col.orders"), "int", d["orders"]),
        (ctx.t("conc.value_share", value=value_name(ctx, value).lower()), "pct", d["value_share"]),
        (ctx.t("conc.col.cum_share"), "pct", d["value_share_cum"]),
    ], ctx.currency)
