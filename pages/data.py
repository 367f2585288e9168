"""Data: import your own sales files (CSV/TSV/TXT, Excel, Parquet) safely."""

import streamlit as st

from kamdash.ui import backup, data_page, importer, shell, source

ctx = shell.context()
v = data_page.load(ctx)
st.title(ctx.t("ingest.title"))
data_page.current(ctx, v)
st.markdown(ctx.t("ingest.intro"))
importer.render(ctx.lang)
backup.render(ctx.lang, v)
st.divider()
source.render(ctx, v)
