"""Every page figure the company-source tests compare: the same functions the pages call, on one
sales database file."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd

from kamdash import cli
from kamdash.engine import connect
from kamdash.engine.filters import Filters, add_months
from kamdash.views import overview
from kamdash.views import whatif as whatif_view


def page_figures(path: Path) -> dict:
    """Overview, concentration, segment features, retention activity and what-if baseline of
    the last 12 months (and the whole history where the page uses it)."""
    backend = connect(str(path))
    try:
        facts = backend.data_facts()
        last, first = facts["last_month"], facts["first_month"]
        year = Filters(start=add_months(last, -11), end=last)
        east = dataclasses.replace(year, regions=tuple(backend.dimension_options()["region"][:1]))
        ov = overview.build(backend, year, first)
        base = whatif_view.baseline(backend, year, last, first)
        features = backend.customer_features(year, breadth=False)
        return {
            "facts": {k: facts[k] for k in ("as_of", "first_month", "last_month", "order_lines", "customers")},
            "overview.kpis": [dataclasses.asdict(k) for k in ov.kpis],
            "overview.monthly": ov.monthly,
            "overview.top": ov.top,
            "overview.active": ov.active_customers,
            "overview.filtered_monthly": backend.monthly_totals(east),
            "concentration.revenue": cli.concentration_readouts(backend, "revenue", year.start, year.end),
            "concentration.account_profit": cli.concentration_readouts(backend, "account_profit",
                                                                       year.start, year.end),
            "concentration.facts": backend.customer_facts(year, attributes=False),
            "concentration.over_time": backend.concentration_over_time(Filters(), "revenue"),
            "segments.features": features.drop(columns=[c for c in features.columns
                                                        if isinstance(features[c].dtype, pd.CategoricalDtype)]),
            "retention.cohorts": backend.cohort_counts(Filters(), "M"),
            "retention.gaps": backend.activity_gaps(Filters()),
            "whatif.cells": base.cells,
            "whatif.overall": base.overall,
        }
    finally:
        backend.close()


def assert_same(a, b, where: str = "") -> None:
    """``a`` equals ``b``: frames, dicts, lists and numbers (relative 1e-9: sums added in
    another order)."""
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True),
                                      check_dtype=False, check_categorical=False, rtol=1e-9, obj=where)
    elif isinstance(a, dict):
        assert set(a) == set(b), where
        for k in a:
            assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, (float, np.floating)) and not isinstance(b, str):
        assert (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), \
            f"{where}: {a} != {b}"
    else:
        assert a == b, f"{where}: {a!r} != {b!r}"


def assert_same_figures(expected: Path, got: Path) -> None:
    a, b = page_figures(expected), page_figures(got)
    assert len(a["overview.monthly"]) >= 12 and a["concentration.revenue"]["customers"] > 50
    assert_same(a, b, "figures")
