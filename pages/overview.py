"""Overview: KPIs with change vs the previous period, monthly trend, top accounts."""

import streamlit as st

from kamdash import charts
from kamdash.analytics import overview
from kamdash.ui import components, data, shell

ctx = shell.context()
f, key, first = ctx.filters, ctx.data_key, ctx.facts["first_month"]
st.title(ctx.t("overview.title"))

current = data.customer_facts(key, f)
prev_f = f.previous()
previous = data.customer_facts(key, prev_f, False) if prev_f.covered_by(first) else None
before_f = prev_f.previous()
before = data.customer_facts(key, before_f, False) if before_f.covered_by(first) else None

period = dict(start=ctx.t_month(f.start), end=ctx.t_month(f.end))
if previous is not None:
    st.caption(ctx.t("overview.period", pstart=ctx.t_month(prev_f.start),
                     pend=ctx.t_month(prev_f.end), **period))
else:
    st.caption(ctx.t("overview.period_no_previous", n=f.months, **period))

if (current["orders"] > 0).sum() == 0:
    st.warning(ctx.t("overview.empty"))
    st.stop()

components.kpi_cards(ctx, overview.kpis(current, previous, before))

monthly = data.monthly_totals(key, f)
labels = {k: ctx.t(f"series.{k}") for k in ("revenue", "gross_profit", "account_profit")}
labels.update(title=ctx.t("overview.trend_title"), x=ctx.t("axis.month"),
              y=ctx.t("axis.amount", currency=ctx.currency))
st.plotly_chart(charts.trend_chart(monthly, labels, ctx.lang, ctx.currency), key="trend")

st.subheader(ctx.t("overview.top_title", n=overview.TOP_N_DEFAULT))
components.show_accounts(ctx, overview.top_accounts(current, previous))
st.caption(ctx.t("overview.top_caption"))

with st.expander(ctx.t("overview.how")):
    st.markdown(ctx.t("overview.how_body"))
