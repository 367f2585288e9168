"""The growth rule by hand: percentage change against the same months a year before."""

import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from kamdash.analytics import growth


def test_growth_by_hand():
    assert growth.growth(150.0, 100.0) == pytest.approx(0.5)
    assert growth.growth(200.0, 100.0) == pytest.approx(1.0)  # doubled = +100%
    assert growth.growth(25.0, 100.0) == pytest.approx(-0.75)
    assert growth.growth(0.0, 100.0) == pytest.approx(-1.0)  # stopped buying
    assert math.isnan(growth.growth(100.0, 0.0))  # new: no rate
    assert math.isnan(growth.growth(100.0, -20.0))  # returns only a year before: no rate
    out = growth.growth(np.array([150.0, 100.0]), np.array([100.0, 0.0]))
    assert out[0] == pytest.approx(0.5) and np.isnan(out[1])


def test_new_accounts_and_group_growth():
    assert growth.is_new(100.0, 0.0) and not growth.is_new(100.0, 50.0) and not growth.is_new(0.0, 0.0)
    # a group: the ratio of its sums, not the mean of its members' rates
    # (+100% and -50% average to +25%, but 300 + 50 against 150 + 100 is +40%)
    assert growth.group_growth(300.0 + 50.0, 150.0 + 100.0) == pytest.approx(0.4)


def test_symmetric_change_is_bounded_and_agrees_in_sign():
    assert growth.symmetric_change(200.0, 100.0) == pytest.approx(100 / 150)
    assert growth.symmetric_change(100.0, 0.0) == 2.0 and growth.symmetric_change(0.0, 100.0) == -2.0
    assert growth.symmetric_change(0.0, 0.0) == 0.0


@given(st.floats(0, 1e9), st.floats(1e-3, 1e9))
def test_growth_and_its_clustering_variant_agree(a, b):
    g, s = growth.growth(a, b), growth.symmetric_change(a, b)
    assert -2.0 <= s <= 2.0 and g >= -1.0
    assert np.sign(round(g, 12)) == np.sign(round(s, 12))
    # the clustering variant is a monotone function of growth: s = 2g / (2 + g)
    assert s == pytest.approx(2 * g / (2 + g), rel=1e-9, abs=1e-12)
