"""Streamlit edge of the My accounts page: the weights editor (saved in the user database), the
cached view, and each section's tables, charts, downloads and "add to the account plan"."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import streamlit as st

from kamdash import access, config, i18n, plans
from kamdash.charts import my_accounts as charts
from kamdash.ui import account as account_ui
from kamdash.ui import allowed, components, data, lines, shell
from kamdash.views import account as account_view
from kamdash.views import my_accounts as view

WEIGHTS_SETTING = "my_accounts.health_weights"
SHOWN_ACCOUNTS = 200  # rows of the accounts table on the page (the download holds all)
SHOWN_ACTIONS = 15  # actions with an "add to plan" button (the table and download hold all)
ACTION_DUE_DAYS = 14


def user_db():
    return config.user_db_path(config.db_path())


def saved_weights() -> dict:
    raw = data.setting(WEIGHTS_SETTING, None)
    try:
        return view.check_weights(raw or {})
    except (ValueError, AttributeError):
        return dict(view.WEIGHTS_DEFAULT)


def weights_editor(ctx) -> dict:
    """The weights (saved, else the defaults), editable in an expander; "Save" stores them
    for everyone using this database, "Defaults" restores the defaults."""
    saved = saved_weights()
    with st.expander(ctx.t("my.weights.title")):
        st.caption(ctx.t("my.weights.intro"))
        cols = st.columns(len(view.COMPONENTS))
        edited = {}
        for col, c in zip(cols, view.COMPONENTS):
            edited[c] = col.number_input(ctx.t(f"my.comp.{c}"), min_value=0.0, max_value=100.0, step=5.0,
                                         value=float(saved[c]), key=f"my_w_{c}", help=ctx.t(f"my.comp.{c}.help"))
        b1, b2 = st.columns([1, 5])
        why_not = allowed.settings(ctx)
        if b1.button(ctx.t("my.weights.save"), key="my_w_save", type="primary", disabled=why_not is not None,
                     help=why_not):
            try:
                data.put_setting(WEIGHTS_SETTING, view.check_weights(edited))
                st.toast(ctx.t("my.weights.saved"))
            except ValueError:
                st.error(ctx.t("my.weights.bad"))
        if b2.button(ctx.t("my.weights.reset"), key="my_w_reset", disabled=why_not is not None, help=why_not):
            data.put_setting(WEIGHTS_SETTING, dict(view.WEIGHTS_DEFAULT))
            for c in view.COMPONENTS:
                st.session_state.pop(f"my_w_{c}", None)
            st.rerun()
    try:
        return view.check_weights(edited)
    except ValueError:
        st.warning(ctx.t("my.weights.bad"))
        return saved


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=data.HASH_FUNCS)
def _build(data_key, filters, fit_key: str, _fit, weights: tuple, plan_key: tuple):
    return view.build(data.engine(), filters, _fit, dict(weights), dict(plan_key))


def load(ctx, weights: dict):
    """The page's view for the context's filters (None without data)."""
    fit, fs = account_view.stored_fit(user_db(), ctx.facts)
    table = account_ui.portfolio(ctx)
    status = tuple(sorted(zip(table["customer_id"], table["status"]))) if len(table) else ()
    key = fs.key(ctx.facts["data_version"]) if fs else ""
    with st.spinner(ctx.t("my.loading")):
        return _build(ctx.data_key, ctx.filters, key, fit, tuple(sorted(weights.items())), status)


@st.cache_data(show_spinner=False, max_entries=32)
def _account_health(data_key, customer_id: str, end, scope, fit_key: str, _fit, weights: tuple, plan_key: tuple):
    return data.run(view.account_health, customer_id, end, _fit, dict(weights), dict(plan_key), scope)


def account_health(ctx, customer_id: str):
    """One account as this page sees it (saved weights, stored fit, plans, the user's scope), for
    the account one-pager; None when it is not one of the page's accounts."""
    fit, fs = account_view.stored_fit(user_db(), ctx.facts)
    table = account_ui.portfolio(ctx)
    status = tuple(sorted(zip(table["customer_id"], table["status"]))) if len(table) else ()
    key = fs.key(ctx.facts["data_version"]) if fs else ""
    return _account_health(ctx.data_key, customer_id, ctx.filters.end, ctx.filters.scope, key, fit,
                           tuple(sorted(saved_weights().items())), status)


def _name(ctx, df: pd.DataFrame) -> list[str]:
    return list(i18n.customer_names(df, ctx.lang))


# ---------------------------------------------------------------- health


def health_section(ctx, v) -> None:
    acc = v.accounts
    scored = acc["score"].dropna()
    c = st.columns(4)
    c[0].metric(ctx.t("my.kpi.accounts"), i18n.fmt_number(len(acc), ctx.lang), border=True)
    c[1].metric(ctx.t("my.kpi.mean_score"), i18n.fmt_number(float(scored.mean()) if len(scored) else None, ctx.lang),
                border=True)
    c[2].metric(ctx.t("my.kpi.below_40"), i18n.fmt_number(int((scored < 40).sum()), ctx.lang), border=True)
    c[3].metric(ctx.t("my.kpi.revenue_12m"), ctx.money(float(acc["revenue_12m"].sum())), border=True)
    labels = {"title": ctx.t("my.trend.title"), "score": ctx.t("my.trend.score"),
              "below": ctx.t("my.trend.below"), "x": ctx.t("axis.month")}
    components.chart(ctx, charts.score_trend(v.portfolio, labels, ctx.lang), "my_trend", "kamdash-health-trend")
    st.subheader(ctx.t("my.table.title", n=min(SHOWN_ACCOUNTS, len(acc)), total=len(acc)))
    shown = acc.head(SHOWN_ACCOUNTS)
    t = pd.DataFrame({
        ctx.t("col.customer"): _name(ctx, shown),
        ctx.t("col.account_manager"): [ctx.label("account_manager", m) for m in shown["account_manager"]],
        ctx.t("my.col.score"): shown["score"].round(0),
        ctx.t("my.col.series"): [[None if not np.isfinite(x) else round(float(x), 1) for x in row]
                                 for row in v.series[:SHOWN_ACCOUNTS]],
        ctx.t("my.col.why"): [why_text(ctx, r, v.typical_rhythm) for _, r in shown.iterrows()],
        **{ctx.t(f"my.comp.{c}"): shown[c].round(0) for c in view.COMPONENTS},
        ctx.t("my.col.revenue_12m"): [ctx.money(x) for x in shown["revenue_12m"]],
    })
    cfg = {ctx.t("my.col.score"): st.column_config.ProgressColumn(ctx.t("my.col.score"), min_value=0, max_value=100,
                                                                   format="%.0f", width="small"),
           ctx.t("my.col.series"): st.column_config.LineChartColumn(ctx.t("my.col.series"), y_min=0, y_max=100,
                                                                    width="small"),
           ctx.t("my.col.why"): st.column_config.TextColumn(ctx.t("my.col.why"), width="large")}
    t, cfg = account_ui.with_links(ctx, t, shown["customer_id"], cfg)
    st.dataframe(t, hide_index=True, width="stretch", column_config=cfg, key="my_accounts_table")
    components.table_downloads(ctx, _accounts_download(v), "my_accounts", "kamdash-account-health")
    st.caption(ctx.t("my.health.method", typical=i18n.fmt_number(v.typical_rhythm[0], ctx.lang, digits=0),
                     p_alive=ctx.t("my.health.p_alive_yes" if v.has_fit else "my.health.p_alive_no")))


def _accounts_download(v) -> pd.DataFrame:
    """Every account with its score, components, facts and forecast: data, not formatted text."""
    out = v.accounts.drop(columns=["weakest"]).copy()
    months = [m.isoformat()[:7] for m in v.months]
    for i, m in enumerate(months):
        out[f"score_{m}"] = v.series[:, i]
    return out


# ---------------------------------------------------------------- backtest


def backtest_section(ctx, v) -> None:
    b = v.backtest
    if b["accounts"] == 0 or not np.isfinite(b["auc"]):
        st.info(ctx.t("my.bt.none", month=ctx.t_month(b["as_of"])))
        return
    bands = b["bands"]
    low, high = bands.iloc[0], bands.iloc[-1]
    st.markdown(ctx.t("my.bt.sentence", month=ctx.t_month(b["as_of"]), n=i18n.fmt_number(b["accounts"], ctx.lang),
                      lost=i18n.fmt_number(b["lost"], ctx.lang),
                      low=i18n.fmt_pct(low["share_lost"], ctx.lang, digits=0),
                      high=i18n.fmt_pct(high["share_lost"], ctx.lang, digits=0),
                      auc=i18n.fmt_number(b["auc"], ctx.lang, digits=2)))
    st.metric(ctx.t("my.bt.auc"), i18n.fmt_number(b["auc"], ctx.lang, digits=2), help=ctx.t("my.bt.auc.help"),
              border=True, width=240)
    labels = {"title": ctx.t("my.bt.title", month=ctx.t_month(b["as_of"])), "x": ctx.t("my.bt.x"),
              "y": ctx.t("my.bt.y"), "hover": ctx.t("my.bt.hover")}
    components.chart(ctx, charts.backtest_bands(bands, labels, ctx.lang), "my_backtest", "kamdash-health-backtest")
    st.caption(ctx.t("my.bt.method"))


# ---------------------------------------------------------------- whitespace


def whitespace_section(ctx, v) -> None:
    if lines.note(ctx, "whitespace"):
        return
    if not v.has_categories:
        st.info(ctx.t("my.ws.no_categories"))
        return
    st.metric(ctx.t("my.ws.total"), ctx.money(v.whitespace_total), border=True, width=320)
    if len(v.heat):
        names = dict(zip(v.accounts["customer_id"], _name(ctx, v.accounts)))
        rows = [names.get(c, c) for c in v.heat.index]
        cols = [ctx.label("category", c) for c in v.heat.columns]
        labels = {"title": ctx.t("my.ws.heat_title", n=len(rows)), "buying": ctx.t("my.ws.buying"),
                  "never": ctx.t("my.ws.never"), "stopped": ctx.t("my.ws.stopped")}
        fig = charts.whitespace_heatmap(v.heat, v.heat_status, rows, cols, labels, ctx.lang, ctx.currency)
        components.chart(ctx, fig, "my_ws_heat", "kamdash-whitespace")
    g = v.gaps
    st.subheader(ctx.t("my.ws.list_title", n=len(g)))
    t = pd.DataFrame({
        ctx.t("col.customer"): _name(ctx, g),
        ctx.t("col.account_manager"): [ctx.label("account_manager", m) for m in g["account_manager"]],
        ctx.t("my.col.category"): [ctx.label("category", c) for c in g["category"]],
        ctx.t("my.col.gap"): [ctx.t(f"my.ws.{s}") for s in g["status"]],
        ctx.t("my.col.expected"): [ctx.money(x) for x in g["value"]],
    })
    t, cfg = account_ui.with_links(ctx, t, g["customer_id"])
    st.dataframe(t, hide_index=True, width="stretch", column_config=cfg, key="my_ws_table")
    components.table_downloads(ctx, g, "my_ws", "kamdash-whitespace")
    st.caption(ctx.t("my.ws.method"))


# ---------------------------------------------------------------- next best actions


def plan_action(text: str, owner: str, today: date) -> dict:
    """A next best action as an account plan action: open, owned by the account manager, due
    in ACTION_DUE_DAYS days."""
    return {"action": text, "owner": owner, "due": (today + timedelta(days=ACTION_DUE_DAYS)).isoformat(),
            "status": "open"}


def _add_to_plan(ctx, customer_id: str, text: str, owner: str, author: str) -> None:
    cur = plans.latest(user_db(), customer_id)
    if cur and any(a.get("action") == text and a.get("status") != "done" for a in cur.body.get("actions", [])):
        st.toast(ctx.t("my.act.already", version=cur.version))  # a second click adds nothing
        return
    try:
        saved = plans.add_action(user_db(), customer_id, plan_action(text, owner, date.today()), author,
                                 actor=data.actor())
        st.toast(ctx.t("my.act.added", version=saved.version))
    except access.AccessDenied as exc:
        data.refuse(exc)
    except plans.PlanConflict:
        st.error(ctx.t("my.act.conflict"))


def actions_section(ctx, v) -> None:
    a = v.actions
    if a.empty:
        st.info(ctx.t("my.act.none"))
        return
    st.caption(ctx.t("my.act.intro", n=i18n.fmt_number(len(a), ctx.lang), total=ctx.money(float(a["value"].sum()))))
    texts = [action_text(ctx, r) for _, r in a.head(SHOWN_ACTIONS).iterrows()]
    names = _name(ctx, a.head(SHOWN_ACTIONS))
    links = account_ui.urls(a["customer_id"].head(SHOWN_ACTIONS))
    author = shell.author(ctx)
    for i, (row, text, name, link) in enumerate(zip(a.head(SHOWN_ACTIONS).itertuples(), texts, names, links)):
        c = st.columns([0.9, 2.2, 4.2, 1.3, 1.6], vertical_alignment="center")
        c[0].markdown(f":{_KIND_COLOR[row.kind]}-badge[{ctx.t(f'my.act.kind.{row.kind}')}]")
        c[1].markdown(f"[{name}]({link})")
        c[2].write(text)
        c[3].write(ctx.money(row.value))
        why_not = allowed.plan(ctx, row.customer_id)
        if c[4].button(ctx.t("my.act.add"), key=f"my_act_add_{i}_{row.customer_id}_{row.kind}",
                       help=why_not or ctx.t("my.act.add.help"), icon=":material/playlist_add:",
                       disabled=why_not is not None):
            owner = row.account_manager if isinstance(row.account_manager, str) else author
            _add_to_plan(ctx, row.customer_id, text, owner, author)
    if not author:
        st.caption(ctx.t("my.act.author_hint"))
    with st.expander(ctx.t("my.act.all", n=len(a))):
        full = a.assign(action=[action_text(ctx, r) for _, r in a.iterrows()])
        t = pd.DataFrame({ctx.t("my.col.kind"): [ctx.t(f"my.act.kind.{k}") for k in full["kind"]],
                          ctx.t("col.customer"): _name(ctx, full),
                          ctx.t("my.col.action"): full["action"],
                          ctx.t("my.col.value"): [ctx.money(x) for x in full["value"]]})
        t, cfg = account_ui.with_links(ctx, t, full["customer_id"])
        st.dataframe(t, hide_index=True, width="stretch", column_config=cfg, key="my_act_table")
    components.table_downloads(ctx, _actions_download(ctx, a), "my_actions", "kamdash-next-best-actions")
    st.caption(ctx.t("my.act.method"))


_KIND_COLOR = {"call": "orange", "offer": "green", "terms": "red", "plan": "violet"}


def _actions_download(ctx, a: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"kind": a["kind"], "customer_id": a["customer_id"], "name": a["name"],
                         "name_zh": a["name_zh"], "account_manager": a["account_manager"],
                         "action": [action_text(ctx, r) for _, r in a.iterrows()], "value": a["value"],
                         "category": a["category"], "gap": a["status"], "days_since_order": a["days_since"],
                         "usual_interval_days": a["usual_gap"], "loss_causes": a["causes"],
                         "link": [f"/account?customer={c}" for c in a["customer_id"]]})


