"""The server runs the numeric libraries with one thread per computation (``kamdash.config``),
set before any of them is loaded, and the operator's own setting wins."""

from __future__ import annotations

import subprocess
import sys

from kamdash import config


def test_library_thread_pools_default_to_one(monkeypatch):
    for var in config.LIBRARY_THREAD_VARS:  # restored after the test, whether set before or not
        monkeypatch.setenv(var, "x")
        monkeypatch.delenv(var)
    monkeypatch.setenv("OMP_NUM_THREADS", "4")  # the operator's choice
    config.one_thread_per_computation()
    import os

    assert os.environ["OMP_NUM_THREADS"] == "4"
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1" and os.environ["MKL_NUM_THREADS"] == "1"


def test_the_server_module_loads_no_numeric_library_before_it_sets_them():
    code = ("import sys; import kamdash.ui.serve; "
            "print(sorted(m for m in ('numpy', 'pandas', 'sklearn', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
