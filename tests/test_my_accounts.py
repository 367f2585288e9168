"""My accounts: health score, backtest, whitespace, actions and forecast, checked by hand on the
tiny database, against plain pandas, against PyMC-Marketing and against the demo generator's
own knowledge of who churns."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from kamdash import demo, plans
from kamdash.analytics import forecast as fc
from kamdash.analytics import health, whitespace
from kamdash.engine import connect
from kamdash.engine.filters import Filters, add_months
from kamdash.views import my_accounts as view

YEAR = Filters(start=date(2024, 7, 1), end=date(2025, 6, 1))


# ---------------------------------------------------------------- rhythm on the tiny database


def test_purchase_days_and_rhythm_by_hand(tiny):
    pos, day, rev = tiny.purchase_day_rows()
    cutoff = (date(2025, 6, 30) - date(1970, 1, 1)).days
    st = health.purchase_stats(pos, day, rev, 5, cutoff)
    # A: 5 Nov 2024, 10 Feb 2025, 3 May 2025: gaps 97 and 82 days
    assert st["count"].tolist() == [3, 2, 2, 1, 1]  # B's 28 Apr return is not a purchase day
    assert st["mean_gap"][0] == pytest.approx(89.5)
    assert st["sd_gap"][0] == pytest.approx(15 / math.sqrt(2))
    assert st["mean_gap"][1] == 95 and np.isnan(st["sd_gap"][1])  # B: 15 Jan -> 20 Apr
    assert st["mean_gap"][2] == 119  # C: 1 Dec -> 30 Mar
    assert st["repeat_value"][0] == pytest.approx((1000 + 2500) / 2) and st["first_value"][0] == 100
    # as of 31 Jan 2025 A has bought once
    early = health.purchase_stats(pos, day, rev, 5, (date(2025, 1, 31) - date(1970, 1, 1)).days)
    assert early["count"][0] == 1 and np.isnan(early["mean_gap"][0])


def test_rhythm_score_by_hand():
    count = np.array([3, 3, 3, 1, 0])
    mean = np.array([89.5, 89.5, 89.5, np.nan, np.nan])
    sd = np.array([15 / math.sqrt(2)] * 3 + [np.nan, np.nan])
    since = np.array([58.0, 150.0, 200.0, 263.0, np.nan])
    score, z = health.rhythm_score(since, mean, sd, count)
    assert score[0] == 100 and z[0] == 0  # not late: an 89-day account at day 58
    # 150 days: (150 - 89.5) / max(10.61, 89.5 / 4 = 22.375) = 2.704 spreads late
    assert z[1] == pytest.approx(60.5 / 22.375)
    assert score[1] == pytest.approx(100 * (1 - 60.5 / 22.375 / 3))
    assert score[2] == 0  # more than three spreads late
    assert np.isnan(score[3]) and np.isnan(score[4])
    typical = health.typical_rhythm(mean, sd, count)
    assert typical == (pytest.approx(89.5), pytest.approx(15 / math.sqrt(2)))
    score, z = health.rhythm_score(since, mean, sd, count, typical)
    assert z[3] == pytest.approx((263 - 89.5) / 22.375) and score[3] == 0  # held to the usual rhythm
    assert np.isnan(score[4])  # never bought


def test_trend_breadth_margin_and_combine_by_hand():
    assert health.growth_score(np.array([150.0, 0, 300, 10, 0]), np.array([100.0, 100, 100, 0, 0])
                               ).tolist()[:4] == [75.0, 0.0, 100.0, 100.0]
    t = health.trend_score({3: np.array([50.0]), 6: np.array([0.0]), 12: np.array([200.0])},
                           {3: np.array([100.0]), 6: np.array([0.0]), 12: np.array([100.0])})
    assert t[0] == pytest.approx((25 + 100) / 2)  # the 6-month pair has nothing on either side
    bits = np.array([[0b1, 1 << 12, 1 << 13], [0, 0, 1 << 20]], dtype=np.uint64)
    assert health.categories_in(bits, 0).tolist() == [1, 0]
    assert health.categories_in(bits, 12).tolist() == [2, 1]
    assert health.breadth_score(np.array([1, 0, 3]), np.array([2, 0, 3])).tolist()[0] == 50
    assert health.margin_score(np.array([0.30, 0.30]), np.array([0.35, 0.10])).tolist() == \
        pytest.approx([25.0, 100.0])
    comps = {"rhythm": np.array([100.0, np.nan]), "trend": np.array([50.0, 20.0]),
             "plan": np.array([np.nan, np.nan])}
    w = health.check_weights({})
    score = health.combine(comps, w)
    assert score[0] == pytest.approx((100 * 30 + 50 * 25) / 55) and score[1] == 20
    assert health.weakest(comps, w).tolist() == [health.COMPONENTS.index("trend")] * 2
    with pytest.raises(ValueError, match="weight of trend"):
        health.check_weights({"trend": -1})
    with pytest.raises(ValueError, match="at least one"):
        health.check_weights({c: 0 for c in health.COMPONENTS})


@settings(max_examples=60, deadline=None)
@given(hs.lists(hs.tuples(hs.floats(0, 100), hs.booleans()), min_size=2, max_size=40))
def test_auc_equals_scikit_learn(rows):
    from sklearn.metrics import roc_auc_score

    score = np.array([r[0] for r in rows])
    lost = np.array([r[1] for r in rows])
    got = health.auc(score, lost)
    if lost.all() or not lost.any():
        assert math.isnan(got)
    else:
        assert got == pytest.approx(roc_auc_score(lost, -score))


def test_band_table_by_hand():
    t = health.band_table(np.array([5.0, 15, 25, 100, 80]), np.array([True, False, True, False, True]))
    assert t["accounts"].tolist() == [2, 1, 0, 0, 2]
    assert t["lost"].tolist() == [1, 1, 0, 0, 1]
    assert t["share_lost"].iloc[0] == 0.5 and math.isnan(t["share_lost"].iloc[2])


# ---------------------------------------------------------------- the view on the tiny database


def test_view_on_the_tiny_database_by_hand(tiny):
    v = view.build(tiny, YEAR)
    a = v.accounts.set_index("customer_id")
    assert set(a.index) == set("ABCDE")  # all ordered in the 24 months to June 2025
    assert a.loc["A", "rhythm"] == 100 and a.loc["A", "days_since"] == 58  # 3 May -> 30 Jun
    assert a.loc["B", "days_since"] == 71 and a.loc["E", "days_since"] == 263
    # E bought once: held to A's rhythm (the only one with its own): 7.75 spreads late
    assert a.loc["E", "rhythm"] == 0 and a.loc["E", "late"] == pytest.approx((263 - 89.5) / 22.375)
    # everyone is new against the year before: trend 100, no gross margin a year before
    assert (a["trend"] == 100).all() and a["margin"].isna().all()
    assert a.loc["A", "categories_12m"] == 2 and a.loc["B", "categories_12m"] == 1
    # E: rhythm 0 (weight 30), trend 100 (25), breadth 100 (15); no fit, no plan
    assert a.loc["E", "score"] == pytest.approx((0 * 30 + 100 * 25 + 100 * 15) / 70)
    assert v.accounts["customer_id"].iloc[0] == "E"  # lowest score first
    # run rate: A's 3,600 over 12 months -> 900 in 3 months; sample variance of its 12 months
    monthly = np.zeros(12)
    monthly[[4, 7, 10]] = [100, 1000, 2500]  # Nov, Feb, May
    sd3 = math.sqrt(3 * monthly.var(ddof=1))
    assert a.loc["A", "forecast_3m"] == 900
    assert a.loc["A", "forecast_3m_hi"] == pytest.approx(900 + fc.Z80 * sd3)
    assert a.loc["A", "forecast_3m_lo"] == 0
    total = v.forecast[(v.forecast["account_manager"].isna()) & (v.forecast["months"] == 12)].iloc[0]
    assert total["forecast"] == pytest.approx(3600 + 600 + 250 + 100 + 70)
    assert v.forecast_model == "run_rate" and not v.has_fit
    # backtest: now = Dec 2024; active in the 12 months to then: A, C, E; E never ordered again
    assert v.backtest["accounts"] == 3 and v.backtest["lost"] == 1
    # the forecast backtest, same accounts: run rate of the 12 months to Dec 2024 x 6 (A 100,
    # C 50, E 70) against what they bought in Jan-Jun 2025 (A 1,000 + 2,500, C 200)
    assert v.forecast_backtest["forecast"] == pytest.approx((100 + 50 + 70) / 2)
    assert v.forecast_backtest["actual"] == pytest.approx(1000 + 2500 + 200)
    mgr = view.build(tiny, Filters(start=YEAR.start, end=YEAR.end, account_managers=("Li Na",)))
    assert set(mgr.accounts["customer_id"]) == {"A", "B"}


def test_the_score_month_by_month_matches_a_past_now(tiny):
    now = view.build(tiny, YEAR)
    past = view.build(tiny, Filters(start=date(2024, 4, 1), end=date(2025, 3, 1)))
    ids = now.accounts["customer_id"].tolist()
    series = dict(zip(ids, now.series[:, -4]))  # March 2025 in June's series
    for cid, s in zip(past.accounts["customer_id"], past.accounts["score"]):
        assert series[cid] == pytest.approx(s, nan_ok=True)


def test_plan_status_enters_the_score_and_the_actions(tiny):
    v = view.build(tiny, YEAR, plan_status={"A": "off_track", "B": "on_track"})
    a = v.accounts.set_index("customer_id")
    assert a.loc["A", "plan"] == 0 and a.loc["B", "plan"] == 100 and np.isnan(a.loc["C", "plan"])
    assert a.loc["A", "score"] == pytest.approx((100 * 30 + 100 * 25 + 100 * 15 + 0 * 5) / 75)
    plan = v.actions[v.actions["kind"] == "plan"]
    assert plan["customer_id"].tolist() == ["A"] and plan["value"].iloc[0] == 3600


# ---------------------------------------------------------------- whitespace against plain pandas


def _pandas_whitespace(db, now: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The whitespace straight from the order lines with pandas: (spend per customer and category
    in the 12 months to ``now``, expected value and status of each gap)."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    lines = con.sql("SELECT o.customer_id, o.order_date, o.revenue, p.category, c.customer_type "
                    "FROM order_lines o JOIN products p USING (product_id) "
                    "JOIN customers c USING (customer_id)").df()
    con.close()
    lines["order_date"] = pd.to_datetime(lines["order_date"])
    end = pd.Timestamp(now) + pd.offsets.MonthBegin(1)
    start = end - pd.DateOffset(months=12)
    lines = lines[lines["order_date"] < end]
    recent = lines[lines["order_date"] >= start]
    spend = recent.pivot_table(index="customer_id", columns="category", values="revenue", aggfunc="sum",
                               fill_value=0.0)
    before = lines[lines["order_date"] < start].pivot_table(index="customer_id", columns="category",
                                                             values="revenue", aggfunc="sum", fill_value=0.0)
    ids = sorted(set(lines["customer_id"]))
    cats = sorted(lines["category"].unique())
    spend = spend.reindex(index=ids, columns=cats, fill_value=0.0)
    before = before.reindex(index=ids, columns=cats, fill_value=0.0)
    kind = lines.groupby("customer_id")["customer_type"].first().reindex(ids)
    size = spend.clip(lower=0).sum(axis=1)
    cuts = size[size > 0].quantile([0.25, 0.5, 0.75]).to_numpy()
    band = pd.Series(np.searchsorted(cuts, size, side="right"), index=ids).where(size > 0)
    group = (kind + "/" + band.astype("Int64").astype(str)).where(band.notna())
    rows = []
    for g, members in group.dropna().groupby(group.dropna()):
        if len(members) < whitespace.MIN_PEERS:
            continue
        s = spend.clip(lower=0).loc[members.index]
        share = s.div(size[members.index], axis=0)
        for c in cats:
            buyers = share.loc[s[c] > 0, c]
            norm = (len(buyers) / len(s)) * (buyers.median() if len(buyers) else 0.0)
            for cid in members.index:
                if spend.loc[cid, c] <= 0:
                    rows.append({"customer_id": cid, "category": c, "value": size[cid] * norm,
                                 "status": "stopped" if before.loc[cid, c] > 0 else "never"})
    return spend, pd.DataFrame(rows)


def test_whitespace_equals_plain_pandas(small, small_db):
    now = small.last_month()
    spend, expected = _pandas_whitespace(small_db, now)
    cats, mine, _, _ = small.category_spend(now)
    keys = small.keys
    mine = pd.DataFrame(mine, index=np.asarray(keys.customer_id, dtype=object), columns=cats)
    pd.testing.assert_frame_equal(mine.loc[spend.index, spend.columns], spend, check_names=False, atol=1e-6)
    v = view.build(small, Filters(start=add_months(now, -11), end=now))
    held = view._held(small, now, None)
    pos = np.searchsorted(np.asarray(keys.customer_id, dtype=object), expected["customer_id"].to_numpy(dtype=object))
    col = np.searchsorted(np.asarray(cats, dtype=object), expected["category"].to_numpy(dtype=object))
    np.testing.assert_allclose(held.ws_value[pos, col], expected["value"].to_numpy(), rtol=1e-9, atol=1e-6)
    status = np.where(held.ws_status[pos, col] == whitespace.STOPPED, "stopped", "never")
    assert (status == expected["status"].to_numpy()).all()
    assert (held.ws_value[held.ws_status == whitespace.BUYING] == 0).all()
    # the page's list: the largest gaps of the accounts shown, by money
    top = v.gaps.head(20)
    assert (np.diff(top["value"].to_numpy()) <= 0).all()
    assert top["value"].iloc[0] == pytest.approx(expected[expected["customer_id"].isin(v.accounts["customer_id"])]
                                                 ["value"].max())
    assert set(v.gaps["status"]) <= {"stopped", "never"} and "stopped" in set(expected["status"])
    # per category (the Present slide's chart), over the accounts shown
    shown = expected[expected["customer_id"].isin(v.accounts["customer_id"])]
    want = shown.pivot_table(index="category", columns="status", values="value", aggfunc="sum", fill_value=0.0)
    got = v.whitespace_by_category.set_index("category")
    for status in ("never", "stopped"):
        np.testing.assert_allclose(got.loc[want.index, status], want[status], rtol=1e-9)
    assert got["total"].sum() == pytest.approx(v.whitespace_total, rel=1e-12)
    assert (np.diff(got["total"].to_numpy()) <= 0).all()


# ---------------------------------------------------------------- forecast against PyMC-Marketing


def test_forecast_equals_pymc_marketing(small, small_fit):
    from pymc_marketing.clv import BetaGeoModel, GammaGammaModel

    from tests.test_clv import _posterior

    _, fit = small_fit
    as_of = small.data_facts()["as_of"]
    rfm = small.rfm_summary(as_of, "W")
    # the page's RFM from the held purchase days equals the query layer's
    pos, day, rev = small.purchase_day_rows()
    n = small.keys.n
    cutoff = (as_of - date(1970, 1, 1)).days
    st = health.purchase_stats(pos, day, rev, n, cutoff)
    rows = np.searchsorted(np.asarray(small.keys.customer_id, dtype=object),
                           rfm["customer_id"].to_numpy(dtype=object))
    mine = view.rfm_frame(st, cutoff, 7.0, rows)
    for c in ("frequency", "recency", "T", "monetary_value", "first_value"):
        np.testing.assert_allclose(mine[c].to_numpy(), rfm[c].to_numpy(), rtol=1e-12, err_msg=c)
    data = rfm[["customer_id", "frequency", "recency", "T"]].astype({"frequency": float})
    bg = BetaGeoModel()
    bg.build_model(data)
    _posterior(bg, fit["params"])
    spend = rfm[rfm["frequency"] > 0][["customer_id", "frequency", "monetary_value"]].astype({"frequency": float})
    spend = spend[spend["monetary_value"] > 0].reset_index(drop=True)
    gg = GammaGammaModel()
    gg.build_model(spend)
    _posterior(gg, fit["spend"]["params"])
    t = 6 * fc.DAYS_PER_MONTH / 7
    theirs_n = bg.expected_purchases(data, future_t=t).values.ravel()
    theirs_spend = pd.Series(gg.expected_customer_spend(spend).values.ravel(), index=spend["customer_id"])
    mean, var = fc.from_fit(fit, mine, 6)
    buyers = rfm["customer_id"].isin(spend["customer_id"]).to_numpy()
    np.testing.assert_allclose(mean[buyers], theirs_n[buyers] * theirs_spend.loc[rfm["customer_id"][buyers]].to_numpy(),
                               rtol=1e-6)
    their_spend = theirs_spend.loc[rfm["customer_id"][buyers]].to_numpy()
    np.testing.assert_allclose(var[buyers], mean[buyers] * their_spend, rtol=1e-6)  # E[N] x spend^2
    # the view uses the same numbers, and says which model
    v = view.build(small, Filters(start=date(2000, 1, 1), end=small.last_month()), fit=fit)
    assert v.forecast_model == "fit" and v.has_fit
    a = v.accounts.set_index("customer_id")
    theirs = pd.Series(theirs_n[buyers] * their_spend, index=rfm["customer_id"][buyers].to_numpy())
    shown = theirs.index.intersection(a.index)
    assert len(shown) > 100
    np.testing.assert_allclose(a.loc[shown, "forecast_6m"].to_numpy(), theirs.loc[shown].to_numpy(), rtol=1e-6)
    assert a["p_alive"].between(0, 100).all()


# ---------------------------------------------------------------- backtest on the demo data


def test_lost_accounts_score_lower_on_the_demo(demo_db):
    """The demo generator knows who churns (``churn_month``: its first month without activity).
    Scored 6 months before the data ends, the accounts it has churned by the end of the data
    must rank lower (AUC well above 0.5); those already gone by then, much lower. The generator
    draws lifetimes without memory (exponential): an account about to churn looks like any
    other until it stops, so churn that starts after the scoring month cannot be foreseen from
    the data (its AUC is printed, not asserted)."""
    backend = connect(str(demo_db))
    now = backend.last_month()
    v = view.build(backend, Filters(start=add_months(now, -11), end=now))
    held = view._held(backend, now, None)
    months = 12 * demo.DEFAULT_YEARS
    c = demo._draw_customers(demo.DEFAULT_CUSTOMERS, months, np.random.default_rng([demo.DEFAULT_SEED, 0]))
    as_of = months - 1 - view.BACKTEST_LAG  # the backtest's "now" as the generator's month index
    keys = np.asarray(backend.keys.customer_id, dtype=object)
    gen_index = np.array([int(k[1:]) - 1 for k in keys])
    pop = np.flatnonzero(held.bt_population)  # an order in the 12 months up to the scoring month
    score = health.combine(view.components_at(held, view.BACKTEST_LAG, pop), health.check_weights({}))
    churn = c.churn_month[gen_index[pop]]
    gone_by_end, gone_by_then = churn <= months - 1, churn <= as_of
    later = gone_by_end & ~gone_by_then
    aucs = {k: health.auc(score, lost) for k, lost in
            (("by the end", gone_by_end), ("by the scoring month", gone_by_then), ("after it", later))}
    assert gone_by_end.sum() > 200 and gone_by_then.sum() > 100
    assert aucs["by the end"] > 0.7, aucs
    assert aucs["by the scoring month"] > 0.85, aucs
    assert np.nanmean(score[gone_by_end]) < np.nanmean(score[~gone_by_end]) - 15
    # the page's own backtest (lost = no order in the next 6 months) agrees
    assert v.backtest["auc"] > 0.7
    shares = v.backtest["bands"]["share_lost"].to_numpy()
    assert shares[0] > 0.5 > 0.1 > shares[-1]
    print("demo backtest AUC, accounts the generator churned", {k: round(a, 3) for k, a in aucs.items()},
          f"page AUC {v.backtest['auc']:.3f}")


# ---------------------------------------------------------------- actions and plans


def test_actions_are_ranked_by_money_and_have_their_reasons(small):
    now = small.last_month()
    v = view.build(small, Filters(start=add_months(now, -11), end=now))
    a = v.actions
    assert len(a) and (np.diff(a["value"].to_numpy()) <= 0).all() and (a["value"] > 0).all()
    assert set(a["kind"]) <= {"call", "offer", "terms", "plan"}
    terms = a[a["kind"] == "terms"]
    acc = v.accounts.set_index("customer_id")
    assert (terms["value"].to_numpy() == -acc.loc[terms["customer_id"], "account_profit_12m"].to_numpy()).all()
    causes = {c for text in terms["causes"] for c in text.split(",") if c}
    assert causes and causes <= set(view.LOSS_CAUSES)
    assert (terms["causes"].str.len() > 0).mean() > 0.9
    calls = a[a["kind"] == "call"]
    assert (acc.loc[calls["customer_id"], "late"] > view.CALL_LATE_SPREADS).all()
    offers = a[a["kind"] == "offer"]
    assert offers["customer_id"].is_unique


def test_an_action_goes_into_the_plan_as_a_version_with_author(tmp_path):
    from kamdash.ui.my_accounts import plan_action

    path = tmp_path / "user.duckdb"
    call = plan_action("Call: 81 days without an order", "Li Na", date(2025, 7, 1))
    assert call == {"action": "Call: 81 days without an order", "owner": "Li Na", "due": "2025-07-15",
                    "status": "open"}
    v1 = plans.add_action(path, "A", call, "Li Na")
    assert v1.version == 1 and v1.author == "Li Na" and v1.body["actions"] == [call]
    plans.save(path, "A", {**v1.body, "notes": "met the buyer"}, "Wang Wei", base_version=1)
    v3 = plans.add_action(path, "A", plan_action("Offer Cables & connectors", "Li Na", date(2025, 7, 1)), "Zhou Jie")
    assert v3.version == 3 and v3.author == "Zhou Jie" and v3.body["notes"] == "met the buyer"
    assert [x["action"] for x in v3.body["actions"]] == ["Call: 81 days without an order", "Offer Cables & connectors"]
    assert [h.version for h in plans.history(path, "A")] == [3, 2, 1]


# ---------------------------------------------------------------- a user's scope


def _subset_db(source, ids: set, path):
    """A sales database holding only the rows of the customers ``ids`` of ``source`` (every
    product): what a user with that scope may see, as if nothing else were in the data."""
    from kamdash import store
    from tests import conftest

    tables = {t: conftest.read_table(source, t) for t in ("customers", "products", "order_lines", "cost_to_serve")}

    def fill(con):
        for name, df in tables.items():
            if "customer_id" in df.columns and name != "products":
                df = df[df["customer_id"].isin(ids)]
            con.register("rows", df)
            con.execute(f"INSERT INTO {name} BY NAME SELECT * FROM rows")
            con.unregister("rows")

    store.build_sales_db(path, fill, source="tests")
    return connect(str(path))


def _same_view(a, b) -> None:
    def plain(df):
        df = df.copy()
        for c in df.columns:  # categories hold every value of the database: compare the values
            if isinstance(df[c].dtype, pd.CategoricalDtype):
                df[c] = df[c].astype(object).where(df[c].notna(), None)
        return df

    for name in ("accounts", "actions", "gaps", "forecast", "portfolio"):
        pd.testing.assert_frame_equal(plain(getattr(a, name)), plain(getattr(b, name)), check_dtype=False,
                                      rtol=1e-9, obj=name)
    pd.testing.assert_frame_equal(a.heat, b.heat, rtol=1e-9)
    np.testing.assert_allclose(a.series, b.series, rtol=1e-9)
    assert a.whitespace_total == pytest.approx(b.whitespace_total, rel=1e-9)
    assert a.typical_rhythm == b.typical_rhythm and a.categories == b.categories
    for k, x in a.forecast_backtest.items():
        assert x == (pytest.approx(b.forecast_backtest[k], rel=1e-9) if isinstance(x, float) else b.forecast_backtest[k])
    pd.testing.assert_frame_equal(a.backtest["bands"], b.backtest["bands"])
    for k in ("auc", "accounts", "lost", "lost_mean", "kept_mean"):
        assert a.backtest[k] == pytest.approx(b.backtest[k], rel=1e-9, nan_ok=True), k


def test_a_scoped_page_equals_the_page_on_the_scope_alone(small, small_db, tmp_path):
    """With a user's scope, the page is what it would be on a database of the scope's customers
    alone: the peers of the whitespace, the usual rhythm and the loss causes' benchmarks are
    computed within the scope (the pattern of tests/test_scope.py)."""
    from tests import conftest

    customers = conftest.read_table(small_db, "customers")
    lines = conftest.read_table(small_db, "order_lines")
    managers = sorted(customers["account_manager"].dropna().unique())
    ids = set(customers.loc[customers["account_manager"].isin(managers[:3]), "customer_id"])
    ids.add(lines.loc[lines["order_date"].idxmax(), "customer_id"])  # the data ends on the same day
    sub = _subset_db(small_db, ids, tmp_path / "scope.duckdb")
    now = small.last_month()
    assert sub.last_month() == now
    scope = tuple(sorted(ids))
    for more in ({}, {"regions": (customers["region"].iloc[0],)}):
        period = {"start": add_months(now, -11), "end": now, **more}
        scoped = view.build(small, Filters(**period, scope=scope))
        alone = view.build(sub, Filters(**period))
        assert len(scoped.accounts) > (20 if not more else 3) and len(scoped.gaps)
        assert more or (scoped.actions["kind"] == "terms").any()
        _same_view(scoped, alone)
    # the scope matters: the same accounts among everyone have other peers
    everyone = view.build(small, Filters(start=add_months(now, -11), end=now, customer_ids=scope))
    assert everyone.whitespace_total != pytest.approx(scoped.whitespace_total, rel=1e-6)
    sub.close()


# ---------------------------------------------------------------- the account one-pager


def test_the_one_pager_carries_the_health_score_and_the_largest_whitespace(small, small_db, tmp_path):
    """The one-pager's health line is the page's score and why; its whitespace the account's
    largest gaps, checked against plain pandas; the PDF keeps one page and shows both."""
    import shutil
    import subprocess

    from kamdash import deck, i18n
    from kamdash.ui.shell import Context
    from kamdash.ui import account_words
    from kamdash.ui import my_accounts as my_ui
    from kamdash.views import account as account_view

    now = small.last_month()
    f = Filters(start=add_months(now, -11), end=now)
    v = view.build(small, f)
    row = v.accounts[v.accounts["whitespace_best"] > 0].iloc[0]  # the lowest score with whitespace
    cid = row["customer_id"]
    got = view.account_health(small, cid, now)
    assert got.row["score"] == row["score"] and got.now == v.now
    _, expected = _pandas_whitespace(small_db, now)
    want = expected[(expected["customer_id"] == cid) & (expected["value"] > 0)].sort_values("value", ascending=False)
    want = want.head(view.ONE_PAGER_GAPS)
    assert list(got.gaps["category"]) == list(want["category"]) and list(got.gaps["status"]) == list(want["status"])
    np.testing.assert_allclose(got.gaps["value"], want["value"], rtol=1e-9)
    assert view.account_health(small, "no-such-account", now) is None
    for lang in ("en", "zh"):
        ctx = Context(lang=lang, filters=f, facts={"as_of": small.last_order_date(), "currency": "CNY"},
                      labels={}, data_key=())
        av = account_view.build(small, cid, small.customer_facts(f), small.customer_links(), f.start, f.end)
        page = account_words.one_pager_slides(ctx, av, None, None, got)[0]
        text = " ".join(page.bullets)
        assert ctx.t("op.health", score=i18n.fmt_number(float(row["score"]), lang, digits=0), month=ctx.t_month(now),
                     why=my_ui.why_text(ctx, row, v.typical_rhythm)) in text
        assert ctx.money(float(want["value"].iloc[0])) in text
        if lang == "en" and shutil.which("pdftoppm") and deck.chromium_path():
            pdf = tmp_path / "one.pdf"
            pdf.write_bytes(deck.to_pdf([page], title="review", subtitle="", lang=lang, notes=False, cover=False))
            subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "p")], check=True)
            assert len(list(tmp_path.glob("p-*.png"))) == 1
            flat = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout.split())
            assert "Health score" in flat and "Whitespace" in flat
