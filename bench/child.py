"""One measurement in a fresh process: `python -m bench.child '<json spec>'`.

Prints one JSON line with the timings and this process's peak resident memory (VmHWM).
"""

from __future__ import annotations

import time

T_START = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402

from kamdash import config  # noqa: E402

# Libraries the landing page does not need: a cold start that imports one of them pays for it.
HEAVY_MODULES = ("sklearn", "scipy", "pymc", "pytensor", "arviz", "pymc_marketing", "kaleido", "pptx",
                 "fpdf", "openpyxl", "xlsxwriter", "matplotlib")
CHROMIUM = config.SETTINGS["chromium"].get()


def peak_rss_mb(pid: int | str = "self") -> float | None:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def filter_states(backend):
    """Filter states a user clicks through: period, region, type, sector, manager changes."""
    from kamdash.engine.filters import Filters, add_months

    facts = backend.data_facts()
    end = facts["last_month"]
    start12, start6 = add_months(end, -11), add_months(end, -5)
    opts = backend.dimension_options()
    pick = lambda col, *want: tuple(v for v in want if v in opts[col]) or tuple(opts[col][:1])  # noqa: E731
    return [
        Filters(start=start12, end=end),
        Filters(start=start12, end=end, regions=pick("region", "East China")),
        Filters(start=start12, end=end, customer_types=pick("customer_type", "distributor", "dealer")),
        Filters(start=start6, end=end, sectors=pick("sector", "manufacturing")),
        Filters(start=start12, end=end, account_managers=pick("account_manager", "Li Na", "Wang Wei")),
        Filters(start=add_months(end, -23), end=add_months(end, -12), regions=pick("region", "North China"),
                sectors=pick("sector", "retail")),
    ]


class PandasData:
    """Sales tables loaded into pandas, the way a typical pandas dashboard holds them."""

    def __init__(self, db: str):
        import duckdb

        con = duckdb.connect(db, read_only=True)
        self.lines = con.sql("SELECT * FROM order_lines").df()
        self.customers = con.sql("SELECT * FROM customers").df()
        self.cts = con.sql("SELECT * FROM cost_to_serve").df()
        self.products = con.sql("SELECT * FROM products").df()
        con.close()
        for df, col in ((self.lines, "order_date"), (self.cts, "month")):
            df[col] = df[col].astype("datetime64[ns]")


def same(a, b, path="result") -> str | None:
    """Where a kamdash step result differs from the pandas baseline's (None when equal to
    rounding). The baseline decides what is compared: keys it does not compute are skipped;
    frames are aligned on index and columns first."""
    import math

    import numpy as np
    import pandas as pd

    if isinstance(a, dict) and isinstance(b, dict):
        common = [k for k in b if k in a]
        if not common:
            return f"{path}: nothing in common ({sorted(a)} vs {sorted(b)})"
        return next((d for k in common if (d := same(a[k], b[k], f"{path}.{k}"))), None)
    if isinstance(a, pd.DataFrame) and isinstance(b, pd.DataFrame):
        a, b = a.rename(columns=str), b.rename(columns=str)
        if not set(b.columns) <= set(a.columns) or len(a) != len(b):
            return f"{path}: shape {a.shape} != {b.shape}"
        a = a[list(b.columns)].sort_index(axis=1).sort_index()
        b = b.sort_index(axis=1).sort_index()
        if [str(i) for i in a.index] != [str(i) for i in b.index]:
            return f"{path}: different rows"
        x, y = a.to_numpy(dtype=float), b.to_numpy(dtype=float)
        ok = np.isclose(x, y, rtol=1e-6, atol=1e-6) | (np.isnan(x) & np.isnan(y))
        return None if ok.all() else f"{path}: {int((~ok).sum())} cells differ"
    if isinstance(a, pd.Series):
        a = a.to_numpy()
    if isinstance(b, pd.Series):
        b = b.to_numpy()
    if isinstance(a, (list, tuple, np.ndarray)):
        if len(a) != len(b):
            return f"{path}: length {len(a)} != {len(b)}"
        return next((d for i, (x, y) in enumerate(zip(a, b)) if (d := same(x, y, f"{path}[{i}]"))), None)
    if isinstance(a, (int, float, np.number)) and isinstance(b, (int, float, np.number)):
        if (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6):
            return None
        return f"{path}: {a} != {b}"
    return None if a == b else f"{path}: {a!r} != {b!r}"


