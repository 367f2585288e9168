"""The retention model's check within a user's scope: the fit is shared (learnt from every
customer), what is shown is of the scope's accounts only."""

import duckdb
import pytest

from kamdash import retention
from kamdash.engine import connect


@pytest.fixture(scope="module")
def book(small_db):
    con = duckdb.connect(str(small_db), read_only=True)
    try:
        cu = con.sql("SELECT customer_id, account_manager FROM customers").df()
    finally:
        con.close()
    mine = tuple(sorted(cu.loc[cu["account_manager"] == "Li Na", "customer_id"]))
    rest = tuple(sorted(set(cu["customer_id"]) - set(mine)))
    return mine, rest


def _holdout_purchase_days(db, ids, cal_end, as_of) -> int:
    """Repeat purchase days in the holdout of the customers ``ids`` whose first purchase day is
    on or before the calibration end, counted in SQL on the order lines."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        con.execute("CREATE TEMP TABLE ids AS SELECT unnest(?) AS customer_id", [list(ids)])
        return con.execute("""
            WITH days AS (SELECT customer_id, order_date FROM order_lines
                          WHERE customer_id IN (SELECT customer_id FROM ids) AND order_date <= ?
                          GROUP BY ALL HAVING bool_or(revenue >= 0)),
                 born AS (SELECT customer_id FROM days GROUP BY 1 HAVING min(order_date) <= ?)
            SELECT count(*) FROM days JOIN born USING (customer_id) WHERE order_date > ?""",
                           [as_of, cal_end, cal_end]).fetchone()[0]
    finally:
        con.close()


def test_the_check_is_of_the_scope_and_adds_up_to_the_whole(small_db, small_fit, book):
    settings, fit = small_fit
    mine, rest = book
    backend = connect(str(small_db))
    try:
        as_of = backend.data_facts()["as_of"]
        whole = retention.validation(backend, fit, settings, as_of)
        scoped = retention.validation(backend, fit, settings, as_of, mine)
        others = retention.validation(backend, fit, settings, as_of, rest)
    finally:
        backend.close()
    assert scoped["actual"] == _holdout_purchase_days(small_db, mine, settings.calibration_end, as_of)
    assert scoped["actual"] < whole["actual"]
    # each account's prediction is its own: the scope's and the others' add up to everyone's
    assert scoped["predicted"] + others["predicted"] == pytest.approx(whole["predicted"], rel=1e-9)
    assert scoped["actual"] + others["actual"] == whole["actual"]
    track = scoped["track"]["actual"].iloc[-1] + others["track"]["actual"].iloc[-1]
    assert track == whole["track"]["actual"].iloc[-1]


def test_a_scope_without_customers_in_the_calibration_has_no_check(small_db, small_fit):
    settings, fit = small_fit
    backend = connect(str(small_db))
    try:
        as_of = backend.data_facts()["as_of"]
        assert retention.validation(backend, fit, settings, as_of, ("no-such-customer",)) is None
    finally:
        backend.close()
