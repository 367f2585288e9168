"""`python -m kamdash key-accounts`: the key-accounts page's selection for scripts, by hand on
the tiny database (see tests/test_ka_types.py for the derivation of every figure)."""

import json
import shutil
import subprocess
import sys

import pytest

from kamdash import cli, store
from tests.conftest import ROOT


def run(capsys, *args):
    code = cli.main(["key-accounts", *args])
    out = capsys.readouterr()
    return code, out


def test_tiny_database_by_hand(tiny_db, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("KAMDASH_USER_DB", raising=False)
    db = tmp_path / "tiny.duckdb"
    shutil.copy(tiny_db, db)
    code, out = run(capsys, "--db", str(db), "--from", "2025-01", "--to", "2025-06", "--json")
    assert code == 0
    got = json.loads(out.out)
    # default capacity: ceil(10% of 4 active customers) = 1 -> A
    assert got["from"] == "2025-01-01" and got["to"] == "2025-06-01"
    assert got["active_customers"] == 4 and got["key_accounts"] == 1 and got["qualifying"] == 4
    assert got["customer_share"] == 0.25 and got["few"] is False
    assert got["revenue_share"] == pytest.approx(3500 / 4400)
    assert got["account_profit_share"] == pytest.approx(1100 / 1340)
    assert got["by_type"] == {"economic": 1, "important": 0, "group": 0, "strategic": 0}
    code, out = run(capsys, "--db", str(db), "--from", "2025-01", "--to", "2025-06", "--capacity", "3", "--json")
    got = json.loads(out.out)
    assert got["key_accounts"] == 3 and got["account_profit"] == 1350
    assert got["by_type"] == {"economic": 2, "important": 2, "group": 0, "strategic": 0}
    code, out = run(capsys, "--db", str(db), "--from", "2025-01", "--to", "2025-06", "--share", "50", "--json")
    assert json.loads(out.out)["key_accounts"] == 2  # ceil(0.5 * 4)
    # the rules saved on the page apply (the user database next to the sales file)
    store.put_setting(tmp_path / "tiny.user.duckdb", "ka.rules", {"capacity": 2, "economic_top_revenue": 0.0,
                                                                  "economic_top_frequency": 0.0})
    code, out = run(capsys, "--db", str(db), "--from", "2025-01", "--to", "2025-06", "--json")
    got = json.loads(out.out)
    # A is no longer economic and qualifies for nothing: B and C (important) are chosen
    assert got["key_accounts"] == 2 and got["by_type"]["important"] == 2 and got["qualifying"] == 3


def test_bad_arguments_say_what_is_wrong(tiny_db, capsys):
    code, out = run(capsys, "--db", str(tiny_db), "--share", "0")
    assert code == 2 and "--share" in out.err and "Traceback" not in out.err
    code, out = run(capsys, "--db", str(tiny_db), "--from", "2025-06", "--to", "2025-01")
    assert code == 2 and "is after" in out.err
    code, out = run(capsys, "--db", str(tiny_db), "--capacity", "0")
    assert code == 2 and "--capacity" in out.err


def test_as_a_module_on_the_demo(small_db):
    out = subprocess.run([sys.executable, "-m", "kamdash", "key-accounts", "--db", str(small_db), "--json"],
                         capture_output=True, text=True, cwd=ROOT, check=True)
    got = json.loads(out.stdout)
    assert 0.05 <= got["customer_share"] <= 0.15 and got["account_profit_share"] > 0.5
