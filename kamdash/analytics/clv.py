"""Customer lifetime value: BG/NBD or Pareto/NBD for repeat purchases, Gamma-Gamma for spend.

Fitting uses **PyMC-Marketing** (``fit``; imported only there, so showing a persisted fit never
loads PyMC). Priors are flat (``HalfFlat``) and the fit is the maximum a posteriori point, which
with flat priors is the maximum-likelihood estimate: on the CDNOW sample it reproduces the
published BG/NBD MLE (tests/test_clv.py). A fit is a small JSON-able dict (parameters, their
covariance on the log scale, log-likelihood, counts) that the caller persists.

Uncertainty is a **Laplace approximation**: the inverse Hessian of the negative log-likelihood
at the MLE, on the log scale of the parameters, gives their covariance; intervals of CLV and of
customer equity follow by the delta method on log CLV (so they stay positive). They express how
uncertain the population parameters are, not how much one customer's future may vary.

Predictions (P(alive), expected purchases, expected spend) are the closed forms of Fader, Hardie
& Lee, in numpy: the same formulas PyMC-Marketing evaluates (tests compare both), vectorised and
without compiling anything.

Inputs: an RFM frame from ``Engine.rfm_summary`` (customer_id, frequency, recency, T,
monetary_value, ...). Time is in the fit's ``time_unit`` (``W`` weeks or ``D`` days).
"""

from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
from scipy.special import expit, gammaln, hyp2f1, logsumexp

MODELS = ("bgnbd", "pnbd")
PARAM_NAMES = {"bgnbd": ("r", "alpha", "a", "b"), "pnbd": ("r", "alpha", "s", "beta"),
               "gg": ("p", "q", "v")}
DAYS_PER_MONTH = 365.25 / 12
UNIT_DAYS = {"D": 1.0, "W": 7.0}
HORIZON_MONTHS_DEFAULT = 12
ANNUAL_DISCOUNT_DEFAULT = 0.10
INTERVAL_LEVEL = 0.90
MIN_REPEAT_BUYERS = 100  # fewer repeat buyers than this: the fit is not to be trusted
MIN_REPEAT_SHARE = 0.10  # ... or fewer than 10% of customers bought again
# The at-risk rule (``at_risk``), its thresholds declared here once:
AT_RISK_TOP_SHARE = 0.20  # "high value": the top 20% of accounts by value at stake
AT_RISK_SLIPPING = (0.3, 0.8)  # "slipping": P(alive) in [0.3, 0.8)
AT_RISK_OVERDUE_FACTOR = 3.0  # "overdue": silent for more than 3 × the account's own interval
# (with gaps spread like a Poisson process's, a gap that long happens about 5% of the time)
AT_RISK_LOST_P_ALIVE = 0.3  # "already lost": P(alive) below this ...
AT_RISK_LOST_SILENT_DAYS = 365  # ... or no order for more than a year


class FitError(ValueError):
    """The data cannot be fitted (too few customers or repeat buyers): said for a person."""


# ---------------------------------------------------------------- fitting (PyMC-Marketing)


def _laplace(model, names: tuple[str, ...], params: dict, step: float = 1e-4):
    """Covariance of the log-parameters (inverse Hessian of −log-likelihood at the MLE) and the
    log-likelihood there. With HalfFlat priors the model's log-density without the Jacobian is
    the log-likelihood. The Hessian is taken by central differences of the compiled
    log-likelihood (one small compile, far faster than a symbolic second derivative)."""
    m = model.model
    logp = m.compile_logp(jacobian=False)
    keys = [f"{n}_log__" for n in names]
    theta = np.array([np.log(params[n]) for n in names])

    def f(v):
        return float(logp(dict(zip(keys, v))))

    k = len(theta)
    hess = np.zeros((k, k))
    eye = np.eye(k) * step
    for i in range(k):
        for j in range(i, k):
            val = (f(theta + eye[i] + eye[j]) - f(theta + eye[i] - eye[j])
                   - f(theta - eye[i] + eye[j]) + f(theta - eye[i] - eye[j])) / (4 * step * step)
            hess[i, j] = hess[j, i] = -val
    cov = np.linalg.pinv(hess)
    return cov.tolist(), f(theta)


