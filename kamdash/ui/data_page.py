"""The Data page's header: its view (what the database holds, the kept copy, the saved company
source) and the line saying what the current data is."""

from __future__ import annotations

import streamlit as st

from kamdash import config
from kamdash.ui import source
from kamdash.views import data as view


def load(ctx) -> view.DataPage:
    return view.build(ctx.facts, config.db_path(), source.saved_source())


def current(ctx, v: view.DataPage) -> None:
    st.caption(ctx.t("ingest.current", lines=ctx.number(v.order_lines), date=ctx.date(v.as_of), source=v.source))
