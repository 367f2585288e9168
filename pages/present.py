"""Present: the workshop storyline, one large slide at a time, exported to PowerPoint or PDF."""

import streamlit as st

from kamdash.ui import present as ui
from kamdash.ui import shell

ui.setup()
ctx = shell.context()
scenarios = ui.scenarios()

with st.expander(ctx.t("present.setup"), icon=":material/tune:"):
    st.caption(ctx.t("present.intro"))
    order = ui.chooser(ctx, scenarios)
if not order:
    st.info(ctx.t("present.empty_selection"))
    st.stop()

i = ui.navigator(ctx, order, scenarios)
with st.spinner():
    slide = ui.build_slide(ctx, order[i], scenarios)
ui.show(ctx, slide, order[i].replace(":", "_"))

st.divider()
ui.exports(ctx, order, scenarios)