# ---------------------------------------------------------------- forecast


def forecast_section(ctx, v) -> None:
    f = v.forecast
    st.markdown(ctx.t(f"my.fc.model_{v.forecast_model}"))
    total = f[f["account_manager"].isna()]
    cols = st.columns(len(view.HORIZONS))
    for col, (_, r) in zip(cols, total.iterrows()):
        col.metric(ctx.t("my.fc.next", n=int(r["months"])), ctx.money(r["forecast"]),
                   ctx.t("my.fc.band", lo=ctx.money(r["lo"]), hi=ctx.money(r["hi"])), delta_color="off",
                   delta_arrow="off", border=True)
    b = v.forecast_backtest
    if b["forecast"] > 0:
        st.markdown(ctx.t("my.fc.backtest", n=b["months"], start=ctx.t_month(b["start"]), end=ctx.t_month(b["end"]),
                          forecast=ctx.money(b["forecast"]), actual=ctx.money(b["actual"]),
                          error=i18n.fmt_delta_pct(b["actual"] / b["forecast"] - 1, ctx.lang)))
    h = st.segmented_control(ctx.t("my.fc.horizon"), list(view.HORIZONS), default=12, key="my_fc_h", required=True,
                             format_func=lambda m: ctx.t("my.fc.months", n=m))
    per = f[(f["months"] == h) & f["account_manager"].notna()].copy()
    if len(per):
        per["name"] = [ctx.label("account_manager", m) if m else ctx.t("values.missing") for m in per["account_manager"]]
        fig = charts.forecast_by_manager(per, {"title": ctx.t("my.fc.by_manager", n=h)}, ctx.lang, ctx.currency)
        components.chart(ctx, fig, "my_fc_mgr", "kamdash-forecast-by-manager")
    acc = v.accounts.sort_values(f"forecast_{h}m", ascending=False, kind="stable").head(SHOWN_ACCOUNTS)
    t = pd.DataFrame({ctx.t("col.customer"): _name(ctx, acc),
                      ctx.t("col.account_manager"): [ctx.label("account_manager", m) for m in acc["account_manager"]],
                      ctx.t("my.fc.col", n=h): [ctx.money(x) for x in acc[f"forecast_{h}m"]],
                      ctx.t("my.fc.col_band"): [ctx.t("my.fc.range", lo=ctx.money(lo), hi=ctx.money(hi))
                                                for lo, hi in zip(acc[f"forecast_{h}m_lo"], acc[f"forecast_{h}m_hi"])],
                      ctx.t("my.col.revenue_12m"): [ctx.money(x) for x in acc["revenue_12m"]]})
    t, cfg = account_ui.with_links(ctx, t, acc["customer_id"])
    st.dataframe(t, hide_index=True, width="stretch", column_config=cfg, key="my_fc_table")
    components.table_downloads(ctx, f, "my_fc", "kamdash-forecast")
    st.caption(ctx.t("my.fc.method"))


