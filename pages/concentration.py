"""Value concentration: Pareto, Lorenz, whale curve, ABC tiers, concentration over time."""

import streamlit as st

from kamdash.analytics import pareto
from kamdash.ui import concentration as view
from kamdash.ui import data, shell

ctx = shell.context()
f, key = ctx.filters, ctx.data_key
st.title(ctx.t("conc.title"))
st.caption(ctx.t("conc.period", start=ctx.t_month(f.start), end=ctx.t_month(f.end)))

coverage = data.data_coverage(key)
value = view.value_selector(ctx, coverage)
facts = data.customer_facts(key, f)
pop = pareto.population(facts, value)  # a slice of the facts (customers with an order come first)
order = pareto.order_by(pop, value)  # ranked once: readouts and tiers
if pop.empty:
    st.warning(ctx.t("overview.empty"))
    st.stop()

# 1. Readouts, Pareto and Lorenz curves
r = pareto.readouts(pareto.sorted_values(pop, value, order), ordered=True)
view.readouts(ctx, r, value)
if r["total"] > 0:
    view.curves(ctx, pop, value, r)

# 2. Whale curve on account profit, worst loss-makers and why
view.whale(ctx, facts, coverage)

# 3. ABC tiers with adjustable cut-offs
st.subheader(ctx.t("conc.tiers_header", value=view.value_name(ctx, value).lower()))
cutoffs = view.cutoffs(ctx)
view.tier_table(ctx, pareto.abc_summary(pop, value, cutoffs, order), value, cutoffs)
st.caption(ctx.t("conc.tiers_caption"))

# 4. Concentration over time, 5. breakdown by a dimension, 6. drill-down with downloads
view.over_time(ctx, value)
view.breakdown(ctx, facts, value)
view.drilldown(ctx, facts, value, cutoffs)

with st.expander(ctx.t("conc.how")):
    st.markdown(ctx.t("conc.how_body"))