SLOW_STEP_S = 2.0  # above this, one timed pass over the states (still >= 6 runs) is enough


def timed_passes(fn, states, runs, first: list | None = None):
    """Median time of ``fn`` over ``runs`` passes of ``states`` after a warm-up pass; the warm-up's
    first call (a page's first view after start) is appended to ``first`` when given."""
    warm = []
    for f in states:  # warm-up: one pass over every state
        t = time.perf_counter()
        fn(f)
        warm.append(time.perf_counter() - t)
    if first is not None:
        first.append(warm[0])
    if statistics.median(warm) > SLOW_STEP_S:
        runs = 1
    times = []
    for _ in range(runs):
        for f in states:
            t = time.perf_counter()
            fn(f)
            times.append(time.perf_counter() - t)
    return statistics.median(times)


def apptest(spec: dict) -> dict:
    """Cold start of a page in this fresh process: nothing of the app or of the benchmark is
    imported before the page runs (only the standard library and Streamlit's AppTest), so the
    times from process start hold every import the page needs, its first queries (database
    opened cold) and its figures. ``first_chart_s``: until the page sends its first chart (the
    moment a browser would get it: Streamlit streams each element as the script reaches it;
    None on a page without a chart); ``cold_s``: until the whole page is rendered; ``*_cpu_s``:
    the CPU time this process (all its threads) used by then, which a loaded machine disturbs
    much less than wall time. Then, unless ``spec["renders"]`` is 0, the median render after a
    filter change. ``spec["user_db"]``: the user database the page may write (settings, the
    segment assignment), never the one next to a shared benchmark database; ``spec["query"]``:
    URL query parameters (the account page's customer)."""
    os.environ["KAMDASH_DB"] = spec["db"]
    if spec.get("user_db"):
        os.environ["KAMDASH_USER_DB"] = spec["user_db"]
    from streamlit.runtime.forward_msg_queue import ForwardMsgQueue
    from streamlit.testing.v1 import AppTest

    from kamdash.ui.serve import quick_component_scan  # the server's start-up (standard library only)

    quick_component_scan()

    first_chart = []

    def on_message(msg) -> None:
        if (not first_chart and msg.WhichOneof("type") == "delta" and msg.delta.WhichOneof("type") == "new_element"
                and msg.delta.new_element.WhichOneof("type") == "plotly_chart"):
            first_chart.append((time.perf_counter() - T_START, time.process_time()))

    ForwardMsgQueue.on_before_enqueue_msg(on_message)
    at = AppTest.from_file(os.path.abspath(spec["page"]), default_timeout=600)
    for k, v in (spec.get("query") or {}).items():
        at.query_params[k] = v
    at.run()
    cold, cold_cpu = time.perf_counter() - T_START, time.process_time()
    ForwardMsgQueue.on_before_enqueue_msg(None)
    charts = spec.get("chart", True)
    if at.exception or (charts and (not at.get("plotly_chart") or not first_chart)):
        return {"error": f"page did not render{' a chart' if charts else ''}: {at.exception}"}
    heavy = sorted(m for m in HEAVY_MODULES if m in sys.modules)
    times = []
    if spec.get("renders", spec["runs"]):
        regions = at.multiselect(key="region").options
        for i in range(spec.get("renders", spec["runs"])):
            t = time.perf_counter()
            at.multiselect(key="region").set_value([regions[i % len(regions)]]).run()
            times.append(time.perf_counter() - t)
    return {"first_chart_s": first_chart[0][0] if first_chart else None, "cold_s": cold,
            "first_chart_cpu_s": first_chart[0][1] if first_chart else None,
            "cold_cpu_s": cold_cpu, "median_s": statistics.median(times) if times else None,
            "rss_mb": peak_rss_mb(), "heavy_imports": heavy}


