"""Key accounts: the selected set and how selective it is, KA types by editable rules, group
roll-up, portfolio matrix."""

import streamlit as st

from kamdash.ui import components, data, segments as ui
from kamdash.ui import shell

ctx = shell.context()
st.title(ctx.t("ka.title"))
st.caption(ctx.t("ka.intro", start=ctx.t_month(ctx.filters.start), end=ctx.t_month(ctx.filters.end)))
if ctx.filters.customer_ids is not None:
    st.info(ctx.t("seg.own_filters"))

with st.spinner(ctx.t("seg.computing")):
    ka = ui.key_accounts_of(ctx)  # the first screen needs no segments: they come below
if len(ka.features) < 3:
    st.warning(ctx.t("seg.empty"))
    st.stop()

ui.selection(ctx, ka)
ui.capacity_editor(ctx, ka.rules, len(ka.features))

with st.expander(ctx.t("ka.rules"), expanded=False):
    st.caption(ctx.t("ka.rules.caption"))
    ui.rules_editor(ctx, ka.rules, data.dimension_options(ctx.data_key)["sector"])

left, right = st.columns([3, 5])  # the table needs the room: six columns of counts, money and shares
components.chart(ctx, ui.types_figure(ctx, ka), "ka_types_chart", "kamdash-ka-types", where=left)
components.table(ctx, ui.types_table(ctx, ka), "ka_types_table", "kamdash-ka-types", where=right)
st.caption(ctx.t("ka.types.caption"))

# the segments on the same features, for the stored assignment (the first one stored reruns the
# page, so it is made before the larger sections below) and its download
with st.spinner(ctx.t("seg.computing")):
    seg = ui.compute(ctx, ka)

st.subheader(ctx.t("ka.pf"))
fig, lists, split = ui.portfolio(ctx, ka)
ui.portfolio_chart(ctx, fig)
st.caption(ctx.t("ka.pf.caption", split=ctx.money(split)))
ui.quadrant_tabs(ctx, lists)

st.subheader(ctx.t("ka.groups"))
st.caption(ctx.t("ka.groups.caption"))
groups = ui.rollup_table(ctx, ka)
components.table(ctx, groups, "ka_groups", "kamdash-ka-groups", ids=groups[ctx.t("col.customer_id")],
                 link_after=ctx.t("ka.col.group"), display=ui.shown_without_ids(ctx, groups))

st.subheader(ctx.t("seg.download"))
st.caption(ctx.t("seg.download.caption"))
ui.download(ctx, seg, "ka_download")

with st.expander(ctx.t("kasel.how_title")):
    st.markdown(ctx.t("kasel.how_body"))
