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
for them. Ibis with its DuckDB backend, which the landing page does not use but the other pages
do (about 1 s of CPU), is imported once the landing page has been sent (``LANDING_SENT``, set by
the overview), so that it does not compete with the first visitor's first chart for the 2 cores.

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
# Set when a session has been sent the landing page (data.landing_sent); the warm-up then loads
# what the other pages need. Read through the importable module (kamdash.ui.serve), which is
# not this one when the server runs as ``python -m kamdash.ui.serve``.
LANDING_SENT = threading.Event()
LANDING_WAIT_S = 30.0  # a first visitor may open another page: it then imports Ibis itself


def warm_up(landing_wait_s: float = LANDING_WAIT_S) -> None:
    """Import the landing page's libraries and load the catalogs and Babel's locale data; then,
    once the landing page has been sent (or after ``landing_wait_s``), Ibis for the other pages.
    Not the app's own Streamlit modules (kamdash.ui) nor the database: their cached data
    functions belong to the running app."""
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
        # not the landing page's (the engine makes Ibis on the first other page)
        from kamdash.ui import serve

        serve.LANDING_SENT.wait(landing_wait_s)
        import ibis.backends.duckdb  # noqa: F401
    except Exception:  # a failed warm-up only means that the first visitor pays for the imports
        pass


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
    threading.Thread(target=warm_up, name="kamdash-warm-up", daemon=True).start()
    sys.argv = ["streamlit", "run", str(APP), *args]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
