"""Entitlements, roles, the audit log, the kept database and the server's listening address."""

import gc
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from kamdash import access, cli, plans, store
from kamdash.ui import serve

CUSTOMERS = pd.DataFrame({"customer_id": ["A", "B", "C", "D"],
                          "region": ["East", "East", "North", None],
                          "account_manager": ["Li", "Wang", "Li", "Zhou"]})
KNOWN = {"regions": {"East", "North"}, "managers": {"Li", "Wang", "Zhou"}, "customers": {"A", "B", "C", "D"}}


@pytest.fixture
def udb(tmp_path):
    return tmp_path / "user.duckdb"


def test_validation_refuses_what_does_not_exist(udb):
    with pytest.raises(access.EntitlementError, match=r"not in the sales data \(regions\): Atlantis"):
        access.save(udb, access.Entitlement("a@x.com", "regional_head", "regions", ("East", "Atlantis")), KNOWN, "t", None)
    with pytest.raises(access.EntitlementError, match="not an e-mail"):
        access.save(udb, access.Entitlement("nobody", "viewer"), KNOWN, "t", None)
    with pytest.raises(access.EntitlementError, match="unknown role"):
        access.save(udb, access.Entitlement("a@x.com", "king"), KNOWN, "t", None)
    with pytest.raises(access.EntitlementError, match="at least one value"):
        access.save(udb, access.Entitlement("a@x.com", "viewer", "managers", ()), KNOWN, "t", None)
    assert access.list_entitlements(udb) == []  # nothing half-written


def test_scopes_resolve_to_customers():
    ent = lambda kind, *v: access.Entitlement("a@x.com", "viewer", kind, v)  # noqa: E731
    assert access.resolve(ent("all"), CUSTOMERS) is None
    assert access.resolve(ent("regions", "East"), CUSTOMERS) == {"A", "B"}
    assert access.resolve(ent("managers", "Li", "Zhou"), CUSTOMERS) == {"A", "C", "D"}
    assert access.resolve(ent("customers", "B"), CUSTOMERS) == {"B"}
    assert access.resolve(None, CUSTOMERS) == frozenset()  # no entitlement: nothing


def test_two_admins_editing_at_once_do_not_overwrite_each_other(udb):
    first = access.save(udb, access.Entitlement("Boss@X.com", "admin"), KNOWN, "cli", None)
    assert first.email == "boss@x.com" and first.version == 1
    m = access.save(udb, access.Entitlement("m@x.com", "account_manager", "managers", ("Li",)), KNOWN, "boss", None)
    # two admins read version 1 of m; the first saves, the second is refused with what is stored
    access.save(udb, access.Entitlement("m@x.com", "account_manager", "managers", ("Li", "Wang")), KNOWN, "one", m.version)
    with pytest.raises(access.EntitlementConflict) as err:
        access.save(udb, access.Entitlement("m@x.com", "viewer"), KNOWN, "two", m.version)
    assert err.value.theirs.scope_values == ("Li", "Wang")
    assert access.get(udb, "M@x.com").scope_values == ("Li", "Wang")
    with pytest.raises(access.EntitlementConflict):  # a second "new" user of the same e-mail
        access.save(udb, access.Entitlement("m@x.com", "viewer"), KNOWN, "two", None)


def test_only_admins_change_access_and_the_last_admin_stays(udb):
    access.save(udb, access.Entitlement("boss@x.com", "admin"), KNOWN, "cli", None)
    director = access.Actor("d@x.com", "director")
    with pytest.raises(access.AccessDenied):
        access.save(udb, access.Entitlement("d@x.com", "admin"), KNOWN, "d", None, actor=director)
    with pytest.raises(access.EntitlementError, match="last admin"):
        access.remove(udb, "boss@x.com", "cli", None)
    with pytest.raises(access.EntitlementError, match="last admin"):
        access.save(udb, access.Entitlement("boss@x.com", "viewer"), KNOWN, "cli", 1)
    assert access.admins(udb) == ["boss@x.com"]


def test_roles():
    li = access.Actor("li@x.com", "account_manager", frozenset({"A", "C"}))
    assert li.can_edit_plan("A") and not li.can_edit_plan("B")
    assert li.can_save_scenario() and li.can_save_scenario("li@x.com") and not li.can_save_scenario("boss")
    assert not li.can_edit_settings
    viewer = access.Actor("f@x.com", "viewer")
    assert not viewer.can_edit_plan("A") and not viewer.can_save_scenario() and not viewer.can_edit_settings
    director = access.Actor("d@x.com", "director", frozenset({"A"}))
    assert director.can_edit_plan("B") and director.can_save_scenario("someone") and director.can_edit_settings


