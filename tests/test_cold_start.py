"""The landing pages start light (cold start to first chart): rendering the overview
and the concentration page in a fresh process imports none of the libraries that only other
pages or actions need (scikit-learn for segments, scipy for the value models, PyMC for fits,
kaleido / python-pptx / fpdf2 for exports, openpyxl for Excel downloads), and the overview does
not import Ibis (its queries use DuckDB's connection directly). The timing itself is measured by
the benchmarks (bench/), not here."""

import json
from datetime import date
import os
import subprocess
import sys

import pandas as pd
import pytest

from bench.child import HEAVY_MODULES
from tests.conftest import ROOT

CODE = """
import json, sys
from streamlit.testing.v1 import AppTest
heavy = set(json.loads(sys.argv[1]))
out = {}
for page in ("pages/overview.py", "pages/concentration.py"):
    at = AppTest.from_file(page, default_timeout=60).run()
    assert not at.exception and at.get("plotly_chart"), (page, at.exception)
    out[page] = {"heavy": sorted({m.split(".")[0] for m in sys.modules} & heavy), "ibis": "ibis" in sys.modules}
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def rendered(tiny_db, tmp_path_factory):
    """What a fresh process had imported after rendering the overview, then the concentration
    page (one subprocess for the tests below)."""
    env = {**os.environ, "KAMDASH_DB": str(tiny_db),
           "KAMDASH_USER_DB": str(tmp_path_factory.mktemp("cold") / "user.duckdb"), "KAMDASH_LANGUAGE": "en"}
    done = subprocess.run([sys.executable, "-c", CODE, json.dumps(HEAVY_MODULES)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_landing_pages_render_without_heavy_libraries(rendered):
    assert {page: r["heavy"] for page, r in rendered.items()} == {
        "pages/overview.py": [], "pages/concentration.py": []}


def test_overview_renders_without_ibis(rendered):
    """Importing Ibis with its DuckDB backend costs about 1 s of CPU: the overview's first render
    (shell, KPIs, trend, top accounts) queries through DuckDB's connection. The concentration
    page, rendered next in the same process, makes Ibis over that same connection."""
    assert rendered["pages/overview.py"]["ibis"] is False


WARM_UP = """
import sys, threading, time
from kamdash.ui import serve
need = ['pandas', 'kamdash.engine', 'kamdash.charts', 'kamdash.views.overview', 'plotly.graph_objs._bar',
        'plotly.graph_objs._scatter', 'streamlit.emojis']
thread = threading.Thread(target=serve.warm_up)
thread.start()
t0 = time.monotonic()
while [m for m in need if m not in sys.modules] and time.monotonic() - t0 < 90:
    time.sleep(0.05)
