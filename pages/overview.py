"""Overview: KPIs with change vs the previous period, monthly trend, top accounts."""

import streamlit as st

from kamdash.ui import components, data
from kamdash.ui import overview as ui
from kamdash.ui import shell

ctx = shell.context()
f = ctx.filters
st.title(ctx.t("overview.title"))

view = data.overview(ctx.data_key, f, ctx.facts["first_month"])

period = dict(start=ctx.t_month(f.start), end=ctx.t_month(f.end))
if view.has_previous:
    prev = f.previous()
    st.caption(ctx.t("overview.period", pstart=ctx.t_month(prev.start), pend=ctx.t_month(prev.end),
                     **period))
else:
    st.caption(ctx.t("overview.period_no_previous", n=f.months, **period))

if view.active_customers == 0:
    st.warning(ctx.t("overview.empty"))
    st.stop()

components.kpi_cards(ctx, view.kpis)

components.chart(ctx, ui.trend_figure(ctx, view), "trend", "kamdash-trend")

st.subheader(ctx.t("overview.top_title", n=ui.TOP_N))
components.show_accounts(ctx, view.top, view.has_previous)
st.caption(ctx.t("overview.top_caption"))

with st.expander(ctx.t("overview.how")):
    st.markdown(ctx.t("overview.how_body"))
data.landing_sent()
