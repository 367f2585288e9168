"""AppTest of what a scoped user is offered and shown beyond the figures: the sidebar's filter
options, the buttons that change things, the lists of other accounts."""

from __future__ import annotations

import duckdb
import pytest

from kamdash import access
from kamdash.engine import connect
from tests.pages.conftest import page
from tests.pages.test_team_mode import MANAGER, team

FILTERS = {"region": "region", "manager": "account_manager", "ctype": "customer_type", "sector": "sector"}


@pytest.fixture
def scoped(small_db, use_db, user_db, monkeypatch):
    """The small database with an admin, a manager (Li Na's book), a regional head, a viewer
    and a director; ``as_(email)`` signs one in."""
    from kamdash.ui import auth

    use_db(small_db)
    backend = connect(str(small_db))
    customers = backend.scope_customers()
    backend.close()
    known = access.scope_known(customers)
    region = sorted(known["regions"])[0]
    for email, role, kind, values in [
        ("boss@example.com", "admin", "all", ()),
        ("li@example.com", "account_manager", "managers", (MANAGER,)),
        ("head@example.com", "regional_head", "regions", (region,)),
        ("fin@example.com", "viewer", "all", ()),
        ("dir@example.com", "director", "all", ()),
    ]:
        access.save(user_db, access.Entitlement(email, role, kind, values), known, "test", None)

    def as_(email):
        monkeypatch.setattr(auth, "email", lambda: email)

    return as_, small_db, region


def _customers(db) -> "pd.DataFrame":  # noqa: F821
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.sql("SELECT * FROM customers").df()
    finally:
        con.close()


def _sidebar_options(at) -> dict[str, list[str]]:
    return {key: list(at.sidebar.multiselect(key=key).options) for key in FILTERS}


@pytest.mark.parametrize("who", ["li@example.com", "head@example.com"])
def test_sidebar_filters_offer_only_the_values_of_the_users_accounts(scoped, who):
    as_, db, region = scoped
    as_(who)
    at = team(page("pages/overview.py")).run()
    assert not at.exception
    cu = _customers(db)  # the customers table read directly, not through kamdash
    mine = cu[cu["account_manager"] == MANAGER] if who.startswith("li") else cu[cu["region"] == region]
    shown = _sidebar_options(at)
    for key, column in FILTERS.items():
        expected = sorted(mine[column].dropna().astype(str).unique())
        # the options are shown with their labels: compare their number and that no value of
        # another book is offered
        assert len(shown[key]) == len(expected), (key, shown[key], expected)
    everyone = sorted(cu["account_manager"].dropna().unique())
    assert len(shown["manager"]) < len(everyone)
    if who.startswith("li"):
        assert shown["manager"] == [MANAGER]


def test_full_access_is_offered_every_value(scoped):
    as_, db, _ = scoped
    as_("dir@example.com")
    at = team(page("pages/overview.py")).run()
    cu = _customers(db)
    shown = _sidebar_options(at)
    assert len(shown["manager"]) == cu["account_manager"].nunique()
    assert len(shown["region"]) == cu["region"].nunique()


def test_options_within_by_hand():
    import pandas as pd

    cu = pd.DataFrame({"customer_id": ["A", "B", "C", "D"], "region": ["N", "S", "N", None],
                       "account_manager": ["x", "y", "z", "x"]})
    assert access.options_within(cu, {"A", "C"}, ["region", "account_manager"]) == {
        "region": ["N"], "account_manager": ["x", "z"]}
    assert access.options_within(cu, {"D"}, ["region"]) == {"region": []}  # no region: none offered
    assert access.options_within(cu, None, ["region"]) == {"region": ["N", "S"]}
    assert access.options_within(cu, frozenset(), ["region"]) == {"region": []}


# ---------------------------------------------------------------- buttons that change things


def _mine_and_other(db):
    cu = _customers(db).sort_values("customer_id")
    return (cu.loc[cu["account_manager"] == MANAGER, "customer_id"].iloc[0],
            cu.loc[cu["account_manager"] != MANAGER, "customer_id"].iloc[0])


def _plan_tab(scoped, who, customer):
    as_, db, _ = scoped
    as_(who)
    at = team(page("pages/account.py"))
    at.query_params["customer"] = customer
    at.session_state["acct_tab"] = "Account plan"
    at.session_state["author"] = who  # st.user is not signed in under AppTest: the name field
    return at.run()


def _save_plan(at):
    return next(b for b in at.get("form_submit_button") if b.label == "Save plan")


def test_a_viewer_is_not_offered_to_save_or_delete_a_plan(scoped, user_db):
    from kamdash import plans

    as_, db, _ = scoped
    mine, _ = _mine_and_other(db)
    plans.save(user_db, mine, {"goals": [], "solution": "grow", "actions": [], "notes": ""}, "Li", None)
    at = _plan_tab(scoped, "fin@example.com", mine)
    assert not at.exception
    save = _save_plan(at)
    assert save.disabled and save.help == "Your role (viewer) reads this plan but does not change it."
    assert any(c.value == save.help for c in at.caption)  # said next to the form, not only on hover
    assert not at.get("popover")  # no delete
    at = _plan_tab(scoped, "li@example.com", mine)  # the account's manager: may save and delete
    assert not _save_plan(at).disabled and at.get("popover")
    at = _plan_tab(scoped, "dir@example.com", mine)
    assert not _save_plan(at).disabled and at.get("popover")


def test_a_regional_head_may_save_the_plans_of_their_region(scoped):
    as_, db, region = scoped
    cu = _customers(db).sort_values("customer_id")
    theirs = cu.loc[cu["region"] == region, "customer_id"].iloc[0]
    at = _plan_tab(scoped, "head@example.com", theirs)
    assert not at.exception and not _save_plan(at).disabled


