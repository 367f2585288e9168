"""Cached results are shared across sessions by (data version, filters, scope, language): two
scopes never share an entry, equal ones always do (``kamdash.ui.data.ids_key`` /
``filters_key``, the ``hash_funcs`` of every cached function that takes a Filters value)."""

from __future__ import annotations

from datetime import date

import streamlit as st
from hypothesis import given, settings
from hypothesis import strategies as st_

from kamdash.ui import data
from kamdash.views.common import Filters

ids = st_.lists(st_.from_regex(r"C\d{6}", fullmatch=True), min_size=0, max_size=80, unique=True).map(
    lambda v: tuple(sorted(v)))


@settings(max_examples=200, deadline=None)
@given(ids, ids)
def test_two_scopes_never_share_a_key(a, b):
    fa = Filters(start=date(2025, 1, 1), end=date(2025, 12, 1), scope=a)
    fb = Filters(start=date(2025, 1, 1), end=date(2025, 12, 1), scope=b)
    assert (data.filters_key(fa) == data.filters_key(fb)) == (a == b)
    assert (data.ids_key(a) == data.ids_key(b)) == (a == b)
    # a scope is never keyed like no scope, nor like the same ids as a KA-type filter
    assert data.filters_key(fa) != data.filters_key(Filters(start=fa.start, end=fa.end))
    assert data.filters_key(fa) != data.filters_key(Filters(start=fa.start, end=fa.end, customer_ids=a))


def test_a_long_scope_is_keyed_by_a_digest_a_short_one_by_itself():
    long = tuple(f"C{i:06d}" for i in range(data.LONG_IDS + 1))
    key = data.ids_key(long)
    assert key[0] == "ids" and key[1] == len(long) and len(key[2]) == 64
    assert data.ids_key(long[:-1]) == long[:-1]  # LONG_IDS ids: as they are
    assert data.ids_key(long[:-1] + ("C999999",)) != key  # one id differs: another key
    assert data.ids_key(None) is None and data.ids_key(()) == ()


def test_a_cached_function_computes_once_per_scope():
    calls = []

    @st.cache_data(show_spinner=False, hash_funcs=data.HASH_FUNCS)
    def revenue(data_key, filters):
        calls.append(filters.scope)
        return len(filters.scope or ())

    mine = tuple(f"C{i:06d}" for i in range(100))
    theirs = mine[:-1] + ("C999999",)  # same size, one account differs
    f = Filters(start=date(2025, 1, 1), end=date(2025, 12, 1))
    assert revenue("v1", Filters(start=f.start, end=f.end, scope=mine)) == 100
    assert revenue("v1", Filters(start=f.start, end=f.end, scope=theirs)) == 100
    assert revenue("v1", Filters(start=f.start, end=f.end, scope=tuple(mine))) == 100  # equal: shared
    assert revenue("v1", f) == 0
    assert calls == [mine, theirs, None]
    revenue.clear()
