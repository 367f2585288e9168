"""Benchmark: syncing the sales database from a folder of Parquet order lines, through DuckDB
(``parquet://``) and through Spark in local mode (``spark://local[2]``), side by side.

    .venv/bin/python -m bench.sync_sources --sizes 10M            # both engines
    .venv/bin/python -m bench.sync_sources --sizes 10M,100M --engines duckdb

Per size: a demo database of that many order lines (about lines / 50 customers, 3 years; cached
in bench/cache/ like the other benchmarks) is written as a Parquet folder (order lines one file
per month, the other tables one file each). Each sync runs in a fresh process that imports
kamdash and runs ``kamdash.sync.run`` (a full sync, then a refresh with nothing changed, then a
refresh after one month's file was rewritten with a line more); the process reports its peak
resident memory (ru_maxrss). Spark's JVM is a process of its own: its peak is reported apart
(``engine_peak_mb``), the kamdash process never holds the order lines in either case. Each
time is given with the CPU seconds of the kamdash process (all its threads; DuckDB's work with
``parquet://``) and, for Spark, of the JVM: on a shared machine the CPU time is the figure to
compare.

Baselines of the same run: DuckDB adding up the order lines per customer and month straight
from the Parquet files (the same totals, nothing written: the least any sync must do), the
order lines held in memory as Arrow (what a process that pulled them in would need at the
least) and, with ``--import-baseline``, the file import of the same data (``kamdash load``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("KAMDASH_BENCH_CACHE", ROOT / "bench" / "cache"))
WORK = CACHE  # where the Parquet folders and synced databases go (``--work``)
SIZES = {"1M": 1_000_000, "10M": 10_000_000, "100M": 100_000_000}


def demo_db(size: str) -> Path:
    """The benchmark harness's demo database of ``size`` (shared cache; built when missing)."""
    from bench import harness

    return Path(harness.ensure_db(size)["path"])


def parquet_folder(size: str) -> Path:
    """The demo of ``size`` as a Parquet folder (written once, kept in the work folder): the
    order lines one file per month under ``order_lines/`` and all in one file
    (``all_order_lines.parquet``, what the file import reads), the other tables one file each."""
    import duckdb

    folder = WORK / f"lake-{size}"
    done = folder / ".complete"
    if done.exists():
        return folder
    db = demo_db(size)
    (folder / "order_lines").mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(db), read_only=True)
    con.execute("SET memory_limit = '4GB'")
    try:
        months = [r[0] for r in con.execute(
            "SELECT DISTINCT date_trunc('month', order_date)::DATE FROM order_lines ORDER BY 1").fetchall()]
        for m in months:
            con.sql("SELECT * FROM order_lines WHERE order_date >= ? AND order_date < ? + INTERVAL 1 MONTH",
                    params=[m, m]).write_parquet(str(folder / "order_lines" / f"{m:%Y-%m}.parquet"))
        con.sql("SELECT * FROM order_lines").write_parquet(str(folder / "all_order_lines.parquet"))
        for t in ("customers", "products", "cost_to_serve"):
            con.sql(f"SELECT * FROM {t}").write_parquet(str(folder / f"{t}.parquet"))
    finally:
        con.close()
    done.touch()
    return folder


CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from kamdash import sync
from kamdash.ingest import sources
folder, engine, out = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3])
if engine == "duckdb":
    src = sources.Source(f"parquet://{folder}")
elif engine == "postgres":  # the server of run_postgres, its URL and password in the environment
    import os
    src = sources.Source(os.environ["BENCH_PG_URL"], {t: f"sales.{t}" for t in sources.ROLES})
else:
    tables = {"order_lines": str(folder / "order_lines"),
              **{t: str(folder / f"{t}.parquet") for t in ("customers", "products", "cost_to_serve")}}
    src = sources.Source("spark://local[2]", tables)
res = {}
def jvm_cpu():  # CPU seconds of the engine's processes so far: Spark's driver JVM (a child of
    import os   # this process), or PostgreSQL's server and its backends (finished ones included)
    parent = os.environ.get("BENCH_PG_PID") if engine == "postgres" else str(os.getpid())
    if not parent:
        return 0.0
    total = 0.0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if stat[1] == parent or (engine == "postgres" and pid == parent):
            total += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
        if engine == "postgres" and pid == parent:
            total += (int(stat[13]) + int(stat[14])) / os.sysconf("SC_CLK_TCK")
    return total
def timed(name, **kw):
    t, c, j = time.perf_counter(), time.process_time(), jvm_cpu()
    r = sync.run(out, src, password=sync.password_for(src), **kw)
    res[name + "_s"], res[name + "_cpu"] = time.perf_counter() - t, time.process_time() - c
    res[name + "_jvm_cpu"] = jvm_cpu() - j
    return r
