"""Team mode in a real browser: sign-in through a real OpenID Connect provider on 127.0.0.1.

The provider (``oidc-provider-mock``, a Flask app served by werkzeug) asks for the user's
subject and issues ID tokens with the e-mail claims below; kamdash runs with an ``[auth]``
secrets file pointing at it (Streamlit's st.login through Authlib). A director sees everything;
an account manager sees their own book: the overview's revenue equals pandas' sum over their
accounts' order lines, a link to another account is refused, and a download holds only their
accounts.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from datetime import date

import pytest
import werkzeug.serving
from oidc_provider_mock import User
from oidc_provider_mock import app as provider_app
from playwright.sync_api import Page, expect

from kamdash import access
from kamdash.engine import connect
from kamdash.i18n import fmt_money
from tests.e2e.conftest import ROOT, Server, _free_port
from tests.independent import Raw

WAIT = 60_000
PERIOD = (date(2025, 10, 1), date(2026, 9, 1))  # the default period of the small demo database
MANAGER = "Li Na"
USERS = {"director": "dana@example.com", "manager": "li@example.com", "stranger": "sam@example.com"}


@pytest.fixture(scope="module")
def provider():
    """A real OpenID provider on 127.0.0.1 (any client id is accepted)."""
    users = [User(sub=sub, claims={"email": email, "email_verified": True, "name": sub.title()})
             for sub, email in USERS.items()]
    srv = werkzeug.serving.make_server("127.0.0.1", 0, provider_app(user_claims=users), threaded=True)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_port}"
    srv.shutdown()
    thread.join(5)


class TeamServer(Server):
    """kamdash started as `make run` starts it, with an [auth] secrets file."""

    def __init__(self, db, user_db, secrets, port):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "KAMDASH_DB": str(db), "KAMDASH_USER_DB": str(user_db), "KAMDASH_LANGUAGE": "en"}
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kamdash.ui.serve", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false", "--secrets.files", str(secrets)],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._wait_healthy()


@pytest.fixture(scope="module")
def team(provider, small_db, tmp_path_factory):
    folder = tmp_path_factory.mktemp("team")
    db = folder / "sales.duckdb"
    shutil.copy(small_db, db)
    user_db = folder / "user.duckdb"
    backend = connect(str(db))
    customers = backend.scope_customers()
    backend.close()
    known = access.scope_known(customers)
    access.save(user_db, access.Entitlement(USERS["director"], "director"), known, "test", None)
    access.save(user_db, access.Entitlement(USERS["manager"], "account_manager", "managers", (MANAGER,)),
                known, "test", None)
    port = _free_port()
    secrets = folder / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{os.urandom(16).hex()}"\n'
        'client_id = "kamdash"\n'
        'client_secret = "kamdash-secret"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n')
    srv = TeamServer(db, user_db, secrets, port)
    srv.customers = customers
    srv.db = db
    yield srv
    srv.stop()


def sign_in(page: Page, team, who: str) -> None:
    page.goto(team.url)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_placeholder("sub").fill(who)  # the provider's sign-in form
    page.get_by_role("button", name="Authorize").click()
    # the first view after the server starts reads the data (slow on a busy 2-core machine)
    expect(page.get_by_test_id("stMetric").first).to_be_visible(timeout=2 * WAIT)


def revenue_shown(page: Page) -> str:
    card = page.get_by_test_id("stMetric").filter(has_text="Revenue").first
    return card.get_by_test_id("stMetricValue").inner_text().strip()


def test_nothing_without_signing_in(team, page: Page):
    page.goto(team.url)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=WAIT)
    expect(page.get_by_test_id("stMetric")).to_have_count(0)


def test_director_sees_everything(team, page: Page, artifacts):
    sign_in(page, team, "director")
    raw = Raw(team.db)
    assert revenue_shown(page) == fmt_money(raw.period(*PERIOD)["revenue"], "en", "CNY")
    # the e-mail is shown as text (a word joiner after "@" keeps Markdown from linking it)
    expect(page.get_by_text(re.compile("Signed in as dana@\u2060example.com · director"))).to_be_visible()
    expect(page.get_by_role("link", name="dana@example.com")).to_have_count(0)
    page.screenshot(path=str(artifacts / "team-director.png"), full_page=True)


def test_manager_sees_their_book_only(team, page: Page, artifacts):
    sign_in(page, team, "manager")
    raw = Raw(team.db)
    mine = set(team.customers.loc[team.customers["account_manager"] == MANAGER, "customer_id"])
    expected = raw.period(*PERIOD, account_manager=[MANAGER])["revenue"]  # pandas on the order lines
    assert revenue_shown(page) == fmt_money(expected, "en", "CNY")
    assert revenue_shown(page) != fmt_money(raw.period(*PERIOD)["revenue"], "en", "CNY")
    expect(page.get_by_text(f"Your accounts: {len(mine)} of {len(team.customers)}")).to_be_visible()
    page.screenshot(path=str(artifacts / "team-manager.png"), full_page=True)
    # a link to somebody else's account is refused, one of theirs opens
    other = team.customers.loc[team.customers["account_manager"] != MANAGER, "customer_id"].iloc[0]
    page.goto(f"{team.url}/account?customer={other}")
    expect(page.get_by_text(f"Account {other} is not one of your accounts.")).to_be_visible(timeout=WAIT)
    expect(page.get_by_test_id("stMetric")).to_have_count(0)
    page.screenshot(path=str(artifacts / "team-manager-refused.png"), full_page=True)
    # a download holds only their accounts: the concentration page's tier-A list
    page.goto(f"{team.url}/concentration")
    button = page.get_by_role("button", name="CSV", exact=True).last  # the account list's, last on the page
    expect(button).to_be_visible(timeout=WAIT)
    with page.expect_download(timeout=WAIT) as dl:
        button.click()
    rows = list(csv.reader(io.StringIO(open(dl.value.path(), encoding="utf-8-sig").read())))
    ids = [c for r in rows[1:] for c in r if re.fullmatch(r"C\d{6}", c)]
    assert ids and set(ids) <= mine


def test_no_entitlement_no_data(team, page: Page):
    page.goto(team.url)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_placeholder("sub").fill("stranger")
    page.get_by_role("button", name="Authorize").click()
    expect(page.get_by_text("you have no access yet", exact=False)).to_be_visible(timeout=WAIT)
    expect(page.get_by_test_id("stMetric")).to_have_count(0)