def _map_params(model, names) -> dict:
    post = model.fit_result
    return {n: float(np.asarray(post[n]).reshape(-1)[0]) for n in names}


def fit_transactions(rfm: pd.DataFrame, model: str = "bgnbd") -> dict:
    """Fit BG/NBD (``bgnbd``) or Pareto/NBD (``pnbd``) to ``rfm`` by maximum likelihood.

    Returns {model, params, log_cov, loglik, customers, repeat_buyers}.
    """
    from pymc_extras.prior import Prior
    from pymc_marketing.clv import BetaGeoModel, ParetoNBDModel

    if model not in MODELS:
        raise ValueError(f"unknown model {model!r} (choose from {', '.join(MODELS)})")
    if len(rfm) < 10:
        raise FitError(f"only {len(rfm)} customers: too few to fit a model")
    names = PARAM_NAMES[model]
    data = rfm[["customer_id", "frequency", "recency", "T"]].copy()
    data["frequency"] = data["frequency"].astype(float)
    cls = BetaGeoModel if model == "bgnbd" else ParetoNBDModel
    m = cls(model_config={n: Prior("HalfFlat") for n in names})
    m.fit(data=data, method="map", progressbar=False)
    params = _map_params(m, names)
    log_cov, loglik = _laplace(m, names, params)
    return {"model": model, "params": params, "log_cov": log_cov, "loglik": loglik,
            "customers": int(len(rfm)), "repeat_buyers": int((rfm["frequency"] > 0).sum())}


def spend_data(rfm: pd.DataFrame) -> pd.DataFrame:
    """Customers the Gamma-Gamma model learns from: repeat buyers with a positive mean repeat
    spend (returns and credit notes are netted into their day; zero/negative days are not
    purchases)."""
    keep = (rfm["frequency"] > 0) & (rfm["monetary_value"] > 0)
    return rfm.loc[keep, ["customer_id", "frequency", "monetary_value"]].reset_index(drop=True)


def fit_spend(rfm: pd.DataFrame) -> dict | None:
    """Gamma-Gamma fit (MLE) on repeat buyers; None when there are too few to fit."""
    from pymc_marketing.clv import GammaGammaModel

    data = spend_data(rfm)
    if len(data) < 10:
        return None
    data = data.assign(frequency=data["frequency"].astype(float))
    m = GammaGammaModel()  # its defaults are HalfFlat priors: MAP = MLE
    m.fit(data=data, method="map", progressbar=False)
    names = PARAM_NAMES["gg"]
    params = _map_params(m, names)
    log_cov, loglik = _laplace(m, names, params)
    return {"params": params, "log_cov": log_cov, "loglik": loglik, "customers": int(len(data))}


def fit(rfm: pd.DataFrame, model: str = "bgnbd", time_unit: str = "W") -> dict:
    """Both fits (transactions and spend) as one persisted record."""
    import pymc_marketing

    t0 = time.perf_counter()
    out = fit_transactions(rfm, model)
    out["spend"] = fit_spend(rfm)
    out["time_unit"] = time_unit
    out["library"] = f"pymc-marketing {pymc_marketing.__version__}"
    out["method"] = "MAP with flat priors (= maximum likelihood); Laplace approximation"
    out["seconds"] = round(time.perf_counter() - t0, 2)
    return out


def trust(fit_or_rfm) -> dict:
    """Whether there are enough repeat buyers to trust a fit: {ok, repeat_buyers, customers}."""
    if isinstance(fit_or_rfm, dict):
        n, k = fit_or_rfm["customers"], fit_or_rfm["repeat_buyers"]
    else:
        n, k = len(fit_or_rfm), int((fit_or_rfm["frequency"] > 0).sum())
    ok = k >= MIN_REPEAT_BUYERS and (n == 0 or k / n >= MIN_REPEAT_SHARE)
    return {"ok": bool(ok), "repeat_buyers": int(k), "customers": int(n)}


# ---------------------------------------------------------------- closed-form predictions


def _arr(rfm: pd.DataFrame):
    return (rfm["frequency"].to_numpy(float), rfm["recency"].to_numpy(float),
            rfm["T"].to_numpy(float))


