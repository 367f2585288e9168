"""Settings, declared once with their help text.

Every setting has an environment variable, a default and a help text; ``tests/test_config.py``
checks that each one is documented in the README (the datasette way).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    env: str
    default: str
    help: str

    def get(self) -> str:
        value = os.environ.get(self.env, "").strip()
        return value or self.default


SETTINGS: dict[str, Setting] = {
    "db": Setting(
        "KAMDASH_DB",
        str(ROOT / "data" / "kamdash.duckdb"),
        "Sales database: a DuckDB file path (default data/kamdash.duckdb), or an Ibis "
        "connection URL such as duckdb:///path/to/file.duckdb.",
    ),
    "user_db": Setting(
        "KAMDASH_USER_DB",
        "",
        "Database of user-authored state (account plans, scenarios, saved settings). Default: "
        "next to the sales file, named <sales file>.user.duckdb. Re-importing sales data never "
        "touches it.",
    ),
    "currency": Setting(
        "KAMDASH_CURRENCY",
        "CNY",
        "ISO 4217 code of the currency the sales amounts are in (CNY, USD, EUR, ...).",
    ),
    "max_upload_mb": Setting(
        "KAMDASH_MAX_UPLOAD_MB",
        "200",
        "Largest file (in MB) the Data page accepts for upload. Streamlit's own limit "
        "(server.maxUploadSize, 200 MB by default) applies too; import larger files with "
        "`python -m kamdash import`, which has no size limit.",
    ),
    "query_memory": Setting(
        "KAMDASH_QUERY_MEMORY",
        "1GB",
        "Most memory DuckDB may use for the dashboard's queries (it spills to disk beyond it), "
        "e.g. 1GB or 512MB. The per-customer arrays kamdash keeps in memory come on top "
        "(KAMDASH_RESIDENT_MB).",
    ),
    "source_password": Setting(
        "KAMDASH_SOURCE_PASSWORD",
        "",
        "Password of the company source `python -m kamdash sync` and the Data page's refresh "
        "read from (PostgreSQL); never stored. Streamlit secrets ([source] password) take "
        "precedence in the app.",
    ),
    "spark_driver_memory": Setting(
        "KAMDASH_SPARK_DRIVER_MEMORY",
        "2g",
        "Heap of the Spark driver that `sync` starts for a `spark://` source (local mode or a "
        "cluster), e.g. 2g or 4096m (Spark's own default is 1g). The driver receives the order "
        "totals and cost-to-serve a month at a time; not used for Spark Connect (`sc://`), "
        "whose driver runs on the cluster.",
    ),
    "timezone": Setting(
        "KAMDASH_TIMEZONE",
        "",
        "Time zone of the business (e.g. Asia/Shanghai): imported timestamps that carry a time "
        "zone become order dates in this zone. Default: the machine's own time zone.",
    ),
    "earliest_date": Setting(
        "KAMDASH_EARLIEST_DATE",
        "1990-01-01",
        "Earliest order date an import accepts (YYYY-MM-DD); older dates are errors.",
    ),
    "days_ahead": Setting(
        "KAMDASH_DAYS_AHEAD",
        "366",
        "How many days after today an imported order date may lie; later dates (such as an "
        "ERP's open-ended 9999-12-31) are errors.",
    ),
    "resident_mb": Setting(
        "KAMDASH_RESIDENT_MB",
        "",
        "Megabytes of per-customer month columns the dashboard keeps in memory between filter "
        "changes. Default: 512, or room for 96 month columns when that is more (above about "
        "700,000 customers).",
    ),
    "build_memory": Setting(
        "KAMDASH_BUILD_MEMORY",
        "",
        "Most memory DuckDB may use while building a sales database (import, demo), e.g. 4GB; "
        "it spills to disk beyond it. Default: 4GB, or 40% of the RAM when that is less.",
    ),
    "chromium": Setting(
        "KAMDASH_CHROMIUM",
        "/usr/bin/chromium",
        "The Chromium binary that draws chart images and exports (kaleido) and runs the "
        "browser tests. When it does not exist, a chromium on PATH is used.",
    ),
    "arrow_memory_pool": Setting(
        "ARROW_DEFAULT_MEMORY_POOL",
        "",
        "Apache Arrow's own choice of allocator (system, jemalloc, mimalloc). When unset, "
        "kamdash's dashboard uses the C library's allocator (system), which gives freed memory "
        "back to the operating system.",
    ),
    "language": Setting(
        "KAMDASH_LANGUAGE",
        "en",
        "Language the dashboard opens in: en or zh (users can switch in the sidebar).",
    ),
}


def memory_size(env: str, raw: str) -> str:
    """``raw`` when it is a DuckDB memory size such as 4GB or 512MB, else a ValueError naming
    ``env``."""
    import re

    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", raw):
        raise ValueError(f"{env}={raw!r}: expected a size such as 4GB or 512MB")
    return raw


# The native thread pools of the numeric libraries: OpenMP (scikit-learn's k-means and
# silhouette), OpenBLAS / MKL (numpy). Each reads its variable when it is loaded.
LIBRARY_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def one_thread_per_computation() -> None:
    """In a server, one thread per computation: every browser session already runs in a thread
    of its own, and a library that spreads one small computation over every core makes its
    threads wait for each other, spinning, while the sessions compete for the same cores (the
    same segments of a manager's 1,500 accounts took 2.7 CPU-s with two OpenMP threads on a
    busy 2-core machine, 0.34 with one: identical labels, since scikit-learn's k-means gives the
    same result for any number of threads). Sets the libraries' variables unless the operator
    set them; call it before numpy or scikit-learn is imported."""
    for var in LIBRARY_THREAD_VARS:
        os.environ.setdefault(var, "1")


def db_target() -> str:
    """The configured sales database: a file path or an Ibis URL."""
    return SETTINGS["db"].get()


def db_path(target: str | None = None) -> Path | None:
    """The sales database file of ``target`` (default: the configured one), or None when the
    target is a non-file Ibis URL."""
    target = target or db_target()
    if target.startswith("duckdb://"):
        rest = target[len("duckdb://") :]
        return Path(rest) if rest and rest != ":memory:" else None
    if "://" in target:
        return None
    return Path(target)


def user_db_path(sales_path: Path | None = None) -> Path:
    explicit = SETTINGS["user_db"].get()
    if explicit:
        return Path(explicit)
    sales_path = sales_path or db_path() or (ROOT / "data" / "kamdash.duckdb")
    return sales_path.with_name(sales_path.stem + ".user.duckdb")


def currency() -> str:
    return SETTINGS["currency"].get().upper()


def default_language() -> str:
    lang = SETTINGS["language"].get()
    return lang if lang in ("en", "zh") else "en"


def max_upload_mb() -> int:
    try:
        return max(1, int(SETTINGS["max_upload_mb"].get()))
    except ValueError:
        return int(SETTINGS["max_upload_mb"].default)


def source_password() -> str | None:
    return SETTINGS["source_password"].get() or None


def spark_driver_memory() -> str:
    """KAMDASH_SPARK_DRIVER_MEMORY as Spark reads it (e.g. 2g); a ValueError when it is not a
    size such as 2g or 512m."""
    import re

    raw = SETTINGS["spark_driver_memory"].get()
    if not re.fullmatch(r"\d+[kmgt]", raw.lower()):
        raise ValueError(f"KAMDASH_SPARK_DRIVER_MEMORY={raw!r}: expected a size such as 2g or 4096m")
    return raw.lower()


def business_timezone() -> str | None:
    """The KAMDASH_TIMEZONE name, None when unset (the machine's zone); a ValueError when it
    does not look like a zone name."""
    import re

    tz = SETTINGS["timezone"].get()
    if not tz:
        return None
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*", tz):
        raise ValueError(f"KAMDASH_TIMEZONE={tz!r}: expected a time zone name such as Asia/Shanghai")
    return tz


def date_window(today):
    """(earliest, latest) order date an import accepts: KAMDASH_EARLIEST_DATE and today plus
    KAMDASH_DAYS_AHEAD days."""
    from datetime import date, timedelta

    raw = SETTINGS["earliest_date"].get()
    try:
        earliest = date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"KAMDASH_EARLIEST_DATE={raw!r}: expected a date such as 1990-01-01") from None
    raw = SETTINGS["days_ahead"].get()
    try:
        ahead = int(raw)
    except ValueError:
        raise ValueError(f"KAMDASH_DAYS_AHEAD={raw!r}: expected a number of days") from None
    return earliest, today + timedelta(days=ahead)
