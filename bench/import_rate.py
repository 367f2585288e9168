"""Import rate of a large CSV: ``python -m bench.import_rate --size 1GB``.

Generates an ERP-like order-lines CSV of about the given size (Chinese headers, dd/mm/yyyy dates,
customer attributes inline) under a temporary folder, imports it with the import engine into a
fresh database in a child process, and prints the rate (MB/s, rows/s), the child's peak resident
memory (VmHWM, the import alone) and CPU time (every thread), next to two baselines measured in
the same run, each in its own process: DuckDB reading the file into a table of a new database
file, and pandas ``read_csv``. The files are deleted afterwards unless --keep.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SIZES = {"KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30}


def parse_size(text: str) -> int:
    t = text.strip().upper()
    for unit, mult in SIZES.items():
        if t.endswith(unit):
            return int(float(t[: -len(unit)]) * mult)
    return int(t)


def generate(path: Path, size: int, encoding: str = "utf-8") -> int:
    """Write an order-lines CSV of about ``size`` bytes; returns the number of rows."""
    import duckdb

    con = duckdb.connect()
    select = """
        SELECT 'SO' || lpad(CAST(i // 3 AS VARCHAR), 9, '0') AS 订单号,
               CAST(i % 3 + 1 AS INTEGER) AS 行号,
               strftime(DATE '2023-01-01' + CAST(hash(i // 3) % 1095 AS INTEGER), '%d/%m/%Y') AS 订单日期,
               'C' || CAST(hash(i // 3) % 50000 AS VARCHAR) AS 客户编号,
               '客户' || CAST(hash(i // 3) % 50000 AS VARCHAR) || '有限公司' AS 客户名称,
               'P' || CAST(hash(i) % 2000 AS VARCHAR) AS 产品编号,
               CAST(hash(i) % 20 + 1 AS INTEGER) AS 数量,
               round(10 + (hash(i) % 99000) / 100.0, 2) AS 单价,
               round((hash(i) % 500) / 100.0, 2) AS 折扣,
               round((hash(i) % 20 + 1) * (10 + (hash(i) % 99000) / 100.0) - (hash(i) % 500) / 100.0, 2) AS 金额,
               round(((hash(i) % 20 + 1) * (10 + (hash(i) % 99000) / 100.0)) * 0.62, 2) AS 成本,
               ['华东', '华北', '华南', '西南', '东北'][CAST(hash(i // 3) % 50000 % 5 + 1 AS INTEGER)] AS 区域,
               ['manufacturing', 'retail', 'health', 'education', 'government'][CAST(hash(i // 3) % 50000 % 7 % 5 + 1 AS INTEGER)] AS 行业,
               '经理' || CAST(hash(i // 3) % 50000 % 40 AS VARCHAR) AS 客户经理
        FROM range(?) t(i)"""
    sample = path.with_suffix(".sample.csv")
    con.sql(select.replace("?", "20000")).write_csv(str(sample))
    per_row = (sample.stat().st_size - 200) / 20000
    sample.unlink()
    rows = max(1, int(size / per_row))
    target = path if encoding == "utf-8" else path.with_suffix(".utf8.csv")
    con.sql(select.replace("?", str(rows))).write_csv(str(target))
    con.close()
    if target != path:
        with open(target, encoding="utf-8") as fin, open(path, "w", encoding=encoding) as fout:
            shutil.copyfileobj(fin, fout, 4 << 20)
        target.unlink()
    return rows


def _peak_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(what: str, csv: str, db: str) -> None:
    """One measurement in a fresh process (its peak memory is its own)."""
    t0 = time.perf_counter()
    out: dict = {}
    if what == "kamdash":
        from kamdash.ingest import engine

        report = engine.run([engine.SourceFile(csv)], db, commit=True)
        out = {"committed": report.committed, "rows": report.rows,
               "problems": [str(p) for p in report.problems[:5]], "warnings": len(report.warnings)}
    elif what == "duckdb":  # DuckDB reading the file into a table of a new database file
        import duckdb

        con = duckdb.connect(db)
        con.execute("SET memory_limit = '2GB'")
        con.execute("CREATE TABLE t AS SELECT * FROM read_csv(?)", [csv])
        out = {"rows": con.execute("SELECT count(*) FROM t").fetchone()[0], "committed": True}
        con.close()
    elif what == "pandas":
        import pandas as pd

        df = pd.read_csv(csv)
        out = {"rows": len(df), "committed": True}
    ru = resource.getrusage(resource.RUSAGE_SELF)  # every thread's CPU time: less swayed by load
    out.update(seconds=time.perf_counter() - t0, cpu_seconds=ru.ru_utime + ru.ru_stime, peak_rss_mb=_peak_mb())
    print(json.dumps(out))


def _measure(what: str, csv: Path, db: Path) -> dict:
    db.unlink(missing_ok=True)
    out = subprocess.run([sys.executable, "-m", "bench.import_rate", "--child", what, str(csv), str(db)],
                         capture_output=True, text=True, cwd=Path(__file__).resolve().parent.parent)
    if out.returncode:
        raise RuntimeError(f"{what}: {out.stderr.strip()[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.import_rate", description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="100MB", help="CSV size, e.g. 100MB, 1GB (default 100MB)")
    ap.add_argument("--encoding", default="utf-8", help="file encoding, e.g. gb18030 (default utf-8)")
    ap.add_argument("--dir", default=None, help="where to write the files (default: a temp folder)")
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--csv", default=None,
                    help="measure this CSV (made by an earlier --keep run) instead of generating one")
    ap.add_argument("--no-pandas", dest="pandas", action="store_false",
                    help="skip the pandas baseline (it holds the whole file in memory)")
    ap.add_argument("--child", nargs=3, metavar=("WHAT", "CSV", "DB"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    work = Path(tempfile.mkdtemp(prefix="kamdash-bench-import-", dir=args.dir))
    try:
        csv, db = work / "orders.csv", work / "bench.duckdb"
        t0 = time.perf_counter()
        if args.csv:
            csv = Path(args.csv)
            mb = csv.stat().st_size / (1 << 20)
            print(f"measuring {csv} ({mb:,.0f} MB)", flush=True)
        else:
            rows = generate(csv, parse_size(args.size), args.encoding)
            mb = csv.stat().st_size / (1 << 20)
            print(f"generated {csv} ({mb:,.0f} MB, {rows:,} rows, {args.encoding}) in "
                  f"{time.perf_counter() - t0:.0f} s", flush=True)
        results = {}
        for what in ("duckdb", "kamdash") + (("pandas",) if args.pandas else ()):
            r = results[what] = _measure(what, csv, db)
            if not r["committed"]:
                print("import failed:", *r["problems"], sep="\n  ", file=sys.stderr)
                return 1
            size = f"; database {db.stat().st_size / (1 << 20):,.0f} MB" if db.exists() else ""
            print(f"{what:>8}: {r['rows']:,} rows in {r['seconds']:.1f} s ({mb / r['seconds']:,.1f} MB/s, "
                  f"{r['cpu_seconds']:.1f} CPU-s), "
                  f"peak memory {r['peak_rss_mb']:,.0f} MB{size}", flush=True)
        k, d = results["kamdash"], results["duckdb"]
        print(f"kamdash import (every check, derived tables) / DuckDB read: "
              f"{k['seconds'] / d['seconds']:.2f}x wall, {k['cpu_seconds'] / d['cpu_seconds']:.2f}x CPU; "
              f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
        return 0
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
