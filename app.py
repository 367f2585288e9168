"""kamdash entry point: `streamlit run app.py`."""

import streamlit as st

from kamdash import i18n
from kamdash.ui import shell

st.set_page_config(page_title="kamdash", page_icon=":material/monitoring:", layout="wide")

ctx = shell.start_app()
page = st.navigation(
    [st.Page("pages/overview.py", title=i18n.t("nav.overview", ctx.lang),
             icon=":material/dashboard:", url_path="overview", default=True),
     st.Page("pages/concentration.py", title=i18n.t("nav.concentration", ctx.lang),
             icon=":material/stacked_bar_chart:", url_path="concentration"),
     st.Page("pages/segments.py", title=i18n.t("nav.segments", ctx.lang), icon=":material/bubble_chart:", url_path="segments"),
     st.Page("pages/key_accounts.py", title=i18n.t("nav.key_accounts", ctx.lang), icon=":material/star:", url_path="key-accounts"),
     st.Page("pages/retention.py", title=i18n.t("nav.retention", ctx.lang),
             icon=":material/favorite:", url_path="retention")]
)
page.run()
