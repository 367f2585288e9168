"""Account 360: one account's profile, history, mix, cost-to-serve, value, group and referrals,
peers; its plan (goals, solution, actions, notes) tracked against actuals, with history and a
one-pager export. Open it from any account list, or as /account?customer=<id>."""

import streamlit as st

from kamdash.ui import account as ui
from kamdash.ui import safe, shell

ctx = shell.context()
author = shell.author(ctx)
st.title(ctx.t("acct.title"))
cid = ui.pick(ctx)
if cid is None:
    st.info(ctx.t("acct.pick.first"))
    st.stop()

v = ui.account(ctx, cid)
if v is None:
    st.warning(ctx.t("acct.unknown", id=safe.md(cid)))
    st.stop()
ui.profile(ctx, v)

tabs = st.tabs([ctx.t("acct.tab.overview"), ctx.t("acct.tab.plan"), ctx.t("acct.tab.history")],
               key="acct_tab", on_change="rerun")  # only the open tab runs
if tabs[0].open:
    with tabs[0]:
        ui.loss_causes(ctx, v)
        ui.history_and_mix(ctx, v)
        ui.network(ctx, v)

if tabs[1].open:
    with tabs[1]:
        ui.saved_note(ctx)
        ui.clashes_note(ctx)
        ui.tracking(ctx, cid)
        if not ui.conflict(ctx, cid, author):
            ui.editor(ctx, cid, author)

if tabs[2].open:
    with tabs[2]:
        ui.history(ctx, cid)

st.divider()
st.subheader(ctx.t("acct.export"))
st.caption(ctx.t("acct.export.caption"))
ui.downloads(ctx, v)
