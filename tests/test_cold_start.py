"""The landing pages start light (issue 10, cold start to first chart): rendering the overview
and the concentration page in a fresh process imports none of the libraries that only other
pages or actions need (scikit-learn for segments, scipy for the value models, PyMC for fits,
kaleido / python-pptx / fpdf2 for exports, openpyxl for Excel downloads). The timing itself is
measured by the benchmarks (bench/), not here."""

import json
import os
import subprocess
import sys

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
    out[page] = sorted({m.split(".")[0] for m in sys.modules} & heavy)
print(json.dumps(out))
"""


def test_landing_pages_render_without_heavy_libraries(tiny_db, tmp_path):
    env = {**os.environ, "KAMDASH_DB": str(tiny_db), "KAMDASH_USER_DB": str(tmp_path / "user.duckdb"),
           "KAMDASH_LANGUAGE": "en"}
    done = subprocess.run([sys.executable, "-c", CODE, json.dumps(HEAVY_MODULES)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == {"pages/overview.py": [], "pages/concentration.py": []}


def test_server_warm_up_loads_the_landing_page_libraries_not_the_app_ui():
    """`python -m kamdash.ui.serve` imports the landing page's libraries in a background thread
    while the server starts; it must not import the app's Streamlit modules (their cached data
    functions belong to the running app), and a failure inside it is swallowed, so check that
    it does its work."""
    code = ("import sys\nfrom kamdash.ui.serve import warm_up\nwarm_up()\n"
            "need = ['pandas', 'ibis.backends.duckdb', 'kamdash.queries', 'kamdash.charts', "
            "'kamdash.views.overview', 'plotly.graph_objs._bar', 'plotly.graph_objs._scatter', 'streamlit.emojis']\n"
            "print([m for m in need if m not in sys.modules], 'kamdash.ui.data' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[] False"
