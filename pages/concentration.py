"""Value concentration: Pareto, Lorenz, whale curve, ABC tiers, concentration over time."""

import streamlit as st

from kamdash.ui import concentration as ui
from kamdash.ui import data, shell

ctx = shell.context()
f, key = ctx.filters, ctx.data_key
st.title(ctx.t("conc.title"))
st.caption(ctx.t("conc.period", start=ctx.t_month(f.start), end=ctx.t_month(f.end)))

coverage = data.data_coverage(key)
value = ui.value_selector(ctx, coverage)
c = ui.concentration(key, f, value)
if c.empty:
    st.warning(ctx.t("overview.empty"))
    st.stop()

# 1. Readouts, Pareto and Lorenz curves
ui.readouts(ctx, c.readouts, value)
if c.pareto is not None:
    ui.curves(ctx, c)

# 2. Whale curve on account profit, worst loss-makers and why
ui.whale(ctx, c, coverage)

# 3. ABC tiers with adjustable cut-offs
st.subheader(ctx.t("conc.tiers_header", value=ui.value_name(ctx, value).lower()))
cutoffs = ui.cutoffs(ctx)
ui.tier_table(ctx, ui.tiers(c, cutoffs), value, cutoffs)
st.caption(ctx.t("conc.tiers_caption"))

# 4. Concentration over time, 5. breakdown by a dimension, 6. drill-down with downloads
ui.over_time(ctx, value)
ui.breakdown(ctx, c)
ui.drilldown(ctx, c, cutoffs)

with st.expander(ctx.t("conc.how")):
    st.markdown(ctx.t("conc.how_body"))
