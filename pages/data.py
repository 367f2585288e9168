"""Data: import your own sales files (CSV/TSV/TXT, Excel, Parquet) safely."""

import streamlit as st

from kamdash.ui import backup, importer, shell, source

ctx = shell.context()
st.title(ctx.t("ingest.title"))
st.caption(ctx.t("ingest.current", lines=ctx.number(ctx.facts["order_lines"]),
                 date=ctx.date(ctx.facts["as_of"]), source=ctx.facts.get("source", "")))
st.markdown(ctx.t("ingest.intro"))
importer.render(ctx.lang)
backup.render(ctx.lang)
st.divider()
source.render(ctx)
