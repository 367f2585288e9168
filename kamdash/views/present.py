"""Data of the Present page: the numbers behind each slide of the workshop storyline.

Each slide has a frozen dataclass of what it shows (the period's KPIs, the concentration
readouts, the loss-makers, ...) and a pure function that makes it from analytics results; the
wording, charts and layout of the slides are made in ``kamdash.ui.present_text`` (one slide
per dataclass, in the user's language).

``build(engine, filters, facts, order, ...)`` runs the queries and returns the data of the
chosen slides in order (used by tests, the benchmark and any caller without Streamlit's
caches; the page builds each slide from its own cached data).

Saved what-if scenarios (user table ``scenarios``) are pinned as ``scenario:<id>``
entries (``views.scenarios``: their stored numbers, read defensively).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

import numpy as np
import pandas as pd

from kamdash.analytics import cohorts, pareto
from kamdash.analytics import ka_types as ka
from kamdash.analytics import segments as sg
from kamdash.analytics.overview import Kpi
from kamdash.engine.filters import Filters
from kamdash.views import concentration as concentration_view
from kamdash.views import key_accounts as ka_view
from kamdash.views.scenarios import Scenario, read_scenarios, scenario, scenario_numbers

SLIDES = ("overview", "concentration", "whale", "segments", "ka_portfolio", "retention")
OPTIONAL = ("health", "whitespace")  # offered in the chooser, not in the storyline until added
SCENARIO_PREFIX = "scenario:"
RETENTION_MONTHS = 12  # the headline reads the average retention this many months after the first order
TOP_SHARE = pareto.TOP_SHARE_DEFAULT
SECOND_SHARE = 0.10  # the concentration slide's second top share
TARGET_SHARE = pareto.TARGET_SHARE_DEFAULT  # the value share the slide counts customers for (pareto.readouts)
WORST_ON_SLIDE = 5
SLIPPING_BELOW = 40  # "slipping": a health score below this (the page's "accounts below 40")
SLIPPING_ON_SLIDE = 3
GAPS_ON_SLIDE = 5
KPI_KEYS = ("revenue", "gross_profit", "account_profit", "active_customers")


def valid_order(order, scenarios: dict | None = None) -> list[str]:
    """A saved or chosen slide order without unknown entries (e.g. a deleted scenario) or repeats."""
    out = []
    for s in order or []:
        ok = s in SLIDES or s in OPTIONAL or (isinstance(s, str) and s.startswith(SCENARIO_PREFIX)
                             and s[len(SCENARIO_PREFIX):] in (scenarios or {}))
        if ok and s not in out:
            out.append(s)
    return out


def scenario_name(slide_id: str, scenarios: dict | None = None) -> str | None:
    """The saved name of a pinned scenario entry (its id when the name is not known); None for
    the other slides."""
    if not slide_id.startswith(SCENARIO_PREFIX):
        return None
    sid = slide_id[len(SCENARIO_PREFIX):]
    return str((scenarios or {}).get(sid, {}).get("name", sid))


@dataclass(frozen=True)
class Cover:
    """What the title slide states: the period, every active filter (values as stored, the UI
    labels them), the customers picked by id, and the data's as-of date."""

    start: date
    end: date
    dimensions: tuple  # (column, values) of each active filter dimension, in the filter bar's order
    tiers: tuple
    picked_customers: int | None  # customers picked by id (None: no such pick)
    as_of: date


def cover(filters: Filters, facts: dict) -> Cover:
    dims = (("region", filters.regions), ("customer_type", filters.customer_types),
            ("sector", filters.sectors), ("account_manager", filters.account_managers))
    return Cover(filters.start, filters.end, tuple((c, tuple(v)) for c, v in dims if v), tuple(filters.tiers or ()),
                 None if filters.customer_ids is None else len(filters.customer_ids), facts["as_of"])


# ---------------------------------------------------------------- the slides' data


@dataclass(frozen=True)
class Overview:
    kpis: dict  # key -> analytics.overview.Kpi, for KPI_KEYS
    active_customers: int
    revenue: float
    profit: float  # account profit
    margin: float  # account margin (NaN without revenue)
    monthly: pd.DataFrame  # Engine.monthly_totals
    start: date
    end: date


