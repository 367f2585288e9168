"""The benchmark cases compute the same numbers in kamdash and in the pandas baseline."""

import math

import pytest

from bench.child import PandasData, filter_states
from bench.harness import load_cases, report
from kamdash import queries


@pytest.fixture(scope="module")
def setup(small_db):
    backend = queries.connect(str(small_db))
    return backend, PandasData(str(small_db)), filter_states(backend)


def test_overview_case_matches_its_pandas_baseline(setup):
    backend, data, states = setup
    case = load_cases()["overview"]
    for f in states:
        k, p = case.kamdash_step(backend, f), case.pandas_step(data, f)
        for key, value in p["kpis"].items():
            got = k["kpis"][key]
            assert (math.isnan(got) and math.isnan(value)) or got == pytest.approx(value, rel=1e-9), (f, key)
        assert k["top"] == p["top"]


def test_report_states_ratios():
    rows = [{"size": "1M", "what": "x: data step", "kamdash_s": 0.02, "kamdash_rss_mb": 100,
             "pandas_s": 0.4, "pandas_rss_mb": 800}]
    text = report(rows, {"cores": 2, "memory": "24 GiB", "machine": "x86_64", "python": "3.11",
                         "duckdb": "2.0", "pandas": "3.1"}, 5)
    assert "| 1M | x: data step | 20 ms | 100 MB | 400 ms | 800 MB | 0.05 | 0.12 |" in text


def test_harness_runs_end_to_end_at_a_tiny_size(tmp_path, monkeypatch, capsys):
    """`python -m bench` at 20K order lines: builds, times, checks equality with pandas."""
    import bench.harness as harness

    monkeypatch.setattr(harness, "CACHE", tmp_path)
    assert harness.main(["--sizes", "20K", "--cases", "overview", "--no-pages"]) == 0
    out = capsys.readouterr().out
    assert "| 20K | overview: data step after a filter change |" in out
    assert "| 20K | overview: same figures as pandas (6 filter states) | yes |" in out
    assert "error" not in out
