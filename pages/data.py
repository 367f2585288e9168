"""Data: import your own sales files (CSV/TSV/TXT, Excel, Parquet) safely."""

import streamlit as st

from kamdash import i18n
from kamdash.ui import backup, importer, shell, source

ctx = shell.context()
st.title(ctx.t("ingest.title"))
st.caption(ctx.t("ingest.current", lines=i18n.fmt_number(ctx.facts["order_lines"], ctx.lang),
                 date=i18n.fmt_date(ctx.facts["as_of"], ctx.lang), source=ctx.facts.get("source", "")))
st.markdown(ctx.t("ingest.intro"))
importer.render(ctx.lang)
backup.render(ctx.lang)
st.divider()
source.render(ctx)