def overview(ov, filters: Filters) -> Overview:
    """``ov``: views.overview.OverviewData."""
    k: dict[str, Kpi] = {x.key: x for x in ov.kpis}
    rev, profit = k["revenue"].value, k["account_profit"].value
    return Overview({key: k[key] for key in KPI_KEYS}, ov.active_customers, rev, profit,
                    profit / rev if rev else float("nan"), ov.monthly, filters.start, filters.end)


@dataclass(frozen=True)
class Concentration:
    value: str  # the measure concentrated: account_profit or revenue (concentration_value)
    customers: int  # customers in the curve (0: nothing to show)
    readouts: dict | None  # pareto.readouts of the sorted values
    ranked: pd.DataFrame | None  # pareto.ranked: the Pareto chart's data


def slide_facts(engine, filters: Filters, peers: bool = False) -> pd.DataFrame:
    """Engine.customer_facts of ``filters`` (the concentration and whale slides); ``peers``:
    of the loss-makers' peers instead (``views.concentration.peer_filters``: the period, within
    the user's scope), whom the whale slide compares a loss-maker with."""
    return engine.customer_facts(concentration_view.peer_filters(filters) if peers else filters)


def concentration_value(facts: pd.DataFrame) -> str:
    """Account profit when its top-20% share is a share (total positive, at most 100%: no
    loss-makers pushing it past the total), else revenue; the whale slide tells the loss story."""
    pop = pareto.population(facts, "account_profit")
    share = pareto.top_share(pop["account_profit"], TOP_SHARE) if len(pop) else float("nan")
    return "account_profit" if share == share and share <= 1.0 else "revenue"


def concentration(facts: pd.DataFrame) -> Concentration:
    """``facts``: Engine.customer_facts of the filtered period."""
    value = concentration_value(facts)
    pop = pareto.population(facts, value)
    if pop.empty:
        return Concentration(value, 0, None, None)
    r = pareto.readouts(pareto.sorted_values(pop, value), ordered=True)
    return Concentration(value, int(r["customers"]), r, pareto.ranked(pop, value))


@dataclass(frozen=True)
class Whale:
    summary: dict  # pareto.whale_summary
    curve: pd.DataFrame  # pareto.whale_curve (empty when total profit is not positive)
    worst: pd.DataFrame  # pareto.loss_makers: the WORST_ON_SLIDE largest loss-makers with their main reason


def whale(facts: pd.DataFrame, peers: pd.DataFrame | None = None) -> Whale:
    """``peers``: slide_facts(..., peers=True); each loss-maker is compared with its type among
    them, as on the concentration page."""
    s = pareto.whale_summary(facts)
    if s["customers"] == 0:
        return Whale(s, pd.DataFrame(), pd.DataFrame())
    return Whale(s, pareto.whale_curve(facts), pareto.loss_makers(facts, WORST_ON_SLIDE, peers))


@dataclass(frozen=True)
class Segments:
    enough: bool  # at least 3 customers to segment
    k: int = 0
    method: str = ""
    profile: pd.DataFrame | None = None  # analytics.segments.profiles
    tokens: dict | None = None  # segment -> analytics.segments.name_tokens (the suggested name)
    saved_names: dict | None = None  # segment (as text) -> the name saved for this segmentation
    top: int = 0  # the segment with the largest value share


def segments(feats: pd.DataFrame, config: dict | None, saved_names: dict | None,
             result: sg.SegmentResult | None = None) -> Segments:
    """The segments slide with the saved segmentation settings (features, method, k) and names
    (the segments page's ``segments.config`` / ``segments.names`` settings)."""
    cfg = config or {}
    if len(feats) < 3:
        return Segments(False)
    cols = tuple(c for c in (cfg.get("features") or sg.DEFAULT_FEATURES) if c in sg.FEATURES) or sg.DEFAULT_FEATURES
    if result is None:
        result = sg.fit_segments(feats, cols, cfg.get("k"), cfg.get("method", "kmeans"))
    sig = f"{result.method}|{result.k}|{','.join(result.features)}"
    profile = sg.profiles(feats, result)
    top = int(profile.sort_values("value_share", ascending=False).iloc[0]["segment"])
    return Segments(True, result.k, result.method, profile, sg.name_tokens(profile),
                    dict((saved_names or {}).get(sig, {})), top)


