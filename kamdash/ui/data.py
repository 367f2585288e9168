"""Cached access to the sales database for pages.

One backend per configured target, reopened when the file changes (an import or a demo rebuild
swaps in a new file). Query results are cached by the data version and the filter values, so a
new load invalidates them. Queries run under a lock: one DuckDB connection is shared by all
browser sessions (threads) of this server.
"""

from __future__ import annotations

import os
import threading

import duckdb
import streamlit as st

from kamdash import config, queries, store

_registry_lock = threading.Lock()
_backends: dict[str, tuple] = {}  # target -> (signature, backend, query lock)


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


def release_if_changed(target: str) -> None:
    """Close the backend of ``target`` if the file behind it changed or went away.

    DuckDB reuses an open database instance for the same path in one process, so the old
    connection must be closed before the new file can be seen.
    """
    with _registry_lock:
        cur = _backends.get(target)
        if cur and cur[0] != signature(target):
            with cur[2]:
                try:
                    cur[1].disconnect()
                finally:
                    _backends.pop(target, None)


def backend():
    """(backend, lock) for the configured sales database."""
    target = config.db_target()
    release_if_changed(target)
    with _registry_lock:
        cur = _backends.get(target)
        if cur is None:
            cur = (signature(target), queries.connect(target), threading.RLock())
            _backends[target] = cur
        return cur[1], cur[2]


def run(fn, *args, **kwargs):
    """Run a query-layer function against the shared backend, serialised by its lock."""
    b, lock = backend()
    with lock:
        return fn(b, *args, **kwargs)


@st.cache_data(show_spinner=False, max_entries=16)
def database_status(target: str, sig) -> store.DatabaseStatus:
    """Whether the sales database can be used (cached per file version)."""
    path = config.db_path(target)
    if path is None:
        try:
            run(queries.schema_version)
            return store.DatabaseStatus(target)
        except Exception as exc:  # any backend error is shown to the user with the target
            return store.DatabaseStatus(target, "unreachable", str(exc).splitlines()[0])
    return store.check_sales_db(path)


@st.cache_data(show_spinner=False, max_entries=8)
def data_facts(data_key) -> dict:
    return run(queries.data_facts)


@st.cache_data(show_spinner=False, max_entries=8)
def dimension_options(data_key) -> dict:
    return run(queries.dimension_options)


@st.cache_data(show_spinner=False, max_entries=8)
def value_labels(data_key, lang: str) -> dict:
    return run(queries.value_labels, lang)


@st.cache_data(show_spinner=False, max_entries=64)
def customer_facts(data_key, filters: queries.Filters, attributes: bool = True):
    return run(queries.customer_facts, filters, attributes)


@st.cache_data(show_spinner=False, max_entries=64)
def monthly_totals(data_key, filters: queries.Filters):
    return run(queries.monthly_totals, filters)


@st.cache_data(show_spinner=False, max_entries=64)
def overview(data_key, filters: queries.Filters, first_month):
    from kamdash.views import overview as view

    return run(view.build, filters, first_month)


@st.cache_data(show_spinner=False, max_entries=8)
def data_coverage(data_key) -> dict:
    return run(queries.data_coverage)


@st.cache_data(show_spinner=False, max_entries=32)
def customer_period_facts(data_key, filters: queries.Filters, grain: str):
    return run(queries.customer_period_facts, filters, grain)


TIER_CUTOFFS_SETTING = "concentration.tier_cutoffs"


@st.cache_data(show_spinner=False, max_entries=4)
def _saved_tier_cutoffs(user_db: str):
    return store.get_setting(user_db, TIER_CUTOFFS_SETTING, None)


def tier_cutoffs(user_db: str) -> tuple[float, float]:
    """The saved ABC cut-offs (user database setting), else the defaults (80% / 95%).

    A user database that cannot be read right now (locked by another process, damaged) gives
    the defaults for this rerun; the failure is not cached, so the next rerun tries again."""
    try:
        a, b = (float(x) for x in _saved_tier_cutoffs(user_db))
        if 0 < a < b <= 1:
            return (a, b)
    except (TypeError, ValueError, OSError, duckdb.Error, store.StoreError):
        pass
    return queries.TIER_CUTOFFS_DEFAULT


def save_tier_cutoffs(user_db: str, cutoffs: tuple[float, float]) -> None:
    store.put_setting(user_db, TIER_CUTOFFS_SETTING, [float(c) for c in cutoffs])
    _saved_tier_cutoffs.clear()


def user_db() -> str:
    return str(config.user_db_path(config.db_path()))