def bgnbd_p_alive(p: dict, x, t_x, T):
    """BG/NBD P(alive | x, t_x, T) (Fader, Hardie & Lee 2008); 1 for customers with x = 0."""
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    log_div = (r + x) * np.log((alpha + T) / (alpha + t_x)) + np.log(a / (b + np.maximum(x, 1) - 1))
    return np.where(x == 0, 1.0, expit(-log_div))


def distinct_pairs(x, T) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray]:
    """((x, T) of each distinct pair, positions of every customer's pair): the BG/NBD
    hypergeometric term depends on x and T only, and customers share far fewer pairs than they
    are (frequency is a count, T a number of days: 36k pairs for 190k customers at 10M order
    lines), so it is evaluated once per pair (``bgnbd_expected(..., pairs=)``)."""
    keys = np.empty(np.shape(x), dtype=np.complex128)  # one hashable number per pair
    keys.real, keys.imag = x, T
    inverse, uniq = pd.factorize(keys)
    return (uniq.real, uniq.imag), inverse


def _bgnbd_num(p: dict, t, x, T):
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    num = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1,
                                                                   t / (alpha + T + t))
    return num * (a + b + x - 1) / (a - 1)


def bgnbd_expected(p: dict, t, x, t_x, T, pairs=None):
    """BG/NBD expected purchases in (T, T + t] given x, t_x, T. ``pairs``: ``distinct_pairs(x,
    T)``, to evaluate the hypergeometric term once per distinct (x, T) (the same numbers)."""
    if pairs is None:
        num = _bgnbd_num(p, t, x, T)
    else:
        (ux, uT), inverse = pairs
        num = _bgnbd_num(p, t, ux, uT)[inverse]
    return num / _bgnbd_den(p, x, t_x, T)


def _bgnbd_den(p: dict, x, t_x, T):
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    return 1 + (x > 0) * (a / (b + x - 1)) * ((alpha + T) / (alpha + t_x)) ** (r + x)


def bgnbd_new(p: dict, t):
    """BG/NBD expected purchases of a new customer in (0, t]."""
    r, alpha, a, b = p["r"], p["alpha"], p["a"], p["b"]
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r
                                    * hyp2f1(r, b, a + b - 1, t / (alpha + t)))


def _pnbd_log_a0(p: dict, x, t_x, T):
    r, alpha, s, beta = p["r"], p["alpha"], p["s"], p["beta"]
    if alpha < beta:
        lo, hi, tt = alpha, beta, r + x
    else:
        lo, hi, tt = beta, alpha, s + 1
    rsx = r + s + x
    p1 = hyp2f1(rsx, tt, rsx + 1.0, (hi - lo) / (hi + t_x))
    p2 = hyp2f1(rsx, tt, rsx + 1.0, (hi - lo) / (hi + T))
    q1, q2 = hi + t_x, hi + T
    ones = np.ones_like(np.asarray(x, float))
    return logsumexp([np.log(p1) + rsx * np.log(q2), np.log(p2) + rsx * np.log(q1)], axis=0,
                     b=[ones, -ones]) - rsx * np.log(q1 * q2)


def pnbd_loglik(p: dict, x, t_x, T):
    """Pareto/NBD log-likelihood per customer (Fader & Hardie 2005 note)."""
    r, alpha, s, beta = p["r"], p["alpha"], p["s"], p["beta"]
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    a2 = np.logaddexp(-(r + x) * np.log(alpha + T) - s * np.log(beta + T),
                      np.log(s) + _pnbd_log_a0(p, x, t_x, T) - np.log(r + s + x))
    return a1 + a2


def pnbd_p_alive(p: dict, x, t_x, T):
    r, alpha, s, beta = p["r"], p["alpha"], p["s"], p["beta"]
    a0 = _pnbd_log_a0(p, x, t_x, T)
    return 1.0 / (1.0 + np.exp(np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + T)
                               + s * np.log(beta + T) + a0))


def pnbd_expected(p: dict, t, x, t_x, T, loglik=None):
    """Pareto/NBD expected purchases in (T, T + t] given x, t_x, T."""
    r, alpha, s, beta = p["r"], p["alpha"], p["s"], p["beta"]
    ll = pnbd_loglik(p, x, t_x, T) if loglik is None else loglik
    first = (gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
             - (r + x) * np.log(alpha + T) - s * np.log(beta + T))
    second = np.log(r + x) + np.log(beta + T) - np.log(alpha + T)
    third = np.log((1 - ((beta + T) / (beta + T + t)) ** (s - 1)) / (s - 1))
    return np.exp(first + second + third - ll)


