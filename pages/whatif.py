"""What-if: retention planner. Baseline from the data, sliders (in the URL), before/after with
its uncertainty, Reichheld & Sasser's 25-85%, sensitivity, both views of value, saved scenarios."""

import streamlit as st

from kamdash.ui import components, shell
from kamdash.ui import whatif as ui

ctx = shell.context()
author = shell.author(ctx)
st.title(ctx.t("wi.title"))
st.caption(ctx.t("wi.intro"))

base = ui.baseline(ctx)
ui.year_caption(ctx, base)
if base.overall["customers_prev"] == 0 or base.overall["customers"] == 0:
    st.warning(ctx.t("wi.empty"))
    st.stop()

st.subheader(ctx.t("wi.baseline_header"))
ui.baseline_metrics(ctx, base)
components.coverage_note(ctx, ("account_profit",))  # the baseline's profit per customer
baseline_table = st.expander(ctx.t("wi.baseline_table"))

st.subheader(ctx.t("wi.scenario_header"))
params = ui.controls(ctx, base)
out = ui.outcome(base, params)  # pure arithmetic on the cached baseline
with baseline_table:
    ui.baseline_table(ctx, base, params)

st.subheader(ctx.t("wi.result_header"))
ui.result_metrics(ctx, out["result"], out["band"], params)
ui.targeting_caption(ctx, out["result"], params)
ui.split_section(ctx, out["result"])
left, right = st.columns(2)
components.chart(ctx, ui.before_after_figure(ctx, out, params), "wi_before_after", "kamdash-whatif-before-after",
                 where=left)
components.chart(ctx, ui.projection_figure(ctx, out), "wi_projection", "kamdash-whatif-projection", where=right)

tabs = st.tabs([ctx.t("wi.tab.rs"), ctx.t("wi.tab.tornado"), ctx.t("wi.tab.views"), ctx.t("wi.tab.scenarios")])
with tabs[0]:
    rs_fig, rs_text = ui.rs_section(ctx, base, out, params)
    components.chart(ctx, rs_fig, "wi_rs", "kamdash-whatif-reichheld-sasser")
    st.markdown(rs_text)
with tabs[1]:
    components.chart(ctx, ui.tornado_figure(ctx, out, params), "wi_tornado", "kamdash-whatif-sensitivity")
    st.caption(ctx.t("wi.tornado.caption"))
with tabs[2]:
    ui.two_views(ctx, base, out, params)
with tabs[3]:
    ui.scenarios(ctx, base, params, out, author)

with st.expander(ctx.t("wi.how")):
    st.markdown(ctx.t("wi.how_body"))
