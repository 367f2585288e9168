"""Start the dashboard: ``python -m kamdash.ui.serve [streamlit run options]`` (what `make run`
does).

app.py lists its pages with ``st.navigation``. Streamlit 1.67 still treats a ``pages/`` folder
next to the entry script as the legacy auto-discovered multipage app until ``st.navigation`` has
run once in the server process, so a link that opens a page directly (``/concentration?...``)
on a freshly started server would run that page file alone, with the wrong menu and layout.
Telling Streamlit up front that the app does not use the legacy folder fixes shared links.

While the server starts and the first browser loads the app's JavaScript (seconds in which the
server has nothing to do), a background thread imports what the landing page needs (pandas,
plotly, DuckDB, the engine, charts, the catalogs and Babel's locale data, plotly's
validators of the first figure, Streamlit's emoji catalog), so the first visitor does not wait
for them. Then it reads the landing page's data for the default period into the engine the
sessions share (``warm_data``). Ibis with its DuckDB backend, which the landing page does not use
but the other pages do (about 1 s of CPU), and the data the other pages start from are loaded
once the first page a visitor opened has been sent (``LANDING_SENT``, set by the overview and
after any page's run in the app), so that they do not compete with the first visitor's first
chart for the 2 cores.

Without an ``[auth]`` section in Streamlit's secrets kamdash runs in single-user mode: nobody
signs in, so the server listens on 127.0.0.1 only (an address given on the command line must be
a loopback one). With it (team mode) error details are not shown to users and XSRF protection
is kept on; the address is then the deployment's choice (``--server.address``, or config.toml).
"""

from __future__ import annotations

import ipaddress
import sys
import threading
from pathlib import Path

import tomllib

APP = Path(__file__).resolve().parents[2] / "app.py"
# Set when a session has been sent the landing page or any first page (data.landing_sent,
# data.page_run); the warm-up then loads what the other pages need. Read through the importable module (kamdash.ui.serve), which is
# not this one when the server runs as ``python -m kamdash.ui.serve``.
LANDING_SENT = threading.Event()
PAGE_RUNNING = threading.Event()  # a visitor's page has started (data.page_run)
LANDING_WAIT_S = 30.0  # nobody came: the warm-up goes on after this long


def warm_up(landing_wait_s: float = LANDING_WAIT_S) -> None:
    """Import the landing page's libraries, load the catalogs and Babel's locale data and read the
    landing page's data into the shared engine (``warm_data``); then, once the first page a
    visitor opened has been sent (or after ``landing_wait_s`` when no page is running), Ibis and
    the data the other pages start from. Never a page's cached result (Streamlit's caches belong
    to the running app's reruns)."""
    try:
        from datetime import date

        import pandas as pd

        from kamdash import charts, i18n  # noqa: F401
        from kamdash.views import overview  # noqa: F401

        for lang in i18n.LANGUAGES:
            i18n.catalog(lang)
            i18n.fmt_money(12_345.6, lang)
            i18n.fmt_month(date(2025, 1, 1), lang)
            i18n.fmt_date(date(2025, 1, 1), lang)
        # Streamlit compiles its emoji catalog the first time a label is not ASCII (简体中文 in the
        # language switch)
        from streamlit.string_util import extract_leading_icon

        extract_leading_icon(i18n.LANGUAGES["zh"])
        # plotly loads a trace type's validators on its first figure
        monthly = pd.DataFrame({"month": pd.to_datetime(["2025-01-01"]), "revenue": [1.0],
                                "gross_profit": [1.0], "account_profit": [1.0]})
        charts.trend_chart(monthly, {k: k for k in ("revenue", "gross_profit", "account_profit")}, "en", "CNY")
        warm_data(LANDING_READS)
        # not the landing page's (the engine makes Ibis on the first other page)
        from kamdash.ui import serve

        sent = serve.LANDING_SENT.wait(landing_wait_s)
        while not sent and serve.PAGE_RUNNING.is_set():  # a visitor's first page is still running
            sent = serve.LANDING_SENT.wait(landing_wait_s)
        import ibis.backends.duckdb  # noqa: F401

        warm_data(OTHER_READS)
    except Exception:  # a failed warm-up only means that the first visitor pays for the imports
        pass


# What the warm-up reads into the engine, with the filters a page opens with: the landing page's
# numbers first, then (once it has been sent) the reads the other pages start from.
LANDING_READS = ("data_facts", "dimension_options", "overview")
OTHER_READS = ("customer_facts", "customer_features", "customer_links", "cohort_counts", "activity_gaps")


def warm_data(reads: tuple[str, ...]) -> list[str]:
    """Read what ``reads`` name into the engine that the server's sessions share
    (``kamdash.ui.data.engine``), for the default period (``views.common.default_filters``), and
    return the names done. What the engine keeps is data (month columns, a period's facts,
    every customer's active months), never a page's result: a first visit then computes its
    figures from data already in memory. Only a database file that passes the store's check is
    opened (an older or damaged file waits for the user's way out); a read that fails is left
    to the page, which says what is wrong. No read starts while a visitor's first page is
    running and not yet sent: the visitor's page reads what it needs without competing with it
    (a read under way finishes, and a page that needs the same data waits for it)."""
    from kamdash import config, store
    from kamdash.ui import data
    from kamdash.ui import serve as shared  # the events the app sets (not __main__'s)
    from kamdash.views import common

    target = config.db_target()
    path = config.db_path(target)
    if path is None or not path.exists() or not store.check_sales_db(path).ok:
        return []
    eng = data.engine()
    facts = eng.data_facts()
    f = common.default_filters(facts)
    if f is None:
        return []
    calls = {
        "data_facts": lambda: None,
        "dimension_options": eng.dimension_options,
        "overview": lambda: _overview(eng, f, facts),
        "customer_facts": lambda: eng.customer_facts(f),
        "customer_features": lambda: eng.customer_features(f, False),
        "customer_links": eng.customer_links,
        "cohort_counts": lambda: eng.cohort_counts(f),
        "activity_gaps": lambda: eng.activity_gaps(f),
    }
    done = []
    for name in reads:
        if shared.PAGE_RUNNING.is_set() and not shared.LANDING_SENT.is_set():
            break  # a visitor's first page is running: it reads what it needs, uncontested
        try:
            calls[name]()
            done.append(name)
        except Exception:  # noqa: BLE001  the page reads it again and reports the problem
            continue
    return done


