"""Cached access to the sales database for pages.

One engine (``kamdash.engine``) per configured target, reopened when the file changes (an import
or a demo rebuild swaps in a new file); views are handed it. Results are cached by the data
version and the filter values, so a new load invalidates them. The engine serialises its
queries under its own lock: one DuckDB connection is shared by all browser sessions (threads)
of this server.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import os
import threading

import duckdb
import streamlit as st

from kamdash import access, config, i18n, store
from kamdash import engine as engines
from kamdash.views.common import ABC_CUTOFFS_DEFAULT, DIMENSIONS, TIER_CUTOFFS_SETTING, Filters, abc_cutoffs

_registry_lock = threading.Lock()
_engines: dict[str, tuple] = {}  # target -> (signature, engine)
LONG_IDS = 32  # customer-id tuples longer than this are keyed by a digest (``ids_key``)


@functools.lru_cache(maxsize=512)
def ids_key(ids: tuple[str, ...] | None):
    """What a cached function is keyed on for a tuple of customer ids (a scope, a KA type or
    segment filter): a digest of every id for a long one (Streamlit's hasher would take each id
    in turn on every call, milliseconds per cached call with a manager's scope), the tuple itself
    for a short one, None for None. Different ids never share a key (BLAKE2b over the ids'
    ``repr``, which is unambiguous, and their count)."""
    if ids is None or len(ids) <= LONG_IDS:
        return ids
    return ("ids", len(ids), hashlib.blake2b(repr(tuple(ids)).encode(), digest_size=32).hexdigest())


def filters_key(f: Filters) -> tuple:
    """A ``Filters`` value as cached functions are keyed on it: every field, with the scope and
    the customer ids as ``ids_key`` gives them."""
    return tuple((fl.name, ids_key(getattr(f, fl.name)) if fl.name in ("scope", "customer_ids")
                  else getattr(f, fl.name)) for fl in dataclasses.fields(f))


# for every cached function that takes a Filters value (``@st.cache_data(hash_funcs=HASH_FUNCS)``)
HASH_FUNCS = {Filters: filters_key}


def signature(target: str) -> tuple | None:
    """Identity of the database file (inode, mtime, size); None for a non-file target."""
    path = config.db_path(target)
    if path is None:
        return ("url", target)
    try:
        s = os.stat(path)
    except FileNotFoundError:
        return None
    return (s.st_ino, s.st_mtime_ns, s.st_size)


@st.cache_resource(show_spinner=False)
def sweep_once(target: str) -> bool:
    """Once per server process and database: remove what interrupted imports left behind
    (temporary folders of processes that no longer run, half-built database files)."""
    from kamdash.ingest import engine

    path = config.db_path(target)
    try:
        engine.sweep_stale(None, path)
    except OSError:  # tidying up never stops the app
        pass
    return True


def release_if_changed(target: str) -> None:
    """Close the engine of ``target`` if the file behind it changed or went away.

    DuckDB reuses an open database instance for the same path in one process, so the old
    connection must be closed before the new file can be seen.
    """
    with _registry_lock:
        cur = _engines.get(target)
        if cur and cur[0] != signature(target):
            _close(target, cur)


def _close(target: str, cur: tuple) -> None:
    with cur[1].lock:  # no query of another session is running on it
        try:
            cur[1].close()
        finally:
            _engines.pop(target, None)


def engine() -> engines.Engine:
    """The engine of the configured sales database (opened on first use, reopened when the file
    changed)."""
    target = config.db_target()
    release_if_changed(target)
    with _registry_lock:
        cur = _engines.get(target)
        if cur is None:
            cur = (signature(target), engines.connect(target))
            _engines[target] = cur
        return cur[1]


@st.cache_data(show_spinner=False, max_entries=16)
def database_status(target: str, sig) -> store.DatabaseStatus:
    """Whether the sales database can be used (cached per file version)."""
    path = config.db_path(target)
    if path is None:
        try:
            engine().schema_version()
            return store.DatabaseStatus(target)
        except Exception as exc:  # any backend error is shown to the user with the target
            return store.DatabaseStatus(target, "unreachable", str(exc).splitlines()[0])
    if not path.exists() or target != config.db_target():
        return store.check_sales_db(path)
    try:
        engine()  # the pages' connection, opened first: the check below then reuses the open file
    except duckdb.Error:
        return store.check_sales_db(path)  # says what is wrong with the file
    status = store.check_sales_db(path)
    if not status.ok:  # the ways out (upgrade, rebuild, import) need the file closed
        with _registry_lock:
            cur = _engines.get(target)
            if cur:
                _close(target, cur)
    return status


def landing_sent() -> None:
    """The landing page has been sent: the server's warm-up may now load what the other pages
    need (``kamdash.ui.serve``)."""
    from kamdash.ui import serve

    serve.LANDING_SENT.set()


@contextlib.contextmanager
def page_run():
    """Around a page's run in the app: tells the server's warm-up (``kamdash.ui.serve``) that a
    visitor's page is running, and when it has been sent, so that the warm-up of the other
    pages' data starts after the first page a visitor opened (whichever it is) instead of
    competing with it for the cores and the engine."""
    from kamdash.ui import serve

    serve.PAGE_RUNNING.set()
    try:
        yield
    finally:
        serve.LANDING_SENT.set()


@st.cache_data(show_spinner=False, max_entries=8)
def data_facts(data_key) -> dict:
    return engine().data_facts()


@st.cache_data(show_spinner=False, max_entries=8)
def dimension_options(data_key) -> dict:
    return engine().dimension_options()


def scoped_options(data_key, scope: tuple[str, ...] | None) -> dict:
    """The filter options of a user's scope (every value when the scope is None)."""
    return _scoped_options(data_key, ids_key(scope), scope)


@st.cache_data(show_spinner=False, max_entries=64)
def _scoped_options(data_key, scope_key, _scope: tuple[str, ...] | None) -> dict:
    if _scope is None:
        return dimension_options(data_key)
    return access.options_within(scope_customers(data_key), _scope, DIMENSIONS)


@st.cache_data(show_spinner=False, max_entries=8)
def value_labels(data_key, lang: str) -> dict:
    return engine().value_labels(lang)


@st.cache_data(show_spinner=False, max_entries=64, hash_funcs=HASH_FUNCS)
def overview(data_key, filters: Filters, first_month):
    from kamdash.views import overview as view

    return view.build(engine(), filters, first_month)


@st.cache_data(show_spinner=False, max_entries=4)
def scope_customers(data_key):
    """customer_id, region, account_manager of every customer (what scopes resolve against)."""
    return engine().scope_customers()


@st.cache_data(show_spinner=False, max_entries=8)
def data_coverage(data_key) -> dict:
    return engine().data_coverage()


# ---------------------------------------------------------------- user database (settings)


def user_db_path():
    return config.user_db_path(config.db_path())


def user_signature() -> tuple | None:
    """Identity of the user database file, so cached reads see every saved change."""
    try:
        s = os.stat(user_db_path())
    except FileNotFoundError:
        return None
    return (str(user_db_path()), s.st_ino, s.st_mtime_ns, s.st_size)


@st.cache_data(show_spinner=False, max_entries=64)
def _setting(key: str, sig) -> object:
    return store.get_setting(user_db_path(), key)


def setting(key: str, default=None):
    """A saved setting from the user database (cached until the file changes).

    A user database that cannot be read right now (locked by another process for a moment,
    damaged) gives ``default`` for this rerun; failures are not cached, the next rerun tries
    again."""
    try:
        value = _setting(key, user_signature())
    except (OSError, duckdb.Error, store.StoreError):
        return default
    return default if value is None else value


def actor() -> access.Actor:
    """The acting user of this rerun (``kamdash.ui.auth``)."""
    from kamdash.ui import auth

    return auth.actor()


def refuse(exc: access.AccessDenied | None = None) -> None:
    """Say that this user's role does not allow the change, and stop this rerun (nothing was
    written: the check runs before any write)."""
    from kamdash.ui import shell

    lang = st.session_state.get(shell.SHOWN_LANG_KEY, config.default_language())
    a = actor()
    st.error(i18n.t("auth.denied", lang, role=i18n.t(f"auth.role.{a.role}", lang)))
    st.stop()


def may_edit_settings() -> bool:
    return actor().can_edit_settings


def put_setting(key: str, value, audited: bool = True) -> None:
    """Save a shared setting as the acting user (directors and admins; others are refused)."""
    a = actor()
    try:
        a.require_settings()
    except access.AccessDenied as exc:
        refuse(exc)
    store.put_setting(user_db_path(), key, value, a.who, audited=audited)


def save_scenario(name: str, params: dict, results: dict, author: str) -> str:
    a = actor()
    try:
        a.require_scenario()
    except access.AccessDenied as exc:
        refuse(exc)
    # signed in: the scenario is the user's own (their e-mail, which the delete rule compares
    # with); single-user mode: the name typed on the page
    return store.put_scenario(user_db_path(), name, params, results, a.who or author)


def delete_scenario(scenario_id: str) -> None:
    """Delete a scenario: its author, a director or an admin."""
    a = actor()
    found = store.get_scenario(user_db_path(), scenario_id)
    try:
        a.require_scenario(found["created_by"] if found else None)
    except access.AccessDenied as exc:
        refuse(exc)
    store.delete_scenario(user_db_path(), scenario_id, a.who)


def tier_cutoffs() -> tuple[float, float]:
    """The saved ABC cut-offs (user database setting), else the defaults (80% / 95%)."""
    return abc_cutoffs(setting(TIER_CUTOFFS_SETTING, ABC_CUTOFFS_DEFAULT))


def save_tier_cutoffs(cutoffs: tuple[float, float]) -> None:
    put_setting(TIER_CUTOFFS_SETTING, [float(c) for c in cutoffs])


@st.cache_data(show_spinner=False, max_entries=4)
def _assignment(sig):
    return store.get_assignment(user_db_path())


def assignment():
    """The stored customer assignment (segment and KA types per customer)."""
    return _assignment(user_signature())


# ---------------------------------------------------------------- segments and KA types


@st.cache_data(show_spinner=False, max_entries=4)
def customer_links(data_key):
    return engine().customer_links()
