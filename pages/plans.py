"""Account plans: every plan tracked against actuals (on track / at risk / off track),
filterable by owner, key-account type and status; each row opens the account. Below: overdue
actions per owner, and the key accounts that have no plan yet."""

import streamlit as st

from kamdash.ui import account as ui
from kamdash.ui import shell

ctx = shell.context()
st.title(ctx.t("plans.title"))
st.caption(ctx.t("plans.intro", as_of=ctx.date(ctx.facts["as_of"])))

table = ui.portfolio(ctx)
if table.empty:
    st.info(ctx.t("plans.none"))
else:
    shown = ui.portfolio_filters(ctx, table)
    ui.portfolio_counts(ctx, shown)
    if shown.empty:
        st.warning(ctx.t("plans.none_match"))
    else:
        ui.portfolio_table(ctx, shown)
    st.caption(ctx.t("acct.projection_method", as_of=ctx.date(ctx.facts["as_of"])))
    st.caption(ctx.t("plans.status_rule"))
    ui.overdue_section(ctx)
ui.unplanned_section(ctx)