@dataclass(frozen=True)
class KaPortfolio:
    key_accounts: int  # customers with at least one KA type
    customers: int  # customers considered
    revenue_share: float  # the key accounts' share of revenue
    portfolio: pd.DataFrame | None  # views.key_accounts.portfolio (None without key accounts)
    quadrants: tuple  # (quadrant, accounts, revenue) for each of analytics.ka_types.QUADRANTS
    end: date | None  # the period's last month (growth's periods are stated on the axis)


def ka_portfolio(features: pd.DataFrame, types: pd.DataFrame, end=None) -> KaPortfolio:
    """``types``: analytics.ka_types.key_accounts on ``features`` (the selected set)."""
    summary = ka.type_summary(features, types).set_index("ka_type")
    n = int(summary.loc["any", "customers"])
    if n == 0:
        return KaPortfolio(0, len(types), 0.0, None, (), end)
    pf = ka_view.portfolio(features, types)
    counts = pf["quadrant"].value_counts()
    quads = tuple((q, int(counts.get(q, 0)), float(pf.loc[pf["quadrant"] == q, "value"].sum())) for q in ka.QUADRANTS)
    return KaPortfolio(n, len(types), float(summary.loc["any", "revenue_share"]), pf, quads, end)


@dataclass(frozen=True)
class Retention:
    matrix: pd.DataFrame  # analytics.cohorts.retention_matrix (monthly cohorts)
    curve: pd.Series | None  # analytics.cohorts.retention_curve
    point: tuple | None  # retention_point of the curve
    first: float | None  # retention one month after the first order, when the point is later
    cohorts: int
    customers: int  # customers in the cohorts


def retention_point(curve: pd.Series, months: int = RETENTION_MONTHS) -> tuple[int, float] | None:
    """(k, average retention k months after the first order) at ``months`` or the latest k
    observed before it; None without a k >= 1."""
    ks = [k for k in curve.dropna().index if 1 <= k <= months]
    if not ks:
        return None
    k = max(ks)
    return int(k), float(curve[k])


def retention(matrix: pd.DataFrame, sizes: pd.Series) -> Retention:
    """``matrix``, ``sizes``: analytics.cohorts.retention_matrix (monthly cohorts)."""
    if matrix.empty:
        return Retention(matrix, None, None, None, 0, 0)
    curve = cohorts.retention_curve(matrix, sizes)
    point = retention_point(curve)
    first = float(curve[1]) if 1 in curve.index and point and point[0] != 1 else None
    return Retention(matrix, curve, point, first, len(matrix), int(sizes.sum()))


# ---------------------------------------------------------------- the account manager's view (optional)


@dataclass(frozen=True)
class Health:
    """Accounts slipping: how many accounts score below SLIPPING_BELOW and what they bought in
    the last 12 months, the score month by month, the largest of them by revenue, and the
    backtest. ``accounts`` 0: nothing to show."""

    accounts: int
    slipping: int = 0
    slipping_revenue: float = 0.0  # their revenue of the last 12 months
    mean_score: float = float("nan")
    now: date | None = None
    portfolio: pd.DataFrame | None = None  # views.my_accounts.MyAccountsView.portfolio
    backtest: dict | None = None  # views.my_accounts.MyAccountsView.backtest
    top: pd.DataFrame | None = None  # the SLIPPING_ON_SLIDE largest slipping accounts (rows of ``accounts``)


def health(v) -> Health:
    """``v``: views.my_accounts.MyAccountsView (None: no data)."""
    acc = v.accounts if v is not None else pd.DataFrame()
    if v is None or not len(acc):
        return Health(0)
    slipping = acc[acc["score"] < SLIPPING_BELOW]
    top = slipping.sort_values(["revenue_12m", "score"], ascending=[False, True], kind="stable").head(SLIPPING_ON_SLIDE)
    return Health(len(acc), len(slipping), float(slipping["revenue_12m"].sum()), float(acc["score"].mean()),
                  v.now, v.portfolio, v.backtest, top)


