"""The retention bench case computes the same cohorts and RFM in kamdash and in plain pandas."""

import numpy as np
import pytest

from bench.child import PandasData, filter_states
from bench.harness import load_cases
from kamdash.engine import connect


def test_retention_case_matches_its_pandas_baseline(small_db):
    backend = connect(str(small_db))
    data = PandasData(str(small_db))
    case = load_cases()["retention"]
    for f in filter_states(backend)[:3]:
        k, p = case.kamdash_step(backend, f), case.pandas_step(data, f)
        km, pm = k["cohorts"], p["cohorts"]
        assert len(km) == len(pm)
        observed = km.notna().to_numpy()
        cols = list(km.columns)
        np.testing.assert_allclose(km.to_numpy()[observed], pm.reindex(columns=cols).fillna(0).to_numpy()[observed])
        kr, pr = k["rfm"].sort_index(), p["rfm"].sort_index()
        assert list(kr.index) == list(pr.index)
        for col in ("frequency", "recency", "T", "monetary_value"):
            assert kr[col].to_numpy(float) == pytest.approx(pr[col].to_numpy(float), rel=1e-9), col
