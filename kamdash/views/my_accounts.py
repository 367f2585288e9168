"""Data of the "My accounts" page: health score, its backtest, whitespace, next best actions and
the revenue forecast of the accounts the filters select.

"Now" is the last month of the chosen period (capped at the data's last month). The accounts
are those with an order in the 24 months up to now (a lapsed account is exactly the one to
see). Everything that depends on the data alone (each component of every customer's score for
the 12 months up to now, the peer norms of the whitespace, each account's forecast) is made
once per "now" and stored fit, and held in the engine; a filter change or a weight change
selects rows and takes weighted means (``build``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, replace
from datetime import date, timedelta

import numpy as np
import pandas as pd

from kamdash.analytics import forecast as fc
from kamdash.analytics import health, losses, whitespace
from kamdash.analytics.health import COMPONENTS, WEIGHTS_DEFAULT, check_weights  # noqa: F401 (for the UI)
from kamdash.engine import columns
from kamdash.engine.filters import Filters, add_months, month_start

HORIZONS = fc.HORIZONS
MIN_PURCHASE_DAYS = health.MIN_PURCHASE_DAYS

LAGS = 13  # now and the 12 months before: the score month by month
BACKTEST_LAG = 6  # the backtest's "now": 6 months ago; lost = no order in the 6 months after
ELIGIBLE_MONTHS = 24  # an account: an order in the 24 months up to "now"
BACKTEST_ACTIVE_MONTHS = 12  # backtest population: an order in the 12 months up to its "now"
DATA_COMPONENTS = ("rhythm", "trend", "breadth", "margin", "p_alive")  # month by month
CALL_LATE_SPREADS = 1.0  # "call": more than one spread later than its usual interval
GAP_KINDS = ("never", "stopped")
TOP_GAPS = 500  # whitespace list length
HEAT_ACCOUNTS = 30  # accounts in the heat map (largest whitespace first)
LOSS_CAUSES = losses.CAUSES


class Held:
    """Arrays derived from the data once per "now" and fit (every customer), held in
    the engine's cache (``nbytes`` counts against its budget)."""

    def __init__(self, **arrays):
        self.__dict__.update(arrays)

    @property
    def nbytes(self) -> int:
        return int(sum(getattr(v, "nbytes", 0) for v in self.__dict__.values()))


def _day(d: date) -> int:
    return (d - date(1970, 1, 1)).days


def _month_end(m: date) -> date:
    return add_months(m, 1) - timedelta(days=1)


def fit_digest(fit: dict | None) -> str:
    if fit is None:
        return ""
    return hashlib.sha256(json.dumps(fit, sort_keys=True, default=repr).encode()).hexdigest()[:16]


def rfm_frame(st: dict, cutoff: int, unit_days: float, rows: np.ndarray) -> pd.DataFrame:
    """The RFM summary (``Engine.rfm_summary``'s conventions) of ``rows`` from
    ``health.purchase_stats`` up to day ``cutoff``, in time units of ``unit_days`` days."""
    first, last = st["first"][rows].astype(float), st["last"][rows].astype(float)
    return pd.DataFrame({"frequency": (st["count"][rows] - 1).astype(float),
                         "recency": (last - first) / unit_days, "T": (cutoff - first) / unit_days,
                         "monetary_value": st["repeat_value"][rows], "first_value": st["first_value"][rows]})


def now_month(engine, filters: Filters) -> date | None:
    last = engine.last_month()
    if last is None:
        return None
    return month_start(min(filters.end, last) if filters.end else last)


def _held(engine, now: date, fit: dict | None, scope: tuple | None = None) -> Held:
    """The Held of ``now`` and ``fit`` within a user's ``scope`` (customer ids; None: everyone)."""
    key = ("my_accounts", now, fit_digest(fit))
    if scope is None:
        return engine.derived(key, lambda: _make(engine, now, fit))
    digest = hashlib.sha256("\x1f".join(sorted(scope)).encode()).hexdigest()[:16]
    within = engine.columns.mask({}, scope)
    return engine.derived((*key, "scope", digest), lambda: _make(engine, now, fit, within))