def backtest_shown(b: dict | None) -> bool:
    """The backtest has accounts and a finite AUC (the slide states it)."""
    return bool(b and b["accounts"] and np.isfinite(b["auc"]))


@dataclass(frozen=True)
class Whitespace:
    """Whitespace, money on the table: the accounts' expected yearly revenue from the categories
    their peers buy and they do not, by category, and the largest gaps."""

    has_categories: bool
    total: float = 0.0
    accounts: int = 0  # accounts with a gap
    by_category: pd.DataFrame | None = None  # category, never, stopped, total: categories with a gap, largest first
    stopped: float = 0.0  # the part from categories an account stopped buying
    gaps: pd.DataFrame | None = None  # the GAPS_ON_SLIDE largest gaps


def whitespace(v) -> Whitespace:
    """``v``: views.my_accounts.MyAccountsView (None: no data)."""
    if v is None or not v.has_categories:
        return Whitespace(False)
    if not v.whitespace_total > 0:
        return Whitespace(True)
    cats = v.whitespace_by_category
    cats = cats[cats["total"] > 0]
    return Whitespace(True, v.whitespace_total, int((v.accounts["whitespace_best"] > 0).sum()), cats,
                      float(cats["stopped"].sum()), v.gaps.head(GAPS_ON_SLIDE))


# ---------------------------------------------------------------- the whole storyline


def build(engine, filters: Filters, facts: dict, order=SLIDES, *,
          scenarios: dict | None = None, segment_config: dict | None = None,
          segment_saved_names: dict | None = None, ka_rules: ka.KaRules | None = None) -> list:
    """The data of the slides of ``order`` (slide ids, ``scenario:<id>`` for pinned scenarios),
    querying ``engine`` directly. ``facts``: Engine.data_facts. Segment/KA settings default to
    the pages' defaults."""
    from kamdash.views import overview as overview_view

    cache: dict = {}

    def customer_facts():
        if "facts" not in cache:
            cache["facts"] = engine.customer_facts(filters)
        return cache["facts"]

    def features():
        if "features" not in cache:
            cfg = segment_config or {}
            cols = tuple(cfg.get("features") or sg.DEFAULT_FEATURES)
            cache["features"] = engine.customer_features(replace(filters, customer_ids=None),
                                                          "breadth" in cols)
        return cache["features"]

    out = []
    for sid in valid_order(order, scenarios):
        if sid == "overview":
            out.append(overview(overview_view.build(engine, filters, facts["first_month"]), filters))
        elif sid == "concentration":
            out.append(concentration(customer_facts()))
        elif sid == "whale":
            out.append(whale(customer_facts(), slide_facts(engine, filters, peers=True)))
        elif sid == "segments":
            out.append(segments(features(), segment_config, segment_saved_names))
        elif sid == "ka_portfolio":
            types = ka.key_accounts(features(), engine.customer_links(), ka_rules or ka.KaRules())
            out.append(ka_portfolio(features(), types, filters.end))
        elif sid in OPTIONAL:
            if "my_accounts" not in cache:
                from kamdash.views import my_accounts as my_view

                cache["my_accounts"] = my_view.build(engine, filters)
            out.append((health if sid == "health" else whitespace)(cache["my_accounts"]))
        elif sid == "retention":
            counts = engine.cohort_counts(filters, "M")
            matrix, sizes = cohorts.retention_matrix(counts, "M", last_period=facts["last_month"])
            out.append(retention(matrix, sizes))
        else:
            out.append(scenario(scenarios[sid[len(SCENARIO_PREFIX):]]))
    return out


__all__ = ["OPTIONAL", "SCENARIO_PREFIX", "SLIDES", "Concentration", "Cover", "Health", "KaPortfolio", "Overview",
           "Retention", "Scenario", "Segments", "Whale", "Whitespace", "backtest_shown", "build", "concentration",
           "cover", "health", "ka_portfolio", "overview", "read_scenarios", "retention", "retention_point",
           "scenario", "scenario_name", "scenario_numbers", "segments", "slide_facts", "valid_order", "whale",
           "whitespace"]
