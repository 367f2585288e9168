"""kamdash entry point: `make run` (python -m kamdash.ui.serve) or `streamlit run app.py`."""

import streamlit as st

from kamdash.ui import data, shell

# The Present page (workshop mode) starts with the sidebar collapsed; the sidebar state must be
# set before the sidebar is drawn, so it is decided here from the page's URL path.
PRESENT = (st.context.url or "").rstrip("/").endswith("/present")
st.set_page_config(page_title="kamdash", page_icon=":material/monitoring:", layout="wide",
                   initial_sidebar_state="collapsed" if PRESENT else "auto")

ctx = shell.start_app()
PAGES = [  # file, catalog key of the title, icon, URL path (the first page is the home page)
    ("pages/overview.py", "nav.overview", ":material/dashboard:", "overview"),
    ("pages/concentration.py", "nav.concentration", ":material/stacked_bar_chart:", "concentration"),
    ("pages/segments.py", "nav.segments", ":material/bubble_chart:", "segments"),
    ("pages/key_accounts.py", "nav.key_accounts", ":material/star:", "key-accounts"),
    ("pages/retention.py", "nav.retention", ":material/favorite:", "retention"),
    ("pages/whatif.py", "nav.whatif", ":material/tune:", "what-if"),
    ("pages/my_accounts.py", "nav.my_accounts", ":material/checklist:", "my-accounts"),
    ("pages/account.py", "nav.account", ":material/person_search:", "account"),
    ("pages/plans.py", "nav.plans", ":material/flag:", "plans"),
    ("pages/present.py", "nav.present", ":material/co_present:", "present"),
    ("pages/data.py", "nav.data", ":material/database:", "data"),
]
if ctx.actor.is_admin:  # who may sign in, and the audit log
    PAGES.append(("pages/admin.py", "nav.admin", ":material/admin_panel_settings:", "admin"))
page = st.navigation([
    st.Page(path, title=ctx.t(title), icon=icon, url_path=url, default=(i == 0))
    for i, (path, title, icon, url) in enumerate(PAGES)
])
with data.page_run():
    page.run()