def pnbd_new(p: dict, t):
    r, alpha, s, beta = p["r"], p["alpha"], p["s"], p["beta"]
    return r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))


def p_alive(fitres: dict, rfm: pd.DataFrame, params: dict | None = None) -> np.ndarray:
    p = params or fitres["params"]
    fn = bgnbd_p_alive if fitres["model"] == "bgnbd" else pnbd_p_alive
    return fn(p, *_arr(rfm))


def expected_purchases(fitres: dict, rfm: pd.DataFrame, t, params: dict | None = None) -> np.ndarray:
    """Expected purchases of each customer in the next ``t`` time units."""
    p = params or fitres["params"]
    x, t_x, T = _arr(rfm)
    if fitres["model"] == "bgnbd":
        return bgnbd_expected(p, t, x, t_x, T)
    return pnbd_expected(p, t, x, t_x, T)


def expected_new(fitres: dict, t) -> np.ndarray:
    """Expected purchases of a customer in its first ``t`` time units after its first purchase."""
    fn = bgnbd_new if fitres["model"] == "bgnbd" else pnbd_new
    return fn(fitres["params"], np.asarray(t, float))


def expected_spend(spend_fit: dict | None, rfm: pd.DataFrame, params: dict | None = None) -> np.ndarray:
    """Gamma-Gamma expected spend per future purchase: a weighted mean of the customer's own
    mean repeat spend and the population mean. Customers without a positive repeat spend get
    the population mean. Without a spend fit, each customer's own mean (first purchase if no
    repeat)."""
    x = rfm["frequency"].to_numpy(float)
    mv = rfm["monetary_value"].to_numpy(float)
    if spend_fit is None:
        own = np.where(mv > 0, mv, np.maximum(rfm["first_value"].to_numpy(float), 0))
        return own
    p = params or spend_fit["params"]
    pp, q, v = p["p"], p["q"], p["v"]
    pop = v * pp / (q - 1)
    use = (x > 0) & (mv > 0)
    xw = np.where(use, x, 0.0)
    w = pp * xw / (pp * xw + q - 1)
    return (1 - w) * pop + w * np.where(use, mv, 0.0)


# ---------------------------------------------------------------- lifetime value


def monthly_discount(annual_rate: float) -> float:
    return (1 + annual_rate) ** (1 / 12) - 1


def discounted_purchases(fitres: dict, rfm: pd.DataFrame, horizon_months: int, annual_rate: float,
                         params: dict | None = None, pairs=None) -> np.ndarray:
    """Σ over the next ``horizon_months`` months of expected purchases in month k, discounted by
    (1 + d)^k with d the monthly rate equivalent to ``annual_rate`` (PyMC-Marketing's
    ``customer_lifetime_value`` convention). ``pairs``: ``distinct_pairs`` of the customers'
    (frequency, T), when the caller has them (BG/NBD)."""
    unit = UNIT_DAYS[fitres.get("time_unit", "W")]
    d = monthly_discount(annual_rate)
    prev = 0.0
    total = np.zeros(len(rfm))
    x, t_x, T = _arr(rfm)
    p = params or fitres["params"]
    if fitres["model"] == "bgnbd":
        # expected purchases by month t are num(x, T, t) / den(x, t_x, T): the discounted sum
        # is taken over the distinct (x, T) pairs and divided by each customer's den once
        (ux, uT), inverse = pairs if pairs is not None else distinct_pairs(x, T)
        acc = np.zeros(len(ux))
        for k in range(1, int(horizon_months) + 1):
            cum = _bgnbd_num(p, k * DAYS_PER_MONTH / unit, ux, uT)
            acc += (cum - prev) / (1 + d) ** k
            prev = cum
        return acc[inverse] / _bgnbd_den(p, x, t_x, T)
    ll = pnbd_loglik(p, x, t_x, T)
    for k in range(1, int(horizon_months) + 1):
        cum = pnbd_expected(p, k * DAYS_PER_MONTH / unit, x, t_x, T, loglik=ll)
        total += (cum - prev) / (1 + d) ** k
        prev = cum
    return total


