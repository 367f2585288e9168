"""The Admin page's view: each stored entitlement checked against the sales data as it is now
(accounts its scope covers, values the data no longer has), counted by hand on the tiny database."""

from __future__ import annotations

from kamdash import access, store
from kamdash.views import admin as view


def test_entitlements_are_checked_against_the_data_now(tiny, tmp_path):
    user_db = tmp_path / "user.duckdb"
    customers = tiny.scope_customers()
    known = access.scope_known(customers)
    # the data of an earlier import had a manager "Gone Person" and a customer "Z"
    earlier = {k: set(v) for k, v in known.items()}
    earlier["managers"].add("Gone Person")
    earlier["customers"].add("Z")
    for ent in (access.Entitlement("boss@example.com", "admin"),
                access.Entitlement("east@example.com", "regional_head", "regions", ("East China",)),
                access.Entitlement("wang@example.com", "account_manager", "managers", ("Gone Person", "Wang Wei")),
                access.Entitlement("z@example.com", "viewer", "customers", ("Z",))):
        access.save(user_db, ent, earlier, "test", None)
    v = view.build(user_db, customers)
    got = {c.entitlement.email: (c.accounts, c.missing) for c in v.entitlements}
    # tiny: A, B in East China; C, D managed by Wang Wei; nobody is "Z" any more
    assert got == {"boss@example.com": (None, ()), "east@example.com": (2, ()),
                   "wang@example.com": (2, ("Gone Person",)), "z@example.com": (0, ("Z",))}
    assert v.customers == 5 and v.known == known
    assert list(v.audit["key"]) == ["z@example.com", "wang@example.com", "east@example.com", "boss@example.com"]
    assert set(v.audit["action"]) == {"save"}


def test_no_user_database_yet(tiny, tmp_path):
    v = view.build(tmp_path / "none.duckdb", tiny.scope_customers())
    assert v.entitlements == () and v.audit.empty
    assert not (tmp_path / "none.duckdb").exists() or store.read_audit(tmp_path / "none.duckdb").empty