time.sleep(0.2)
before = 'ibis' in sys.modules
serve.LANDING_SENT.set()
thread.join(90)
print([m for m in need + ['ibis.backends.duckdb'] if m not in sys.modules], before)
"""


def test_server_warm_up_loads_the_landing_page_libraries_not_the_app_ui():
    """`python -m kamdash.ui.serve` imports the landing page's libraries in a background thread
    while the server starts, and Ibis (the other pages') only once the landing page has been sent;
    a failure inside it is swallowed, so check that it does its work (here without a database:
    the data part is ``warm_data``'s test)."""
    env = {**os.environ, "KAMDASH_DB": str(ROOT / "no-such-folder" / "none.duckdb")}
    done = subprocess.run([sys.executable, "-c", WARM_UP], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[] False"


def _dist(tmp_path, name: str, metadata: str):
    from importlib.metadata import PathDistribution

    folder = tmp_path / f"{name}-1.0.dist-info"
    folder.mkdir()
    (folder / "METADATA").write_text(metadata)
    return PathDistribution(folder)


def test_quick_component_scan_keeps_streamlits_choice(tmp_path):
    """The start-up scan for custom components reads raw METADATA headers first: every package
    Streamlit's own check keeps is still handed to it (by name, summary, requirement or an
    ``st-`` name), one that only mentions Streamlit in its description is not, and the
    installed packages get the same answer as before."""
    from importlib.metadata import distributions

    from streamlit.components.v2 import manifest_scanner

    from kamdash.ui import serve

    serve.quick_component_scan()
    quick = manifest_scanner._is_likely_streamlit_component_package
    assert quick.quick
    serve.quick_component_scan()  # idempotent: not wrapped twice
    assert manifest_scanner._is_likely_streamlit_component_package is quick
    original = quick.original
    assert not getattr(original, "quick", False)
    cases = {
        "streamlit-maps": ("Metadata-Version: 2.1\nName: streamlit-maps\nVersion: 1.0\n", True),
        "st-aggrid": ("Metadata-Version: 2.1\nName: st-aggrid\nVersion: 1.0\n", True),
        "charts": ("Metadata-Version: 2.1\nName: charts\nVersion: 1.0\nSummary: Maps for Streamlit apps\n", True),
        "widgets": ("Metadata-Version: 2.1\nName: widgets\nVersion: 1.0\nRequires-Dist: streamlit>=1.40\n", True),
        "docs": ("Metadata-Version: 2.1\nName: docs\nVersion: 1.0\n\nWorks well in a Streamlit app.\n", False),
        "plain": ("Metadata-Version: 2.1\nName: plain\nVersion: 1.0\nSummary: numbers\n", False),
    }
    for name, (text, kept) in cases.items():
        dist = _dist(tmp_path, name, text)
        assert quick(dist) is kept, name
        assert original(dist) is kept, name
    installed = list(distributions())[:8]
    assert [quick(d) for d in installed] == [original(d) for d in installed]


def test_warm_data_reads_the_default_period_into_the_shared_engine(tiny_db, monkeypatch):
    """The server's warm-up reads the default period's data into the engine that its sessions
    share (kamdash.ui.data.engine): every read succeeds, the engine then holds the month columns
    of the period's end and of the month before its start, and the overview computed on it
    gives the same figures as on a freshly opened engine."""
    from kamdash import config
    from kamdash.engine import connect
    from kamdash.ui import data, serve
    from kamdash.views import common, overview

    import threading

    monkeypatch.setenv("KAMDASH_DB", str(tiny_db))
    monkeypatch.setattr(serve, "PAGE_RUNNING", threading.Event())  # no visitor
    target = config.db_target()
    assert serve.warm_data(serve.LANDING_READS + serve.OTHER_READS) == [*serve.LANDING_READS, *serve.OTHER_READS]
    eng = data.engine()
    try:
        f = common.default_filters(eng.data_facts())
        assert (f.start, f.end) == (date(2024, 10, 1), date(2025, 6, 1))  # 9 months of data: all of them
        held = {k for k in eng.columns._cols if isinstance(k, tuple) and len(k) == 2 and isinstance(k[0], date)}
        assert {(f.end, "revenue"), (f.end, "orders")} <= held
        assert eng.held(("activity", "M")) is not None
        fresh = connect(str(tiny_db))
        try:
            a = overview.build(eng, f, f.start)
            b = overview.build(fresh, f, f.start)
            assert repr(a.kpis) == repr(b.kpis) and a.active_customers == b.active_customers  # NaN-aware
            pd.testing.assert_frame_equal(a.monthly, b.monthly)
            pd.testing.assert_frame_equal(a.top, b.top)
        finally:
            fresh.close()
    finally:
        with data._registry_lock:
            cur = data._engines.get(target)
        if cur:
            data._close(target, cur)


def test_default_filters_are_the_last_twelve_months():
    from kamdash.views import common

    f = common.default_filters({"first_month": date(2022, 1, 1), "last_month": date(2024, 12, 1)})
    assert (f.start, f.end, f.months) == (date(2024, 1, 1), date(2024, 12, 1), 12)
    assert common.default_filters({"first_month": None, "last_month": None}) is None


def test_warm_up_of_other_pages_waits_for_a_running_first_page(monkeypatch):
    """With a visitor's first page still running, the warm-up of the other pages' data does not
    start when the wait runs out: only once that page has been sent (``data.page_run``)."""
    import threading
    import time

    from kamdash.ui import data, serve

    monkeypatch.setattr(serve, "LANDING_SENT", threading.Event())
    monkeypatch.setattr(serve, "PAGE_RUNNING", threading.Event())
    reads = []
    monkeypatch.setattr(serve, "warm_data", lambda names: reads.append(names) or [])
    release = threading.Event()

    def page():
        with data.page_run():
            release.wait(10)

    visitor = threading.Thread(target=page)
    visitor.start()
    while not serve.PAGE_RUNNING.is_set():
        pass
    warm = threading.Thread(target=serve.warm_up, args=(0.05,))
    warm.start()
    deadline = time.monotonic() + 60
    while not reads and time.monotonic() < deadline:  # the imports come first
        time.sleep(0.02)
    warm.join(0.5)  # many waits of 0.05 s have run out
    assert warm.is_alive() and reads == [serve.LANDING_READS]
    release.set()
    visitor.join(5)
    warm.join(30)
    assert not warm.is_alive() and reads == [serve.LANDING_READS, serve.OTHER_READS]


def test_warm_data_starts_no_read_while_a_first_page_runs(tiny_db, monkeypatch):
    """While a visitor's first page runs (and has not been sent), the warm-up reads nothing: the
    page reads what it needs without competing with it."""
    import threading

    from kamdash import config
    from kamdash.ui import data, serve

    monkeypatch.setenv("KAMDASH_DB", str(tiny_db))
    monkeypatch.setattr(serve, "LANDING_SENT", threading.Event())
    monkeypatch.setattr(serve, "PAGE_RUNNING", threading.Event())
    serve.PAGE_RUNNING.set()
    assert serve.warm_data(serve.LANDING_READS) == []
    serve.LANDING_SENT.set()
    try:
        assert serve.warm_data(("data_facts",)) == ["data_facts"]
    finally:
        target = config.db_target()
        with data._registry_lock:
            cur = data._engines.get(target)
        if cur:
            data._close(target, cur)
