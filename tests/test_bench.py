"""The benchmark cases compute the same numbers in kamdash and in the pandas baseline."""

import math

import pytest

from bench.child import PandasData, filter_states
from bench.harness import load_cases, report
from kamdash.engine import connect


@pytest.fixture(scope="module")
def setup(small_db):
    backend = connect(str(small_db))
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


def test_segments_case_matches_its_pandas_baseline_customer_by_customer(setup):
    from bench.child import same

    backend, data, states = setup
    case = load_cases()["segments"]
    for f in states:
        k, p = case.kamdash_step(backend, f), case.pandas_step(data, f)
        assert k["customers"] == p["customers"] > 0
        assert same(k, p) is None, f
    spoiled = case.pandas_step(data, states[0])
    spoiled["features"].iloc[3, 0] += 1.0  # one customer's recency one day off is caught
    assert same(case.kamdash_step(backend, states[0]), spoiled) == "result.features: 1 cells differ"
    fit = case.fit_step(backend)
    assert fit["k"] == 6 and sum(fit["sizes"]) == fit["customers"]


def test_pandas_baseline_is_not_run_above_10m_unless_asked(monkeypatch):
    import bench.harness as harness

    calls = []
    monkeypatch.setattr(harness, "ensure_db", lambda size: {"path": "x", "cached": True})
    monkeypatch.setattr(harness, "child", lambda spec, timeout=0: calls.append(spec) or {"median_s": 0.1})
    rows = harness.run(["50M"], ["overview"], 5, pages=False)
    assert [c["impl"] for c in calls if c["kind"] == "step"] == ["kamdash"]
    assert not [c for c in calls if c["kind"] in ("pandas_load", "check")]
    assert rows[0]["what"].startswith("pandas baseline: not run")
    calls.clear()
    harness.run(["50M"], ["overview"], 5, pages=False, pandas_all=True)
    assert [c["impl"] for c in calls if c["kind"] == "step"] == ["kamdash", "pandas"]
    calls.clear()  # --no-fits: the retention case's fit is not timed, its step still is
    harness.run(["50M"], ["retention"], 5, pages=False, fits=False)
    assert [c["kind"] for c in calls] == ["step"]


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


def test_my_accounts_case_matches_its_pandas_baseline(setup):
    from bench.child import same

    backend, data, states = setup
    case = load_cases()["my_accounts"]
    for f in states:
        k, p = case.kamdash_step(backend, f), case.pandas_step(data, f)
        assert k["accounts"] == p["accounts"] > 0
        assert same(k, p) is None, (f, same(k, p))
    spoiled = case.pandas_step(data, states[0])
    spoiled["whitespace_total"] *= 1.001
    assert same(case.kamdash_step(backend, states[0]), spoiled).startswith("result.whitespace_total")
