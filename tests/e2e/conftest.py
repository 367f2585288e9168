"""Browser tests: a real `streamlit run` driven by Playwright in Debian's headless Chromium.

`playwright install` cannot download a browser here, so the launch points at the system
Chromium (KAMDASH_CHROMIUM overrides /usr/bin/chromium). Without one the tests are skipped
with a message; `make test` installs it when it can.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from kamdash import config

# Playwright's default of 5 s per expectation is too short for a 2-core machine running the suite
# next to other work (an account plan's text box once took longer to appear): 20 s unless a
# test gives its own timeout.
expect.set_options(timeout=20_000)

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = config.SETTINGS["chromium"].get()
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: install Debian's chromium or set KAMDASH_CHROMIUM")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1440, "height": 1000}, "locale": "en-US"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, db: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "KAMDASH_DB": str(db), "KAMDASH_LANGUAGE": "en"}
        self.started = time.perf_counter()
        # Popen on the interpreter itself, so .pid is streamlit's own process (no shell wrapper);
        # started the way `make run` starts it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "kamdash.ui.serve",
             "--server.port", str(self.port), "--server.address", "127.0.0.1",
             "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self._wait_healthy()

    def _wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("streamlit exited:\n" + (self.proc.stdout.read() or ""))
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"streamlit did not answer on {self.url} within {timeout}s")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture(scope="session")
def demo_fit(demo_db):
    """The lifetime model stored for the demo database, as a first visit to Retention & value
    would have stored it."""
    from kamdash import config, retention
    from kamdash.engine import connect

    backend = connect(str(demo_db))
    facts = backend.data_facts()
    settings = retention.FitSettings("bgnbd", retention.TIME_UNIT_DEFAULT,
                                     retention.calibration_end(facts["as_of"], retention.HOLDOUT_MONTHS_DEFAULT))
    retention.load_or_fit(backend, config.user_db_path(demo_db), settings, facts["data_version"], facts["as_of"])
    backend.close()


@pytest.fixture(scope="session")
def server(demo_db, demo_fit):
    """One app server on the demo database (with its stored model) for every browser test that
    does not need a server of its own: each start costs the server's warm-up."""
    srv = Server(demo_db)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
