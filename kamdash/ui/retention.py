"""Streamlit edge of the Retention & value page: settings widgets, cached results, the
background fit with progress, and export of the at-risk list.

A fit runs in a background thread (one at a time per server) and is persisted in the user
database; while it runs the page shows its progress and everything else (cohorts, other pages)
stays usable; a small fragment polls and reruns the page when the fit is stored.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date

import pandas as pd
import streamlit as st

from kamdash import config, export, i18n, plans, retention
from kamdash.charts import retention as charts
from kamdash.ui import allowed, components, data
from kamdash.views import at_risk as at_risk_view
from kamdash.views import retention as view

_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kamdash-fit")
_jobs: dict[str, Future] = {}
_jobs_lock = threading.Lock()
GROUPS = view.GROUPS


def user_db():
    return config.user_db_path(config.db_path())


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=data.HASH_FUNCS)
def cohort_view(data_key, filters, freq: str, last_month) -> view.Cohorts:
    return view.cohort_view(data.engine(), filters, freq, last_month)


def cohort_frames(data_key, filters, freq: str, last_month):
    """(retention matrix, cohort sizes) of the cohort view."""
    c = cohort_view(data_key, filters, freq, last_month)
    return c.matrix, c.sizes


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=data.HASH_FUNCS)
def defection_frame(data_key, filters, n_months: int, last_month):
    return view.defection(data.engine(), filters, n_months, last_month)


@st.cache_data(show_spinner=False, max_entries=32, hash_funcs=data.HASH_FUNCS)
def account_values(data_key, fit_key: str, _fit: dict, as_of, filters, vs: view.ValueSettings):
    return view.account_values(data.engine(), _fit, as_of, filters, vs)


@st.cache_data(show_spinner=False, max_entries=16)
def validation(data_key, fit_key: str, _fit: dict, fs: view.FitSettings, as_of, scope=None):
    return view.validation(data.engine(), _fit, fs, as_of, scope)


def scope_note(ctx, fit: dict) -> None:
    """Team mode, a user with a scope: what the model learnt from (every customer) and what is
    shown (their accounts only)."""
    if ctx.filters.scope is None:
        return
    st.caption(ctx.t("team.ret_scope", n=i18n.fmt_number(fit["customers"], ctx.lang),
                     mine=i18n.fmt_number(len(ctx.filters.scope), ctx.lang)))


def cohort_section(ctx):
    """Cohort widgets and figures: (heatmap, curves, defection figure, definition caption)."""
    c1, c2 = st.columns(2)
    freq = c1.segmented_control(ctx.t("ret.cohort_freq"), ["M", "Q"], default="M", key="ret_freq",
                                format_func=lambda v: ctx.t(f"ret.freq.{v}"), required=True)
    n = c2.number_input(ctx.t("ret.defection_months"), 1, 24, view.DEFECTION_MONTHS_DEFAULT,
                        key="ret_defect_n", help=ctx.t("ret.defection_months.help"))
    f, last = ctx.filters, ctx.facts["last_month"]
    c = cohort_view(ctx.data_key, f, freq, last)
    if c.empty:
        return None
    matrix, sizes = c.matrix, c.sizes
    unit = ctx.t(f"ret.unit.{freq}")
    heat = charts.cohort_heatmap(matrix, sizes, {"title": ctx.t("ret.heatmap_title"),
                                 "x": ctx.t("ret.axis.since_first", unit=unit),
                                 "y": ctx.t("ret.axis.cohort")},
                                 ctx.lang, freq)
    curves = charts.retention_curves(matrix, c.curve,
                                     {"title": ctx.t("ret.curves_title"), "average": ctx.t("ret.average"),
                                      "x": ctx.t("ret.axis.since_first", unit=unit),
                                      "y": ctx.t("ret.axis.retained")}, ctx.lang, freq)
    rates = defection_frame(ctx.data_key, f, int(n), last)
    defect = charts.defection_chart(rates, {"title": ctx.t("ret.defection_title", n=int(n)),
                                    "x": ctx.t("axis.month"), "y": ctx.t("ret.axis.defection"),
                                    "series": ctx.t("ret.axis.defection"),
                                    "hover": ctx.t("ret.defection_hover")}, ctx.lang)
    return heat, curves, defect, ctx.t("ret.definitions", n=int(n))


def model_settings(ctx) -> tuple[view.FitSettings, view.ValueSettings]:
    c = st.columns(3) + st.columns(3)[:2]
    model = c[0].segmented_control(ctx.t("ret.model"), list(view.MODELS), default="bgnbd", key="ret_model",
                                   format_func=lambda v: ctx.t(f"ret.model.{v}"), required=True,
                                   help=ctx.t("ret.model.help"))
    hold = c[1].select_slider(ctx.t("ret.holdout"), [0, 3, 6, 9, 12], retention.HOLDOUT_MONTHS_DEFAULT,
                              key="ret_holdout", help=ctx.t("ret.holdout.help"))
    horizon = c[2].slider(ctx.t("ret.horizon"), 3, 60, view.HORIZON_MONTHS_DEFAULT, step=3,
                          key="ret_horizon", help=ctx.t("ret.horizon.help"))
    rate = c[3].slider(ctx.t("ret.discount"), 0, 30, int(view.ANNUAL_DISCOUNT_DEFAULT * 100),
                       key="ret_discount", format="%d%%", help=ctx.t("ret.discount.help"))
    cts = c[4].toggle(ctx.t("ret.cts"), True, key="ret_cts", help=ctx.t("ret.cts.help"))
    fs = view.FitSettings(model or "bgnbd", retention.TIME_UNIT_DEFAULT,
                               retention.calibration_end(ctx.facts["as_of"], int(hold)))
    return fs, view.ValueSettings(int(horizon), rate / 100, bool(cts))


def _job(ctx, fs: retention.FitSettings) -> Future:
    dv = ctx.facts["data_version"]
    key = fs.key(dv)
    with _jobs_lock:
        job = _jobs.get(key)
        if job is None or (job.done() and job.exception() is not None and st.session_state.get("ret_retry")):
            rfm = retention.calibration_rfm(data.engine(), fs, ctx.facts["as_of"])
            job = _executor.submit(retention.fit_and_store, rfm, user_db(), fs, dv)
            _jobs[key] = job
        return job


def fitted(ctx, fs: retention.FitSettings) -> dict | None:
    """The persisted fit for these settings; starts the fit in the background (with progress
    shown and a poll that reruns the page when it is stored) when there is none."""
    found = retention.load_fit(user_db(), fs, ctx.facts["data_version"])
    if found is not None:
        return found
    job = _job(ctx, fs)
    if job.done():
        if job.exception() is None:
            return job.result()
        st.error(ctx.t("ret.fit_failed", detail=str(job.exception()).splitlines()[0]))
        st.button(ctx.t("ret.retry"), key="ret_retry")
        return None
    with st.status(ctx.t("ret.fitting", model=ctx.t(f"ret.model.{fs.model}")), expanded=True):
        st.write(ctx.t("ret.fitting_detail"))

    @st.fragment(run_every=2)
    def _poll():
        if job.done():
            st.rerun(scope="app")

    _poll()
    return None


def trust_warning(ctx, fit: dict) -> None:
    tr = view.trust(fit)
    if not tr["ok"]:
        st.warning(ctx.t("ret.too_few", k=tr["repeat_buyers"], n=tr["customers"],
                         min=view.MIN_REPEAT_BUYERS))


def equity_figures(ctx, values: pd.DataFrame, fit: dict, group: str):
    """(total row, equity-by-group figure, top-accounts CLV figure)."""
    e = view.equity(values, fit, group, data.assignment() if group in ("segment", "ka_type") else None)
    total, by, values = e.total, e.by, e.values
    if e.no_assignment:
        st.info(ctx.t("ret.group.no_assignment"))
    elif group == "ka_type":
        st.caption(ctx.t("ret.group.overlap"))
    by["label"] = [ctx.t(f"ka.type.{v}") if group == "ka_type" and v else
                   (v or ctx.t("values.missing")) if group == "segment" else ctx.label(group, v)
                   for v in by[group]]
    interval = ctx.t("ret.interval", level=int(view.INTERVAL_LEVEL * 100))
    money = ctx.t("axis.amount", currency=ctx.currency)
    eq = charts.interval_bars(by, "label", "equity", "equity_lo", "equity_hi",
                              {"title": ctx.t("ret.equity_by", group=ctx.t(f"ret.group.{group}")),
                               "x": money, "interval": interval}, ctx.lang, ctx.currency)
    top = values.nlargest(15, "clv").assign(label=lambda d: i18n.customer_names(d, ctx.lang))
    tops = charts.interval_bars(top, "label", "clv", "clv_lo", "clv_hi",
                                {"title": ctx.t("ret.top_clv"), "x": money, "interval": interval},
                                ctx.lang, ctx.currency, color=charts.PALETTE["account_profit"])
    return total, eq, tops


def tracking_figure(ctx, val: dict, fs: retention.FitSettings):
    labels = {"title": ctx.t("ret.tracking_title"), "x": ctx.t("ret.axis.date"),
              "y": ctx.t("ret.axis.cum_repeat"), "actual": ctx.t("ret.actual"),
              "predicted": ctx.t("ret.predicted"), "calibration": ctx.t("ret.calibration_end")}
    return charts.tracking_chart(val["track"], fs.calibration_end, labels, ctx.lang)


def validation_text(ctx, val: dict) -> str:
    err = val["error"]
    key = "ret.error_under" if err < 0 else "ret.error_over"
    return ctx.t(key, pct=i18n.fmt_pct(abs(err), ctx.lang),
                 predicted=i18n.fmt_number(round(val["predicted"]), ctx.lang),
                 actual=i18n.fmt_number(round(val["actual"]), ctx.lang))


def _why(ctx, row) -> str:
    """Why an account is on the list: its P(alive) in the slipping band and/or its silence
    against its own rhythm."""
    parts = []
    if row["slipping_p_alive"]:
        parts.append(ctx.t("ret.risk.why.p_alive", p=i18n.fmt_pct(row["p_alive"], ctx.lang, digits=0)))
    if row["overdue"]:
        parts.append(ctx.t("ret.risk.why.overdue", days=i18n.fmt_number(round(row["silent_days"]), ctx.lang),
                           interval=i18n.fmt_number(round(row["interval_days"]), ctx.lang)))
    return ctx.t("ret.risk.why.sep").join(parts)


def at_risk_intro(ctx, risk: at_risk_view.AtRisk, vs: view.ValueSettings) -> str:
    lo, hi = view.AT_RISK_SLIPPING
    return ctx.t("ret.risk.intro", n=i18n.fmt_number(len(risk.saveable), ctx.lang),
                 accounts=i18n.fmt_number(risk.accounts, ctx.lang),
                 share=i18n.fmt_pct(view.AT_RISK_TOP_SHARE, ctx.lang, digits=0), horizon=vs.horizon_months,
                 lo=i18n.fmt_pct(lo, ctx.lang, digits=0), hi=i18n.fmt_pct(hi, ctx.lang, digits=0),
                 factor=i18n.fmt_number(view.AT_RISK_OVERDUE_FACTOR, ctx.lang),
                 lost=i18n.fmt_pct(view.AT_RISK_LOST_P_ALIVE, ctx.lang, digits=0),
                 days=view.AT_RISK_LOST_SILENT_DAYS)


def at_risk_table(ctx, risky: pd.DataFrame) -> pd.DataFrame:
    """The saveable accounts as downloaded (kamdash.export.frame: numbers as numbers, dates as
    dates); the page shows the first columns formatted (``AT_RISK_DETAIL`` only in the files)."""
    return export.frame([
        (ctx.t("col.customer_id"), "id", risky["customer_id"]),
        (ctx.t("col.customer"), "text", i18n.customer_names(risky, ctx.lang)),
        (ctx.t("col.region"), "text", [ctx.label("region", v) for v in risky["region"]]),
        (ctx.t("col.account_manager"), "text", [ctx.label("account_manager", v) for v in risky["account_manager"]]),
        (ctx.t("ret.risk.col.stake"), "money", risky["value_at_stake"]),
        (ctx.t("ret.col.p_alive"), "pct", risky["p_alive"]),
        (ctx.t("ret.col.last_order"), "date", risky["last_date"]),
        (ctx.t("ret.risk.col.why"), "text", [_why(ctx, r) for _, r in risky.iterrows()]),
        (ctx.t("ret.risk.col.silent"), "int", risky["silent_days"]),
        (ctx.t("ret.risk.col.interval"), "number", risky["interval_days"].round(1)),
        (ctx.t("ret.col.revenue"), "money", risky["revenue"]),
        (ctx.t("ret.col.clv"), "money", risky["clv"]),
    ], ctx.currency)


def at_risk_detail(ctx) -> tuple[str, ...]:
    """Columns of the at-risk download that the page leaves out (its table stays narrow)."""
    return (ctx.t("ret.risk.col.silent"), ctx.t("ret.risk.col.interval"), ctx.t("ret.col.revenue"),
            ctx.t("ret.col.clv"))


def lost_display(ctx, lost: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({
        ctx.t("col.customer_id"): lost["customer_id"],
        ctx.t("col.customer"): i18n.customer_names(lost, ctx.lang),
        ctx.t("col.account_manager"): [ctx.label("account_manager", v) for v in lost["account_manager"]],
        ctx.t("ret.col.revenue"): [ctx.money(v) for v in lost["revenue"]],
        ctx.t("ret.col.last_order"): [i18n.fmt_date(d, ctx.lang) for d in pd.to_datetime(lost["last_date"]).dt.date],
        ctx.t("ret.col.p_alive"): [i18n.fmt_pct(v, ctx.lang, digits=0) for v in lost["p_alive"]],
    })


def _linked(ctx, table: pd.DataFrame, key: str) -> None:
    from kamdash.ui import account

    shown, cfg = account.with_links(ctx, table, table[ctx.t("col.customer_id")])
    st.dataframe(shown, hide_index=True, width="stretch", key=key, column_config=cfg)


def add_to_plan(ctx, risky: pd.DataFrame, author: str) -> None:
    """Pick a saveable account and add a call to its account plan (a new plan version)."""
    from kamdash.ui import account

    names = dict(zip(risky["customer_id"], i18n.customer_names(risky, ctx.lang)))
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    pick = c1.selectbox(ctx.t("ret.risk.pick"), list(names), key="ret_risk_pick",
                        format_func=lambda c: f"{names.get(c, c)} · {c}")
    why_not = allowed.plan(ctx, pick) if pick is not None else None
    if c2.button(ctx.t("ret.risk.add"), key="ret_risk_add", type="primary",
                 disabled=pick is None or why_not is not None, help=why_not):
        row = risky.set_index("customer_id").loc[pick].copy()
        row["customer_id"] = pick
        text = ctx.t("ret.risk.action", why=_why(ctx, row), stake=ctx.money(row["value_at_stake"]))
        try:
            saved = at_risk_view.add_to_plan(user_db(), row, text, author, date.today())
        except plans.PlanConflict:
            st.error(ctx.t("ret.risk.conflict"))
        else:
            url = account.urls([pick])[0]
            st.success(ctx.t("ret.risk.added", name=names[pick], version=saved.version, text=text, url=url))
    if not author:
        st.caption(ctx.t("ret.risk.no_author"))


def at_risk_section(ctx, values: pd.DataFrame, fit: dict, vs: view.ValueSettings, author: str) -> None:
    risk = at_risk_view.build(values, fit)
    st.markdown(at_risk_intro(ctx, risk, vs))
    if risk.saveable.empty:
        st.info(ctx.t("ret.risk.none"))
    else:
        table = at_risk_table(ctx, risk.saveable)
        components.table(ctx, table, "ret_at_risk", "kamdash-at-risk-accounts", ids=risk.saveable["customer_id"],
                         display=components.shown(ctx, table, hide=at_risk_detail(ctx)))
        add_to_plan(ctx, risk.saveable, author)
    with st.expander(ctx.t("ret.risk.lost", n=i18n.fmt_number(len(risk.lost), ctx.lang))):
        st.caption(ctx.t("ret.risk.lost.caption", lost=i18n.fmt_pct(view.AT_RISK_LOST_P_ALIVE, ctx.lang, digits=0),
                         days=view.AT_RISK_LOST_SILENT_DAYS,
                         share=i18n.fmt_pct(view.AT_RISK_TOP_SHARE, ctx.lang, digits=0)))
        if len(risk.lost):
            _linked(ctx, lost_display(ctx, risk.lost), "ret_lost")


def group_select(ctx) -> str:
    return st.segmented_control(ctx.t("ret.group_by"), list(GROUPS), default=GROUPS[0], key="ret_group",
                                format_func=lambda g: ctx.t(f"ret.group.{g}"), required=True) or GROUPS[0]


def value_metrics(ctx, total, values: pd.DataFrame, vs) -> None:
    c = st.columns(3)
    c[0].metric(ctx.t("ret.kpi.equity"), ctx.money(total["equity"]), border=True,
                help=ctx.t("ret.kpi.equity.help", horizon=vs.horizon_months))
    c[1].metric(ctx.t("ret.kpi.alive"), i18n.fmt_number(round(values["p_alive"].sum()), ctx.lang),
                border=True, help=ctx.t("ret.kpi.alive.help"))
    purchases = i18n.fmt_number(round(values["expected_purchases"].sum()), ctx.lang)
    c[2].metric(ctx.t("ret.kpi.purchases"), purchases,
                border=True, help=ctx.t("ret.kpi.purchases.help", horizon=vs.horizon_months))
    st.caption(ctx.t("ret.kpi.interval", level=int(view.INTERVAL_LEVEL * 100),
                     lo=ctx.money(total["equity_lo"], digits=3),
                     hi=ctx.money(total["equity_hi"], digits=3), n=i18n.fmt_number(len(values), ctx.lang)))
