"""AppTest of the Admin page: entitlements edited with validation and conflict detection, the
audit log shown and downloadable; refused to anyone but an admin."""

import pytest

from kamdash import access
from kamdash.engine import connect
from kamdash.ui import auth
from tests.pages.conftest import page
from tests.pages.test_team_mode import team


def plain(shown: str) -> str:
    """What the reader sees of escaped Markdown source (kamdash.ui.safe)."""
    return shown.replace("\\", "").replace("\u2060", "")


@pytest.fixture
def admin_db(small_db, use_db, user_db, monkeypatch):
    use_db(small_db)
    backend = connect(str(small_db))
    known = access.scope_known(backend.scope_customers())
    backend.close()
    access.save(user_db, access.Entitlement("boss@example.com", "admin"), known, "cli", None)
    access.save(user_db, access.Entitlement("li@example.com", "account_manager", "managers", ("Li Na",)),
                known, "cli", None)
    monkeypatch.setattr(auth, "email", lambda: "boss@example.com")
    return user_db, known


def test_admin_adds_a_user_and_unknown_values_are_refused(admin_db):
    user_db, _ = admin_db
    at = team(page("pages/admin.py")).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert list(table["E-mail"]) == ["boss@example.com", "li@example.com"]
    at.text_input(key="admin_email").input("new@example.com")
    at.selectbox(key="admin_role").select("regional_head")
    at.selectbox(key="admin_kind").select("customers").run()
    at.text_area(key="admin_ids").input("C000001, NOPE")
    at.button(key="admin_save").click().run()
    assert "not in the sales data (customers): NOPE" in plain(at.error[0].value)
    assert access.get(user_db, "new@example.com") is None  # nothing saved
    at.text_area(key="admin_ids").input("C000001, C000002")
    at.button(key="admin_save").click().run()
    assert not at.exception
    saved = access.get(user_db, "new@example.com")
    assert (saved.role, saved.scope_kind, saved.scope_values) == ("regional_head", "customers", ("C000001", "C000002"))
    log = at.dataframe[-1].value
    assert log.iloc[0]["Which"] == "new@example.com" and log.iloc[0]["Who"] == "boss@example.com"


def test_two_admins_at_once_the_second_is_told(admin_db):
    user_db, known = admin_db
    at = team(page("pages/admin.py")).run()
    at.selectbox(key="admin_pick").select("li@example.com").run()
    # meanwhile another admin changes li's scope
    access.save(user_db, access.Entitlement("li@example.com", "account_manager", "managers", ("Li Na", "Wang Wei")),
                known, "other", 1)
    at.selectbox(key="admin_role").select("viewer")
    at.button(key="admin_save").click().run()
    assert "another admin changed the access of li@example.com" in plain(at.error[0].value)
    assert access.get(user_db, "li@example.com").scope_values == ("Li Na", "Wang Wei")  # theirs kept


def test_not_for_others(admin_db, monkeypatch):
    monkeypatch.setattr(auth, "email", lambda: "li@example.com")
    at = team(page("pages/admin.py")).run()
    assert "does not allow" in at.error[0].value
    assert not at.dataframe


def test_each_scope_shows_the_accounts_it_covers_now(admin_db, small_db):
    from tests.conftest import read_table

    cust = read_table(small_db, "customers")
    at = team(page("pages/admin.py")).run()
    assert not at.exception
    table = at.dataframe[0].value.set_index("E-mail")
    assert table.loc["boss@example.com", "Accounts now"] == f"all ({len(cust):,})"
    assert table.loc["li@example.com", "Accounts now"] == f"{(cust['account_manager'] == 'Li Na').sum():,}"
    assert set(table["Check against the data"]) == {"OK"}
