"""Retention & value: cohorts, P(alive), CLV and customer equity with intervals, validation,
at-risk key accounts."""

import streamlit as st

from kamdash.ui import components, lines
from kamdash.ui import retention as ui
from kamdash.ui import shell

ctx = shell.context()
author = shell.author(ctx)
st.title(ctx.t("ret.title"))
st.caption(ctx.t("ret.intro"))
tabs = st.tabs([ctx.t("ret.tab.cohorts"), ctx.t("ret.tab.value"), ctx.t("ret.tab.validation"),
                ctx.t("ret.tab.at_risk")])

with tabs[0]:
    cohort = ui.cohort_section(ctx)
    if cohort is None:
        st.warning(ctx.t("ret.no_orders"))
    else:
        heat, curves, defect, definitions = cohort
        for fig, key in ((heat, "ret_heatmap"), (curves, "ret_curves"), (defect, "ret_defection")):
            components.chart(ctx, fig, key, f"kamdash-{key}")
        st.caption(definitions)

with tabs[1]:
    at_source = lines.note(ctx, "clv")  # no purchase days in this database: nothing to fit
    fs, vs = ui.model_settings(ctx)
    fit = None if at_source else ui.fitted(ctx, fs)
    if fit is not None:
        ui.trust_warning(ctx, fit)
        key, as_of = fs.key(ctx.facts["data_version"]), ctx.facts["as_of"]
        values = ui.account_values(ctx.data_key, key, fit, as_of, ctx.filters, vs)
        if values.empty:
            st.warning(ctx.t("ret.no_orders"))
        else:
            group = ui.group_select(ctx)
            total, eq_fig, top_fig = ui.equity_figures(ctx, values, fit, group)
            ui.value_metrics(ctx, total, values, vs)
            components.chart(ctx, eq_fig, "ret_equity", "kamdash-customer-equity")
            components.chart(ctx, top_fig, "ret_top_clv", "kamdash-top-clv")
        st.caption(ctx.t("ret.fit_caption", model=ctx.t(f"ret.model.{fs.model}"),
                         end=ctx.t_month(fs.calibration_end), n=fit["customers"],
                         seconds=fit["seconds"], library=fit["library"]))
        ui.scope_note(ctx, fit)
        with st.expander(ctx.t("ret.how")):
            st.markdown(ctx.t("ret.how_body"))

with tabs[2]:
    if at_source:
        lines.note(ctx, "clv")
    elif fit is None:
        st.info(ctx.t("ret.waiting"))
    else:
        val = ui.validation(ctx.data_key, key, fit, fs, as_of, ctx.filters.scope)
        ui.scope_note(ctx, fit)
        if val is None:
            st.info(ctx.t("ret.no_holdout"))
        else:
            st.markdown(ui.validation_text(ctx, val))
            components.chart(ctx, ui.tracking_figure(ctx, val, fs), "ret_tracking", "kamdash-tracking")

with tabs[3]:
    if at_source:
        lines.note(ctx, "clv")
    elif fit is None:
        st.info(ctx.t("ret.waiting"))
    elif not values.empty:
        ui.at_risk_section(ctx, values, fit, vs, author)