def wait_healthy(proc, url: str, t0: float, limit_s: float) -> float | None:
    """Seconds from ``t0`` (a ``time.perf_counter()``) until the server started as ``proc``
    answers its health check at ``url``; None when it exits or does not answer by ``limit_s``."""
    import urllib.request

    while True:
        if proc.poll() is not None or time.perf_counter() - t0 > limit_s:
            return None
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return time.perf_counter() - t0
        except OSError:
            time.sleep(0.05)


def stop_process(proc, wait_s: float = 15) -> None:
    """Stop a server the bench started (a ``subprocess.Popen``): asked first, killed if it does
    not stop in ``wait_s``."""
    import subprocess  # here, like the other imports of this module the page child does not need

    proc.terminate()
    try:
        proc.wait(wait_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def cpu_s(pid: int) -> float | None:
    """CPU time (user + system, all threads) process ``pid`` has used so far."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def server(spec: dict) -> dict:
    """Cold start of the real app: ``python -m kamdash.ui.serve`` (as `make run` and the browser
    tests start it) opened by headless Chromium (Playwright). ``cold_s``: from spawning the
    server process to the landing page's first chart drawn in the page (plotly's bars in the
    DOM); ``sent_s``: to the chart's message from the server reaching the browser (the server's
    part, without the browser's drawing), ``sent_cpu_s`` the server's CPU time by then (all
    its threads: a loaded machine disturbs it much less than wall time); ``ready_s``: to the
    server's health check answering; ``median_s``: the same page opened again in a new browser
    session (server warm: caches filled) in a fresh browser context, as a new visitor (no HTTP
    cache: the browser downloads and compiles Streamlit's JavaScript, 4.7 MB of it for plotly,
    which on a loaded 2-core machine takes most of those seconds), ``session_cpu_s`` the
    server's CPU time per such session; ``tab_s``: the page opened in a new tab of the first
    visitor's browser (its HTTP cache warm). The browser starts before the clock does: its own
    start is not the app's."""
    import socket
    import subprocess

    from playwright.sync_api import sync_playwright

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    chart = ".js-plotly-plot .barlayer path"
    env = {**os.environ, "KAMDASH_DB": spec["db"], "KAMDASH_LANGUAGE": "en"}
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    sent = []  # when the server's first chart message reached the browser

    def on_frame(payload) -> None:
        if sent or isinstance(payload, str):
            return
        msg = ForwardMsg.FromString(payload)
        if (msg.WhichOneof("type") == "delta" and msg.delta.WhichOneof("type") == "new_element"
                and msg.delta.new_element.WhichOneof("type") == "plotly_chart"):
            sent.append((time.perf_counter() - t0, cpu_s(proc.pid)))

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        first = browser.new_context(viewport={"width": 1440, "height": 1000})  # the first visitor's browser
        page = first.new_page()
        page.on("websocket", lambda ws: ws.on("framereceived", on_frame))
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-m", "kamdash.ui.serve", "--server.port", str(port), "--server.address",
             "127.0.0.1", "--server.headless", "true", "--browser.gatherUsageStats", "false"],
            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            ready = wait_healthy(proc, url, t0, 120)
            if ready is None:
                return {"error": "the server did not start"}
            page.goto(url)
            page.wait_for_selector(chart, state="attached", timeout=600_000)
            cold = time.perf_counter() - t0
            times, session_cpu, tabs = [], [], []
            for _ in range(spec["runs"]):
                again = browser.new_page(viewport={"width": 1440, "height": 1000})
                t, c = time.perf_counter(), cpu_s(proc.pid)
                again.goto(url)
                again.wait_for_selector(chart, state="attached", timeout=600_000)
                times.append(time.perf_counter() - t)
                if c is not None:
                    session_cpu.append(cpu_s(proc.pid) - c)
                again.close()
            for _ in range(spec["runs"]):
                tab = first.new_page()
                t = time.perf_counter()
                tab.goto(url)
                tab.wait_for_selector(chart, state="attached", timeout=600_000)
                tabs.append(time.perf_counter() - t)
                tab.close()
            rss = peak_rss_mb(proc.pid)
        finally:
            stop_process(proc, 10)
            browser.close()
    return {"cold_s": cold, "ready_s": ready, "sent_s": sent[0][0] if sent else None,
            "sent_cpu_s": sent[0][1] if sent else None, "median_s": statistics.median(times),
            "session_cpu_s": statistics.median(session_cpu) if session_cpu else None,
            "tab_s": statistics.median(tabs), "rss_mb": rss}


