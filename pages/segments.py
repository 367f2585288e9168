"""Segments: data-driven customer groups (scikit-learn), their map, profiles and names."""

import streamlit as st

from kamdash.ui import components
from kamdash.ui import segments as ui
from kamdash.ui import shell

ctx = shell.context()
st.title(ctx.t("seg.title"))
st.caption(ctx.t("seg.intro", start=ctx.t_month(ctx.filters.start), end=ctx.t_month(ctx.filters.end)))
if ctx.filters.customer_ids is not None:
    st.info(ctx.t("seg.own_filters"))

ui.controls(ctx)
with st.spinner(ctx.t("seg.computing")):
    seg = ui.compute(ctx)
if seg is None:
    st.warning(ctx.t("seg.empty"))
    st.stop()

st.caption(ctx.t("seg.summary", n=f"{len(seg.features):,}", k=seg.result.k,
                 method=ctx.t(f"seg.method.{seg.result.method}")))
ui.show_choice(ctx, seg)

fig, note = ui.segment_map(ctx, seg)
components.chart(ctx, fig, "segment_map", "kamdash-segment-map")
st.caption(note)

st.subheader(ctx.t("seg.profiles"))
components.table(ctx, ui.profile_table(ctx, seg), "segment_table", "kamdash-segments")
components.chart(ctx, ui.profile_heatmap(ctx, seg), "profile_heatmap", "kamdash-segment-profiles")
st.caption(ctx.t("seg.heat.caption"))

st.subheader(ctx.t("seg.names"))
st.caption(ctx.t("seg.names.caption"))
ui.name_editor(ctx, seg)

st.subheader(ctx.t("seg.download"))
st.caption(ctx.t("seg.download.caption"))
ui.download(ctx, seg, "seg_download")

with st.expander(ctx.t("seg.how")):
    st.markdown(ctx.t("seg.how_body"))