def _bumped(params: dict, name: str, h: float) -> dict:
    out = dict(params)
    out[name] = params[name] * math.exp(h)
    return out


def customer_values(fitres: dict, rfm: pd.DataFrame, margins: pd.DataFrame | None = None,
                    horizon_months: int = HORIZON_MONTHS_DEFAULT,
                    annual_rate: float = ANNUAL_DISCOUNT_DEFAULT, margin: float | None = None,
                    cost_to_serve: bool = True, level: float = INTERVAL_LEVEL) -> pd.DataFrame:
    """Per customer: P(alive), expected purchases and spend, CLV with an interval.

    Revenue is modelled from positive repeat purchase days; profit is applied afterwards:
    ``value per purchase = expected spend × margin − cost-to-serve per purchase day``, with
    ``margin`` the given share or (None) each customer's own gross margin to date (from
    ``margins``: customer_id, revenue, gross_profit, cost_to_serve, order_days; clipped to
    [0, 1]), and cost-to-serve per purchase day from the same history when ``cost_to_serve``.
    ``CLV = value per purchase × discounted expected purchases``, kept as ``clv_signed``
    (negative for a customer expected to cost more than it brings, with ``loss_making`` set);
    ``clv`` is it counted at no less than 0, as customer equity and its interval count it.

    Columns out: customer_id, frequency, recency, T, p_alive, expected_purchases, expected_spend,
    margin, cts_per_purchase, value_per_purchase, clv, clv_lo, clv_hi, clv_signed, loss_making, and the
    gradient columns ``g_<param>`` (d CLV / d log param) used for group intervals.
    """
    x, t_x, T = _arr(rfm)
    unit = UNIT_DAYS[fitres.get("time_unit", "W")]
    horizon_t = horizon_months * DAYS_PER_MONTH / unit
    out = pd.DataFrame({"customer_id": rfm["customer_id"].to_numpy(), "frequency": x,
                        "recency": t_x, "T": T})
    out["p_alive"] = p_alive(fitres, rfm)
    pairs = distinct_pairs(x, T) if fitres["model"] == "bgnbd" and len(x) else None
    out["expected_purchases"] = (bgnbd_expected(fitres["params"], horizon_t, x, t_x, T, pairs)
                                 if pairs is not None else expected_purchases(fitres, rfm, horizon_t))
    spend_fit = fitres.get("spend")
    spend = expected_spend(spend_fit, rfm)
    out["expected_spend"] = spend
    if margins is not None and len(margins):
        mg = rfm[["customer_id"]].merge(margins, on="customer_id", how="left").fillna(0.0)
        own = np.where(mg["revenue"] > 0, mg["gross_profit"] / mg["revenue"].where(mg["revenue"] > 0), 0)
        days = mg["order_days"].where(mg["order_days"] > 0)
        cts = np.where(mg["order_days"] > 0, mg["cost_to_serve"] / days, 0)
    else:
        own, cts = np.ones(len(rfm)), np.zeros(len(rfm))
    m = np.clip(own, 0, 1) if margin is None else np.full(len(rfm), float(margin))
    out["margin"] = m
    out["cts_per_purchase"] = cts if cost_to_serve else 0.0
    value = spend * m - out["cts_per_purchase"].to_numpy()
    out["value_per_purchase"] = value
    disc = discounted_purchases(fitres, rfm, horizon_months, annual_rate, pairs=pairs)
    raw = value * disc
    out["loss_making"] = raw < 0
    out["clv_signed"] = raw
    clv = np.maximum(raw, 0.0)
    out["clv"] = clv

    # Laplace approximation + delta method: gradients of CLV w.r.t. the log-parameters.
    h = 1e-5
    pos = (raw > 0).astype(float)
    grads = {}
    for name in PARAM_NAMES[fitres["model"]]:
        bumped = discounted_purchases(fitres, rfm, horizon_months, annual_rate,
                                      _bumped(fitres["params"], name, h), pairs)
        grads[f"g_{name}"] = pos * value * (bumped - disc) / h
    if spend_fit is not None:
        for name in PARAM_NAMES["gg"]:
            s2 = expected_spend(spend_fit, rfm, _bumped(spend_fit["params"], name, h))
            grads[f"g_{name}"] = pos * m * disc * (s2 - spend) / h
    for k, v in grads.items():
        out[k] = v
    var = _variance(fitres, out[list(grads)].to_numpy())
    lo, hi = log_interval(clv, np.sqrt(var), level)
    out["clv_lo"], out["clv_hi"] = lo, hi
    return out


