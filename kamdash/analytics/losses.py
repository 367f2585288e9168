"""Why an account loses money: its account profit against what its peers would make on the same
sales, split into discounts, returns, cost-to-serve and product mix, in money. Pure functions.

Input: customer facts (``Engine.customer_facts``: revenue (net of discount, returns as negative
lines), gross_profit, discount, returns (revenue of the return lines, positive),
cost_to_serve, account_profit, and the peer column). Per account:

* list sales  L = revenue + discount + returns   (what was sold, at list price, before returns)
* returns margin  X = returns × q, q = the account's gross margin gross_profit ÷ revenue (0-1;
  the portfolio's when its revenue is not positive): the gross profit the returned goods took back
* product margin at list  M = gross_profit + discount + X   (gross profit of the goods sold,
  at list price, before discounts and returns)

so that, exactly, account profit P = M − discount − X − cost_to_serve. Each of the four terms
divided by L is a rate (m, d, x, k). The account's peers (the other customers of the same
customer type with sales; the whole portfolio when it has none) give the same rates m*, d*, x*,
k* from their sums. Then

    P = P* − discounts − returns − cost_to_serve − mix,   P* = L × (m* − d* − x* − k*)

with each cause the money the account costs beyond its peers (positive hurts, negative helps):

    discounts      = discount − d* × L
    returns        = X − x* × L
    cost_to_serve  = cost_to_serve − k* × L
    mix            = m* × L − M     (a product mix with a lower margin at list price)

P* is what the account would earn on its sales at its peers' rates; the four causes add up to
exactly P* − P, so a loss (−P) = causes − P*. An account without sales has L = 0: P* = 0 and
its whole loss is cost-to-serve.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CAUSES = ("discounts", "returns", "cost_to_serve", "mix")
PEER_COLUMN = "customer_type"
PORTFOLIO = "portfolio"  # peer_basis of an account compared with every other customer
_NEEDED = ("customer_id", "revenue", "gross_profit", "discount", "returns", "cost_to_serve",
           "account_profit")


def _f(frame: pd.DataFrame, col: str) -> np.ndarray:
    return frame[col].to_numpy(dtype=float)


def parts(facts: pd.DataFrame) -> pd.DataFrame:
    """The terms of the identity P = M − discount − X − cost_to_serve per account: list_sales
    (L), product_margin (M), discount, returns_margin (X), cost_to_serve, account_profit."""
    rev, gp = _f(facts, "revenue"), _f(facts, "gross_profit")
    disc, ret, cts = _f(facts, "discount"), _f(facts, "returns"), _f(facts, "cost_to_serve")
    pos = rev > 0
    portfolio_q = gp[pos].sum() / rev[pos].sum() if pos.any() and rev[pos].sum() > 0 else 0.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # clipped below
        q = np.where(pos, gp / np.where(pos, rev, 1.0), portfolio_q)
    x = ret * np.clip(q, 0.0, 1.0)
    return pd.DataFrame({"list_sales": rev + disc + ret, "product_margin": gp + disc + x,
                         "discount": disc, "returns_margin": x, "cost_to_serve": cts,
                         "account_profit": _f(facts, "account_profit")}, index=facts.index)


_RATE_TERMS = ("product_margin", "discount", "returns_margin", "cost_to_serve")


def causes(facts: pd.DataFrame, accounts=None, peer_column: str = PEER_COLUMN) -> pd.DataFrame:
    """The loss decomposition (module docstring) of the customers ``accounts`` (ids; None: every
    row of ``facts``), each against its peers among ``facts``: the customers with list sales of
    the same ``peer_column`` value, the account itself left out. With no such peer, the
    portfolio (every other customer with sales) is the benchmark.

    Out, one row per account in the order of ``accounts`` (or of ``facts``): customer_id,
    peer_group (the peer column's value, or ``PORTFOLIO``), peers (how many), list_sales,
    peer_rate (P* ÷ L), peer_profit (P*), account_profit, cause_<c> for c in CAUSES, and
    main_cause (the largest positive cause; "none" when no cause is positive).
    ``peer_profit − Σ causes = account_profit`` for every row.
    """
    missing = [c for c in _NEEDED if c not in facts]
    if missing:
        raise ValueError(f"facts lack {missing}")
    p = parts(facts)
    sells = p["list_sales"].to_numpy() > 0
    group = (facts[peer_column].astype(object).where(facts[peer_column].notna(), None)
             if peer_column in facts else pd.Series(None, index=facts.index, dtype=object))
    key = group.fillna("\x00missing").astype(str).to_numpy()
    terms = ("list_sales", *_RATE_TERMS)
    sold = p[sells]
    by_group = sold.groupby(key[sells])[list(terms)].sum()
    n_group = pd.Series(key[sells]).value_counts()
    everyone = sold[list(terms)].sum()

    if accounts is None:
        rows = np.arange(len(facts))
    else:
        pos = pd.Series(np.arange(len(facts)), index=facts["customer_id"].astype(str).to_numpy())
        ids = [str(a) for a in accounts]
        unknown = [a for a in ids if a not in pos.index]
        if unknown:
            raise KeyError(f"no facts for {unknown[:5]}")
        rows = pos.loc[ids].to_numpy()
    mine = p.iloc[rows]
    own = mine[list(terms)].to_numpy() * sells[rows, None]  # what the account adds to its group's sums
    g = by_group.reindex(key[rows]).fillna(0.0).to_numpy() - own
    n = n_group.reindex(key[rows]).fillna(0).to_numpy() - sells[rows]
    no_peers = ~((n > 0) & (g[:, 0] > 0))
    port = everyone.to_numpy()[None, :] - own
    bench = np.where(no_peers[:, None], port, g)
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.where(bench[:, :1] > 0, bench[:, 1:] / bench[:, :1], 0.0)  # m*, d*, x*, k*
    lst = mine["list_sales"].to_numpy()
    m_, d_, x_, k_ = (rates[:, i] for i in range(4))
    peer_rate = m_ - d_ - x_ - k_
    out = pd.DataFrame({
        "customer_id": facts["customer_id"].to_numpy()[rows],
        "peer_group": np.where(no_peers, PORTFOLIO, group.to_numpy()[rows]),
        "peers": np.where(no_peers, int(sells.sum()) - sells[rows], n).astype("int64"),
        "list_sales": lst,
        "peer_rate": peer_rate,
        "peer_profit": peer_rate * lst,
        "account_profit": mine["account_profit"].to_numpy(),
        "cause_discounts": mine["discount"].to_numpy() - d_ * lst,
        "cause_returns": mine["returns_margin"].to_numpy() - x_ * lst,
        "cause_cost_to_serve": mine["cost_to_serve"].to_numpy() - k_ * lst,
        "cause_mix": m_ * lst - mine["product_margin"].to_numpy(),
    })
    c = out[[f"cause_{x}" for x in CAUSES]].to_numpy()
    if len(out):
        main = np.where(c.max(axis=1) > 0, np.array(CAUSES)[c.argmax(axis=1)], "none")
    else:
        main = np.array([], dtype=object)
    out["main_cause"] = main
    return out


def leading(causes: pd.DataFrame, k: int = 2, prefix: str = "cause_",
            min_share: float = 0.01) -> list[list[tuple[str, float]]]:
    """Per row of ``causes`` (columns ``<prefix><cause>``): its ``k`` largest positive causes
    with each one's share of the row's positive causes, largest first, leaving out shares
    under ``min_share`` ([] when no cause is positive): what a list can say about each account
    beyond its main cause."""
    c = causes[[f"{prefix}{x}" for x in CAUSES]].to_numpy(dtype=float)
    pos = np.where(c > 0, c, 0.0)
    total = pos.sum(axis=1)
    out = []
    for row, t in zip(pos, total):
        order = np.argsort(-row, kind="stable")[:k]
        out.append([(CAUSES[i], float(row[i] / t)) for i in order if row[i] > 0 and row[i] / t >= min_share])
    return out