r = timed("full", full=True)
res["months"] = r.months
r = timed("unchanged")
res["unchanged_months"] = r.months
# one month changes: its file is written again with one line more (a line more in PostgreSQL)
import duckdb
if engine == "postgres":
    import psycopg
    with psycopg.connect(os.environ["BENCH_PG_DSN"], autocommit=True) as pg:
        pg.execute("INSERT INTO sales.order_lines SELECT * FROM sales.order_lines "
                   "WHERE order_date = (SELECT max(order_date) FROM sales.order_lines) LIMIT 1")
    r = timed("one_month")
    res["one_month_months"] = r.months
else:
    last = sorted((folder / "order_lines").glob("*.parquet"))[-1]
    con = duckdb.connect()
    backup = folder / f"{last.stem}.bak"  # out of the folder: Spark reads every file in it
    last.rename(backup)
    con.sql("SELECT * FROM read_parquet(?) UNION ALL (SELECT * FROM read_parquet(?) LIMIT 1)",
            params=[str(backup), str(backup)]).write_parquet(str(last))
    try:
        r = timed("one_month")
        res["one_month_months"] = r.months
    finally:
        last.unlink()
        backup.rename(last)
res["order_lines"] = int(r.meta["order_lines"])
res["kamdash_peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if engine == "spark":  # the driver JVM is a child process: its own peak (VmHWM) before it stops
    import os
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(os.getpid()) and "VmHWM" in fields:
            res["engine_peak_mb"] = max(res.get("engine_peak_mb", 0), int(fields["VmHWM"].split()[0]) / 1024)
    sources.spark_session("spark://local[2]").stop()
print("RESULT " + json.dumps(res))
"""


IMPORT_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from kamdash import ingest
folder, out = Path(sys.argv[1]), Path(sys.argv[2])
t = time.perf_counter()
ingest.load_files(out, folder / "all_order_lines.parquet", customers=folder / "customers.parquet",
                  products=folder / "products.parquet", cost_to_serve=folder / "cost_to_serve.parquet")
res = {"full_s": time.perf_counter() - t, "kamdash_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
print("RESULT " + json.dumps(res))
"""


AGGREGATE_CHILD = r"""
import json, resource, sys, time
import duckdb
from kamdash import store
folder = sys.argv[1]
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute(f"SET memory_limit = '{store.build_memory_limit()}'")
con.sql("SELECT * FROM read_parquet(?, union_by_name = true)",
        params=[folder + "/order_lines/*.parquet"]).create_view("order_lines")
t, c = time.perf_counter(), time.process_time()
n = 0
for b in con.sql("WITH " + store._ORDER_MONTH_FROM_LINES + " SELECT * FROM o").to_arrow_reader(122880):
    n += b.num_rows
res = {"full_s": time.perf_counter() - t, "full_cpu": time.process_time() - c, "rows": n,
       "kamdash_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
print("RESULT " + json.dumps(res))
"""


def _child(code: str, *args: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=ROOT, env=env)
    line = next((ln for ln in p.stdout.splitlines() if "RESULT " in ln), None)
    if p.returncode or line is None:
        raise RuntimeError(f"failed:\n{p.stderr[-3000:]}")
    return json.loads(line.split("RESULT ", 1)[1])


def run_import(folder: Path, size: str) -> dict:
    """The baseline: the same Parquet files imported as files (``kamdash load``), the order
    lines into the database."""
    return _child(IMPORT_CHILD, str(folder), str(WORK / f"imported-{size}.duckdb"))


def run_aggregate(folder: Path) -> dict:
    """The least a sync must do: DuckDB adds the order lines up per customer and month."""
    return _child(AGGREGATE_CHILD, str(folder))


def run_engine(folder: Path, engine: str, n: int) -> dict:
    if engine == "postgres":
        return run_postgres(folder, n)
    return _child(CHILD, str(folder), engine, str(WORK / f"synced-{engine}-{n}.duckdb"))


def run_postgres(folder: Path, n: int) -> dict:
    """A PostgreSQL server of its own (Debian's ``postgresql``, started as the test suite does
    on 127.0.0.1 in a temporary folder) loaded with the Parquet files (COPY of CSV written by
    DuckDB), then the sync in a fresh process; the server is removed afterwards."""
    import duckdb

    from tests.sources.conftest import PASSWORD, PG_TYPES, SUPERUSER, Postgres, pg_bindir
    from kamdash import schema as ks

    pg = Postgres(pg_bindir())
    pg.start()
    try:
        with pg.connect("postgres") as con:
            con.execute("CREATE DATABASE sales")
        duck = duckdb.connect()
        duck.execute("SET enable_progress_bar = false")
        t = time.perf_counter()
        with pg.connect() as con:
            con.execute("CREATE SCHEMA sales")
            for table in ("order_lines", "customers", "products", "cost_to_serve"):
                cols = ks.SALES_TABLES[table]
                ddl = ", ".join(f"{c} {PG_TYPES[typ.split()[0]]}" for c, typ in cols.items())
                con.execute(f"CREATE TABLE sales.{table} ({ddl})")
                path = folder / table if table == "order_lines" else folder / f"{table}.parquet"
                files = str(path / "*.parquet") if path.is_dir() else str(path)
                csv = WORK / f"pg-{table}.csv"
                duck.sql(f"SELECT {', '.join(cols)} FROM read_parquet(?, union_by_name = true)",
                         params=[files]).write_csv(str(csv), header=False)
                with con.cursor().copy(f"COPY sales.{table} ({', '.join(cols)}) FROM STDIN (FORMAT csv)") as cp:
                    with open(csv, "rb") as f:
                        while chunk := f.read(1 << 20):
                            cp.write(chunk)
                csv.unlink()
            con.execute("ANALYZE")
        load_s = time.perf_counter() - t
        pid = (pg.data / "postmaster.pid").read_text().split()[0]
        dsn = f"host=127.0.0.1 port={pg.port} user={SUPERUSER} password={PASSWORD} dbname=sales"
        os.environ.update(BENCH_PG_URL=pg.url(), BENCH_PG_PID=pid, BENCH_PG_DSN=dsn,
                          KAMDASH_SOURCE_PASSWORD=PASSWORD)
        try:
            r = _child(CHILD, str(folder), "postgres", str(WORK / f"synced-postgres-{n}.duckdb"))
        finally:
            for k in ("BENCH_PG_URL", "BENCH_PG_PID", "BENCH_PG_DSN", "KAMDASH_SOURCE_PASSWORD"):
                os.environ.pop(k, None)
        r["load_s"] = load_s
        return r
    finally:
        pg.stop()


def arrow_baseline_mb(folder: Path) -> float:
    """Memory of the order lines read into Arrow: what holding them would cost at the least."""
    import pyarrow.dataset as ds

    return ds.dataset(str(folder / "order_lines"), format="parquet").to_table().nbytes / 2**20


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10M")
    ap.add_argument("--engines", default="duckdb,spark")
    ap.add_argument("--work", type=Path, default=None,
                    help="folder for the Parquet folders and synced databases (default: the cache); "
                         "lets the demo databases come from a shared read-only cache")
    ap.add_argument("--import-baseline", action="store_true",
                    help="also time the file import of the same data (a quarter of an hour at 10M)")
    args = ap.parse_args(argv)
    global WORK
    WORK = args.work or CACHE
    WORK.mkdir(parents=True, exist_ok=True)
    print("| lines | engine | full sync s (CPU s) | refresh, nothing changed s (CPU s) | refresh, one month "
          "changed s (CPU s; months computed) | kamdash peak MB | engine peak MB | order lines in Arrow MB |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    cpu = lambda r, k: f"{r[k + '_s']:.1f} ({r[k + '_cpu'] + r.get(k + '_jvm_cpu', 0):.1f})"  # noqa: E731
    for size in args.sizes.split(","):
        n = SIZES[size]
        t = time.perf_counter()
        folder = parquet_folder(size)
        prep = time.perf_counter() - t
        base = arrow_baseline_mb(folder) if n <= 10_000_000 else float("nan")
        r = run_aggregate(folder)
        print(f"| {size} | DuckDB adds up the lines (baseline) | {cpu(r, 'full')} | | | "
              f"{r['kamdash_peak_mb']:.0f} | | {base:.0f} |", flush=True)
        if args.import_baseline:
            r = run_import(folder, size)
            print(f"| {size} | file import (baseline) | {r['full_s']:.1f} | | | {r['kamdash_peak_mb']:.0f} | | "
                  f"{base:.0f} |", flush=True)
        for engine in args.engines.split(","):
            r = run_engine(folder, engine, n)
            print(f"| {size} | {engine} | {cpu(r, 'full')} | {cpu(r, 'unchanged')} | "
                  f"{cpu(r, 'one_month')}; {r['one_month_months']} | {r['kamdash_peak_mb']:.0f} | "
                  f"{r.get('engine_peak_mb', float('nan')):.0f} | {base:.0f} |", flush=True)
        print(f"<!-- {size}: data prepared in {prep:.0f} s; rows {r['order_lines']:,} -->", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