def _cov(fitres: dict) -> np.ndarray:
    tx = np.asarray(fitres["log_cov"], float)
    if fitres.get("spend") is None:
        return tx
    sp = np.asarray(fitres["spend"]["log_cov"], float)
    cov = np.zeros((len(tx) + len(sp),) * 2)
    cov[: len(tx), : len(tx)] = tx
    cov[len(tx):, len(tx):] = sp
    return cov


def _variance(fitres: dict, g: np.ndarray) -> np.ndarray:
    """g'Σg per row of the gradient matrix ``g`` (rows: customers or groups)."""
    cov = _cov(fitres)
    return np.einsum("ij,jk,ik->i", g, cov, g)


def log_interval(value, se, level: float = INTERVAL_LEVEL):
    """Delta-method interval on the log scale: value × exp(±z·se/value); 0 stays 0. When the
    standard error is so many times a (tiny) value that the factor overflows, the upper bound is
    the plain value + z·se (and the lower one 0) instead of infinity."""
    from scipy.stats import norm

    value, se = np.asarray(value, float), np.asarray(se, float)
    z = norm.ppf(0.5 + level / 2)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        f = np.where(value > 0, np.exp(z * se / np.where(value > 0, value, 1)), 1.0)
        hi = value * f
    return value / f, np.where(np.isfinite(hi), hi, value + z * se)


def equity(values: pd.DataFrame, fitres: dict, by: str | None = None,
           level: float = INTERVAL_LEVEL, multi: bool = False) -> pd.DataFrame:
    """Customer equity (Σ CLV) in total (``by`` None) or per value of column ``by``, with its
    interval (parameter uncertainty is shared across customers, so gradients add up first).
    With ``multi``, ``by`` holds comma-separated labels (KA types): a customer counts in each of
    its groups, so the groups overlap and add up to more than the total.
    Columns: [by,] customers, equity, equity_lo, equity_hi; sorted by equity descending."""
    gcols = [c for c in values.columns if c.startswith("g_")]
    if by is None:
        frame = values.assign(_all="all")
        key = "_all"
    elif multi:
        labels = values[by].fillna("").astype(str).str.split(",")
        frame = values.assign(**{by: labels}).explode(by)
        frame = frame[frame[by] != ""]
        key = by
    else:
        frame = values.assign(**{by: values[by].fillna("")})
        key = by
    agg = frame.groupby(key, sort=False).agg(customers=("customer_id", "size"), equity=("clv", "sum"),
                                             **{c: (c, "sum") for c in gcols})
    se = np.sqrt(_variance(fitres, agg[gcols].to_numpy()))
    agg["equity_lo"], agg["equity_hi"] = log_interval(agg["equity"].to_numpy(), se, level)
    agg = agg.drop(columns=gcols).sort_values("equity", ascending=False).reset_index()
    return agg.drop(columns=["_all"]) if by is None else agg