def main(spec: dict) -> dict:
    kind = spec["kind"]
    if kind == "build":
        from kamdash import demo

        info = demo.build_demo(spec["out"], customers=spec["customers"], years=3, seed=7, lines=spec["lines"])
        return {"seconds": info["seconds"], "rss_mb": peak_rss_mb(), "order_lines": int(info["order_lines"])}
    if kind == "pandas_load":
        t = time.perf_counter()
        data = PandasData(spec["db"])
        return {"seconds": time.perf_counter() - t, "rss_mb": peak_rss_mb(), "rows": len(data.lines)}

    if kind == "apptest":
        return apptest(spec)
    if kind == "server":
        return server(spec)

    from bench.harness import load_cases
    from kamdash.engine import connect

    backend = connect(spec["db"])
    states = filter_states(backend)
    mod = load_cases()[spec.get("case", "")] if "case" in spec else None
    if kind == "step" and spec["impl"] == "kamdash":
        first = []
        median = timed_passes(lambda f: mod.kamdash_step(backend, f), states, spec["runs"], first)
        return {"median_s": median, "rss_mb": peak_rss_mb(), "first_s": first[0],
                "held_mb": backend.held_bytes() / 2**20}
    if kind == "step" and spec["impl"] == "pandas":
        data = PandasData(spec["db"])
        median = timed_passes(lambda f: mod.pandas_step(data, f), states, spec["runs"])
        return {"median_s": median, "rss_mb": peak_rss_mb()}
    if kind == "check":
        data = PandasData(spec["db"])
        for f in states:
            diff = same(mod.kamdash_step(backend, f), mod.pandas_step(data, f))
            if diff:
                return {"equal": False, "difference": f"{f}: {diff}", "states": len(states)}
        return {"equal": True, "states": len(states)}
    if kind == "interaction":  # a widget move on the page's cached data (no query)
        prepared = mod.prepare(backend, states[0])
        times = []
        for i in range(max(spec["runs"], 1) * 10):
            t = time.perf_counter()
            mod.interaction_step(prepared, i)
            times.append(time.perf_counter() - t)
        return {"median_s": statistics.median(times), "rss_mb": peak_rss_mb()}
    if kind == "fit":
        t = time.perf_counter()
        mod.fit_step(backend)
        cold = time.perf_counter() - t
        warm = []
        for _ in range(spec["runs"]):
            t = time.perf_counter()
            mod.fit_step(backend)
            warm.append(time.perf_counter() - t)
        return {"cold_s": cold, "warm_s": statistics.median(warm), "rss_mb": peak_rss_mb()}
    raise ValueError(f"unknown spec {spec}")


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))), flush=True)
    # a page may have started work in a background thread (the retention page's model fit):
    # the measurement is done, so leave without waiting for it
    os._exit(0)