# ---------------------------------------------------------------- words (page, downloads, plans)
# ``ctx`` is anything with lang, currency, t(key, **fields), money(x) (the shell's Context).


def _days(ctx, x) -> str:
    return i18n.fmt_number(round(float(x)), ctx.lang) if np.isfinite(x) else "–"


def why_text(ctx, row, typical: tuple) -> str:
    """Why an account scores as it does, in words: its rhythm, then what lowers its score most."""
    parts = []
    n = int(row["purchase_days"])
    if n >= view.MIN_PURCHASE_DAYS:
        years = (pd.Timestamp(row["first_order"]) if pd.notna(row["first_order"]) else None)
        key = "my.why.rhythm_late" if row["late"] > view.CALL_LATE_SPREADS else "my.why.rhythm"
        parts.append(ctx.t(key, gap=_days(ctx, row["mean_gap"]), since=_days(ctx, row["days_since"]),
                           first=i18n.fmt_month(years.date(), ctx.lang) if years is not None else "–",
                           late=i18n.fmt_number(float(row["late"]), ctx.lang)))
    elif n >= 1:
        parts.append(ctx.t("my.why.few_days", n=n, since=_days(ctx, row["days_since"]), gap=_days(ctx, typical[0])))
    weak = row["weakest"]
    if weak == "trend":
        prev = row["revenue_prev_12m"]
        if prev > 0:
            parts.append(ctx.t("my.why.trend", change=i18n.fmt_delta_pct(row["revenue_12m"] / prev - 1, ctx.lang)))
    elif weak == "breadth":
        parts.append(ctx.t("my.why.breadth", n=int(row["categories_12m"]), before=int(row["categories_prev_12m"])))
    elif weak == "margin":
        parts.append(ctx.t("my.why.margin", gm=i18n.fmt_pct(row["gross_margin_12m"], ctx.lang),
                           change=i18n.fmt_points(row["gross_margin_12m"] - row["gross_margin_prev_12m"], ctx.lang)))
    elif weak == "p_alive":
        parts.append(ctx.t("my.why.p_alive", p=i18n.fmt_pct(row["p_alive"] / 100, ctx.lang, digits=0)))
    elif weak == "plan":
        parts.append(ctx.t("my.why.plan", status=ctx.t(f"acct.status.{row['plan_status']}")))
    return "; ".join(parts) if parts else ctx.t("my.why.none")


def action_text(ctx, row) -> str:
    """One next best action in words (what the page lists and what goes into the plan)."""
    kind = row["kind"]
    if kind == "call":
        return ctx.t("my.act.call_text", gap=_days(ctx, row["usual_gap"]), since=_days(ctx, row["days_since"]))
    if kind == "offer":
        return ctx.t(f"my.act.offer_text_{row['status']}", category=ctx.label("category", row["category"]))
    if kind == "terms":
        causes = ctx.t("my.sep").join(ctx.t(f"conc.reason.{c}") for c in str(row["causes"]).split(",") if c)
        return ctx.t("my.act.terms_text", loss=ctx.money(row["value"]), causes=causes or "–")
    return ctx.t("my.act.plan_text")
