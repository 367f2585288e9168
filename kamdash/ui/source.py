"""The company-source panel of the Data page: where the data comes from, and "Refresh from
source" with its progress. The refresh (kamdash.sync) builds a new database and swaps it in
atomically; the shell sees the new file on the next rerun. The password comes from Streamlit
secrets (``[source] password``) or KAMDASH_SOURCE_PASSWORD, never from the saved source."""

from __future__ import annotations

import streamlit as st

from kamdash import config, i18n, store
from kamdash.ui import data, importer
from kamdash.views import data as view

KEY = "source."


def _secrets() -> dict:
    try:
        return dict(st.secrets.get("source", {}))
    except Exception:  # no secrets file: the environment variable is used
        return {}


def refreshed_at(built_at: str, lang: str) -> str:
    """``built_at`` (ISO, UTC) as a date and time for the sidebar."""
    when = view.refreshed(built_at)
    if when is None:
        return built_at
    return f"{i18n.fmt_date(when.date(), lang)} {when:%H:%M} UTC"


def sidebar_line(facts: dict, lang: str) -> str | None:
    """"Source: … · refreshed …" when the database was synced from a company source."""
    if facts.get("lines_at") != "source":
        return None
    return i18n.t("sync.sidebar", lang, source=facts.get("source", ""),
                  when=refreshed_at(facts.get("built_at", ""), lang))


def saved_source() -> dict | None:
    """The company source saved in the user database (admins only: reading it imports Ibis,
    which only the Data page's source panel pays for, not every page's sidebar)."""
    if not data.actor().is_admin:
        return None
    from kamdash import sync

    return sync.saved_source(data.user_db_path())


def render(ctx, v: view.DataPage) -> None:
    from kamdash import sync
    from kamdash.ingest.sources import Source, SourceError

    tr = lambda k, **kw: i18n.t(k, ctx.lang, **kw)  # noqa: E731
    if not data.actor().is_admin:  # team mode: only admins change the sales data
        return
    st.subheader(tr("sync.header"))
    done = st.session_state.pop(KEY + "done", None)
    if done:
        st.success(done)
    saved = v.saved_source
    if saved is None:
        st.caption(tr("sync.none"))
        return
    source = Source.from_dict(saved.settings)
    tables = ", ".join(f"{role} = {name}" for role, name in saved.tables)
    st.caption(tr("sync.source", url=saved.url, tables=tables) if tables else tr("sync.source_url", url=saved.url))
    if v.synced and v.refreshed is not None:
        st.caption(tr("sync.last_refresh", when=f"{i18n.fmt_date(v.refreshed.date(), ctx.lang)} {v.refreshed:%H:%M} UTC"))
    full = st.checkbox(tr("sync.full"), key=KEY + "full")
    if not st.button(tr("sync.button"), type="primary", help=tr("sync.help"), key=KEY + "go"):
        return
    bar = st.progress(0.0, text=tr("sync.step.connect"))

    def progress(fraction: float, step: str) -> None:
        bar.progress(min(1.0, max(0.0, fraction)), text=tr(f"sync.step.{step}"))

    if not data.actor().is_admin:
        data.refuse()
    data.release_if_changed(config.db_target())
    store.keep_backup(config.db_path())  # restorable from this page, as after an import
    try:
        result = sync.run(config.db_path(), source, sync.password_for(source, _secrets()), full=full,
                          user_db=data.user_db_path(), progress=progress)
    except (SourceError, store.StoreError) as exc:
        bar.empty()
        st.error(tr("sync.failed"))
        problems = getattr(exc, "problems", None)
        if problems:
            st.dataframe(importer.problem_table(view.problems(problems), ctx.lang), hide_index=True, width="stretch")
        else:
            st.code(str(exc))
        return
    bar.empty()
    if result.mode == "unchanged":
        st.session_state[KEY + "done"] = tr("sync.unchanged", when=refreshed_at(result.meta.get("built_at", ""), ctx.lang),
                                            seconds=f"{result.seconds:.1f}")
    else:
        st.session_state[KEY + "done"] = tr("sync.done", mode=tr(f"sync.mode.{result.mode}"), months=result.months,
                                            total=result.months_total, seconds=f"{result.seconds:.1f}")
    st.rerun()
