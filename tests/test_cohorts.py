"""Cohort retention and defection on the tiny database, checked by hand.

Months with an order: A 2024-11, 2025-02, 2025-05; B 2025-01, 2025-04 (an order and a return);
C 2024-12, 2025-03; D 2025-06; E 2024-10. The data ends in June 2025.
"""


import numpy as np
import pandas as pd
import pytest

from kamdash.analytics import cohorts
from kamdash.engine.filters import Filters


def test_monthly_cohort_matrix(tiny):
    matrix, sizes = cohorts.retention_matrix(tiny.cohort_counts(Filters(), "M"), "M")
    assert [c.strftime("%Y-%m") for c in matrix.index] == ["2024-10", "2024-11", "2024-12", "2025-01", "2025-06"]
    assert sizes.tolist() == [1, 1, 1, 1, 1]
    assert list(matrix.columns) == list(range(9))  # Oct 2024 + 8 months = Jun 2025
    a = matrix.loc["2024-11-01"]  # A: months 0, 3 and 6; observed up to month 7
    assert a[[0, 3, 6]].tolist() == [1.0, 1.0, 1.0] and a[[1, 2, 4, 5, 7]].sum() == 0 and np.isnan(a[8])
    assert matrix.loc["2024-10-01", 1:].sum() == 0  # E never came back
    assert matrix.loc["2025-01-01", 3] == 1.0 and np.isnan(matrix.loc["2025-01-01", 6])  # B in April
    assert matrix.loc["2025-06-01", 0] == 1.0 and matrix.loc["2025-06-01", 1:].isna().all()


def test_quarterly_cohort_matrix(tiny):
    matrix, sizes = cohorts.retention_matrix(tiny.cohort_counts(Filters(), "Q"), "Q")
    # Q4 2024: E, A, C. Q1 2025: A (Feb) and C (Mar) ordered again; Q2 2025: A (May).
    assert sizes.tolist() == [3, 1, 1]
    q4 = matrix.loc["2024-10-01"]
    assert q4.tolist() == pytest.approx([1.0, 2 / 3, 1 / 3])
    assert matrix.loc["2025-01-01"].tolist()[:2] == [1.0, 1.0]  # B: Jan and Apr
    assert matrix.loc["2025-04-01"].tolist()[0] == 1.0 and np.isnan(matrix.loc["2025-04-01"].tolist()[1])
    curve = cohorts.retention_curve(matrix, sizes)
    assert curve[0] == 1.0
    assert curve[1] == pytest.approx((2 + 1) / (3 + 1))  # cohorts that reached a second quarter


def test_filters_restrict_cohorts(tiny):
    counts = tiny.cohort_counts(Filters(regions=("North China",)), "M")
    assert set(counts["cohort"].dt.strftime("%Y-%m")) == {"2024-12", "2025-06"}  # C and D


def test_defection_rate_no_order_for_three_months(tiny):
    rates = cohorts.defection_rates(tiny.activity_gaps(Filters()), 3)
    rates["m"] = rates["month"].dt.strftime("%Y-%m")
    got = rates.set_index("m")[["active", "defected"]].to_dict("index")
    # January: E, A, C active; E's last order (Oct) is 3 months old -> lost.
    assert got["2025-01"] == {"active": 3, "defected": 1}
    for m in ("2025-02", "2025-03", "2025-04", "2025-05"):
        assert got[m] == {"active": 3, "defected": 0}, m  # everyone ordered within 3 months
    # June: C's last order (March) is 3 months old -> lost; D is new in June, not yet counted.
    assert got["2025-06"] == {"active": 3, "defected": 1}
    assert rates["rate"].iloc[0] == pytest.approx(1 / 3)


def test_defection_definition_is_adjustable(tiny):
    gaps = tiny.activity_gaps(Filters())
    six = cohorts.defection_rates(gaps, 6)
    assert six["month"].min() == pd.Timestamp("2025-04-01")
    # April: E's last order (Oct) is 6 months old
    assert six.set_index("month").loc["2025-04-01", "defected"] == 1


def test_empty_inputs():
    m, s = cohorts.retention_matrix(pd.DataFrame(columns=["cohort", "period", "customers"]))
    assert m.empty and s.empty
    assert cohorts.defection_rates(pd.DataFrame(columns=["month", "gap", "rows"])).empty
