"""First visit to a just-started server, page by page.

``python -m bench.first_visit --db FILE [--pages overview,segments] [--after 0] [--runs 1]``

For every page: start a fresh server as users do (``python -m kamdash.ui.serve``, single-user
mode, on 127.0.0.1, a user database of its own in a temporary folder; the sales database is only
read), wait until its health check answers (plus ``--after`` seconds: a visitor who comes a
little later), open one session with the light client (``bench.wsclient``, no browser) and ask
for the page. Printed per page: seconds from the request to the page's first chart (what the
visitor waits for), from the server's spawn to that chart, and the server's CPU time (all its
threads) by then, with the load average; the server is stopped afterwards. It complements the
AppTest row of ``python -m bench`` (a page in a fresh process: every import, no warm-up) with
what a server that has started does for its first visitor (its warm-up, ``kamdash.ui.serve``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.child import cpu_s, stop_process, wait_healthy

ROOT = Path(__file__).resolve().parents[1]
# page -> URL path (app.py); the account page opens on the customer with the most revenue
PAGES = {"overview": "", "concentration": "concentration", "segments": "segments",
         "key accounts": "key-accounts", "retention": "retention", "what-if": "what-if",
         "my accounts": "my-accounts", "account": "account", "present": "present"}


def top_customer(db: str) -> str:
    import duckdb

    con = duckdb.connect(db, read_only=True)
    try:
        return con.execute("SELECT customer_id FROM order_lines GROUP BY customer_id "
                           "ORDER BY sum(revenue) DESC, customer_id LIMIT 1").fetchall()[0][0]
    finally:
        con.close()


def visit(db: str, page: str, after: float, query: str = "", timeout: float = 900, root: Path = ROOT) -> dict:
    """One fresh server (the checkout at ``root``), one visit to ``page``; figures in seconds."""
    from bench.wsclient import Session

    folder = Path(tempfile.mkdtemp(prefix="kamdash-first-visit-"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "KAMDASH_DB": db, "KAMDASH_USER_DB": str(folder / "user.duckdb"),
           "KAMDASH_LANGUAGE": "en"}
    log = open(folder / "server.log", "wb")
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kamdash.ui.serve", "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true", "--browser.gatherUsageStats", "false",
         "--secrets.files", str(folder / "no-secrets.toml")],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        ready = wait_healthy(proc, url, t0, 180)
        if ready is None:
            return {"error": "the server did not start: " + (folder / "server.log").read_text()[-500:]}
        time.sleep(after)

        async def go():
            s = Session(url, timeout=timeout)
            await s.open()
            try:
                sent = time.perf_counter()
                run = await s.run(PAGES[page], query)
                return run, sent
            finally:
                await s.close()

        run, sent = asyncio.run(go())
        chart_at = None if run.first_chart_s is None else sent - t0 + run.first_chart_s
        return {"page": page, "ready_s": ready, "first_chart_s": run.first_chart_s, "from_spawn_s": chart_at,
                "finished_s": run.finished_s, "server_cpu_s": cpu_s(proc.pid), "errors": run.errors[:3],
                "load": os.getloadavg()[0]}
    finally:
        stop_process(proc)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True, help="the sales database (only read)")
    ap.add_argument("--pages", default=",".join(PAGES), help="comma-separated page names")
    ap.add_argument("--after", type=float, default=0.0, help="seconds between the health check and the visit")
    ap.add_argument("--root", default=str(ROOT),
                    help="the kamdash checkout whose server is started (another version, to compare)")
    args = ap.parse_args(argv)
    db = str(Path(args.db).absolute())
    pages = [p.strip() for p in args.pages.split(",") if p.strip()]
    unknown = [p for p in pages if p not in PAGES]
    if unknown:
        raise SystemExit(f"unknown page(s) {unknown}; choose from {', '.join(PAGES)}")
    for page in pages:
        query = f"customer={top_customer(db)}" if page == "account" else ""
        r = visit(db, page, args.after, query, root=Path(args.root))
        if "error" in r:
            print(f"  {page}: {r['error']}", flush=True)
            continue
        fc = "no chart" if r["first_chart_s"] is None else f"{r['first_chart_s']:.1f} s after the request"
        spawn = "" if r["from_spawn_s"] is None else f", {r['from_spawn_s']:.1f} s after the spawn"
        print(f"  {page}: first chart {fc}{spawn} (server ready at {r['ready_s']:.1f} s, server CPU "
              f"{r['server_cpu_s']:.1f} s, load {r['load']:.1f}){' errors: ' + str(r['errors']) if r['errors'] else ''}",
              flush=True)
        print(json.dumps(r), file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
