"""AppTest of sign-in, entitlements and row-level access (team mode), and of text safety.

Team mode is switched on by an ``[auth]`` section in the secrets; who is signed in is what
``kamdash.ui.auth.email`` reports (Streamlit's st.user: the real sign-in through an OpenID
provider runs in tests/e2e/test_sign_in.py).
"""

from datetime import date

import pytest
from markdown_it import MarkdownIt

from kamdash import access, plans
from kamdash.engine import connect
from kamdash.i18n import fmt_money, fmt_number, fmt_pct
from kamdash.ui import auth
from tests.independent import Raw
from tests.pages.conftest import metrics, page

PERIOD = (date(2025, 10, 1), date(2026, 9, 1))  # the default period of the small database
AUTH = {"redirect_uri": "http://127.0.0.1:9/oauth2callback", "cookie_secret": "x" * 32,
        "client_id": "kamdash", "client_secret": "s", "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}
MANAGER = "Li Na"


def team(at):
    at.secrets["auth"] = AUTH
    return at


@pytest.fixture
def signed_in(monkeypatch):
    def as_(email):
        monkeypatch.setattr(auth, "email", lambda: email)
    return as_


@pytest.fixture
def small(small_db, use_db, user_db):
    use_db(small_db)
    backend = connect(str(small_db))
    customers = backend.scope_customers()
    backend.close()
    known = access.scope_known(customers)
    access.save(user_db, access.Entitlement("boss@example.com", "admin"), known, "test", None)
    access.save(user_db, access.Entitlement("li@example.com", "account_manager", "managers", (MANAGER,)),
                known, "test", None)
    access.save(user_db, access.Entitlement("fin@example.com", "viewer"), known, "test", None)
    return small_db, customers


def test_single_user_mode_says_so(small_db, use_db, user_db):
    use_db(small_db)
    at = page("pages/overview.py").run()
    assert not at.exception
    assert any("Single-user mode" in c.value and "127.0.0.1" in c.value for c in at.sidebar.caption)


def test_not_signed_in_sees_only_the_sign_in(small, signed_in):
    signed_in(None)
    at = team(page("pages/overview.py")).run()
    assert not at.exception
    assert at.button(key="auth_sign_in").label == "Sign in"
    assert not at.metric and not at.get("plotly_chart")


def test_no_entitlement_sees_no_access_and_the_admins(small, signed_in):
    signed_in("stranger@example.com")
    at = team(page("pages/overview.py")).run()
    assert not at.exception
    assert "no access yet" in at.warning[0].value
    assert "- boss\\@\u2060example.com" in at.markdown[-1].value  # the admin to ask (escaped e-mail)
    assert not at.metric and not at.get("plotly_chart") and not at.dataframe


def test_unreadable_access_list_is_not_called_no_access(small, signed_in, monkeypatch):
    """An entitled user whose access cannot be read this rerun (the user database busy or
    broken) is told so, not that they have no access; and sees no data."""
    from kamdash import access

    def busy(path, email):
        raise OSError("database is locked")

    signed_in("li@example.com")
    monkeypatch.setattr(access, "get", busy)
    at = team(page("pages/overview.py")).run()
    assert not at.exception
    assert "could not be checked just now" in at.warning[0].value
    assert "database is locked" in at.warning[0].value
    assert "no access yet" not in " ".join(w.value for w in at.warning)
    assert not at.metric and not at.get("plotly_chart") and not at.dataframe


def test_manager_sees_their_book_only(small, signed_in):
    db, customers = small
    signed_in("li@example.com")
    at = team(page("pages/overview.py")).run()
    assert not at.exception
    mine = set(customers.loc[customers["account_manager"] == MANAGER, "customer_id"])
    raw = Raw(db)
    cur = raw.period(*PERIOD, account_manager=[MANAGER])  # pandas on the order lines
    shown = metrics(at)
    assert shown["Revenue"][0] == fmt_money(cur["revenue"], "en", "CNY")
    assert shown["Active customers"][0] == fmt_number(len(cur["active"]), "en")
    assert shown["Top 20% share of revenue"][0] == fmt_pct(cur["top20_share"], "en")  # of their book
    everyone = raw.period(*PERIOD)
    assert shown["Revenue"][0] != fmt_money(everyone["revenue"], "en", "CNY")
    caption = " ".join(c.value for c in at.sidebar.caption)
    assert f"Your accounts: {len(mine)} of {fmt_number(len(customers), 'en')}" in caption
    assert "li\\@\u2060example.com" in caption
    top = at.dataframe[0].value
    assert set(top["ID"] if "ID" in top else []) <= mine


def test_a_revoked_user_loses_access_at_the_next_click(small, signed_in, user_db):
    signed_in("li@example.com")
    at = team(page("pages/overview.py")).run()
    assert at.metric
    access.remove(user_db, "li@example.com", "test", None)
    at.run()
    assert "no access yet" in at.warning[0].value and not at.metric


def test_deep_link_outside_the_scope_is_refused(small, signed_in):
    _, customers = small
    other = customers.loc[customers["account_manager"] != MANAGER, "customer_id"].iloc[0]
    signed_in("li@example.com")
    at = team(page("pages/account.py"))
    at.query_params["customer"] = other
    at.run()
    assert not at.exception
    assert f"Account {other} is not one of your accounts." == at.warning[0].value
    assert not at.metric  # nothing of the account is shown
    mine = customers.loc[customers["account_manager"] == MANAGER, "customer_id"].iloc[0]
    at = team(page("pages/account.py"))
    at.query_params["customer"] = mine
    at.run()
    assert not at.exception and at.metric


def test_roles_are_enforced_where_plans_are_saved(small, user_db):
    _, customers = small
    mine = customers.loc[customers["account_manager"] == MANAGER, "customer_id"].iloc[0]
    other = customers.loc[customers["account_manager"] != MANAGER, "customer_id"].iloc[0]
    manager = access.actor_for(access.get(user_db, "li@example.com"), customers)
    viewer = access.actor_for(access.get(user_db, "fin@example.com"), customers)
    body = {"goals": [], "solution": "grow", "actions": [], "notes": ""}
    assert plans.save(user_db, mine, body, "Li", None, actor=manager).version == 1
    with pytest.raises(access.AccessDenied):
        plans.save(user_db, other, body, "Li", None, actor=manager)
    with pytest.raises(access.AccessDenied):
        plans.save(user_db, mine, body, "Fin", 1, actor=viewer)
    with pytest.raises(access.AccessDenied):
        plans.delete(user_db, mine, 1, actor=viewer)
    assert plans.latest(user_db, other) is None and plans.latest(user_db, mine).version == 1


def test_markdown_in_a_link_is_shown_as_text(small_db, use_db, user_db):
    use_db(small_db)
    hostile = "![x](http://elsewhere/p.png)"
    at = page("pages/account.py")
    at.query_params["customer"] = hostile
    at.run()
    assert not at.exception
    shown = " ".join(w.value for w in at.warning)
    rendered = MarkdownIt("commonmark").render(shown)
    assert "<img" not in rendered and "<a " not in rendered
    assert hostile in rendered.replace("\u2060", "")  # the text itself, shown literally
