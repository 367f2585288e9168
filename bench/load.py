"""Many users at once: signed-in sessions changing filters on different pages of one server.

```
KAMDASH_BENCH_CACHE=/work/bench-cache .venv/bin/python -m bench.load --size 1M --sessions 20
```

Starts kamdash in team mode as ``make run`` would (``python -m kamdash.ui.serve`` with an
``[auth]`` secrets file) on 127.0.0.1, on a copy of the demo database of that size (sessions
write plans into its user database, the shared file is never written). The users are account
managers, regional heads, a director and a viewer, with entitlements stored as the Admin page
stores them. Each session is a light client speaking Streamlit's websocket protocol
(``bench/wsclient.py``), not a browser: on a 2-core machine twenty Chromium tabs measure the
browsers, not the server.

1. **One session alone**: a manager not among the twenty opens each page of the script and
   changes its filters, timed.
2. **Twenty at once**: each session opens its own page (the pages in turn), then changes the
   sidebar filters ``--steps`` times (a region or manager it may see, the period), all
   sessions starting together.
3. **Two managers save the same plan at the same moment** (a regional head and the account's
   manager, both entitled to it, both started from the same version): one is saved, the other
   is shown the conflict (both versions), and the stored plan has exactly one new version.

Reported: time to first chart per step (the request sent to the first chart's message
received) as median and 95th percentile, alone and at once; the server's CPU time (all its
threads, from /proc) and its peak resident memory (VmHWM); every error any session was shown.
Goals: p95 at once ≤ 3 × the single session's p95, peak RSS ≤ 3 GB, no error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bench import wsclient
from bench.child import stop_process

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("KAMDASH_BENCH_CACHE", Path(__file__).resolve().parent / "cache"))
# the pages a session opens, in turn (URL paths); each draws a chart from the sidebar filters
# (the Account plans page is a list: it has no first chart to time)
PAGES = ("", "concentration", "key-accounts", "retention", "what-if", "my-accounts", "segments")
PLAN_TAB = "Account plan"  # the Account 360 tab with the plan form (English catalog)
GOALS = {"p95_ratio": 3.0, "peak_rss_mb": 3 * 1024}


# ---------------------------------------------------------------- server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A kamdash server in team mode; ``proc.pid`` is streamlit's own process."""

    folder: Path
    db: Path
    port: int
    secret: str
    proc: subprocess.Popen | None = None
    profile: str | None = None  # write a cProfile of every script run here (bench.profile_server)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def user_db(self) -> Path:
        return self.folder / "user.duckdb"

    def start(self, timeout: float = 180) -> None:
        secrets = self.folder / "secrets.toml"
        # the provider is not reached while sessions hold a signed cookie (only a sign-in
        # would); a closed port on this computer keeps any attempt local
        secrets.write_text(
            "[auth]\n"
            f'redirect_uri = "{self.url}/oauth2callback"\n'
            f'cookie_secret = "{self.secret}"\n'
            'client_id = "kamdash-load"\n'
            'client_secret = "kamdash-load-secret"\n'
            'server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"\n')
        env = {**os.environ, "KAMDASH_DB": str(self.db), "KAMDASH_USER_DB": str(self.user_db),
               "KAMDASH_LANGUAGE": "en"}
        self.log = open(self.folder / "server.log", "w")
        serve = ["bench.profile_server", self.profile] if self.profile else ["kamdash.ui.serve"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", *serve, "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false", "--secrets.files", str(secrets)],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("the server exited: " + (self.folder / "server.log").read_text()[-2000:])
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"the server did not answer on {self.url} within {timeout:.0f} s")

    def stop(self) -> None:
        if self.proc is None:
            return
        stop_process(self.proc)
        self.log.close()

    def cookies(self, email: str, name: str = "") -> dict[str, str]:
        return {wsclient.USER_COOKIE: wsclient.signed_user_cookie(self.secret, self.url, email, name)}

    def usage(self) -> dict:
        return process_usage(self.proc.pid)