def at_risk(values: pd.DataFrame, unit_days: float = UNIT_DAYS["W"],
            top_share: float = AT_RISK_TOP_SHARE, slipping: tuple[float, float] = AT_RISK_SLIPPING,
            overdue_factor: float = AT_RISK_OVERDUE_FACTOR, lost_p_alive: float = AT_RISK_LOST_P_ALIVE,
            lost_silent_days: float = AT_RISK_LOST_SILENT_DAYS) -> dict[str, pd.DataFrame]:
    """High-value accounts that are slipping and can still be saved, apart from those already
    lost (the rule of the Retention page's at-risk list; thresholds above).

    Per account, from ``customer_values`` (customer_id, frequency, recency, T in time units of
    ``unit_days`` days, p_alive, clv) and past ``revenue``:

    * value at stake = clv / P(alive): what the account is worth over the horizon if it is
      still buying (0 when P(alive) is 0 or the account costs more than it brings);
    * silent days = (T − recency)·unit_days; usual interval = recency / frequency ·unit_days
      (the mean gap between its order days; none before a second order day);
    * **lost**: P(alive) < ``lost_p_alive`` or silent for more than ``lost_silent_days``;
    * **slipping**: not lost, and P(alive) within ``slipping`` [low, high) or **overdue**
      (silent for more than ``overdue_factor`` × its usual interval);
    * **high value**: value at stake ≥ the (1 − ``top_share``) quantile over the accounts not
      lost (a P(alive) near 0 makes the ratio meaningless), and above 0.

    Returns {"saveable": high-value slipping accounts by value at stake descending, "lost":
    lost accounts in the top ``top_share`` by past revenue, by past revenue descending}, each
    with the input columns plus value_at_stake, silent_days, interval_days, overdue,
    slipping_p_alive."""
    if values.empty:
        empty = values.assign(value_at_stake=[], silent_days=[], interval_days=[], overdue=[], slipping_p_alive=[])
        return {"saveable": empty, "lost": empty}
    p = values["p_alive"].to_numpy(float)
    x = values["frequency"].to_numpy(float)
    rec, age = values["recency"].to_numpy(float), values["T"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        stake = np.where(p > 0, values["clv"].to_numpy(float) / np.where(p > 0, p, 1.0), 0.0)
        interval = np.where(x > 0, rec / np.where(x > 0, x, 1.0) * unit_days, np.nan)
    silent = (age - rec) * unit_days
    out = values.assign(value_at_stake=stake, silent_days=silent, interval_days=interval)
    out["overdue"] = np.nan_to_num(silent > overdue_factor * interval, nan=False).astype(bool)
    out["slipping_p_alive"] = (p >= slipping[0]) & (p < slipping[1])
    lost = (p < lost_p_alive) | (silent > lost_silent_days)
    cutoff = float(np.quantile(stake[~lost], 1 - top_share)) if (~lost).any() else np.inf
    high = (stake >= cutoff) & (stake > 0)
    saveable = out[~lost & high & (out["slipping_p_alive"] | out["overdue"])]
    revenue_cut = float(values["revenue"].quantile(1 - top_share))
    gone = out[lost & (values["revenue"].to_numpy(float) >= revenue_cut)]
    return {"saveable": saveable.sort_values("value_at_stake", ascending=False, kind="stable").reset_index(drop=True),
            "lost": gone.sort_values("revenue", ascending=False, kind="stable").reset_index(drop=True)}


# ---------------------------------------------------------------- validation


def holdout_check(fitres: dict, rfm: pd.DataFrame, holdout_units: float) -> dict:
    """Predicted vs actual repeat purchases of the calibration customers in the holdout.
    Needs ``holdout_frequency`` in ``rfm``. Returns {predicted, actual, error} with error =
    predicted / actual − 1 (negative: the model under-predicted)."""
    pred = float(expected_purchases(fitres, rfm, holdout_units).sum())
    actual = float(rfm["holdout_frequency"].sum())
    return {"predicted": pred, "actual": actual,
            "error": pred / actual - 1 if actual > 0 else float("nan")}


def tracking(fitres: dict, rfm: pd.DataFrame, track: pd.DataFrame, n_periods: int) -> pd.DataFrame:
    """Cumulative repeat purchases per period, actual vs predicted by the model (population
    expectation for customers born at their first purchase day).

    ``track``: period, repeat_purchases (Engine.repeat_purchase_track, period length = the fit's
    time unit). Returns period, actual, predicted (cumulative)."""
    periods = np.arange(n_periods)
    actual = np.zeros(n_periods)
    tr = track[track["period"] < n_periods]
    actual[tr["period"].to_numpy(int)] = tr["repeat_purchases"].to_numpy(float)
    unit = UNIT_DAYS[fitres.get("time_unit", "W")]
    first = pd.to_datetime(rfm["first_date"])
    birth, count = np.unique((first - first.min()).dt.days.to_numpy(float) / unit,
                             return_counts=True)
    ends = periods + 1.0
    # sum over customers (grouped by first purchase day) of E[X(end - birth)] for end > birth
    age = ends[:, None] - birth[None, :]
    pred = (np.where(age > 0, expected_new(fitres, np.maximum(age, 1e-12)), 0.0) * count).sum(axis=1)
    return pd.DataFrame({"period": periods, "actual": np.cumsum(actual), "predicted": pred})
