"""Streamlit edge of the What-if page: the cached baseline, the sliders (bound to the URL), the
result panels, and saved scenarios.

The baseline (a small table of cells) is read once per filter state and cached here; every
slider move after that is pure arithmetic on it (``views.whatif.outcome``), never a query.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kamdash import config, i18n, store
from kamdash.charts import whatif as charts
from kamdash.ui import allowed, data, lines, safe, scenario_text
from kamdash.views import whatif as view

HORIZONS = [1, 2, 3, 4, 5, 7, 10, 15, 20, 0]  # years; 0 = unlimited
KEYS = {  # Params field -> widget key (also the URL query parameter)
    "defection_pts": "wi_def", "target_segments": "wi_seg", "target_ka": "wi_ka",
    "target_tiers": "wi_tier", "target_profitable": "wi_prof", "margin_pct": "wi_margin", "discount": "wi_disc",
    "horizon": "wi_hor", "cost_mode": "wi_cost_mode", "cost": "wi_cost", "new_customers": "wi_new",
}
GROUPS = ("tier", "segment", "ka_type")
SHOWN_LANG_KEY = "wi.shown_lang"
PENDING_KEY = "wi.pending_load"
MAX_COMPARE = 4


def user_db():
    return config.user_db_path(config.db_path())


# ---------------------------------------------------------------- baseline (cached per filters)


def _assignment_key(a: pd.DataFrame) -> tuple:
    if a is None or len(a) == 0:
        return (0, 0)
    return (len(a), int(pd.util.hash_pandas_object(a[["customer_id", "segment", "ka_types"]].astype(str),
                                                   index=False).sum()))


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=data.HASH_FUNCS)
def _baseline(data_key, filters, assignment_key, cutoffs, last_month, first_month, _assignment):
    return view.baseline(data.engine(), filters, last_month, first_month, _assignment, cutoffs)


def baseline(ctx) -> view.Baseline:
    a = data.assignment()
    cut = data.tier_cutoffs()
    return _baseline(ctx.data_key, ctx.filters, _assignment_key(a), cut, ctx.facts["last_month"],
                     ctx.facts["first_month"], a)


def year_caption(ctx, base: view.Baseline) -> None:
    st.caption(ctx.t("wi.years", start=ctx.t_month(base.year[0]), end=ctx.t_month(base.year[1]),
                     pstart=ctx.t_month(base.previous[0]), pend=ctx.t_month(base.previous[1])))
    if not base.covered:
        st.warning(ctx.t("wi.not_covered", first=ctx.t_month(ctx.facts["first_month"])))


def group_label(ctx, dim: str, value: str) -> str:
    if dim == "ka_type":
        return ctx.t(f"ka.type.{value}")
    if dim == "tier":
        return ctx.t("wi.tier_label", tier=value)
    if dim is None or value == "all":
        return ctx.t("wi.all_customers")
    return value or ctx.t("values.missing")


def baseline_metrics(ctx, base: view.Baseline) -> None:
    tot = base.overall
    c = st.columns(4)
    c[0].metric(ctx.t("wi.kpi.customers"), i18n.fmt_number(tot["customers"], ctx.lang), border=True,
                help=ctx.t("wi.kpi.customers.help", prev=i18n.fmt_number(tot["customers_prev"], ctx.lang),
                           new=i18n.fmt_number(tot["new"], ctx.lang)))
    c[1].metric(ctx.t("wi.kpi.retention"), i18n.fmt_pct(tot["retention"], ctx.lang), border=True,
                help=ctx.t("wi.kpi.retention.help", defection=i18n.fmt_pct(tot["defection"], ctx.lang)))
    c[2].metric(ctx.t("wi.kpi.margin"), ctx.money(tot["margin"]), border=True,
                help=ctx.t("wi.kpi.margin.help"))
    c[3].metric(ctx.t("wi.kpi.profit"), ctx.money(tot["profit"]), border=True,
                help=ctx.t("wi.kpi.profit.help"))


def baseline_table(ctx, base: view.Baseline, p: view.Params) -> None:
    dim = st.segmented_control(ctx.t("wi.group_by"), list(GROUPS), default="tier", key="wi_group",
                               format_func=lambda g: ctx.t(f"wi.group.{g}"), required=True) or "tier"
    table = view.by_dimension(base, dim, p)
    if dim in ("segment", "ka_type") and table.empty:
        st.info(ctx.t("wi.no_assignment"))
        return
    if dim == "ka_type":
        st.caption(ctx.t("wi.ka_overlap"))
    if dim in ("segment", "ka_type") and "rate_prev" in base.cells:
        st.caption(ctx.t("wi.rate_by_tier"))
    st.dataframe(pd.DataFrame({
        ctx.t(f"wi.group.{dim}"): [group_label(ctx, dim, v) for v in table["group"]],
        ctx.t("wi.col.customers_prev"): table["customers_prev"],
        ctx.t("wi.col.retained"): table["retained"],
        ctx.t("wi.col.retention"): [i18n.fmt_pct(v, ctx.lang) for v in table["retention"]],
        ctx.t("wi.col.defection"): [i18n.fmt_pct(v, ctx.lang) for v in table["defection"]],
        ctx.t("wi.col.customers"): table["customers"],
        ctx.t("wi.col.margin"): [ctx.money(v) for v in table["margin"]],
        ctx.t("wi.col.clv"): [ctx.money(v) for v in table["clv"]],
        ctx.t("wi.col.equity"): [ctx.money(v) for v in table["equity"]],
    }), hide_index=True, width="stretch", key="wi_baseline_table")


# ---------------------------------------------------------------- sliders


def _options(base: view.Baseline) -> dict:
    segs = sorted({s for s in base.cells["segment"] if s}, key=lambda s: (len(s.split(" · ")[0]), s))
    return {"segments": segs, "ka": list(view.KA_TYPES), "tiers": ["A", "B", "C"]}


def _keep_choices_across_languages(ctx) -> None:
    if st.session_state.get(SHOWN_LANG_KEY, ctx.lang) != ctx.lang:
        for key in (KEYS["target_ka"], KEYS["target_tiers"], KEYS["cost_mode"], KEYS["horizon"]):
            if st.session_state.get(key) is not None:
                st.session_state[key] = st.session_state[key]
    st.session_state[SHOWN_LANG_KEY] = ctx.lang


def _apply_pending(opts: dict) -> None:
    """A scenario chosen with "Load" sets the widgets before they are drawn."""
    pending = st.session_state.pop(PENDING_KEY, None)
    if pending is None:
        return
    p = view.Params.from_json(pending)
    ss = st.session_state
    ss[KEYS["defection_pts"]] = float(p.defection_pts)
    ss[KEYS["target_segments"]] = [s for s in p.target_segments if s in opts["segments"]]
    ss[KEYS["target_ka"]] = [k for k in p.target_ka if k in opts["ka"]]
    ss[KEYS["target_tiers"]] = [t for t in p.target_tiers if t in opts["tiers"]]
    ss[KEYS["target_profitable"]] = bool(p.target_profitable)
    ss[KEYS["margin_pct"]] = int(round(p.margin_pct))
    ss[KEYS["discount"]] = int(round(p.discount * 100))
    ss[KEYS["horizon"]] = p.horizon if p.horizon in HORIZONS else view.HORIZON_DEFAULT
    ss[KEYS["cost_mode"]] = p.cost_mode if p.cost_mode in view.COST_MODES else "per_customer"
    ss[KEYS["cost"]] = float(p.cost)
    ss[KEYS["new_customers"]] = int(p.new_customers)


def controls(ctx, base: view.Baseline) -> view.Params:
    """The scenario sliders, every one bound to the URL (a scenario is shared by its link)."""
    _keep_choices_across_languages(ctx)
    opts = _options(base)
    _apply_pending(opts)
    has_assign = bool(opts["segments"]) or base.cells["ka_types"].ne("").any()
    left, right = st.columns(2)
    with left:
        d = st.slider(ctx.t("wi.defection"), -20.0, 10.0, 0.0, step=0.5, key=KEYS["defection_pts"],
                      bind="query-params", format="%+.1f", help=ctx.t("wi.defection.help"))
        c = st.columns(3)
        tiers = c[0].multiselect(ctx.t("wi.target.tier"), opts["tiers"], key=KEYS["target_tiers"],
                                 bind="query-params", placeholder=ctx.t("wi.target.all"),
                                 format_func=lambda v: ctx.t("wi.tier_label", tier=v))
        segs = c[1].multiselect(ctx.t("wi.target.segment"), opts["segments"], key=KEYS["target_segments"],
                                bind="query-params", placeholder=ctx.t("wi.target.all"),
                                disabled=not opts["segments"],
                                help=None if opts["segments"] else ctx.t("wi.no_assignment"))
        ka = c[2].multiselect(ctx.t("wi.target.ka"), opts["ka"], key=KEYS["target_ka"], bind="query-params",
                              placeholder=ctx.t("wi.target.all"), format_func=lambda v: ctx.t(f"ka.type.{v}"),
                              disabled=not has_assign,
                              help=None if has_assign else ctx.t("wi.no_assignment"))
        prof = st.toggle(ctx.t("wi.target.profitable"), True, key=KEYS["target_profitable"],
                         bind="query-params", help=ctx.t("wi.target.profitable.help"))
        margin = st.slider(ctx.t("wi.margin"), -30, 30, 0, step=1, key=KEYS["margin_pct"],
                           bind="query-params", format="%+d%%", help=ctx.t("wi.margin.help"))
        new = st.number_input(ctx.t("wi.new"), 0, 1_000_000, 0, step=10, key=KEYS["new_customers"],
                              bind="query-params", help=ctx.t("wi.new.help"))
    with right:
        disc = st.slider(ctx.t("wi.discount"), 1, 30, int(view.DISCOUNT_DEFAULT * 100), key=KEYS["discount"],
                         bind="query-params", format="%d%%", help=ctx.t("wi.discount.help"))
        hor = st.select_slider(ctx.t("wi.horizon"), HORIZONS, view.HORIZON_DEFAULT, key=KEYS["horizon"],
                               bind="query-params", help=ctx.t("wi.horizon.help"),
                               format_func=lambda h: ctx.t("wi.horizon.unlimited") if h == 0
                               else ctx.t("wi.horizon.years", n=h))
        mode = st.segmented_control(ctx.t("wi.cost_mode"), list(view.COST_MODES), default="per_customer",
                                    key=KEYS["cost_mode"], bind="query-params", required=True,
                                    format_func=lambda m: ctx.t(f"wi.cost_mode.{m}")) or "per_customer"
        cost = st.number_input(ctx.t(f"wi.cost.{mode}", currency=ctx.currency), 0.0, 1e12, 0.0, step=100.0,
                               key=KEYS["cost"], bind="query-params", help=ctx.t("wi.cost.help"))
    return view.Params(defection_pts=float(d), target_segments=tuple(segs), target_ka=tuple(ka),
                         target_tiers=tuple(tiers), target_profitable=bool(prof), margin_pct=float(margin), discount=disc / 100,
                         horizon=int(hor), cost_mode=mode, cost=float(cost), new_customers=int(new))


def outcome(base: view.Baseline, p: view.Params) -> dict:
    """Pure arithmetic on the cached baseline (no query): see views.whatif.outcome."""
    return view.outcome(base, p)


# ---------------------------------------------------------------- results


def _pct(ctx, x) -> str:
    return i18n.fmt_delta_pct(x, ctx.lang)


def figure_labels(ctx, p: view.Params) -> dict:
    return {"title": ctx.t("wi.fig.title"), "profit": ctx.t("wi.fig.profit"),
            "equity": ctx.t("wi.fig.equity", horizon=horizon_text(ctx, p.horizon)),
            "before": ctx.t("wi.before"), "after": ctx.t("wi.after"),
            "interval": ctx.t("wi.fig.interval", level=int(view.INTERVAL_LEVEL * 100))}


def horizon_text(ctx, h: int) -> str:
    return ctx.t("wi.horizon.unlimited") if not h else ctx.t("wi.horizon.years", n=h)


def result_metrics(ctx, res: dict, band: dict, p: view.Params) -> None:
    c = st.columns(4)
    c[0].metric(ctx.t("wi.kpi.equity_after"), ctx.money(res["equity_after"]),
                f"{'+' if res['equity_delta'] >= 0 else ''}{ctx.money(res['equity_delta'])} "
                f"({_pct(ctx, res['equity_pct'])})", border=True,
                help=ctx.t("wi.kpi.equity_after.help", before=ctx.money(res["equity_before"]),
                           horizon=horizon_text(ctx, p.horizon)))
    c[1].metric(ctx.t("wi.kpi.profit_after"), ctx.money(res["profit_after"]),
                f"{'+' if res['profit_delta'] >= 0 else ''}{ctx.money(res['profit_delta'])} "
                f"({_pct(ctx, res['profit_pct'])})", border=True,
                help=ctx.t("wi.kpi.profit_after.help", before=ctx.money(res["profit_before"])))
    roi = "–" if res["roi"] is None else i18n.fmt_pct(res["roi"], ctx.lang, digits=0)
    c[2].metric(ctx.t("wi.kpi.roi"), roi, border=True,
                help=ctx.t("wi.kpi.roi.help", cost=ctx.money(res["programme_cost_pv"]),
                           net=ctx.money(res["net_value"])))
    pb = res["payback_years"]
    shown = (ctx.t("wi.payback.beyond", n=p.horizon or view.PAYBACK_MAX_YEARS) if pb is None else ctx.t("wi.payback.no_cost") if pb == 0 and
             not res["programme_cost_pv"] else ctx.t("wi.payback.years", n=pb))
    c[3].metric(ctx.t("wi.kpi.payback"), shown, border=True, help=ctx.t("wi.kpi.payback.help"))
    st.caption(ctx.t("wi.band", level=int(view.INTERVAL_LEVEL * 100),
                     lo=ctx.money(band["equity_delta_lo"]), hi=ctx.money(band["equity_delta_hi"]),
                     plo=_pct(ctx, band["equity_pct_lo"]), phi=_pct(ctx, band["equity_pct_hi"]),
                     draws=view.DRAWS))
    if p.cost and res["targeted_customers"]:
        st.caption(ctx.t("wi.cost_caption", n=i18n.fmt_number(res["targeted_customers"], ctx.lang),
                         year1=ctx.money(res["programme_cost_year1"]), pv=ctx.money(res["programme_cost_pv"])))


def _signed(ctx, x: float) -> str:
    return f"{'+' if x > 0 else ''}{ctx.money(x)}"


def targeting_caption(ctx, res: dict, p: view.Params) -> None:
    """Whom the defection change reaches, its targeted average before and after, the loss-making
    customers left out, and the points that could not be taken (all defection gone)."""
    n = i18n.fmt_number(res["targeted_customers"], ctx.lang)
    if not res["targeted_customers"]:
        st.caption(ctx.t("wi.targeting.none"))
        return
    text = ctx.t("wi.targeting", n=n, before=i18n.fmt_pct(res["defection_targeted_before"], ctx.lang),
                 after=i18n.fmt_pct(res["defection_targeted_after"], ctx.lang))
    left_out = res["loss_making_customers"] - res["targeted_loss_making"]
    if p.target_profitable and left_out > 0:
        text += " " + ctx.t("wi.targeting.left_out", n=i18n.fmt_number(left_out, ctx.lang))
    asked = -p.defection_pts
    if asked > 0 and res["points_applied"] < asked - 1e-6:
        text += " " + ctx.t("wi.targeting.all_gone", before=i18n.fmt_pct(res["defection_targeted_before"], ctx.lang),
                            asked=i18n.fmt_number(asked, ctx.lang),
                            applied=i18n.fmt_number(round(res["points_applied"], 1), ctx.lang))
    st.caption(text)


def loss_makers_sentence(ctx, res: dict) -> str | None:
    """One sentence when targeted loss-making groups pull the result down, else None."""
    if not res["targeted_loss_making"] or res["equity_delta_loss_making"] >= 0:
        return None
    key = "wi.loss.falls" if res["deeper_cut_lowers_equity"] else "wi.loss.costs"
    return ctx.t(key, n=i18n.fmt_number(res["targeted_loss_making"], ctx.lang),
                 margin=ctx.money(res["margin_loss_making_targeted"]),
                 loss=ctx.money(-res["equity_delta_loss_making"]),
                 gain=_signed(ctx, res["equity_delta_profitable"]),
                 without=_signed(ctx, res["equity_delta_without_loss_makers"]),
                 switch=ctx.t("wi.target.profitable"))


def split_table(ctx, res: dict) -> pd.DataFrame:
    """Where the change comes from: profitable groups, loss-making groups, extra new customers,
    the programme's first-year cost, and the total (equity and next year's profit)."""
    rows = [("profitable", res["equity_delta_profitable"], res["profit_delta_profitable"]),
            ("loss_making", res["equity_delta_loss_making"], res["profit_delta_loss_making"]),
            ("new", res["equity_delta_new"], res["profit_delta_new"]),
            ("cost", None, -res["programme_cost_year1"]),
            ("total", res["equity_delta"], res["profit_delta"])]
    return pd.DataFrame({
        ctx.t("wi.split.col.source"): [ctx.t(f"wi.split.{k}") for k, _, _ in rows],
        ctx.t("wi.split.col.equity"): ["–" if e is None else _signed(ctx, e) for _, e, _ in rows],
        ctx.t("wi.split.col.profit"): [_signed(ctx, v) for _, _, v in rows],
    })


def split_section(ctx, res: dict) -> None:
    st.markdown(f"**{ctx.t('wi.split.title')}**")
    st.dataframe(split_table(ctx, res), hide_index=True, width="stretch", key="wi_split")
    sentence = loss_makers_sentence(ctx, res)
    if sentence:
        st.warning(sentence)


def before_after_figure(ctx, out: dict, p: view.Params):
    return charts.before_after(out["result"], out["band"], figure_labels(ctx, p), ctx.lang, ctx.currency)


def projection_figure(ctx, out: dict):
    return charts.projection(out["projection"], {
        "title": ctx.t("wi.proj.title"), "x": ctx.t("wi.proj.x"),
        "y": ctx.t("axis.amount", currency=ctx.currency), "before": ctx.t("wi.before"),
        "after": ctx.t("wi.after")}, ctx.lang, ctx.currency)


def rs_section(ctx, base: view.Baseline, out: dict, p: view.Params):
    """(R&S figure, explanation markdown)."""
    rs = out["rs"]
    unlimited = view.rs_unlimited(base, p)
    scenario = out["result"]["equity_pct"] if p.defection_pts or p.margin_pct or p.new_customers else None
    fig = charts.rs_panel(rs, scenario, {
        "title": ctx.t("wi.rs.title"), "band": ctx.t("wi.rs.band"),
        "yours": ctx.t("wi.rs.yours", points=i18n.fmt_number(rs["points"], ctx.lang)),
        "scenario": ctx.t("wi.rs.scenario"), "x": ctx.t("wi.rs.x")}, ctx.lang)
    loss = base.cells[base.cells["margin"] < 0]["customers"].sum()
    text = ctx.t(f"wi.rs.{rs['where']}", pct=_pct(ctx, rs["equity_pct"]), profit=_pct(ctx, rs["profit_pct"]),
                 horizon=horizon_text(ctx, p.horizon), unlimited=_pct(ctx, unlimited["equity_pct"]),
                 retention=i18n.fmt_pct(base.overall["retention"], ctx.lang))
    if rs["points_applied"] < rs["points"] - 1e-6:
        text += " " + ctx.t("wi.rs.points_short", applied=i18n.fmt_number(round(rs["points_applied"], 1), ctx.lang))
    text += "\n\n" + ctx.t("wi.rs.profitable", pct=_pct(ctx, rs["profitable_equity_pct"]),
                            profit=_pct(ctx, rs["profitable_profit_pct"]))
    text += "\n\n" + ctx.t("wi.rs.drivers")
    if loss:
        text += "\n\n" + ctx.t("wi.rs.loss_makers", n=i18n.fmt_number(int(loss), ctx.lang))
    if scenario is not None:
        text += "\n\n" + ctx.t("wi.rs.this_scenario", pct=_pct(ctx, scenario),
                               points=i18n.fmt_number(-p.defection_pts, ctx.lang))
    return fig, text


def step_text(ctx, lever: str, step: float, p: view.Params) -> str:
    """The step a lever is moved by in the tornado, in its own unit."""
    if lever == "horizon" and not p.horizon:
        return ctx.t("wi.step.horizon_unlimited")
    if lever == "cost":
        return ctx.t("wi.step.cost", money=ctx.money(step)) if step else ctx.t("wi.step.no_cost")
    return ctx.t(f"wi.step.{lever}", n=i18n.fmt_number(step, ctx.lang))


def tornado_figure(ctx, out: dict, p: view.Params):
    steps = dict(zip(out["tornado"]["lever"], out["tornado"]["step"]))
    labels = {f"lever.{k}": f"{ctx.t(f'wi.lever.{k}')} ({step_text(ctx, k, steps[k], p)})" for k in view.LEVERS}
    labels.update(title=ctx.t("wi.tornado.title"), x=ctx.t("wi.tornado.x", currency=ctx.currency),
                  low=ctx.t("wi.tornado.low"), high=ctx.t("wi.tornado.high"))
    return charts.tornado(out["tornado"], labels, ctx.lang, ctx.currency)


# ---------------------------------------------------------------- two views of value


@st.cache_data(show_spinner=False, max_entries=8, hash_funcs=data.HASH_FUNCS)
def _prob_inputs(data_key, fit_key: str, _fit: dict, as_of, filters, ids_key, _ids):
    return view.probabilistic_inputs(data.engine(), _fit, as_of, filters, _ids)


@st.cache_data(show_spinner=False, max_entries=16, hash_funcs=data.HASH_FUNCS)
def _prob_values(data_key, fit_key: str, _fit: dict, as_of, filters, ids_key, _ids, months: int,
                 discount: float):
    """Horizon and discount moves recompute from the cached inputs (no query)."""
    rfm, margins = _prob_inputs(data_key, fit_key, _fit, as_of, filters, ids_key, _ids)
    return view.probabilistic_values(_fit, rfm, margins, months, discount)


def two_views(ctx, base: view.Baseline, out: dict, p: view.Params) -> None:
    res, band = out["result"], out["band"]
    found = view.stored_fit(user_db(), ctx.facts)
    rows = [(ctx.t("wi.views.contractual"), ctx.money(res["equity_before"]),
             f"{ctx.money(band['equity_before_lo'])} – {ctx.money(band['equity_before_hi'])}",
             ctx.t("wi.views.contractual.basis", horizon=horizon_text(ctx, p.horizon),
                   d=i18n.fmt_pct(p.discount, ctx.lang, digits=0)))]
    if lines.note(ctx, "whatif"):
        pass
    elif found is None:
        st.info(ctx.t("wi.views.no_fit"))
    elif not st.toggle(ctx.t("wi.views.toggle"), False, key="wi_prob", help=ctx.t("wi.views.toggle.help")):
        st.caption(ctx.t("wi.views.toggle.off"))
    else:
        fit, fs = found
        ids = base.customers["customer_id"]
        months = view.horizon_months(p)
        with st.spinner(ctx.t("wi.views.computing")):
            values = _prob_values(ctx.data_key, fs.key(ctx.facts["data_version"]), fit, ctx.facts["as_of"],
                                  ctx.filters, (len(ids), int(pd.util.hash_pandas_object(ids, index=False).sum())),
                                  tuple(ids), months, p.discount)
        eq = view.probabilistic_equity(values, fit)
        basis = ctx.t("wi.views.probabilistic.basis", model=ctx.t(f"ret.model.{fs.model}"),
                      months=months, d=i18n.fmt_pct(p.discount, ctx.lang, digits=0),
                      n=i18n.fmt_number(eq["customers"], ctx.lang))
        rows.append((ctx.t("wi.views.probabilistic"), ctx.money(eq["equity"]),
                     f"{ctx.money(eq['equity_lo'])} – {ctx.money(eq['equity_hi'])}", basis))
        if not p.horizon:
            st.caption(ctx.t("wi.views.unlimited_note", years=view.PROBABILISTIC_UNLIMITED_YEARS))
        if not view.fit_trusted(fit):
            st.warning(ctx.t("wi.views.untrusted"))
    st.dataframe(pd.DataFrame(rows, columns=[ctx.t("wi.views.col.view"), ctx.t("wi.views.col.equity"),
                                             ctx.t("wi.views.col.interval",
                                                   level=int(view.CLV_INTERVAL_LEVEL * 100)),
                                             ctx.t("wi.views.col.basis")]),
                 hide_index=True, width="stretch", key="wi_views_table")
    st.markdown(ctx.t("wi.views.explain"))


# ---------------------------------------------------------------- scenarios


def _summary(res: dict, rs: dict, base: view.Baseline) -> dict:
    keep = ("equity_before", "equity_after", "equity_delta", "equity_pct", "profit_before", "profit_after",
            "profit_delta", "profit_pct", "programme_cost_pv", "net_value", "roi", "payback_years")
    out = {k: (None if res[k] is None else float(res[k])) for k in keep}
    out["rs_equity_pct"] = float(rs["equity_pct"])
    out["year"] = [base.year[0].isoformat(), base.year[1].isoformat()]
    return out


def _load(params: dict) -> None:
    st.session_state[PENDING_KEY] = params


def _delete(scenario_id: str) -> None:
    data.delete_scenario(scenario_id)


def scenarios(ctx, base: view.Baseline, p: view.Params, out: dict, author: str) -> None:
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    name = c1.text_input(ctx.t("wi.sc.name"), key="wi_sc_name", max_chars=120,
                         placeholder=ctx.t("wi.sc.name.placeholder"))
    why_not = allowed.scenario(ctx)
    if c2.button(ctx.t("wi.sc.save"), key="wi_sc_save", type="primary",
                 disabled=not name.strip() or why_not is not None, help=why_not):
        data.save_scenario(name.strip(), p.as_json(), _summary(out["result"], out["rs"], base), author)
        st.success(ctx.t("wi.sc.saved", name=safe.md(name.strip())))
    if not author:
        st.caption(ctx.t("wi.sc.no_author"))
    saved = store.list_scenarios(user_db())
    if saved.empty:
        st.info(ctx.t("wi.sc.none"))
        return
    st.dataframe(pd.DataFrame({
        ctx.t("wi.sc.col.name"): saved["name"],
        ctx.t("wi.sc.col.by"): saved["created_by"].replace("", "–"),
        ctx.t("wi.sc.col.when"): pd.to_datetime(saved["created_at"]).dt.strftime("%Y-%m-%d %H:%M"),
        ctx.t("wi.sc.col.defection"): [i18n.fmt_number(pp.get("defection_pts", 0.0), ctx.lang)
                                       for pp in saved["params"]],
        ctx.t("wi.sc.col.equity_pct"): [_pct(ctx, r.get("equity_pct")) for r in saved["results"]],
    }), hide_index=True, width="stretch", key="wi_sc_table")
    label = {sid: f"{n} · {by or '–'}" for sid, n, by in zip(saved["scenario_id"], saved["name"], saved["created_by"])}
    c1, c2, c3 = st.columns([3, 1, 1], vertical_alignment="bottom")
    pick = c1.selectbox(ctx.t("wi.sc.pick"), list(label), format_func=label.get, key="wi_sc_pick")
    params = dict(zip(saved["scenario_id"], saved["params"]))
    c2.button(ctx.t("wi.sc.load"), key="wi_sc_load", on_click=_load, args=(params.get(pick, {}),),
              disabled=pick is None)
    owners = dict(zip(saved["scenario_id"], saved["created_by"]))
    why_not = allowed.scenario(ctx, owners.get(pick) or "") if pick is not None else None
    c3.button(ctx.t("wi.sc.delete"), key="wi_sc_delete", on_click=_delete, args=(pick,),
              disabled=pick is None or why_not is not None, help=why_not)
    chosen = st.multiselect(ctx.t("wi.sc.compare"), list(label), format_func=label.get, key="wi_sc_compare",
                            max_selections=MAX_COMPARE, placeholder=ctx.t("wi.sc.compare.placeholder"))
    chosen = [s for s in chosen if s in params]
    if len(chosen) >= 2:
        st.dataframe(compare_table(ctx, base, [(label[s], params[s]) for s in chosen]),
                     width="stretch", key="wi_sc_compare_table")
        st.caption(ctx.t("wi.sc.compare_note"))


def compare_table(ctx, base: view.Baseline, scenarios_: list[tuple[str, dict]]) -> pd.DataFrame:
    """Scenarios side by side, recomputed on the current baseline (data and filters)."""
    cols = {}
    for name, p, r in view.scenario_results(base, scenarios_):
        pb = r["payback_years"]
        cols[name] = [  # what it is worth first (visible without scrolling), then what was set
            ctx.money(r["equity_after"]), _pct(ctx, r["equity_pct"]), ctx.money(r["profit_after"]),
            _pct(ctx, r["profit_pct"]), ctx.money(r["programme_cost_pv"]),
            scenario_text.signed_money(ctx, r["net_value"]),
            "–" if r["roi"] is None else i18n.fmt_pct(r["roi"], ctx.lang, digits=0),
            ctx.t("wi.payback.none") if pb is None else ("–" if pb == 0 else ctx.t("wi.payback.years", n=pb)),
            i18n.fmt_number(p.defection_pts, ctx.lang), _target_text(ctx, p), _pct(ctx, p.margin_pct / 100),
            i18n.fmt_number(p.new_customers, ctx.lang), i18n.fmt_pct(p.discount, ctx.lang, digits=0),
            horizon_text(ctx, p.horizon),
        ]
    rows = ["equity_after", "equity_pct", "profit_after", "profit_pct", "cost_pv", "net", "roi", "payback",
            "defection", "targets", "margin", "new", "discount", "horizon"]
    return pd.DataFrame(cols, index=[ctx.t(f"wi.cmp.{r}") for r in rows])


def _target_text(ctx, p: view.Params) -> str:
    parts = [ctx.t("wi.tier_label", tier=t) for t in p.target_tiers] + list(p.target_segments) + \
        [ctx.t(f"ka.type.{k}") for k in p.target_ka] + ([ctx.t("wi.target.profitable")] if p.target_profitable else [])
    return ", ".join(parts) if parts else ctx.t("wi.target.all")

