"""My accounts: the account manager's week. Health score (with its backtest), cross-sell
whitespace, next best actions ranked by money, and the revenue forecast, for the accounts
passing the sidebar filters (an account manager usually filters to themself)."""

import streamlit as st

from kamdash.ui import my_accounts as ui
from kamdash.ui import lines, shell

ctx = shell.context()
st.title(ctx.t("my.title"))
weights = ui.weights_editor(ctx)
v = ui.load(ctx, weights)
if v is None or v.accounts.empty:
    st.warning(ctx.t("my.empty"))
    st.stop()
st.caption(ctx.t("my.intro", now=ctx.t_month(v.now), n=len(v.accounts)))

tabs = st.tabs([ctx.t(f"my.tab.{k}") for k in ("actions", "health", "backtest", "whitespace", "forecast")])
with tabs[0]:
    ui.actions_section(ctx, v)
with tabs[1]:
    lines.note(ctx, "health")
    ui.health_section(ctx, v)
with tabs[2]:
    ui.backtest_section(ctx, v)
with tabs[3]:
    ui.whitespace_section(ctx, v)
with tabs[4]:
    ui.forecast_section(ctx, v)
