"""The pieces of the load test (bench/load.py, bench/wsclient.py), without a server: the signed
identity cookie as Streamlit's server reads it, the users, the filter changes, the figures."""

import json
import os
import time

import pandas as pd
from streamlit.web.server.starlette.starlette_app_utils import decode_signed_value

from bench import load, wsclient

SECRET = "k" * 48
ORIGIN = "http://127.0.0.1:8501"


def _read(value: str, secret: str = SECRET):
    """What Streamlit's websocket handler decodes from the cookie (None: refused)."""
    raw = decode_signed_value(secret, wsclient.USER_COOKIE, value.encode("latin-1"))
    return None if raw is None else json.loads(raw)


def test_the_signed_cookie_is_what_the_server_accepts():
    payload = _read(wsclient.signed_user_cookie(SECRET, ORIGIN, "li@example.com", "Li"))
    assert payload == {"origin": ORIGIN, "is_logged_in": True, "email": "li@example.com",
                       "email_verified": True, "name": "Li"}


def test_forged_tampered_and_expired_cookies_are_refused():
    good = wsclient.signed_user_cookie(SECRET, ORIGIN, "li@example.com")
    assert _read(wsclient.signed_user_cookie("not-the-secret" * 3, ORIGIN, "li@example.com")) is None
    # itsdangerous: payload.timestamp.signature; another user's payload under li's signature
    rest, stamp, sig = good.rsplit(".", 2)
    boss = wsclient.signed_user_cookie(SECRET, ORIGIN, "boss@example.com").rsplit(".", 2)[0]
    assert _read(f"{boss}.{stamp}.{sig}") is None
    assert _read(f"{rest}.{stamp}.{sig[:-2]}{'AA' if not sig.endswith('AA') else 'BB'}") is None
    assert _read(f"{rest}.{stamp}.{sig}")["email"] == "li@example.com"
    # the server keeps a cookie 30 days (+1 day of grace): one signed 40 days ago is refused
    old = wsclient.signed_user_cookie(SECRET, ORIGIN, "li@example.com", issued_at=time.time() - 40 * 86400)
    assert _read(old) is None
    recent = wsclient.signed_user_cookie(SECRET, ORIGIN, "li@example.com", issued_at=time.time() - 86400)
    assert _read(recent)["email"] == "li@example.com"


def test_the_team_of_a_run():
    cu = pd.DataFrame({"customer_id": [f"C{i}" for i in range(12)],
                       "region": ["N", "N", "N", "S", "S", "E", "E", "E", "E", "W", "W", "N"],
                       "account_manager": ["a", "a", "b", "c", "c", "d", "d", "d", "e", "f", "f", "g"]})
    alone, users = load.team(cu, 20)
    assert len(users) == 20 and len({u.email for u in users}) == 20
    roles = [u.role for u in users]
    assert roles.count("regional_head") == 4 and roles.count("director") == 1 and roles.count("viewer") == 1
    assert roles.count("account_manager") == 14
    # the user alone is a manager none of the twenty has
    books = {v for u in users if u.scope_kind == "managers" for v in u.scope_values}
    assert alone.role == "account_manager" and not set(alone.scope_values) & books
    head, owner, cid = load.race_pair(users, cu)
    row = cu.set_index("customer_id").loc[cid]
    assert row["region"] == head.scope_values[0] and row["account_manager"] == owner.scope_values[0]


def test_filter_changes_use_the_options_the_page_offered():
    import random

    run = wsclient.Run(widgets={
        "region": wsclient.Widget("region", "$$ID-1-region", "multiselect", "Region", ["N", "S"]),
        "period": wsclient.Widget("period", "$$ID-2-period", "slider", "Period",
                                  [f"2025-{m:02d}" for m in range(1, 13)] + [f"2026-{m:02d}" for m in range(1, 13)])})
    changes = load.filter_changes(run, random.Random(1), 6)
    assert len(changes) == 6
    for what, states in changes:
        (state,) = states
        values = list(state.string_array_value.data)
        if state.id.endswith("-region"):
            assert len(values) == 1 and values[0] in ("N", "S")
        else:
            lo, hi = values
            opts = run.widgets["period"].options
            assert opts.index(hi) - opts.index(lo) == 11  # twelve months
    assert sum(s[0].id.endswith("-period") for _, s in changes) == 2  # every third change


def test_percentiles_and_summary_by_hand():
    assert load.pct([1, 2, 3, 4, 5], 0.5) == 3
    assert load.pct([1, 2, 3, 4, 5], 0.95) == 4.8  # between 4 and 5 at 0.8
    steps = [load.Step("a", "overview", "open", 1.0, 2.0), load.Step("b", "overview", "open", 3.0, 4.0),
             load.Step("c", "plans", "open", None, 1.0, ["boom"])]
    s = load.summary(steps)
    assert (s["steps"], s["charted"], s["median_s"], s["max_s"]) == (3, 2, 2.0, 3.0)
    assert s["errors"] == ["c plans open: boom"]


def test_process_usage_reads_this_process():
    u = load.process_usage(os.getpid())
    assert u["cpu_s"] > 0 and u["peak_rss_mb"] >= u["rss_mb"] > 10
