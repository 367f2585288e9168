"""Sign-in and the acting user of a session.

**Single-user mode** (no ``[auth]`` section in Streamlit's secrets, what ``make run`` starts):
nobody signs in, the server listens on 127.0.0.1 only (``kamdash.ui.serve``) and the session
acts with full access (``access.FULL``); the sidebar says so.

**Team mode** (``[auth]`` configured): Streamlit's own ``st.login`` (OpenID Connect through
Authlib) signs the user in; the identity cookie only says who they are. What they may see and
do comes from their entitlement in the user database, read again on every rerun, so a changed
or removed entitlement applies at the user's next click. Without one they see "no access yet"
and the admins to ask, and no data.

``actor()`` is the acting user of this rerun for the code that saves (``data``, ``plans``),
``scope()`` the customers they may see for the engine (``Filters.scope``).
"""

from __future__ import annotations

import streamlit as st

from kamdash import access, config, i18n
from kamdash.ui import safe

ACTOR_KEY = "kamdash.actor"
NOBODY = access.Actor("", "viewer", frozenset())  # team mode before the entitlement is read


def team_mode() -> bool:
    """True when sign-in is configured (an ``[auth]`` section in the secrets)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all: single-user mode
        return False


def email() -> str | None:
    """The signed-in user's e-mail (lower case), None when nobody is signed in."""
    try:
        if not st.user.is_logged_in:
            return None
        value = st.user.get("email")
    except Exception:  # no sign-in configured
        return None
    return str(value).strip().lower() if value else None


def actor() -> access.Actor:
    """Who acts in this rerun: full access in single-user mode; in team mode the signed-in
    user's role and scope (set by ``gate`` on every rerun), nobody before that."""
    if not team_mode():
        return access.FULL
    return st.session_state.get(ACTOR_KEY, NOBODY)


def user_db():
    return config.user_db_path(config.db_path())


def gate(lang: str) -> access.Entitlement | None:
    """Team mode: the sign-in page for a visitor who is not signed in, the "no access yet" page
    for a user without an entitlement (both stop the script); else the user's entitlement,
    read from the user database now. Single-user mode: None, and the sidebar note."""
    tr = lambda key, **kw: i18n.t(key, lang, **kw)  # noqa: E731
    if not team_mode():
        st.session_state.pop(ACTOR_KEY, None)
        st.sidebar.caption(tr("auth.single_user", address=_address()))
        return None
    st.session_state[ACTOR_KEY] = NOBODY
    who = email()
    if who is None:
        st.title(tr("app.title"))
        st.info(tr("auth.sign_in_needed"))
        st.button(tr("auth.sign_in"), type="primary", key="auth_sign_in", on_click=st.login)
        st.stop()
    try:
        ent = entitlement(who)
    except Exception as exc:  # unreadable user database: nothing shown this rerun, and not
        # "no access yet", which would tell an entitled user that they have none
        st.title(tr("app.title"))
        st.warning(tr("auth.unreadable", reason=safe.md(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")))
        st.stop()
    if ent is not None:  # until the scope is resolved against the data: the role, no customers
        st.session_state[ACTOR_KEY] = access.Actor(ent.email, ent.role, frozenset())
    else:
        st.title(tr("app.title"))
        st.warning(tr("auth.no_access", email=safe.md(who)))
        try:
            admins = access.admins(user_db())
        except Exception:
            admins = []
        if admins:
            st.markdown(tr("auth.ask_admins") + "\n\n" + "\n".join(f"- {safe.md(a)}" for a in admins))
        else:
            st.markdown(tr("auth.no_admins"))
        st.button(tr("auth.sign_out"), key="auth_sign_out", on_click=st.logout)
        st.stop()
    return ent


# A user database written less than this long ago is read again even when its signature is
# unchanged: two writes within the file system's timestamp granularity can leave it equal.
RECENT_WRITE_S = 2.0


def user_db_signature(path) -> tuple | None:
    """Identity of the user database as stored right now: device, inode, modification time and
    size of the file and of its write-ahead log (a committed change not yet checkpointed is
    there). None when the file does not exist, or was written in the last ``RECENT_WRITE_S``
    (then its signature may not yet tell one write from the next)."""
    import os
    import time

    try:
        s = os.stat(path)
    except FileNotFoundError:
        return None
    try:
        w = os.stat(f"{path}.wal")
        wal = (w.st_ino, w.st_mtime_ns, w.st_size)
    except FileNotFoundError:
        w, wal = None, None
    newest = max(s.st_mtime_ns, w.st_mtime_ns if w else 0, s.st_ctime_ns, w.st_ctime_ns if w else 0)
    if time.time_ns() - newest < RECENT_WRITE_S * 1e9:
        return None
    return (str(path), s.st_dev, s.st_ino, s.st_mtime_ns, s.st_size, wal)


@st.cache_data(show_spinner=False, max_entries=1024)
def _stored_entitlement(path: str, signature: tuple, who: str) -> access.Entitlement | None:
    return access.get(path, who)


def entitlement(who: str) -> access.Entitlement | None:
    """The stored entitlement of ``who``, as the user database holds it now: read again
    whenever the file changed (any write: the Admin page, the command line, another server),
    else the read of the same file version (opening the database on every rerun of every
    session costs CPU under the interpreter lock)."""
    path = user_db()
    sig = user_db_signature(path)
    if sig is None:  # no file yet (no entitlement), or written a moment ago: read it now
        return access.get(path, who)
    return _stored_entitlement(str(path), sig, who)


def set_actor(ent: access.Entitlement | None, data_key) -> tuple[access.Actor, tuple[str, ...] | None]:
    """The session's actor from the entitlement, resolved against the customers of the data
    version ``data_key``, and their customers as ``Filters.scope`` (sorted; None: every
    customer)."""
    if ent is None:
        return access.FULL, None
    a, scope = _resolved(data_key, ent)
    st.session_state[ACTOR_KEY] = a
    return a, scope


@st.cache_resource(show_spinner=False, max_entries=256)
def _resolved(data_key, ent: access.Entitlement) -> tuple[access.Actor, tuple[str, ...] | None]:
    """An entitlement's actor and scope on one data version, shared by every rerun and session
    of that user (both immutable). The key is the whole entitlement: a changed role or scope is
    a new entry."""
    from kamdash.ui import data

    a = access.actor_for(ent, data.scope_customers(data_key))
    return a, (None if a.scope is None else tuple(sorted(a.scope)))


def sidebar(lang: str, a: access.Actor, total_customers: int) -> None:
    """Team mode: who is signed in, their role and how many accounts they see; sign out."""
    if not team_mode():
        return
    tr = lambda key, **kw: i18n.t(key, lang, **kw)  # noqa: E731
    sb = st.sidebar
    sb.caption(tr("auth.signed_in", email=safe.md(a.who), role=tr(f"auth.role.{a.role}")))
    if a.scope is not None:
        sb.caption(tr("auth.scope_count", n=i18n.fmt_number(len(a.scope), lang),
                      total=i18n.fmt_number(total_customers, lang)))
    sb.button(tr("auth.sign_out"), key="auth_sign_out", on_click=st.logout)


def _address() -> str:
    try:
        return str(st.get_option("server.address") or "127.0.0.1")
    except Exception:
        return "127.0.0.1"