def _overview(eng, f, facts) -> None:
    from kamdash.views import overview

    overview.build(eng, f, facts["first_month"])


def quick_component_scan() -> None:
    """Make Streamlit's start-up scan for installed custom components (``components.v2``) read
    each installed package's metadata as raw text instead of parsing it as e-mail headers.

    Streamlit looks at every installed distribution when a server (or an AppTest) starts and keeps
    those whose name, summary or requirements mention ``streamlit`` (or whose name starts with
    ``st-``/``st_``); parsing ~140 METADATA files takes seconds of CPU on a busy machine before
    the first page can run. A package whose METADATA headers (the part before the first blank
    line, where name, summary and requirements are) do not contain ``streamlit`` and whose name
    does not start with ``st-``/``st_`` cannot pass Streamlit's own check, so only the others are
    handed to it: the same components are found. Idempotent; if Streamlit no longer has the
    function, nothing changes."""
    try:
        from streamlit.components.v2 import manifest_scanner
    except ImportError:
        return
    original = getattr(manifest_scanner, "_is_likely_streamlit_component_package", None)
    if original is None or getattr(original, "quick", False):
        return

    def likely(dist) -> bool:
        try:
            text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
        except OSError:
            text = ""
        headers = text.split("\n\n", 1)[0]  # what Streamlit reads are headers, not the description
        if not headers or "streamlit" in headers.lower():
            return original(dist)
        name = next((h[5:].strip().lower() for h in headers.splitlines() if h.startswith("Name:")), "")
        return original(dist) if name.startswith(("st-", "st_")) else False

    likely.quick, likely.original = True, original
    manifest_scanner._is_likely_streamlit_component_package = likely


def secrets_files(args: list[str]) -> list[Path]:
    """The secrets files Streamlit reads: ``--secrets.files`` when given, else the user's and
    the working folder's ``.streamlit/secrets.toml``."""
    given = _option(args, "secrets.files")
    if given:
        return [Path(p.strip()) for p in given.strip("[]").replace("'", "").replace('"', "").split(",") if p.strip()]
    return [Path.home() / ".streamlit" / "secrets.toml", Path.cwd() / ".streamlit" / "secrets.toml"]


def team_mode(args: list[str]) -> bool:
    """True when a secrets file has an ``[auth]`` section (sign-in configured)."""
    for path in secrets_files(args):
        try:
            with open(path, "rb") as f:
                if "auth" in tomllib.load(f):
                    return True
        except (OSError, tomllib.TOMLDecodeError):
            continue
    return False


def _option(args: list[str], name: str) -> str | None:
    """The value of ``--name value`` or ``--name=value`` in ``args`` (the last one wins)."""
    flag, value = f"--{name}", None
    for i, a in enumerate(args):
        if a == flag and i + 1 < len(args):
            value = args[i + 1]
        elif a.startswith(flag + "="):
            value = a.split("=", 1)[1]
    return value


def _loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def server_args(args: list[str]) -> list[str]:
    """The command-line options with those the mode requires added (SystemExit with a message
    for a single-user server asked to listen beyond this computer)."""
    args = list(args)
    if not team_mode(args):
        address = _option(args, "server.address")
        if address is not None and not _loopback(address):
            raise SystemExit(f"kamdash runs in single-user mode (no [auth] section in .streamlit/secrets.toml): "
                             f"it listens on 127.0.0.1 only, not on {address}. Configure sign-in to serve a "
                             "team (README: Deploying for a team).")
        if address is None:
            args += ["--server.address", "127.0.0.1"]
        return args
    if _option(args, "client.showErrorDetails") is None:
        args += ["--client.showErrorDetails", "none"]
    if _option(args, "server.enableXsrfProtection") is None:
        args += ["--server.enableXsrfProtection", "true"]
    return args


def main(argv: list[str] | None = None) -> int:
    from kamdash import config

    config.one_thread_per_computation()  # before any numeric library is loaded
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    args = server_args(sys.argv[1:] if argv is None else argv)
    if _option(args, "runner.postScriptGC") is None:
        # Streamlit runs a full garbage collection after every script run by default: with the
        # data of a large database in memory that takes most of a second of CPU, holding the
        # interpreter lock (every other session waits). Reference counting frees a rerun's
        # objects anyway; Python's own collector still runs as memory grows.
        args += ["--runner.postScriptGC", "false"]
    PagesManager.uses_pages_directory = False
    quick_component_scan()
    threading.Thread(target=warm_up, name="kamdash-warm-up", daemon=True).start()
    sys.argv = ["streamlit", "run", str(APP), *args]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