@pytest.mark.parametrize("who,allowed", [("fin@example.com", False), ("li@example.com", False),
                                         ("head@example.com", False), ("dir@example.com", True),
                                         ("boss@example.com", True)])
def test_shared_settings_are_offered_to_directors_and_admins_only(scoped, who, allowed):
    as_, _, _ = scoped
    as_(who)
    at = team(page("pages/concentration.py")).run()
    at.slider(key="abc").set_value((70, 90)).run()
    assert not at.exception
    button = at.button(key="save_cutoffs")
    assert button.disabled is (not allowed)
    if not allowed:
        assert "Only a director or an admin changes shared settings" in button.help


@pytest.mark.parametrize("who,allowed", [("fin@example.com", False), ("li@example.com", True),
                                         ("dir@example.com", True)])
def test_scenarios_are_saved_by_everyone_but_a_viewer(scoped, who, allowed):
    as_, _, _ = scoped
    as_(who)
    at = team(page("pages/whatif.py")).run()
    at.text_input(key="wi_sc_name").input("Keep the A tier").run()
    assert not at.exception
    button = at.button(key="wi_sc_save")
    assert button.disabled is (not allowed)
    if not allowed:
        assert button.help == "Your role (viewer) reads scenarios but does not save or delete them."


def test_a_managers_own_scenario_is_theirs_to_delete(scoped, user_db):
    """A signed-in user's scenario is stored under their e-mail, so the owner rule lets them
    replace or delete it (a typed display name would not match the signed-in identity)."""
    from kamdash import access, store

    as_, _, _ = scoped
    as_("li@example.com")
    at = team(page("pages/whatif.py")).run()
    at.text_input(key="author").input("Li Na").run()  # the display name, as a sign-in gives it
    at.text_input(key="wi_sc_name").input("Keep the A tier").run()
    at.button(key="wi_sc_save").click().run()
    assert not at.exception
    saved = store.list_scenarios(user_db)
    assert saved["created_by"].tolist() == ["li@example.com"]
    li = access.Actor("li@example.com", "account_manager", frozenset())
    assert li.can_save_scenario(saved["created_by"].iloc[0])
    assert not access.Actor("wang@example.com", "account_manager", frozenset()).can_save_scenario("li@example.com")


def test_single_user_mode_offers_every_change(small_db, use_db, user_db):
    use_db(small_db)
    at = page("pages/concentration.py").run()
    at.slider(key="abc").set_value((70, 90)).run()
    assert not at.button(key="save_cutoffs").disabled


def test_account_360_names_no_account_outside_the_scope(scoped):
    as_, db, _ = scoped
    cu = _customers(db)
    mine = set(cu.loc[cu["account_manager"] == MANAGER, "customer_id"])
    # an account of the manager that referred, or heads, an account of another manager
    linked = cu[(cu["referred_by"].isin(mine) | cu["parent_id"].isin(mine)) & ~cu["customer_id"].isin(mine)]
    assert len(linked), "the small demo links books of different managers"
    row = linked.iloc[0]
    cid = row["referred_by"] if row["referred_by"] in mine else row["parent_id"]
    as_("li@example.com")
    at = team(page("pages/account.py"))
    at.query_params["customer"] = cid
    at.run()
    assert not at.exception
    shown = set()
    for df in at.dataframe:
        value = df.value
        if "ID" in value:
            shown |= set(value["ID"].astype(str))
    assert shown <= mine
    text = " ".join(c.value for c in at.caption)
    assert "outside your scope are not listed" in text
    assert row["customer_id"] not in text and row["name"] not in text


def test_retention_says_what_the_model_learnt_from_and_shows_the_scope(scoped, small_fit, user_db):
    from kamdash import store

    as_, db, _ = scoped
    settings, fit = small_fit
    backend = connect(str(db))
    version = backend.data_facts()["data_version"]
    backend.close()
    store.put_fit(user_db, settings.key(version), version, settings.as_json(), fit)  # as stored by a fit
    cu = _customers(db)
    mine = cu[cu["account_manager"] == MANAGER]
    as_("li@example.com")
    at = team(page("pages/retention.py")).run()
    assert not at.exception
    captions = " ".join(c.value for c in at.caption)
    assert (f"from all {fit['customers']:,} customers' purchases" in captions
            and f"of your {len(mine)} accounts only" in captions)
    as_("dir@example.com")
    at = team(page("pages/retention.py")).run()
    assert "of your" not in " ".join(c.value for c in at.caption)


def test_key_account_groups_name_no_top_parent_outside_the_scope(scoped):
    as_, db, _ = scoped
    cu = _customers(db)
    mine = set(cu.loc[cu["account_manager"] == MANAGER, "customer_id"])
    as_("li@example.com")
    at = team(page("pages/key_accounts.py")).run()
    assert not at.exception
    groups = next(d.value for d in at.dataframe if "Group (top parent)" in d.value.columns)
    shown = set(groups["Group (top parent)"])
    others = set(cu["name"]) - set(cu.loc[cu["customer_id"].isin(mine), "name"])
    assert shown and not shown & others
    # a group of theirs headed by another manager's account is shown, its top unnamed
    parents = cu.set_index("customer_id")["parent_id"]
    headed_elsewhere = [c for c in mine if parents.get(c) is not None and parents.get(c) not in mine
                        and not isinstance(parents.get(c), float)]
    assert headed_elsewhere  # the small demo has such groups (Li Na's C000346 under Huang Ting's)
    assert "an account outside your scope" in shown