def _make(engine, now: date, fit: dict | None, within: np.ndarray | None = None) -> Held:
    """Everything the page needs that depends on the data alone, for every customer. With a
    scope (``within``: a customer mask) the customers outside it are left out before anything
    is aggregated: they are nobody's peers (typical rhythm, whitespace norms, loss causes) and
    are not accounts, as if they were not in the data."""
    keys = engine.keys
    n = keys.n
    last_day = _day(engine.last_order_date())
    tot = engine.month_totals([add_months(now, -k) for k in range(LAGS + 24)],
                              "revenue", "gross_profit", "orders")
    rev, gp, orders = tot["revenue"], tot["gross_profit"], tot["orders"]
    d = lambda a, i, j: columns.snap(a[i], a[j])  # noqa: E731  (the period after month j up to month i)
    cats, spend, before, bits = engine.category_spend(now)
    pos, day, day_rev = engine.purchase_day_rows()
    if within is not None:
        rows = within[pos]
        pos, day, day_rev = pos[rows], day[rows], day_rev[rows]
        # the categories someone in the scope bought (before or in the last 12 months)
        used = ((spend[within] != 0) | (before[within] != 0) | (bits[within] != 0)).any(axis=0)
        cats, spend, before, bits = cats[used], spend[:, used], before[:, used], bits[:, used]
    unit = {"W": 7.0, "D": 1.0}[fit.get("time_unit", "W")] if fit else 7.0
    comps = np.full((LAGS, len(DATA_COMPONENTS), n), np.nan, dtype=np.float32)
    eligible = np.zeros((LAGS, n), dtype=bool)
    for j in range(LAGS):
        cutoff = min(_day(_month_end(add_months(now, -j))), last_day)
        st = health.purchase_stats(pos, day, day_rev, n, cutoff)
        since = np.where(st["count"] > 0, cutoff - st["last"], np.nan).astype(float)
        typical = health.typical_rhythm(st["mean_gap"], st["sd_gap"], st["count"])
        rhythm, late = health.rhythm_score(since, st["mean_gap"], st["sd_gap"], st["count"], typical)
        trend = health.trend_score({k: d(rev, j, j + k) for k in health.TREND_MONTHS},
                                   {k: d(rev, j + 12, j + 12 + k) for k in health.TREND_MONTHS})
        breadth = health.breadth_score(health.categories_in(bits, j), health.categories_in(bits, j + 12)) \
            if len(cats) else np.full(n, np.nan)
        gm_now = health.gross_margin(d(rev, j, j + 12), d(gp, j, j + 12))
        gm_before = health.gross_margin(d(rev, j + 12, j + 24), d(gp, j + 12, j + 24))
        margin = health.margin_score(gm_now, gm_before)
        p_alive = np.full(n, np.nan)
        if fit is not None:
            rows = np.flatnonzero(st["count"] > 0)
            from kamdash.analytics import clv

            p_alive[rows] = 100.0 * clv.p_alive(fit, rfm_frame(st, cutoff, unit, rows))
        for i, x in enumerate((rhythm, trend, breadth, margin, p_alive)):
            comps[j, i] = x
        eligible[j] = (orders[j] - orders[j + ELIGIBLE_MONTHS]) > 0
        if within is not None:
            eligible[j] &= within
        if j == 0:
            now_facts = dict(typical=np.asarray(typical), days_since=since, rev_prev12=d(rev, 12, 24), mean_gap=st["mean_gap"], sd_gap=st["sd_gap"], late=late,
                             days=st["count"], first_day=st["first"], gm_now=gm_now, gm_before=gm_before,
                             n_cat=health.categories_in(bits, 0) if len(cats) else np.zeros(n, int),
                             n_cat_before=health.categories_in(bits, 12) if len(cats) else np.zeros(n, int))
            st0, cutoff0 = st, cutoff
        if j == BACKTEST_LAG:
            st_bt, cutoff_bt = st, cutoff
    # the 12 months up to now, for the actions and the forecast
    t12 = engine.month_totals([now, add_months(now, -12)], "revenue", "gross_profit", "discount",
                              "returns", "cost_to_serve", "account_profit")
    last12 = {c: columns.snap(v[0], v[1]) for c, v in t12.items()}
    loss_causes = _loss_causes(engine, last12, within)
    # forecast per account: run rate always (it is also the fallback); the fit where there is one
    monthly = np.stack([d(rev, j, j + 1) for j in range(12)], axis=1)
    fc_mean = np.zeros((len(fc.HORIZONS), n))
    fc_var = np.zeros((len(fc.HORIZONS), n))
    monthly_bt = np.stack([d(rev, j, j + 1) for j in range(BACKTEST_LAG, BACKTEST_LAG + 12)], axis=1)
    bt_mean, _ = fc.run_rate(monthly_bt, BACKTEST_LAG)
    for i, h in enumerate(fc.HORIZONS):
        fc_mean[i], fc_var[i] = fc.run_rate(monthly, h)
    if fit is not None:
        rows = np.flatnonzero(st0["count"] > 0)
        rfm0 = rfm_frame(st0, cutoff0, unit, rows)
        fc_mean[:, :] = 0.0
        fc_var[:, :] = 0.0
        for i, h in enumerate(fc.HORIZONS):
            fc_mean[i, rows], fc_var[i, rows] = fc.from_fit(fit, rfm0, h)
        rows = np.flatnonzero(st_bt["count"] > 0)
        bt_mean = np.zeros(n)
        bt_mean[rows] = fc.from_fit(fit, rfm_frame(st_bt, cutoff_bt, unit, rows), BACKTEST_LAG)[0]
    bt_actual = d(rev, 0, BACKTEST_LAG)
    bt_population = (orders[BACKTEST_LAG] - orders[BACKTEST_LAG + BACKTEST_ACTIVE_MONTHS]) > 0
    if within is not None:
        bt_population &= within
    lost = (orders[0] - orders[BACKTEST_LAG]) == 0
    # whitespace: peer norms over every customer with revenue in the last 12 months
    ws_status = ws_value = np.zeros((n, 0))
    if len(cats):
        size = np.maximum(spend, 0).sum(axis=1)
        if within is not None:  # no size, no peer group: outside the scope
            size = np.where(within, size, 0.0)
        group = whitespace.peer_groups(keys.codes["customer_type"][0], size)
        groups, share = whitespace.norms(np.maximum(spend, 0), size, group)
        ws_status, ws_value = whitespace.gaps(spend, before, size, group, groups, share)
    ws_per = ws_value.sum(axis=1) if len(cats) else np.zeros(n)
    ws_best = ws_value.argmax(axis=1) if len(cats) else np.zeros(n, dtype=np.int64)
    # every gap with a value, largest first (ties by customer key, then category): a filter
    # keeps the first TOP_GAPS of its accounts without sorting again
    flat = ws_value.ravel()
    ws_order = np.flatnonzero(flat > 0)
    ws_order = ws_order[np.argsort(-flat[ws_order], kind="stable")]
    filled = np.ascontiguousarray(np.nan_to_num(comps).transpose(0, 2, 1))  # (LAGS, n, C): one row per
    has = np.ascontiguousarray(np.isfinite(comps).transpose(0, 2, 1)).astype(np.float32)  # account and month
    return Held(filled=filled, has=has, eligible=eligible, cats=cats, ws_status=ws_status, ws_value=ws_value,
                ws_per=ws_per, ws_best=ws_best, ws_order=ws_order, ws_key=(ws_order // max(len(cats), 1)).astype(np.int32),
                weighted={}, ranked={},
                fc_mean=fc_mean, fc_var=fc_var, bt_mean=bt_mean, bt_actual=bt_actual,
                bt_population=bt_population, lost=lost, loss_causes=loss_causes,
                **{f"l12_{c}": v for c, v in last12.items()},
                **now_facts)


@dataclass(frozen=True)
class MyAccountsView:
    now: date  # the month the page looks from
    backtest_month: date
    weights: dict
    accounts: pd.DataFrame  # one row per account, lowest score first (columns: see build)
    series: np.ndarray  # accounts x 12 months: the score month by month (oldest first), row-aligned
    months: list  # the 12 months of ``series``
    portfolio: pd.DataFrame  # month, mean score, accounts below 40
    typical_rhythm: tuple  # (interval, spread) in days the accounts with few purchase days are held to
    backtest: dict  # auc, bands (health.band_table), accounts, lost, as_of
    categories: list
    gaps: pd.DataFrame  # the largest whitespace gaps: customer_id, name, name_zh, category, status, value
    heat: pd.DataFrame  # accounts x categories: whitespace value (buying = NaN), HEAT_ACCOUNTS accounts
    heat_status: pd.DataFrame  # the same cells' status (whitespace.BUYING/NEVER/STOPPED)
    whitespace_total: float
    whitespace_by_category: pd.DataFrame  # category, never, stopped, total: the accounts' gaps, largest first
    actions: pd.DataFrame  # next best actions ranked by money
    forecast: pd.DataFrame  # per manager and in total: h, mean, lo, hi
    forecast_model: str  # "fit" or "run_rate"
    forecast_backtest: dict  # forecast, actual, months
    has_fit: bool
    has_categories: bool


def build(engine, filters: Filters, fit: dict | None = None, weights: dict | None = None,
          plan_status: dict | None = None) -> MyAccountsView | None:
    """The page's data for ``filters``; None when the data has no month. ``plan_status``:
    customer_id -> status of its account plan (``analytics.account.plan_status``)."""
    now = now_month(engine, filters)
    if now is None:
        return None
    weights = health.check_weights(weights or health.WEIGHTS_DEFAULT)
    h = _held(engine, now, fit, filters.scope)
    keys = engine.keys
    plan_status = plan_status or {}
    rk = _ranked(engine, h, weights, plan_status, fit is not None)
    keep = engine.customer_mask(filters) if filters.restricts_customers() else None
    if keep is None and rk.everyone is not None:  # every account: the view as made the first time
        return _shallow(rk.everyone)
    if keep is None:  # every account: the table as made
        sel, idx = None, rk.pos
        acc, series, actions = rk.accounts.copy(deep=False), rk.series, rk.actions.copy(deep=False)
    else:  # a filter keeps rows of the tables made once per set of weights (their order stays)
        sel = keep[rk.pos]
        idx = rk.pos[sel]
        rows = np.flatnonzero(sel)
        acc = rk.accounts.take(rows).reset_index(drop=True)
        series = rk.series[rows]
        actions = rk.actions.take(np.flatnonzero(keep[rk.action_pos])).reset_index(drop=True)
    months = [add_months(now, -j) for j in range(LAGS - 2, -1, -1)]
    has = np.isfinite(series)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(has, series, 0.0).sum(axis=0) / has.sum(axis=0)
    portfolio = pd.DataFrame({"month": pd.to_datetime(months), "score": mean,
                              "accounts": has.sum(axis=0), "below_40": (series < 40).sum(axis=0)})
    backtest = _backtest(h, rk, keep, now)
    cats = list(h.cats)
    codes = engine.attribute_codes()
    gaps, heat, heat_status, ws_total = _whitespace(h, keys, codes, idx, cats)
    by_category = _whitespace_by_category(h, idx, cats)
    forecast = _forecast(rk, sel)
    fb = h.bt_population & (keep if keep is not None else True)
    out = MyAccountsView(
        now=now, backtest_month=add_months(now, -BACKTEST_LAG), weights=weights, accounts=acc,
        typical_rhythm=tuple(float(x) for x in h.typical),
        series=series, months=months, portfolio=portfolio, backtest=backtest, categories=cats,
        gaps=gaps, heat=heat, heat_status=heat_status, whitespace_total=ws_total,
        whitespace_by_category=by_category, actions=actions,
        forecast=forecast, forecast_model="fit" if fit is not None else "run_rate",
        forecast_backtest={"forecast": float(h.bt_mean[fb].sum()), "actual": float(h.bt_actual[fb].sum()),
                           "months": BACKTEST_LAG, "start": add_months(now, -BACKTEST_LAG + 1), "end": now},
        has_fit=fit is not None, has_categories=bool(cats))
    if keep is None:
        rk.everyone = out
        return _shallow(out)
    return out


def _shallow(v: MyAccountsView) -> MyAccountsView:
    """``v`` with its own frames (sharing their data until written: copy on write)."""
    return replace(v, **{f: getattr(v, f).copy(deep=False) for f in v.__dataclass_fields__
                         if isinstance(getattr(v, f), pd.DataFrame)},
                   backtest={**v.backtest, "bands": v.backtest["bands"].copy(deep=False)})


class Ranked:
    """Every account (an order in the ELIGIBLE_MONTHS up to "now") for one set of weights and
    plan statuses, lowest score first (no score last, ties by customer key): the page's tables
    before any filter, made once; a filter keeps some of their rows in the same order, which is
    the order the filtered accounts have on their own."""

    def __init__(self, **values):
        self.__dict__.update(values)


RANKED_KEPT = 2  # sets of weights and plan statuses held per "now" (not counted in nbytes)


def _ranked(engine, h: Held, weights: dict, plan_status: dict, has_fit: bool) -> Ranked:
    key = (tuple(sorted(weights.items())), tuple(sorted(plan_status.items())), has_fit)
    got = h.ranked.get(key)
    if got is None:
        if len(h.ranked) >= RANKED_KEPT:
            h.ranked.clear()
        got = h.ranked[key] = _rank(engine, h, weights, plan_status, has_fit)
    return got


def _rank(engine, h: Held, weights: dict, plan_status: dict, has_fit: bool) -> Ranked:
    keys = engine.keys
    idx = np.flatnonzero(h.eligible[0])
    plan_all = _plan_scores(keys, plan_status)
    w = np.array([weights[c] for c in DATA_COMPONENTS], dtype=np.float32)
    num, den = _weighted(h, w)  # (LAGS, n): the data components' weighted sums, every customer
    plan = plan_all[idx]
    has_plan = np.isfinite(plan) & (weights["plan"] > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.where(den[0, idx] + has_plan * weights["plan"] > 0,
                         (num[0, idx] + np.where(has_plan, plan, 0.0) * weights["plan"])
                         / (den[0, idx] + has_plan * weights["plan"]), np.nan)
    # lowest score first (no score last), ties by customer_id (idx is in customer_id order)
    order = np.argsort(np.nan_to_num(score, nan=101.0), kind="stable")
    idx, score, plan = idx[order], score[order], plan[order]
    comps = components_at(h, 0, idx)
    comps["plan"] = plan
    weak = health.weakest(comps, weights)
    with np.errstate(divide="ignore", invalid="ignore"):
        series = (num[LAGS - 2::-1, idx] / den[LAGS - 2::-1, idx]).T  # 12 months, oldest first
    ids = keys.ids.take(idx)
    codes = engine.attribute_codes()
    attrs = {c: codes[c].take(idx) for c in ("name", "name_zh", "account_manager", "customer_type")}
    cols = {"customer_id": ids, **attrs, "score": score, **{c: comps[c] for c in health.COMPONENTS},
            "weakest": pd.Categorical.from_codes(weak, health.COMPONENTS)}  # -1: none (missing)
    first = h.first_day[idx]
    cols.update({
        "days_since": h.days_since[idx], "mean_gap": h.mean_gap[idx], "sd_gap": h.sd_gap[idx],
        "late": h.late[idx], "purchase_days": h.days[idx],
        # the interval the rhythm is judged against: the account's own, else the usual account's
        "usual_gap": np.where(h.days[idx] >= health.MIN_PURCHASE_DAYS, h.mean_gap[idx], h.typical[0]),
        "first_order": columns.to_datetime64(np.where(first == health.NO_DAY, columns.NO_DATE, first).astype(np.int32)),
        "revenue_12m": h.l12_revenue[idx], "revenue_prev_12m": h.rev_prev12[idx],
        **{f"{c}_12m": getattr(h, f"l12_{c}")[idx] for c in ("gross_profit", "account_profit", "discount", "returns",
                                                              "cost_to_serve")},
        "gross_margin_12m": h.gm_now[idx], "gross_margin_prev_12m": h.gm_before[idx],
        "categories_12m": h.n_cat[idx], "categories_prev_12m": h.n_cat_before[idx],
        "causes": _causes(h, idx),
        **_best_gap(h, idx),
        "plan_status": _plan_status(keys, plan_status, idx),
    })
    for i, m in enumerate(fc.HORIZONS):
        mean = h.fc_mean[i, idx]
        lo, hi = fc.band(mean, h.fc_var[i, idx])
        cols.update({f"forecast_{m}m": mean, f"forecast_{m}m_lo": lo, f"forecast_{m}m_hi": hi})
    acc = pd.DataFrame(cols)
    actions, action_rows = _actions(acc, has_fit, plan_status)
    # the backtest: every account of its population with a score then, highest score first
    # (``_backtest`` ranks a filter's accounts from it without sorting again)
    pop = np.flatnonzero(h.bt_population)
    with np.errstate(divide="ignore", invalid="ignore"):
        s = (num[BACKTEST_LAG, pop] / den[BACKTEST_LAG, pop]).astype(float)
    ok = np.isfinite(s)
    pop, s = pop[ok], s[ok]
    down = np.argsort(-s, kind="stable")
    series = np.ascontiguousarray(series)  # a filter takes rows of it
    series.setflags(write=False)  # handed to every unfiltered view
    return Ranked(pos=idx, accounts=acc, series=series, actions=actions, action_pos=idx[action_rows],
                  bt_pos=pop[down], bt_score=s[down],
                  fc=np.ascontiguousarray(np.concatenate([h.fc_mean[:, idx], h.fc_var[:, idx]])), managers=attrs["account_manager"],
                  manager_code=np.where(attrs["account_manager"].codes < 0, len(attrs["account_manager"].categories),
                                        attrs["account_manager"].codes).astype(np.int64),
                  everyone=None)


ONE_PAGER_GAPS = 3  # whitespace categories on the account one-pager


@dataclass(frozen=True)
class AccountHealth:
    """One account as the My accounts page sees it (the account one-pager's lines)."""

    now: date
    row: pd.Series  # the account's row of MyAccountsView.accounts
    typical_rhythm: tuple
    gaps: pd.DataFrame  # its largest whitespace gaps (value > 0): category, status, value; largest first


def account_health(engine, customer_id: str, end: date | None, fit: dict | None = None,
                   weights: dict | None = None, plan_status: dict | None = None,
                   scope: tuple | None = None) -> AccountHealth | None:
    """The health score, its row and the ONE_PAGER_GAPS largest whitespace gaps of one account
    for the period ending ``end``, computed as the page computes them (the same weights, fit,
    plans and scope give the same numbers); None when it is not one of the page's accounts
    (no order in the ELIGIBLE_MONTHS up to then)."""
    f = Filters(end=end, customer_ids=(customer_id,), scope=scope)
    v = build(engine, f, fit, weights, plan_status)
    if v is None or not len(v.accounts):
        return None
    h = _held(engine, v.now, fit, scope)
    pos = int(np.searchsorted(engine.keys.customer_id, customer_id))
    gaps = pd.DataFrame(columns=["category", "status", "value"])
    if len(h.cats):
        value, status = h.ws_value[pos], h.ws_status[pos]
        order = [c for c in np.argsort(-value, kind="stable") if value[c] > 0][:ONE_PAGER_GAPS]
        gaps = pd.DataFrame({"category": [h.cats[c] for c in order],
                             "status": ["stopped" if status[c] == whitespace.STOPPED else "never" for c in order],
                             "value": value[order].astype(float)})
    return AccountHealth(now=v.now, row=v.accounts.iloc[0], typical_rhythm=v.typical_rhythm, gaps=gaps)


def _plan_scores(keys, plan_status: dict) -> np.ndarray:
    """Per customer key: the plan component (``health.plan_score`` of its plan's status), NaN
    without a plan."""
    out = np.full(keys.n, np.nan)
    if plan_status:
        ids = np.asarray(list(plan_status), dtype=object)
        pos = np.searchsorted(keys.customer_id, ids)
        ok = pos < keys.n
        ok[ok] = keys.customer_id[pos[ok]] == ids[ok]
        out[pos[ok]] = [health.plan_score(plan_status[c]) for c in ids[ok]]
    return out


def components_at(h: Held, lag: int, idx: np.ndarray) -> dict[str, np.ndarray]:
    """The data components (DATA_COMPONENTS) of the customers at ``idx``, ``lag`` months before
    "now", NaN where an account has none."""
    return {c: np.where(h.has[lag, idx, i] > 0, h.filled[lag, idx, i], np.nan).astype(float)
            for i, c in enumerate(DATA_COMPONENTS)}


def _weighted(h: Held, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Σ weight x component, Σ weight over the components each account has) per month and
    customer (LAGS x n): ``health.combine`` of the data components is their ratio, computed
    for every customer at once as two matrix-vector products."""
    key = tuple(w.tolist())
    got = h.weighted.get(key)
    if got is None:  # made once per set of weights (they change by hand, the filters often)
        lags, n, k = h.filled.shape
        got = (h.filled.reshape(-1, k) @ w).reshape(lags, n), (h.has.reshape(-1, k) @ w).reshape(lags, n)
        if len(h.weighted) >= 2:  # two sets at most (not counted in nbytes)
            h.weighted.clear()
        h.weighted[key] = got
    return got


def _plan_status(keys, plan_status: dict, idx: np.ndarray) -> pd.Categorical:
    """The plan status of the accounts at ``idx`` (missing without a plan)."""
    from kamdash.analytics.account import STATUSES

    kinds = (*STATUSES, "no_goals")
    codes = np.full(keys.n, -1, dtype=np.int8)
    if plan_status:
        ids = np.asarray(list(plan_status), dtype=object)
        pos = np.searchsorted(keys.customer_id, ids)
        ok = pos < keys.n
        ok[ok] = keys.customer_id[pos[ok]] == ids[ok]
        codes[pos[ok]] = [kinds.index(plan_status[c]) if plan_status[c] in kinds else -1 for c in ids[ok]]
    return pd.Categorical.from_codes(codes[idx], kinds)


def _backtest(h: Held, rk: Ranked, keep, now: date) -> dict:
    """AUC, score bands and means of the backtest over the accounts ``keep`` selects (None:
    all): the population's scores as ``rk`` holds them (highest first), so the ranks with
    ties (``health.auc``'s) come from one pass over the kept ones."""
    if keep is None:
        s, lost = rk.bt_score, h.lost[rk.bt_pos]
    else:
        k = keep[rk.bt_pos]
        s, lost = rk.bt_score[k], h.lost[rk.bt_pos[k]]
    return {"auc": _auc_sorted(s, lost), "bands": health.band_table(s, lost), "accounts": int(len(s)),
            "lost": int(lost.sum()), "as_of": add_months(now, -BACKTEST_LAG),
            "lost_mean": float(s[lost].mean()) if lost.any() else float("nan"),
            "kept_mean": float(s[~lost].mean()) if (~lost).any() else float("nan")}


def _auc_sorted(score: np.ndarray, lost: np.ndarray) -> float:
    """``health.auc`` of scores sorted from highest to lowest: rank i + 1 for the i-th, the mean
    rank of its run of equal scores for a tie."""
    n1 = int(lost.sum())
    n0 = len(score) - n1
    if n1 == 0 or n0 == 0:
        return float("nan")
    starts = np.flatnonzero(np.r_[True, score[1:] != score[:-1]])
    sizes = np.diff(np.r_[starts, len(score)])
    rank = np.repeat(starts + (sizes + 1) / 2.0, sizes)  # mean of ranks start+1 .. start+size
    return float((rank[lost].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _best_gap(h: Held, idx: np.ndarray) -> dict:
    """Each account's largest whitespace gap: whitespace_best (expected yearly revenue, 0 when
    none), whitespace_best_category, whitespace_best_status (never / stopped)."""
    if not len(h.cats):
        none = np.full(len(idx), -1)
        return {"whitespace_best": np.zeros(len(idx)), "whitespace_best_category": pd.Categorical.from_codes(none, []),
                "whitespace_best_status": pd.Categorical.from_codes(none, GAP_KINDS)}
    col = h.ws_best[idx]
    value = h.ws_value[idx, col]
    status = h.ws_status[idx, col]
    return {"whitespace_best": value,
            "whitespace_best_category": pd.Categorical.from_codes(np.where(value > 0, col, -1), list(h.cats)),
            "whitespace_best_status": pd.Categorical.from_codes(
                np.where(value <= 0, -1, (status == whitespace.STOPPED).astype(int)), GAP_KINDS)}


def _whitespace(h: Held, keys, codes, idx, cats):
    """(the TOP_GAPS largest gaps of the accounts at ``idx``, the heat map's values and statuses
    for the HEAT_ACCOUNTS accounts with the most whitespace, the accounts' whitespace total)."""
    empty = pd.DataFrame(columns=["customer_id", "name", "name_zh", "account_manager", "category", "status", "value"])
    if not cats or not len(idx):
        return empty, pd.DataFrame(), pd.DataFrame(), 0.0
    k = len(cats)
    sel = np.zeros(keys.n, dtype=bool)
    sel[idx] = True
    # the cells are ranked once per "now": read them in growing chunks until TOP_GAPS are kept
    cells, lo, step = [], 0, 4 * TOP_GAPS
    while lo < len(h.ws_order) and sum(map(len, cells)) < TOP_GAPS:
        part = h.ws_order[lo:lo + step]
        cells.append(part[sel[h.ws_key[lo:lo + step]]])
        lo, step = lo + step, step * 4
    cells = np.concatenate(cells)[:TOP_GAPS] if cells else np.zeros(0, dtype=np.int64)
    key, col = np.divmod(cells, k)
    gaps = pd.DataFrame({"customer_id": keys.ids.take(key),
                         **{c: codes[c].take(key) for c in ("name", "name_zh", "account_manager")},
                         "category": np.asarray(cats, dtype=object)[col],
                         "status": np.where(h.ws_status[key, col] == whitespace.STOPPED, "stopped", "never"),
                         "value": h.ws_value[key, col]})
    per = h.ws_per[idx]
    n = min(HEAT_ACCOUNTS, int((per > 0).sum()))
    top = np.argpartition(-per, n - 1)[:n] if n else np.zeros(0, dtype=np.int64)
    rows = idx[top[np.lexsort((idx[top], -per[top]))]]
    names = [str(c) for c in keys.ids.take(rows)]
    status = h.ws_status[rows]
    heat = pd.DataFrame(np.where(status == whitespace.BUYING, np.nan, h.ws_value[rows]), index=names, columns=cats)
    return gaps, heat, pd.DataFrame(status, index=names, columns=cats), float(per.sum())


def _whitespace_by_category(h: Held, idx: np.ndarray, cats: list) -> pd.DataFrame:
    """Per category, the expected yearly revenue of the gaps of the accounts at ``idx``: never
    bought, stopped buying, both (largest total first, ties by category)."""
    value, status = h.ws_value[idx], h.ws_status[idx]
    never = np.where(status == whitespace.NEVER, value, 0.0).sum(axis=0)
    stopped = np.where(status == whitespace.STOPPED, value, 0.0).sum(axis=0)
    out = pd.DataFrame({"category": pd.Series(cats, dtype=object), "never": never, "stopped": stopped,
                        "total": never + stopped})
    return out.sort_values(["total", "category"], ascending=[False, True], kind="stable").reset_index(drop=True)


def _actions(acc: pd.DataFrame, has_fit: bool, plan_status: dict) -> tuple[pd.DataFrame, np.ndarray]:
    """Next best actions, one list ranked by money (``value``): call (later than its rhythm by
    more than CALL_LATE_SPREADS spreads; value at risk = revenue of the last 12 months x (1 −
    P(alive)) with a fit, else x (1 − rhythm / 100)), offer (the account's largest whitespace
    gap: its expected yearly revenue), terms (account profit of the last 12 months below 0:
    the loss, with its causes against its peers, ``losses.causes``), plan (plan off track:
    revenue of the last 12 months). Also the row of ``acc`` of each action."""
    col = lambda c: acc[c].to_numpy()  # noqa: E731
    rev, late, ap = col("revenue_12m"), col("late"), col("account_profit_12m")
    risk = (1 - col("p_alive") / 100) if has_fit else (1 - col("rhythm") / 100)
    best = col("whitespace_best")
    parts = [  # (kind, rows, money per row of acc)
        ("call", np.flatnonzero((late > CALL_LATE_SPREADS) & (rev > 0)), rev * np.nan_to_num(risk)),
        ("offer", np.flatnonzero(best > 0), best),
        ("terms", np.flatnonzero(ap < 0), -ap),
    ]
    if plan_status:
        parts.append(("plan", np.flatnonzero(col("plan_status") == "off_track"), rev))
    kind = np.concatenate([np.full(len(r), i, dtype=np.int8) for i, (_, r, _) in enumerate(parts)])
    rows = np.concatenate([r for _, r, _ in parts]).astype(np.int64)
    value = np.concatenate([v[r] for _, r, v in parts]).astype(float)
    offer, call, terms = kind == 1, kind == 0, kind == 2
    ok = value > 0
    kind, rows, value, offer, call, terms = kind[ok], rows[ok], value[ok], offer[ok], call[ok], terms[ok]
    order = np.lexsort((rows, -value))  # rows are in score order: ties by the lower score first
    kind, rows, value, offer, call, terms = (a[order] for a in (kind, rows, value, offer, call, terms))
    take = lambda c: acc[c].array.take(rows)  # noqa: E731

    def text(c, where):  # the column's values on the rows of one kind of action, missing elsewhere
        cat = acc[c].array
        return pd.Categorical.from_codes(np.where(where, cat.codes[rows], -1), cat.categories)

    return pd.DataFrame({
        "kind": pd.Categorical.from_codes(kind, [k for k, _, _ in parts]), "customer_id": take("customer_id"), "name": take("name"), "name_zh": take("name_zh"),
        "account_manager": take("account_manager"), "value": value,
        "category": text("whitespace_best_category", offer), "status": text("whitespace_best_status", offer),
        "days_since": np.where(call, col("days_since")[rows], np.nan),
        "usual_gap": np.where(call, col("usual_gap")[rows], np.nan),
        "causes": text("causes", terms)}), rows


def _loss_causes(engine, last12: dict, within: np.ndarray | None = None) -> np.ndarray:
    """Per customer key and cause (``losses.CAUSES``): what its loss of the last 12 months owes
    to the cause beyond its peers (``losses.causes``: the customers of its customer type, every
    customer with sales in those months, whatever the filters, within the scope ``within``
    when given); NaN for customers without a loss."""
    keys = engine.keys
    out = np.full((keys.n, len(LOSS_CAUSES)), np.nan, dtype=np.float32)
    active = (last12["revenue"] != 0) | (last12["cost_to_serve"] != 0)
    active = np.flatnonzero(active if within is None else active & within)
    loss = last12["account_profit"][active] < 0
    if not loss.any():
        return out
    kind = engine.attribute_codes()["customer_type"].take(active)
    facts = pd.DataFrame({"customer_id": np.arange(len(active)).astype(str), "customer_type": kind,
                          **{c: last12[c][active] for c in ("revenue", "gross_profit", "discount", "returns",
                                                            "cost_to_serve", "account_profit")}})
    got = losses.causes(facts, accounts=facts["customer_id"][loss].tolist())
    out[active[loss]] = got[[f"cause_{c}" for c in LOSS_CAUSES]].to_numpy()
    return out


def _causes(h: Held, idx: np.ndarray) -> pd.Categorical:
    """Per account at ``idx``: the causes of its loss with a positive amount, largest first,
    comma-separated (missing without a loss or without a positive cause)."""
    if not len(idx):
        return pd.Categorical.from_codes(np.zeros(0, dtype=np.int64), [])
    c = h.loss_causes[idx].astype(float)
    order = np.argsort(-np.nan_to_num(c, nan=-np.inf), axis=1, kind="stable")
    positive = np.take_along_axis(np.nan_to_num(c, nan=-1.0), order, axis=1) > 0
    k = len(LOSS_CAUSES)
    # one code per distinct (order, positive) pair: the text is made once per pair
    code = (order * (k ** np.arange(k))).sum(axis=1) * (2 ** k) + (positive * (2 ** np.arange(k))).sum(axis=1)
    _, first, inv = np.unique(code, return_index=True, return_inverse=True)
    texts = [",".join(LOSS_CAUSES[o] for o, p in zip(order[i], positive[i]) if p) for i in first]
    names, of_text = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
    codes = of_text[inv.reshape(-1)]
    if names[0] == "":  # sorted: "" first; it is missing
        names, codes = names[1:], codes - 1
    return pd.Categorical.from_codes(codes, list(names))


def _forecast(rk: Ranked, sel) -> pd.DataFrame:
    """Per horizon: the total (account_manager missing) and each manager's accounts among the
    rows ``sel`` keeps of ``rk`` (None: all): forecast and 80% band (variances added).
    Columns: account_manager, months, forecast, lo, hi."""
    managers = rk.managers
    k = len(managers.categories)
    code, f = rk.manager_code, rk.fc  # no manager: code k
    if sel is not None:
        rows = np.flatnonzero(sel)
        code, f = code[rows], f.take(rows, axis=1)
    shown = np.flatnonzero(np.bincount(code, minlength=k + 1)[:k])
    names = list(managers.categories[shown])
    h = len(fc.HORIZONS)
    out = {"account_manager": [], "months": [], "forecast": [], "lo": [], "hi": []}
    for i, m in enumerate(fc.HORIZONS):
        mean, var = f[i], f[h + i]
        sm = np.bincount(code, weights=mean, minlength=k + 1)[shown]
        sv = np.bincount(code, weights=var, minlength=k + 1)[shown]
        t = fc.total(mean, var)
        lo, hi = fc.band(sm, sv)
        out["account_manager"] += [None, *names]
        out["months"] += [m] * (len(shown) + 1)
        out["forecast"] += [t[0], *sm]
        out["lo"] += [t[1], *lo]
        out["hi"] += [t[2], *hi]
    return pd.DataFrame(out)
