"""Shared fixtures: a hand-made tiny database with known answers, and small demo databases."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from kamdash import demo, store
from kamdash.engine import connect

ROOT = Path(__file__).resolve().parent.parent

# The tiny database: five customers, every number below is checked by hand in the tests.
TINY_CUSTOMERS = [
    # id, name, name_zh, type, sector, region, city, parent, manager, acquired, referred_by
    ("A", "Alpha Trading", "阿尔法商贸", "distributor", "retail", "East China", "Shanghai", None, "Li Na", date(2023, 1, 1), None),
    ("B", "Beta Bureau", "贝塔局", "end_customer", "government", "East China", "Hangzhou", None, "Li Na", date(2023, 5, 1), "A"),
    ("C", "Gamma Hospital", "伽马医院", "dealer", "health", "North China", "Beijing", None, "Wang Wei", date(2024, 1, 1), None),
    ("D", "Delta School", "德尔塔学校", "end_customer", "education", "North China", "Tianjin", "C", "Wang Wei", date(2025, 6, 1), None),
    ("E", "Epsilon Retail", "艾普西隆零售", "agent", "retail", "South China", "Shenzhen", None, "Zhou Jie", date(2024, 9, 1), None),
]
TINY_LINES = [
    # order_id, line_no, date, customer, product, qty, price, discount, revenue, cost
    ("o1", 1, date(2024, 11, 5), "A", "p1", 1, 100, 0, 100, 60),
    ("o2", 1, date(2025, 2, 10), "A", "p1", 10, 100, 0, 1000, 600),
    ("o3", 1, date(2025, 5, 3), "A", "p1", 20, 110, 200, 2000, 1200),
    ("o3", 2, date(2025, 5, 3), "A", "p2", 5, 100, 0, 500, 300),
    ("o4", 1, date(2025, 1, 15), "B", "p2", 3, 100, 0, 300, 150),
    ("o5", 1, date(2025, 4, 20), "B", "p2", 4, 100, 0, 400, 200),
    ("o6", 1, date(2025, 4, 28), "B", "p2", -1, 100, 0, -100, -50),
    ("o7", 1, date(2024, 12, 1), "C", "p1", 1, 50, 0, 50, 20),
    ("o8", 1, date(2025, 3, 30), "C", "p1", 2, 100, 0, 200, 100),
    ("o9", 1, date(2025, 6, 30), "D", "p2", 1, 100, 0, 100, 90),
    ("o10", 1, date(2024, 10, 10), "E", "p1", 1, 70, 0, 70, 30),
]
TINY_CTS = [
    ("A", date(2025, 5, 1), "sales_visits", 300.0),
    ("B", date(2025, 4, 1), "support", 100.0),
    ("C", date(2025, 5, 1), "support", 50.0),
    ("D", date(2025, 6, 1), "logistics", 20.0),
]


def fill_tiny(con) -> None:
    con.executemany("INSERT INTO customers VALUES (?,?,?,?,?,?,?,?,?,?,?)", TINY_CUSTOMERS)
    con.executemany("INSERT INTO products VALUES (?,?,?,?,?,?)",
                    [("p1", "Sensor", "传感器", "Industrial sensors", 100.0, 60.0),
                     ("p2", "Cable", "线缆", "Cables & connectors", 100.0, 50.0)])
    con.executemany("INSERT INTO order_lines VALUES (?,?,?,?,?,?,?,?,?,?)", TINY_LINES)
    con.executemany("INSERT INTO cost_to_serve VALUES (?,?,?,?)", TINY_CTS)
    con.executemany("INSERT INTO value_labels VALUES (?,?,?,?)",
                    [("region", "East China", "zh", "华东"), ("region", "North China", "zh", "华北")])


@pytest.fixture(scope="session")
def tiny_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tiny") / "tiny.duckdb"
    store.build_sales_db(path, fill_tiny, source="tests")
    return path


@pytest.fixture(scope="session")
def small_db(tmp_path_factory) -> Path:
    """A small demo database (400 customers, 2 years): fast, still has every feature."""
    path = tmp_path_factory.mktemp("small") / "small.duckdb"
    demo.build_demo(path, customers=400, years=2, seed=3)
    return path


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory) -> Path:
    """The default demo database (5,000 customers, 3 years, seed 7), built once."""
    path = tmp_path_factory.mktemp("demo") / "kamdash.duckdb"
    demo.build_demo(path)
    return path


def read_table(path: Path, table: str) -> pd.DataFrame:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.sql(f"SELECT * FROM {table}").df()
    finally:
        con.close()


@pytest.fixture(scope="session")
def small_fit(small_db):
    """The page's default model (BG/NBD, weeks, 6 months held out) fitted on the small demo
    database and persisted in its user database, as the page would: page tests then read it
    instead of fitting. Returns (settings, fit)."""
    from kamdash import config, retention

    backend = connect(str(small_db))
    facts = backend.data_facts()
    settings = retention.FitSettings("bgnbd", retention.TIME_UNIT_DEFAULT,
                                     retention.calibration_end(facts["as_of"], retention.HOLDOUT_MONTHS_DEFAULT))
    fit, _ = retention.load_or_fit(backend, config.user_db_path(small_db), settings,
                                   facts["data_version"], facts["as_of"])
    backend.close()
    return settings, fit


@pytest.fixture(scope="module")
def tiny(tiny_db):
    """A query-layer backend on the tiny database (one per test module)."""
    return connect(str(tiny_db))


@pytest.fixture(scope="module")
def small(small_db):
    """A query-layer backend on the small demo database (one per test module)."""
    return connect(str(small_db))


@pytest.hookimpl(trylast=True)  # after tests/e2e/conftest.py has marked its tests
def pytest_collection_modifyitems(config, items):
    """`make test` runs on two pytest-xdist workers, scheduled by group: the browser tests share
    one app server and the company-source tests one PostgreSQL and one Spark session, so each of
    those sets runs whole on one worker while the rest of the suite fills the other."""
    for item in items:
        for marker, group in (("e2e", "browser"), ("engines", "engines")):
            if item.get_closest_marker(marker):
                item.add_marker(pytest.mark.xdist_group(group))