def test_audit_log_keeps_every_change_and_a_deleted_plans_history(udb):
    body = {"goals": [], "solution": "first", "actions": [], "notes": ""}
    plans.save(udb, "A", body, "Li", None)
    plans.save(udb, "A", {**body, "solution": "second"}, "Wang", 1)
    plans.delete(udb, "A", 2, actor=access.Actor("boss@x.com", "admin"))
    assert plans.history(udb, "A") == []
    log = store.read_audit(udb)
    assert list(log["kind"]) == ["plan"] * 3 and list(log["action"]) == ["delete", "save", "save"]
    assert list(log["who"]) == ["boss@x.com", "Wang", "Li"]
    saved = json.loads(log["new"].iloc[1])
    assert saved["solution"] == "second" and json.loads(log["old"].iloc[1])["solution"] == "first"
    gone = json.loads(log["old"].iloc[0])["history"]
    assert [(v["version"], v["author"], v["body"]["solution"]) for v in gone] == [(1, "Li", "first"), (2, "Wang", "second")]
    sid = store.put_scenario(udb, "plan B", {"defection_pts": 5}, {}, "Li")
    store.delete_scenario(udb, sid, "boss")
    store.put_setting(udb, "concentration.tier_cutoffs", [0.7, 0.9], "boss")
    store.put_setting(udb, "concentration.tier_cutoffs", [0.7, 0.9], "boss")  # unchanged: not logged
    store.put_setting(udb, "segments.hash", "123", "", audited=False)
    log = store.read_audit(udb)
    assert list(zip(log["kind"], log["action"]))[:3] == [("setting", "save"), ("scenario", "delete"), ("scenario", "save")]
    assert len(log) == 6
    assert json.loads(log["old"].iloc[1])["name"] == "plan B"


def test_a_replacing_import_keeps_the_previous_database(tmp_path, tiny_db):
    db = tmp_path / "sales.duckdb"
    shutil.copy(tiny_db, db)
    before = db.read_bytes()
    kept = store.keep_backup(db)
    assert kept == tmp_path / "sales.duckdb.previous" and kept.read_bytes() == before
    new = tmp_path / "new.duckdb"  # an import builds a new file and swaps it in
    new.write_bytes(b"the imported data")
    new.replace(db)
    assert kept.read_bytes() == before
    store.restore_backup(db)
    assert db.read_bytes() == before and kept.exists()
    kept.unlink()
    kept.write_bytes(b"damaged")
    with pytest.raises(store.StoreError, match="cannot be used"):
        store.restore_backup(db)
    assert db.read_bytes() == before  # a bad backup never replaces the data


def test_cli_users_and_restore(tmp_path, tiny_db, monkeypatch, capsys):
    db = tmp_path / "sales.duckdb"
    shutil.copy(tiny_db, db)
    monkeypatch.setenv("KAMDASH_DB", str(db))
    monkeypatch.delenv("KAMDASH_USER_DB", raising=False)
    assert cli.main(["users", "add", "boss@x.com", "--role", "admin"]) == 0
    assert cli.main(["users", "add", "li@x.com", "--role", "account_manager", "--managers", "Li Na,Wang Wei"]) == 0
    assert cli.main(["users", "add", "x@x.com", "--role", "viewer", "--regions", "Atlantis"]) == 1
    assert "not in the sales data (regions): Atlantis" in capsys.readouterr().err
    assert cli.main(["users", "list", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["email"], r["role"], r["values"]) for r in rows] == [
        ("boss@x.com", "admin", []), ("li@x.com", "account_manager", ["Li Na", "Wang Wei"])]
    assert cli.main(["users", "remove", "li@x.com"]) == 0
    assert cli.main(["restore"]) == 1  # nothing kept yet
    store.keep_backup(db)
    assert cli.main(["restore"]) == 0


def test_single_user_mode_listens_on_this_computer_only(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    args = serve.server_args(["--server.port", "8600"])
    assert args[-2:] == ["--server.address", "127.0.0.1"]
    with pytest.raises(SystemExit, match="single-user mode"):
        serve.server_args(["--server.address", "0.0.0.0"])
    assert serve.server_args(["--server.address=::1"]) == ["--server.address=::1"]
    secrets = tmp_path / ".streamlit" / "secrets.toml"
    secrets.parent.mkdir()
    secrets.write_text('[auth]\nredirect_uri = "https://kam.example.com/oauth2callback"\n')
    args = serve.server_args(["--server.address", "0.0.0.0"])
    assert args == ["--server.address", "0.0.0.0", "--client.showErrorDetails", "none",
                    "--server.enableXsrfProtection", "true"]


def test_upload_folder_goes_with_its_session():
    from kamdash.ui.importer import UploadFolder

    folder = UploadFolder()
    path = Path(folder.path)
    (path / "orders.csv").write_text("x")
    del folder  # what happens to a session's state when the session ends
    gc.collect()
    assert not path.exists()
