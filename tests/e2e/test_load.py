"""A real team-mode server driven by the load test's light client (bench/wsclient.py): the
identity cookie is checked by the server (forged, tampered or expired ones see the sign-in page
and no data), a user removed while signed in loses access at the next rerun, and a short load
run on the small database has no error and gives two managers saving one plan the conflict.

The full measurement (20 sessions at 1M order lines) is ``python -m bench.load``, not a test."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bench import load, wsclient
from kamdash import access
from kamdash.engine import connect


@pytest.fixture(scope="module")
def server(small_db, tmp_path_factory):
    folder = tmp_path_factory.mktemp("load")
    db = folder / "sales.duckdb"
    shutil.copy(small_db, db)
    engine = connect(str(db))
    customers = engine.scope_customers()
    engine.close()
    srv = load.Server(folder, db, load.free_port(), os.urandom(24).hex())
    load.entitle(srv, [load.User("li@example.com", "account_manager", "managers", ("Li Na",)),
                       load.User("gone@example.com", "viewer")], customers)
    srv.start()
    yield srv
    srv.stop()


async def _open(srv, cookie: str | None) -> wsclient.Run:
    s = wsclient.Session(srv.url, {wsclient.USER_COOKIE: cookie} if cookie else {})
    await s.open()
    try:
        return await s.run("")
    finally:
        await s.close()


def in_thread(fn, *args, **kwargs):
    """Run ``fn`` in a thread of its own: the browser tests' Playwright keeps an event loop running
    in this one, where ``asyncio.run`` is refused."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args, **kwargs).result()


def _signed_out(run: wsclient.Run) -> bool:
    return "Sign in to see the dashboard." in run.texts and run.charts == 0 and not run.errors


def test_only_a_cookie_signed_by_the_server_signs_in(server):
    good = wsclient.signed_user_cookie(server.secret, server.url, "li@example.com")
    rest, stamp, sig = good.rsplit(".", 2)
    boss = wsclient.signed_user_cookie(server.secret, server.url, "boss@example.com").rsplit(".", 2)[0]
    cookies = {
        "none": None,
        "forged": wsclient.signed_user_cookie("someone-else's-secret", server.url, "li@example.com"),
        "tampered": f"{boss}.{stamp}.{sig}",  # another payload under li's signature
        "expired": wsclient.signed_user_cookie(server.secret, server.url, "li@example.com",
                                               issued_at=time.time() - 40 * 86400),
        "other origin": wsclient.signed_user_cookie(server.secret, "http://127.0.0.1:1", "li@example.com"),
    }
    for name, cookie in cookies.items():
        assert _signed_out(in_thread(asyncio.run, _open(server, cookie))), name
    run = in_thread(asyncio.run, _open(server, good))
    assert run.charts and not run.errors
    assert any(t.startswith("Signed in as li") and "account manager" in t for t in run.texts)


def test_a_user_removed_while_signed_in_loses_access_at_the_next_click(server):
    async def go():
        s = wsclient.Session(server.url, server.cookies("gone@example.com"))
        await s.open()
        try:
            first = await s.run("")
            access.remove(server.user_db, "gone@example.com", "test", None)
            region = first.widgets["region"]
            second = await s.run("", widgets=[wsclient.string_array(region.id, region.options[:1])])
            return first, second
        finally:
            await s.close()

    first, second = in_thread(asyncio.run, go())
    assert first.charts
    assert any("no access yet" in t for t in second.texts) and second.charts == 0 and not second.errors


def test_a_short_load_run_has_no_error_and_one_plan_save_wins(small_db):
    r = in_thread(load.measure, small_db, sessions=4, steps=1, seed=3)
    assert not r["errors"], r["errors"]
    assert r["alone"]["steps"] == 2 * len(load.PAGES) and r["alone"]["charted"] >= len(load.PAGES)
    assert r["at_once"]["steps"] == 8 and r["at_once"]["charted"] >= 6
    race = r["race"]
    assert (race["saved"], race["refused"], race["new_versions"]) == (1, 1, 1), race
    assert r["peak_rss_mb"] > 0 and r["cpu_total_s"] > 0
