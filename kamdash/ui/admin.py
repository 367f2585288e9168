"""The Admin page: who may sign in (entitlements: role and scope) and the audit log.

Admins only: the page is listed for them alone, and ``access.save`` / ``access.remove`` check
the role again. An edit names the version it started from, so an admin who saves over a change
made meanwhile by another admin is told so and shown the stored entitlement, instead of
overwriting it.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from kamdash import access, export
from kamdash.ui import auth, data, safe
from kamdash.views import admin as view

BASE_KEY = "kamdash.admin.base"  # (email, version) the form was loaded from
NEXT_KEY = "kamdash.admin.next"  # the user to pick on the next rerun (after a save or removal)
NEW = ""  # the "new user" choice of the picker


def load(ctx) -> view.AdminView:
    """The page's view: entitlements checked against the data the user's session reads."""
    return view.build(auth.user_db(), data.scope_customers(ctx.data_key))


def _check_text(ctx, c: view.EntitlementCheck) -> str:
    if c.missing:
        return ctx.t("admin.check.missing", values=", ".join(c.missing))
    if c.accounts == 0:
        return ctx.t("admin.check.empty")
    return ctx.t("admin.check.ok")


def entitlements_table(ctx, v: view.AdminView) -> pd.DataFrame:
    rows = [c.entitlement for c in v.entitlements]
    return pd.DataFrame({
        ctx.t("admin.col.email"): [e.email for e in rows],
        ctx.t("admin.col.role"): [ctx.t(f"auth.role.{e.role}") for e in rows],
        ctx.t("admin.col.scope"): [ctx.t(f"admin.scope.{e.scope_kind}") for e in rows],
        ctx.t("admin.col.values"): [", ".join(e.scope_values) for e in rows],
        ctx.t("admin.col.accounts"): [ctx.t("admin.accounts.all", n=ctx.number(v.customers)) if c.accounts is None
                                      else ctx.number(c.accounts) for c in v.entitlements],
        ctx.t("admin.col.check"): [_check_text(ctx, c) for c in v.entitlements],
        ctx.t("admin.col.updated"): [e.updated_at.strftime("%Y-%m-%d %H:%M UTC") if e.updated_at else ""
                                     for e in rows],
        ctx.t("admin.col.by"): [e.updated_by for e in rows],
    })


def editor(ctx, v: view.AdminView) -> None:
    """Add a user, or change or remove one."""
    path = auth.user_db()
    current = {c.entitlement.email: c.entitlement for c in v.entitlements}
    if NEXT_KEY in st.session_state:  # set before the picker exists
        st.session_state["admin_pick"] = st.session_state.pop(NEXT_KEY)
    who = st.selectbox(ctx.t("admin.pick"), [NEW, *current], key="admin_pick",
                       format_func=lambda e: ctx.t("admin.new_user") if e == NEW else e)
    cur = current.get(who)
    if st.session_state.get(BASE_KEY, (None,))[0] != who:
        # the form follows the picked user, and remembers the version it was read at
        st.session_state[BASE_KEY] = (who, cur.version if cur else None)
        st.session_state["admin_email"] = who
        st.session_state["admin_role"] = cur.role if cur else "account_manager"
        st.session_state["admin_kind"] = cur.scope_kind if cur else "managers"
        for k in ("regions", "managers"):
            st.session_state[f"admin_values.{k}"] = list(cur.scope_values) if cur and cur.scope_kind == k else []
        st.session_state["admin_ids"] = ", ".join(cur.scope_values) if cur and cur.scope_kind == "customers" else ""
    known = v.known
    email = st.text_input(ctx.t("admin.email"), key="admin_email", disabled=bool(cur), max_chars=200)
    c1, c2 = st.columns(2)
    role = c1.selectbox(ctx.t("admin.role"), view.ROLES, key="admin_role",
                        format_func=lambda r: ctx.t(f"auth.role.{r}"))
    kind = c2.selectbox(ctx.t("admin.scope"), view.SCOPE_KINDS, key="admin_kind",
                        format_func=lambda k: ctx.t(f"admin.scope.{k}"))
    values: list[str] = []
    if kind in ("regions", "managers"):
        options = sorted(known[kind])
        key = f"admin_values.{kind}"
        st.session_state[key] = [v for v in st.session_state.get(key, []) if v in options]
        values = st.multiselect(ctx.t(f"admin.values.{kind}"), options, key=key,
                                format_func=lambda v: ctx.label("region" if kind == "regions" else "account_manager", v))
    elif kind == "customers":
        text = st.text_area(ctx.t("admin.values.customers"), key="admin_ids", help=ctx.t("admin.values.customers.help"))
        values = [v.strip() for v in text.replace("\n", ",").split(",") if v.strip()]
    c1, c2 = st.columns([1, 1])
    if c1.button(ctx.t("admin.save"), type="primary", key="admin_save"):
        base = st.session_state[BASE_KEY][1]
        ent = access.Entitlement(email, role, kind, tuple(values))
        try:
            saved = access.save(path, ent, known, auth.actor().who, base, actor=auth.actor())
        except access.EntitlementError as exc:
            st.error(ctx.t("admin.invalid", detail=safe.md(str(exc))))
        except access.EntitlementConflict as exc:
            st.error(ctx.t("admin.conflict", email=safe.md(exc.email)))
            if exc.theirs is not None:
                st.json(exc.theirs.as_json())
            st.session_state.pop(BASE_KEY, None)  # the next rerun loads what is stored now
        except access.AccessDenied:
            data.refuse()
        else:
            st.session_state.pop(BASE_KEY, None)
            st.session_state[NEXT_KEY] = saved.email
            st.toast(ctx.t("admin.saved", email=safe.md(saved.email)))
            st.rerun()
    if cur is not None and c2.button(ctx.t("admin.remove"), key="admin_remove"):
        try:
            access.remove(path, cur.email, auth.actor().who, st.session_state[BASE_KEY][1], actor=auth.actor())
        except access.EntitlementError as exc:
            st.error(ctx.t("admin.invalid", detail=safe.md(str(exc))))
        except access.EntitlementConflict as exc:
            st.error(ctx.t("admin.conflict", email=safe.md(exc.email)))
            st.session_state.pop(BASE_KEY, None)
        except access.AccessDenied:
            data.refuse()
        else:
            st.session_state.pop(BASE_KEY, None)
            st.session_state[NEXT_KEY] = NEW
            st.rerun()


def audit_log(ctx, v: view.AdminView) -> None:
    log = v.audit
    table = pd.DataFrame({
        ctx.t("admin.log.when"): pd.to_datetime(log["changed_at"]),
        ctx.t("admin.log.who"): log["who"],
        ctx.t("admin.log.kind"): [ctx.t(f"admin.log.kind.{k}") for k in log["kind"]],
        ctx.t("admin.log.key"): log["key"],
        ctx.t("admin.log.action"): [ctx.t(f"admin.log.action.{a}") for a in log["action"]],
        ctx.t("admin.log.old"): log["old"],
        ctx.t("admin.log.new"): log["new"],
    })
    if table.empty:
        st.info(ctx.t("admin.log.empty"))
        return
    st.dataframe(table, hide_index=True, width="stretch", key="admin_log",
                 column_config={ctx.t("admin.log.when"): st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")})
    # the download holds the raw log (column names as stored), not the labels shown
    st.download_button(ctx.t("admin.log.download"), export.csv_bytes(log), file_name="kamdash-audit-log.csv",
                       mime="text/csv", key="admin_log_csv")
