"""Value concentration: Pareto and Lorenz curves, Gini, HHI, whale curve, ABC tiers (shared
DESIGN.md section 3).

Inputs are customer facts frames (``Engine.customer_facts``: one row per customer with
customer_id, revenue, cost, gross_profit, discount, returns, cost_to_serve, account_profit,
orders and attributes) or plain arrays of values. Customers are always ranked by value
descending, ties broken by customer_id, so every function ranks them the same way. When a frame
has ``ck`` (the customer key, numbered in customer_id order: ``Engine.customer_facts`` keeps
it) ties are broken by it, which gives the same order without comparing strings, and
``numbers`` keeps it instead of the ids, so that ranking and tiering move numbers only.

Negative values (profit of loss-making accounts) are kept as they are, never clipped:

* shares are of the signed total, so the cumulative share of the top customers can rise above
  100% and then fall back to 100% as loss-makers are added (the whale curve);
* the Lorenz curve (customers ascending) dips below zero before it ends at (1, 1);
* Gini = Σᵢ Σⱼ |xᵢ − xⱼ| / (2·N·Σ|xᵢ|): for non-negative values exactly 1 − 2·(area under the
  discrete Lorenz curve); with losses the denominator uses the size of every account's
  contribution so the coefficient stays in [0, 1) (see ``gini``);
* HHI = Σ sᵢ² with sᵢ = |value| / Σ|value|: a loss-maker counts by the size of its loss, as
  exposure.

Shares (top p%, customers for 80%, curves) are undefined (NaN) when the total is not positive.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from kamdash.analytics import losses

TOP_SHARE_DEFAULT = 0.2
VALUE_COLUMNS = ("revenue", "gross_profit", "account_profit")
TOP_SHARES = (0.01, 0.05, 0.10, 0.20)
TARGET_SHARE_DEFAULT = 0.8
ABC_CUTOFFS_DEFAULT = (0.80, 0.95)
TIERS = ("A", "B", "C")  # the tiers of the sidebar filter (by revenue)
LOSS_TIER = "L"  # customers with a negative value: their own group, after C
GROUPS = (*TIERS, LOSS_TIER)
WORST_N_DEFAULT = 15
LOSS_REASONS = losses.CAUSES
_EPS = 1e-9


def _values(values) -> np.ndarray:
    return np.asarray(values, dtype=float)


def _desc(values) -> np.ndarray:
    return np.sort(_values(values))[::-1]


def tie_key(facts: pd.DataFrame) -> pd.Series:
    """What ties of value are broken by: ``ck`` when the frame has it (numbered in customer_id
    order, so the order is the same), else customer_id."""
    return facts["ck"] if "ck" in facts else facts["customer_id"]


def rank_order(values, ids) -> np.ndarray:
    """Positions that sort customers by ``values`` descending, ties by ``ids`` ascending.

    Equal to ``np.lexsort((ids, -values))`` but sorts ids only among tied values (a numeric
    sort does the rest), which is what makes it fast on 100k+ customers: comparing Python
    strings is ~30x slower than comparing floats. Integer ids (``ck``) are compared as integers.
    """
    v = np.asarray(values, dtype=float)
    order = np.argsort(-v)  # ties are re-sorted below: no (slower) stable sort needed
    if len(v) < 2:
        return order
    sv = v[order]
    eq = (sv[1:] == sv[:-1]) | (np.isnan(sv[1:]) & np.isnan(sv[:-1]))
    if eq.any():
        tied = np.zeros(len(v), dtype=bool)
        tied[1:] |= eq
        tied[:-1] |= eq
        pos = order[tied]
        # only the tied ids are taken (as Python strings, converting all cost more than the sort)
        tied_ids = ids.iloc[pos] if hasattr(ids, "iloc") else np.asarray(ids)[pos]
        numeric = pd.api.types.is_integer_dtype(getattr(tied_ids, "dtype", object))
        tied_ids = np.asarray(tied_ids, dtype=np.int64 if numeric else object)
        order[tied] = pos[np.lexsort((tied_ids, -sv[tied]))]
    return order


def in_place_order(places) -> np.ndarray:
    """Positions that sort distinct non-negative integer ``places`` ascending, without a sort:
    each is written into its slot and the filled slots are read back in order (linear in the
    largest place)."""
    places = np.asarray(places)
    n = len(places)
    if not n:
        return np.zeros(0, dtype=np.int64)
    if n == 1 or bool((places[1:] > places[:-1]).all()):  # already in order (a frame ranked by it)
        return np.arange(n)
    # int32 slots while they fit: half the memory traffic of int64 on millions of customers
    kind = np.int32 if n < 2**31 else np.int64
    slot = np.full(int(places.max()) + 1, -1, dtype=kind)
    slot[places] = np.arange(n, dtype=kind)
    return slot[slot >= 0]


def order_by(facts: pd.DataFrame, value: str) -> np.ndarray:
    """Positions that rank the rows of ``facts`` by ``value`` descending, ties by customer. With
    a ``place_<value>`` column (``Engine.customer_facts``: each customer's place in the
    period's order of every customer, held per period) no sort is needed; else
    ``rank_order``."""
    place = f"place_{value}"
    if place in facts:
        return in_place_order(facts[place].to_numpy())
    return rank_order(facts[value], tie_key(facts))


def _check_p(p: float) -> None:
    if not 0 < p <= 1:
        raise ValueError(f"p must be in (0, 1], got {p}")


def top_count(n: int, p: float) -> int:
    """How many customers the top ``p`` of ``n`` customers are: ceil(p·n) (DESIGN.md), with a
    tolerance for p·n that floating point puts a hair above a whole number."""
    return math.ceil(p * n - 1e-9)


def top_share(values: pd.Series | np.ndarray, p: float = TOP_SHARE_DEFAULT) -> float:
    """Share of the total held by the top ``p`` of customers.

    Customers are sorted by value descending and the first ``top_count(N, p)`` are taken.
    Returns NaN when there are no customers or the total is not positive (a share of a loss is
    not meaningful). Their sum is taken after a partition, not a sort (ties do not change it).
    """
    _check_p(p)
    v = _values(values)
    total = v.sum()
    if len(v) == 0 or total <= 0:
        return float("nan")
    k = top_count(len(v), p)
    top = v if k >= len(v) else -np.partition(-v, k - 1)[:k]
    return float(top.sum() / total)


def _top_share_sorted(v: np.ndarray, p: float) -> float:
    """``top_share`` of values already sorted descending."""
    total = v.sum()
    if len(v) == 0 or total <= 0:
        return float("nan")
    return float(v[:top_count(len(v), p)].sum() / total)


NUMBER_COLUMNS = ("revenue", "gross_profit", "account_profit", "orders")


def numbers(facts: pd.DataFrame) -> pd.DataFrame:
    """The columns the concentration measures need: the tie key (``ck`` when present, else
    customer_id) and ``NUMBER_COLUMNS``. Ranking and tiering a narrow frame of numbers instead
    of one with the ids and attribute strings makes them several times cheaper."""
    places = [c for c in (f"place_{v}" for v in VALUE_COLUMNS) if c in facts]
    return facts[["ck" if "ck" in facts else "customer_id", *NUMBER_COLUMNS, *places]]


def population(facts: pd.DataFrame, value: str) -> pd.DataFrame:
    """The customers a concentration measure of ``value`` counts.

    Revenue and gross profit: customers with an order in the period (``orders`` > 0), as on the
    overview. Account profit: every customer with an order or cost-to-serve in the period, so
    that accounts we spent on without a sale count as the losses they are.
    """
    if value not in VALUE_COLUMNS:
        raise ValueError(f"value must be one of {VALUE_COLUMNS}, got {value!r}")
    if value == "account_profit":
        return facts
    has = facts["orders"].to_numpy() > 0
    k = int(np.count_nonzero(has))
    if has[:k].all():  # the customers with an order come first (``Engine.customer_facts``)
        return facts.iloc[:k]  # a slice: no copy of the frame's columns
    return facts[has]


def ranked(facts: pd.DataFrame, value: str) -> pd.DataFrame:
    """Customers ranked by ``value`` descending (ties by customer_id), with the Pareto columns.

    Columns out: the columns of ``facts`` plus rank (1..N), value, cum_value, customer_share
    (rank / N), value_share (cum_value / total; NaN when the total is not positive),
    share_before (cumulative share of the customers ranked above).
    """
    order = order_by(facts, value)
    v = facts[value].to_numpy(dtype=float)[order]
    n, total = len(v), float(v.sum())
    rank = np.arange(1, n + 1)
    cum = np.cumsum(v)
    share = cum / total if total > 0 else np.full(n, np.nan)
    # one frame built at once: adding six columns one by one cost more than the sort
    return pd.DataFrame({**_taken(facts, order), "rank": rank, "value": v, "cum_value": cum,
                         "customer_share": rank / n, "value_share": share,
                         "share_before": share - (v / total if total > 0 else np.nan)})


def _taken(facts: pd.DataFrame, order: np.ndarray) -> dict:
    """The columns of ``facts`` at the positions ``order``, keeping their dtypes."""
    return {c: facts[c].to_numpy()[order] if isinstance(facts[c].dtype, np.dtype) else facts[c].array.take(order)
            for c in facts.columns}


def lorenz_curve(values) -> pd.DataFrame:
    """The Lorenz curve: customers sorted ascending; columns customer_share, value_share.

    Starts at (0, 0) and ends at (1, 1) (N + 1 points). Empty when there are no customers or
    the total is not positive. With negative values the curve dips below 0 first.
    """
    v = np.sort(_values(values))
    total = v.sum()
    if len(v) == 0 or total <= 0:
        return pd.DataFrame({"customer_share": [], "value_share": []})
    n = len(v)
    return pd.DataFrame({
        "customer_share": np.arange(n + 1) / n,
        "value_share": np.concatenate([[0.0], np.cumsum(v) / total]),
    })


def gini(values) -> float:
    """Gini coefficient, defined for negative values too.

    For non-negative values this is DESIGN.md's Gini: 1 − 2·(area under the discrete Lorenz
    curve, trapezoids between its N + 1 points) = Σᵢ Σⱼ |xᵢ − xⱼ| / (2·N·Σ xᵢ). With negative
    values the same mean-difference numerator is divided by 2·N·Σ |xᵢ| instead (the
    normalisation of Raffinetti, Siletti & Vernizzi 2015 for variables with negative values), so
    the result stays in [0, 1): the plain formula blows up as losses bring the total towards
    zero. It equals (1 − 2·area under the signed Lorenz curve) × total / Σ |xᵢ|.
    NaN when there are no customers or every value is zero.
    """
    return _gini_sorted(np.sort(_values(values)))


def _gini_sorted(v: np.ndarray) -> float:
    n, size = len(v), np.abs(v).sum()
    if n == 0 or size == 0:
        return float("nan")
    # Σᵢ Σⱼ |xᵢ − xⱼ| = 2 Σᵢ (2i − n − 1) xᵢ = 2 (2 Σᵢ i·xᵢ − (n + 1) Σᵢ xᵢ); Σᵢ i·xᵢ by einsum's
    # own loop (np.dot would call BLAS, whose threads are slow on a busy machine), without the
    # four temporary arrays of the weights (6x faster on 150k customers)
    weighted = float(np.einsum("i,i", np.arange(1, n + 1, dtype=np.float64), v))
    pairs = 2 * (2 * weighted - (n + 1) * float(v.sum()))
    return float(pairs / (2 * n * size))


def gini_top_sorted(up: np.ndarray, p: float = TOP_SHARE_DEFAULT) -> tuple[float, float]:
    """(``gini``, ``top_share`` of the top ``p``) of values already sorted ascending, without
    their sorts (``Engine.concentration_over_time`` holds each quarter's values sorted)."""
    _check_p(p)
    return _gini_sorted(up), _top_share_sorted(up[::-1], p)


def gini_signed(values) -> float:
    """The plain formula 1 − 2·(area under the signed Lorenz curve): equal to ``gini`` without
    negative values, above it (and above 1 when losses are large) with them. NaN when the total
    is not positive. Shown only to explain what the normalisation does."""
    return _gini_signed_sorted(np.sort(_values(values)))


def _gini_signed_sorted(v: np.ndarray) -> float:
    total = v.sum()
    if len(v) == 0 or total <= 0:
        return float("nan")
    lorenz = np.cumsum(v) / total
    area = (lorenz.sum() - 0.5) / len(v)  # Σ (L[k-1] + L[k]) / 2N with L[0] = 0, L[N] = 1
    return float(1 - 2 * area)


def hhi(values) -> float:
    """Herfindahl-Hirschman index Σ sᵢ² of the shares sᵢ = |value| / Σ |value| (1/N when all
    are equal, 1 for a single customer). A loss-maker counts by the size of its loss, as
    exposure. NaN when there are no customers or every value is zero."""
    v = np.abs(_values(values))
    size = v.sum()
    if len(v) == 0 or size == 0:
        return float("nan")
    return float(((v / size) ** 2).sum())


def customers_for_share(values, target: float = TARGET_SHARE_DEFAULT) -> tuple[float, float]:
    """(k, k / N): the fewest customers, largest first, whose cumulative value reaches
    ``target`` of the total. (NaN, NaN) when the total is not positive."""
    _check_p(target)
    return _for_share_sorted(_desc(values), target)


def _for_share_sorted(v: np.ndarray, target: float) -> tuple[float, float]:
    total = v.sum()
    if len(v) == 0 or total <= 0:
        return float("nan"), float("nan")
    k = int(np.argmax(np.cumsum(v) >= target * total * (1 - _EPS))) + 1
    return float(k), k / len(v)


def sorted_values(facts: pd.DataFrame, value: str, order: np.ndarray | None = None) -> np.ndarray:
    """The customers' ``value`` sorted descending; without a sort when the frame has the held
    places (``order_by``; ``order``: its result, when the caller has it already). For
    ``readouts(..., ordered=True)``."""
    return facts[value].to_numpy(dtype=float)[order_by(facts, value) if order is None else order]


def readouts(values, shares: tuple[float, ...] = TOP_SHARES,
             target: float = TARGET_SHARE_DEFAULT, ordered: bool = False) -> dict:
    """The concentration readouts of a set of customer values (``ordered``: already sorted
    descending, e.g. by ``sorted_values``, so not sorted again).

    Keys: customers, total, top (dict p -> top p share), for_target (customers needed for
    ``target`` of the value), for_target_share (as a share of customers), gini, gini_signed
    (the plain formula, for explanation), hhi,
    loss_makers (customers with a negative value), losses (their value, as a positive amount).
    """
    v = _values(values)
    for p in (*shares, target):
        _check_p(p)
    # one sort for every readout (each public function sorts on its own)
    down = v if ordered else np.sort(v)[::-1]
    up = down[::-1]
    k, k_share = _for_share_sorted(down, target)
    neg = v[v < 0]
    return {
        "customers": int(len(v)),
        "total": float(v.sum()),
        "top": {p: _top_share_sorted(down, p) for p in shares},
        "for_target": k,
        "for_target_share": k_share,
        "gini": _gini_sorted(up),
        "gini_signed": _gini_signed_sorted(up),
        "hhi": hhi(v),
        "loss_makers": int(len(neg)),
        "losses": float(-neg.sum()),
    }


def whale_curve(facts: pd.DataFrame) -> pd.DataFrame:
    """Cumulative account profit as a share of total profit, customers by profit descending.

    Columns out: customer_share, profit_share; starts at (0, 0), N + 1 points. Empty when the
    total account profit is not positive.
    """
    v = _desc(facts["account_profit"])  # ties do not change the curve: no customer_id needed
    total = v.sum()
    if len(v) == 0 or not total > 0:
        return pd.DataFrame({"customer_share": [], "profit_share": []})
    n = len(v)
    return pd.DataFrame({
        "customer_share": np.arange(n + 1) / n,
        "profit_share": np.concatenate([[0.0], np.cumsum(v) / total]),
    })


def whale_summary(facts: pd.DataFrame) -> dict:
    """Whale-curve readouts of account profit.

    Keys: customers, total, peak (highest cumulative profit share; NaN when the total is not
    positive), peak_customers (how many customers, largest first, reach the peak),
    peak_customer_share, loss_makers (customers with negative account profit), losses (profit
    they destroy, positive), profitable (sum of positive profits).
    """
    v = _values(facts["account_profit"])  # sums only: the order does not matter
    total = float(v.sum())
    profitable = float(v[v > 0].sum())
    k = int((v > 0).sum())
    ok = len(v) > 0 and total > 0
    return {
        "customers": int(len(v)),
        "total": total,
        "peak": profitable / total if ok else float("nan"),
        "peak_customers": k,
        "peak_customer_share": k / len(v) if len(v) else float("nan"),
        "loss_makers": int((v < 0).sum()),
        "losses": float(-v[v < 0].sum()),
        "profitable": profitable,
    }


def loss_makers(facts: pd.DataFrame, n: int | None = WORST_N_DEFAULT,
                peers: pd.DataFrame | None = None) -> pd.DataFrame:
    """The worst loss-makers (most negative account profit first) with why they lose money.

    The causes are ``losses.causes``: each account against its own peers (the customers of
    its customer type in ``peers``, default ``facts``; pass every customer of the period so
    that the sidebar filters do not change an account's benchmark), in money, positive when
    it hurts (every listed account must be in ``peers``); peer_profit minus the four causes is exactly the account profit.
    Columns out: rank, customer_id, attribute columns present in ``facts``, revenue,
    gross_profit, cost_to_serve, account_profit, account_margin (account profit / revenue; NaN
    without revenue), peer_group, peers, peer_profit, why_<cause> for each of LOSS_REASONS,
    main_reason (the largest positive cause, "none" when no cause is positive).
    """
    loss = facts[facts["account_profit"] < 0]
    loss = loss.take(rank_order(-loss["account_profit"].to_numpy(dtype=float), tie_key(loss)))
    if n is not None:
        loss = loss.head(n)
    out = loss.reset_index(drop=True).copy()
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        out["account_margin"] = np.where(out["revenue"] != 0, out["account_profit"] / out["revenue"], np.nan)
    c = losses.causes(facts if peers is None else peers, out["customer_id"].tolist())
    for col in ("peer_group", "peers", "peer_profit"):
        out[col] = c[col].to_numpy()
    for r in LOSS_REASONS:
        out[f"why_{r}"] = c[f"cause_{r}"].to_numpy()
    out["main_reason"] = c["main_cause"].to_numpy()
    return out


def abc_tiers(facts: pd.DataFrame, value: str = "revenue",
              cutoffs: tuple[float, float] = ABC_CUTOFFS_DEFAULT) -> pd.DataFrame:
    """ABC tier of each customer by ``value``, loss-makers kept apart.

    The tiers divide the customers with a positive value: ranked by value descending, a
    customer is in A when the customers ranked above it hold less than ``cutoffs[0]`` of the
    sum of positive values (so A is exactly the fewest customers reaching that share of what
    the positive contributors bring), in B when they hold less than ``cutoffs[1]``, else C.
    A value of zero is C; a negative value is ``LOSS_TIER`` ("L"), whatever the cut-offs, so
    loss-makers are never buried in C. Without negative values the positive sum is the total.
    Columns out: the columns of ``ranked`` plus tier (categorical A, B, C, L).
    """
    r = ranked(facts, value)
    code = abc_codes(r["value"].to_numpy(), cutoffs)
    # categorical: the strings "A"/"B"/"C"/"L" are not built once per customer
    r["tier"] = pd.Categorical.from_codes(code, categories=list(GROUPS))
    return r


def _positive_share_before(v: np.ndarray) -> np.ndarray:
    """Per customer ranked by value ``v`` descending: the share of the sum of positive values
    held by the customers ranked above it (NaN when no value is positive)."""
    positive = float(v[v > 0].sum())
    if not positive > 0:
        return np.full(len(v), np.nan)
    return (np.cumsum(v) - v) / positive


def _check_cutoffs(cutoffs: tuple[float, float]) -> None:
    a, b = cutoffs
    if not 0 < a < b <= 1:
        raise ValueError(f"cut-offs must satisfy 0 < A < B <= 1, got {cutoffs}")


def abc_cutoffs(saved) -> tuple[float, float]:
    """Saved cut-offs (two numbers, 0 < a < b ≤ 1) as a tuple, else ABC_CUTOFFS_DEFAULT."""
    try:
        a, b = (float(x) for x in saved)
        if 0 < a < b <= 1:
            return (a, b)
    except (TypeError, ValueError):
        pass
    return ABC_CUTOFFS_DEFAULT


def abc_codes(v: np.ndarray, cutoffs: tuple[float, float] = ABC_CUTOFFS_DEFAULT) -> np.ndarray:
    """The ABC rule (``abc_tiers``) on values ``v`` of customers already ranked descending: their
    group codes, int8 (0 = A, 1 = B, 2 = C, 3 = L; the index into ``GROUPS``)."""
    _check_cutoffs(cutoffs)
    a, b = cutoffs
    share_before = _positive_share_before(v)
    before = np.where(np.isnan(share_before), np.inf, share_before)
    code = np.where(before < a * (1 - _EPS), 0, np.where(before < b * (1 - _EPS), 1, 2)).astype(np.int8)
    code[~(v > 0)] = 2
    code[v < 0] = 3
    return code


def abc_summary(facts: pd.DataFrame, value: str = "revenue",
                cutoffs: tuple[float, float] = ABC_CUTOFFS_DEFAULT,
                order: np.ndarray | None = None) -> pd.DataFrame:
    """``tier_summary(abc_tiers(facts, value, cutoffs))`` without building the ranked frame:
    the tiers are worked out on the ranked values, and each tier, a run of ranks, is summed
    over its slice of the ranked columns (``order``: ``order_by(facts, value)`` when the caller
    has it already)."""
    _check_cutoffs(cutoffs)
    if order is None:
        order = order_by(facts, value)
    v = facts[value].to_numpy(dtype=float)[order]
    ranked_codes = abc_codes(v, cutoffs)
    n = len(v)
    if n and bool((ranked_codes[1:] >= ranked_codes[:-1]).all()):
        # each tier is a run of ranks (checked: rounding in the shares could in theory break
        # it): its sums are sums of a slice of the ranked columns, with no pass that scatters
        # codes or adds by code; a frame already in the value's order (revenue:
        # ``Engine.customer_facts``) is not even taken in order
        bounds = np.searchsorted(ranked_codes, np.arange(len(GROUPS) + 1))
        in_order = n < 2 or bool((order[1:] > order[:-1]).all())
        return _tier_sums_in_runs(bounds, facts, v, None if in_order else order)
    codes = np.empty(n, dtype=np.int8)
    codes[order] = ranked_codes
    return _tier_sums(codes, facts, facts[value])


def tier_summary(tiers: pd.DataFrame) -> pd.DataFrame:
    """Per group (A, B, C and L, every one present, empty ones with zeros): customers,
    customer_share, revenue, revenue_share, gross_profit, account_profit, value (the tiering
    value), value_share (of the net total, so L's is negative and the shares add up to 1),
    orders, avg_order (revenue / orders; NaN without orders). Every count and sum adds up to
    the population's. Input: ``abc_tiers`` output."""
    t = tiers["tier"]
    same = isinstance(t.dtype, pd.CategoricalDtype) and list(t.cat.categories) == list(GROUPS)
    codes = t.cat.codes.to_numpy() if same else pd.Categorical(t, categories=list(GROUPS)).codes
    if (codes < 0).any():
        raise ValueError("tiers must be A, B, C or L")
    return _tier_sums(codes, tiers, tiers["value"])


def _tier_sums(codes: np.ndarray, frame: pd.DataFrame, value: pd.Series) -> pd.DataFrame:
    total = lambda s: np.bincount(codes, weights=s.to_numpy(dtype=float), minlength=len(GROUPS))  # noqa: E731
    sums = {c: total(frame[c]) for c in ("revenue", "gross_profit", "account_profit", "orders")}
    sums["value"] = total(value)
    return _tier_frame(np.bincount(codes, minlength=len(GROUPS)), sums)


def _tier_sums_in_runs(bounds: np.ndarray, frame: pd.DataFrame, value: np.ndarray,
                       order: np.ndarray | None) -> pd.DataFrame:
    """``_tier_sums`` where tier ``i`` is ranks ``bounds[i]:bounds[i + 1]``: rows ``order``
    of ``frame`` (None: the frame's rows are in rank order) and ``value`` (ranked)."""
    runs = list(zip(bounds[:-1], bounds[1:]))
    ranked = lambda c: frame[c].to_numpy() if order is None else frame[c].to_numpy()[order]  # noqa: E731
    total = lambda a: np.array([a[lo:hi].sum() for lo, hi in runs], dtype=float)  # noqa: E731
    sums = {c: total(ranked(c).astype(float, copy=False)) for c in ("revenue", "gross_profit", "account_profit")}
    orders = ranked("orders")
    sums["orders"] = np.array([orders[lo:hi].sum() for lo, hi in runs])
    sums["value"] = total(value)
    return _tier_frame(np.diff(bounds), sums)


def _tier_frame(customers: np.ndarray, sums: dict) -> pd.DataFrame:
    orders = sums.pop("orders").astype("int64")
    n, rev, val = customers.sum(), sums["revenue"].sum(), sums["value"].sum()
    nan = np.full(len(GROUPS), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        avg = np.where(orders > 0, sums["revenue"] / orders, np.nan)
    return pd.DataFrame({"tier": list(GROUPS), "customers": customers,
                         "customer_share": customers / n if n else nan,
                         "revenue": sums["revenue"], "revenue_share": sums["revenue"] / rev if rev > 0 else nan,
                         "gross_profit": sums["gross_profit"], "account_profit": sums["account_profit"],
                         "value": sums["value"], "value_share": sums["value"] / val if val > 0 else nan,
                         "orders": orders, "avg_order": avg})


TREND_TOLERANCE = 0.01  # a change of Gini or top-20% share smaller than this reads as "stable"
BREAKDOWN_DIMENSIONS = ("region", "customer_type", "sector")


def over_time(period_facts: pd.DataFrame, value: str, p: float = TOP_SHARE_DEFAULT) -> pd.DataFrame:
    """Concentration of ``value`` in each period.

    Input: ``Engine.customer_period_facts`` (period, customer_id, revenue, gross_profit,
    account_profit, orders, complete). Each period counts the customers ``population`` would
    (orders > 0 for revenue and gross profit). Columns out: period, complete, customers, total,
    gini, top_share (top ``p``), sorted by period.
    """
    rows = []
    for period, g in period_facts.groupby("period", sort=True):
        v = population(g, value)[value]
        rows.append({"period": period, "complete": bool(g["complete"].all()), "customers": len(v),
                     "total": float(v.sum()), "gini": gini(v), "top_share": top_share(v, p)})
    return pd.DataFrame(rows, columns=["period", "complete", "customers", "total", "gini", "top_share"])


def trend(over: pd.DataFrame, column: str, tol: float = TREND_TOLERANCE) -> dict | None:
    """How ``column`` (gini or top_share) moved from the first to the last complete period.

    Returns None with fewer than two complete periods having a value; else first_period,
    last_period, first, last, change (last − first) and direction: "rising" / "falling" when
    the change is at least ``tol``, else "stable".
    """
    ok = over[over["complete"] & over[column].notna()]
    if len(ok) < 2:
        return None
    first, last = ok.iloc[0], ok.iloc[-1]
    change = float(last[column] - first[column])
    direction = "rising" if change >= tol else ("falling" if change <= -tol else "stable")
    return {"first_period": first["period"], "last_period": last["period"],
            "first": float(first[column]), "last": float(last[column]), "change": change,
            "direction": direction}


def breakdown(facts: pd.DataFrame, value: str, column: str,
              shares: tuple[float, ...] = TOP_SHARES, target: float = TARGET_SHARE_DEFAULT) -> pd.DataFrame:
    """The readouts of ``value`` for each group of ``column`` (region, customer_type, sector),
    computed inside the group. Columns out: group, customers, total, top_<pct> for each share
    (e.g. top_20), for_target_share, gini, hhi, loss_makers; largest total first. Missing
    attribute values form their own group (NaN)."""
    rows = []
    pop = population(facts, value)
    codes, groups = pd.factorize(pop[column], use_na_sentinel=False)  # a missing value is a group
    order = np.argsort(codes, kind="stable")
    ends = np.searchsorted(codes[order], np.arange(len(groups) + 1))
    values = pop[value].to_numpy(dtype=float)[order]
    for i, group in enumerate(groups):
        r = readouts(values[ends[i]:ends[i + 1]], shares, target)
        row = {"group": group, "customers": r["customers"], "total": r["total"]}
        row.update({f"top_{round(p * 100)}": r["top"][p] for p in shares})
        row.update(for_target_share=r["for_target_share"], gini=r["gini"], hhi=r["hhi"],
                   loss_makers=r["loss_makers"])
        rows.append(row)
    out = pd.DataFrame(rows)
    return out.sort_values(["total", "group"], ascending=[False, True]).reset_index(drop=True) if len(out) else out


def drilldown(facts: pd.DataFrame, value: str, tier: str | None = None, top_n: int | None = None,
              cutoffs: tuple[float, float] = ABC_CUTOFFS_DEFAULT) -> pd.DataFrame:
    """The account list behind a tier or the top ``top_n`` by ``value``.

    Columns out: rank, tier, customer_id, attributes present, revenue, gross_profit,
    cost_to_serve, account_profit, orders, value_share (share of the total of ``value``),
    cum_share. Pass exactly one of ``tier`` and ``top_n``.
    """
    if (tier is None) == (top_n is None):
        raise ValueError("pass exactly one of tier and top_n")
    pop = population(facts, value)
    # rank and tier numbers only, then take the rows shown (with their strings) from ``pop``
    key, place = tie_key(pop), f"place_{value}"
    narrow = pd.DataFrame({key.name: key.to_numpy(), value: pop[value].to_numpy(), "row": np.arange(len(pop)),
                           **({place: pop[place].to_numpy()} if place in pop else {})})
    t = abc_tiers(narrow, value, cutoffs)
    total = t["value"].sum()
    t = t[t["tier"] == tier] if tier is not None else t.head(top_n)
    r = pop.take(t["row"].to_numpy()).reset_index(drop=True)
    r.insert(0, "rank", t["rank"].to_numpy())
    r.insert(1, "tier", t["tier"].to_numpy())
    r["value_share"] = t["value"].to_numpy() / total if total > 0 else np.nan
    r["value_share_cum"] = t["cum_value"].to_numpy() / total if total > 0 else np.nan
    attrs = [c for c in ("name", "name_zh", "customer_type", "sector", "region", "account_manager")
             if c in r.columns]
    cols = ["rank", "tier", "customer_id", *attrs, "revenue", "gross_profit", "cost_to_serve",
            "account_profit", "orders", "value_share", "value_share_cum"]
    return r[cols]