def process_usage(pid: int) -> dict:
    """CPU seconds (user + system, every thread) and peak resident memory (VmHWM, MB) of a
    running process, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime (fields 14, 15)
    hwm = rss = 0.0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
            elif line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
    return {"cpu_s": cpu, "peak_rss_mb": hwm, "rss_mb": rss}


# ---------------------------------------------------------------- users


@dataclass(frozen=True)
class User:
    email: str
    role: str
    scope_kind: str = "all"
    scope_values: tuple[str, ...] = ()


def team(customers, sessions: int) -> tuple[User, list[User]]:
    """The user alone (a manager) and ``sessions`` users at once: account managers (each their
    own book), regional heads, a director and a viewer; ``customers`` as
    ``Engine.scope_customers`` gives them."""
    managers = customers["account_manager"].dropna().astype(str).value_counts()
    regions = customers["region"].dropna().astype(str).value_counts()
    names = list(managers.index)
    alone = User("alone@example.com", "account_manager", "managers", (names[-1],))
    others: list[User] = []
    n_heads = max(1, sessions // 5)
    for i, region in enumerate(list(regions.index)[:n_heads]):
        others.append(User(f"head{i}@example.com", "regional_head", "regions", (region,)))
    if sessions >= 4:
        others.append(User("director@example.com", "director"))
        others.append(User("finance@example.com", "viewer"))
    i = 0
    while len(others) < sessions:
        others.append(User(f"manager{i}@example.com", "account_manager", "managers", (names[i % (len(names) - 1)],)))
        i += 1
    return alone, others[:sessions]


def entitle(server: Server, users: list[User], customers) -> None:
    """Store the entitlements as the Admin page does (validated against the sales data)."""
    from kamdash import access

    known = access.scope_known(customers)
    access.save(server.user_db, access.Entitlement("admin@example.com", "admin"), known, "load test", None)
    for u in users:
        access.save(server.user_db, access.Entitlement(u.email, u.role, u.scope_kind, u.scope_values),
                     known, "load test", None)


# ---------------------------------------------------------------- a session's script


@dataclass
class Step:
    user: str
    page: str
    what: str
    first_chart_s: float | None
    finished_s: float | None
    errors: list[str] = field(default_factory=list)
    shown: str = ""  # the text of the page's last element when it drew no chart


def filter_changes(run: wsclient.Run, rng: random.Random, steps: int) -> list[tuple[str, list]]:
    """``steps`` sidebar filter changes a user would make on this page: a region, an account
    manager or a customer type among the options shown (they are the user's), or the period
    (the slider's earlier months); each a description and the widget states to send."""
    out = []
    choices = [k for k in ("region", "manager", "ctype") if k in run.widgets and run.widgets[k].options]
    period = run.widgets.get("period")
    for i in range(steps):
        if period is not None and period.options and (i % 3 == 2 or not choices):
            opts = period.options
            lo = rng.randrange(0, max(1, len(opts) - 12))
            hi = min(len(opts) - 1, lo + 11)
            out.append((f"period {opts[lo]}..{opts[hi]}", [wsclient.string_array(period.id, [opts[lo], opts[hi]])]))
        elif choices:
            w = run.widgets[rng.choice(choices)]
            value = rng.choice(w.options)
            out.append((f"{w.key} = {value}", [wsclient.string_array(w.id, [value])]))
    return out


async def session_script(server: Server, user: User, page: str, steps: int, seed: int,
                         start: asyncio.Event | None = None) -> list[Step]:
    """Open ``page`` signed in as ``user``, then change the sidebar filters ``steps`` times."""
    rng = random.Random(seed)
    s = wsclient.Session(server.url, server.cookies(user.email))
    if start is not None:
        await start.wait()
    out: list[Step] = []
    try:
        t0 = time.perf_counter()
        await s.open()
        connect = time.perf_counter() - t0
        run = await s.run(page)
        out.append(Step(user.email, page or "overview", "open",
                        None if run.first_chart_s is None else run.first_chart_s + connect,
                        None if run.finished_s is None else run.finished_s + connect, run.errors,
                        _main_text(run)))
        for what, states in filter_changes(run, rng, steps):
            r = await s.run(page, widgets=states)
            out.append(Step(user.email, page or "overview", what, r.first_chart_s, r.finished_s, r.errors,
                            _main_text(r)))
    except Exception as exc:  # a session that breaks is an error of the run, reported as such
        out.append(Step(user.email, page or "overview", "session", None, None, [f"{type(exc).__name__}: {exc}"]))
    finally:
        await s.close()
    return out


def _main_text(run: wsclient.Run) -> str:
    """What a page without a chart said (its text after the sidebar), for the report."""
    if run.charts:
        return ""
    return " | ".join(run.texts[-4:])


# ---------------------------------------------------------------- two managers, one plan


async def same_plan_at_once(server: Server, a: User, b: User, customer_id: str) -> dict:
    """``a`` and ``b`` open the plan of ``customer_id`` and press Save at the same moment from
    the same version. Returns what each was shown and the stored versions before and after."""
    from kamdash import plans

    before = plans.latest(server.user_db, customer_id)
    sessions = [wsclient.Session(server.url, server.cookies(u.email, u.email.split("@")[0])) for u in (a, b)]
    query = f"customer={customer_id}"
    opened = []
    for s in sessions:
        await s.open()
        tab = (await s.run("account", query)).widgets["acct_tab"]
        plan_tab = wsclient.string(tab.id, PLAN_TAB)
        opened.append((plan_tab, await s.run("account", query, widgets=[plan_tab])))

    def save_states(opened, text: str) -> list:
        plan_tab, run = opened
        solution = next(w for k, w in run.widgets.items() if k.startswith("plan_solution"))
        submit = next(w for w in run.widgets.values() if w.kind == "button" and w.label == "Save plan")
        return [plan_tab, wsclient.string(solution.id, text), wsclient.trigger(submit.id)]

    results = await asyncio.gather(*[
        s.run("account", query, widgets=save_states(r, f"written by {u.email}"))
        for s, r, u in zip(sessions, opened, (a, b))])
    for s in sessions:
        await s.close()
    after = plans.history(server.user_db, customer_id)
    return {"before": before.version if before else None, "versions": [v.version for v in after],
            "latest": after[0].body.get("solution") if after else None,
            "shown": [r.text() for r in results], "errors": [r.errors for r in results]}


# ---------------------------------------------------------------- the run


def pct(values: list[float], p: float) -> float:
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def summary(steps: list[Step]) -> dict:
    times = [s.first_chart_s for s in steps if s.first_chart_s is not None]
    return {"steps": len(steps), "charted": len(times),
            "median_s": statistics.median(times) if times else float("nan"),
            "p95_s": pct(times, 0.95), "max_s": max(times) if times else float("nan"),
            "errors": [f"{s.user} {s.page} {s.what}: {e}" for s in steps for e in s.errors]}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="1M", help="demo database in KAMDASH_BENCH_CACHE (demo-<size>.duckdb)")
    ap.add_argument("--db", help="a database file instead (copied, never written)")
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--steps", type=int, default=4, help="filter changes per session after opening its page")
    ap.add_argument("--seed", type=int, default=24)
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (server log, databases)")
    ap.add_argument("--profile", metavar="OUT.prof",
                    help="profile every script run of the server into this file (slows it: times not comparable)")
    ap.add_argument("--alone-only", action="store_true", help="only the single session (no sessions at once)")
    args = ap.parse_args(argv)

    source = Path(args.db) if args.db else CACHE / f"demo-{args.size}.duckdb"
    if not source.exists():
        print(f"no database at {source}: build it with python -m bench --sizes {args.size} (or pass --db)")
        return 2
    result = measure(source, args.sessions, args.steps, args.seed, keep=args.keep, log=print,
                     profile=args.profile and str(Path(args.profile).resolve()),
                     alone_only=args.alone_only)
    report(result, log=print)
    return 0 if result["ok"] else 1


def measure(source: Path, sessions: int, steps: int, seed: int = 24, keep: bool = False,
            log=lambda *a: None, profile: str | None = None, alone_only: bool = False) -> dict:
    """Run the whole measurement on a copy of ``source``; returns its figures (see ``report``)."""
    folder = Path(tempfile.mkdtemp(prefix="kamdash-load-"))
    db = folder / "sales.duckdb"
    shutil.copy(source, db)
    server = Server(folder, db, free_port(), os.urandom(24).hex(), profile=profile)
    from kamdash.engine import connect

    engine = connect(str(db))
    try:
        customers = engine.scope_customers()
    finally:
        engine.close()
    alone, users = team(customers, sessions)
    pair = race_pair(users, customers)
    entitle(server, [alone, *users, *([pair[1]] if pair else [])], customers)
    log(f"{source.name}: {len(customers):,} customers; server on {server.url} (folder {folder})")
    t_start = time.perf_counter()
    server.start()
    log(f"server healthy after {time.perf_counter() - t_start:.1f} s")
    try:
        result = asyncio.run(_measure(server, alone, [] if alone_only else users, None if alone_only else pair,
                                      steps, seed))
    finally:
        server.stop()
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
    result["source"] = source.name
    return result


def race_pair(users: list[User], customers) -> tuple[User, User, str] | None:
    """A regional head of the run and the manager of one account of their region (both may
    edit its plan), with that account."""
    head = next((u for u in users if u.role == "regional_head"), None)
    if head is None:
        return None
    mine = customers[customers["region"].astype(str) == head.scope_values[0]]
    manager = str(mine["account_manager"].dropna().iloc[0])
    cid = str(mine.loc[mine["account_manager"] == manager, "customer_id"].iloc[0])
    return head, User("owner@example.com", "account_manager", "managers", (manager,)), cid


async def _measure(server: Server, alone: User, users: list[User], pair, steps: int, seed: int) -> dict:
    u0 = server.usage()
    single: list[Step] = []
    for i, page in enumerate(PAGES):
        single += await session_script(server, alone, page, steps, seed + i)
    u1 = server.usage()
    start = asyncio.Event()
    tasks = [asyncio.create_task(session_script(server, u, PAGES[i % len(PAGES)], steps, seed + 100 + i, start))
             for i, u in enumerate(users)]
    await asyncio.sleep(0.1)
    t0 = time.perf_counter()
    start.set()
    many = [s for steps_ in await asyncio.gather(*tasks) for s in steps_]
    wall = time.perf_counter() - t0
    u2 = server.usage()
    race = await same_plan_at_once(server, *pair) if pair else None
    u3 = server.usage()

    s1, sn = summary(single), summary(many)
    ratio = sn["p95_s"] / s1["p95_s"] if s1["p95_s"] else float("inf")
    errors = s1["errors"] + sn["errors"]
    ok = ratio <= GOALS["p95_ratio"] and u3["peak_rss_mb"] <= GOALS["peak_rss_mb"] and not errors
    if race is not None:
        race["saved"] = sum("Plan saved as version" in t for t in race["shown"])
        race["refused"] = sum("Not saved:" in t and "Their version" in t for t in race["shown"])
        race["new_versions"] = sum(v > (race["before"] or 0) for v in race["versions"])
        race["ok"] = race["saved"] == 1 and race["refused"] == 1 and race["new_versions"] == 1
        ok = ok and race["ok"]
    return {"single": single, "many": many, "alone": s1, "at_once": sn, "ratio": ratio, "wall_s": wall,
            "sessions": len(users), "steps": steps, "cpu_alone_s": u1["cpu_s"] - u0["cpu_s"],
            "cpu_at_once_s": u2["cpu_s"] - u1["cpu_s"], "cpu_total_s": u3["cpu_s"],
            "peak_rss_mb": u3["peak_rss_mb"], "errors": errors, "race": race, "ok": ok}


def report(r: dict, log=print) -> None:
    s1, sn = r["alone"], r["at_once"]
    log(f"\none session alone ({len(PAGES)} pages x (open + {r['steps']} filter changes)): "
        f"first chart median {s1['median_s']:.2f} s, p95 {s1['p95_s']:.2f} s, max {s1['max_s']:.2f} s "
        f"({s1['charted']}/{s1['steps']} steps drew a chart); server CPU {r['cpu_alone_s']:.1f} s "
        f"({r['cpu_alone_s'] / max(1, s1['steps']):.2f} s per step)")
    log(f"{r['sessions']} sessions at once: first chart median {sn['median_s']:.2f} s, p95 {sn['p95_s']:.2f} s, "
        f"max {sn['max_s']:.2f} s ({sn['charted']}/{sn['steps']} steps drew a chart) in {r['wall_s']:.1f} s; "
        f"server CPU {r['cpu_at_once_s']:.1f} s ({r['cpu_at_once_s'] / r['wall_s']:.2f} cores, "
        f"{r['cpu_at_once_s'] / max(1, sn['steps']):.2f} s per step)")
    log(f"p95 at once / p95 alone = {r['ratio']:.2f} (goal <= {GOALS['p95_ratio']:.0f}); "
        f"server peak RSS {r['peak_rss_mb']:,.0f} MB (goal <= {GOALS['peak_rss_mb']:,} MB); "
        f"server CPU in all {r['cpu_total_s']:.1f} s")
    race = r["race"]
    if race is not None:
        log(f"two managers saving one plan at once: {race['saved']} saved, {race['refused']} shown the conflict, "
            f"{race['new_versions']} new version stored ({'ok' if race['ok'] else 'NOT OK'})")
    log("\nper page (first chart median / p95 in s, steps that drew a chart), alone | at once:")
    for page in PAGES:
        name = page or "overview"
        a = summary([x for x in r["single"] if x.page == name])
        m = summary([x for x in r["many"] if x.page == name])
        log(f"  {name:14} {a['median_s']:6.2f} / {a['p95_s']:6.2f} ({a['charted']}/{a['steps']})"
            f"  |  {m['median_s']:6.2f} / {m['p95_s']:6.2f} ({m['charted']}/{m['steps']})")
    blank = [s for s in r["single"] + r["many"] if s.first_chart_s is None and not s.errors]
    for s in blank[:10]:
        log(f"  no chart: {s.user} {s.page} {s.what}: {s.shown[:160]!r}")
    for e in r["errors"][:20]:
        log("  error:", e)
    if len(r["errors"]) > 20:
        log(f"  ... and {len(r['errors']) - 20} more errors")
    log("goals met" if r["ok"] else "goals NOT met")


if __name__ == "__main__":
    sys.exit(main())
