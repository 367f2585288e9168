"""Admin: who may sign in, with which role and scope, and the audit log of every change."""

import streamlit as st

from kamdash.ui import admin as ui
from kamdash.ui import data, shell

ctx = shell.context()
if not ctx.actor.is_admin:
    data.refuse()
v = ui.load(ctx)
st.title(ctx.t("admin.title"))
st.caption(ctx.t("admin.intro"))
st.dataframe(ui.entitlements_table(ctx, v), hide_index=True, width="stretch", key="admin_table")
st.caption(ctx.t("admin.check.caption"))
st.subheader(ctx.t("admin.edit"))
ui.editor(ctx, v)
st.subheader(ctx.t("admin.log"))
ui.audit_log(ctx, v)
