"""The Data page's way back: restore the sales database kept by the last import.

An import keeps the database it replaces as ``<file>.previous`` (``store.keep_backup``); this
offers to put it back (asking first), as ``python -m kamdash restore`` does. Admins only in
team mode; the check runs again where the file is swapped.
"""

from __future__ import annotations

import streamlit as st

from kamdash import config, i18n, store
from kamdash.ui import data
from kamdash.views import data as view


def render(lang: str, v: view.DataPage) -> None:
    tr = lambda k, **kw: i18n.t(k, lang, **kw)  # noqa: E731
    if v.backup_kept is None or not data.actor().is_admin:
        return
    st.divider()
    st.subheader(tr("backup.title"))
    when = v.backup_kept.strftime("%Y-%m-%d %H:%M")
    st.caption(tr("backup.caption", when=when))
    with st.popover(tr("backup.restore"), icon=":material/history:"):
        st.write(tr("backup.confirm"))
        if st.button(tr("backup.restore_yes"), key="backup_restore", type="primary"):
            restore(lang)


def restore(lang: str) -> None:
    if not data.actor().is_admin:
        data.refuse()
    db = config.db_path()
    data.release_if_changed(config.db_target())
    try:
        store.restore_backup(db)
    except store.StoreError as exc:
        st.error(i18n.t("backup.failed", lang, detail=str(exc)))
        return
    data.release_if_changed(config.db_target())
    st.session_state["ingest.done"] = i18n.t("backup.done", lang)
    st.rerun()
