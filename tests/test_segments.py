"""Customer features (query layer) and the segmentation pipeline."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from kamdash.analytics import segments as sg
from kamdash.engine import connect
from kamdash.engine.filters import Filters, add_months
from tests.independent import Raw

THREE = [  # (revenue, frequency, recency, margin, growth)
    (2_000_000, 60, 5, 0.25, 0.3),
    (80_000, 12, 40, 0.10, 0.0),
    (3_000, 2, 300, -0.2, -1.5),
]
FIVE = THREE + [(400_000, 4, 150, 0.35, 1.5), (15_000, 40, 10, 0.0, 0.8)]


def planted(n_per=300, seed=0, shuffle=True, groups=THREE):
    """Planted customer groups far apart in revenue, frequency and recency (three by default)."""
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    for g, (rev, fq, rec, mar, gr) in enumerate(groups):
        rows.append(pd.DataFrame({
            "revenue": rev * rng.lognormal(0, 0.25, n_per),
            "frequency": np.maximum(1, fq * rng.lognormal(0, 0.2, n_per)),
            "recency": rec * rng.lognormal(0, 0.25, n_per),
            "margin": mar + rng.normal(0, 0.04, n_per),
            "growth": gr + rng.normal(0, 0.15, n_per),
        }))
        truth += [g] * n_per
    df = pd.concat(rows, ignore_index=True)
    df.insert(0, "customer_id", [f"X{i:05d}" for i in range(len(df))])
    df["truth"] = truth
    if shuffle:
        df = df.sample(frac=1, random_state=seed).reset_index(drop=True)
    return df


COLS = ("recency", "frequency", "revenue", "margin", "growth")


@pytest.mark.parametrize("method", ["kmeans", "gmm"])
def test_planted_clusters_are_recovered(method):
    from sklearn.metrics import adjusted_rand_score

    df = planted()
    r = sg.fit_segments(df, COLS, k=3, method=method)
    assert adjusted_rand_score(df["truth"], r.labels["segment"]) >= 0.9
    # numbered by value: segment 1 holds the planted high-revenue group
    first = df.loc[r.labels["segment"] == 1, "truth"]
    assert (first == 0).mean() > 0.9


def test_automatic_k_finds_the_planted_number_and_says_why():
    from sklearn.metrics import adjusted_rand_score

    df = planted(groups=FIVE)
    r = sg.fit_segments(df, COLS)
    assert r.auto and r.k == 5
    assert list(r.silhouette["k"]) == list(range(2, 9))  # every k is scored and shown
    assert list(r.silhouette["eligible"]) == [False, False, True, True, True, True, True]
    assert r.silhouette.set_index("k")["silhouette"].idxmax() == 5
    assert adjusted_rand_score(df["truth"], r.labels["segment"]) >= 0.9


def test_automatic_k_never_picks_2_or_3_even_when_they_score_best():
    df = planted()  # three planted groups: 3 has the best silhouette
    r = sg.fit_segments(df, COLS)
    sil = r.silhouette.set_index("k")["silhouette"]
    assert sil.idxmax() == 3
    assert sg.AUTO_K_RANGE == (4, 8) and 4 <= r.k <= 8
    assert r.k == sil.loc[4:8].idxmax()
    # a number chosen by hand is kept, 2 and 3 included
    assert sg.fit_segments(df, COLS, k=3).k == 3
    # few customers: the range starts lower (at most n - 1 segments)
    assert sg.fit_segments(df.head(4), COLS).k in (2, 3)


def test_same_input_gives_same_labels_and_names():
    df = planted(seed=5)
    a = sg.fit_segments(df, COLS)
    b = sg.fit_segments(df.copy(), COLS)
    assert a.labels.equals(b.labels)
    assert sg.name_tokens(sg.profiles(df, a)) == sg.name_tokens(sg.profiles(df, b))


def test_pipeline_follows_scikit_learn_conventions():
    df = planted()
    r = sg.fit_segments(df, COLS, k=3)
    assert [name for name, _ in r.pipeline.steps] == ["transform", "scale", "cluster"]
    est = r.pipeline.named_steps["cluster"]
    assert est.random_state == sg.RANDOM_STATE and est.cluster_centers_.shape == (3, len(COLS))
    assert r.embedding.shape == (len(df), len(COLS))
    assert abs(r.embedding.mean()) < 1e-9  # standardised


def test_segments_ordered_by_value_and_profiles_add_up():
    df = planted()
    r = sg.fit_segments(df, COLS, k=3)
    p = sg.profiles(df, r)
    assert list(p["segment"]) == [1, 2, 3]
    per_customer = p["total_revenue"] / p["customers"]
    assert per_customer.is_monotonic_decreasing
    assert p["customers"].sum() == len(df)
    assert p["value_share"].sum() == pytest.approx(1.0)


def test_names_describe_the_profile():
    df = planted()
    names = sg.name_tokens(sg.profiles(df, sg.fit_segments(df, COLS, k=3)))
    assert names[1][0] == "value_high" and names[3][0] == "value_low"
    assert "lapsing" in names[3]  # the planted group with 300 days since the last order
    assert "loyal" in names[1] or "recent" in names[1]


def by_hand_segments():
    """Six customers in two fixed segments with numbers to check by hand."""
    df = pd.DataFrame({
        "customer_id": list("abcdef"),
        "revenue": [1000.0, 3000.0, 10.0, 20.0, 30.0, 40.0],
        "account_profit": [200.0, 100.0, -50.0, -30.0, 5.0, -20.0],
        "revenue_last12": [1000.0, 3000.0, 10.0, 20.0, 30.0, 40.0],
        "revenue_prev12": [500.0, 3000.0, 0.0, 40.0, 30.0, 80.0],
    })
    df["margin"] = df["account_profit"] / df["revenue"]
    df["growth"] = np.nan
    labels = pd.DataFrame({"customer_id": df["customer_id"], "segment": [1, 1, 2, 2, 2, 2]})
    emb = np.zeros((6, 2))
    return df, sg.SegmentResult(labels, 2, False, "kmeans", ("margin", "growth"), pd.DataFrame(), None, emb)


def test_profiles_use_ratios_of_sums_by_hand():
    df, r = by_hand_segments()
    p = sg.profiles(df, r).set_index("segment")
    # segment 2: account profit -50 - 30 + 5 - 20 = -95 on revenue 100: -95%, while the mean
    # of its customers' margins is (-5 - 1.5 + 0.1667 - 0.5) / 4 = -171%
    assert p.loc[2, "total_account_profit"] == -95 and p.loc[2, "total_revenue"] == 100
    assert p.loc[2, "margin"] == pytest.approx(-0.95) and p.loc[2, "account_margin"] == pytest.approx(-0.95)
    assert p.loc[1, "margin"] == pytest.approx(300 / 4000)
    # growth of the segment's sums: (1000 + 3000) / (500 + 3000) - 1; (100) / (150) - 1
    assert p.loc[1, "growth"] == pytest.approx(4000 / 3500 - 1)
    assert p.loc[2, "growth"] == pytest.approx(100 / 150 - 1)
    assert p.loc[2, "loss_makers"] == 3 and p.loc[2, "loss_share"] == pytest.approx(0.75)
    assert p.loc[2, "new_accounts"] == 1 and p.loc[1, "new_accounts"] == 0  # c: nothing a year before


def test_a_loss_making_segment_is_never_high_value():
    df, r = by_hand_segments()
    names = sg.name_tokens(sg.profiles(df, r))
    assert names[1][0] == "value_high" and names[2][0] == "value_loss"
    # the biggest segment by revenue, losing money in sum: loss-making, not high-value
    df2 = df.assign(account_profit=[-900.0, 100.0, 5.0, 5.0, 5.0, 5.0])
    names = sg.name_tokens(sg.profiles(df2, r))
    assert names[1][0] == "value_loss" and names[2][0] == "value_low"
    # profitable in sum but most customers lose money: not high-value, and it says so
    df3 = df.assign(account_profit=[900.0, -10.0, 5.0, 5.0, 5.0, 5.0],
                    revenue_prev12=[500.0, 3000.0, 0.0, 40.0, 30.0, 80.0])
    p3 = sg.profiles(df3, r)
    p3.loc[0, "loss_share"] = 0.5
    names = sg.name_tokens(p3)
    assert names[1][0] == "value_mid" and names[1][1] == "loss_making"


def test_names_never_contradict_the_growth_shown():
    df, r = by_hand_segments()
    p = sg.profiles(df, r)
    p["z_growth"] = [-1.0, 1.0]  # the clustered variant says 1 declines and 2 grows ...
    names = sg.name_tokens(p)  # ... but segment 1 grew +14%, segment 2 fell -33%
    assert "declining" not in names[1] and "growing" not in names[2]


def test_on_the_demo_data_auto_segments_are_worth_naming(demo_db):
    b = connect(str(demo_db))
    last = b.last_month()
    f = b.customer_features(Filters(start=add_months(last, -11), end=last), False)
    r = sg.fit_segments(f, sg.DEFAULT_FEATURES)
    assert 4 <= r.k <= 8
    p = sg.profiles(f, r)
    names = sg.name_tokens(p)
    for _, row in p.iterrows():
        if row["total_account_profit"] < 0 or row["loss_share"] >= 0.5:
            assert names[int(row["segment"])][0] != "value_high"
    # the segments' account profit adds up to the total, and margins are ratios of sums
    assert p["total_account_profit"].sum() == pytest.approx(f["account_profit"].sum())
    assert (p["account_margin"] == p["total_account_profit"] / p["total_revenue"]).all()
    assert p["account_margin"].between(-1.5, 1).all()


def test_projection_axes_and_map_sample():
    df = planted()
    r = sg.fit_segments(df, COLS, k=3)
    coords, loadings, explained = sg.projection(r)
    assert coords.shape == (len(df), 2) and sum(explained) <= 1 + 1e-9
    words = sg.axis_words(loadings["pc1"])
    assert 1 <= len(words) <= 2 and all(f in COLS for f, _ in words)
    idx = sg.map_sample(r.labels, n=300)
    assert 280 <= len(idx) <= 330
    assert set(r.labels["segment"].iloc[idx]) == {1, 2, 3}
    assert len(sg.map_sample(r.labels, n=10_000)) == len(df)


def test_features_on_the_tiny_database_by_hand(tiny_db):
    b = connect(str(tiny_db))
    f = Filters(start=date(2025, 1, 1), end=date(2025, 6, 1))
    df = b.customer_features(f).set_index("customer_id")
    assert list(df.index) == ["A", "B", "C", "D"]  # E ordered only in 2024
    a = df.loc["A"]
    assert a["revenue"] == 3500 and a["frequency"] == 2 and a["breadth"] == 2
    assert a["recency"] == (date(2025, 6, 30) - date(2025, 5, 3)).days
    assert a["tenure"] == 7  # first order Nov 2024, as of Jun 2025
    assert a["regularity"] == pytest.approx(2 / 6)
    assert a["account_profit"] == 3500 - 2100 - 300
    assert a["margin"] == pytest.approx(1100 / 3500)
    assert a["revenue_last12"] == 3600 and a["revenue_prev12"] == 0 and np.isnan(a["growth"])  # new
    bb = df.loc["B"]
    assert bb["revenue"] == 600 and bb["frequency"] == 3 and bb["breadth"] == 1
    assert df.loc["D", "recency"] == 0 and df.loc["D", "sector"] == "education"


def test_features_match_plain_pandas(small_db):
    raw = Raw(small_db)
    b = connect(str(small_db))
    start, end = date(2025, 10, 1), date(2026, 9, 1)
    df = b.customer_features(Filters(start=start, end=end)).set_index("customer_id")
    lines = raw.lines[(raw.lines["m"] >= pd.Period(start, "M")) & (raw.lines["m"] <= pd.Period(end, "M"))]
    g = lines.groupby("customer_id")
    assert set(df.index) == set(g.groups)
    pd.testing.assert_series_equal(df["revenue"].sort_index(), g["revenue"].sum().sort_index(),
                                   check_names=False, rtol=1e-9)
    assert (df["frequency"].sort_index() == g["order_date"].nunique().sort_index()).all()
    assert (df["breadth"].sort_index() == g["product_id"].nunique().sort_index()).all()
    last = pd.to_datetime(raw.lines.groupby("customer_id")["order_date"].max())
    as_of = pd.Timestamp(raw.lines["order_date"].max())
    assert (df["recency"] == (as_of - last.loc[df.index]).dt.days).all()


def test_filters_restrict_the_features(small_db):
    b = connect(str(small_db))
    f = Filters(start=date(2025, 10, 1), end=date(2026, 9, 1), regions=("East China",))
    df = b.customer_features(f)
    assert set(df["region"]) == {"East China"}
    some = tuple(df["customer_id"].head(5))
    assert set(b.customer_features(Filters(customer_ids=some))["customer_id"]) <= set(some)
